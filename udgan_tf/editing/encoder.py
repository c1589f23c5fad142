"""The knob encoder E: images -> knob values, trained on a frozen generator's own samples
(``udgan_tf.editing.encoder_training``), and the reconstruction error it and the refinement use."""

import keras
import tensorflow as tf

from udgan_tf.networks.conv_encoder import ConvEncoder


def likelihood_of(channels):
    """The reconstruction loss of data with ``channels`` channels: "bernoulli" (1) or "l2" (colour)."""
    return "bernoulli" if channels == 1 else "l2"


def reconstruction_error(images, targets, likelihood):
    """Per image: mean binary cross-entropy ("bernoulli") or squared error ("l2") of ``images``
    against ``targets``, both ``[B, R, R, C]`` in [0, 1]. Returns ``[B]``."""
    if likelihood == "bernoulli":
        clipped = tf.clip_by_value(images, 1e-6, 1.0 - 1e-6)
        pixel = -(targets * tf.math.log(clipped) + (1.0 - targets) * tf.math.log(1.0 - clipped))
    else:
        pixel = tf.square(images - targets)
    return tf.reduce_mean(pixel, axis=[1, 2, 3])


@keras.saving.register_keras_serializable("udgan_tf")
class KnobEncoder(keras.Model):
    """Images ``[B, R, R, C]`` in [0, 1] -> knobs ``[B, Z]`` in (-1, 1): the DCGAN conv encoder
    (``ConvEncoder(architecture="dcgan")``, no normalisation) and a tanh.

    Example:
        >>> encoder = KnobEncoder(latent_dim=5, resolution=16, channels=1, filters=8)
        >>> encoder(tf.zeros((2, 16, 16, 1))).shape
        TensorShape([2, 5])
    """

    def __init__(self, latent_dim, resolution=64, channels=1, filters=32, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.resolution, self.channels, self.filters = latent_dim, resolution, channels, filters
        self.body = ConvEncoder(output_dim=latent_dim, resolution=resolution, filters=filters, architecture="dcgan")
        self(tf.zeros((1, resolution, resolution, channels)))

    def call(self, images, training=False):
        return tf.tanh(self.body(images, training=training))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "resolution": self.resolution,
                "channels": self.channels, "filters": self.filters}
