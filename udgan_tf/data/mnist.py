"""MNIST and coloured MNIST (the paper's Appendix B), from idx files on disk.

``--data-dir DIR`` must hold MNIST's idx files, gzip-compressed or plain::

    train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]   (60,000 digits)
    t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]    (10,000 digits)

``split="all"`` uses every pair present (train first), ``"train"`` / ``"test"`` one pair.

Images: the 28x28 digit is padded by 2 pixels to 32x32 (LeNet's layout) and, for a
smaller resolution, shrunk by area averaging; resolutions above 32 would upsample
the digits and are refused. Values are in [0, 1] on a black background.

Coloured MNIST multiplies each digit by an RGB colour drawn uniformly from [0, 1)^3,
one per image (Appendix B). As ground truth the colour is discretised: each channel
``c`` falls in bin ``floor(c * color_bins)``; drawing an image *from* factors draws
a random digit of the class and a colour uniformly inside the bins.
"""

import pathlib

import numpy as np
import tensorflow as tf

from udgan_tf.data.errors import DataFormatError, DataNotFoundError
from udgan_tf.data.ground_truth import GroundTruthData
from udgan_tf.data.idx import read_idx

#: split -> (images file, labels file), without the optional ".gz".
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
DIGIT_SIDE = 28
PADDED_SIDE = 32


def _find(directory, stem):
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return directory / name
    return None


def load_mnist(data_dir, split="all"):
    """Reads MNIST digits and labels from idx files.

    Args:
        data_dir: str or Path of the folder holding the idx files.
        split: "all", "train" or "test".

    Returns:
        ``(images uint8 [N, 28, 28], labels uint8 [N])``.

    Raises:
        DataNotFoundError: the folder or a needed file is missing (the message
            lists the file names and the --data-dir flag).
        DataFormatError: a malformed file (name and byte offset), mismatched
            counts, or a label outside 0..9.
        ValueError: unknown ``split``.
    """
    if split not in ("all", *MNIST_FILES):
        raise ValueError(f"split must be 'all', 'train' or 'test'. Received: split={split!r}")
    expected = ", ".join(f"{stem}[.gz]" for pair in MNIST_FILES.values() for stem in pair)
    if data_dir is None:
        raise DataNotFoundError(f"MNIST needs its idx files: pass --data-dir DIR (or dataset.data_dir) with "
                                f"{expected}. They are at http://yann.lecun.com/exdb/mnist/.")
    directory = pathlib.Path(data_dir).expanduser()
    wanted = list(MNIST_FILES) if split == "all" else [split]
    pairs = {name: [_find(directory, stem) for stem in MNIST_FILES[name]] for name in wanted}
    complete = [name for name, files in pairs.items() if all(files)]
    partial = [name for name, files in pairs.items() if any(files) and not all(files)]
    if partial or not complete:
        missing = [stem for name in (partial or wanted) for stem, found in zip(MNIST_FILES[name], pairs[name])
                   if not found]
        raise DataNotFoundError(f"MNIST files not found in {directory}: {', '.join(missing)} (plain or .gz). "
                                f"Pass --data-dir DIR with the idx files from http://yann.lecun.com/exdb/mnist/.")
    images, labels = [], []
    for name in complete:
        image_path, label_path = pairs[name]
        split_images, split_labels = read_idx(image_path), read_idx(label_path)
        if split_images.ndim != 3 or split_images.shape[1:] != (DIGIT_SIDE, DIGIT_SIDE):
            raise DataFormatError(f"{image_path}: expected images of shape [N, 28, 28], got {split_images.shape}.")
        if split_labels.shape != split_images.shape[:1]:
            raise DataFormatError(f"{label_path} holds {split_labels.shape} labels for the "
                                  f"{len(split_images)} images of {image_path}.")
        if split_labels.size and split_labels.max() > 9:
            raise DataFormatError(f"{label_path}: label {int(split_labels.max())} at item "
                                  f"{int(split_labels.argmax())} is not a digit 0-9.")
        images.append(split_images.astype(np.uint8))
        labels.append(split_labels.astype(np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def check_mnist_resolution(resolution):
    if not isinstance(resolution, int) or isinstance(resolution, bool) or not 1 <= resolution <= PADDED_SIDE:
        raise ValueError(f"MNIST digits are 28x28 (32x32 padded); resolution {resolution!r} is not supported: "
                         f"use at most {PADDED_SIDE} (model.resolution: 32 in configs/colored_mnist.yaml).")


def place_digits(digits, resolution):
    """Pads digits to 32x32 and shrinks them to the resolution.

    Args:
        digits: uint8 or float ``[N, 28, 28]`` with 255 (or 1.0) for ink.
        resolution: int <= 32.

    Returns:
        float32 ``[N, resolution, resolution, 1]`` in [0, 1].
    """
    images = tf.cast(digits, tf.float32)[..., None]
    if digits.dtype in (np.uint8, tf.uint8):
        images = images / 255.0
    pad = (PADDED_SIDE - DIGIT_SIDE) // 2
    images = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    if resolution != PADDED_SIDE:
        images = tf.image.resize(images, (resolution, resolution), method="area")
    return images


class MNIST(GroundTruthData):
    """Grayscale MNIST digits; the one factor is the digit class.

    Observations are float32 ``[R, R, 1]``; drawing from factors picks a random
    digit of each requested class.
    """

    factor_names = ("digit",)
    factor_sizes = (10,)
    channels = 1
    deterministic = False  # a random digit of the class (and colour inside the bins)

    def __init__(self, data_dir=None, resolution=32, split="all"):
        check_mnist_resolution(resolution)
        self.resolution = resolution
        self.digits, self.labels = load_mnist(data_dir, split)
        self._by_label = [np.flatnonzero(self.labels == digit) for digit in range(10)]
        empty = [digit for digit, indices in enumerate(self._by_label) if not len(indices)]
        if empty:
            raise DataFormatError(f"MNIST in {data_dir} has no image of digit(s) {empty}; every class is needed.")
        self.observation_shape = (resolution, resolution, self.channels)

    def __repr__(self):
        return f"{type(self).__name__}({len(self.digits)} digits, observation_shape={self.observation_shape})"

    def _pick(self, digit_classes, random_state):
        """A random image index of each class ``[N]`` -> ``[N]``."""
        return np.array([self._by_label[d][random_state.randint(len(self._by_label[d]))] for d in digit_classes],
                        dtype=np.int64)

    def _colours(self, factors, random_state):
        return np.ones([len(factors), 1], np.float32)

    def sample_observations_from_factors(self, factors, random_state):
        """Factors ``[N, num_factors]`` -> float32 images ``[N, R, R, C]`` in [0, 1]."""
        factors = np.asarray(factors, np.int64)
        self.index_of(factors)  # validates the shape and range
        digits = self.digits[self._pick(factors[:, 0], random_state)]
        colours = self._colours(factors, random_state)
        return (place_digits(digits, self.resolution) * colours[:, None, None, :]).numpy()

    def training_dataset(self, batch_size, seed=0):
        """An infinite stream of float32 ``[batch_size, R, R, C]``: uniform draws of digits (and colours).

        Batch ``b`` draws with TF's stateless RNG seeded by ``(seed, b)``; the digits
        live in the graph as one uint8 constant, so no Python runs per batch.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")
        digits = tf.constant(self.digits)
        count = len(self.digits)

        def make_batch(batch_index):
            rng = tf.stack([tf.constant(seed, tf.int64), batch_index])
            indices = tf.random.stateless_uniform([batch_size], rng, maxval=count, dtype=tf.int32)
            images = place_digits(tf.gather(digits, indices), self.resolution)
            if self.channels == 1:
                return images
            colours = tf.random.stateless_uniform([batch_size, 3], rng + 1)
            return images * colours[:, None, None, :]

        dataset = tf.data.Dataset.counter(dtype=tf.int64)
        dataset = dataset.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return dataset.prefetch(tf.data.AUTOTUNE)


class ColoredMNIST(MNIST):
    """MNIST digits in a uniformly random RGB colour (Appendix B).

    Factors ``[N, 4]``: digit class (10), then the red, green and blue bins
    (``color_bins`` each, bin ``k`` holding channel values in ``[k, k + 1) / color_bins``).
    Observations are float32 ``[R, R, 3]``: the digit's ink times its colour.
    """

    factor_names = ("digit", "red", "green", "blue")
    channels = 3

    def __init__(self, data_dir=None, resolution=32, split="all", color_bins=4):
        if isinstance(color_bins, bool) or not isinstance(color_bins, int) or color_bins < 1:
            raise ValueError(f"color_bins must be a positive int. Received: color_bins={color_bins!r}")
        self.color_bins = color_bins
        self.factor_sizes = (10, color_bins, color_bins, color_bins)
        super().__init__(data_dir, resolution, split)

    def _colours(self, factors, random_state):
        bins = factors[:, 1:4].astype(np.float32)
        return ((bins + random_state.uniform(size=bins.shape)) / self.color_bins).astype(np.float32)

    def colour_bins_of(self, colours):
        """Ground-truth colour bins of RGB colours ``[N, 3]`` in [0, 1] -> int64 ``[N, 3]``."""
        return np.clip(np.floor(np.asarray(colours) * self.color_bins), 0, self.color_bins - 1).astype(np.int64)
