import numpy as np
import tensorflow as tf

from conftest import widths_by_side
from udgan_tf.networks import ConvEncoder, MinibatchStdDev


def test_table5_discriminator_shape():
    discriminator = ConvEncoder(1, resolution=64, filters=32)
    assert discriminator(tf.zeros((2, 64, 64, 1))).shape == (2, 1)


def test_dcgan_discriminator_is_widest_where_the_image_is_smallest():
    discriminator = ConvEncoder(1, resolution=64, filters=32, architecture="dcgan")
    assert widths_by_side(discriminator, (2, 64, 64, 1)) == {32: 32, 16: 64, 8: 128, 4: 256}
    assert discriminator(tf.zeros((2, 64, 64, 1))).shape == (2, 1)


def test_infogan_cr_discriminator_has_the_dsprites_layout_of_lin_et_al():
    """Convolutions 32, 32, 64, 64 (4x4, stride 2) -> FC 128 -> FC 1 (InfoGAN-CR, dSprites)."""
    discriminator = ConvEncoder(1, resolution=64, filters=32, architecture="infogan_cr")
    assert widths_by_side(discriminator, (2, 64, 64, 1)) == {32: 32, 16: 32, 8: 64, 4: 64}
    assert [layer.units for layer in discriminator.body.layers if "dense" in layer.name] == [128, 1]
    assert discriminator(tf.zeros((2, 64, 64, 1))).shape == (2, 1)


def test_minibatch_stddev_gives_d_the_spread_of_its_batch():
    features = tf.constant([[[[0.0, 2.0]]], [[[2.0, 2.0]]]])  # [B=2, 1, 1, C=2]: std over B is 1 and 0
    out = MinibatchStdDev()(features)
    assert out.shape == (2, 1, 1, 3)
    np.testing.assert_allclose(out[..., :2], features)
    np.testing.assert_allclose(out[..., 2], 0.5, atol=1e-3)  # mean of (1, ~0) for every image
    identical = MinibatchStdDev()(tf.ones((4, 2, 2, 3)))
    np.testing.assert_allclose(identical[..., 3], 1e-4, atol=1e-6)  # sqrt(epsilon): no spread at all


def test_a_minibatch_stddev_discriminator_sees_whether_its_batch_varies():
    discriminator = ConvEncoder(1, resolution=16, filters=8, architecture="dcgan", minibatch_stddev=True)
    image = tf.random.stateless_uniform((1, 16, 16, 1), seed=(1, 0))
    varied = tf.concat([image, tf.random.stateless_uniform((3, 16, 16, 1), seed=(2, 0))], axis=0)
    same = tf.repeat(image, 4, axis=0)
    assert abs(float(discriminator(varied)[0, 0] - discriminator(same)[0, 0])) > 1e-6
    rebuilt = ConvEncoder.from_config(discriminator.get_config())
    assert rebuilt.minibatch_stddev and "minibatch_stddev" in [layer.name for layer in rebuilt.body.layers]
