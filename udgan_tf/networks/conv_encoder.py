"""The "inverted generator" of Appendix A, used as discriminator D and as image siamese network."""

import keras
from keras import ops

from udgan_tf.networks.generator import (check_architecture, check_resolution, check_weight_init, dcgan_widths,
                                        infogan_cr_widths, kernel_init, normalization_layers)
from udgan_tf.networks.spectral_norm import check_spectral_norm_form, spectrally_normalized


@keras.saving.register_keras_serializable("udgan_tf")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the batch's diversity as one more feature map (Karras et al. 2018, §3).

    ``[B, H, W, C] -> [B, H, W, C + 1]``: the new channel is, everywhere and for every
    image, the mean over (H, W, C) of the standard deviation over the batch. A generator
    that draws the same image for every z gives its batch a value near 0 that real batches
    do not have, so D can punish the missing variety. The output of one image depends on
    the others in its batch: use it only where no per-image output is read (D of a GAN).
    Under ``tf.distribute`` the batch is each replica's share.
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, features):
        spread = ops.sqrt(ops.var(features, axis=0) + self.epsilon)  # [H, W, C]
        diversity = ops.ones_like(features[..., :1]) * ops.cast(ops.mean(spread), features.dtype)
        return ops.concatenate([features, diversity], axis=-1)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable("udgan_tf")
class ConvEncoder(keras.Model):
    """Images ``[B, R, R, C]`` -> vectors ``[B, output_dim]``.

    ``architecture="table5"``: the generator of Table 5 inverted: Conv2D 1x1 ->
    [Conv2D 3x3, Conv2D 3x3 stride 2] per halving down to 4x4 -> flatten (16 F) ->
    Dense(output_dim). ``architecture="dcgan"``: one Conv2D 4x4 stride 2 per halving,
    doubling the width from F (F, 2F, 4F, 8F for 64 -> 4 px) -> flatten -> Dense, the
    DCGAN discriminator. ``architecture="infogan_cr"``: one Conv2D 4x4 stride 2 per halving,
    F for the first half of them and 2F for the rest (32, 32, 64, 64 for F = 32) -> flatten
    -> Dense(4 F) -> Dense, InfoGAN-CR's dSprites discriminator (``"infogan_cr_reference"``
    and ``"infogan_cr_upsample"``, whose generators differ, have the same D: InfoGAN-CR's D
    has these layers exactly). Leaky ReLU after every
    layer but the last. D is ``ConvEncoder(output_dim=1)``; an unguided siamese network is
    ``ConvEncoder(output_dim=number of unguided embedding dims)``.

    Args:
        output_dim: int.
        resolution: int. R of the input (a power of two >= 16; crops may be smaller,
            see ``downsamplings``). Defaults to 64.
        filters: int. F. Defaults to 32.
        spectral_norm: bool. Spectral normalisation (Miyato et al. 2018) on every Conv2D/Dense.
            Not in the paper; stabilises D on binary dSprites. Defaults to False.
        spectral_norm_form: str. ``"projected"`` (``keras.layers.SpectralNormalization``) or
            ``"reparametrised"`` (Miyato et al.'s, ``networks.spectral_norm.SpectralNormalized``).
            Defaults to ``"projected"``.
        normalization: str. ``"none"`` (the paper) or ``"batch"``: BatchNormalization
            before the activation of every hidden convolution but the first (as in
            DCGAN). Defaults to ``"none"``.
        downsamplings: int or None. Number of stride-2 stages; None derives it from
            ``resolution`` so the last feature map is 4x4.
        leaky_relu_slope: float. Defaults to 0.2.
        architecture: str. ``"table5"``, ``"dcgan"``, ``"infogan_cr"``, ``"infogan_cr_reference"``
            or ``"infogan_cr_upsample"``.
            Defaults to ``"table5"``.
        weight_init: str. ``"keras"`` or ``"normal_0.02"``, see ``Generator``. Defaults to ``"keras"``.
        minibatch_stddev: bool. A ``MinibatchStdDev`` feature map after the last convolution,
            so the output of an image depends on its batch (for D only). Not in the paper.
            Defaults to False.

    Example:
        >>> d = ConvEncoder(output_dim=1, resolution=16, filters=8)
        >>> d(keras.ops.zeros((2, 16, 16, 1))).shape
        TensorShape([2, 1])
    """

    def __init__(self, output_dim, resolution=64, filters=32, spectral_norm=False,
                 downsamplings=None, leaky_relu_slope=0.2, normalization="none",
                 architecture="table5", minibatch_stddev=False, weight_init="keras", spectral_norm_form="projected",
                 **kwargs):
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
        check_architecture(architecture)
        self.architecture = architecture
        self.minibatch_stddev = bool(minibatch_stddev)
        check_weight_init(weight_init)
        self.weight_init = weight_init
        check_spectral_norm_form(spectral_norm_form)
        self.spectral_norm_form = spectral_norm_form
        infogan_cr_layout = architecture in ("infogan_cr", "infogan_cr_reference", "infogan_cr_upsample")

        def weighted(layer):
            return spectrally_normalized(layer, spectral_norm_form) if spectral_norm else layer

        def conv(width, kernel, strides, normalized=True):
            return [weighted(keras.layers.Conv2D(width, kernel, strides=strides, padding="same",
                                                 kernel_initializer=kernel_init(weight_init, "conv"))),
                    *(normalization_layers(normalization) if normalized else []),
                    keras.layers.LeakyReLU(leaky_relu_slope)]

        if architecture == "table5":
            layers = conv(filters, 1, 1, normalized=False)
            for _ in range(downsamplings):
                layers += conv(filters, 3, 1) + conv(filters, 3, 2)
        else:
            widths = (dcgan_widths(filters, downsamplings)[::-1] if architecture == "dcgan"
                      else infogan_cr_widths(filters, downsamplings))
            layers = [layer for k, width in enumerate(widths) for layer in conv(width, 4, 2, normalized=k > 0)]
        if self.minibatch_stddev:
            layers.append(MinibatchStdDev(name="minibatch_stddev"))
        layers.append(keras.layers.Flatten())
        if infogan_cr_layout:
            layers += [weighted(keras.layers.Dense(4 * filters, kernel_initializer=kernel_init(weight_init))),
                       keras.layers.LeakyReLU(leaky_relu_slope)]
        layers.append(weighted(keras.layers.Dense(output_dim, dtype="float32",
                                                  kernel_initializer=kernel_init(weight_init))))
        self.body = keras.Sequential(layers, name="body")

    def call(self, images, training=False):
        return self.body(images, training=training)

    def features_and_output(self, images, training=False):
        """The last hidden layer's activations ``[B, H]`` and the output ``[B, output_dim]`` of
        images ``[B, R, R, C]``, in one pass (a further head, e.g. InfoGAN's Q, reads the first)."""
        features = images
        for layer in self.body.layers[:-1]:
            features = layer(features, training=training)
        return features, self.body.layers[-1](features, training=training)

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim, "resolution": self.resolution,
                "filters": self.filters, "spectral_norm": self.spectral_norm,
                "downsamplings": self.downsamplings, "leaky_relu_slope": self.leaky_relu_slope,
                "normalization": self.normalization, "architecture": self.architecture,
                "minibatch_stddev": self.minibatch_stddev, "weight_init": self.weight_init,
                "spectral_norm_form": self.spectral_norm_form}
