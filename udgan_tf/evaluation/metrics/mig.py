"""The Mutual Information Gap (MIG).

From Chen et al. 2018, "Isolating Sources of Disentanglement in Variational
Autoencoders" (https://arxiv.org/abs/1802.04942). Codes are discretised with a
per-dim equal-width histogram; for every factor the gap between the largest and
second-largest mutual information with a code dim, divided by the factor's entropy,
is averaged over factors. Procedure and defaults match disentanglement_lib
(``mig``: num_train=10000, batch_size=16, histogram discretizer with 20 bins).
"""

import numpy as np

from udgan_tf.evaluation.metrics.utils import (check_positive_int, discrete_entropy, discrete_mutual_info,
                                    generate_batch_factor_code, histogram_discretize)


def compute_mig(ground_truth_data, representation_function, random_state,
                num_train=10000, batch_size=16, num_bins=20):
    """Computes the discrete MIG.

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        representation_function: observations ``[B, H, W, C]`` -> codes ``[B, D]``, D >= 2.
        random_state: ``np.random.RandomState``.
        num_train: int, points sampled.
        batch_size: int, points per sampling call.
        num_bins: int, histogram bins per code dim.

    Returns:
        ``{"discrete_mig": float}`` in [0, 1] (NaN if a factor is constant).

    Raises:
        ValueError: a parameter is not a positive int (the message names it), or the
            representation has fewer than 2 dims.
    """
    num_train = check_positive_int("num_train", num_train)
    batch_size = check_positive_int("batch_size", batch_size)
    num_bins = check_positive_int("num_bins", num_bins)

    codes, factors = generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size)
    if codes.shape[0] < 2:
        raise ValueError(f"MIG needs a representation with at least 2 dims. Received: {codes.shape[0]}.")
    top = np.sort(normalised_mutual_info(codes, factors, num_bins), axis=0)[::-1]
    return {"discrete_mig": float(np.mean(top[0] - top[1]))}


def normalised_mutual_info(codes, factors, num_bins=20):
    """Mutual information of every code dim with every factor over the factor's entropy.

    ``codes [D, N]`` (continuous, discretised into ``num_bins`` per dim), ``factors [F, N]``
    -> ``[D, F]`` in [0, 1]; a column is NaN or inf where a factor is constant. MIG is the
    mean over factors of the gap between a column's two largest entries.
    """
    mutual_info = discrete_mutual_info(histogram_discretize(codes, num_bins), factors)  # [D, F]
    return mutual_info / discrete_entropy(factors)[None, :]
