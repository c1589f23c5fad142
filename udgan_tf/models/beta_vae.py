"""The beta-VAE baseline (Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts with a
Constrained Variational Framework"), with disentanglement_lib's networks and losses (Locatello et
al. 2019, "Challenging Common Assumptions in the Unsupervised Learning of Disentangled
Representations": ``methods/shared/architectures.py``, ``losses.py``, ``unsupervised/vae.py``).

``BetaVAE`` presents the interface of ``UDGAN`` (knobs, ``inference_generator``, ``embed``,
``sample_knobs``, ``compile``/``train_step``, ``get_config``), so training, evaluation and
export use it unchanged. The knobs are the VAE's latent dimensions, reached from [-1, 1]
through the inverse normal CDF (``knobs_to_latents``); the representation that the metrics
score is the posterior mean, as in disentanglement_lib.
"""

import keras
import tensorflow as tf

from udgan_tf.models.distribution import apply_updates, replica_position, step_logs
from udgan_tf.knobs import KnobLayout, parse_knobs
from udgan_tf.networks.generator import check_resolution, infogan_cr_widths
from udgan_tf.models.sampler_states import KNOB_SAMPLER_KEY, SavesSamplerStates

LIKELIHOODS = ("bernoulli", "gaussian")
#: Knob values are clipped to [-KNOB_LIMIT, KNOB_LIMIT] before the inverse normal CDF, so the
#: ends of a traversal are Phi^{-1}(0.995) = +-2.58 prior standard deviations, not infinite.
KNOB_LIMIT = 0.99
#: Where the reparameterisation noise's seed state is kept among the model's own variables.
POSTERIOR_NOISE_KEY = "posterior_noise_state"


# ---------------------------------------------------------------------- knob values <-> latents
def knobs_to_latents(knobs):
    """z = Phi^{-1}((u + 1) / 2) after clipping u to [-0.99, 0.99]. ``[B, Z] -> [B, Z]``.

    u ~ Unif(-1, 1) gives z ~ N(0, 1), the VAE prior, except that the 1 % of draws beyond
    +-0.99 are pinned at +-2.58.
    """
    knobs = tf.clip_by_value(tf.cast(knobs, tf.float32), -KNOB_LIMIT, KNOB_LIMIT)
    return tf.math.ndtri((knobs + 1.0) / 2.0)


def latents_to_knobs(latents):
    """u = 2 Phi(z) - 1 = erf(z / sqrt(2)), the inverse of ``knobs_to_latents`` on [-0.99, 0.99].
    ``[B, Z] -> [B, Z]`` in (-1, 1)."""
    return tf.math.erf(tf.cast(latents, tf.float32) / tf.sqrt(2.0))


# ---------------------------------------------------------------------- losses (pure functions)
def reconstruction_loss(images, logits, likelihood="bernoulli"):
    """-log p(x | z) up to a constant, summed over pixels. ``[B, R, R, C], [B, R, R, C] -> [B]``.

    ``"bernoulli"``: sum of sigmoid cross-entropies of the logits (binary images, e.g. dSprites);
    disentanglement_lib's ``bernoulli_loss`` also subtracts the targets' entropy, a constant of
    the data that changes no gradient (and is ~0 for binary images). ``"gaussian"``: sum of
    squared errors of sigmoid(logits) (colour images), disentanglement_lib's ``l2_loss``.
    """
    images = tf.cast(images, tf.float32)
    logits = tf.cast(logits, tf.float32)
    if likelihood == "bernoulli":
        per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=logits)
    elif likelihood == "gaussian":
        per_pixel = tf.square(images - tf.sigmoid(logits))
    else:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}. Received: likelihood={likelihood!r}")
    return tf.reduce_sum(per_pixel, axis=[1, 2, 3])


def gaussian_kl(mean, logvar):
    """KL(N(mean, diag(exp(logvar))) || N(0, I)) = 1/2 sum_j (mean_j^2 + exp(logvar_j) - logvar_j - 1)
    (Kingma & Welling 2014, appendix B). ``[B, Z], [B, Z] -> [B]``."""
    return 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(logvar) - logvar - 1.0, axis=-1)


def beta_vae_loss(images, logits, mean, logvar, beta, likelihood="bernoulli"):
    """The beta-VAE objective (Higgins et al. 2017, eq. 4), negated:
    E_q[-log p(x | z)] + beta KL(q(z | x) || N(0, I)), per-example sums, mean over the batch.

    Args:
        images: float ``[B, R, R, C]`` in [0, 1].
        logits: float ``[B, R, R, C]``, the decoder's output for z ~ q(z | x).
        mean, logvar: float ``[B, Z]``, the posterior q(z | x) = N(mean, diag(exp(logvar))).
        beta: float >= 0.
        likelihood: ``"bernoulli"`` or ``"gaussian"``, see ``reconstruction_loss``.

    Returns:
        dict of scalars ``loss``, ``reconstruction_loss``, ``kl_loss``.

    Example:
        >>> zeros = tf.zeros([2, 3])   # the prior itself: KL 0
        >>> result = beta_vae_loss(tf.ones([2, 4, 4, 1]), tf.zeros([2, 4, 4, 1]), zeros, zeros, beta=4.0)
        >>> round(float(result["loss"]), 4)   # 16 pixels of -log sigmoid(0) = log 2
        11.0904
    """
    reconstruction = tf.reduce_mean(reconstruction_loss(images, logits, likelihood))
    kl = tf.reduce_mean(gaussian_kl(tf.cast(mean, tf.float32), tf.cast(logvar, tf.float32)))
    return {"loss": reconstruction + beta * kl, "reconstruction_loss": reconstruction, "kl_loss": kl}


# ---------------------------------------------------------------------- networks
def conv_encoder(latent_dim, resolution=64, channels=1, filters=32):
    """disentanglement_lib's ``conv_encoder``: images ``[B, R, R, C]`` -> concat[mean, logvar] ``[B, 2Z]``.

    Conv2D 4x4 stride 2 ReLU per halving down to 4x4, F wide for the first half of them and 2F
    for the rest -> flatten -> Dense(8F) ReLU -> Dense(2Z). For R = 64, F = 32 that is Table 1 of
    Locatello et al. 2019's appendix: 32, 32, 64, 64 channels, 256 units, and the means and log
    variances (one Dense(2Z) is the two Dense(Z) heads side by side).
    """
    widths = infogan_cr_widths(filters, check_resolution(resolution))   # [F, F, 2F, 2F] for 4 halvings
    return keras.Sequential([
        keras.Input((resolution, resolution, channels)),
        *[keras.layers.Conv2D(width, 4, strides=2, padding="same", activation="relu") for width in widths],
        keras.layers.Flatten(),
        keras.layers.Dense(8 * filters, activation="relu"),
        keras.layers.Dense(2 * latent_dim, dtype="float32"),
    ], name="encoder")


def deconv_decoder(latent_dim, resolution=64, channels=1, filters=32):
    """disentanglement_lib's ``deconv_decoder``: latents ``[B, Z]`` -> logits ``[B, R, R, C]``.

    Dense(8F) ReLU -> Dense(16 * 2F) ReLU -> reshape 4x4x2F -> Conv2DTranspose 4x4 stride 2 ReLU
    per doubling with the encoder's widths reversed, the last one straight to C channels. For
    R = 64, F = 32: 256, 1024 units, then 64, 32, 32, C channels at 8, 16, 32, 64 px.
    """
    widths = infogan_cr_widths(filters, check_resolution(resolution))[::-1]   # [2F, 2F, F, F]
    return keras.Sequential([
        keras.Input((latent_dim,)),
        keras.layers.Dense(8 * filters, activation="relu"),
        keras.layers.Dense(16 * widths[0], activation="relu"),
        keras.layers.Reshape((4, 4, widths[0])),
        *[keras.layers.Conv2DTranspose(width, 4, strides=2, padding="same", activation="relu")
          for width in widths[1:]],
        keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", dtype="float32"),
    ], name="decoder")


class KnobDecoder(keras.Model):
    """The decoder seen from the knobs: knobs ``[B, Z]`` in [-1, 1] -> images ``[B, R, R, C]`` in
    [0, 1], sigmoid(decoder(knobs_to_latents(knobs))). Shares the decoder's weights."""

    def __init__(self, decoder, **kwargs):
        super().__init__(**kwargs)
        self.decoder = decoder

    def call(self, knobs, training=False):
        return keras.ops.sigmoid(self.decoder(knobs_to_latents(knobs), training=training))


# ---------------------------------------------------------------------- the model
@keras.saving.register_keras_serializable("udgan_tf")
class BetaVAE(SavesSamplerStates, keras.Model):
    """beta-VAE (Higgins et al. 2017) with disentanglement_lib's networks, as a baseline to UD-GAN.

    The encoder gives the posterior q(z | x) = N(mean, diag(exp(logvar))); each training step
    draws z = mean + exp(logvar / 2) * eps, eps ~ N(0, I) (the reparameterisation trick) and
    minimises reconstruction + beta * KL(q(z | x) || N(0, I)) (``beta_vae_loss``) with one Adam
    update of encoder and decoder.

    Knobs. The package keeps knob values in [-1, 1] (uniform draws, traversals from -1 to 1,
    serving inputs), a VAE's prior is N(0, I). The knob vector u maps to the latent
    z = Phi^{-1}((u + 1) / 2) (``knobs_to_latents``; Phi the standard normal CDF), after clipping
    u to [-0.99, 0.99]: uniform knob draws are then prior draws N(0, I) (but for the 1 % beyond
    +-0.99, pinned at +-2.58), and a traversal from -1 to 1 sweeps +-2.58 prior standard
    deviations. ``embed`` gives the posterior mean in latent units (not mapped back to [-1, 1];
    ``latents_to_knobs`` does that), the representation disentanglement_lib scores a VAE by.
    Every knob is one or more latent dimensions; none has a guidance function.

    The batch given to ``fit`` holds real images ``[B, R, R, C]`` in [0, 1].

    Args:
        knobs: list of knob specs (see ``udgan_tf.knobs``), all unguided, with
            ``embedding_dim == width``. Z = their total width.
        resolution: int. Image side R, a power of two >= 16. Defaults to 64.
        channels: int. Image channels C. Defaults to 1.
        filters: int. Convolution width F (32: disentanglement_lib's networks). Defaults to 32.
        beta: float >= 0. Weight of the KL term (1: the VAE). Defaults to 4.0.
        likelihood: str. ``"bernoulli"`` (binary images) or ``"gaussian"`` (colour images), see
            ``reconstruction_loss``. Defaults to ``"bernoulli"``.
        seed: int or None. Seed of the knob sampler and of the reparameterisation noise.

    Example:
        >>> model = BetaVAE(knobs=[{"name": "free", "count": 3}], resolution=16, filters=8, seed=0)
        >>> model.compile()
        >>> images = tf.random.uniform((8, 16, 16, 1))
        >>> history = model.fit(tf.data.Dataset.from_tensors(images).repeat(), steps_per_epoch=1, verbose=0)
        >>> model(model.sample_knobs(2)).shape, model.embed(images).shape
        (TensorShape([2, 16, 16, 1]), TensorShape([8, 3]))
    """

    METHOD = "beta_vae"
    #: The config's optimizer sections this method uses; ``compile`` takes ``<name>_optimizer``.
    OPTIMIZERS = ("autoencoder",)

    def __init__(self, knobs, resolution=64, channels=1, filters=32, beta=4.0, likelihood="bernoulli",
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.layout = KnobLayout(parse_knobs(knobs))
        for knob in self.layout.knobs:
            if knob.guided:
                raise ValueError(f"knob {knob.name!r} has guidance {knob.guidance!r}: guidance does not apply "
                                 f"to method {self.METHOD!r} (only udgan uses guidance functions).")
            if knob.embedding_dim != knob.width:
                raise ValueError(f"knob {knob.name!r} has embedding_dim {knob.embedding_dim} != width "
                                 f"{knob.width}: method {self.METHOD!r} embeds an image as the posterior mean, "
                                 f"one column per latent dimension.")
        if beta < 0:
            raise ValueError(f"beta must be >= 0. Received: beta={beta!r}")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}. Received: likelihood={likelihood!r}")
        self.knobs = self.layout.knobs
        self.resolution = resolution
        self.channels = channels
        self.filters = filters
        self.beta = float(beta)
        self.likelihood = likelihood
        self.seed = seed
        latent_dim = self.layout.latent_dim

        self.encoder = conv_encoder(latent_dim, resolution, channels, filters)
        self.decoder = deconv_decoder(latent_dim, resolution, channels, filters)
        # float32: the knob map runs in float32 under mixed precision too (the decoder does not).
        self.generator = KnobDecoder(self.decoder, name="generator", dtype="float32")
        self.generator(tf.zeros((1, latent_dim)))
        self.seed_generator = keras.random.SeedGenerator(seed, name="knob_sampler")
        # Its own stream (seed + 1), so that training does not shift the knob draws and vice versa.
        self.noise_generator = keras.random.SeedGenerator(None if seed is None else seed + 1,
                                                          name="posterior_noise")
        self.built = True

        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    # ------------------------------------------------------------------ inference
    @property
    def inference_generator(self):
        """knobs ``[B, Z]`` in [-1, 1] -> images ``[B, R, R, C]`` in [0, 1] (``KnobDecoder``)."""
        return self.generator

    @property
    def representation_networks(self):
        """The networks ``embed`` runs: the encoder."""
        return [self.encoder]

    def call(self, knobs, training=False):
        """The decoded images of knobs ``[B, Z]`` -> ``[B, R, R, C]`` in [0, 1]."""
        return self.inference_generator(knobs, training=training)

    def posterior(self, images, training=False):
        """q(z | x): ``(mean, logvar)``, float32 ``[B, Z]`` each, of images ``[B, R, R, C]``."""
        mean, logvar = tf.split(tf.cast(self.encoder(images, training=training), tf.float32), 2, axis=-1)
        return mean, logvar

    def embed(self, images, training=False):
        """The posterior mean E[z | x], float32 ``[B, R, R, C] -> [B, Z]`` (Z = ``layout.embedding_dim``)."""
        return self.posterior(images, training=training)[0]

    def sample_knobs(self, num, seed=None):
        """u ~ Unif(-1, 1)^Z (prior draws once mapped to latents). Returns float32 ``[num, Z]``."""
        return keras.random.uniform((num, self.layout.latent_dim), -1.0, 1.0,
                                    seed=self.seed_generator if seed is None else seed)

    # ------------------------------------------------------------------ training
    def compile(self, autoencoder_optimizer=None, **kwargs):
        """Sets the optimizer of encoder and decoder: disentanglement_lib's Adam (lr 1e-4,
        beta_1 0.9, beta_2 0.999, epsilon 1e-8) by default.

        Built here, before ``fit``, so its variables exist up front and a restored checkpoint
        restores them. ``model.optimizer`` is this optimizer, so ``model.optimizer.iterations``
        counts training steps.
        """
        self.autoencoder_optimizer = autoencoder_optimizer or keras.optimizers.Adam(
            learning_rate=1e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
        super().compile(optimizer=self.autoencoder_optimizer, **kwargs)
        self.autoencoder_optimizer.build(self.trainable_variables)

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def posterior_noise(self, batch_size):
        """eps ~ N(0, I), float32 ``[batch_size, Z]``. Under tf.distribute every replica draws the
        noise of the global batch from the same seed state and keeps its own slice, as UDGAN's
        quartets, so R replicas train on what one device would with the global batch."""
        replicas, replica = replica_position()
        noise = keras.random.normal((batch_size * replicas, self.layout.latent_dim), seed=self.noise_generator)
        if replicas > 1:
            noise = noise[replica * batch_size:(replica + 1) * batch_size]
        return noise

    def train_step(self, data):
        images = data[0] if isinstance(data, (tuple, list)) else data
        images = tf.cast(images, tf.float32)
        optimizer = self.autoencoder_optimizer
        with tf.GradientTape() as tape:
            mean, logvar = self.posterior(tf.cast(images, self.compute_dtype), training=True)
            latents = mean + tf.exp(0.5 * logvar) * self.posterior_noise(tf.shape(images)[0])
            logits = self.decoder(latents, training=True)
            result = beta_vae_loss(images, logits, mean, logvar, self.beta, self.likelihood)
            updates = [(optimizer.scale_loss(result["loss"]), optimizer, self.trainable_variables)]
        apply_updates(tape, updates)
        for tracker in self.metrics:
            tracker.update_state(result[tracker.name])
        return step_logs(self.metrics)

    # ------------------------------------------------------------------ saving
    def samplers(self):
        """The knob sampler and the posterior noise: both continue their draws after a resume."""
        return {KNOB_SAMPLER_KEY: self.seed_generator, POSTERIOR_NOISE_KEY: self.noise_generator}

    def get_config(self):
        return {
            **super().get_config(),
            "knobs": [knob.to_config() for knob in self.knobs],
            "resolution": self.resolution, "channels": self.channels, "filters": self.filters,
            "beta": self.beta, "likelihood": self.likelihood, "seed": self.seed,
        }
