"""Knobs: the named slices q_1..q_NA of the latent vector z (paper §3.2).

A knob is described once, in the config, and everything else is derived from that
description here: where it lives in z (``KnobLayout.latent_slices``), which siamese network
embeds it (``KnobLayout.siamese_plan``) and which columns of phi(x) are its
(``KnobLayout.embedding_slices``, ``embedding_names``). The model, the export, the
evaluation and the pictures read the layout; none of them derives a knob from a network.

Config form (a list under ``model.knobs``)::

    - {name: free, count: 7}                        # free_1 .. free_7, unguided
    - {name: x_position, guidance: center_of_mass_x}
    - {name: top, guidance: {name: crop, box: top}, width: 1, embedding_dim: 1}
"""

import dataclasses
import re

import numpy as np
import tensorflow as tf

#: The range of every knob value: the prior Unif(-1, 1) of training, the range edits clip to, the
#: sliders of the demo and the ``value_range`` of an export's ``knobs.json``.
VALUE_RANGE = (-1.0, 1.0)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SPEC_KEYS = ("name", "width", "guidance", "embedding_dim", "count")


class UnknownKnobError(ValueError):
    """A knob name that the model does not have; the message lists the ones it has."""


def knob_index(names, name):
    """The position of knob ``name`` in ``names`` (a model's knob names in z order).

    Raises:
        UnknownKnobError: naming ``name`` and the knobs there are.
    """
    names = list(names)
    if name not in names:
        raise UnknownKnobError(f"Unknown knob {name!r}. This model's knobs: {', '.join(names)}.")
    return names.index(name)


@dataclasses.dataclass(frozen=True)
class Knob:
    """One knob q_i.

    Attributes:
        name: str. A Python identifier; names the knob in logs, metrics and exports.
        width: int. Number of latent dimensions of the knob (the paper uses 1).
        guidance: None, str or dict. Guidance function spec (see ``udgan_tf.guidance.build``);
            None for an unguided knob, which shares the unguided siamese network.
        embedding_dim: int. Output dimensions of phi_i for this knob. Defaults to ``width``.
            0 makes a knob that no network embeds: InfoGAN's unregularised noise (Chen et al.
            2016, §4: z besides the codes c), which Q does not predict; UD-GAN rejects it.
    """

    name: str
    width: int = 1
    guidance: object = None
    embedding_dim: int = None

    def __post_init__(self):
        if self.embedding_dim is None:
            object.__setattr__(self, "embedding_dim", self.width)

    @property
    def guided(self):
        return self.guidance is not None

    @property
    def embedded(self):
        """False for a knob no network embeds (``embedding_dim`` 0: unregularised noise)."""
        return self.embedding_dim > 0

    def to_config(self):
        config = {"name": self.name, "width": self.width, "embedding_dim": self.embedding_dim}
        if self.guided:
            config["guidance"] = self.guidance
        return config


def parse_knobs(specs):
    """Turns the config's knob list into a tuple of ``Knob``, expanding ``count``.

    Raises:
        ValueError: naming the bad entry (unknown key, bad name, duplicate, width < 1).
    """
    if not isinstance(specs, (list, tuple)) or not specs:
        raise ValueError(f"model.knobs must be a non-empty list of knob specs. Received: {specs!r}")
    knobs = []
    for position, spec in enumerate(specs):
        if isinstance(spec, Knob):
            knobs.append(spec)
            continue
        if isinstance(spec, str):
            spec = {"name": spec}
        if not isinstance(spec, dict) or "name" not in spec:
            raise ValueError(f"model.knobs[{position}] must be a mapping with a 'name'. Received: {spec!r}")
        unknown = sorted(set(spec) - set(_SPEC_KEYS))
        if unknown:
            raise ValueError(
                f"model.knobs[{position}] has unknown key(s) {unknown}. Allowed: {list(_SPEC_KEYS)}."
            )
        spec = dict(spec)
        count = spec.pop("count", None)
        if count is None:
            knobs.append(_make_knob(spec, position))
            continue
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"model.knobs[{position}].count must be a positive integer. Received: {count!r}")
        for k in range(1, count + 1):
            knobs.append(_make_knob({**spec, "name": f"{spec['name']}_{k}"}, position))
    names = [knob.name for knob in knobs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Knob names must be unique. Duplicated: {duplicates}")
    return tuple(knobs)


def _make_knob(spec, position):
    name = spec["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"model.knobs[{position}].name must be an identifier (letters, digits, _). Received: {name!r}"
        )
    for key, least in (("width", 1), ("embedding_dim", 0)):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < least):
            raise ValueError(f"Knob '{name}': {key} must be an integer >= {least}. Received: {value!r}")
    return Knob(**spec)


#: Name of the one siamese network that all unguided knobs share (§4.1, footnote 1).
UNGUIDED_NETWORK = "siamese_unguided"


@dataclasses.dataclass(frozen=True)
class SiameseSlot:
    """One siamese network of the plan and the knobs it embeds.

    Attributes:
        network_name: str. The network's Keras name (``siamese_unguided`` for the shared
            network, ``siamese_<knob>`` for a guided knob's own); it also names the network's
            weights in checkpoints.
        knobs: tuple of Knob. The knobs whose embeddings this network outputs, in its output
            order (one knob for a guided network).
        guidance: None or a guidance spec (the guided knob's).
    """

    network_name: str
    knobs: tuple
    guidance: object = None

    @property
    def guided(self):
        return self.guidance is not None

    @property
    def output_dim(self):
        return sum(knob.embedding_dim for knob in self.knobs)

    @property
    def label(self):
        """What to call the network in pictures: the guided knob's name, or ``unguided``."""
        return self.knobs[0].name if self.guided else "unguided"


class KnobLayout:
    """Where each knob lives: in the latent vector z, in a siamese network, in phi(x).

    The embedding phi(x) concatenates each knob's embedding in knob order; unguided knobs
    take one slice each of the shared unguided network's output (§4.1, footnote 1); a
    guided knob has a network of its own behind its guidance.

    Attributes:
        knobs: tuple of Knob.
        latent_dim: int. Total width Z of z.
        embedding_dim: int. Total width E of phi(x).
        latent_slices, embedding_slices: list of slice, one per knob, into z and phi(x).
        latent_masks: float32 ``[N_A, Z]``, row i is 1 on knob i's slice of z.
        embedding_masks: float32 ``[N_A, E]``, row i is 1 on knob i's slice of phi(x).
        siamese_plan: tuple of SiameseSlot: the shared unguided network first (when there
            are unguided knobs), then one per guided knob in knob order.
        embedding_order: int32 ``[E]``: column j of phi(x) is column ``embedding_order[j]``
            of the concatenated outputs of the plan's networks.
    """

    def __init__(self, knobs):
        self.knobs = tuple(knobs)
        self.latent_slices = _slices([knob.width for knob in self.knobs])
        self.embedding_slices = _slices([knob.embedding_dim for knob in self.knobs])
        self.latent_dim = self.latent_slices[-1].stop
        self.embedding_dim = self.embedding_slices[-1].stop
        self.latent_masks = _masks(self.latent_slices, self.latent_dim)
        self.embedding_masks = _masks(self.embedding_slices, self.embedding_dim)
        self.siamese_plan = _siamese_plan(self.knobs)
        network_order = [knob for slot in self.siamese_plan for knob in slot.knobs]
        starts = dict(zip([k.name for k in network_order],
                          np.cumsum([0] + [k.embedding_dim for k in network_order]).tolist()))
        self.embedding_order = np.concatenate(
            [np.arange(k.embedding_dim) + starts[k.name] for k in self.knobs]).astype(np.int32)

    @property
    def names(self):
        return [knob.name for knob in self.knobs]

    @property
    def latent_names(self):
        """A name per column of z: the knob's, with ``_1``, ``_2``, ... when it is wider than 1."""
        return _column_names(self.knobs, "width")

    @property
    def embedding_names(self):
        """A name per column of phi(x): the knob's, with ``_1``, ``_2``, ... when it has several."""
        return _column_names(self.knobs, "embedding_dim")

    def index(self, name):
        """The position of knob ``name``; ``UnknownKnobError`` when there is none of that name."""
        return knob_index(self.names, name)

    def latent_slice(self, name):
        """The columns of z that knob ``name`` occupies, as a slice."""
        return self.latent_slices[self.index(name)]

    def knob(self, name):
        return self.knobs[self.index(name)]

    def slot_of(self, name):
        """The SiameseSlot whose network embeds knob ``name``."""
        knob = self.knob(name)
        return next(slot for slot in self.siamese_plan if knob in slot.knobs)


def _column_names(knobs, size):
    return [knob.name if getattr(knob, size) == 1 else f"{knob.name}_{i + 1}"
            for knob in knobs for i in range(getattr(knob, size))]


def _siamese_plan(knobs):
    unguided = tuple(k for k in knobs if not k.guided)
    slots = [SiameseSlot(UNGUIDED_NETWORK, unguided)] if unguided else []
    slots += [SiameseSlot(f"siamese_{k.name}", (k,), k.guidance) for k in knobs if k.guided]
    names = [slot.network_name for slot in slots]
    if len(set(names)) != len(names):
        raise ValueError(f"A guided knob may not be called 'unguided': its network would be "
                         f"{UNGUIDED_NETWORK!r}, the shared network of the unguided knobs. Rename it.")
    return tuple(slots)


def _slices(widths):
    offsets = np.concatenate([[0], np.cumsum(widths)]).astype(int)
    return [slice(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:])]


def _masks(slices, total):
    masks = np.zeros((len(slices), total), dtype=np.float32)
    for row, piece in enumerate(slices):
        masks[row, piece] = 1.0
    return masks


def knob_loss_name(name):
    """The log and history column of the contrastive loss of the quartets that drew knob ``name``."""
    return f"contrastive_{name}"


def build_quartet(u1, u2, v1, v2, latent_mask):
    """Builds the four latent vectors of Figure 1 for a batch of quartets.

    Knob i's slice comes from ``u_n``, every other knob from ``v_m``, so that
    x_n1 and x_n2 share q_i exactly while x_1m and x_2m' do not.

    Args:
        u1, u2: float32 ``[B, Z]``. Two draws q_i^(1), q_i^(2) (only knob i's slice is used).
        v1, v2: float32 ``[B, Z]``. Two draws of the other knobs q_\\bar{i}.
        latent_mask: float32 ``[B, Z]``. 1 on knob i's slice, per quartet.

    Returns:
        Tuple ``(z11, z12, z21, z22)``, each ``[B, Z]``.
    """

    def mix(u, v):
        return latent_mask * u + (1.0 - latent_mask) * v

    return mix(u1, v1), mix(u1, v2), mix(u2, v1), mix(u2, v2)


def adaptive_margin(u1, u2, latent_mask):
    """gamma_i^(1,2) = ||q_i^(1) - q_i^(2)||_2 (paper, after equation 2). Returns ``[B]``."""
    return tf.norm(latent_mask * (u1 - u2), axis=-1)
