"""UDGAN: the GAN, its siamese networks and the training step of equations 1-3."""

import keras
import numpy as np
import tensorflow as tf

from udgan_tf import losses
from udgan_tf.knobs import KnobLayout, adaptive_margin, build_quartet, parse_knobs
from udgan_tf.networks import ConvEncoder, Generator, SiameseNetwork

KNOB_SAMPLING = ("per_quartet", "per_step")


@keras.saving.register_keras_serializable("udgan_tf")
class UDGAN(keras.Model):
    """UD-GAN (unguided knobs) and UD-GAN-G (guided knobs) in one model.

    Owns the generator G, the discriminator D and the siamese networks phi_i. Each
    training step draws a knob i ~ Cat(N_A) (per quartet or per step), builds the
    quartets x11, x12, x21, x22 of Figure 1 and minimises equation 3: the GAN loss
    (equation 1, non-saturating generator loss) plus ``contrastive_weight`` times the
    contrastive loss of equation 2 with the adaptive margin ||q_i^(1) - q_i^(2)||.

    All unguided knobs share one siamese network whose output holds one slice per knob
    (§4.1, footnote 1); each guided knob has its own network behind its guidance.

    The batch given to ``fit`` holds real images ``[B, R, R, C]`` in [0, 1]; G makes
    ``B // real_images_per_quartet`` quartets per step (4 images each). D, G and the siamese
    networks are updated simultaneously from one forward pass, or D first and then G
    and the siamese networks against the updated D (``alternating_updates``).

    Args:
        knobs: list of knob specs (see ``udgan_tf.knobs``).
        resolution: int. Image side R, a power of two >= 16. Defaults to 64.
        channels: int. Image channels C. Defaults to 1.
        filters: int. Convolution width F of Table 5 (32: 2D Shapes, 128: CelebA).
            Defaults to 32.
        architecture: str. Layout of G, D and the convolutional siamese networks:
            ``"table5"`` (the paper) or ``"dcgan"`` (4x4 kernels, one convolution per
            resolution, widest at the lowest resolution; not in the paper; see
            ``Generator``). Defaults to ``"table5"``.
        contrastive_weight: float. lambda_phi of equation 3 (5: 2D Shapes, 1: CelebA).
            Defaults to 5.0.
        knob_sampling: str. ``"per_quartet"`` draws i for every quartet (same objective
            as the paper in expectation, less variance) or ``"per_step"`` draws one i per
            step (the paper's literal procedure). Defaults to ``"per_quartet"``.
        gan_loss: str. ``"non_saturating"`` (the paper) or ``"hinge"``. Defaults to
            ``"non_saturating"``.
        spectral_norm: bool. Spectral normalisation on every D layer. Defaults to False.
        r1_weight: float. gamma of the R1 penalty gamma/2 E||grad D(x)||^2 on real images;
            0 disables it. Defaults to 0.
        output_activation: str. ``"sigmoid"``, ``"tanh"`` (rescaled to [0, 1]), ``"binary"``
            or ``"clip"`` (exact 0/1 with straight-through gradients; see ``Generator``).
        siamese_hidden_units: int. Width of the MLP behind vector guidance; 0 makes the
            standardised proxy itself the embedding (see ``SiameseNetwork``). Defaults to 64.
        leaky_relu_slope: float. Defaults to 0.2.
        generator_normalization: str. ``"none"`` (the paper), ``"batch"`` or ``"pixel"``
            normalisation before every hidden generator activation. Defaults to ``"none"``.
        instance_noise: float. Standard deviation of Gaussian noise added to every image
            D sees, real and generated (Sonderby et al. 2017), so that D cannot separate
            exactly binary real images from soft generated ones by their pixel values
            alone. Defaults to 0 (off, the paper).
        discriminator_blur: float. Standard deviation in pixels of a Gaussian blur applied
            to every image D sees, real and generated, at step 0; it fades linearly to 0 at
            ``discriminator_blur_steps`` (as StyleGAN3 does early in training). A blurred
            sprite gives G a gradient over a wide area and hides the binary/soft
            difference. Defaults to 0 (off, the paper).
        discriminator_blur_steps: int. Steps over which the blur fades out.
        alternating_updates: bool. Update D first, then G and the siamese networks
            against the updated D (a second generator pass), instead of one simultaneous
            update from a single forward pass. Defaults to False.
        discriminator_normalization: str. ``"none"`` (the paper) or ``"batch"``
            (BatchNormalization in D as in DCGAN; D then sees real and generated images in
            separate batches). Defaults to ``"none"``.
        siamese_spectral_norm: bool. Spectral normalisation in every siamese network. An
            unconstrained phi_i can amplify imperceptible changes of the image (or of a
            guidance proxy) until the contrastive margin is met, so the knobs "work" without
            changing what one sees; a Lipschitz-bounded phi_i cannot. Defaults to False
            (the paper).
        real_images_per_quartet: int >= 1. Real images per quartet in a training batch,
            e.g. 1 (B quartets: D sees 4x more generated than real images per step) or 4
            (B / 4 quartets: D sees as many real as generated images, as in a plain GAN;
            the paper does not say). Defaults to 1.
        generator_ema_decay: float in [0, 1). When > 0, the model keeps an exponential
            moving average of G's weights, ``G_ema <- d_t * G_ema + (1 - d_t) * G`` after
            step t with ``d_t = min(decay, (1 + t) / (10 + t))`` (the warm-up of
            ``tf.train.ExponentialMovingAverage``, so a short run is not dominated by the
            initial weights; Karras et al. 2018; not in the paper), and ``call`` (every
            inference use: traversals, benchmarks, export) draws with it. Averaging damps
            the step-to-step wobble of a GAN generator, which on dSprites shows as specks
            and broken sprites. Training always uses G itself. Defaults to 0 (off).
        seed: int or None. Seed of the knob sampler.

    Example:
        >>> model = UDGAN(knobs=[{"name": "free", "count": 2}, {"name": "x", "guidance": "center_of_mass_x"}],
        ...               resolution=16, filters=8)
        >>> model.compile()
        >>> images = tf.random.uniform((8, 16, 16, 1))
        >>> history = model.fit(tf.data.Dataset.from_tensors(images).repeat(), steps_per_epoch=1, verbose=0)
    """

    def __init__(self, knobs, resolution=64, channels=1, filters=32, architecture="table5", contrastive_weight=5.0,
                 knob_sampling="per_quartet", gan_loss="non_saturating", spectral_norm=False,
                 r1_weight=0.0, output_activation="sigmoid", siamese_hidden_units=64,
                 leaky_relu_slope=0.2, generator_normalization="none", instance_noise=0.0,
                 discriminator_blur=0.0, discriminator_blur_steps=0, alternating_updates=False,
                 discriminator_normalization="none", siamese_spectral_norm=False, real_images_per_quartet=1,
                 generator_ema_decay=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if knob_sampling not in KNOB_SAMPLING:
            raise ValueError(f"knob_sampling must be one of {KNOB_SAMPLING}. Received: {knob_sampling!r}")
        if gan_loss not in losses.GAN_LOSSES:
            raise ValueError(f"gan_loss must be one of {sorted(losses.GAN_LOSSES)}. Received: {gan_loss!r}")
        if contrastive_weight < 0 or r1_weight < 0:
            raise ValueError("contrastive_weight and r1_weight must be >= 0. "
                             f"Received: {contrastive_weight!r}, {r1_weight!r}")
        self.layout = KnobLayout(parse_knobs(knobs))
        self.knobs = self.layout.knobs
        self.resolution = resolution
        self.channels = channels
        self.filters = filters
        self.architecture = architecture
        self.contrastive_weight = float(contrastive_weight)
        self.knob_sampling = knob_sampling
        self.gan_loss = gan_loss
        self.spectral_norm = spectral_norm
        self.r1_weight = float(r1_weight)
        self.output_activation = output_activation
        self.siamese_hidden_units = siamese_hidden_units
        self.leaky_relu_slope = leaky_relu_slope
        self.generator_normalization = generator_normalization
        self.instance_noise = float(instance_noise)
        self.discriminator_blur = float(discriminator_blur)
        self.discriminator_blur_steps = int(discriminator_blur_steps)
        self.alternating_updates = bool(alternating_updates)
        self.discriminator_normalization = discriminator_normalization
        self.siamese_spectral_norm = bool(siamese_spectral_norm)
        if self.discriminator_blur > 0 and self.discriminator_blur_steps < 1:
            raise ValueError("discriminator_blur needs discriminator_blur_steps >= 1 to fade out. "
                             f"Received: discriminator_blur_steps={discriminator_blur_steps!r}")
        if not isinstance(real_images_per_quartet, int) or real_images_per_quartet < 1:
            raise ValueError("real_images_per_quartet must be a positive integer. "
                             f"Received: {real_images_per_quartet!r}")
        self.real_images_per_quartet = real_images_per_quartet
        if not 0.0 <= generator_ema_decay < 1.0:
            raise ValueError(f"generator_ema_decay must be in [0, 1). Received: {generator_ema_decay!r}")
        self.generator_ema_decay = float(generator_ema_decay)
        self.seed = seed
        self.generator_loss_fn, self.discriminator_loss_fn = losses.GAN_LOSSES[gan_loss]

        generator_args = (self.layout.latent_dim, resolution, channels, filters, output_activation,
                          leaky_relu_slope, generator_normalization, architecture)
        self.generator = Generator(*generator_args, name="generator")
        self.generator_ema = None
        if self.generator_ema_decay > 0:
            self.generator_ema = Generator(*generator_args, name="generator_ema")
            self.generator_ema.trainable = False
        self.discriminator = ConvEncoder(1, resolution, filters, spectral_norm=spectral_norm,
                                         leaky_relu_slope=leaky_relu_slope,
                                         normalization=discriminator_normalization, architecture=architecture,
                                         name="discriminator")
        self.siamese_networks, self._embedding_order = self._build_siamese_networks()
        self.seed_generator = keras.random.SeedGenerator(seed, name="knob_sampler")

        self.generator(tf.zeros((1, self.layout.latent_dim)))
        if self.generator_ema is not None:
            self.generator_ema(tf.zeros((1, self.layout.latent_dim)))
            self.generator_ema.set_weights(self.generator.get_weights())
        self.discriminator(tf.zeros((1, resolution, resolution, channels)))
        self.built = True

        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.contrastive_loss_tracker = keras.metrics.Mean(name="contrastive_loss")
        self.knob_loss_trackers = [keras.metrics.Mean(name=f"contrastive_{knob.name}") for knob in self.knobs]

    def _build_siamese_networks(self):
        """One shared network for the unguided knobs, one per guided knob.

        Returns the networks and the column permutation that puts their concatenated
        outputs in knob order (the layout of ``self.layout.embedding_slices``).
        """
        common = dict(resolution=self.resolution, channels=self.channels, filters=self.filters,
                      hidden_units=self.siamese_hidden_units, leaky_relu_slope=self.leaky_relu_slope,
                      spectral_norm=self.siamese_spectral_norm, architecture=self.architecture)
        unguided = [k for k in self.knobs if not k.guided]
        guided = [k for k in self.knobs if k.guided]
        networks = []
        if unguided:
            networks.append(SiameseNetwork(sum(k.embedding_dim for k in unguided), name="siamese_unguided", **common))
        for knob in guided:
            networks.append(SiameseNetwork(knob.embedding_dim, guidance=knob.guidance,
                                           name=f"siamese_{knob.name}", **common))
        # Column of each knob-ordered embedding dim in concat(networks' outputs).
        network_order = unguided + guided
        starts = np.cumsum([0] + [k.embedding_dim for k in network_order])
        start_of = {k.name: int(s) for k, s in zip(network_order, starts)}
        order = np.concatenate([np.arange(k.embedding_dim) + start_of[k.name] for k in self.knobs])
        return networks, tf.constant(order, dtype=tf.int32)

    # ------------------------------------------------------------------ inference
    @property
    def inference_generator(self):
        """The generator inference draws with: the weight average when kept, else G."""
        return self.generator if self.generator_ema is None else self.generator_ema

    def call(self, knobs, training=False):
        """G(z) (or G_ema(z), see ``generator_ema_decay``): knobs ``[B, Z]`` -> images ``[B, R, R, C]`` in [0, 1]."""
        return self.inference_generator(knobs, training=training)

    def embed(self, images, training=False):
        """phi(x), the concatenated siamese outputs in knob order (§4.2). ``[B, R, R, C] -> [B, E]``."""
        # float32: under mixed precision conv networks answer in float16/bfloat16, proxies in float32.
        outputs = tf.concat([tf.cast(net(images, training=training), tf.float32) for net in self.siamese_networks],
                            axis=-1)
        return tf.gather(outputs, self._embedding_order, axis=-1)

    def sample_knobs(self, num, seed=None):
        """z ~ Unif(-1, 1)^Z. Returns float32 ``[num, Z]``."""
        return keras.random.uniform((num, self.layout.latent_dim), -1.0, 1.0,
                                    seed=self.seed_generator if seed is None else seed)

    # ------------------------------------------------------------------ training
    def compile(self, generator_optimizer=None, discriminator_optimizer=None, siamese_optimizer=None, **kwargs):
        """Sets one optimizer per network (Adam, lr 2e-4, beta_1 0.5 by default, §4.1).

        The optimizers are built here, before ``fit``, so their variables exist up front
        and a restored checkpoint restores all three. ``model.optimizer`` is the
        generator's, so ``model.optimizer.iterations`` counts training steps.
        """
        self.generator_optimizer = generator_optimizer or _paper_adam()
        self.discriminator_optimizer = discriminator_optimizer or _paper_adam()
        self.siamese_optimizer = siamese_optimizer or _paper_adam()
        # model.optimizer is G's: its `iterations` is the step counter Keras callbacks read.
        super().compile(optimizer=self.generator_optimizer, **kwargs)
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)
        self.siamese_optimizer.build(self.siamese_variables)

    @property
    def siamese_variables(self):
        return [v for net in self.siamese_networks for v in net.trainable_variables]

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.contrastive_loss_tracker, *self.knob_loss_trackers]

    def sample_quartets(self, num_quartets):
        """Draws a batch of quartets (Figure 1).

        Returns:
            dict with ``latents`` ``[4B, Z]`` (blocks z11, z12, z21, z22 of B rows each),
            ``knob_index`` int32 ``[B]``, ``margin`` ``[B]`` (gamma_i) and
            ``embedding_mask`` ``[B, E]`` (1 on knob i's slice of phi(x)).
        """
        z = self.layout.latent_dim
        # Under tf.distribute every replica draws the quartets of the *global* batch from the
        # same seed state and keeps its own slice, so R replicas train on exactly what one
        # device would with the global batch, and a per-step knob is the same on all replicas.
        replicas, replica = _replica_position()
        u1, u2, v1, v2 = tf.unstack(
            keras.random.uniform((4, num_quartets * replicas, z), -1.0, 1.0, seed=self.seed_generator))
        draws = num_quartets * replicas if self.knob_sampling == "per_quartet" else 1
        knob_index = keras.random.randint((draws,), 0, len(self.knobs), seed=self.seed_generator)
        knob_index = tf.broadcast_to(tf.cast(knob_index, tf.int32), (num_quartets * replicas,))
        if replicas > 1:
            start = replica * num_quartets
            u1, u2, v1, v2, knob_index = (t[start:start + num_quartets] for t in (u1, u2, v1, v2, knob_index))
        latent_mask = tf.gather(self.layout.latent_masks, knob_index)
        return {
            "latents": tf.concat(build_quartet(u1, u2, v1, v2, latent_mask), axis=0),
            "knob_index": knob_index,
            "margin": adaptive_margin(u1, u2, latent_mask),
            "embedding_mask": tf.gather(self.layout.embedding_masks, knob_index),
        }

    def discriminator_view(self, images):
        """What D sees of real or generated images: blurred and noised when configured."""
        if self.discriminator_blur > 0:
            fade = tf.maximum(0.0, 1.0 - tf.cast(self.generator_optimizer.iterations, tf.float32)
                              / self.discriminator_blur_steps)
            images = gaussian_blur(images, self.discriminator_blur * fade, self.discriminator_blur)
        if self.instance_noise > 0:
            images = images + self.instance_noise * keras.random.normal(tf.shape(images), seed=self.seed_generator)
        return images

    def discriminator_loss(self, real_images, fake_images, training=True):
        """Equation 1 for D (plus the R1 penalty when configured). Returns
        ``(d_loss, fake_logits)``; ``fake_logits`` ``[N, 1]`` can be reused for G."""
        # Real and generated images go through D in separate batches (separate batch
        # statistics when D has batch normalisation).
        real_seen, fake_seen = self.discriminator_view(real_images), self.discriminator_view(fake_images)
        if self.r1_weight <= 0:
            real_logits = self.discriminator(real_seen, training=training)
        else:
            with tf.GradientTape(watch_accessed_variables=False) as r1_tape:
                r1_tape.watch(real_seen)
                real_logits = self.discriminator(real_seen, training=training)
                real_logits_sum = tf.reduce_sum(real_logits)
            real_gradients = r1_tape.gradient(real_logits_sum, real_seen)
        fake_logits = tf.cast(self.discriminator(fake_seen, training=training), tf.float32)
        real_logits = tf.cast(real_logits, tf.float32)  # losses in float32 under mixed precision
        d_loss = self.discriminator_loss_fn(real_logits, fake_logits)
        if self.r1_weight > 0:
            d_loss += 0.5 * self.r1_weight * losses.r1_penalty(real_gradients)
        return d_loss, fake_logits

    def generator_losses(self, fake_images, fake_logits, quartets, training=True):
        """G's adversarial loss, the contrastive loss (equation 2) and their sum (equation 3).

        Args:
            fake_images: ``[4B, R, R, C]``, the quartets in blocks x11, x12, x21, x22.
            fake_logits: ``[4B, 1]``, D's logits for them.
            quartets: the dict of ``sample_quartets``.
        """
        embeddings = tf.cast(self.embed(fake_images, training=training), tf.float32)
        fake_logits = tf.cast(fake_logits, tf.float32)
        e11, e12, e21, e22 = tf.split(embeddings, 4, axis=0)
        mask = quartets["embedding_mask"]
        per_quartet = losses.contrastive_loss(e11 * mask, e12 * mask, e21 * mask, e22 * mask, quartets["margin"])
        contrastive = tf.reduce_mean(per_quartet)
        g_loss = self.generator_loss_fn(fake_logits)
        return {
            "g_loss": g_loss,
            "contrastive_loss": contrastive,
            "generator_objective": g_loss + self.contrastive_weight * contrastive,
            "siamese_objective": self.contrastive_weight * contrastive,
            "contrastive_per_quartet": per_quartet,
        }

    def train_step(self, data):
        real_images = data[0] if isinstance(data, (tuple, list)) else data
        real_images = tf.cast(real_images, self.compute_dtype)
        for network in self.siamese_networks:
            if network.standardization is not None:
                network.standardization.update(network.guide(real_images))
        num_quartets = tf.shape(real_images)[0] // self.real_images_per_quartet
        tf.debugging.assert_positive(num_quartets, message=(
            f"A training batch needs at least real_images_per_quartet={self.real_images_per_quartet} images"))
        quartets = self.sample_quartets(num_quartets)
        if self.alternating_updates:
            result = self._alternating_step(real_images, quartets)
        else:
            result = self._simultaneous_step(real_images, quartets)
        if self.generator_ema is not None:
            self._update_generator_ema()
        self.d_loss_tracker.update_state(result["d_loss"])
        self.g_loss_tracker.update_state(result["g_loss"])
        self.contrastive_loss_tracker.update_state(result["contrastive_loss"])
        drawn = tf.one_hot(quartets["knob_index"], len(self.knobs))
        for column, tracker in enumerate(self.knob_loss_trackers):
            tracker.update_state(result["contrastive_per_quartet"], sample_weight=drawn[:, column])
        logs = {m.name: m.result() for m in self.metrics}
        if _multi_worker():
            # Keras reduces multi-worker logs with reduce(MEAN, axis=0), which needs a dimension.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _simultaneous_step(self, real_images, quartets):
        """One forward pass; D, G and phi all step from the same weights."""
        with tf.GradientTape(persistent=True) as tape:
            fake_images = self.generator(quartets["latents"], training=True)
            d_loss, fake_logits = self.discriminator_loss(real_images, fake_images)
            result = {"d_loss": d_loss, **self.generator_losses(fake_images, fake_logits, quartets)}
            updates = self._updates(result)
            # scale_loss is the identity unless an optimizer is a LossScaleOptimizer (mixed_float16).
            scaled = [optimizer.scale_loss(objective) for objective, optimizer, _ in updates]
        gradients = [_global_mean_gradients(tape.gradient(objective, variables))
                     for objective, (_, _, variables) in zip(scaled, updates)]
        del tape
        for (_, optimizer, variables), grads in zip(updates, gradients):
            optimizer.apply_gradients(zip(grads, variables))
        return result

    def _alternating_step(self, real_images, quartets):
        """D steps first on G's images; then G and phi step against the updated D."""
        fake_images = tf.stop_gradient(self.generator(quartets["latents"], training=True))
        with tf.GradientTape() as tape:
            d_loss, _ = self.discriminator_loss(real_images, fake_images)
            scaled_d_loss = self.discriminator_optimizer.scale_loss(d_loss)
        variables = self.discriminator.trainable_variables
        self.discriminator_optimizer.apply_gradients(
            zip(_global_mean_gradients(tape.gradient(scaled_d_loss, variables)), variables))
        with tf.GradientTape(persistent=True) as tape:
            fake_images = self.generator(quartets["latents"], training=True)
            fake_logits = self.discriminator(self.discriminator_view(fake_images), training=True)
            result = {"d_loss": d_loss, **self.generator_losses(fake_images, fake_logits, quartets)}
            updates = self._updates(result)[1:]
            scaled = [optimizer.scale_loss(objective) for objective, optimizer, _ in updates]
        for objective, (_, optimizer, variables) in zip(scaled, updates):
            optimizer.apply_gradients(zip(_global_mean_gradients(tape.gradient(objective, variables)), variables))
        del tape
        return result

    def _update_generator_ema(self):
        """G_ema <- d_t * G_ema + (1 - d_t) * G for every weight (BN statistics too), with
        d_t = min(decay, (1 + t) / (10 + t)) after step t.

        Runs in the cross-replica context, as the optimizers' own updates do, so the
        averaged weights stay mirrored under ``tf.distribute``.
        """
        step = tf.cast(self.generator_optimizer.iterations, tf.float32)
        decay = tf.minimum(self.generator_ema_decay, (1.0 + step) / (10.0 + step))

        def update(strategy, pairs):
            for average, weight in pairs:
                strategy.extended.update(average, lambda a, w: a.assign(decay * a + (1.0 - decay) * w),
                                         args=(weight,), group=False)

        pairs = [(average.value, weight.value)
                 for average, weight in zip(self.generator_ema.weights, self.generator.weights)]
        tf.__internal__.distribute.interim.maybe_merge_call(update, tf.distribute.get_strategy(), pairs)

    def _updates(self, result):
        """(objective, optimizer, variables) for D, G and the siamese networks."""
        return [
            (result["d_loss"], self.discriminator_optimizer, self.discriminator.trainable_variables),
            (result["generator_objective"], self.generator_optimizer, self.generator.trainable_variables),
            (result["siamese_objective"], self.siamese_optimizer, self.siamese_variables),
        ]

    def get_config(self):
        return {
            **super().get_config(),
            "knobs": [knob.to_config() for knob in self.knobs],
            "resolution": self.resolution, "channels": self.channels, "filters": self.filters,
            "architecture": self.architecture,
            "contrastive_weight": self.contrastive_weight, "knob_sampling": self.knob_sampling,
            "gan_loss": self.gan_loss, "spectral_norm": self.spectral_norm, "r1_weight": self.r1_weight,
            "output_activation": self.output_activation,
            "siamese_hidden_units": self.siamese_hidden_units,
            "leaky_relu_slope": self.leaky_relu_slope,
            "generator_normalization": self.generator_normalization,
            "instance_noise": self.instance_noise, "discriminator_blur": self.discriminator_blur,
            "discriminator_blur_steps": self.discriminator_blur_steps,
            "alternating_updates": self.alternating_updates,
            "discriminator_normalization": self.discriminator_normalization,
            "siamese_spectral_norm": self.siamese_spectral_norm,
            "real_images_per_quartet": self.real_images_per_quartet,
            "generator_ema_decay": self.generator_ema_decay, "seed": self.seed,
        }


def _replica_position():
    """``(number of replicas in sync, this replica's id)``; ``(1, 0)`` outside tf.distribute."""
    context = tf.distribute.get_replica_context()
    if context is None:
        return 1, 0
    return context.num_replicas_in_sync, context.replica_id_in_sync_group


def _multi_worker():
    """True under a MultiWorkerMirroredStrategy with more than one worker."""
    extended = tf.distribute.get_strategy().extended
    return bool(getattr(extended, "_in_multi_worker_mode", lambda: False)())


def _global_mean_gradients(gradients):
    """Gradients of the global-batch mean from one replica's local-batch mean.

    The losses are means over the local batch; the optimizers sum gradients over the R
    replicas, so each replica's gradients are divided by R (the equivalent of
    ``tf.nn.compute_average_loss`` with the global batch size, for equal local batches).
    """
    replicas, _ = _replica_position()
    if replicas == 1:
        return gradients
    return [None if g is None else g / replicas for g in gradients]


def gaussian_blur(images, sigma, max_sigma):
    """Blurs ``[B, H, W, C]`` with a Gaussian of std ``sigma`` (a scalar tensor, may be 0).

    The kernel has a fixed radius of ``ceil(3 * max_sigma)`` so the graph does not change
    as sigma fades; at sigma 0 it is the identity.
    """
    radius = int(np.ceil(3 * max_sigma))
    offsets = tf.range(-radius, radius + 1, dtype=tf.float32)
    weights = tf.exp(-0.5 * tf.square(offsets / tf.maximum(sigma, 1e-3)))
    weights = weights / tf.reduce_sum(weights)
    channels = images.shape[-1]
    horizontal = tf.tile(tf.reshape(weights, (1, -1, 1, 1)), (1, 1, channels, 1))
    vertical = tf.tile(tf.reshape(weights, (-1, 1, 1, 1)), (1, 1, channels, 1))
    images = tf.nn.depthwise_conv2d(images, horizontal, (1, 1, 1, 1), "SAME")
    return tf.nn.depthwise_conv2d(images, vertical, (1, 1, 1, 1), "SAME")


def _paper_adam():
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)
