"""Disentanglement, Completeness and Informativeness (DCI).

From Eastwood & Williams 2018, "A Framework for the Quantitative Evaluation of
Disentangled Representations" (https://openreview.net/forum?id=By-7dz-AZ). One
scikit-learn ``GradientBoostingClassifier`` (default settings) per factor predicts
the factor from all codes; its feature importances form the importance matrix
``R [D, F]``. Disentanglement is ``1 - entropy`` of each code's row (base F) weighted
by the code's share of importance; completeness is the same on each factor's column
(base D). Procedure and defaults match disentanglement_lib (``dci``:
num_train=10000, num_test=5000, batch_size=16).

Cost: the boosted trees dominate, and are kept as in the reference. A factor with
K classes fits ``100 * K`` trees (one per stage if binary): 11,300 trees on dSprites
(113 classes over 5 factors). With the default 10000 training points on 2 CPU
cores, a 10-dim continuous code takes about 3 minutes (binary codes ~25 s); the
time grows roughly linearly with the number of code dims and with num_train.
"""

import numpy as np
import scipy.stats
from sklearn.ensemble import GradientBoostingClassifier

from udgan_tf.evaluation.metrics.utils import check_positive_int, generate_batch_factor_code


def compute_dci(ground_truth_data, representation_function, random_state,
                num_train=10000, num_test=5000, batch_size=16):
    """Computes the DCI scores.

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        representation_function: observations ``[B, H, W, C]`` -> codes ``[B, D]``.
        random_state: ``np.random.RandomState``; also seeds the boosted trees.
        num_train: int, points to fit the classifiers on.
        num_test: int, points to test them on.
        batch_size: int, points per sampling call.

    Returns:
        ``{"disentanglement", "completeness", "informativeness_train",
        "informativeness_test"}``, floats in [0, 1]. As in disentanglement_lib the
        informativeness values are the classifiers' mean accuracies (higher is better).

    Raises:
        ValueError: a parameter is not a positive int (the message names it).
    """
    num_train = check_positive_int("num_train", num_train)
    num_test = check_positive_int("num_test", num_test)
    batch_size = check_positive_int("batch_size", batch_size)

    codes_train, factors_train = generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size)
    codes_test, factors_test = generate_batch_factor_code(
        ground_truth_data, representation_function, num_test, random_state, batch_size)
    importance, train_accuracy, test_accuracy = compute_importance_gbt(
        codes_train, factors_train, codes_test, factors_test, random_state)
    return {
        "disentanglement": disentanglement(importance),
        "completeness": completeness(importance),
        "informativeness_train": train_accuracy,
        "informativeness_test": test_accuracy,
    }


def compute_importance_gbt(x_train, y_train, x_test, y_test, random_state):
    """Fits one boosted-trees classifier per factor.

    Args:
        x_train, x_test: codes ``[D, N_train]``, ``[D, N_test]``.
        y_train, y_test: factors ``[F, N_train]``, ``[F, N_test]``.
        random_state: ``np.random.RandomState`` for the trees' tie-breaking (the
            reference leaves the trees unseeded, which makes tied codes, e.g. a
            duplicated dim, give different importances from run to run).

    Returns:
        ``(importance [D, F], mean train accuracy, mean test accuracy)``.
    """
    importance = np.zeros((x_train.shape[0], y_train.shape[0]), dtype=np.float64)
    train_accuracy, test_accuracy = [], []
    for i in range(y_train.shape[0]):
        model = GradientBoostingClassifier(random_state=random_state)
        model.fit(x_train.T, y_train[i])
        importance[:, i] = np.abs(model.feature_importances_)
        train_accuracy.append(np.mean(model.predict(x_train.T) == y_train[i]))
        test_accuracy.append(np.mean(model.predict(x_test.T) == y_test[i]))
    return importance, float(np.mean(train_accuracy)), float(np.mean(test_accuracy))


def disentanglement_per_code(importance):
    """``1 - H_F(row)`` of each code. ``[D, F] -> [D]``."""
    return 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])


def disentanglement(importance):
    """Importance-weighted mean disentanglement of the codes. ``[D, F] -> float``."""
    per_code = disentanglement_per_code(importance)
    if importance.sum() == 0.0:
        importance = np.ones_like(importance)
    code_weight = importance.sum(axis=1) / importance.sum()
    return float(np.sum(per_code * code_weight))


def completeness_per_factor(importance):
    """``1 - H_D(column)`` of each factor. ``[D, F] -> [F]``: the factors' side of
    ``disentanglement_per_code``, which reads the matrix the other way round."""
    return disentanglement_per_code(importance.T)


def completeness(importance):
    """Importance-weighted mean completeness of the factors. ``[D, F] -> float``."""
    return disentanglement(importance.T)
