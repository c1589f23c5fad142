"""The beta-VAE disentanglement metric.

From Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts with a
Constrained Variational Framework" (https://openreview.net/forum?id=Sy2fzU9gl).
Each point is a batch of observation pairs that share one factor; its feature is the
mean absolute difference of their codes and its label is the shared factor. A
linear classifier (scikit-learn ``LogisticRegression``) predicts the label; the
score is its accuracy. Procedure and defaults match disentanglement_lib
(``beta_vae_sklearn``: batch_size=64, num_train=10000, num_eval=5000). The
classifier is ``LogisticRegression`` with the installed scikit-learn's defaults
(lbfgs, multinomial), as the reference also takes whatever the installed defaults are.
"""

import numpy as np
from sklearn.linear_model import LogisticRegression

from udgan_tf.evaluation.metrics.utils import check_positive_int, represent


def compute_beta_vae_score(ground_truth_data, representation_function, random_state,
                           batch_size=64, num_train=10000, num_eval=5000):
    """Computes the beta-VAE score.

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        representation_function: observations ``[B, H, W, C]`` -> codes ``[B, D]``.
        random_state: ``np.random.RandomState``.
        batch_size: int, pairs averaged into one point.
        num_train: int, points to fit the classifier on.
        num_eval: int, points to evaluate it on.

    Returns:
        ``{"train_accuracy": float, "eval_accuracy": float}``; chance is
        ``1 / num_factors``.

    Raises:
        ValueError: a parameter is not a positive int (the message names it).
    """
    batch_size = check_positive_int("batch_size", batch_size)
    num_train = check_positive_int("num_train", num_train)
    num_eval = check_positive_int("num_eval", num_eval)

    train_points, train_labels = _generate_points(
        ground_truth_data, representation_function, batch_size, num_train, random_state)
    model = LogisticRegression(random_state=random_state)
    model.fit(train_points, train_labels)
    train_accuracy = float(np.mean(model.predict(train_points) == train_labels))

    eval_points, eval_labels = _generate_points(
        ground_truth_data, representation_function, batch_size, num_eval, random_state)
    eval_accuracy = float(np.mean(model.predict(eval_points) == eval_labels))
    return {"train_accuracy": train_accuracy, "eval_accuracy": eval_accuracy}


def _generate_points(ground_truth_data, representation_function, batch_size, num_points,
                     random_state):
    """Returns features ``[num_points, D]`` and labels (the shared factor) ``[num_points]``."""
    points, labels = [], np.zeros(num_points, dtype=np.int64)
    for i in range(num_points):
        labels[i], feature = _generate_point(
            ground_truth_data, representation_function, batch_size, random_state)
        points.append(feature)
    return np.stack(points), labels


def _generate_point(ground_truth_data, representation_function, batch_size, random_state):
    """One point: ``(shared factor index, mean |code1 - code2| [D])``."""
    index = random_state.randint(ground_truth_data.num_factors)
    factors1 = ground_truth_data.sample_factors(batch_size, random_state)
    factors2 = ground_truth_data.sample_factors(batch_size, random_state)
    factors2[:, index] = factors1[:, index]
    observations1 = ground_truth_data.sample_observations_from_factors(factors1, random_state)
    observations2 = ground_truth_data.sample_observations_from_factors(factors2, random_state)
    # One call for both halves (same codes as two calls, half the calls).
    codes = represent(representation_function, np.concatenate([observations1, observations2]))
    return index, np.mean(np.abs(codes[:batch_size] - codes[batch_size:]), axis=0)
