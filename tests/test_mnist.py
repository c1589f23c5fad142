"""MNIST and coloured MNIST: generated idx files, the real test set when present, errors."""

import numpy as np
import pytest

from udgan_tf.data import ColoredMNIST, DataFormatError, DataNotFoundError, MNIST, get_ground_truth_dataset
from udgan_tf.data.fake import write_fake_mnist, write_idx

from conftest import MNIST_DIR, MNIST_TEST_LABEL_COUNTS, needs_real_mnist

LABELS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3, 3]


@pytest.fixture
def mnist_dir(tmp_path):
    write_fake_mnist(tmp_path, LABELS, split="test", compress=True)
    return tmp_path


def ink_row(digit):
    """Row of the fake digit's bar after the 2-pixel padding (see write_fake_mnist)."""
    return 2 * digit + 4 + 2


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_digits_and_labels_load_from_idx_files(tmp_path, compress):
    written = write_fake_mnist(tmp_path, LABELS, compress=compress)
    data = MNIST(data_dir=tmp_path)
    np.testing.assert_array_equal(data.digits, written)
    np.testing.assert_array_equal(data.labels, LABELS)
    assert data.observation_shape == (32, 32, 1)


def test_train_and_test_pairs_are_both_used_by_default(tmp_path):
    write_fake_mnist(tmp_path, [1, 2], split="train")
    write_fake_mnist(tmp_path, LABELS, split="test")
    assert len(MNIST(data_dir=tmp_path).labels) == len(LABELS) + 2
    assert len(MNIST(data_dir=tmp_path, split="test").labels) == len(LABELS)


def test_drawing_from_factors_gives_the_digit_in_a_colour_of_its_bins(mnist_dir):
    data = ColoredMNIST(data_dir=mnist_dir, color_bins=4)
    assert data.factor_names == ("digit", "red", "green", "blue") and data.factor_sizes == (10, 4, 4, 4)
    factors = np.array([[7, 0, 3, 1], [2, 3, 0, 2]])  # digits 7 and 2 have one image each in LABELS
    images = data.sample_observations_from_factors(factors, np.random.RandomState(0))
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.float32
    for image, (digit, *bins) in zip(images, factors):
        lit_rows = np.flatnonzero(image.max(axis=(1, 2)) > 0)
        assert lit_rows.min() == ink_row(digit)                     # the requested digit class
        colour = image[ink_row(digit), 10]                          # a pixel inside the white bar
        np.testing.assert_array_equal(data.colour_bins_of(colour[None])[0], bins)


def test_colour_is_one_uniform_rgb_value_per_image(mnist_dir):
    data = ColoredMNIST(data_dir=mnist_dir)
    images = next(iter(data.training_dataset(256, seed=1))).numpy()
    assert images.shape == (256, 32, 32, 3) and 0.0 <= images.min() and images.max() <= 1.0
    lit = images.max(-1) > 0
    assert not lit[:, :2].any() and not lit[:, -2:].any()           # the 2-pixel padding stays black
    colours = []
    for image, mask in zip(images, lit):
        pixels = image[mask]                                        # [P, 3] = ink [P, 1] * colour [3]
        direction = pixels / np.linalg.norm(pixels, axis=1, keepdims=True)
        np.testing.assert_allclose(direction, direction[:1].repeat(len(direction), 0), atol=1e-5)
        colours.append(pixels[pixels.sum(1).argmax()])
    colours = np.array(colours)
    # Uniform on [0, 1): means near 1/2, every quarter of each channel used.
    assert np.all(np.abs(colours.mean(0) - 0.5) < 0.1)
    assert all(len(np.unique(data.colour_bins_of(colours)[:, c])) == 4 for c in range(3))


def test_grayscale_mnist_is_one_channel_and_ground_truth(mnist_dir):
    data = get_ground_truth_dataset("mnist", data_dir=str(mnist_dir), resolution=16)
    factors, images = data.sample(5, np.random.RandomState(0))
    assert factors.shape == (5, 1) and images.shape == (5, 16, 16, 1)
    batch = next(iter(data.training_dataset(4, seed=0)))
    assert batch.shape == (4, 16, 16, 1)


def test_the_training_stream_is_deterministic_for_a_seed(mnist_dir):
    data = ColoredMNIST(data_dir=mnist_dir)
    first = [b.numpy() for b in data.training_dataset(8, seed=5).take(2)]
    again = [b.numpy() for b in data.training_dataset(8, seed=5).take(2)]
    other = next(iter(data.training_dataset(8, seed=6))).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[0], other)


@needs_real_mnist
def test_real_mnist_test_set_as_coloured_mnist():
    data = ColoredMNIST(data_dir=MNIST_DIR)
    assert len(data.digits) == 10_000
    assert np.bincount(data.labels).tolist() == MNIST_TEST_LABEL_COUNTS
    images = next(iter(data.training_dataset(16, seed=0))).numpy()
    assert images.shape == (16, 32, 32, 3) and images.max() > 0.1


def test_missing_files_are_named_with_the_folder_and_the_flag(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        ColoredMNIST(data_dir=tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message and "t10k-images-idx3-ubyte" in message and "--data-dir" in message
    with pytest.raises(DataNotFoundError, match="pass --data-dir DIR"):
        ColoredMNIST(data_dir=None)


def test_a_pair_missing_its_labels_names_the_labels_file(tmp_path):
    write_fake_mnist(tmp_path, LABELS)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError, match="t10k-labels-idx1-ubyte") as error:
        MNIST(data_dir=tmp_path)
    assert "t10k-images" not in str(error.value)
    with pytest.raises(DataNotFoundError, match="train-images-idx3-ubyte"):
        MNIST(data_dir=tmp_path, split="train")


def test_malformed_files_fail_with_the_file_name(tmp_path):
    write_fake_mnist(tmp_path, LABELS)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    write_idx(labels, np.array([1, 2], np.uint8), compress=True)
    with pytest.raises(DataFormatError, match="holds \\(2,\\) labels for the 12 images"):
        MNIST(data_dir=tmp_path)
    write_idx(labels, np.array(LABELS[:-1] + [11], np.uint8), compress=True)
    with pytest.raises(DataFormatError, match="label 11 at item 11 is not a digit"):
        MNIST(data_dir=tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x01\x02garbage")
    with pytest.raises(DataFormatError, match="t10k-images-idx3-ubyte.gz: not an idx file"):
        MNIST(data_dir=tmp_path)


def test_a_class_without_images_is_an_error(tmp_path):
    write_fake_mnist(tmp_path, [1, 2, 3])
    with pytest.raises(DataFormatError, match="no image of digit"):
        MNIST(data_dir=tmp_path)


@pytest.mark.parametrize("resolution", [64, 33])
def test_a_resolution_above_the_padded_digit_is_refused(mnist_dir, resolution):
    with pytest.raises(ValueError, match=f"resolution {resolution} is not supported: use at most 32"):
        ColoredMNIST(data_dir=mnist_dir, resolution=resolution)
