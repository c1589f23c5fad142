"""A procedural re-rendering of deepmind's dSprites data set.

dSprites (Matthey et al., 2017) holds 737,280 binary 64x64 images of one white
sprite on black, one image for every combination of five factors. No file is
downloaded here: every image is rendered on demand from its factors, with the
same factor grid and the same flat index order as the released ``.npz``.

Factor grid (identical to the original)
---------------------------------------
========  ===========  ==========================================  =======
index     name         values                                      size
========  ===========  ==========================================  =======
0         shape        square, ellipse, heart (stored as 1, 2, 3)  3
1         scale        ``np.linspace(0.5, 1, 6)``                  6
2         orientation  ``np.linspace(0, 2 * pi, 40)`` (radians)    40
3         position_x   ``np.linspace(0, 1, 32)``                   32
4         position_y   ``np.linspace(0, 1, 32)``                   32
========  ===========  ==========================================  =======

The flat index is mixed radix with bases (245760, 40960, 1024, 32, 1): position_y
varies fastest, then position_x, orientation, scale, shape. The constant ``color``
factor of the original (one value) is dropped, which leaves the order unchanged.
As in the original, orientation 0 and 2*pi (classes 0 and 39) give the same image.

Where each fact comes from (the dataset's README, its reloading notebook and the author's
answer in its issue #2) and what was chosen where nothing is published (sprite sizes in
pixels: a 21 px square, 27 x 15 px ellipse and 21 x 19 px heart at scale 1, fitted to the
paper's Table 7 statistics; position centres 16.5 + k px; the heart's outline; the sense of
rotation) is in ``docs/dsprites.md``; ``tests/test_dsprites.py`` checks the choices.

Rasterisation: each of the 3 * 6 * 40 = 720 (shape, scale, orientation) sprites
is rendered once per process (lazily, ~0.7 s, cached) into a 31x31 stamp with
5x5 supersampling per pixel and thresholded at coverage 0.5, so every image is
exactly 0/1 like the original. ``sample_observations_from_factors`` places a
stamp with one numpy slice copy per image; ``training_dataset`` does the same in
TF ops (a gather of whole pre-shifted stamp rows; only 243 distinct stamp rows
exist) and produces identical pixels.

Lower resolutions (32, 16) average-pool the 64x64 binary image (2x2 or 4x4
blocks), so their values are multiples of 1/4 or 1/16 in [0, 1], no longer binary.
"""

import threading

import numpy as np

from udgan_tf.data.ground_truth import GroundTruthData

SHAPE_NAMES = ("square", "ellipse", "heart")
ALLOWED_RESOLUTIONS = (64, 32, 16)

_CANVAS = 64  # side of the full-resolution image, pixels
_STAMP = 31  # side of a pre-rendered sprite stamp, pixels
_STAMP_CENTRE = _STAMP / 2.0  # rotation centre inside a stamp (continuous coords)
_FIRST_OFFSET = 1  # position class k -> stamp top-left pixel k + 1 (centre 16.5 + k)
_POSITIONS = 32  # position classes per axis
_SUPERSAMPLE = 5  # samples per pixel side (odd: no coverage can be exactly 0.5)

# Sprite geometry at scale 1, in pixels of the 64x64 image (see module docstring).
_SQUARE_SIDE = 21.0  # odd: edges fall on pixel boundaries, never on sample points
_ELLIPSE_SEMI_AXES = (13.3, 7.6)  # along x, along y, at orientation 0
_HEART_PIXELS_PER_UNIT = 8.88
_HEART_BBOX_CENTRE_Y = 0.118  # centre of the implicit heart's bounding box, in units

_STAMP_CACHE = {}
_STAMP_LOCK = threading.RLock()


def _read_only(array):
    array.setflags(write=False)
    return array


def _inside(shape, u, v):
    """Whether points lie inside a shape at scale 1, orientation 0.

    Args:
        shape: int, 0 square, 1 ellipse, 2 heart.
        u: float array, x coordinate in pixels relative to the rotation centre
            (right is positive).
        v: float array of the same shape, y coordinate in pixels relative to the
            rotation centre (UP is positive).

    Returns:
        bool array shaped like ``u``.
    """
    if shape == 0:
        half = _SQUARE_SIDE / 2.0
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    if shape == 1:
        a, b = _ELLIPSE_SEMI_AXES
        return (u / a) ** 2 + (v / b) ** 2 <= 1.0
    x = u / _HEART_PIXELS_PER_UNIT
    y = v / _HEART_PIXELS_PER_UNIT + _HEART_BBOX_CENTRE_Y
    return (x * x + y * y - 1.0) ** 3 - x * x * y**3 <= 0.0


def _render_stamps():
    """Rasterises every (shape, scale, orientation) sprite once.

    Returns:
        uint8 array ``[3, 6, 40, _STAMP, _STAMP]`` of 0/1, the sprite centred on
        continuous coordinate ``(_STAMP / 2, _STAMP / 2)`` of each stamp.
    """
    scales = DSprites.factor_values["scale"]
    angles = DSprites.factor_values["orientation"]
    n = _STAMP * _SUPERSAMPLE
    # Sample points (pixel centres of the supersampled grid), relative to the centre.
    grid = (np.arange(n, dtype=np.float64) + 0.5) / _SUPERSAMPLE - _STAMP_CENTRE
    x = grid[None, None, :]  # columns, right positive
    y = -grid[None, :, None]  # rows, turned to "up positive"
    cos = np.cos(angles)[:, None, None]
    sin = np.sin(angles)[:, None, None]
    # Inverse rotation (by -angle) of the sample points: the shape turns by +angle,
    # counter-clockwise as seen in the image.
    u0 = x * cos + y * sin
    v0 = -x * sin + y * cos
    stamps = np.zeros((3, len(scales), len(angles), _STAMP, _STAMP), np.uint8)
    for shape in range(3):
        for j, scale in enumerate(scales):
            inside = _inside(shape, u0 / scale, v0 / scale)
            coverage = inside.reshape(
                len(angles), _STAMP, _SUPERSAMPLE, _STAMP, _SUPERSAMPLE
            ).mean(axis=(2, 4))
            stamps[shape, j] = coverage > 0.5
    return stamps


def _stamps():
    """The cached stamp array (rendered on first use, shared by all instances)."""
    stamps = _STAMP_CACHE.get("stamps")
    if stamps is None:
        with _STAMP_LOCK:
            stamps = _STAMP_CACHE.get("stamps")
            if stamps is None:
                stamps = _render_stamps()
                stamps.setflags(write=False)
                _STAMP_CACHE["stamps"] = stamps
    return stamps


def _row_tables():
    """Tables for rendering by whole-row gathers (used by the TF renderer).

    Returns:
        ``(row_ids, shifted_rows)``: int32 ``[720, 32]`` id of the distinct row
        that is row ``i`` of stamp ``k`` (row 31: an all-zero row), and uint8
        ``[U, 32, 64]``: distinct row ``u`` placed as it appears in the image for
        position_x class ``x`` (columns ``x + 1 ... x + 31``).
    """
    tables = _STAMP_CACHE.get("rows")
    if tables is not None:
        return tables
    with _STAMP_LOCK:
        tables = _STAMP_CACHE.get("rows")
        if tables is not None:
            return tables
        stamps = _stamps().reshape(-1, _STAMP, _STAMP)
        rows = np.concatenate([stamps.reshape(-1, _STAMP), np.zeros((1, _STAMP), np.uint8)])
        distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        row_ids = np.full((len(stamps), _STAMP + 1), inverse[-1], np.int32)
        row_ids[:, :_STAMP] = inverse[:-1].reshape(len(stamps), _STAMP)
        shifted_rows = np.zeros((len(distinct), _POSITIONS, _CANVAS), np.uint8)
        for x in range(_POSITIONS):
            shifted_rows[:, x, x + _FIRST_OFFSET : x + _FIRST_OFFSET + _STAMP] = distinct
        tables = (row_ids, shifted_rows)
        _STAMP_CACHE["rows"] = tables
        return tables


class DSprites(GroundTruthData):
    """dSprites rendered procedurally, with the original factor grid and order.

    Factors are integer class indices ``[N, 5]`` in the order
    ``(shape, scale, orientation, position_x, position_y)``; observations are
    float32 ``[N, R, R, 1]``. See the module docstring for the geometry and the
    sources it is based on.

    Args:
        resolution: int, image side R. 64 (default, exactly binary like the
            original), 32 or 16 (2x2 / 4x4 average pooling of the 64x64 image,
            so values are multiples of 1/4 / 1/16).

    Raises:
        ValueError: if ``resolution`` is not one of 64, 32, 16.

    Attributes:
        factor_values: dict name -> float64 array of the real value of each
            class index (shape is coded 1, 2, 3 like the original's
            ``latents_values``; ``SHAPE_NAMES`` gives the names).
        resolution: int, R.
        observation_shape: ``(R, R, 1)``.
    """

    factor_names = ("shape", "scale", "orientation", "position_x", "position_y")
    factor_sizes = (3, 6, 40, 32, 32)
    shape_names = SHAPE_NAMES
    factor_values = {
        "shape": _read_only(np.array([1.0, 2.0, 3.0])),
        "scale": _read_only(np.linspace(0.5, 1.0, 6)),
        "orientation": _read_only(np.linspace(0.0, 2.0 * np.pi, 40)),
        "position_x": _read_only(np.linspace(0.0, 1.0, 32)),
        "position_y": _read_only(np.linspace(0.0, 1.0, 32)),
    }

    def __init__(self, resolution=64):
        if (
            isinstance(resolution, bool)
            or not isinstance(resolution, (int, np.integer))
            or int(resolution) not in ALLOWED_RESOLUTIONS
        ):
            raise ValueError(
                f"resolution must be one of {ALLOWED_RESOLUTIONS} (64 / 2^k >= 16). "
                f"Received: resolution={resolution!r}"
            )
        self.resolution = int(resolution)
        self.observation_shape = (self.resolution, self.resolution, 1)

    def __repr__(self):
        return f"DSprites(resolution={self.resolution})"

    def latent_values(self, factors):
        """Maps class indices to real factor values.

        Args:
            factors: int array ``[N, 5]``.

        Returns:
            float64 array ``[N, 5]`` (shape as 1/2/3, scale, orientation in
            radians, position_x, position_y in [0, 1]).
        """
        factors = self._check_factors(factors)
        return np.stack(
            [self.factor_values[name][factors[:, i]] for i, name in enumerate(self.factor_names)],
            axis=1,
        )

    def sample_observations_from_factors(self, factors, random_state=None):
        """Renders images from factors. Deterministic; ``random_state`` is unused.

        Args:
            factors: int array ``[N, 5]`` of class indices.
            random_state: ignored (the data set has no noise); kept for the
                ``GroundTruthData`` interface.

        Returns:
            float32 array ``[N, R, R, 1]``; exactly 0/1 at R = 64, block means of
            the 64x64 image at lower R.

        Raises:
            ValueError: if factors do not have shape ``[N, 5]`` or are out of range.
        """
        factors = self._check_factors(factors)
        canvas = self._render_full(factors)  # uint8 [N, 64, 64]
        if self.resolution == _CANVAS:
            return canvas.astype(np.float32)[..., None]
        f = _CANVAS // self.resolution
        r = self.resolution
        blocks = canvas.reshape(len(factors), r, f, r, f)
        counts = blocks.sum(axis=4, dtype=np.uint8).sum(axis=2, dtype=np.uint8)  # <= 16
        return (counts.astype(np.float32) * np.float32(1.0 / (f * f)))[..., None]

    def observations_from_indices(self, indices):
        """Renders the images at flat indices of the original order.

        Args:
            indices: int array ``[N]`` in ``[0, 737280)``.

        Returns:
            float32 array ``[N, R, R, 1]``.
        """
        return self.sample_observations_from_factors(self.factors_of(np.ravel(indices)))

    def training_dataset(self, batch_size, seed=0):
        """An infinite ``tf.data`` pipeline of uniformly drawn training images.

        Every batch draws ``batch_size`` factor vectors uniformly (i.e. images
        uniformly from the whole data set, with replacement) and renders the
        whole batch at once. Batch ``b`` draws its factors with TF's stateless
        RNG seeded by ``(seed, b)``, so the stream is deterministic for a seed
        (every iterator restarts it) even though batches are made in parallel.

        Rendering runs in TF ops only: a gather of pre-shifted sprite rows built
        from the same stamps as ``sample_observations_from_factors`` (pixel-for-
        pixel identical output). No Python callback runs per batch, so the
        pipeline does not hold the GIL, uses all cores, and cannot deadlock at
        interpreter exit the way ``numpy_function`` / ``from_generator``
        pipelines can while an iterator is alive.

        Args:
            batch_size: positive int.
            seed: non-negative int.

        Returns:
            ``tf.data.Dataset`` of float32 tensors ``[batch_size, R, R, 1]``,
            prefetched.
        """
        import tensorflow as tf  # Imported lazily: the numpy renderer needs no TF.

        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative int. Received: seed={seed!r}")
        batch_size, seed = int(batch_size), int(seed)
        render = self.tf_renderer()
        sizes = tf.constant(self.factor_sizes, tf.float64)

        def make_batch(batch_index):
            rng_seed = tf.stack([tf.constant(seed, tf.int64), batch_index])
            uniform = tf.random.stateless_uniform([batch_size, self.num_factors], rng_seed, dtype=tf.float64)
            factors = tf.cast(tf.floor(uniform * sizes), tf.int32)  # uniform in [0, size)
            return tf.ensure_shape(render(factors), (batch_size,) + tuple(self.observation_shape))

        dataset = tf.data.Dataset.counter(dtype=tf.int64)
        dataset = dataset.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return dataset.prefetch(tf.data.AUTOTUNE)

    def tf_renderer(self):
        """The renderer as a TF function (usable inside ``tf.data`` or ``tf.function``).

        Returns:
            Callable mapping int32 Tensor factors ``[B, 5]`` (assumed in range)
            to float32 Tensor images ``[B, R, R, 1]``, identical to
            ``sample_observations_from_factors``.
        """
        import tensorflow as tf

        row_ids, shifted_rows = _row_tables()
        row_ids = tf.convert_to_tensor(row_ids.reshape(-1))  # [720 * 32] int32
        shifted_rows = tf.convert_to_tensor(shifted_rows.reshape(-1, _CANVAS))  # [U * 32, 64] uint8
        sizes = self.factor_sizes
        pool = _CANVAS // self.resolution
        image_rows = tf.range(_CANVAS, dtype=tf.int32)[None, :]

        def render(factors):
            factors = tf.cast(factors, tf.int32)
            sprite = (factors[:, 0] * sizes[1] + factors[:, 1]) * sizes[2] + factors[:, 2]
            stamp_row = image_rows - (factors[:, 4:5] + _FIRST_OFFSET)  # [B, 64]
            stamp_row = tf.where((stamp_row >= 0) & (stamp_row < _STAMP), stamp_row, _STAMP)
            row = tf.gather(row_ids, sprite[:, None] * (_STAMP + 1) + stamp_row)  # [B, 64]
            images = tf.gather(shifted_rows, row * _POSITIONS + factors[:, 3:4])  # [B, 64, 64]
            images = tf.cast(images, tf.float32)[..., None]
            if pool > 1:
                images = tf.nn.avg_pool2d(images, pool, pool, "VALID")
            return images

        return render

    # ------------------------------------------------------------------ helpers

    def _check_factors(self, factors):
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != self.num_factors:
            raise ValueError(
                f"factors must have shape [N, {self.num_factors}]. Received: shape={factors.shape}"
            )
        if factors.size and not np.issubdtype(factors.dtype, np.integer):
            if not np.all(np.equal(np.mod(factors, 1), 0)):
                raise ValueError("factors must be integer class indices.")
        factors = factors.astype(np.int64)
        if np.any(factors < 0) or np.any(factors >= np.asarray(self.factor_sizes)):
            raise ValueError(
                f"factor values must lie in [0, size) for sizes {tuple(self.factor_sizes)}."
            )
        return factors

    def _render_full(self, factors):
        """Places stamps on 64x64 canvases. ``[N, 5] int64 -> uint8 0/1 [N, 64, 64]``."""
        stamps = _stamps().reshape(-1, _STAMP, _STAMP)
        sprite = (factors[:, 0] * self.factor_sizes[1] + factors[:, 1]) * self.factor_sizes[2] + factors[:, 2]
        left = factors[:, 3] + _FIRST_OFFSET
        top = factors[:, 4] + _FIRST_OFFSET
        canvas = np.zeros((len(factors), _CANVAS, _CANVAS), np.uint8)
        for n, (k, x0, y0) in enumerate(zip(sprite.tolist(), left.tolist(), top.tolist())):
            canvas[n, y0 : y0 + _STAMP, x0 : x0 + _STAMP] = stamps[k]
        return canvas
