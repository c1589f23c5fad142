"""InfoGAN (Chen et al. 2016) as a baseline to UD-GAN: a head Q on D recovers the knobs from G's images."""

import keras
import tensorflow as tf

from udgan_tf import losses
from udgan_tf.models.distribution import apply_extra_update, apply_updates, replica_position, step_logs
from udgan_tf.knobs import KnobLayout, parse_knobs
from udgan_tf.networks import ConvEncoder, Generator
from udgan_tf.networks.generator import kernel_init
from udgan_tf.networks.spectral_norm import spectrally_normalized
from udgan_tf.models.stabilisers import Stabilisers, real_logits_with_r1, update_generator_average
from udgan_tf.models.sampler_states import SavesSamplerStates

#: Stabilisers that only mean something for UD-GAN's siamese networks and quartets.
SIAMESE_ONLY_STABILISERS = ("siamese_spectral_norm", "siamese_hidden_units", "real_images_per_quartet")
#: The stabilisers an InfoGAN refuses, and why.
INAPPLICABLE_STABILISERS = {
    **{name: "it has no siamese networks or quartets" for name in SIAMESE_ONLY_STABILISERS},
    "discriminator_minibatch_stddev": "its D carries Q, whose output, the representation, must not depend on the "
                                      "other images of a batch",
}


@keras.saving.register_keras_serializable("udgan_tf")
class InfoGAN(SavesSamplerStates, keras.Model):
    """InfoGAN with continuous codes (Chen et al. 2016), UD-GAN's interface and networks.

    Every knob is a continuous code c ~ Unif(-1, 1) (the package's knob range; InfoGAN-CR's
    ``UniformLatent(low=-1.0, high=1.0)``, InfoGAN-CR_dSprites/gan_task.py). G draws
    images x = G(c); the discriminator network outputs ``1 + Z`` columns: column 0 is D's
    logit, columns 1..Z are Q's prediction of the codes, a linear head on D's last hidden
    layer (for ``architecture="infogan_cr"`` its FC 4F = 128 layer), so Q shares D's trunk
    and D's optimizer. Q(c | x) is a factored Gaussian with Q's output as mean and unit
    variance (§5: a factored Gaussian for continuous codes), and the training step minimises

        D, Q:  -log D(x) - log(1 - D(G(c))) + info_weight_discriminator * (-log Q(c | G(c)))
        G:     -log D(G(c))                 + info_weight               * (-log Q(c | G(c)))

    the objective V(D, G) - lambda L_I(G, Q) of §5 with the non-saturating G loss, L_I the
    variational lower bound on I(c; G(c)) (``losses.mutual_information_loss``). ``embed``
    gives Q's prediction: the representation InfoGAN is scored by.

    What InfoGAN-CR's reference code does on dSprites (github.com/fjxmlzn/InfoGAN-CR), and
    where this class differs:

    - Two weights of the mutual-information term, one in G's loss (``info_coe_de``) and one
      in the loss of D and Q (``info_coe_infod``), both 0.05 on dSprites
      (InfoGAN-CR_dSprites/config.py; ``de_loss``, ``infod_loss`` in gan/infogan_cr.py); hence
      ``info_weight`` and ``info_weight_discriminator``.
    - The loss is -E[sum_j log N(c_j; q_j, 1)] over the regularised codes, constants included
      (``UniformLatent.reg_log_prob`` with ``q_std=1.0``, gan/latent.py), as here.
    - 5 regularised codes and 5 unregularised noise dimensions, all Unif(-1, 1)
      (``uniform_reg_dim``, ``uniform_not_reg_dim``, config.py). Here a knob with
      ``embedding_dim: 0`` is such noise: G reads it, Q does not predict it (by default every
      knob is a code).
    - Q's head there is FC 128 -> leaky ReLU -> FC (``InfoGANDiscriminator``, gan/network.py,
      ``q_l_dim=128``): ``q_hidden_units=128`` here; 0 (the default) makes it linear.
    - D there has spectral normalisation on every layer and no batch norm; here that is
      ``stabilisers.discriminator_spectral_norm``.
    - Adam learning rates 1e-3 for G (``de_lr``), 2e-3 for D and Q (``infod_lr``), beta_1 0.5,
      batch 64, 28 epochs (config.py); G steps twice per step (``train``, gan/infogan_cr.py):
      ``stabilisers.generator_steps: 2``. Here the defaults are the package's Adam(2e-4, 0.5)
      and one G step. ``configs/dsprites_infogan_cr_reference.yaml`` sets them all as there.

    The batch given to ``fit`` holds real images ``[B, R, R, C]`` in [0, 1]; G draws B images
    per step.

    Args:
        knobs: list of knob specs (see ``udgan_tf.knobs``), unguided, with
            ``embedding_dim == width`` (a code, which Q predicts) or ``embedding_dim: 0``
            (unregularised noise). Z = their total width, E = the codes' total width.
        resolution: int. Image side R, a power of two >= 16. Defaults to 64.
        channels: int. Image channels C. Defaults to 1.
        filters: int. Convolution width F. Defaults to 32.
        architecture: str. ``"table5"``, ``"dcgan"`` or ``"infogan_cr"`` (InfoGAN-CR's dSprites
            networks), see ``Generator`` and ``ConvEncoder``. Defaults to ``"table5"``.
        info_weight: float >= 0. lambda, the weight of the mutual-information loss in G's loss.
            Defaults to 1.0 (InfoGAN-CR on dSprites: 0.05).
        info_weight_discriminator: float >= 0 or None. Its weight in the loss of D and Q; None:
            ``info_weight``. Defaults to None.
        q_hidden_units: int >= 0. Width of a hidden layer of Q on D's last hidden layer
            (FC -> leaky ReLU -> FC, as InfoGAN-CR's code with 128); 0: Q is a linear head
            sharing D's last layer. Defaults to 0.
        stabilisers: ``udgan_tf.models.stabilisers.Stabilisers``, a mapping of its fields, or None.
            All but ``INAPPLICABLE_STABILISERS`` apply.
        seed: int or None. Seed of the knob sampler.

    Example:
        >>> model = InfoGAN(knobs=[{"name": "code", "count": 3}], resolution=16, filters=8, seed=0)
        >>> model.compile()
        >>> images = tf.random.uniform((8, 16, 16, 1))
        >>> history = model.fit(tf.data.Dataset.from_tensors(images).repeat(), steps_per_epoch=1, verbose=0)
        >>> model(model.sample_knobs(2)).shape, model.embed(images).shape
        (TensorShape([2, 16, 16, 1]), TensorShape([8, 3]))
    """

    METHOD = "infogan"
    #: The config's optimizer sections this method uses; ``compile`` takes ``<name>_optimizer``.
    #: Q shares D's trunk and so D's optimizer.
    OPTIMIZERS = ("generator", "discriminator")

    def __init__(self, knobs, resolution=64, channels=1, filters=32, architecture="table5", info_weight=1.0,
                 info_weight_discriminator=None, q_hidden_units=0, stabilisers=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.layout = KnobLayout(parse_knobs(knobs))
        self.knobs = self.layout.knobs
        for knob in self.knobs:
            if knob.guided:
                raise ValueError(f"knob {knob.name!r} has guidance {knob.guidance!r}: guidance does not apply "
                                 f"to method {self.METHOD!r} (only udgan uses guidance functions).")
            if knob.embedding_dim not in (knob.width, 0):
                raise ValueError(f"knob {knob.name!r} has embedding_dim {knob.embedding_dim}, neither its width "
                                 f"{knob.width} nor 0: method {self.METHOD!r} embeds an image as Q's prediction "
                                 f"of the code, one column per code dimension (0: unregularised noise).")
        if not any(knob.embedded for knob in self.knobs):
            raise ValueError(f"method {self.METHOD!r} needs at least one code (a knob with embedding_dim > 0); "
                             f"every knob has embedding_dim 0.")
        if isinstance(q_hidden_units, bool) or not isinstance(q_hidden_units, int) or q_hidden_units < 0:
            raise ValueError(f"q_hidden_units must be an integer >= 0. Received: q_hidden_units={q_hidden_units!r}")
        tricks = Stabilisers.from_config(stabilisers)
        for name, reason in INAPPLICABLE_STABILISERS.items():
            if getattr(tricks, name) != getattr(Stabilisers(), name):
                raise ValueError(f"model.stabilisers.{name} does not apply to method {self.METHOD!r} ({reason}).")
        check_weight("info_weight", info_weight)
        if info_weight_discriminator is None:
            info_weight_discriminator = info_weight
        check_weight("info_weight_discriminator", info_weight_discriminator)
        self.resolution = resolution
        self.channels = channels
        self.filters = filters
        self.architecture = architecture
        self.info_weight = float(info_weight)
        self.info_weight_discriminator = float(info_weight_discriminator)
        self.q_hidden_units = q_hidden_units
        self.stabilisers = tricks
        self.seed = seed
        z = self.layout.latent_dim
        codes = self.layout.embedding_dim
        #: int32 ``[E]``: the columns of z that are codes (the others are noise), in order.
        self.code_columns = tf.constant(
            [column for knob, piece in zip(self.knobs, self.layout.latent_slices) if knob.embedded
             for column in range(piece.start, piece.stop)], tf.int32)

        generator_args = dict(latent_dim=z, resolution=resolution, channels=channels, filters=filters,
                              normalization=tricks.generator_normalization, architecture=architecture,
                              weight_init=tricks.weight_init)
        self.generator = Generator(**generator_args, name="generator")
        self.generator_ema = None
        if tricks.generator_ema_decay > 0:
            self.generator_ema = Generator(**generator_args, name="generator_ema")
            self.generator_ema.trainable = False
        # Column 0: D's logit; columns 1..E: Q's means of the codes (with q_hidden_units, Q is a
        # head of its own on D's last hidden layer and D outputs column 0 only).
        self.discriminator = ConvEncoder(1 + (0 if q_hidden_units else codes), resolution, filters,
                                         spectral_norm=tricks.discriminator_spectral_norm,
                                         normalization=tricks.discriminator_normalization,
                                         architecture=architecture, weight_init=tricks.weight_init,
                                         spectral_norm_form=tricks.spectral_norm_form, name="discriminator")
        self.q_head = None
        if q_hidden_units:
            def weighted(layer):
                return (spectrally_normalized(layer, tricks.spectral_norm_form)
                        if tricks.discriminator_spectral_norm else layer)

            self.q_head = keras.Sequential(
                [weighted(keras.layers.Dense(q_hidden_units, kernel_initializer=kernel_init(tricks.weight_init))),
                 keras.layers.LeakyReLU(0.2),
                 weighted(keras.layers.Dense(codes, dtype="float32", kernel_initializer=kernel_init(tricks.weight_init)))],
                name="q_head")
        self.seed_generator = keras.random.SeedGenerator(seed, name="knob_sampler")

        self.generator(tf.zeros((1, z)))
        if self.generator_ema is not None:
            self.generator_ema(tf.zeros((1, z)))
            self.generator_ema.set_weights(self.generator.get_weights())
        self.discriminator_outputs(tf.zeros((1, resolution, resolution, channels)))
        self.built = True

        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.info_loss_tracker = keras.metrics.Mean(name="info_loss")

    # ------------------------------------------------------------------ inference
    @property
    def inference_generator(self):
        """The generator inference draws with: the weight average when kept, else G."""
        return self.generator if self.generator_ema is None else self.generator_ema

    @property
    def representation_networks(self):
        """The networks ``embed`` runs: D, whose columns 1..E are Q (or D and Q's own head)."""
        return [self.discriminator] + ([self.q_head] if self.q_head is not None else [])

    @property
    def discriminator_variables(self):
        """What D's optimizer trains: D's weights and Q's (Q shares D's trunk and optimizer)."""
        return self.discriminator.trainable_variables + (
            self.q_head.trainable_variables if self.q_head is not None else [])

    def call(self, knobs, training=False):
        """G(c) (or G_ema(c)): knobs ``[B, Z]`` -> images ``[B, R, R, C]`` in [0, 1]."""
        return self.inference_generator(knobs, training=training)

    def discriminator_outputs(self, images, training=False):
        """D's logits float32 ``[B, 1]`` and Q's predicted codes float32 ``[B, E]`` of images ``[B, R, R, C]``."""
        if self.q_head is None:
            outputs = tf.cast(self.discriminator(images, training=training), tf.float32)
            return outputs[:, :1], outputs[:, 1:]
        features, logits = self.discriminator.features_and_output(images, training=training)
        return tf.cast(logits, tf.float32), tf.cast(self.q_head(features, training=training), tf.float32)

    def codes_of(self, knobs):
        """The codes among the knobs, ``[B, Z] -> [B, E]`` (noise knobs dropped): what Q predicts."""
        return tf.gather(knobs, self.code_columns, axis=1)

    def embed(self, images, training=False):
        """Q's prediction of the codes, float32 ``[B, R, R, C] -> [B, E]`` (E = ``layout.embedding_dim``)."""
        return self.discriminator_outputs(images, training=training)[1]

    def sample_knobs(self, num, seed=None):
        """c ~ Unif(-1, 1)^Z. Returns float32 ``[num, Z]``."""
        return keras.random.uniform((num, self.layout.latent_dim), -1.0, 1.0,
                                    seed=self.seed_generator if seed is None else seed)

    # ------------------------------------------------------------------ training
    def compile(self, generator_optimizer=None, discriminator_optimizer=None, **kwargs):
        """Sets one optimizer per network, Adam (lr 2e-4, beta_1 0.5) by default; Q steps with D's.

        The optimizers are built here, before ``fit``, so their variables exist up front and a
        restored checkpoint restores them. ``model.optimizer`` is the generator's, so
        ``model.optimizer.iterations`` counts training steps.
        """
        self.generator_optimizer = generator_optimizer or gan_adam()
        self.discriminator_optimizer = discriminator_optimizer or gan_adam()
        super().compile(optimizer=self.generator_optimizer, **kwargs)
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.discriminator_optimizer.build(self.discriminator_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.info_loss_tracker]

    def update_plan(self):
        """``{objective name: (optimizer, variables)}``: which network minimises which objective."""
        return {"discriminator_objective": (self.discriminator_optimizer, self.discriminator_variables),
                "generator_objective": (self.generator_optimizer, self.generator.trainable_variables)}

    def scaled_updates(self, result):
        """``(scaled objective, optimizer, variables)`` for each objective of ``update_plan`` in
        ``result``. Call it inside the tape (``scale_loss`` is the identity unless mixed_float16)."""
        return [(optimizer.scale_loss(result[key]), optimizer, variables)
                for key, (optimizer, variables) in self.update_plan().items() if key in result]

    def sample_step(self, batch_size):
        """What G draws in a step: ``{"codes": [batch_size, Z]}``.

        Under tf.distribute every replica draws the codes of the global batch from the same
        seed state and keeps its own slice, as UDGAN's quartets.
        """
        return {"codes": local_slice(self.sample_knobs(batch_size * replica_position()[0]), batch_size)}

    def discriminator_losses(self, real_images, fake_images, codes, training=True):
        """The objective of D and Q on real images and G's images ``[B, R, R, C]`` of ``codes`` ``[B, Z]``.

        Returns:
            dict with ``d_loss`` (the GAN loss of D, plus the R1 penalty when
            ``stabilisers.discriminator_r1_weight`` > 0), ``discriminator_objective``
            (``d_loss`` + info_weight_discriminator * the mutual-information loss) and
            ``fake_outputs`` (D's logits and Q's codes of the generated images, reusable for G).
        """
        real_logits, penalty = real_logits_with_r1(
            lambda images: self.discriminator_outputs(images, training=training)[0], real_images,
            self.stabilisers.discriminator_r1_weight)
        fake_logits, predicted_codes = self.discriminator_outputs(fake_images, training=training)
        d_loss = losses.non_saturating_discriminator_loss(real_logits, fake_logits) + penalty
        info_loss = losses.mutual_information_loss(predicted_codes, self.codes_of(codes))
        return {"d_loss": d_loss, "discriminator_objective": d_loss + self.info_weight_discriminator * info_loss,
                "fake_outputs": (fake_logits, predicted_codes)}

    def generator_losses(self, fake_outputs, codes):
        """G's objective from D's logits and Q's codes ``fake_outputs`` of G's images of ``codes``.

        Returns:
            dict with ``g_loss``, ``info_loss`` and ``generator_objective`` = g_loss +
            info_weight * info_loss.
        """
        fake_logits, predicted_codes = fake_outputs
        g_loss = losses.non_saturating_generator_loss(fake_logits)
        info_loss = losses.mutual_information_loss(predicted_codes, self.codes_of(codes))
        return {"g_loss": g_loss, "info_loss": info_loss, "generator_objective": g_loss + self.info_weight * info_loss}

    def regulariser_losses(self, sample, training=True):
        """Losses of further networks and G's share of them (``generator_regulariser``); InfoGAN has none."""
        return {}

    @staticmethod
    def with_regulariser(result, regulariser):
        """``result`` with the ``regulariser_losses`` and their share added to G's objective."""
        objective = result["generator_objective"] + regulariser.get("generator_regulariser", 0.0)
        return {**result, **regulariser, "generator_objective": objective}

    def simultaneous_step(self, real_images, sample):
        """One forward pass; every network steps from the same weights."""
        codes = sample["codes"]
        with tf.GradientTape(persistent=True) as tape:
            fake_images = self.generator(codes, training=True)
            result = self.discriminator_losses(real_images, fake_images, codes)
            result.update(self.generator_losses(result.pop("fake_outputs"), codes))
            result = self.with_regulariser(result, self.regulariser_losses(sample))
            updates = self.scaled_updates(result)
        apply_updates(tape, updates)
        del tape
        return result

    def alternating_step(self, real_images, sample):
        """D and Q (and the regulariser's networks) step first on G's images; then G steps
        against the updated networks (``stabilisers.alternating_updates``). G draws the images
        once, as in UDGAN's ``stabilisers.alternating_step``; with ``stabilisers.generator_steps``
        > 1 G steps that many times more on the same codes, each from a new forward pass (the
        losses returned are the last step's)."""
        codes = sample["codes"]
        with tf.GradientTape(persistent=True) as tape:
            fake_images = self.generator(codes, training=True)
            with tape.stop_recording():        # the first networks' step is not part of G's gradient
                with tf.GradientTape(persistent=True) as first_tape:
                    first = self.discriminator_losses(real_images, tf.stop_gradient(fake_images), codes)
                    del first["fake_outputs"]
                    first.update(self.regulariser_losses(sample))
                    first_updates = self.scaled_updates({k: v for k, v in first.items() if k != "generator_objective"})
                apply_updates(first_tape, first_updates)
                del first_tape
            result = self.generator_losses(self.discriminator_outputs(fake_images, training=True), codes)
            result = self.with_regulariser(result, self.regulariser_losses(sample))
            updates = self.scaled_updates({"generator_objective": result["generator_objective"]})
        apply_updates(tape, updates)
        del tape
        for _ in range(self.stabilisers.generator_steps - 1):
            with tf.GradientTape() as tape:
                fake_images = self.generator(codes, training=True)
                result = self.generator_losses(self.discriminator_outputs(fake_images, training=True), codes)
                result = self.with_regulariser(result, self.regulariser_losses(sample))
                updates = self.scaled_updates({"generator_objective": result["generator_objective"]})
            apply_extra_update(tape, updates)
        return {**first, **result}

    def train_step(self, data):
        real_images = data[0] if isinstance(data, (tuple, list)) else data
        real_images = tf.cast(real_images, self.compute_dtype)
        sample = self.sample_step(tf.shape(real_images)[0])
        if self.stabilisers.alternating_updates:
            result = self.alternating_step(real_images, sample)
        else:
            result = self.simultaneous_step(real_images, sample)
        if self.generator_ema is not None:
            update_generator_average(self.generator_ema, self.generator, self.generator_optimizer.iterations,
                                     self.stabilisers.generator_ema_decay)
        for tracker in self.metrics:
            tracker.update_state(result[tracker.name])
        return step_logs(self.metrics)

    # ------------------------------------------------------------------ saving
    def get_config(self):
        return {
            **super().get_config(),
            "knobs": [knob.to_config() for knob in self.knobs],
            "resolution": self.resolution, "channels": self.channels, "filters": self.filters,
            "architecture": self.architecture, "info_weight": self.info_weight,
            "info_weight_discriminator": self.info_weight_discriminator, "q_hidden_units": self.q_hidden_units,
            "stabilisers": self.stabilisers.to_config(), "seed": self.seed,
        }


def check_weight(name, value):
    """Raises ``ValueError`` naming ``name`` unless ``value`` is a number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0. Received: {name}={value!r}")


def local_slice(values, batch_size):
    """This replica's ``batch_size`` rows of ``values`` drawn for the global batch (all of them on one device)."""
    replicas, replica = replica_position()
    if replicas == 1:
        return values
    return values[replica * batch_size:(replica + 1) * batch_size]


def gan_adam():
    """Adam(2e-4, beta_1 0.5), the package's GAN default."""
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)
