"""Spectral normalisation in Miyato et al.'s form (``stabilisers.spectral_norm_form: reparametrised``)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from udgan_tf.networks import ConvEncoder
from udgan_tf.networks.spectral_norm import SpectralNormalized, spectrally_normalized


def largest_singular_value(kernel):
    return float(np.linalg.svd(np.reshape(kernel, (-1, kernel.shape[-1])), compute_uv=False)[0])


@pytest.mark.parametrize("inner, inputs", [
    (lambda: keras.layers.Dense(5), (3, 7)),
    (lambda: keras.layers.Conv2D(4, 4, strides=2, padding="same"), (2, 8, 8, 3)),
])
def test_the_layer_computes_with_the_kernel_over_its_largest_singular_value(inner, inputs):
    keras.utils.set_random_seed(0)
    layer = SpectralNormalized(inner())
    x = tf.random.normal(inputs)
    for _ in range(50):                               # power iterations converge u
        layer(x, training=True)
    kernel = layer.layer.kernel.numpy()
    normalised = kernel / largest_singular_value(kernel)
    plain = inner()
    plain.build(inputs)
    plain.kernel.assign(normalised)
    plain.bias.assign(layer.layer.bias.numpy())
    np.testing.assert_allclose(layer(x, training=False).numpy(), plain(x).numpy(), atol=1e-5)
    np.testing.assert_allclose(kernel, layer.layer.kernel.numpy())   # W itself is kept, not overwritten


def test_the_gradient_flows_through_sigma_and_the_projected_form_does_not():
    """W / sigma(W) does not change when W is scaled, so its gradient is orthogonal to W."""
    keras.utils.set_random_seed(1)
    x = tf.random.normal((6, 7))
    layers = {form: spectrally_normalized(keras.layers.Dense(5), form) for form in ("reparametrised", "projected")}
    cosines = {}
    for form, layer in layers.items():
        layer(x, training=True)
        kernel = layer.layer.kernel
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.sin(layer(x, training=True)))
        gradient = tape.gradient(loss, kernel)
        cosines[form] = abs(float(tf.reduce_sum(gradient * kernel) / (tf.norm(gradient) * tf.norm(kernel))))
    assert cosines["reparametrised"] < 1e-4
    assert cosines["projected"] > 1e-3


def test_an_encoder_in_the_reparametrised_form_saves_and_reloads(tmp_path):
    encoder = ConvEncoder(1, resolution=16, filters=8, spectral_norm=True, spectral_norm_form="reparametrised")
    images = tf.random.uniform((2, 16, 16, 1))
    encoder(images, training=True)
    assert sum(isinstance(layer, SpectralNormalized) for layer in encoder.body.layers) == 6   # 5 convs + Dense
    path = str(tmp_path / "encoder.weights.h5")
    encoder.save_weights(path)
    other = ConvEncoder.from_config(encoder.get_config())
    other(images)
    other.load_weights(path)
    np.testing.assert_allclose(other(images).numpy(), encoder(images).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="spectral_norm_form must be one of"):
        ConvEncoder(1, resolution=16, spectral_norm=True, spectral_norm_form="exact")


def test_only_dense_and_conv_layers_without_activation_are_wrapped():
    with pytest.raises(ValueError, match="without activation"):
        SpectralNormalized(keras.layers.Dense(3, activation="relu"))(tf.zeros((1, 2)))
    with pytest.raises(ValueError, match="wraps a Dense or Conv2D"):
        SpectralNormalized(keras.layers.Conv2DTranspose(3, 3))(tf.zeros((1, 4, 4, 1)))
