"""The generator G of Table 5 (Appendix A)."""

import math

import keras

NORMALIZATIONS = ("none", "batch")
ARCHITECTURES = ("table5", "dcgan", "infogan_cr", "infogan_cr_reference", "infogan_cr_upsample")
#: Weight initialisations: Keras' defaults (Glorot uniform), or DCGAN's N(0, 0.02), which
#: InfoGAN-CR's code uses (``linear``, ``deconv2d``: normal; ``conv2d``: truncated normal;
#: InfoGAN-CR_dSprites/gan/op.py), biases 0 in both.
WEIGHT_INITS = ("keras", "normal_0.02")


def check_weight_init(weight_init):
    if weight_init not in WEIGHT_INITS:
        raise ValueError(f"weight_init must be one of {WEIGHT_INITS}. Received: {weight_init!r}")


def kernel_init(weight_init, layer="dense"):
    """The ``kernel_initializer`` of a ``layer`` kind (``"dense"``, ``"conv"``, ``"deconv"``)."""
    check_weight_init(weight_init)
    if weight_init == "keras":
        return "glorot_uniform"
    if layer == "conv":
        return keras.initializers.TruncatedNormal(stddev=0.02)
    return keras.initializers.RandomNormal(stddev=0.02)


def check_architecture(architecture):
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}. Received: {architecture!r}")


def dcgan_widths(filters, stages):
    """Channel widths of the DCGAN layout, widest at the lowest resolution:
    ``[8F, 4F, 2F, F]`` for 4 stages (``filters * 2**(stages - 1 - k)`` at stage k)."""
    return [filters * 2 ** (stages - 1 - k) for k in range(stages)]


def infogan_cr_widths(filters, stages):
    """Channel widths of InfoGAN-CR's dSprites layout from the input side of D, narrowest where
    the image is largest: ``[F, F, 2F, 2F]`` for 4 stages (the first half F, the rest 2F)."""
    return [filters if k < stages // 2 else 2 * filters for k in range(stages)]


def normalization_layers(kind, epsilon=1e-3):
    """The layers of a normalisation kind (``"none"``, ``"batch"``); ``epsilon`` of batch norm
    (Keras' 1e-3 by default; InfoGAN-CR's code 1e-5)."""
    if kind not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}. Received: {kind!r}")
    if kind == "batch":
        # Synchronised: under tf.distribute the statistics are those of the global batch, as
        # on one device (and the moving averages stay equal on every replica).
        return [keras.layers.BatchNormalization(momentum=0.9, epsilon=epsilon, synchronized=True)]
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
    ``architecture="infogan_cr"`` (Lin et al. 2020, their dSprites networks; not in the
    paper): Dense(4 F) -> Dense to 4x4x2F -> Conv2DTranspose 4x4 stride 2 per doubling with
    D's widths reversed (for R = 64, F = 32: 64, 32, 32 channels at 8..32 px), the last
    one straight to C channels: far fewer weights than "dcgan" (64 instead of 256 channels
    at 4x4). Leaky ReLU after every layer but the last, a sigmoid on the output; the
    normalisation before each activation.
    ``architecture="infogan_cr_reference"``: the same layers as InfoGAN-CR's own ``Decoder``
    (InfoGAN-CR_dSprites/gan/network.py): ReLU after the two dense layers, leaky ReLU after
    the transposed convolutions, and the normalisation *after* each activation (the second
    dense layer's over its 16 x 2F features, before the reshape), batch norm epsilon 1e-5.
    ``architecture="infogan_cr_upsample"`` (issue 28's candidate; not in either paper): the
    same dense layers, then per doubling a nearest-neighbour upsampling and a 3x3 convolution
    (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts") instead of a 4x4 stride-2
    transposed convolution (for R = 64, F = 32: 64, 64, 32 channels at 8..32 px), leaky ReLU,
    the normalisation after each activation, and at 64 px an upsampling and a 5x5 convolution
    to C channels. Told the factors, it learns dSprites' shapes in about a third of the
    reference layout's steps (BENCHMARKS.md, issue 28, step 1); D is InfoGAN-CR's.

    Args:
        latent_dim: int. Z, the total width of the knobs.
        resolution: int. R, a power of two >= 16. Defaults to 64.
        channels: int. C. Defaults to 1.
        filters: int. F. Defaults to 32.
        normalization: str. Before every hidden layer's activation: ``"none"`` (the paper),
            or ``"batch"`` (BatchNormalization, as in DCGAN). Defaults to ``"none"``.
        leaky_relu_slope: float. Defaults to 0.2.
        architecture: str. ``"table5"``, ``"dcgan"``, ``"infogan_cr"`` or
            ``"infogan_cr_reference"`` or ``"infogan_cr_upsample"``, see above. Defaults to
            ``"table5"``.
        weight_init: str. ``"keras"`` (Glorot uniform) or ``"normal_0.02"`` (DCGAN's, as
            InfoGAN-CR's code). Defaults to ``"keras"``.

    Example:
        >>> g = Generator(latent_dim=10, resolution=16, channels=1, filters=8)
        >>> g(keras.ops.zeros((2, 10))).shape
        TensorShape([2, 16, 16, 1])
    """

    def __init__(self, latent_dim, resolution=64, channels=1, filters=32,
                 leaky_relu_slope=0.2, normalization="none",
                 architecture="table5", weight_init="keras", **kwargs):
        super().__init__(**kwargs)
        doublings = check_resolution(resolution)
        self.latent_dim = latent_dim
        self.resolution = resolution
        self.channels = channels
        self.filters = filters
        normalization_layers(normalization)  # validates
        check_architecture(architecture)
        self.architecture = architecture
        self.leaky_relu_slope = leaky_relu_slope
        self.normalization = normalization
        check_weight_init(weight_init)
        self.weight_init = weight_init
        dense_init, deconv_init, conv_init = (kernel_init(weight_init, kind) for kind in ("dense", "deconv", "conv"))

        def activation():
            return [*normalization_layers(normalization), keras.layers.LeakyReLU(leaky_relu_slope)]

        if architecture in ("infogan_cr_reference", "infogan_cr_upsample"):
            widths = infogan_cr_widths(filters, doublings)[::-1]

            def after(activation_layer):
                return [activation_layer, *normalization_layers(normalization, epsilon=1e-5)]

            layers = [keras.layers.Dense(4 * filters, kernel_initializer=dense_init), *after(keras.layers.ReLU()),
                      keras.layers.Dense(16 * widths[0], kernel_initializer=dense_init),
                      *after(keras.layers.ReLU()), keras.layers.Reshape((4, 4, widths[0]))]
            if architecture == "infogan_cr_reference":
                for width in widths[1:]:
                    layers += [keras.layers.Conv2DTranspose(width, 4, strides=2, padding="same",
                                                            kernel_initializer=deconv_init),
                               *after(keras.layers.LeakyReLU(leaky_relu_slope))]
                layers.append(keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", dtype="float32",
                                                           kernel_initializer=deconv_init))
            else:
                for width in widths[:-1]:
                    layers += [keras.layers.UpSampling2D(2),
                               keras.layers.Conv2D(width, 3, padding="same", kernel_initializer=conv_init),
                               *after(keras.layers.LeakyReLU(leaky_relu_slope))]
                layers += [keras.layers.UpSampling2D(2),
                           keras.layers.Conv2D(channels, 5, padding="same", dtype="float32",
                                               kernel_initializer=conv_init)]
        elif architecture == "table5":
            layers = [keras.layers.Dense(16 * filters, kernel_initializer=dense_init),
                      keras.layers.Reshape((4, 4, filters)), *activation()]
            for _ in range(doublings):
                layers += [keras.layers.Conv2DTranspose(filters, 3, strides=2, padding="same",
                                                        kernel_initializer=deconv_init), *activation(),
                           keras.layers.Conv2D(filters, 3, padding="same", kernel_initializer=conv_init),
                           *activation()]
            layers.append(keras.layers.Conv2D(channels, 1, dtype="float32", kernel_initializer=conv_init))
        else:
            if architecture == "dcgan":
                widths = dcgan_widths(filters, doublings)
                layers = []
            else:
                widths = infogan_cr_widths(filters, doublings)[::-1]
                layers = [keras.layers.Dense(4 * filters, kernel_initializer=dense_init), *activation()]
            layers += [keras.layers.Dense(16 * widths[0], kernel_initializer=dense_init),
                       keras.layers.Reshape((4, 4, widths[0])), *activation()]
            for width in widths[1:]:
                layers += [keras.layers.Conv2DTranspose(width, 4, strides=2, padding="same",
                                                        kernel_initializer=deconv_init), *activation()]
            layers.append(keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", dtype="float32",
                                                       kernel_initializer=deconv_init))
        self.body = keras.Sequential(layers, name="body")

    def call(self, knobs, training=False):
        return keras.ops.sigmoid(self.body(knobs, training=training))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "resolution": self.resolution,
                "channels": self.channels, "filters": self.filters,
                "leaky_relu_slope": self.leaky_relu_slope,
                "normalization": self.normalization, "architecture": self.architecture,
                "weight_init": self.weight_init}
