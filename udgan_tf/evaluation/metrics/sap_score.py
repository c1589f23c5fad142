"""The Separated Attribute Predictability (SAP) score.

From Kumar et al. 2018, "Variational Inference of Disentangled Latent Concepts from
Unlabeled Observations" (https://openreview.net/forum?id=H1kG7GZAW), Section 3.
A score matrix ``[D, F]`` rates how well each single code dim predicts each factor:
for discrete factors, the test accuracy of a linear SVM
(``LinearSVC(C=0.01, class_weight="balanced")``) fit on that one dim; for continuous
factors, the squared correlation R^2. The SAP score is the gap between the two best
dims, averaged over factors. Procedure and defaults match disentanglement_lib
(``sap_score``: num_train=10000, num_test=5000, batch_size=16,
continuous_factors=False).
"""

import numpy as np
from sklearn.svm import LinearSVC

from udgan_tf.evaluation.metrics.utils import check_positive_int, generate_batch_factor_code


def compute_sap_score(ground_truth_data, representation_function, random_state,
                      num_train=10000, num_test=5000, batch_size=16, continuous_factors=False):
    """Computes the SAP score.

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        representation_function: observations ``[B, H, W, C]`` -> codes ``[B, D]``, D >= 2.
        random_state: ``np.random.RandomState``.
        num_train: int, points to fit on.
        num_test: int, points to test the SVMs on (drawn in both modes, as in the
            reference, so both modes consume the same random numbers).
        batch_size: int, points per sampling call.
        continuous_factors: bool, score with R^2 (True) or SVM accuracy (False).

    Returns:
        ``{"SAP_score": float}``.

    Raises:
        ValueError: a parameter is not a positive int or ``continuous_factors`` is not
            a bool (the message names it), or the representation has fewer than 2 dims.
    """
    num_train = check_positive_int("num_train", num_train)
    num_test = check_positive_int("num_test", num_test)
    batch_size = check_positive_int("batch_size", batch_size)
    if not isinstance(continuous_factors, (bool, np.bool_)):
        raise ValueError(f"continuous_factors must be a bool. Received: {continuous_factors!r}")

    codes, factors = generate_batch_factor_code(
        ground_truth_data, representation_function, num_train, random_state, batch_size)
    codes_test, factors_test = generate_batch_factor_code(
        ground_truth_data, representation_function, num_test, random_state, batch_size)
    if codes.shape[0] < 2:
        raise ValueError(f"SAP needs a representation with at least 2 dims. Received: {codes.shape[0]}.")
    if continuous_factors:
        scores = _r_squared_matrix(codes, factors)
    else:
        scores = _accuracy_matrix(codes, factors, codes_test, factors_test)
    top = np.sort(scores, axis=0)
    return {"SAP_score": float(np.mean(top[-1] - top[-2]))}


def _r_squared_matrix(codes, factors):
    """Squared correlation of every code with every factor. ``[D, N], [F, N] -> [D, F]``."""
    scores = np.zeros((codes.shape[0], factors.shape[0]))
    for i, code in enumerate(codes):
        for j, factor in enumerate(factors):
            cov = np.cov(code, factor, ddof=1)
            if cov[0, 0] > 1e-12:
                scores[i, j] = cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1])
    return scores


def _accuracy_matrix(codes, factors, codes_test, factors_test):
    """Test accuracy of a linear SVM from each code to each factor. ``-> [D, F]``."""
    scores = np.zeros((codes.shape[0], factors.shape[0]))
    for i in range(codes.shape[0]):
        for j in range(factors.shape[0]):
            classifier = LinearSVC(C=0.01, class_weight="balanced")
            classifier.fit(codes[i][:, None], factors[j])
            scores[i, j] = np.mean(classifier.predict(codes_test[i][:, None]) == factors_test[j])
    return scores
