"""A siamese network phi_i, optionally behind a guidance function (§3.2-3.3)."""

import math

import keras
import tensorflow as tf

from udgan_tf import guidance as guidance_lib
from udgan_tf.networks.conv_encoder import ConvEncoder


@keras.saving.register_keras_serializable("udgan_tf")
class RealProxyStandardization(keras.layers.Layer):
    """Standardises a guidance proxy by its statistics on REAL images. ``[B, D] -> [B, D]``.

    ``z = (p - mean_real) / std_real``, then ``limit * tanh(z / limit)``: linear over the
    range real images span, saturating for far-off values. The proxies live on very
    different scales (centre of mass spans ~0.5 on dSprites, the object size S of
    equation 8 only ~0.015), and Adam moves weights by about the learning rate per step,
    so an MLP fed a raw S would need many thousands of steps to scale its input up to
    the contrastive margin. Batch statistics of generated images would not do either:
    generators draw specks and second blobs whose S lies tens of real standard
    deviations off, and they would set the scale. The mean and variance are running
    averages over the real batches that ``UDGAN.train_step`` passes to ``update``; the
    first update sets them. Before any update it is ``limit * tanh(p / limit)``.

    Args:
        momentum: float. Weight of the old statistics in the running average. Defaults to 0.99.
        limit: float. Where the tanh saturates, in real standard deviations. Defaults to 5.
        epsilon: float. Added to the variance. Defaults to 1e-8.
    """

    def __init__(self, momentum=0.99, limit=5.0, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.limit = limit
        self.epsilon = epsilon

    def build(self, input_shape):
        dim = input_shape[-1]
        common = dict(trainable=False, aggregation="mean", autocast=False)
        self.mean = self.add_weight(shape=(dim,), initializer="zeros", name="mean", **common)
        self.variance = self.add_weight(shape=(dim,), initializer="ones", name="variance", **common)
        self.num_updates = self.add_weight(shape=(), initializer="zeros", name="num_updates", **common)

    def update(self, real_proxies):
        """Folds the proxies of a batch of real images ``[B, D]`` into the running statistics.

        Under tf.distribute the moments are those of the global batch (all-reduced), so
        every replica folds in the same statistics a single device would.
        """
        if not self.built:
            self.build(real_proxies.shape)
        proxies = tf.cast(real_proxies, "float32")
        moments = tf.stack([tf.reduce_mean(proxies, 0), tf.reduce_mean(tf.square(proxies), 0)])  # [2, D]
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            moments = context.all_reduce("MEAN", moments)
        mean, variance = moments[0], tf.maximum(moments[1] - tf.square(moments[0]), 0.0)
        rate = tf.where(self.num_updates > 0, 1.0 - self.momentum, 1.0)
        self.mean.assign(self.mean + rate * (mean - self.mean))
        self.variance.assign(self.variance + rate * (variance - self.variance))
        self.num_updates.assign_add(1.0)

    def call(self, proxies):
        z = (proxies - self.mean) * tf.math.rsqrt(self.variance + self.epsilon)
        return self.limit * tf.tanh(z / self.limit)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "limit": self.limit, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable("udgan_tf")
class SiameseNetwork(keras.Model):
    """phi_i(g(x)): images ``[B, R, R, C]`` -> embeddings ``[B, output_dim]``.

    Without guidance (UD-GAN) the body is the discriminator architecture (Appendix A).
    With guidance (UD-GAN-G) the guidance function g restricts the input: when g returns
    images (a crop, an edge map) the body is the same convolutional encoder sized to
    g's output; when g returns vectors (centre of mass, size, average colour; Appendix
    B, D) the body is a small MLP, since the paper feeds e.g. phi_X(M_x) a scalar; the MLP
    first standardises the proxy by its statistics on real images
    (``RealProxyStandardization``; ``UDGAN.train_step`` keeps them up to date).

    Args:
        output_dim: int. Embedding dimensions.
        resolution: int. R of the generated images.
        channels: int. C of the generated images.
        guidance: None, str or dict. A spec for ``udgan_tf.guidance.build``.
        filters: int. Width of the convolutional body. Defaults to 32.
        hidden_units: int. Width of the MLP body's two hidden layers. 0: no MLP, the
            embedding is the standardised proxy itself (phi_i fixed and linear, so the
            contrastive margin asks the generator for a proxy change proportional to the
            knob change, in real standard deviations). Defaults to 64.
        spectral_norm: bool. Spectral normalisation on every layer of the body, which
            bounds how far phi_i can stretch a small change of its input: the generator
            must then make visible changes to meet the contrastive margin. Defaults to False.
        leaky_relu_slope: float. Defaults to 0.2.
        architecture: str. Layout of the convolutional body, ``"table5"`` or ``"dcgan"``
            (see ``ConvEncoder``). Defaults to ``"table5"``.
    """

    def __init__(self, output_dim, resolution, channels, guidance=None, filters=32,
                 hidden_units=64, spectral_norm=False, leaky_relu_slope=0.2, architecture="table5", **kwargs):
        super().__init__(**kwargs)
        self.output_dim = output_dim
        self.resolution = resolution
        self.channels = channels
        self.guidance = guidance
        self.filters = filters
        self.hidden_units = hidden_units
        self.spectral_norm = spectral_norm
        self.leaky_relu_slope = leaky_relu_slope
        self.architecture = architecture
        self.guidance_fn = None if guidance is None else guidance_lib.build(guidance)
        self.standardization = None  # set for vector proxies

        probe = self.guide(tf.zeros((1, resolution, resolution, channels)))
        if probe.shape.rank == 4:
            smallest_side = min(probe.shape[1], probe.shape[2])
            self.body = ConvEncoder(
                output_dim, resolution=resolution, filters=filters, spectral_norm=spectral_norm,
                downsamplings=max(0, int(math.log2(smallest_side / 4))),
                leaky_relu_slope=leaky_relu_slope, architecture=architecture, name="body")
        elif probe.shape.rank == 2:
            def dense(units, **kw):
                layer = keras.layers.Dense(units, **kw)
                return keras.layers.SpectralNormalization(layer) if spectral_norm else layer

            self.standardization = RealProxyStandardization(name="standardization")
            if hidden_units == 0 and probe.shape[-1] != output_dim:
                raise ValueError(f"With hidden_units=0 the embedding is the standardised proxy itself, so "
                                 f"output_dim must equal the proxy's {probe.shape[-1]} dimensions. "
                                 f"Received: output_dim={output_dim} for guidance {guidance!r}")
            mlp = [] if hidden_units == 0 else [
                dense(hidden_units), keras.layers.LeakyReLU(leaky_relu_slope),
                dense(hidden_units), keras.layers.LeakyReLU(leaky_relu_slope),
                dense(output_dim, dtype="float32"),
            ]
            self.body = keras.Sequential([self.standardization, *mlp], name="body")
        else:
            raise ValueError(
                f"Guidance {guidance!r} must return images [B, h, w, c] or vectors [B, D]. "
                f"Received shape {probe.shape}."
            )
        self.body(probe)
        self.built = True  # else fit under tf.distribute re-traces the model with images

    def guide(self, images):
        """g(x): the guidance function's features, or the images themselves when unguided."""
        return images if self.guidance_fn is None else self.guidance_fn(images)

    def call(self, images, training=False):
        return self.body(self.guide(images), training=training)

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim, "resolution": self.resolution,
                "channels": self.channels, "guidance": self.guidance, "filters": self.filters,
                "hidden_units": self.hidden_units, "spectral_norm": self.spectral_norm,
                "leaky_relu_slope": self.leaky_relu_slope, "architecture": self.architecture}
