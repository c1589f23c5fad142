"""Disentanglement metrics on data sets with known factors; defaults match disentanglement_lib.

Every metric has the signature
``compute_<name>(ground_truth_data, representation_function, random_state, **params)
-> dict``, where ``representation_function`` maps observations ``[B, H, W, C]`` to
codes ``[B, D]`` and ``random_state`` is a ``np.random.RandomState``::

    data = DSprites(resolution=64)
    scores = get_metric("mig")(data, encode, np.random.RandomState(0))  # {"discrete_mig": ...}

To add a metric, add ``"name": compute_fn`` to ``METRICS``.
"""

import inspect

from udgan_tf.evaluation.metrics.beta_vae import compute_beta_vae_score
from udgan_tf.evaluation.metrics.dci import compute_dci
from udgan_tf.evaluation.metrics.factor_vae import compute_factor_vae_score
from udgan_tf.evaluation.metrics.mig import compute_mig
from udgan_tf.evaluation.metrics.sap_score import compute_sap_score

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


#: Parameters that set how many points a metric draws; ``metric_params(name, num_points)`` overrides them all.
SIZE_PARAMETERS = ("num_train", "num_eval", "num_test", "num_variance_estimate")


def metric_params(name, num_points=None):
    """Keyword arguments of a metric: its defaults, or every size set to ``num_points``."""
    parameters = inspect.signature(get_metric(name)).parameters
    params = {p: v.default for p, v in parameters.items() if v.default is not inspect.Parameter.empty}
    if num_points is not None:
        params.update({p: num_points for p in SIZE_PARAMETERS if p in parameters})
    return params


def images_needed(name, params):
    """How many images metric ``name`` draws with these parameters."""
    points = params.get("num_train", 0) + params.get("num_eval", 0) + params.get("num_test", 0)
    if name == "beta_vae_score":
        return points * 2 * params["batch_size"]
    if name == "factor_vae_score":
        return params["num_variance_estimate"] + points * params["batch_size"]
    return points


__all__ = [
    "METRICS",
    "SIZE_PARAMETERS",
    "compute_beta_vae_score",
    "compute_dci",
    "compute_factor_vae_score",
    "compute_mig",
    "compute_sap_score",
    "get_metric",
    "images_needed",
    "metric_params",
]
