import numpy as np
import tensorflow as tf

from udgan_tf import guidance
from udgan_tf.networks import RealProxyStandardization, SiameseNetwork


def test_vector_guidance_is_standardised_by_real_statistics_so_its_scale_does_not_matter():
    guidance.register("tiny_center_of_mass_x", lambda images: 0.01 * guidance.center_of_mass_x(images))
    try:
        columns = np.random.RandomState(0).randint(0, 16, size=16)
        real = tf.reshape(tf.one_hot(8 * 16 + columns, 256), (16, 16, 16, 1))  # one lit pixel each
        generated = tf.random.stateless_uniform((8, 16, 16, 1), seed=(4, 2))
        raw = SiameseNetwork(2, 16, 1, guidance="center_of_mass_x")
        tiny = SiameseNetwork(2, 16, 1, guidance="tiny_center_of_mass_x")
        tiny.set_weights(raw.get_weights())
        for network in (raw, tiny):
            network.standardization.update(network.guide(real))
        # A proxy 100x smaller (like object size against centre of mass) reaches the MLP
        # on the same scale, so its knob can meet the contrastive margin as quickly.
        np.testing.assert_allclose(tiny(generated), raw(generated), rtol=2e-3, atol=1e-5)
    finally:
        guidance.unregister("tiny_center_of_mass_x")


def test_proxy_standardization_keeps_running_real_statistics_and_saturates():
    layer = RealProxyStandardization(momentum=0.9, limit=5.0)
    first, second = tf.constant([[1.0], [3.0]]), tf.constant([[11.0], [13.0]])
    layer.update(first)      # the first batch sets the statistics
    np.testing.assert_allclose([layer.mean.numpy()[0], layer.variance.numpy()[0]], [2.0, 1.0])
    layer.update(second)     # later ones move them by 1 - momentum
    np.testing.assert_allclose([layer.mean.numpy()[0], layer.variance.numpy()[0]], [3.0, 1.0], rtol=1e-6)
    out = layer(tf.constant([[3.0], [4.0], [1000.0]])).numpy()[:, 0]
    np.testing.assert_allclose(out[:2], [0.0, 5 * np.tanh(0.2)], rtol=1e-5)
    assert 4.99 < out[2] <= 5.0  # an outlier saturates instead of dominating
