"""Turning the knobs of a real image: ``model.invert(images)`` and ``model.edit(images, {...})``
on every method's model, and reading an image file into the model's input.

``invert`` needs the run's knob encoder (``python -m udgan_tf.inversion --run-dir DIR``;
``load_model`` attaches it). Knob values live in [-1, 1] (Unif(-1, 1) in training); an edit
adds its deltas (or sets its values) on every dimension of the named knob and clips to that
range.

Example:
    >>> model = load_model("runs/dsprites")              # with runs/dsprites/inversion/
    >>> knobs = model.invert(images)                       # [B, Z]
    >>> larger = model.edit(images, {"size": +0.5})       # [B, R, R, C]
"""

import io
import weakref

import numpy as np

from udgan_tf.inversion import likelihood_of, refine

#: The knob range of every method.
VALUE_RANGE = (-1.0, 1.0)
#: The largest image (width x height) read: larger ones are refused before they are decoded.
MAX_PIXELS = 2048 * 2048
#: The largest image file read, in bytes.
MAX_FILE_BYTES = 10 * 1024 * 1024

_ENCODERS = weakref.WeakKeyDictionary()   # model -> its KnobEncoder, kept out of the model's saved weights


class EditingError(ValueError):
    """An inversion or edit that cannot run; the message names the problem and the fix."""


class ImageError(ValueError):
    """An image that cannot be used; the message names the problem and the fix."""


def attach_encoder(model, encoder):
    """Gives ``model`` its knob encoder (``udgan_tf.inversion.KnobEncoder``) for ``invert``."""
    _ENCODERS[model] = encoder


def knob_columns(model, name):
    """The columns of z that knob ``name`` occupies, as a slice. EditingError for an unknown name."""
    for knob, columns in zip(model.knobs, model.layout.latent_slices):
        if knob.name == name:
            return columns
    raise EditingError(f"Unknown knob {name!r}. This model's knobs: {', '.join(k.name for k in model.knobs)}.")


def apply_edit(model, knobs, deltas=None, values=None):
    """Knobs ``[B, Z]`` with ``deltas`` ({knob name: value to add}) added and ``values`` ({knob name:
    value}) set on every dimension of the named knobs, clipped to [-1, 1]. Returns a new array."""
    edited = np.array(knobs, dtype=np.float32, copy=True)
    for mapping, add in ((deltas or {}, True), (values or {}, False)):
        for name, value in mapping.items():
            value = float(value)
            if not np.isfinite(value):
                raise EditingError(f"The value of knob {name!r} must be a finite number. Received: {value}")
            columns = knob_columns(model, name)
            edited[:, columns] = edited[:, columns] + value if add else value
    return np.clip(edited, *VALUE_RANGE)


class EditsImages:
    """Mixin for every method's ``keras.Model``: ``invert`` and ``edit`` (needs ``knobs``,
    ``layout``, ``inference_generator``, ``resolution``, ``channels``)."""

    @property
    def knob_encoder(self):
        return _ENCODERS.get(self)

    def _checked_images(self, images):
        images = np.asarray(images, dtype=np.float32)
        expected = (self.resolution, self.resolution, self.channels)
        if images.ndim != 4 or images.shape[1:] != expected:
            raise EditingError(f"images must have shape [batch, {', '.join(map(str, expected))}]. Received: "
                               f"{list(images.shape)}")
        if not np.all(np.isfinite(images)):
            raise EditingError("images contain NaN or infinite values.")
        return images

    def invert(self, images, refine_steps=0, restarts=1, batch_size=256):
        """Knob values whose image is ``images``.

        Args:
            images: float32 ``[B, R, R, C]`` in [0, 1].
            refine_steps: Adam steps per image on the knobs after the encoder
                (``udgan_tf.inversion.refine``); 0: the encoder's answer.
            restarts: starting points per image when refining.

        Returns:
            float32 ``[B, Z]`` in (-1, 1).
        """
        images = self._checked_images(images)
        if self.knob_encoder is None:
            raise EditingError("This model has no knob encoder: train one with python -m udgan_tf.inversion "
                               "--run-dir RUN_DIR, then load the run again with load_model.")
        knobs = np.concatenate([np.asarray(self.knob_encoder(images[s:s + batch_size], training=False))
                                for s in range(0, len(images), batch_size)] or [np.zeros((0, self.layout.latent_dim))])
        if refine_steps:
            knobs = np.concatenate([refine(self.inference_generator, images[s:s + batch_size],
                                           knobs[s:s + batch_size], refine_steps, restarts,
                                           likelihood=likelihood_of(self.channels))
                                    for s in range(0, len(images), batch_size)])
        return knobs.astype(np.float32)

    def edit(self, images, deltas=None, values=None, refine_steps=0, restarts=1):
        """``images`` with knobs turned: ``deltas`` ({knob name: value to add}) and ``values``
        ({knob name: value to set}), both by the names of ``self.knobs``.

        Args:
            images: float32 ``[B, R, R, C]`` in [0, 1].

        Returns:
            float32 ``[B, R, R, C]``: G(edited knobs of invert(images)).
        """
        knobs = self.invert(images, refine_steps, restarts)
        return np.asarray(self.inference_generator(apply_edit(self, knobs, deltas, values), training=False))


def read_image(data, resolution, channels, max_pixels=MAX_PIXELS, max_bytes=MAX_FILE_BYTES):
    """An image file's bytes -> float32 ``[resolution, resolution, channels]`` in [0, 1].

    The image is resized (area average) to the model's resolution; a non-square one is
    centre-cropped to a square first. An alpha channel is dropped.

    Raises:
        ImageError: empty, too large (bytes or pixels), not an image, or of another channel
            count than the model's (a colour image for a grayscale model, or the reverse).
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ImageError("The file is empty: choose a PNG or JPEG image.")
    if len(data) > max_bytes:
        raise ImageError(f"The file is {len(data) / 2 ** 20:.1f} MiB; the limit is {max_bytes / 2 ** 20:.0f} MiB.")
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > max_pixels:
            raise ImageError(f"The image is {width}x{height} pixels; the limit is {max_pixels:,} pixels (e.g. "
                             f"{int(max_pixels ** 0.5)}x{int(max_pixels ** 0.5)}). Resize it first.")
        image.load()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("The file is not an image this can read: choose a PNG or JPEG image.") from None
    except (OSError, SyntaxError, ValueError) as error:   # a truncated or corrupt image file
        raise ImageError(f"The image file is damaged and cannot be read ({error}): choose another one.") from None
    bands = [band for band in image.getbands() if band not in ("A", "P")] or ["L"]
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        bands = ["R", "G", "B"]
    found = 1 if len(bands) == 1 else 3
    if found != channels:
        what = {1: "grayscale (1 channel)", 3: "colour (3 channels)"}
        raise ImageError(f"The model draws {what.get(channels, f'{channels}-channel')} images; this image is "
                         f"{what[found]}. Convert it first.")
    image = image.convert("L" if channels == 1 else "RGB")
    side = min(image.size)
    left, top = (image.size[0] - side) // 2, (image.size[1] - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((resolution, resolution), Image.Resampling.BOX)
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    return pixels.reshape(resolution, resolution, channels)
