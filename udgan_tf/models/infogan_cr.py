"""InfoGAN-CR (Lin et al. 2020): InfoGAN plus the contrastive regulariser, a network that tells
which code a pair of generated images shares."""

import keras
import tensorflow as tf

from udgan_tf import losses
from udgan_tf.models.distribution import replica_position
from udgan_tf.models.infogan import InfoGAN, check_weight, local_slice
from udgan_tf.networks import ConvEncoder


@keras.saving.register_keras_serializable("udgan_tf")
class InfoGANCR(InfoGAN):
    """InfoGAN-CR (Lin et al. 2020): ``InfoGAN`` plus the contrastive regulariser (CR).

    Each step also draws B pairs of code vectors (c, c') that share one knob k ~ Cat(K)
    (K = number of codes, the knobs with an embedding; a knob wider than 1 is one code; the
    noise knobs, ``embedding_dim: 0``, are shared by both images of a pair), generates both images of each
    pair, and lets the CR network H classify the pair, its two images stacked along the
    channels (2C channels), as "shares code k". H minimises the cross-entropy L_c
    (``losses.contrastive_regulariser_loss``); G minimises it too, weighted by alpha_t, so
    that G makes every code visible on its own:

        H:  L_c
        G:  -log D(G(c)) + info_weight * (-log Q(c | G(c))) + alpha_t * L_c

    The pairs (``contrastive_pair_codes``): code k takes the same value u ~ Unif(-1, 1) in
    both; each other code takes two values at least the gap g_t apart, drawn
    a, b ~ Unif(-1 + g/2, 1 - g/2) and then pushed g/2 further apart each.

    Schedules, in training steps t (``model.optimizer.iterations``):

        alpha_t = cr_weight_start + cr_weight_increase * min(cr_weight_increase_times, t // cr_weight_increase_every)
        g_t     = max(0, cr_gap_start - cr_gap_decrease * min(cr_gap_decrease_times, t // cr_gap_decrease_every))

    and H and its optimizer are re-initialised whenever alpha or g changes (at t > 0 a multiple
    of the period, up to the number of changes), as the reference does (the gap schedule is the paper's
    "progressive" training).

    Facts of the reference code (github.com/fjxmlzn/InfoGAN-CR, InfoGAN-CR_dSprites/):

    - ``crDiscriminator`` (gan/network.py, ``CrDiscriminator``): the two images concatenated
      along the channel axis (``tf.concat(..., axis=3)``, gan/infogan_cr.py), Conv 4x4 stride 2
      32, 32, 64, 64 -> FC 128 -> FC K, leaky ReLU 0.2, spectral normalisation on all but the last
      layer: ConvEncoder's ``"infogan_cr"`` layout with ``filters=32``. Here H is built like D
      (``stabilisers.discriminator_spectral_norm``, ``discriminator_normalization``).
    - Its loss: softmax cross-entropy with the one-hot shared code (``crd_loss``); G's loss
      adds ``cr_coe * crd_loss`` (``de_loss``); H is trained every step, also while
      ``cr_coe`` is 0 (gan/infogan_cr.py, ``build_loss``, ``train``).
    - Pairs (``JointLatent.sample_cr``, ``UniformLatent.sample_same`` / ``sample_different``,
      gan/latent.py): the shared code k ~ Cat(K) per pair (``np.random.choice``), equal in both
      (``alpha_same = 0``); the other codes ``sample_different`` with alpha = gap; the
      unregularised noise shared (``sample_same`` with alpha 0), as here for the noise knobs.
    - Schedule (``train``, gan/infogan_cr.py): at ``global_id > 0`` a multiple of
      ``gap_decrease_batch``, while fewer than ``gap_decrease_times`` decreases: re-initialise H
      and its Adam, ``gap -= gap_decrease`` (floor 0); at a multiple of
      ``cr_coe_increase_batch``, while fewer than ``cr_coe_increase_times`` increases:
      re-initialise H and its Adam, ``cr_coe += cr_coe_increase``.
    - dSprites values (config.py): ``cr_coe_start`` 0.0, ``cr_coe_increase`` 2.0,
      ``cr_coe_increase_times`` 1, ``cr_coe_increase_batch`` 288000 (of 28 epochs x 11520 steps
      of 64 images = 322560: the CR acts in the last 34560 steps); ``gap_start`` 0.0,
      ``gap_decrease`` 0.0, ``gap_decrease_times`` 0, ``gap_decrease_batch`` 1 (no gap);
      ``info_coe_de`` = ``info_coe_infod`` = 0.05; ``crd_lr`` 2e-3, beta_1 0.5. These are the
      defaults here, but the info weights (InfoGAN's) and the learning rates. 3D Teapot uses
      a gap: ``gap_start`` 1.9, ``gap_decrease`` 1.9, once, at step 85000 (InfoGAN-CR_3D_teapot/config.py).
    - The reference runs G's images of the pairs through G's batch norm in training mode only
      once ``cr_coe`` > 0 (``train_with_crd_pl``); here always.

    Args:
        knobs, resolution, channels, filters, architecture, info_weight,
        info_weight_discriminator, q_hidden_units, stabilisers, seed: as ``InfoGAN``. At least 2
        codes (knobs with an embedding).
        cr_weight_start: float >= 0. alpha_0. Defaults to 0.0.
        cr_weight_increase: float >= 0. What alpha grows by at each increase. Defaults to 2.0.
        cr_weight_increase_times: int >= 0. Number of increases. Defaults to 1.
        cr_weight_increase_every: int >= 1. Steps between increases. Defaults to 288000.
        cr_gap_start: float in [0, 2]. g_0, the least difference of the codes a pair does not
            share. Defaults to 0.0.
        cr_gap_decrease: float >= 0. What g shrinks by at each decrease. Defaults to 0.0.
        cr_gap_decrease_times: int >= 0. Number of decreases. Defaults to 0.
        cr_gap_decrease_every: int >= 1. Steps between decreases. Defaults to 1.

    Example:
        >>> model = InfoGANCR(knobs=[{"name": "code", "count": 3}], resolution=16, filters=8, seed=0,
        ...                   cr_weight_start=1.0)
        >>> model.compile()
        >>> images = tf.random.uniform((8, 16, 16, 1))
        >>> history = model.fit(tf.data.Dataset.from_tensors(images).repeat(), steps_per_epoch=1, verbose=0)
        >>> sorted(history.history)
        ['cr_loss', 'd_loss', 'g_loss', 'info_loss']
    """

    METHOD = "infogan_cr"
    OPTIMIZERS = ("generator", "discriminator", "contrastive")

    def __init__(self, knobs, resolution=64, channels=1, filters=32, architecture="table5", info_weight=1.0,
                 info_weight_discriminator=None, cr_weight_start=0.0, cr_weight_increase=2.0,
                 cr_weight_increase_times=1, cr_weight_increase_every=288000, cr_gap_start=0.0,
                 cr_gap_decrease=0.0, cr_gap_decrease_times=0, cr_gap_decrease_every=1, q_hidden_units=0,
                 stabilisers=None, seed=None, **kwargs):
        check_weight("cr_weight_start", cr_weight_start)
        check_weight("cr_weight_increase", cr_weight_increase)
        check_weight("cr_gap_decrease", cr_gap_decrease)
        if isinstance(cr_gap_start, bool) or not isinstance(cr_gap_start, (int, float)) or not 0 <= cr_gap_start <= 2:
            raise ValueError("cr_gap_start must be a number in [0, 2] (the width of the knob range [-1, 1]). "
                             f"Received: cr_gap_start={cr_gap_start!r}")
        for name, value, least in [("cr_weight_increase_times", cr_weight_increase_times, 0),
                                   ("cr_weight_increase_every", cr_weight_increase_every, 1),
                                   ("cr_gap_decrease_times", cr_gap_decrease_times, 0),
                                   ("cr_gap_decrease_every", cr_gap_decrease_every, 1)]:
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be an integer >= {least}. Received: {name}={value!r}")
        super().__init__(knobs, resolution=resolution, channels=channels, filters=filters, architecture=architecture,
                         info_weight=info_weight, info_weight_discriminator=info_weight_discriminator,
                         q_hidden_units=q_hidden_units, stabilisers=stabilisers, seed=seed, **kwargs)
        self.code_knobs = [index for index, knob in enumerate(self.knobs) if knob.embedded]
        if len(self.code_knobs) < 2:
            raise ValueError(f"method {self.METHOD!r} needs at least 2 codes (knobs with an embedding): its "
                             f"contrastive regulariser tells which code a pair of images shares. Received: "
                             f"{len(self.code_knobs)} code(s).")
        masks = self.layout.latent_masks
        #: float32 ``[K, Z]``: row k is 1 on code k's columns and on every noise column (what a
        #: pair sharing code k shares).
        self.pair_shared_masks = (tf.gather(masks, self.code_knobs)
                                  + tf.reduce_sum(masks, axis=0) - tf.reduce_sum(tf.gather(masks, self.code_knobs), axis=0))
        self.cr_weight_start = float(cr_weight_start)
        self.cr_weight_increase = float(cr_weight_increase)
        self.cr_weight_increase_times = cr_weight_increase_times
        self.cr_weight_increase_every = cr_weight_increase_every
        self.cr_gap_start = float(cr_gap_start)
        self.cr_gap_decrease = float(cr_gap_decrease)
        self.cr_gap_decrease_times = cr_gap_decrease_times
        self.cr_gap_decrease_every = cr_gap_decrease_every
        tricks = self.stabilisers
        # H in Lin et al.: a pair stacked along the channels -> logits of the shared knob.
        self.contrastive_network = ConvEncoder(len(self.code_knobs), resolution, filters,
                                               spectral_norm=tricks.discriminator_spectral_norm,
                                               normalization=tricks.discriminator_normalization,
                                               architecture=architecture, weight_init=tricks.weight_init,
                                               spectral_norm_form=tricks.spectral_norm_form,
                                               name="contrastive_network")
        self.contrastive_network(tf.zeros((1, resolution, resolution, 2 * channels)))
        # A fresh draw of H's weights, what H is reset to when the schedule changes alpha or g.
        self._contrastive_initial_weights = tuple(w.numpy() for w in self.contrastive_network.weights)
        self.cr_loss_tracker = keras.metrics.Mean(name="cr_loss")

    # ------------------------------------------------------------------ schedules
    def cr_weight_at(self, step):
        """alpha_t, the weight of L_c in G's loss after ``step`` training steps. Returns a float32 scalar."""
        return self.cr_weight_start + self.cr_weight_increase * changes_made(
            step, self.cr_weight_increase_times, self.cr_weight_increase_every)

    def cr_gap_at(self, step):
        """g_t, the least difference of the unshared codes of a pair after ``step`` steps. float32 scalar."""
        return tf.maximum(0.0, self.cr_gap_start - self.cr_gap_decrease * changes_made(
            step, self.cr_gap_decrease_times, self.cr_gap_decrease_every))

    def resets_at(self, step):
        """True where the schedule changes alpha or g, so H and its optimizer start afresh. bool scalar."""
        return (changes_now(step, self.cr_weight_increase_times, self.cr_weight_increase_every)
                | changes_now(step, self.cr_gap_decrease_times, self.cr_gap_decrease_every))

    # ------------------------------------------------------------------ training
    def compile(self, generator_optimizer=None, discriminator_optimizer=None, contrastive_optimizer=None,
                **kwargs):
        """As ``InfoGAN.compile``, plus H's optimizer (Adam, lr 2e-4, beta_1 0.5 by default)."""
        super().compile(generator_optimizer=generator_optimizer, discriminator_optimizer=discriminator_optimizer,
                        **kwargs)
        self.contrastive_optimizer = contrastive_optimizer or keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)
        self.contrastive_optimizer.build(self.contrastive_network.trainable_variables)
        self._contrastive_optimizer_initial = tuple(v.numpy() for v in self.contrastive_optimizer.variables)

    @property
    def metrics(self):
        return [*super().metrics, self.cr_loss_tracker]

    def update_plan(self):
        return {**super().update_plan(),
                "contrastive_objective": (self.contrastive_optimizer, self.contrastive_network.trainable_variables)}

    def sample_step(self, batch_size):
        """InfoGAN's codes plus B pairs: ``pair_codes`` ``[2B, Z]`` (the first images of the pairs,
        then the second ones) and ``shared_code`` int32 ``[B]``, the code each pair shares (an
        index into ``code_knobs``)."""
        sample = super().sample_step(batch_size)
        replicas, _ = replica_position()
        num = batch_size * replicas
        shared_code = tf.cast(keras.random.randint((num,), 0, len(self.code_knobs), seed=self.seed_generator),
                              tf.int32)
        shared, first, second = tf.unstack(
            keras.random.uniform((3, num, self.layout.latent_dim), -1.0, 1.0, seed=self.seed_generator))
        shared_mask = tf.gather(self.pair_shared_masks, shared_code)
        pair = contrastive_pair_codes(shared, first, second, shared_mask, self.cr_gap_at(self.optimizer.iterations))
        pair = [local_slice(codes, batch_size) for codes in pair]
        return {**sample, "pair_codes": tf.concat(pair, axis=0), "shared_code": local_slice(shared_code, batch_size)}

    def regulariser_losses(self, sample, training=True):
        """L_c of H on G's pairs: ``cr_loss``, H's objective ``contrastive_objective`` (L_c) and G's
        share ``generator_regulariser`` (alpha_t L_c).

        While ``idle_at`` the step (alpha is 0 and H is re-initialised before alpha first grows),
        H's work could change nothing: G's share is 0 and H's weights are thrown away. G then
        draws no pair images, H does not run, and all three are 0 (the reference trains H then anyway; InfoGAN-CR's
        dSprites schedule is idle for 288,000 of its 322,560 steps).
        """
        def active():
            first, second = tf.split(self.generator(sample["pair_codes"], training=True), 2, axis=0)
            logits = self.contrastive_network(tf.concat([first, second], axis=-1), training=training)
            return losses.contrastive_regulariser_loss(tf.cast(logits, tf.float32), sample["shared_code"])

        step = self.optimizer.iterations
        if self.first_reset_step() is None or self.cr_weight_start > 0:
            cr_loss = active()
        else:
            cr_loss = tf.cond(self.idle_at(step), lambda: tf.zeros((), tf.float32), active)
        return {"cr_loss": cr_loss, "contrastive_objective": cr_loss,
                "generator_regulariser": self.cr_weight_at(step) * cr_loss}

    def first_reset_step(self):
        """The first step at which the schedules re-initialise H, or None when they never do."""
        steps = [every for times, every in ((self.cr_weight_increase_times, self.cr_weight_increase_every),
                                            (self.cr_gap_decrease_times, self.cr_gap_decrease_every)) if times > 0]
        return min(steps) if steps else None

    def idle_at(self, step):
        """True while the regulariser cannot matter: alpha_0 is 0 and ``step`` comes before H's first
        re-initialisation. bool scalar."""
        first = self.first_reset_step()
        if first is None or self.cr_weight_start > 0:
            return tf.constant(False)
        return tf.cast(step, tf.int64) < first

    def reset_contrastive_network(self):
        """Re-initialises H and its optimizer at the steps where the schedule changes alpha or g
        (``resets_at``); elsewhere leaves them as they are.

        Runs in the cross-replica context, as the optimizers' own updates do.
        """
        if self.cr_weight_increase_times == 0 and self.cr_gap_decrease_times == 0:
            return
        reset = self.resets_at(self.optimizer.iterations)
        pairs = list(zip([v.value for v in self.contrastive_network.weights + self.contrastive_optimizer.variables],
                         self._contrastive_initial_weights + self._contrastive_optimizer_initial))

        def update(strategy, pairs):
            for variable, initial in pairs:
                strategy.extended.update(variable, lambda v, init: v.assign(tf.where(reset, init, v)),
                                         args=(tf.constant(initial, dtype=variable.dtype),), group=False)

        tf.__internal__.distribute.interim.maybe_merge_call(update, tf.distribute.get_strategy(), pairs)

    def train_step(self, data):
        self.reset_contrastive_network()
        return super().train_step(data)

    def get_config(self):
        return {**super().get_config(),
                "cr_weight_start": self.cr_weight_start, "cr_weight_increase": self.cr_weight_increase,
                "cr_weight_increase_times": self.cr_weight_increase_times,
                "cr_weight_increase_every": self.cr_weight_increase_every,
                "cr_gap_start": self.cr_gap_start, "cr_gap_decrease": self.cr_gap_decrease,
                "cr_gap_decrease_times": self.cr_gap_decrease_times,
                "cr_gap_decrease_every": self.cr_gap_decrease_every}


def changes_made(step, times, every):
    """How many of ``times`` changes, one every ``every`` steps from step ``every`` on, a schedule
    has made after ``step`` steps: min(times, step // every). float32 scalar."""
    step = tf.cast(step, tf.int64)
    return tf.cast(tf.minimum(tf.constant(times, tf.int64), step // every), tf.float32)


def changes_now(step, times, every):
    """True at the steps where such a schedule makes a change: step > 0 a multiple of ``every``,
    the change one of the first ``times``. bool scalar."""
    step = tf.cast(step, tf.int64)
    return (step > 0) & (step % every == 0) & (step // every <= times)


def contrastive_pair_codes(shared, first, second, shared_mask, gap):
    """The two code vectors of InfoGAN-CR's pairs (``JointLatent.sample_cr``, InfoGAN-CR_dSprites/gan/latent.py).

    The shared code takes ``shared`` in both; every other code takes a = (1 - g/2) ``first`` and
    b = (1 - g/2) ``second`` (so a, b ~ Unif(-1 + g/2, 1 - g/2)), each then moved g/2 away from
    the other, so that |c - c'| = |a - b| + g >= g and both stay in [-1, 1].

    Args:
        shared, first, second: float32 ``[B, Z]``, draws of Unif(-1, 1).
        shared_mask: float32 ``[B, Z]``, 1 on the shared knob's columns.
        gap: float scalar g in [0, 2].

    Returns:
        ``(c, c')``, float32 ``[B, Z]`` each.
    """
    half_gap = 0.5 * gap
    a, b = (1.0 - half_gap) * first, (1.0 - half_gap) * second
    sign = tf.where(a > b, 1.0, -1.0)
    a, b = a + sign * half_gap, b - sign * half_gap
    return (shared_mask * shared + (1.0 - shared_mask) * a,
            shared_mask * shared + (1.0 - shared_mask) * b)
