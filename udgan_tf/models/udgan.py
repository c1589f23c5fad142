"""UDGAN: the GAN, its siamese networks and the training step of equations 1-3."""

import keras
import tensorflow as tf

from udgan_tf import losses
from udgan_tf.models.distribution import apply_updates, replica_position, step_logs
from udgan_tf.knobs import KnobLayout, adaptive_margin, build_quartet, knob_loss_name, parse_knobs
from udgan_tf.networks import ConvEncoder, Generator, SiameseNetwork
from udgan_tf.models.sampler_states import SavesSamplerStates
from udgan_tf.models.stabilisers import Stabilisers, alternating_step, real_logits_with_r1, update_generator_average

KNOB_SAMPLING = ("per_quartet", "per_step")


@keras.saving.register_keras_serializable("udgan_tf")
class UDGAN(SavesSamplerStates, keras.Model):
    """UD-GAN (unguided knobs) and UD-GAN-G (guided knobs) in one model.

    Owns the generator G, the discriminator D and the siamese networks phi_i. Each
    training step draws a knob i ~ Cat(N_A) (per quartet or per step), builds the
    quartets x11, x12, x21, x22 of Figure 1 and minimises equation 3: the GAN loss
    (equation 1, non-saturating generator loss) plus ``contrastive_weight`` times the
    contrastive loss of equation 2 with the adaptive margin ||q_i^(1) - q_i^(2)||.

    All unguided knobs share one siamese network whose output holds one slice per knob
    (§4.1, footnote 1); each guided knob has its own network behind its guidance. Which
    network embeds which knob, and which columns of phi(x) are whose, is the knob
    layout's ``siamese_plan`` (``udgan_tf.knobs``).

    The batch given to ``fit`` holds real images ``[B, R, R, C]`` in [0, 1]; G makes
    ``B // stabilisers.real_images_per_quartet`` quartets per step (4 images each). D, G
    and the siamese networks are updated simultaneously from one forward pass (the
    paper), or as ``stabilisers`` says.

    Args:
        knobs: list of knob specs (see ``udgan_tf.knobs``).
        resolution: int. Image side R, a power of two >= 16. Defaults to 64.
        channels: int. Image channels C. Defaults to 1.
        filters: int. Convolution width F of Table 5 (32: 2D Shapes, 128: CelebA).
            Defaults to 32.
        architecture: str. Layout of G, D and the convolutional siamese networks:
            ``"table5"`` (the paper), ``"dcgan"`` (4x4 kernels, one convolution per
            resolution, widest at the lowest resolution) or ``"infogan_cr"`` (InfoGAN-CR's
            dSprites networks: 4x4 kernels, 32-64 channels, a 128-unit dense layer); the
            last two are not in the paper, see ``Generator``. Defaults to ``"table5"``.
        contrastive_weight: float. lambda_phi of equation 3 (5: 2D Shapes, 1: CelebA).
            Defaults to 5.0.
        knob_sampling: str. ``"per_quartet"`` draws i for every quartet (same objective
            as the paper in expectation, less variance) or ``"per_step"`` draws one i per
            step (the paper's literal procedure). Defaults to ``"per_quartet"``.
        stabilisers: ``udgan_tf.models.stabilisers.Stabilisers``, a mapping of its fields, or None
            (the paper: no trick). The training tricks that are not in the paper.
        seed: int or None. Seed of the knob sampler.

    Example:
        >>> model = UDGAN(knobs=[{"name": "free", "count": 2}, {"name": "x", "guidance": "center_of_mass_x"}],
        ...               resolution=16, filters=8, stabilisers={"discriminator_spectral_norm": True})
        >>> model.compile()
        >>> images = tf.random.uniform((8, 16, 16, 1))
        >>> history = model.fit(tf.data.Dataset.from_tensors(images).repeat(), steps_per_epoch=1, verbose=0)
    """

    def __init__(self, knobs, resolution=64, channels=1, filters=32, architecture="table5", contrastive_weight=5.0,
                 knob_sampling="per_quartet", stabilisers=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if knob_sampling not in KNOB_SAMPLING:
            raise ValueError(f"knob_sampling must be one of {KNOB_SAMPLING}. Received: {knob_sampling!r}")
        if contrastive_weight < 0:
            raise ValueError(f"contrastive_weight must be >= 0. Received: {contrastive_weight!r}")
        self.layout = KnobLayout(parse_knobs(knobs))
        self.knobs = self.layout.knobs
        for knob in self.knobs:
            if not knob.embedded:
                raise ValueError(f"knob {knob.name!r} has embedding_dim 0: every knob of method 'udgan' has a "
                                 f"siamese embedding, which its contrastive loss compares. Give it "
                                 f"embedding_dim >= 1 (or leave embedding_dim out).")
        self.resolution = resolution
        self.channels = channels
        self.filters = filters
        self.architecture = architecture
        self.contrastive_weight = float(contrastive_weight)
        self.knob_sampling = knob_sampling
        self.stabilisers = Stabilisers.from_config(stabilisers)
        self.seed = seed
        tricks = self.stabilisers

        generator_args = dict(latent_dim=self.layout.latent_dim, resolution=resolution, channels=channels,
                              filters=filters, normalization=tricks.generator_normalization,
                              architecture=architecture, weight_init=tricks.weight_init)
        self.generator = Generator(**generator_args, name="generator")
        self.generator_ema = None
        if tricks.generator_ema_decay > 0:
            self.generator_ema = Generator(**generator_args, name="generator_ema")
            self.generator_ema.trainable = False
        self.discriminator = ConvEncoder(1, resolution, filters, spectral_norm=tricks.discriminator_spectral_norm,
                                         normalization=tricks.discriminator_normalization,
                                         architecture=architecture,
                                         minibatch_stddev=tricks.discriminator_minibatch_stddev,
                                         weight_init=tricks.weight_init, spectral_norm_form=tricks.spectral_norm_form,
                                         name="discriminator")
        self.siamese_networks = [
            SiameseNetwork(slot.output_dim, resolution=resolution, channels=channels, guidance=slot.guidance,
                           filters=filters, hidden_units=tricks.siamese_hidden_units,
                           spectral_norm=tricks.siamese_spectral_norm, architecture=architecture,
                           name=slot.network_name)
            for slot in self.layout.siamese_plan]
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
        self.knob_loss_trackers = [keras.metrics.Mean(name=knob_loss_name(knob.name)) for knob in self.knobs]

    # ------------------------------------------------------------------ inference
    @property
    def inference_generator(self):
        """The generator inference draws with: the weight average when kept, else G."""
        return self.generator if self.generator_ema is None else self.generator_ema

    def call(self, knobs, training=False):
        """G(z) (or G_ema(z), see ``Stabilisers.generator_ema_decay``): knobs ``[B, Z]`` -> images
        ``[B, R, R, C]`` in [0, 1]."""
        return self.inference_generator(knobs, training=training)

    def embed(self, images, training=False):
        """phi(x), the concatenated siamese outputs in knob order (§4.2). ``[B, R, R, C] -> [B, E]``."""
        # float32: under mixed precision conv networks answer in float16/bfloat16, proxies in float32.
        outputs = tf.concat([tf.cast(net(images, training=training), tf.float32) for net in self.siamese_networks],
                            axis=-1)
        return tf.gather(outputs, self.layout.embedding_order, axis=-1)

    @property
    def representation_networks(self):
        """The networks ``embed`` runs: the siamese networks phi_i."""
        return list(self.siamese_networks)

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
        replicas, replica = replica_position()
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

    def discriminator_loss(self, real_images, fake_images, training=True):
        """Equation 1 for D, plus the R1 penalty when ``stabilisers.discriminator_r1_weight``
        > 0. Returns ``(d_loss, fake_logits)``; ``fake_logits`` ``[N, 1]`` can be reused for G."""
        # Real and generated images go through D in separate batches (separate batch
        # statistics when D has batch normalisation).
        real_logits, penalty = real_logits_with_r1(
            lambda images: tf.cast(self.discriminator(images, training=training), tf.float32), real_images,
            self.stabilisers.discriminator_r1_weight)
        fake_logits = tf.cast(self.discriminator(fake_images, training=training), tf.float32)
        return losses.non_saturating_discriminator_loss(real_logits, fake_logits) + penalty, fake_logits

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
        g_loss = losses.non_saturating_generator_loss(fake_logits)
        return {
            "g_loss": g_loss,
            "contrastive_loss": contrastive,
            "generator_objective": g_loss + self.contrastive_weight * contrastive,
            "siamese_objective": self.contrastive_weight * contrastive,
            "contrastive_per_quartet": per_quartet,
        }

    def scaled_updates(self, result):
        """``(scaled objective, optimizer, variables)`` for each network whose objective is in
        ``result``: D (``d_loss``), G (``generator_objective``), phi (``siamese_objective``).

        Call it inside the gradient tape: ``scale_loss`` is the identity unless an optimizer
        is a ``LossScaleOptimizer`` (mixed_float16).
        """
        networks = {"d_loss": (self.discriminator_optimizer, self.discriminator.trainable_variables),
                    "generator_objective": (self.generator_optimizer, self.generator.trainable_variables),
                    "siamese_objective": (self.siamese_optimizer, self.siamese_variables)}
        return [(optimizer.scale_loss(result[key]), optimizer, variables)
                for key, (optimizer, variables) in networks.items() if key in result]

    def simultaneous_step(self, real_images, quartets):
        """The paper's update: one forward pass; D, G and phi all step from the same weights."""
        with tf.GradientTape(persistent=True) as tape:
            fake_images = self.generator(quartets["latents"], training=True)
            d_loss, fake_logits = self.discriminator_loss(real_images, fake_images)
            result = {"d_loss": d_loss, **self.generator_losses(fake_images, fake_logits, quartets)}
            updates = self.scaled_updates(result)
        apply_updates(tape, updates)
        del tape
        return result

    def train_step(self, data):
        real_images = data[0] if isinstance(data, (tuple, list)) else data
        real_images = tf.cast(real_images, self.compute_dtype)
        for network in self.siamese_networks:
            if network.standardization is not None:
                network.standardization.update(network.guide(real_images))
        per_quartet = self.stabilisers.real_images_per_quartet
        num_quartets = tf.shape(real_images)[0] // per_quartet
        tf.debugging.assert_positive(num_quartets, message=(
            f"A training batch needs at least stabilisers.real_images_per_quartet={per_quartet} images"))
        quartets = self.sample_quartets(num_quartets)
        if self.stabilisers.alternating_updates:
            result = alternating_step(self, real_images, quartets)
        else:
            result = self.simultaneous_step(real_images, quartets)
        if self.generator_ema is not None:
            update_generator_average(self.generator_ema, self.generator, self.generator_optimizer.iterations,
                                     self.stabilisers.generator_ema_decay)
        self.d_loss_tracker.update_state(result["d_loss"])
        self.g_loss_tracker.update_state(result["g_loss"])
        self.contrastive_loss_tracker.update_state(result["contrastive_loss"])
        drawn = tf.one_hot(quartets["knob_index"], len(self.knobs))
        for column, tracker in enumerate(self.knob_loss_trackers):
            tracker.update_state(result["contrastive_per_quartet"], sample_weight=drawn[:, column])
        return step_logs(self.metrics)

    # ------------------------------------------------------------------ saving
    def get_config(self):
        return {
            **super().get_config(),
            "knobs": [knob.to_config() for knob in self.knobs],
            "resolution": self.resolution, "channels": self.channels, "filters": self.filters,
            "architecture": self.architecture, "contrastive_weight": self.contrastive_weight,
            "knob_sampling": self.knob_sampling, "stabilisers": self.stabilisers.to_config(), "seed": self.seed,
        }


def _paper_adam():
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)
