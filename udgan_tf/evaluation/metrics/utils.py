"""Helpers shared by the disentanglement metrics.

Same procedures as ``disentanglement_lib/evaluation/metrics/utils.py``; defaults
match disentanglement_lib. Note the reference's transposed layout: code and factor
matrices are ``[num_codes, num_points]`` and ``[num_factors, num_points]``.
"""

import numbers

import numpy as np
from sklearn.metrics import mutual_info_score


def check_positive_int(name, value, minimum=1):
    """Raises ValueError naming ``name`` unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def represent(representation_function, observations):
    """Applies the representation to one batch. ``[B, H, W, C] -> float64 [B, D]``.

    Raises:
        ValueError: the function does not return one vector per observation.
    """
    codes = np.asarray(representation_function(observations), dtype=np.float64)
    if codes.ndim != 2 or codes.shape[0] != len(observations):
        raise ValueError(
            f"representation_function must map observations [B, H, W, C] to codes [B, D]. "
            f"Received codes of shape {codes.shape} for B={len(observations)}."
        )
    return codes


def represent_in_batches(representation_function, observations, batch_size):
    """Like ``represent`` but calls the function on chunks of ``batch_size`` rows."""
    chunks = [
        represent(representation_function, observations[start:start + batch_size])
        for start in range(0, len(observations), batch_size)
    ]
    return np.concatenate(chunks, axis=0)


def generate_batch_factor_code(ground_truth_data, representation_function, num_points,
                               random_state, batch_size):
    """Samples ``num_points`` (code, factor) pairs, ``batch_size`` observations at a time.

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        representation_function: observations ``[B, H, W, C]`` -> codes ``[B, D]``.
        num_points: int, number of points.
        random_state: ``np.random.RandomState``.
        batch_size: int, points per call of ``ground_truth_data.sample``.

    Returns:
        ``(representations, factors)``: float64 ``[D, num_points]`` and int
        ``[num_factors, num_points]`` (transposed, as in disentanglement_lib).
    """
    num_points = check_positive_int("num_points", num_points)
    batch_size = check_positive_int("batch_size", batch_size)
    codes, factors = [], []
    for start in range(0, num_points, batch_size):
        batch_factors, observations = ground_truth_data.sample(
            min(batch_size, num_points - start), random_state)
        factors.append(np.asarray(batch_factors))
        codes.append(represent(representation_function, observations))
    return np.concatenate(codes, axis=0).T, np.concatenate(factors, axis=0).T


def histogram_discretize(target, num_bins=20):
    """Bins every row into ``num_bins`` equal-width bins over its own range.

    ``[D, N] -> [D, N]`` of bin numbers 1 ... num_bins (same dtype as ``target``).
    """
    num_bins = check_positive_int("num_bins", num_bins)
    target = np.asarray(target)
    discretized = np.zeros_like(target)
    for i, row in enumerate(target):
        edges = np.histogram(row, num_bins)[1]
        discretized[i] = np.digitize(row, edges[:-1])
    return discretized


def discrete_mutual_info(mus, ys):
    """Mutual information (nats) of every code with every factor.

    ``mus [D, N]`` (discrete), ``ys [F, N]`` -> ``[D, F]``.
    """
    return np.array([[mutual_info_score(y, mu) for y in ys] for mu in mus], dtype=np.float64)


def discrete_entropy(ys):
    """Entropy (nats) of every discrete factor. ``[F, N] -> [F]``."""
    return np.array([mutual_info_score(y, y) for y in ys], dtype=np.float64)
