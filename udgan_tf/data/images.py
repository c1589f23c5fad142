"""Image data without generative factors: decoded once, checked, cached, streamed.

``ImageData`` turns a finite ``tf.data`` source (file paths, TFDS examples) and a
``preprocess`` function into the two streams the package needs::

    data = ImageData("my_images", source, preprocess, observation_shape=(64, 64, 3))
    data.training_dataset(batch_size=64, seed=0)  # infinite, shuffled, float32 [64, 64, 64, 3] in [0, 1]
    data.evaluation_dataset(batch_size=256)       # one ordered pass: {"image": ..., **extras}

On construction every element is preprocessed once in parallel (a progress bar
shows it). Elements that fail (a corrupt or unreadable file) are skipped, counted
and listed in ``skipped``; when no element survives, ``DataFormatError``. When the
decoded images fit in memory (``cache="auto"``: at most half of the available RAM)
that same pass fills a ``tf.data`` in-memory cache, so the files are decoded once per
process; otherwise the kept elements are decoded again on every epoch.
"""

import os
import warnings

import keras
import numpy as np
import tensorflow as tf

from udgan_tf.data.errors import DataFormatError

#: Shuffle buffer of the training stream (elements; a 64x64x3 image is 12 KiB).
SHUFFLE_BUFFER = 20_000
#: Elements per step of the checking pass.
_SCAN_BATCH = 512


def crop_and_resize(image, resolution, box=None):
    """Crops a box (or the centre square) and resizes it to ``resolution``.

    Resizing uses area averaging, which anti-aliases when shrinking.

    Args:
        image: uint8 ``[H, W, C]``.
        resolution: int, side of the output square.
        box: ``(top, left, height, width)`` in pixels, or None for the largest
            centred square.

    Returns:
        uint8 ``[resolution, resolution, C]``.
    """
    if box is None:
        height, width = tf.shape(image)[0], tf.shape(image)[1]
        side = tf.minimum(height, width)
        box = ((height - side) // 2, (width - side) // 2, side, side)
    top, left, height, width = box
    image = image[top:top + height, left:left + width]
    image = tf.image.resize(image, (resolution, resolution), method="area")
    return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)


def decode_image_file(path, channels):
    """Reads and decodes a JPEG/PNG/GIF/BMP file. ``path`` str tensor -> uint8 ``[H, W, channels]``."""
    return tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)


def available_memory_bytes():
    """``MemAvailable`` from /proc/meminfo, or total physical memory where that is missing."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def to_unit_range(image):
    """uint8 images -> float32 in [0, 1], the generator's output range."""
    return tf.cast(image, tf.float32) / 255.0


class ImageData:
    """Images for unlabelled training, checked once and cached when they fit.

    Attributes:
        name: str, the data set's name in messages.
        observation_shape: ``(R, R, C)``.
        num_images: int, images that decoded (the stream's epoch length).
        skipped: list of str, descriptions of the elements that failed.
        cached: bool, whether the decoded images are held in memory.
        extra_keys: names of the per-image values beside ``"image"`` (e.g. CelebA's
            ``"attributes"``).
    """

    def __init__(self, name, source, preprocess, observation_shape, describe=str, requirement="",
                 cache="auto", verbose=1):
        """Checks every element of ``source``.

        Args:
            name: str.
            source: finite ``tf.data.Dataset`` of raw elements, in a fixed order.
            preprocess: element -> dict ``{"image": uint8 [R, R, C], **extras}``; may
                raise a ``tf.errors.OpError`` for a bad element (it is skipped).
            observation_shape: ``(R, R, C)`` of ``preprocess``'s images.
            describe: int -> str, names element ``i`` in the skip warning (a path).
            requirement: str, what a readable element must be, for the messages
                (e.g. "JPEG or PNG files at least 64x64").
            cache: "auto", True or False.
            verbose: 1 shows a progress bar, 0 does not.

        Raises:
            DataFormatError: no element could be preprocessed.
            ValueError: ``cache`` is not "auto", True or False.
        """
        if cache not in ("auto", True, False):
            raise ValueError(f"cache must be 'auto', true or false. Received: cache={cache!r}")
        self.name = name
        self.observation_shape = tuple(observation_shape)
        size = int(source.cardinality())
        image_bytes = int(np.prod(self.observation_shape))
        if cache == "auto":
            cache = size > 0 and size * image_bytes <= available_memory_bytes() // 2
        self.cached = bool(cache)

        indexed = tf.data.Dataset.zip(tf.data.Dataset.counter(), source)
        decoded = indexed.map(lambda index, element: (index, preprocess(element)),
                              num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        decoded = decoded.ignore_errors()
        if self.cached:
            decoded = decoded.cache()
        kept = self._check(decoded, size if size > 0 else None, verbose)
        self.num_images = int(kept.sum())
        self.skipped = [describe(int(i)) for i in np.flatnonzero(~kept)]
        if self.num_images == 0:
            raise DataFormatError(
                f"{name}: none of the {len(kept)} images could be read "
                f"(first failures: {', '.join(self.skipped[:3]) or 'none'}). They must be {requirement or 'readable'}.")
        if self.skipped:
            warnings.warn(f"{name}: skipped {len(self.skipped)} of {len(kept)} images that are not "
                          f"{requirement or 'readable'}: {', '.join(self.skipped[:5])}"
                          f"{' ...' if len(self.skipped) > 5 else ''}", stacklevel=3)
        if self.cached:
            self._images = decoded.map(lambda index, element: element)
        else:
            mask = tf.constant(kept)
            self._images = indexed.filter(lambda index, element: mask[index]).map(
                lambda index, element: preprocess(element), num_parallel_calls=tf.data.AUTOTUNE)
        self.extra_keys = tuple(k for k in self._images.element_spec if k != "image")

    def _check(self, decoded, size, verbose):
        """Runs the decoding pass; returns a bool mask ``[num_elements]`` of kept elements."""
        progress = keras.utils.Progbar(size, verbose=verbose, unit_name="image")
        seen = []
        for indices in decoded.map(lambda index, element: index).batch(_SCAN_BATCH).prefetch(2):
            seen.append(indices.numpy())
            progress.add(len(seen[-1]))
        seen = np.concatenate(seen) if seen else np.zeros([0], np.int64)
        total = size if size is not None else (int(seen.max()) + 1 if len(seen) else 0)
        kept = np.zeros([total], bool)
        kept[seen] = True
        return kept

    def __repr__(self):
        return (f"ImageData({self.name!r}, {self.num_images} images of shape {self.observation_shape}, "
                f"cached={self.cached})")

    def training_dataset(self, batch_size, seed=0):
        """An infinite, shuffled ``tf.data`` stream of float32 ``[batch_size, R, R, C]`` in [0, 1], prefetched."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")
        images = self._images.map(lambda element: element["image"])
        images = images.shuffle(min(self.num_images, SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
        images = images.repeat().batch(int(batch_size), drop_remainder=True)
        return images.map(to_unit_range, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    def evaluation_dataset(self, batch_size=256):
        """One pass in the source's order: dicts ``{"image": float32 [B, R, R, C] in [0, 1], **extras}``."""
        def scale(element):
            return {**element, "image": to_unit_range(element["image"])}

        return self._images.batch(batch_size).map(scale, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
