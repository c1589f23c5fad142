"""Disentanglement metrics on data sets with known factors; defaults match disentanglement_lib.

Every metric has the signature
``compute_<name>(ground_truth_data, representation_function, random_state, **params)
-> dict``, where ``representation_function`` maps observations ``[B, H, W, C]`` to
codes ``[B, D]`` and ``random_state`` is a ``np.random.RandomState``::

    data = DSprites(resolution=64)
    scores = get_metric("mig")(data, encode, np.random.RandomState(0))  # {"discrete_mig": ...}

To add a metric, add ``"name": compute_fn`` to ``METRICS``.
"""

from udgan_tf.metrics.beta_vae import compute_beta_vae_score
from udgan_tf.metrics.dci import compute_dci
from udgan_tf.metrics.factor_vae import compute_factor_vae_score
from udgan_tf.metrics.mig import compute_mig
from udgan_tf.metrics.sap_score import compute_sap_score

# name -> compute function.
METRICS = {
    "beta_vae_score": compute_beta_vae_score,
    "factor_vae_score": compute_factor_vae_score,
    "mig": compute_mig,
    "dci": compute_dci,
    "sap_score": compute_sap_score,
}


def get_metric(name):
    """The compute function registered as ``name``; ValueError naming the available ones."""
    if name not in METRICS:
        raise ValueError(f"Unknown metric {name!r}. Available: {', '.join(sorted(METRICS))}.")
    return METRICS[name]


__all__ = [
    "METRICS",
    "compute_beta_vae_score",
    "compute_dci",
    "compute_factor_vae_score",
    "compute_mig",
    "compute_sap_score",
    "get_metric",
]
