import numpy as np
import pytest
import tensorflow as tf

from udgan_tf import losses


def t(values):
    return tf.constant(values, tf.float32)


def test_contrastive_loss_matches_equation_2_by_hand():
    # Quartet 0: x11, x12 are 1 apart (pull 0.5*1); all cross pairs are >= margin 2 apart (no push).
    # Quartet 1: pull 0.5*(0 + 1.25) = 0.625; cross distances 1, 0.5, 1, 0.5 with margin 2:
    #            push 0.25*(1 + 2.25 + 1 + 2.25) = 1.625.  Total 2.25.
    e11 = t([[0.0, 0.0], [0.0, 0.0]])
    e12 = t([[1.0, 0.0], [0.0, 0.0]])
    e21 = t([[3.0, 0.0], [1.0, 0.0]])
    e22 = t([[3.0, 0.0], [0.0, 0.5]])
    loss = losses.contrastive_loss(e11, e12, e21, e22, t([2.0, 2.0]))
    np.testing.assert_allclose(loss.numpy(), [0.5, 2.25], rtol=1e-6)


def test_contrastive_loss_zero_margin_only_pulls():
    e = tf.random.stateless_normal((3, 4), seed=(1, 2))
    f = tf.random.stateless_normal((3, 4), seed=(3, 4))
    loss = losses.contrastive_loss(e, f, e, f, tf.zeros(3))
    np.testing.assert_allclose(loss.numpy(), tf.reduce_sum((e - f) ** 2, -1).numpy(), rtol=1e-5)


def test_contrastive_loss_gradient_is_finite_when_embeddings_coincide():
    e = tf.zeros((2, 3))
    with tf.GradientTape() as tape:
        tape.watch(e)
        loss = tf.reduce_sum(losses.contrastive_loss(e, e, e, e, tf.ones(2)))
    gradient = tape.gradient(loss, e)
    assert np.all(np.isfinite(gradient.numpy()))
    assert loss.numpy() == pytest.approx(2.0, rel=1e-5)  # 0.25 * 4 * 1^2 per quartet


def test_non_saturating_losses_by_hand():
    real, fake = t([[0.0], [2.0]]), t([[0.0], [-2.0]])
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    expected_d = np.mean([softplus(0), softplus(-2)]) + np.mean([softplus(0), softplus(-2)])
    assert losses.non_saturating_discriminator_loss(real, fake).numpy() == pytest.approx(expected_d, rel=1e-6)
    assert losses.non_saturating_generator_loss(fake).numpy() == pytest.approx(
        np.mean([softplus(0), softplus(2)]), rel=1e-6)


def test_r1_penalty_of_a_linear_discriminator_is_half_gamma_times_the_squared_weight_norm():
    # D(x) = <w, x>: grad_x D = w for every image, so the penalty is gamma / 2 * ||w||^2.
    weights = np.arange(1.0, 5.0, dtype=np.float32).reshape(1, 2, 2, 1)
    gradients = t(np.repeat(weights, 3, axis=0))
    assert losses.r1_penalty(gradients, 2.0).numpy() == pytest.approx(np.sum(weights ** 2), rel=1e-6)
    assert losses.r1_penalty(gradients, 0.0).numpy() == 0.0
