import tensorflow as tf

from conftest import widths_by_side
from udgan_tf.networks import ConvEncoder


def test_table5_discriminator_shape():
    discriminator = ConvEncoder(1, resolution=64, filters=32)
    assert discriminator(tf.zeros((2, 64, 64, 1))).shape == (2, 1)


def test_dcgan_discriminator_is_widest_where_the_image_is_smallest():
    discriminator = ConvEncoder(1, resolution=64, filters=32, architecture="dcgan")
    assert widths_by_side(discriminator, (2, 64, 64, 1)) == {32: 32, 16: 64, 8: 128, 4: 256}
    assert discriminator(tf.zeros((2, 64, 64, 1))).shape == (2, 1)
