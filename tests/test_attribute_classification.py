"""The CelebA projection classifier (Kumar et al. 2018) and the correlation tables."""

import numpy as np
import pytest

from udgan_tf.evaluation.attribute_classification import attribute_accuracies, best_threshold
from udgan_tf.evaluation.correlations import best_abs_correlation, correlation_matrix, mean_abs_off_diagonal


def planted(num, rng, strength):
    """Embeddings [num, 16] where attribute a shifts dimension a by ``strength``; 3 attributes."""
    attributes = rng.integers(0, 2, (num, 3))
    embeddings = rng.standard_normal((num, 16))
    embeddings[:, :3] += strength * attributes
    return embeddings, attributes


def test_a_planted_attribute_direction_is_found():
    rng = np.random.default_rng(0)
    train, test = planted(2000, rng, 5.0), planted(1000, rng, 5.0)
    accuracies = attribute_accuracies(*train, *test)
    assert accuracies.shape == (3,) and np.all(accuracies >= 0.95)


def test_random_embeddings_score_chance():
    rng = np.random.default_rng(1)
    train, test = planted(2000, rng, 0.0), planted(2000, rng, 0.0)
    accuracies = attribute_accuracies(*train, *test)
    assert np.all(np.abs(accuracies - 0.5) < 0.06)


def test_an_attribute_without_positives_gets_the_constant_answer():
    rng = np.random.default_rng(2)
    embeddings = rng.standard_normal((50, 4))
    attributes = np.zeros((50, 1), np.int64)
    test_attributes = np.array([[0]] * 9 + [[1]])
    assert attribute_accuracies(embeddings, attributes, embeddings[:10], test_attributes)[0] == pytest.approx(0.9)


def test_best_threshold_separates_and_never_splits_ties():
    threshold, accuracy = best_threshold(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    assert 0.2 < threshold < 0.8 and accuracy == 1.0
    threshold, accuracy = best_threshold(np.array([1.0, 1.0, 1.0]), np.array([0, 1, 1]))
    assert accuracy == pytest.approx(2 / 3) and (np.array([1.0, 1.0, 1.0]) > threshold).all()


def test_correlation_tables():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((500, 3))
    r = correlation_matrix(x, np.stack([x[:, 0], -2 * x[:, 1], np.ones(500)], 1))
    assert r[0, 0] == pytest.approx(1.0) and r[1, 1] == pytest.approx(-1.0) and np.all(r[:, 2] == 0)
    assert mean_abs_off_diagonal(correlation_matrix(x, x)) < 0.1
    assert mean_abs_off_diagonal(np.ones((3, 3))) == 1.0
    np.testing.assert_allclose(best_abs_correlation(x, -x[:, :2]), [1.0, 1.0])
