"""The generator G of Table 5 (Appendix A)."""

import math

import keras

OUTPUT_ACTIVATIONS = ("sigmoid", "tanh")


def check_resolution(resolution):
    """Resolutions are powers of two >= 16 (Table 5 upsamples 4x4 by factors of 2)."""
    if not isinstance(resolution, int) or resolution < 16 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= 16. Received: resolution={resolution!r}")
    return int(math.log2(resolution)) - 2


@keras.saving.register_keras_serializable("udgan_tf")
class Generator(keras.Model):
    """G: knobs ``[B, Z]`` -> images ``[B, R, R, C]`` in [0, 1].

    Table 5: Dense(16 F) -> reshape to 4x4xF -> [Conv2DTranspose 3x3 stride 2, Conv2D 3x3]
    per doubling up to R -> Conv2D 1x1 to C channels. Leaky ReLU after every layer but
    the last. F = 32 for 2D Shapes, 128 for CelebA.

    Args:
        latent_dim: int. Z, the total width of the knobs.
        resolution: int. R, a power of two >= 16. Defaults to 64.
        channels: int. C. Defaults to 1.
        filters: int. F. Defaults to 32.
        output_activation: str. ``"sigmoid"`` or ``"tanh"`` (rescaled to [0, 1]); the
            paper leaves it open. Defaults to ``"sigmoid"``.
        leaky_relu_slope: float. Defaults to 0.2.

    Example:
        >>> g = Generator(latent_dim=10, resolution=16, channels=1, filters=8)
        >>> g(keras.ops.zeros((2, 10))).shape
        TensorShape([2, 16, 16, 1])
    """

    def __init__(self, latent_dim, resolution=64, channels=1, filters=32,
                 output_activation="sigmoid", leaky_relu_slope=0.2, **kwargs):
        super().__init__(**kwargs)
        doublings = check_resolution(resolution)
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"output_activation must be one of {OUTPUT_ACTIVATIONS}. Received: {output_activation!r}"
            )
        self.latent_dim = latent_dim
        self.resolution = resolution
        self.channels = channels
        self.filters = filters
        self.output_activation = output_activation
        self.leaky_relu_slope = leaky_relu_slope

        layers = [keras.layers.Dense(16 * filters), keras.layers.LeakyReLU(leaky_relu_slope),
                  keras.layers.Reshape((4, 4, filters))]
        for _ in range(doublings):
            layers += [
                keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="same"),
                keras.layers.LeakyReLU(leaky_relu_slope),
                keras.layers.Conv2D(filters, 3, padding="same"),
                keras.layers.LeakyReLU(leaky_relu_slope),
            ]
        layers.append(keras.layers.Conv2D(channels, 1, dtype="float32"))
        self.body = keras.Sequential(layers, name="body")

    def call(self, knobs, training=False):
        logits = self.body(knobs, training=training)
        if self.output_activation == "sigmoid":
            return keras.ops.sigmoid(logits)
        return 0.5 * (keras.ops.tanh(logits) + 1.0)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "resolution": self.resolution,
                "channels": self.channels, "filters": self.filters,
                "output_activation": self.output_activation, "leaky_relu_slope": self.leaky_relu_slope}
