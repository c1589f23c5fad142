"""Guidance functions for UD-GAN-G (paper §3.3, Appendices B, C, D).

A guidance function sits in front of a guided siamese network and restricts
what it sees, so that the network (and therefore its latent knob) captures one
chosen semantic variation. Every guidance function here is a pure, differentiable
TensorFlow function of the generated images, so the contrastive loss of the
siamese network can back-propagate into the generator.

Conventions shared by all functions:

* Input ``images``: float32 ``[B, H, W, C]`` with values in ``[0, 1]``; ``B``
  may be symbolic (``None`` inside ``tf.function``), ``C`` is 1 or 3 (any ``C``
  works).
* Output: float32, either images ``[B, h, w, c]`` or vectors ``[B, D]``.
* "Intensity" of a pixel is the mean over its channels.

Built-in guidance functions (registered under these names):

* ``crop`` (§3.3, Figure 2): a rectangular crop of the image.
* ``center_of_mass_x``, ``center_of_mass_y``, ``object_size`` (Appendix D,
  equation 8): intensity-weighted centre of mass and spread, ``[B, 1]``.
* ``average_color`` (Appendix B): mean colour of randomly sampled pixels,
  ``[B, C]``.
* ``edges`` (Appendix C): Sobel gradient magnitude of the grey image,
  ``[B, H, W, 1]``.

Named CelebA crop boxes (Figure 2). The paper gives no numbers; we use four
horizontal strips of equal height (quarters of the aligned face image), full
width. Boxes are ``(top, left, height, width)`` as fractions of the image size:

============== ============================ ========================== ================
name           fractions                    content                    rows on 64x64
============== ============================ ========================== ================
top            (0.00, 0.0, 0.25, 1.0)       hair / forehead            0:16
middle_upper   (0.25, 0.0, 0.25, 1.0)       eyes                       16:32
middle_lower   (0.50, 0.0, 0.25, 1.0)       nose                       32:48
bottom         (0.75, 0.0, 0.25, 1.0)       mouth / chin               48:64
============== ============================ ========================== ================

Fractions are turned into pixel bounds by rounding half up, ``floor(f * H +
0.5)``, so a 64x64 image gives 16-row strips and a 32x32 image 8-row strips.

Registry: ``register``, ``unregister``, ``get``, ``registered_names`` and
``build`` let configs refer to guidance functions by name, e.g.
``build({"name": "crop", "box": "top"})``.

Why one module of over 400 lines: the paper's guidance functions (Appendices B-D) are short
pure functions read side by side, each with its equation and tensor shapes in its docstring;
the registry beside them is what configs name them through.
"""

import functools
import math
from collections.abc import Mapping

import tensorflow as tf

from udgan_tf.keywords import keyword_names, takes_any_keyword

__all__ = [
    "CROP_BOXES",
    "EPSILON",
    "Guidance",
    "average_color",
    "build",
    "center_of_mass_x",
    "center_of_mass_y",
    "crop",
    "crop_bounds",
    "edges",
    "get",
    "object_area",
    "object_size",
    "register",
    "registered_names",
    "unregister",
]

#: Named CelebA crop boxes of Figure 2, as ``(top, left, height, width)``
#: fractions of the image size. See the module docstring.
CROP_BOXES = {
    "top": (0.0, 0.0, 0.25, 1.0),
    "middle_upper": (0.25, 0.0, 0.25, 1.0),
    "middle_lower": (0.5, 0.0, 0.25, 1.0),
    "bottom": (0.75, 0.0, 0.25, 1.0),
}

#: Default epsilon protecting the normaliser ``Z`` of equation 8 and the square
#: root of the edge magnitude.
EPSILON = 1e-6

# Tolerance for float round-off when checking / rounding box fractions.
_FRACTION_TOL = 1e-9

_REGISTRY = {}


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #


def _as_images(images):
    """Converts ``images`` to a float32 tensor and checks it has rank 4."""
    images = tf.convert_to_tensor(images)
    if images.dtype != tf.float32:
        images = tf.cast(images, tf.float32)
    if images.shape.rank is not None and images.shape.rank != 4:
        raise ValueError(
            f"Guidance functions expect images of shape [B, H, W, C]; "
            f"got shape {images.shape}."
        )
    return images


def _intensity(images):
    """Per-pixel intensity, the mean over channels. ``[B, H, W, C] -> [B, H, W]``."""
    return tf.reduce_mean(images, axis=-1)


def _normalised_coords(size):
    """Pixel indices ``0..size-1`` divided by ``size - 1`` (0 if ``size == 1``).

    Args:
        size: int32 scalar tensor, number of pixels along one axis.

    Returns:
        float32 ``[size]`` with values in [0, 1].
    """
    denom = tf.maximum(tf.cast(size - 1, tf.float32), 1.0)
    return tf.range(size, dtype=tf.float32) / denom


def _moments(images, epsilon):
    """Intensity, normalised coordinates, ``Z`` and centre of mass (equation 8).

    Args:
        images: float32 ``[B, H, W, C]``.
        epsilon: added to ``Z`` so an all-black image gives finite values.

    Returns:
        Tuple ``(x, cx, cy, z, mx, my)``: ``x`` intensity ``[B, H, W]``; ``cx``
        column coordinates ``[1, 1, W]``; ``cy`` row coordinates ``[1, H, 1]``;
        ``z`` ``[B]`` (epsilon included); ``mx``, ``my`` ``[B]``.
    """
    images = _as_images(images)
    x = _intensity(images)
    shape = tf.shape(x)
    cy = tf.reshape(_normalised_coords(shape[1]), [1, -1, 1])
    cx = tf.reshape(_normalised_coords(shape[2]), [1, 1, -1])
    z = tf.reduce_sum(x, axis=[1, 2]) + epsilon
    mx = tf.reduce_sum(cx * x, axis=[1, 2]) / z
    my = tf.reduce_sum(cy * x, axis=[1, 2]) / z
    return x, cx, cy, z, mx, my


def _resolve_box(box):
    """Returns ``(label, (top, left, height, width))`` for a named or explicit box."""
    if isinstance(box, str):
        if box not in CROP_BOXES:
            raise ValueError(
                f"Unknown crop box {box!r}. Named boxes: "
                f"{', '.join(sorted(CROP_BOXES))}; or pass a 4-tuple "
                f"(top, left, height, width) of fractions in [0, 1]."
            )
        return repr(box), CROP_BOXES[box]
    try:
        values = tuple(box)
    except TypeError:
        values = None
    if (
        values is None
        or len(values) != 4
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        )
    ):
        raise ValueError(
            f"Crop box {box!r} must be a named box "
            f"({', '.join(sorted(CROP_BOXES))}) or a 4-tuple "
            f"(top, left, height, width) of fractions in [0, 1]."
        )
    return repr(tuple(box)), tuple(float(v) for v in values)


def _fraction_to_pixel(fraction, size):
    """Rounds ``fraction * size`` half up to an integer pixel bound."""
    return int(math.floor(fraction * size + 0.5 + _FRACTION_TOL))


def crop_bounds(box, height, width):
    """Pixel bounds of a crop box at a given resolution.

    Args:
        box: a name in ``CROP_BOXES`` or a 4-tuple ``(top, left, height,
            width)`` of fractions of the image size in [0, 1].
        height: image height ``H`` in pixels.
        width: image width ``W`` in pixels.

    Returns:
        ``(row_start, row_end, col_start, col_end)``, half-open pixel bounds.

    Raises:
        ValueError: unknown box name, malformed box, box outside [0, 1] or
            box that is empty at this resolution. The message names the box.
    """
    label, (top, left, box_h, box_w) = _resolve_box(box)
    tol = _FRACTION_TOL
    if not all(math.isfinite(v) for v in (top, left, box_h, box_w)) or (
        top < -tol
        or left < -tol
        or box_h <= 0
        or box_w <= 0
        or top + box_h > 1 + tol
        or left + box_w > 1 + tol
    ):
        raise ValueError(
            f"Crop box {label} = {(top, left, box_h, box_w)} lies outside the "
            f"image: need top, left >= 0, height, width > 0, top + height <= 1 "
            f"and left + width <= 1."
        )
    r0 = _fraction_to_pixel(top, height)
    r1 = _fraction_to_pixel(top + box_h, height)
    c0 = _fraction_to_pixel(left, width)
    c1 = _fraction_to_pixel(left + box_w, width)
    if r1 <= r0 or c1 <= c0:
        raise ValueError(
            f"Crop box {label} = {(top, left, box_h, box_w)} is empty at "
            f"{height}x{width} resolution (rows {r0}:{r1}, cols {c0}:{c1})."
        )
    return r0, r1, c0, c1


# --------------------------------------------------------------------------- #
# Guidance functions
# --------------------------------------------------------------------------- #


def crop(images, box):
    """Crops a rectangle of the image (§3.3, Figure 2; Appendix C).

    Args:
        images: float32 ``[B, H, W, C]`` in [0, 1]; ``H`` and ``W`` must be
            known statically.
        box: a name in ``CROP_BOXES`` (``"top"``, ``"middle_upper"``,
            ``"middle_lower"``, ``"bottom"``) or a 4-tuple ``(top, left,
            height, width)`` of fractions of the image size in [0, 1].

    Returns:
        float32 ``[B, h, w, C]``, the cropped images.

    Raises:
        ValueError: if the box is unknown, outside [0, 1], or empty at this
            resolution, or if ``H``/``W`` are not static.
    """
    images = _as_images(images)
    height, width = images.shape[1], images.shape[2]
    if height is None or width is None:
        raise ValueError(
            f"crop needs a static image height and width; got shape {images.shape}."
        )
    r0, r1, c0, c1 = crop_bounds(box, height, width)
    return images[:, r0:r1, c0:c1, :]


def center_of_mass_x(images, epsilon=EPSILON):
    """Horizontal centre of mass M_x of equation 8 (Appendix D).

    ``M_x = sum(c_x * x) / Z`` with ``x`` the pixel intensity (mean over
    channels), ``c_x = column / (W - 1)`` and ``Z = sum(x) + epsilon``.

    Args:
        images: float32 ``[B, H, W, C]`` in [0, 1].
        epsilon: protects ``Z`` so an all-black image gives 0, not NaN.

    Returns:
        float32 ``[B, 1]`` in [0, 1].
    """
    _, _, _, _, mx, _ = _moments(images, epsilon)
    return mx[:, None]


def center_of_mass_y(images, epsilon=EPSILON):
    """Vertical centre of mass M_y of equation 8 (Appendix D).

    ``M_y = sum(c_y * x) / Z`` with ``c_y = row / (H - 1)``; see
    ``center_of_mass_x``.

    Args:
        images: float32 ``[B, H, W, C]`` in [0, 1].
        epsilon: protects ``Z`` so an all-black image gives 0, not NaN.

    Returns:
        float32 ``[B, 1]`` in [0, 1].
    """
    _, _, _, _, _, my = _moments(images, epsilon)
    return my[:, None]


def object_size(images, epsilon=EPSILON):
    """Object size S of equation 8 (Appendix D).

    ``S = sum(((c_x - M_x)^2 + (c_y - M_y)^2) * x) / Z``: the intensity-weighted
    mean squared distance from the centre of mass, in normalised coordinates
    (``c_x = column / (W - 1)``, ``c_y = row / (H - 1)``). A single lit pixel
    has size 0; a uniform ``s x s`` square has size ``(s^2 - 1) / 12 * (1 /
    (W - 1)^2 + 1 / (H - 1)^2)``.

    Args:
        images: float32 ``[B, H, W, C]`` in [0, 1].
        epsilon: protects ``Z`` so an all-black image gives 0, not NaN.

    Returns:
        float32 ``[B, 1]``, non-negative.
    """
    x, cx, cy, z, mx, my = _moments(images, epsilon)
    sq_dist = (cx - mx[:, None, None]) ** 2 + (cy - my[:, None, None]) ** 2
    s = tf.reduce_sum(sq_dist * x, axis=[1, 2]) / z
    return s[:, None]


def object_area(images):
    """Lit share of the image, ``A = sum(x) / (H * W)``: object size as area (not in the paper).

    The paper measures size by the spread S of equation 8 (``object_size``), which
    weighs every pixel by its squared distance from the centre of mass: on a sprite of
    200 pixels, one stray lit pixel half an image away raises S by about 12 %, as much as
    growing the sprite by 6 %, while it raises A by 0.5 %. A generator rewarded for
    changing S therefore learns to sprinkle specks; rewarded for changing A it has to
    grow the object. For a given shape A grows with the square of its scale, as S does.

    Args:
        images: float32 ``[B, H, W, C]`` in [0, 1].

    Returns:
        float32 ``[B, 1]`` in [0, 1].
    """
    return tf.reduce_mean(_intensity(_as_images(images)), axis=[1, 2])[:, None]


def average_color(images, num_pixels=64, seed=None):
    """Mean colour of randomly sampled pixels (Appendix B).

    For every image, ``num_pixels`` positions are drawn uniformly at random
    (with replacement) on each call, and their colours are averaged. This hides
    the spatial structure (shape) from the siamese network, leaving colour.

    Args:
        images: float32 ``[B, H, W, C]`` in [0, 1].
        num_pixels: positive int, number of pixels sampled per image.
        seed: optional int or pair of ints. If given, sampling uses stateless
            random ops, so the same seed gives the same positions.

    Returns:
        float32 ``[B, C]``.
    """
    if isinstance(num_pixels, bool) or not isinstance(num_pixels, int) or num_pixels < 1:
        raise ValueError(f"num_pixels must be a positive int; got {num_pixels!r}.")
    images = _as_images(images)
    shape = tf.shape(images)
    batch, num_positions, channels = shape[0], shape[1] * shape[2], shape[3]
    flat = tf.reshape(images, [batch, num_positions, channels])
    sample_shape = [batch, num_pixels]
    if seed is None:
        idx = tf.random.uniform(
            sample_shape, minval=0, maxval=num_positions, dtype=tf.int32
        )
    else:
        if isinstance(seed, int):
            seed = (seed, 0)
        idx = tf.random.stateless_uniform(
            sample_shape,
            seed=tf.constant(seed, dtype=tf.int64),
            minval=0,
            maxval=num_positions,
            dtype=tf.int32,
        )
    sampled = tf.gather(flat, idx, batch_dims=1)  # [B, num_pixels, C]
    out = tf.reduce_mean(sampled, axis=1)
    if images.shape[-1] is not None:
        out = tf.ensure_shape(out, [None, images.shape[-1]])
    return out


def edges(images, epsilon=EPSILON):
    """Sobel edge magnitude of the grey image (Appendix C).

    The grey image is the mean over channels. The magnitude is
    ``sqrt(g_x^2 + g_y^2 + epsilon) - sqrt(epsilon)``: epsilon keeps the
    gradient finite in flat regions, and subtracting ``sqrt(epsilon)`` makes
    flat regions exactly 0. Borders use reflection padding
    (``tf.image.sobel_edges``). Unnormalised Sobel kernels are used, so a unit
    step gives a response of 4 on the two columns either side of it.

    Args:
        images: float32 ``[B, H, W, C]`` in [0, 1].
        epsilon: small positive constant inside the square root.

    Returns:
        float32 ``[B, H, W, 1]``, non-negative.
    """
    images = _as_images(images)
    grey = tf.reduce_mean(images, axis=-1, keepdims=True)
    grad = tf.image.sobel_edges(grey)  # [B, H, W, 1, 2] (dy, dx)
    sq = tf.reduce_sum(tf.square(grad), axis=-1)  # [B, H, W, 1]
    return tf.sqrt(sq + epsilon) - math.sqrt(epsilon)


# --------------------------------------------------------------------------- #
# Registry
# --------------------------------------------------------------------------- #


def register(name, fn=None, *, overwrite=False):
    """Registers a guidance function under ``name``.

    Usable directly, ``register("mine", fn)``, or as a decorator,
    ``@register("mine")``. The function must take the images ``[B, H, W, C]``
    as its first argument; any further keyword arguments become config params
    accepted by ``build``.

    Args:
        name: non-empty str.
        fn: callable ``images -> features``. Omit to get a decorator.
        overwrite: replace an existing registration instead of raising.

    Returns:
        ``fn`` (or, as a decorator factory, a decorator returning ``fn``).

    Raises:
        ValueError: if ``name`` is already registered and not ``overwrite``,
            or is empty.
        TypeError: if ``name`` is not a str or ``fn`` is not callable.
    """
    if not isinstance(name, str):
        raise TypeError(f"Guidance name must be a str; got {name!r}.")
    if not name:
        raise ValueError("Guidance name must be non-empty.")
    if fn is None:
        return functools.partial(register, name, overwrite=overwrite)
    if not callable(fn):
        raise TypeError(f"Guidance {name!r} must be callable; got {fn!r}.")
    if name in _REGISTRY and not overwrite:
        raise ValueError(
            f"Guidance {name!r} already exists; pass overwrite=True to replace it."
        )
    _REGISTRY[name] = fn
    return fn


def unregister(name):
    """Removes ``name`` from the registry and returns its function.

    Raises:
        ValueError: if ``name`` is not registered.
    """
    get(name)
    return _REGISTRY.pop(name)


def get(name):
    """Returns the guidance function registered under ``name``.

    Raises:
        ValueError: if ``name`` is unknown; the message lists registered names.
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown guidance {name!r}. Registered: {', '.join(registered_names())}"
        ) from None


def registered_names():
    """Sorted list of registered guidance names."""
    return sorted(_REGISTRY)


class Guidance:
    """A guidance function bound to its config params: ``images -> features``.

    Attributes:
        name: registered name.
        params: dict of keyword arguments passed on each call.
        spec: the config spec, ``{"name": name, **params}``.
        fn: the underlying function.
    """

    def __init__(self, name, fn, params):
        self.name = name
        self.fn = fn
        self.params = dict(params)
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        self.__name__ = f"{name}({args})" if args else name

    @property
    def spec(self):
        return {"name": self.name, **self.params}

    def __call__(self, images):
        """Applies the guidance. ``[B, H, W, C] -> [B, h, w, c]`` or ``[B, D]``."""
        return self.fn(images, **self.params)

    def __repr__(self):
        return f"Guidance({self.__name__})"


def build(spec):
    """Turns a config spec into a callable ``images -> features``.

    Args:
        spec: a registered name (``"edges"``) or a dict ``{"name": ...,
            **params}`` (``{"name": "crop", "box": "top"}``).

    Returns:
        ``Guidance``, calling the registered function with the params.

    Raises:
        ValueError: unknown name, missing ``"name"`` key, unknown or missing
            params (the message names the param and the accepted params).
        TypeError: if ``spec`` is neither a str nor a dict.
    """
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, Mapping):
        if "name" not in spec:
            raise ValueError(f"Guidance spec {dict(spec)!r} has no 'name' key.")
        params = {k: v for k, v in spec.items() if k != "name"}
        name = spec["name"]
    else:
        raise TypeError(
            f"Guidance spec must be a name or a dict with a 'name' key; got {spec!r}."
        )
    fn = get(name)
    try:
        accepted = keyword_names(fn, skip=1)
        missing = [key for key in keyword_names(fn, skip=1, required_only=True) if key not in params]
        takes_kwargs = takes_any_keyword(fn)
    except (TypeError, ValueError):
        return Guidance(name, fn, params)  # Cannot introspect: trust the spec.
    if not takes_kwargs:
        for key in params:
            if key not in accepted:
                raise ValueError(
                    f"Unknown param {key!r} for guidance {name!r}. Accepted "
                    f"params: {', '.join(accepted) if accepted else '(none)'}."
                )
    if missing:
        raise ValueError(
            f"Guidance {name!r} is missing required param(s): {', '.join(missing)}."
        )
    return Guidance(name, fn, params)


for _name, _fn in (
    ("crop", crop),
    ("center_of_mass_x", center_of_mass_x),
    ("center_of_mass_y", center_of_mass_y),
    ("object_size", object_size),
    ("object_area", object_area),
    ("average_color", average_color),
    ("edges", edges),
):
    register(_name, _fn)
del _name, _fn
