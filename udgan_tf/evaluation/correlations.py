"""Correlation tables: guidance proxies against factors (Table 7), and embedding
dimensions with each other and with attributes or factors (Table 9)."""

import numpy as np


def correlation_matrix(a, b):
    """Pearson r of every column of ``a [N, P]`` with every column of ``b [N, Q]`` -> ``[P, Q]``.

    A constant column has r = 0 with everything (no linear relation can be seen).
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    a = a - a.mean(0)
    b = b - b.mean(0)
    norms = np.outer(np.linalg.norm(a, axis=0), np.linalg.norm(b, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a.T @ b) / norms
    return np.where(norms > 0, r, 0.0)


def mean_abs_off_diagonal(matrix):
    """Mean |r| over the off-diagonal entries of a square matrix (Table 9, first row)."""
    matrix = np.asarray(matrix)
    if len(matrix) < 2:
        return 0.0
    mask = ~np.eye(len(matrix), dtype=bool)
    return float(np.abs(matrix[mask]).mean())


def best_abs_correlation(embeddings, labels):
    """For each label column, the largest |r| with any embedding dimension (Table 9, second row).

    Args:
        embeddings: ``[N, E]``.
        labels: ``[N, L]`` (attributes or factors).

    Returns:
        float64 ``[L]``.
    """
    return np.abs(correlation_matrix(embeddings, labels)).max(axis=0)
