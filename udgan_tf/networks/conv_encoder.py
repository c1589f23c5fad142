"""The "inverted generator" of Appendix A, used as discriminator D and as image siamese network."""

import keras

from udgan_tf.networks.generator import check_resolution, normalization_layers


@keras.saving.register_keras_serializable("udgan_tf")
class ConvEncoder(keras.Model):
    """Images ``[B, R, R, C]`` -> vectors ``[B, output_dim]``.

    The generator of Table 5 inverted: Conv2D 1x1 -> [Conv2D 3x3, Conv2D 3x3 stride 2]
    per halving down to 4x4 -> flatten (16 F) -> Dense(output_dim). Leaky ReLU after
    every layer but the last. D is ``ConvEncoder(output_dim=1)``; an unguided siamese
    network is ``ConvEncoder(output_dim=number of unguided embedding dims)``.

    Args:
        output_dim: int.
        resolution: int. R of the input (a power of two >= 16; crops may be smaller,
            see ``downsamplings``). Defaults to 64.
        filters: int. F. Defaults to 32.
        spectral_norm: bool. Wrap every Conv2D/Dense in ``keras.layers.SpectralNormalization``
            (Miyato et al. 2018). Not in the paper; stabilises D on binary dSprites.
            Defaults to False.
        normalization: str. ``"none"`` (the paper) or ``"batch"``: BatchNormalization
            before the activation of every hidden convolution but the first (as in
            DCGAN). Defaults to ``"none"``.
        downsamplings: int or None. Number of stride-2 stages; None derives it from
            ``resolution`` so the last feature map is 4x4.
        leaky_relu_slope: float. Defaults to 0.2.

    Example:
        >>> d = ConvEncoder(output_dim=1, resolution=16, filters=8)
        >>> d(keras.ops.zeros((2, 16, 16, 1))).shape
        TensorShape([2, 1])
    """

    def __init__(self, output_dim, resolution=64, filters=32, spectral_norm=False,
                 downsamplings=None, leaky_relu_slope=0.2, normalization="none", **kwargs):
        super().__init__(**kwargs)
        if downsamplings is None:
            downsamplings = check_resolution(resolution)
        self.output_dim = output_dim
        self.resolution = resolution
        self.filters = filters
        self.spectral_norm = spectral_norm
        self.downsamplings = downsamplings
        self.leaky_relu_slope = leaky_relu_slope
        self.normalization = normalization
        normalization_layers(normalization)  # validates

        def weighted(layer):
            return keras.layers.SpectralNormalization(layer) if spectral_norm else layer

        layers = [weighted(keras.layers.Conv2D(filters, 1)), keras.layers.LeakyReLU(leaky_relu_slope)]
        for _ in range(downsamplings):
            for strides in (1, 2):
                layers += [weighted(keras.layers.Conv2D(filters, 3, strides=strides, padding="same")),
                           *normalization_layers(normalization), keras.layers.LeakyReLU(leaky_relu_slope)]
        layers += [keras.layers.Flatten(), weighted(keras.layers.Dense(output_dim, dtype="float32"))]
        self.body = keras.Sequential(layers, name="body")

    def call(self, images, training=False):
        return self.body(images, training=training)

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim, "resolution": self.resolution,
                "filters": self.filters, "spectral_norm": self.spectral_norm,
                "downsamplings": self.downsamplings, "leaky_relu_slope": self.leaky_relu_slope,
                "normalization": self.normalization}
