"""Training tricks that are not in the paper, and the code that applies them.

``UDGAN`` implements the paper's method; everything this package found necessary to make
it train on a CPU budget (BENCHMARKS.md, "How the shipped dSprites recipe was found") is
one validated ``Stabilisers`` object, the ``model.stabilisers`` section of a config::

    model:
      knobs: [...]
      stabilisers: {alternating_updates: true, generator_ema_decay: 0.999, ...}

Every default is the paper's behaviour, so ``Stabilisers()`` (an empty section) is the
paper's plain setting. The code of the tricks that change the training step lives here
too: the alternating update (``alternating_step``) and the weight average of G
(``update_generator_average``). The others are switches of the networks
(normalisations, spectral normalisation, the siamese MLP's width) or of the batch
(``real_images_per_quartet``).
"""

import dataclasses

import tensorflow as tf

from udgan_tf import losses
from udgan_tf.models.distribution import apply_extra_update, apply_updates
from udgan_tf.networks.generator import WEIGHT_INITS
from udgan_tf.networks.spectral_norm import SPECTRAL_NORM_FORMS

NORMALIZATIONS = ("none", "batch")


class StabiliserError(ValueError):
    """A bad ``model.stabilisers`` section; the message names the key and the allowed values."""


@dataclasses.dataclass(frozen=True)
class Stabilisers:
    """The training tricks of a ``UDGAN`` (all off: the paper).

    Attributes:
        discriminator_spectral_norm: bool. Spectral normalisation on every D layer
            (Miyato et al. 2018). Defaults to False.
        discriminator_normalization: str. ``"none"`` or ``"batch"`` (BatchNormalization in
            D as in DCGAN; D then sees real and generated images in separate batches).
            Defaults to ``"none"``.
        generator_normalization: str. ``"none"`` or ``"batch"`` before every hidden
            generator activation. Defaults to ``"none"``.
        alternating_updates: bool. D steps first, then G and the siamese networks step
            against the updated D (``alternating_step``), instead of one simultaneous update
            from a single forward pass. Defaults to False.
        real_images_per_quartet: int >= 1. Real images per quartet in a training batch:
            1 (B quartets, D sees 4x more generated than real images) or 4 (B / 4 quartets,
            D sees as many of each, as in a plain GAN). Defaults to 1.
        generator_ema_decay: float in [0, 1). When > 0 the model keeps a moving average of
            G's weights (``update_generator_average``) and draws every inference image with
            it (Karras et al. 2018). Defaults to 0 (off).
        siamese_spectral_norm: bool. Spectral normalisation in every siamese network, so
            phi_i cannot amplify imperceptible changes of the image until the margin is
            met. Defaults to False.
        siamese_hidden_units: int >= 0. Width of the MLP behind a vector guidance; 0 makes
            the standardised proxy itself the embedding (see ``SiameseNetwork``). Defaults
            to 64.
        discriminator_r1_weight: float >= 0. gamma of the R1 penalty
            gamma / 2 * E_real ||grad_x D(x)||^2 added to D's loss (Mescheder et al. 2018,
            eq. 9), which keeps D from growing steep around the real images. Defaults to 0 (off).
        discriminator_minibatch_stddev: bool. D sees the spread of its batch as one more
            feature map (``networks.MinibatchStdDev``, Karras et al. 2018, §3), so a generator
            that draws too few distinct images is told apart from the data. UD-GAN only: an
            InfoGAN's D carries Q, whose output must not depend on the batch. Defaults to False.
        weight_init: str. Initial weights of G, D (and InfoGAN's Q, InfoGAN-CR's H):
            ``"keras"`` (Glorot uniform, Keras' default) or ``"normal_0.02"`` (DCGAN's N(0, 0.02),
            which InfoGAN-CR's code uses). Defaults to ``"keras"``.
        spectral_norm_form: str. How ``discriminator_spectral_norm`` normalises (D, InfoGAN's Q,
            InfoGAN-CR's H): ``"projected"`` (``keras.layers.SpectralNormalization``: every
            training call overwrites the kernel with W / sigma(W), and the gradient does not flow
            through sigma) or ``"reparametrised"`` (Miyato et al. 2018: the layer computes with
            W / sigma(W), the gradient flows through sigma, as InfoGAN-CR's code does). Defaults
            to ``"projected"``.
        generator_steps: int >= 1. G's updates per training step, each from a fresh forward
            pass against the same D (InfoGAN-CR's code updates G twice, gan/infogan_cr.py
            ``train``). Needs ``alternating_updates``. Defaults to 1.

    Example:
        >>> Stabilisers.from_config({"alternating_updates": True}).alternating_updates
        True
    """

    discriminator_spectral_norm: bool = False
    discriminator_normalization: str = "none"
    generator_normalization: str = "none"
    alternating_updates: bool = False
    real_images_per_quartet: int = 1
    generator_ema_decay: float = 0.0
    siamese_spectral_norm: bool = False
    siamese_hidden_units: int = 64
    discriminator_r1_weight: float = 0.0
    discriminator_minibatch_stddev: bool = False
    weight_init: str = "keras"
    spectral_norm_form: str = "projected"
    generator_steps: int = 1

    def __post_init__(self):
        for name in ("discriminator_spectral_norm", "alternating_updates", "siamese_spectral_norm",
                     "discriminator_minibatch_stddev"):
            if not isinstance(getattr(self, name), bool):
                raise StabiliserError(f"model.stabilisers.{name} must be true or false. "
                                      f"Received: {getattr(self, name)!r}")
        for name in ("discriminator_normalization", "generator_normalization"):
            if getattr(self, name) not in NORMALIZATIONS:
                raise StabiliserError(f"model.stabilisers.{name} must be one of {NORMALIZATIONS}. "
                                      f"Received: {getattr(self, name)!r}")
        if not _is_int(self.real_images_per_quartet) or self.real_images_per_quartet < 1:
            raise StabiliserError("model.stabilisers.real_images_per_quartet must be a positive integer. "
                                  f"Received: {self.real_images_per_quartet!r}")
        if self.weight_init not in WEIGHT_INITS:
            raise StabiliserError(f"model.stabilisers.weight_init must be one of {WEIGHT_INITS}. "
                                  f"Received: {self.weight_init!r}")
        if self.spectral_norm_form not in SPECTRAL_NORM_FORMS:
            raise StabiliserError(f"model.stabilisers.spectral_norm_form must be one of {SPECTRAL_NORM_FORMS}. "
                                  f"Received: {self.spectral_norm_form!r}")
        if not _is_int(self.generator_steps) or self.generator_steps < 1:
            raise StabiliserError("model.stabilisers.generator_steps must be a positive integer. "
                                  f"Received: {self.generator_steps!r}")
        if self.generator_steps > 1 and not self.alternating_updates:
            raise StabiliserError("model.stabilisers.generator_steps > 1 needs alternating_updates: true (G's "
                                  "extra updates come after D's). Set both, or generator_steps: 1.")
        if not _is_int(self.siamese_hidden_units) or self.siamese_hidden_units < 0:
            raise StabiliserError("model.stabilisers.siamese_hidden_units must be an integer >= 0. "
                                  f"Received: {self.siamese_hidden_units!r}")
        decay = self.generator_ema_decay
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0.0 <= decay < 1.0:
            raise StabiliserError(f"model.stabilisers.generator_ema_decay must be in [0, 1). Received: {decay!r}")
        object.__setattr__(self, "generator_ema_decay", float(decay))
        weight = self.discriminator_r1_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0.0:
            raise StabiliserError(f"model.stabilisers.discriminator_r1_weight must be a number >= 0. "
                                  f"Received: {weight!r}")
        object.__setattr__(self, "discriminator_r1_weight", float(weight))

    @classmethod
    def from_config(cls, config=None):
        """A ``Stabilisers`` from a mapping (or None: the paper), naming unknown keys."""
        if config is None or isinstance(config, cls):
            return config or cls()
        if not isinstance(config, dict):
            raise StabiliserError(f"model.stabilisers must be a mapping of {cls.names()}. Received: {config!r}")
        unknown = sorted(set(config) - set(cls.names()))
        if unknown:
            raise StabiliserError(f"Unknown key(s) {['model.stabilisers.' + k for k in unknown]}. "
                                  f"Allowed stabiliser keys: {cls.names()}.")
        return cls(**config)

    def to_config(self):
        return dataclasses.asdict(self)

    @classmethod
    def names(cls):
        return [field.name for field in dataclasses.fields(cls)]


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def alternating_step(model, real_images, quartets):
    """D steps first on G's images; then G and phi step against the updated D.

    G draws the images once: D's step reads them without a gradient, G's step records them (G's
    weights do not change in between, so a second forward pass would draw the same images; it
    would only move G's batch-norm averages a second time).

    With ``stabilisers.generator_steps`` > 1, G and phi step again that many times more, each
    from a new forward pass of the same quartets against the updated D; the losses returned
    are those of the last.

    Args:
        model: the ``UDGAN``.
        real_images: ``[B, R, R, C]``.
        quartets: the dict of ``UDGAN.sample_quartets``.

    Returns:
        the losses dict of ``UDGAN.generator_losses`` plus ``d_loss``.
    """
    with tf.GradientTape(persistent=True) as tape:
        fake_images = model.generator(quartets["latents"], training=True)
        with tape.stop_recording():            # D's step is not part of G's gradient
            with tf.GradientTape(persistent=True) as d_tape:
                d_loss, _ = model.discriminator_loss(real_images, tf.stop_gradient(fake_images))
                d_update = model.scaled_updates({"d_loss": d_loss})
            apply_updates(d_tape, d_update)
            del d_tape
        fake_logits = model.discriminator(fake_images, training=True)
        result = {"d_loss": d_loss, **model.generator_losses(fake_images, fake_logits, quartets)}
        updates = model.scaled_updates({key: value for key, value in result.items() if key != "d_loss"})
    apply_updates(tape, updates)
    del tape
    for _ in range(model.stabilisers.generator_steps - 1):   # G's further updates, from fresh images
        with tf.GradientTape(persistent=True) as tape:
            fake_images = model.generator(quartets["latents"], training=True)
            fake_logits = model.discriminator(fake_images, training=True)
            result = {"d_loss": d_loss, **model.generator_losses(fake_images, fake_logits, quartets)}
            updates = model.scaled_updates({key: value for key, value in result.items() if key != "d_loss"})
        apply_extra_update(tape, updates)
        del tape
    return result


def real_logits_with_r1(discriminate, real_images, gamma):
    """D's logits on real images and the R1 penalty ``stabilisers.discriminator_r1_weight`` asks
    for (``losses.r1_penalty``; 0 when gamma is 0, and then no input gradient is recorded: this
    is the train step's hot path).

    Args:
        discriminate: images ``[N, R, R, C]`` -> float32 logits ``[N, 1]``.
        real_images: ``[N, R, R, C]``.
        gamma: float >= 0.

    Returns:
        ``(real_logits [N, 1], penalty scalar)``.
    """
    if gamma <= 0:
        return discriminate(real_images), 0.0
    with tf.GradientTape(watch_accessed_variables=False) as input_tape:
        input_tape.watch(real_images)
        real_logits = discriminate(real_images)
    input_gradients = input_tape.gradient(real_logits, real_images)   # of sum(real_logits)
    return real_logits, losses.r1_penalty(tf.cast(input_gradients, tf.float32), gamma)


def update_generator_average(average, generator, step, decay):
    """G_ema <- d_t * G_ema + (1 - d_t) * G for every weight (BN statistics too), with
    d_t = min(decay, (1 + t) / (10 + t)) after step t: the warm-up of
    ``tf.train.ExponentialMovingAverage``, so a short run is not drawn by the initial weights.

    Runs in the cross-replica context, as the optimizers' own updates do, so the averaged
    weights stay mirrored under ``tf.distribute``.

    Args:
        average: the ``Generator`` holding the average (not trainable).
        generator: the trained ``Generator``.
        step: the optimizer's step counter t (a scalar tensor).
        decay: float, the ``generator_ema_decay``.
    """
    step = tf.cast(step, tf.float32)
    decay = tf.minimum(decay, (1.0 + step) / (10.0 + step))

    def update(strategy, pairs):
        for mean, weight in pairs:
            strategy.extended.update(mean, lambda a, w: a.assign(decay * a + (1.0 - decay) * w),
                                     args=(weight,), group=False)

    pairs = [(mean.value, weight.value) for mean, weight in zip(average.weights, generator.weights)]
    tf.__internal__.distribute.interim.maybe_merge_call(update, tf.distribute.get_strategy(), pairs)


#: Flat ``model`` keys of configs written before the ``stabilisers`` section existed.
FLAT_KEYS = {"spectral_norm": "discriminator_spectral_norm", "r1_weight": "discriminator_r1_weight",
             **{name: name for name in Stabilisers.names()
                if name not in ("discriminator_spectral_norm", "discriminator_r1_weight")}}
#: Options that were tried, never helped and were removed (BENCHMARKS.md says what they did),
#: with the value that means "off"; ``None``: any value is "off" (it only mattered with another option).
REMOVED = {"gan_loss": "non_saturating", "output_activation": "sigmoid",
           "leaky_relu_slope": 0.2, "instance_noise": 0.0, "discriminator_blur": 0.0,
           "discriminator_blur_steps": None}


def upgrade_flat_model_config(model):
    """The ``model`` section of an older run directory in today's form.

    Runs written before the ``stabilisers`` section kept the tricks as flat ``model`` keys
    (``model.alternating_updates: true``); they move into ``stabilisers``. A removed option
    at its "off" value is dropped; at any other value the run cannot be rebuilt.

    Args:
        model: dict, a ``model`` section (new or old form).

    Returns:
        a new dict with ``stabilisers`` and no flat trick keys.

    Raises:
        StabiliserError: a removed option that was on, or a value that no longer exists.
    """
    model = dict(model)
    stabilisers = dict(model.pop("stabilisers", None) or {})
    for key in list(model):
        if key in FLAT_KEYS:
            stabilisers[FLAT_KEYS[key]] = model.pop(key)
        elif key in REMOVED:
            value = model.pop(key)
            if REMOVED[key] is not None and value != REMOVED[key]:
                raise StabiliserError(f"model.{key}={value!r}: this option was removed (it never helped; see "
                                      "BENCHMARKS.md, 'Removed options'); a run that used it cannot be rebuilt "
                                      "by this version of udgan_tf.")
    model["stabilisers"] = stabilisers
    return model
