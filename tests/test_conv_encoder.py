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


def test_infogan_cr_discriminator_has_the_dsprites_layout_of_lin_et_al():
    """Convolutions 32, 32, 64, 64 (4x4, stride 2) -> FC 128 -> FC 1 (InfoGAN-CR, dSprites)."""
    discriminator = ConvEncoder(1, resolution=64, filters=32, architecture="infogan_cr")
    assert widths_by_side(discriminator, (2, 64, 64, 1)) == {32: 32, 16: 32, 8: 64, 4: 64}
    assert [layer.units for layer in discriminator.body.layers if "dense" in layer.name] == [128, 1]
    assert discriminator(tf.zeros((2, 64, 64, 1))).shape == (2, 1)
