"""Tests for udgan_tf.data.idx: round trips on generated files, the real MNIST test set, errors."""

import gzip

import numpy as np
import pytest

from udgan_tf.data.fake import write_idx
from udgan_tf.data.idx import IdxFormatError, read_idx

from conftest import MNIST_DIR, MNIST_TEST_LABEL_COUNTS, needs_real_mnist


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_round_trip_of_images_and_labels(tmp_path, compress):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "i", images, compress=compress)), images)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l", labels, compress=compress)), labels)


def test_big_endian_wider_types_are_decoded(tmp_path):
    values = np.array([[1, -2], [70000, -70000]], np.int32)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "x", values, type_code=0x0C)), values)


@needs_real_mnist
def test_real_mnist_test_set():
    images = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == MNIST_TEST_LABEL_COUNTS


@pytest.mark.parametrize("data, message", [
    (b"\x01\x00\x08\x01", "not an idx file: bytes 0-1 of the magic number must be 0, got 0100 at offset 0"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown element type 0x07 at offset 2"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x01", "declares 3 dimensions but the file ends at offset 8"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "declares shape (5,) (5 bytes of data from offset 8), "
                                                  "but the file holds 2"),
])
def test_malformed_files_name_the_file_and_the_offset(tmp_path, data, message):
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(IdxFormatError) as error:
        read_idx(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_truncated_gzip_is_reported(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")[:-6])
    with pytest.raises(IdxFormatError, match="looks gzip-compressed but does not decompress"):
        read_idx(path)
