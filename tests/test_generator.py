import numpy as np
import tensorflow as tf

from conftest import widths_by_side
from udgan_tf.networks import Generator


def test_table5_generator_shapes():
    generator = Generator(latent_dim=10, resolution=64, channels=1, filters=32)
    assert generator.body.layers[0].units == 512  # Table 5, 2D Shapes: FC (512)
    images = generator(tf.zeros((2, 10)))
    assert images.shape == (2, 64, 64, 1)
    assert float(tf.reduce_min(images)) >= 0 and float(tf.reduce_max(images)) <= 1
    celeba = Generator(latent_dim=32, resolution=64, channels=3, filters=128)
    assert celeba.body.layers[0].units == 2048 and celeba(tf.zeros((1, 32))).shape == (1, 64, 64, 3)
    conv_layers = [layer for layer in generator.body.layers if "conv" in layer.name]
    assert len(conv_layers) == 9  # 4 x (Conv2DTranspose + Conv2D) + the 1x1 output conv


def test_dcgan_generator_is_widest_where_the_image_is_smallest():
    generator = Generator(latent_dim=10, resolution=64, filters=32, architecture="dcgan", normalization="batch")
    assert generator.body.layers[0].units == 16 * 256
    assert widths_by_side(generator, (2, 10)) == {8: 128, 16: 64, 32: 32, 64: 1}
    assert generator(tf.zeros((2, 10))).shape == (2, 64, 64, 1)


def test_output_stays_in_unit_range_and_passes_gradients():
    generator = Generator(latent_dim=3, resolution=16, filters=8)
    z = tf.random.stateless_uniform((4, 3), seed=(0, 0), minval=-1, maxval=1)
    with tf.GradientTape() as tape:
        images = generator(z, training=True)
        total = tf.reduce_sum(images)
    assert float(tf.reduce_min(images)) >= 0 and float(tf.reduce_max(images)) <= 1
    gradients = tape.gradient(total, generator.trainable_variables)
    assert all(g is not None and np.any(g.numpy() != 0) for g in gradients[-2:])


def test_infogan_cr_generator_has_the_dsprites_layout_of_lin_et_al():
    """FC 128 -> FC 4x4x64 -> transposed convolutions 64, 32, 32, 1 (InfoGAN-CR, dSprites)."""
    generator = Generator(latent_dim=10, resolution=64, filters=32, architecture="infogan_cr", normalization="batch")
    dense = [layer.units for layer in generator.body.layers if "dense" in layer.name]
    assert dense == [128, 16 * 64]
    assert widths_by_side(generator, (2, 10)) == {8: 64, 16: 32, 32: 32, 64: 1}
    assert generator(tf.zeros((2, 10))).shape == (2, 64, 64, 1)
