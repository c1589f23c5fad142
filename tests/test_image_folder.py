"""image_folder: recursive JPEG/PNG discovery, skipped corrupt and too-small files, errors."""

import numpy as np
import pytest
from PIL import Image

from udgan_tf.data import DataFormatError, DataNotFoundError, ImageFolder


def save(path, size=(40, 30), colour=(200, 50, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size[::-1] + (3,), colour, np.uint8)).save(path)


@pytest.fixture
def folder(tmp_path):
    save(tmp_path / "a.png")
    save(tmp_path / "b.JPG")
    save(tmp_path / "nested" / "deeper" / "c.jpeg", colour=(0, 0, 255))
    save(tmp_path / "nested" / "d.png")
    (tmp_path / "nested" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    save(tmp_path / "tiny.png", size=(8, 8))
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_readable_images_are_found_recursively_and_the_rest_counted(folder):
    with pytest.warns(UserWarning, match=r"skipped 2 of 6 images .*at least 16x16: .*broken\.jpg, .*tiny\.png"):
        data = ImageFolder(data_dir=folder, resolution=16, verbose=0)
    assert data.num_images == 4 and len(data.skipped) == 2
    images = np.concatenate([b["image"].numpy() for b in data.evaluation_dataset(8)])
    assert images.shape == (4, 16, 16, 3)
    blue = images[3]  # sorted paths: a.png, b.JPG, nested/d.png, nested/deeper/c.jpeg
    np.testing.assert_allclose(blue.mean((0, 1)), [0, 0, 1], atol=0.02)
    batch = next(iter(data.training_dataset(3, seed=0)))
    assert batch.shape == (3, 16, 16, 3)


def test_grayscale_images(folder):
    with pytest.warns(UserWarning):
        data = ImageFolder(data_dir=folder, resolution=16, channels=1, verbose=0)
    assert data.observation_shape == (16, 16, 1)
    assert next(iter(data.training_dataset(2))).shape == (2, 16, 16, 1)


def test_a_folder_without_usable_images_is_an_error(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"No image files under .* \(searched recursively"):
        ImageFolder(data_dir=tmp_path, verbose=0)
    (tmp_path / "x.png").write_bytes(b"garbage")
    with pytest.raises(DataFormatError, match="none of the 1 images could be read .*x.png"):
        ImageFolder(data_dir=tmp_path, verbose=0)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        ImageFolder(data_dir=tmp_path / "nope", verbose=0)


def test_a_resolution_larger_than_every_image_fails_before_training(folder):
    with pytest.raises(DataFormatError, match="none of the 6 images .* at least 64x64"):
        ImageFolder(data_dir=folder, resolution=64, verbose=0)
