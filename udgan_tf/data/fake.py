"""Small data sets written in the real on-disk formats, for tests and benchmarks.

Nothing here is downloaded: MNIST-format idx files and a CelebA-format folder
(JPEGs plus the attribute and partition files with their real header lines) are
generated from a seed, so the readers can be exercised where the data is absent::

    write_fake_celeba("/tmp/celeba", num_images=100)   # then --data-dir /tmp/celeba
"""

import gzip
import pathlib
import struct

import numpy as np
from PIL import Image

from udgan_tf.data.celeba import ATTRIBUTE_FILE, CELEBA_ATTRIBUTES, IMAGE_SHAPE, PARTITION_FILE, RAW_IMAGE_DIR
from udgan_tf.data.mnist import MNIST_FILES


def write_idx(path, array, type_code=0x08, compress=False):
    """Writes ``array`` as an idx file (gzip-compressed if ``compress``). Returns the path."""
    path = pathlib.Path(path)
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_fake_mnist(directory, labels, split="test", compress=True):
    """Writes an MNIST-format image/label pair: digit ``k`` is a white bar at rows ``2k + 4 ... 2k + 6``.

    Args:
        directory: folder to write into (created).
        labels: ints 0-9, one per image.
        split: "train" or "test" (picks the file names).

    Returns:
        uint8 images ``[N, 28, 28]`` as written.
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    labels = np.asarray(labels, np.uint8)
    images = np.zeros([len(labels), 28, 28], np.uint8)
    for i, digit in enumerate(labels):
        row = 2 * int(digit) + 4
        images[i, row:row + 3, 4:24 - int(digit)] = 255  # the length tells images apart too
    suffix = ".gz" if compress else ""
    image_file, label_file = MNIST_FILES[split]
    write_idx(directory / (image_file + suffix), images, compress=compress)
    write_idx(directory / (label_file + suffix), labels, compress=compress)
    return images


def fake_face(rng):
    """A smooth face-like 218x178 RGB image with sensor noise: uint8 ``[218, 178, 3]``."""
    rows, cols = np.mgrid[0:IMAGE_SHAPE[0], 0:IMAGE_SHAPE[1]]
    centre_row, centre_col = 109 + 5 * rng.standard_normal(), 89 + 5 * rng.standard_normal()
    face = np.exp(-(((rows - centre_row) / 55) ** 2 + ((cols - centre_col) / 42) ** 2))
    image = rng.uniform(60, 200, 3) + face[..., None] * rng.uniform(-80, 80, 3)
    image = image + 6 * rng.standard_normal(IMAGE_SHAPE[:2] + (1,))
    return np.clip(image, 0, 255).astype(np.uint8)


def write_fake_celeba(root, num_images, seed=0, quality=90):
    """Writes a CelebA-format folder: ``img_align_celeba/000001.jpg ...`` and the two list files.

    Partitions follow the real file's layout: the first 80 % train (0), the next
    10 % validation (1), the rest test (2).

    Returns:
        ``(file names [N], attributes int8 [N, 40] in {0, 1})`` as written.
    """
    root = pathlib.Path(root)
    (root / RAW_IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = [f"{i + 1:06d}.jpg" for i in range(num_images)]
    attributes = rng.integers(0, 2, [num_images, len(CELEBA_ATTRIBUTES)]).astype(np.int8)
    for name in names:
        Image.fromarray(fake_face(rng)).save(root / RAW_IMAGE_DIR / name, quality=quality)
    rows = [f"{name} " + " ".join(f"{2 * int(v) - 1:2d}" for v in row) for name, row in zip(names, attributes)]
    (root / ATTRIBUTE_FILE).write_text(f"{num_images}\n{' '.join(CELEBA_ATTRIBUTES)} \n" + "\n".join(rows) + "\n")
    boundaries = (int(0.8 * num_images), int(0.9 * num_images))
    partition = [0 if i < boundaries[0] else 1 if i < boundaries[1] else 2 for i in range(num_images)]
    (root / PARTITION_FILE).write_text("".join(f"{name} {part}\n" for name, part in zip(names, partition)))
    return names, attributes
