"""CelebA attribute classification by projection (Kumar et al. 2018; the paper's Tables 2 and 8).

For each binary attribute: average the embeddings of the positive and of the
negative training images; the difference of the means is the attribute's
direction. A test image is classified by projecting its embedding on the direction
and thresholding at the value that classifies the training images best.
"""

import numpy as np


def best_threshold(scores, labels):
    """The threshold t maximising the accuracy of ``scores > t`` on ``labels``.

    Args:
        scores: float ``[N]``.
        labels: ``[N]`` in {0, 1}.

    Returns:
        ``(threshold, training accuracy)``. Candidates are the midpoints between
        consecutive sorted scores, and one below the smallest.
    """
    order = np.argsort(scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order].astype(np.int64)
    # Threshold below element k: elements 0..k-1 are called negative, k..N-1 positive.
    negatives_below = np.concatenate([[0], np.cumsum(1 - sorted_labels)])
    positives_above = np.concatenate([[0], np.cumsum(sorted_labels[::-1])])[::-1]
    correct = negatives_below + positives_above                                    # [N + 1]
    distinct = np.concatenate([[True], sorted_scores[1:] > sorted_scores[:-1], [True]])
    correct = np.where(distinct, correct, -1)  # cannot split between equal scores
    k = int(np.argmax(correct))
    if k == 0:
        threshold = sorted_scores[0] - 1.0
    elif k == len(scores):
        threshold = sorted_scores[-1]
    else:
        threshold = 0.5 * (sorted_scores[k - 1] + sorted_scores[k])
    return float(threshold), float(correct[k] / len(scores))


def attribute_accuracies(train_embeddings, train_attributes, test_embeddings, test_attributes):
    """Per-attribute test accuracy of the projection classifier.

    Args:
        train_embeddings: float ``[N, E]``.
        train_attributes: ``[N, A]`` in {0, 1}.
        test_embeddings: float ``[M, E]``.
        test_attributes: ``[M, A]`` in {0, 1}.

    Returns:
        float64 ``[A]``: accuracy on the test images. An attribute with no positive
        (or no negative) training image gets the accuracy of the constant answer.
    """
    train_embeddings = np.asarray(train_embeddings, np.float64)
    test_embeddings = np.asarray(test_embeddings, np.float64)
    accuracies = []
    for a in range(train_attributes.shape[1]):
        positive = train_attributes[:, a] == 1
        if positive.all() or not positive.any():
            accuracies.append(float(np.mean(test_attributes[:, a] == int(positive.all()))))
            continue
        direction = train_embeddings[positive].mean(0) - train_embeddings[~positive].mean(0)
        threshold, _ = best_threshold(train_embeddings @ direction, train_attributes[:, a])
        predicted = (test_embeddings @ direction > threshold).astype(np.int64)
        accuracies.append(float(np.mean(predicted == test_attributes[:, a])))
    return np.array(accuracies)
