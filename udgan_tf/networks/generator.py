"""The generator G of Table 5 (Appendix A)."""

import math

import keras

OUTPUT_ACTIVATIONS = ("sigmoid", "tanh", "binary", "clip")
NORMALIZATIONS = ("none", "batch", "pixel")
ARCHITECTURES = ("table5", "dcgan")


def check_architecture(architecture):
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}. Received: {architecture!r}")


def dcgan_widths(filters, stages):
    """Channel widths of the DCGAN layout, widest at the lowest resolution:
    ``[8F, 4F, 2F, F]`` for 4 stages (``filters * 2**(stages - 1 - k)`` at stage k)."""
    return [filters * 2 ** (stages - 1 - k) for k in range(stages)]


@keras.saving.register_keras_serializable("udgan_tf")
class PixelNormalization(keras.layers.Layer):
    """x / sqrt(mean_c(x^2) + eps) at every pixel (Karras et al. 2018). Shape-preserving."""

    def call(self, inputs):
        return inputs * keras.ops.rsqrt(keras.ops.mean(keras.ops.square(inputs), axis=-1, keepdims=True) + 1e-8)


def normalization_layers(kind):
    """The layers of a normalisation kind (``"none"``, ``"batch"``, ``"pixel"``)."""
    if kind not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}. Received: {kind!r}")
    if kind == "batch":
        # Synchronised: under tf.distribute the statistics are those of the global batch, as
        # on one device (and the moving averages stay equal on every replica).
        return [keras.layers.BatchNormalization(momentum=0.9, synchronized=True)]
    if kind == "pixel":
        return [PixelNormalization()]
    return []


def check_resolution(resolution):
    """Resolutions are powers of two >= 16 (Table 5 upsamples 4x4 by factors of 2)."""
    if not isinstance(resolution, int) or resolution < 16 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= 16. Received: resolution={resolution!r}")
    return int(math.log2(resolution)) - 2


@keras.saving.register_keras_serializable("udgan_tf")
class Generator(keras.Model):
    """G: knobs ``[B, Z]`` -> images ``[B, R, R, C]`` in [0, 1].

    ``architecture="table5"`` (the paper): Dense(16 F) -> reshape to 4x4xF ->
    [Conv2DTranspose 3x3 stride 2, Conv2D 3x3] per doubling up to R -> Conv2D 1x1 to C
    channels; F = 32 for 2D Shapes, 128 for CelebA. ``architecture="dcgan"`` (Radford et
    al. 2016; not in the paper): Dense to 4x4x(2^(n-1) F) -> one Conv2DTranspose 4x4
    stride 2 per doubling, halving the width down to F, the last one straight to C
    channels (n doublings; for R = 64, F = 32: 256, 128, 64, 32 channels at 4..32 px).
    It is wide where the image is small and spends no extra convolution at full
    resolution, which is what lets G draw dSprites on a CPU budget (BENCHMARKS.md).
    Leaky ReLU after every layer but the last.

    Args:
        latent_dim: int. Z, the total width of the knobs.
        resolution: int. R, a power of two >= 16. Defaults to 64.
        channels: int. C. Defaults to 1.
        filters: int. F. Defaults to 32.
        output_activation: str. ``"sigmoid"``, ``"tanh"`` (rescaled to [0, 1]) or
            ``"binary"``: the sigmoid rounded to {0, 1} in the forward pass with the
            sigmoid's gradient in the backward pass (straight-through estimator), for
            binary data such as dSprites; or ``"clip"``: the output clipped to [0, 1] in the
            forward pass with an identity gradient, so that black and white are reached
            exactly and the gradient never vanishes in saturated pixels. The paper leaves
            it open. Defaults to ``"sigmoid"``.
        normalization: str. Before every hidden layer's activation: ``"none"`` (the paper),
            ``"batch"`` (BatchNormalization, as in DCGAN) or ``"pixel"`` (pixel-wise
            feature normalisation, no batch statistics). Defaults to ``"none"``.
        leaky_relu_slope: float. Defaults to 0.2.
        architecture: str. ``"table5"`` or ``"dcgan"``, see above. Defaults to ``"table5"``.

    Example:
        >>> g = Generator(latent_dim=10, resolution=16, channels=1, filters=8)
        >>> g(keras.ops.zeros((2, 10))).shape
        TensorShape([2, 16, 16, 1])
    """

    def __init__(self, latent_dim, resolution=64, channels=1, filters=32,
                 output_activation="sigmoid", leaky_relu_slope=0.2, normalization="none",
                 architecture="table5", **kwargs):
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
        normalization_layers(normalization)  # validates
        check_architecture(architecture)
        self.architecture = architecture
        self.output_activation = output_activation
        self.leaky_relu_slope = leaky_relu_slope
        self.normalization = normalization

        def activation():
            return [*normalization_layers(normalization), keras.layers.LeakyReLU(leaky_relu_slope)]

        if architecture == "table5":
            layers = [keras.layers.Dense(16 * filters), keras.layers.Reshape((4, 4, filters)), *activation()]
            for _ in range(doublings):
                layers += [keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="same"), *activation(),
                           keras.layers.Conv2D(filters, 3, padding="same"), *activation()]
            layers.append(keras.layers.Conv2D(channels, 1, dtype="float32"))
        else:
            widths = dcgan_widths(filters, doublings)
            layers = [keras.layers.Dense(16 * widths[0]), keras.layers.Reshape((4, 4, widths[0])), *activation()]
            for width in widths[1:]:
                layers += [keras.layers.Conv2DTranspose(width, 4, strides=2, padding="same"), *activation()]
            layers.append(keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", dtype="float32"))
        self.body = keras.Sequential(layers, name="body")

    def call(self, knobs, training=False):
        logits = self.body(knobs, training=training)
        if self.output_activation == "tanh":
            return 0.5 * (keras.ops.tanh(logits) + 1.0)
        if self.output_activation == "clip":
            return logits + keras.ops.stop_gradient(keras.ops.clip(logits, 0.0, 1.0) - logits)
        images = keras.ops.sigmoid(logits)
        if self.output_activation == "binary":
            images = images + keras.ops.stop_gradient(keras.ops.round(images) - images)
        return images

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "resolution": self.resolution,
                "channels": self.channels, "filters": self.filters,
                "output_activation": self.output_activation, "leaky_relu_slope": self.leaky_relu_slope,
                "normalization": self.normalization, "architecture": self.architecture}
