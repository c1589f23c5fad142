"""CelebA: the raw folder in the real file formats, the TFDS path under mock_data, errors."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from udgan_tf.data import CelebA, DataError, DataFormatError, DataNotFoundError
from udgan_tf.data.celeba import CELEBA_ATTRIBUTES, CROP_BOX, TFDS_MANUAL_FILES
from udgan_tf.data.fake import write_fake_celeba

NUM_IMAGES = 20  # partitions: 16 train, 2 validation, 2 test


@pytest.fixture(scope="module")
def celeba_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("celeba")
    names, attributes = write_fake_celeba(root, NUM_IMAGES, seed=1)
    return root, names, attributes


def evaluation_arrays(data):
    batches = list(data.evaluation_dataset(batch_size=8))
    return (np.concatenate([b["image"].numpy() for b in batches]),
            np.concatenate([b["attributes"].numpy() for b in batches]))


@pytest.mark.parametrize("partition, split, rows", [
    ("paper", "train", range(0, 18)), ("paper", "test", range(18, 20)),
    ("official", "train", range(0, 16)), ("official", "validation", range(16, 18)),
    ("official", "test", range(18, 20)),
])
def test_raw_folder_splits_carry_their_attributes(celeba_dir, partition, split, rows):
    root, _, attributes = celeba_dir
    data = CelebA(data_dir=root, resolution=32, split=split, partition=partition, verbose=0)
    assert data.source == "raw" and data.num_images == len(rows) and data.extra_keys == ("attributes",)
    images, carried = evaluation_arrays(data)
    assert images.shape == (len(rows), 32, 32, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    np.testing.assert_array_equal(carried, attributes[list(rows)])


def test_the_documented_crop_box_is_what_is_kept(tmp_path):
    write_fake_celeba(tmp_path, 10)
    top, left, height, width = CROP_BOX
    image = np.zeros((218, 178, 3), np.uint8)
    image[top:top + height, left:left + width] = 255        # white inside the box, black outside
    for name in ("000001.jpg", "000010.jpg"):
        Image.fromarray(image).save(tmp_path / "img_align_celeba" / name, quality=100)
    images, _ = evaluation_arrays(CelebA(data_dir=tmp_path, resolution=64, verbose=0))
    assert images[0].min() > 0.9  # nothing from outside the box (JPEG ringing aside)
    shifted = np.roll(image, 8, axis=0)                      # the box moved down by 8 rows
    Image.fromarray(shifted).save(tmp_path / "img_align_celeba" / "000001.jpg", quality=100)
    images, _ = evaluation_arrays(CelebA(data_dir=tmp_path, resolution=64, verbose=0))
    assert images[0, :2].max() < 0.1                          # the top rows now come from outside


def test_training_stream_is_shuffled_batches_in_unit_range(celeba_dir):
    data = CelebA(data_dir=celeba_dir[0], resolution=16, verbose=0)
    assert data.cached
    batches = [b.numpy() for b in data.training_dataset(6, seed=0).take(4)]
    assert all(b.shape == (6, 16, 16, 3) for b in batches)
    ordered, _ = evaluation_arrays(data)
    assert not np.array_equal(batches[0], ordered[:6])


def test_uncached_pipeline_gives_the_same_images(celeba_dir):
    cached = evaluation_arrays(CelebA(data_dir=celeba_dir[0], resolution=16, cache=True, verbose=0))
    streamed_data = CelebA(data_dir=celeba_dir[0], resolution=16, cache=False, verbose=0)
    assert not streamed_data.cached
    streamed = evaluation_arrays(streamed_data)
    np.testing.assert_array_equal(cached[0], streamed[0])
    np.testing.assert_array_equal(cached[1], streamed[1])


def test_a_corrupt_jpeg_is_skipped_and_named(tmp_path):
    write_fake_celeba(tmp_path, 10)
    (tmp_path / "img_align_celeba" / "000003.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.warns(UserWarning, match="skipped 1 of 9 images .*000003.jpg"):
        data = CelebA(data_dir=tmp_path, resolution=16, verbose=0)
    assert data.num_images == 8


def _place_manual_files(data_dir):
    manual = data_dir / "downloads" / "manual"
    manual.mkdir(parents=True)
    for name in TFDS_MANUAL_FILES:
        (manual / name).write_bytes(b"")  # the mocked TFDS build never reads them


@pytest.mark.slow
def test_tfds_path_under_mock_data(tmp_path):
    _place_manual_files(tmp_path)
    with tfds.testing.mock_data(num_examples=5, policy=tfds.testing.MockPolicy.USE_CODE):
        data = CelebA(data_dir=tmp_path, resolution=32, source="tfds", verbose=0)
        assert data.source == "tfds" and data.num_images == 5
        images, attributes = evaluation_arrays(data)
        batch = next(iter(data.training_dataset(4)))
    assert images.shape == (5, 32, 32, 3) and attributes.shape == (5, 40)
    assert set(np.unique(attributes)) <= {0, 1} and batch.shape == (4, 32, 32, 3)


def test_tfds_and_raw_folder_give_the_same_result(celeba_dir, tmp_path):
    """TFDS examples made from the raw files (as TFDS's builder makes them) match the raw reader."""
    root, names, attributes = celeba_dir
    train_rows = range(18)

    def as_dataset(self, *args, **kwargs):
        images = [tf.io.decode_jpeg(tf.io.read_file(str(root / "img_align_celeba" / names[i]))) for i in train_rows]
        return tf.data.Dataset.from_tensor_slices({
            "image": tf.stack(images),
            "attributes": {name: attributes[list(train_rows), k].astype(bool)
                           for k, name in enumerate(CELEBA_ATTRIBUTES)},
        })

    _place_manual_files(tmp_path)
    with tfds.testing.mock_data(as_dataset_fn=as_dataset, policy=tfds.testing.MockPolicy.USE_CODE):
        from_tfds = evaluation_arrays(CelebA(data_dir=tmp_path, resolution=32, source="tfds", verbose=0))
    from_raw = evaluation_arrays(CelebA(data_dir=root, resolution=32, source="raw", verbose=0))
    np.testing.assert_array_equal(from_tfds[0], from_raw[0])
    np.testing.assert_array_equal(from_tfds[1], from_raw[1])


def test_missing_celeba_says_where_it_looked_and_what_to_do(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        CelebA(data_dir=tmp_path, verbose=0)
    message = str(error.value)
    assert str(tmp_path / "downloads" / "manual") in message
    assert all(name in message for name in TFDS_MANUAL_FILES)
    assert "--data-dir /path/to/celeba" in message and "list_attr_celeba.txt" in message


def test_wrong_files_in_the_tfds_manual_directory_fail_with_the_file_and_the_cause(tmp_path):
    """A real (unmocked) offline TFDS build: it reads the manual directory and checks checksums."""
    _place_manual_files(tmp_path)
    with pytest.raises(DataError) as error:
        CelebA(data_dir=tmp_path, verbose=0)
    message = str(error.value)
    assert "TFDS could not build celeb_a from" in message and "NonMatchingChecksumError" in message
    assert "downloads/manual/" in message and "must be the originals" in message


def test_raw_folder_missing_a_file_or_an_image(tmp_path):
    write_fake_celeba(tmp_path, 10)
    (tmp_path / "img_align_celeba" / "000004.jpg").unlink()
    with pytest.raises(DataNotFoundError, match="1 image\\(s\\) listed in list_eval_partition.txt are not in .*000004"):
        CelebA(data_dir=tmp_path, verbose=0)
    (tmp_path / "list_eval_partition.txt").unlink()
    with pytest.raises(DataNotFoundError, match="lacks list_eval_partition.txt"):
        CelebA(data_dir=tmp_path, source="raw", verbose=0)


@pytest.mark.parametrize("edit, message", [
    (lambda lines: lines.__setitem__(1, "Smiling Young"), "list_attr_celeba.txt:2: expected the 40 CelebA attribute"),
    (lambda lines: lines.__setitem__(4, lines[4].replace(" 1", " 2", 1)), "list_attr_celeba.txt:5: expected a file name"),
    (lambda lines: lines.__setitem__(0, "12"), "list_attr_celeba.txt:1: declares 12 images but lists 10"),
])
def test_malformed_attribute_file_names_the_line(tmp_path, edit, message):
    write_fake_celeba(tmp_path, 10)
    path = tmp_path / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    if " 1" not in lines[4]:
        lines[4] = lines[4][:-2] + " 1"
    edit(lines)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=message):
        CelebA(data_dir=tmp_path, verbose=0)


def test_malformed_partition_file_names_the_line(tmp_path):
    write_fake_celeba(tmp_path, 10)
    path = tmp_path / "list_eval_partition.txt"
    path.write_text(path.read_text().replace("000007.jpg 0", "000007.jpg 5"))
    with pytest.raises(DataFormatError, match="list_eval_partition.txt:7: expected a file name and a partition"):
        CelebA(data_dir=tmp_path, verbose=0)


def test_a_resolution_above_the_crop_is_refused_before_reading(tmp_path):
    with pytest.raises(ValueError, match="cropped to 140x140; resolution 256 would upsample"):
        CelebA(data_dir=tmp_path, resolution=256)
