"""Spectral normalisation as Miyato et al. (2018) define it: the layer computes with W / sigma(W)."""

import keras
from keras import ops

#: How a layer is spectrally normalised (``stabilisers.spectral_norm_form``).
SPECTRAL_NORM_FORMS = ("projected", "reparametrised")


def check_spectral_norm_form(form):
    if form not in SPECTRAL_NORM_FORMS:
        raise ValueError(f"spectral_norm_form must be one of {SPECTRAL_NORM_FORMS}. Received: {form!r}")


def spectrally_normalized(layer, form):
    """``layer`` (a Dense or Conv2D without activation) spectrally normalised in ``form``:

    - ``"projected"``: ``keras.layers.SpectralNormalization``, which at every training call
      overwrites the kernel with W / sigma(W); the gradient then moves the normalised kernel
      and does not flow through sigma (what this package did before the form was a choice).
    - ``"reparametrised"``: ``SpectralNormalized``, Miyato et al.'s W_SN = W / sigma(W) with the
      gradient through sigma (as their code and InfoGAN-CR's ``spectral_normed_weight`` do).
    """
    check_spectral_norm_form(form)
    if form == "projected":
        return keras.layers.SpectralNormalization(layer)
    return SpectralNormalized(layer)


@keras.saving.register_keras_serializable("udgan_tf")
class SpectralNormalized(keras.layers.Wrapper):
    """A Dense or Conv2D layer (no activation) that computes with W_SN = W / sigma(W) (Miyato et al.
    2018, eq. 8). sigma(W) is the largest singular value of W reshaped to ``[-1, out]``, estimated
    by one power iteration per training call from a kept vector u (``[1, out]``); u and v carry no
    gradient, W does, through sigma too. The kernel variable holds the unnormalised W.

    Example:
        >>> layer = SpectralNormalized(keras.layers.Dense(3))
        >>> layer(keras.ops.ones((2, 4)), training=True).shape
        (2, 3)
    """

    def build(self, input_shape):
        if not isinstance(self.layer, (keras.layers.Dense, keras.layers.Conv2D)):
            raise ValueError(f"SpectralNormalized wraps a Dense or Conv2D layer. Received: {self.layer!r}")
        if self.layer.activation not in (None, keras.activations.linear):
            raise ValueError("SpectralNormalized wraps a layer without activation (put the activation after it).")
        super().build(input_shape)
        units = self.layer.kernel.shape[-1]
        self.vector_u = self.add_weight(shape=(1, units), initializer=keras.initializers.RandomNormal(),
                                        trainable=False, name="vector_u")

    def normalized_kernel(self, training=False):
        """W / sigma(W), the kernel's shape; in training, u moves one power-iteration step first."""
        kernel = self.layer.kernel
        weights = ops.reshape(kernel, (-1, kernel.shape[-1]))
        u = self.vector_u.value
        v = _normalize(ops.matmul(u, ops.transpose(weights)))       # [1, in]
        if training:                                                 # Miyato et al., Algorithm 1
            u = _normalize(ops.matmul(v, weights))                   # [1, out]
            self.vector_u.assign(u)
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        sigma = ops.sum(ops.matmul(v, weights) * u)
        return kernel / sigma

    def call(self, inputs, training=False):
        kernel = ops.cast(self.normalized_kernel(training), inputs.dtype)
        layer = self.layer
        if isinstance(layer, keras.layers.Dense):
            outputs = ops.matmul(inputs, kernel)
        else:
            outputs = ops.conv(inputs, kernel, strides=layer.strides, padding=layer.padding,
                               data_format=layer.data_format, dilation_rate=layer.dilation_rate)
        if layer.use_bias:
            outputs = outputs + ops.cast(layer.bias, inputs.dtype)
        return outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)


def _normalize(vector, epsilon=1e-12):
    return vector / ops.sqrt(ops.maximum(ops.sum(vector * vector), epsilon))
