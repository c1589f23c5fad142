"""Turning the knobs of a real image: a ``KnobEditor`` holds a trained model and its knob encoder
(composition, as keras-hub's ``Task`` wraps a ``Backbone``: the model knows nothing of editing).

``invert`` needs the run's knob encoder (``python -m udgan_tf.inversion --run-dir DIR``;
``load_editor`` finds it). Knob values live in ``knobs.VALUE_RANGE`` [-1, 1] (Unif(-1, 1) in
training); an edit adds its deltas (or sets its values) on every dimension of the named knob
and clips to that range.

Example:
    >>> editor = load_editor("runs/dsprites")              # with runs/dsprites/inversion/
    >>> knobs = editor.invert(images)                       # [B, Z]
    >>> larger = editor.edit(images, {"size": +0.5})       # [B, R, R, C]
"""

import numpy as np

from udgan_tf.editing.encoder import likelihood_of
from udgan_tf.editing.encoder_training import load_encoder
from udgan_tf.editing.image_files import ImageError, read_image
from udgan_tf.editing.refinement import refine
from udgan_tf.knobs import VALUE_RANGE
from udgan_tf.models import load_model


class EditingError(ValueError):
    """An inversion or edit that cannot run; the message names the problem and the fix."""


def apply_edit(layout, knobs, deltas=None, values=None):
    """Knobs ``[B, Z]`` with ``deltas`` ({knob name: value to add}) added and ``values`` ({knob name:
    value}) set on every dimension of the named knobs of ``layout`` (a ``KnobLayout``), clipped to
    ``VALUE_RANGE``. Returns a new array; ``knobs.UnknownKnobError`` for a name it does not have."""
    edited = np.array(knobs, dtype=np.float32, copy=True)
    for mapping, add in ((deltas or {}, True), (values or {}, False)):
        for name, value in mapping.items():
            value = float(value)
            if not np.isfinite(value):
                raise EditingError(f"The value of knob {name!r} must be a finite number. Received: {value}")
            columns = layout.latent_slice(name)
            edited[:, columns] = edited[:, columns] + value if add else value
    return np.clip(edited, *VALUE_RANGE)


class KnobEditor:
    """A trained model (any method's) and its knob encoder: images to knobs and back.

    Args:
        model: a trained model (``udgan_tf.models.load_model``).
        encoder: its ``KnobEncoder``, or None (``invert`` then says how to train one).
    """

    def __init__(self, model, encoder=None):
        self.model, self.encoder = model, encoder
        self.layout = model.layout
        self.image_shape = (model.resolution, model.resolution, model.channels)

    def generate(self, knobs):
        """Knobs ``[B, Z]`` -> images ``[B, R, R, C]`` in [0, 1] (the inference generator)."""
        return np.asarray(self.model.inference_generator(np.asarray(knobs, np.float32), training=False))

    def _checked_images(self, images):
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4 or images.shape[1:] != self.image_shape:
            raise EditingError(f"images must have shape [batch, {', '.join(map(str, self.image_shape))}]. Received: "
                               f"{list(images.shape)}")
        if not np.all(np.isfinite(images)):
            raise EditingError("images contain NaN or infinite values.")
        return images

    def invert(self, images, refine_steps=0, restarts=1, batch_size=256):
        """Knob values whose image is ``images``.

        Args:
            images: float32 ``[B, R, R, C]`` in [0, 1].
            refine_steps: Adam steps per image on the knobs after the encoder
                (``udgan_tf.editing.refinement.refine``); 0: the encoder's answer.
            restarts: starting points per image when refining.

        Returns:
            float32 ``[B, Z]`` in (-1, 1).
        """
        images = self._checked_images(images)
        if self.encoder is None:
            raise EditingError("This model has no knob encoder: train one with python -m udgan_tf.inversion "
                               "--run-dir RUN_DIR, then load the run again with load_editor.")
        batches = range(0, len(images), batch_size)
        knobs = np.concatenate([np.asarray(self.encoder(images[s:s + batch_size], training=False)) for s in batches]
                               or [np.zeros((0, self.layout.latent_dim))])
        if refine_steps:
            knobs = np.concatenate([refine(self.model.inference_generator, images[s:s + batch_size],
                                           knobs[s:s + batch_size], refine_steps, restarts,
                                           likelihood=likelihood_of(self.model.channels)) for s in batches])
        return knobs.astype(np.float32)

    def edit(self, images, deltas=None, values=None, refine_steps=0, restarts=1):
        """``images`` with knobs turned: ``deltas`` ({knob name: value to add}) and ``values``
        ({knob name: value to set}), both by the names of the model's knobs.

        Args:
            images: float32 ``[B, R, R, C]`` in [0, 1].

        Returns:
            float32 ``[B, R, R, C]``: G(edited knobs of invert(images)).
        """
        knobs = self.invert(images, refine_steps, restarts)
        return self.generate(apply_edit(self.layout, knobs, deltas, values))

    def edit_file(self, image_path, deltas=None, values=None, traverse=None, num_values=8, refine_steps=200,
                  restarts=4):
        """An image file edited: read (``read_image``), inverted, then ``deltas`` / ``values``
        applied, or with ``traverse`` (a knob name) that knob swept over ``num_values`` values
        in ``VALUE_RANGE``.

        Returns:
            (images ``[N, R, R, C]``: the input, its reconstruction and the result(s); the
            recovered knobs ``[Z]``).
        """
        if num_values < 2 or refine_steps < 0 or restarts < 1:
            raise EditingError(f"--values must be >= 2, --refine-steps >= 0 and --restarts >= 1. Received: "
                               f"{num_values}, {refine_steps}, {restarts}")
        try:
            with open(image_path, "rb") as file:
                data = file.read()
        except OSError as error:
            raise ImageError(f"Cannot read {image_path}: {error.strerror}.") from None
        image = read_image(data, self.model.resolution, self.model.channels)[None]
        recovered = self.invert(image, refine_steps=refine_steps, restarts=restarts)
        edited = apply_edit(self.layout, recovered, deltas, values)
        if traverse is not None:
            columns = self.layout.latent_slice(traverse)
            edited = np.repeat(edited, num_values, axis=0)
            edited[:, columns] = np.linspace(*VALUE_RANGE, num_values, dtype=np.float32)[:, None]
        return np.concatenate([image, self.generate(np.concatenate([recovered, edited]))]), recovered[0]


def load_editor(run_dir):
    """The ``KnobEditor`` of a run directory: its model and, when ``python -m udgan_tf.inversion``
    trained one, its knob encoder (else None).

    Raises:
        RunDirectoryError: not a run directory, or a run without a checkpoint.
    """
    model = load_model(run_dir)
    return KnobEditor(model, load_encoder(run_dir, model))
