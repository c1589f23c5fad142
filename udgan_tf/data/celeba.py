"""CelebA (aligned faces, §4.1) from a raw folder or from TensorFlow Datasets.

Two ways in, same images and attributes:

1. **Raw folder** (``--data-dir DIR`` with ``DIR/img_align_celeba/*.jpg``,
   ``DIR/list_attr_celeba.txt`` and ``DIR/list_eval_partition.txt``), read directly.
2. **TFDS** ``celeb_a`` (``--data-dir`` is then a TFDS data directory, default
   ``~/tensorflow_datasets``). Without a network, TFDS builds it from the five raw
   files (``TFDS_MANUAL_FILES``) placed in ``<data dir>/downloads/manual/``.

``source="auto"`` reads the raw folder when ``data_dir`` holds the two list files,
else TFDS.

Preprocessing: the aligned 178x218 image is cropped to the centred 140x140 square
``CROP_BOX`` (rows 39-178, columns 19-158: the face with hair and chin) and shrunk
to the resolution by area averaging; values in [0, 1]. Resolutions above 140 would
upsample and are refused.

Splits: ``partition="paper"`` (default) is the paper's 90 %/10 % split, taken at the
official boundary closest to it so that both ways in agree: train = official train
+ validation (182,637 images, 90.1 %), test = official test (19,962). With
``partition="official"`` the splits are train (162,770), validation (19,867), test.

Each image carries its 40 binary attributes (``"attributes"``: int8 ``[40]`` in
{0, 1}, in ``CELEBA_ATTRIBUTES`` order) for the attribute classification of
Tables 2 and 8.
"""

import pathlib

import numpy as np
import tensorflow as tf

from udgan_tf.data.errors import DataError, DataFormatError, DataNotFoundError
from udgan_tf.data.images import ImageData, crop_and_resize

#: The 40 attributes, in the order of list_attr_celeba.txt's header.
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()
IMAGE_SHAPE = (218, 178, 3)
#: (top, left, height, width) of the crop in the aligned 218x178 image.
CROP_BOX = (39, 19, 140, 140)
RAW_IMAGE_DIR = "img_align_celeba"
ATTRIBUTE_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
#: What TFDS's celeb_a builder reads from its manual directory when it cannot download.
TFDS_MANUAL_FILES = ("img_align_celeba.zip", "list_attr_celeba.txt", "list_eval_partition.txt",
                     "list_landmarks_align_celeba.txt", "identity_CelebA.txt")
#: partition scheme -> split -> official partition ids (0 train, 1 validation, 2 test).
PARTITIONS = {
    "paper": {"train": (0, 1), "test": (2,)},
    "official": {"train": (0,), "validation": (1,), "test": (2,)},
}
TFDS_SPLIT_NAMES = ("train", "validation", "test")
DOWNLOAD_HINT = ("CelebA is at https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html "
                 "(Align&Cropped images and the Anno/Eval text files).")


def read_attribute_file(path):
    """Parses list_attr_celeba.txt.

    Format: line 1 the image count, line 2 the 40 attribute names, then one line per
    image: ``000001.jpg -1  1 ...`` (40 values in {-1, 1}).

    Returns:
        ``(file names list of str [N], attributes int8 [N, 40] in {0, 1})``, in the
        header's attribute order (checked to be ``CELEBA_ATTRIBUTES``).

    Raises:
        DataFormatError: naming the file and line of the first malformed line.
    """
    path = pathlib.Path(path)
    lines = path.read_text().splitlines()
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise DataFormatError(f"{path}:1: expected the image count, got {lines[0][:40] if lines else 'an empty file'!r}.")
    names = lines[1].split()
    if names != CELEBA_ATTRIBUTES:
        raise DataFormatError(f"{path}:2: expected the 40 CelebA attribute names "
                              f"({CELEBA_ATTRIBUTES[0]} ... {CELEBA_ATTRIBUTES[-1]}), got {len(names)} names "
                              f"starting {' '.join(names[:3])!r}.")
    files, rows = [], []
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 41 or any(v not in ("1", "-1") for v in fields[1:]):
            raise DataFormatError(f"{path}:{number}: expected a file name and 40 values of 1 or -1, "
                                  f"got {line[:60]!r}.")
        files.append(fields[0])
        rows.append([v == "1" for v in fields[1:]])
    if len(files) != int(lines[0]):
        raise DataFormatError(f"{path}:1: declares {int(lines[0])} images but lists {len(files)}.")
    return files, np.array(rows, np.int8).reshape(-1, len(CELEBA_ATTRIBUTES))


def read_partition_file(path):
    """Parses list_eval_partition.txt (``000001.jpg 0`` per line) -> dict file name -> 0, 1 or 2."""
    path = pathlib.Path(path)
    partition = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise DataFormatError(f"{path}:{number}: expected a file name and a partition 0, 1 or 2, "
                                  f"got {line[:60]!r}.")
        partition[fields[0]] = int(fields[1])
    return partition


def check_celeba_resolution(resolution):
    if not isinstance(resolution, int) or isinstance(resolution, bool) or not 1 <= resolution <= CROP_BOX[2]:
        raise ValueError(f"CelebA images are cropped to {CROP_BOX[2]}x{CROP_BOX[3]}; resolution {resolution!r} "
                         f"would upsample them: use at most {CROP_BOX[2]} (e.g. model.resolution: 64 or 128).")


def _partition_ids(partition, split):
    if partition not in PARTITIONS:
        raise ValueError(f"partition must be one of {list(PARTITIONS)}. Received: partition={partition!r}")
    if split not in PARTITIONS[partition]:
        raise ValueError(f"split must be one of {list(PARTITIONS[partition])} for partition {partition!r}. "
                         f"Received: split={split!r}")
    return PARTITIONS[partition][split]


def default_tfds_dir():
    import tensorflow_datasets as tfds

    return pathlib.Path(tfds.core.constants.DATA_DIR).expanduser()


def _missing_raw_files(root):
    return [name for name, kind in ((RAW_IMAGE_DIR, "dir"), (ATTRIBUTE_FILE, "file"), (PARTITION_FILE, "file"))
            if not (root / name).exists()]


class CelebA(ImageData):
    """CelebA faces at ``resolution`` with their 40 attributes.

    Elements of ``evaluation_dataset``: ``{"image": float32 [B, R, R, 3],
    "attributes": int8 [B, 40]}``; ``training_dataset`` yields the images only.
    """

    attribute_names = CELEBA_ATTRIBUTES

    def __init__(self, data_dir=None, resolution=64, split="train", partition="paper", source="auto",
                 cache="auto", verbose=1):
        """
        Args:
            data_dir: raw CelebA folder or TFDS data directory (see the module doc);
                None means TFDS's default directory.
            resolution: int <= 140.
            split: "train" or "test" (and "validation" with ``partition="official"``).
            partition: "paper" or "official".
            source: "auto", "raw" or "tfds".
            cache: "auto", True or False (see ``ImageData``).
            verbose: 1 shows a progress bar while the images are decoded.

        Raises:
            DataNotFoundError: neither way in has the data (the message lists the
                missing files, where they were looked for, and what to do).
            DataFormatError: a malformed attribute or partition file (file and line).
            ValueError: unknown split, partition or source, or an unsupported resolution.
        """
        check_celeba_resolution(resolution)
        partitions = _partition_ids(partition, split)
        if source not in ("auto", "raw", "tfds"):
            raise ValueError(f"source must be 'auto', 'raw' or 'tfds'. Received: source={source!r}")
        self.resolution = resolution
        root = pathlib.Path(data_dir).expanduser() if data_dir is not None else None
        if source == "auto":
            source = "raw" if root is not None and (root / ATTRIBUTE_FILE).exists() else "tfds"
        self.source = source
        reader = self._raw_source if source == "raw" else self._tfds_source
        elements, preprocess, describe = reader(root, partitions)
        super().__init__(f"celeba_a ({split})", elements, preprocess, (resolution, resolution, 3),
                         describe=describe, requirement="178x218 JPEG images", cache=cache, verbose=verbose)

    def _crop(self, image):
        image = tf.ensure_shape(image, IMAGE_SHAPE)
        return crop_and_resize(image, self.resolution, CROP_BOX)

    def _raw_source(self, root, partitions):
        if root is None:
            raise DataNotFoundError("source='raw' needs the CelebA folder: pass --data-dir DIR.")
        missing = _missing_raw_files(root)
        if missing:
            raise DataNotFoundError(
                f"Raw CelebA folder {root} lacks {', '.join(missing)}. It must hold {RAW_IMAGE_DIR}/ (the JPEGs), "
                f"{ATTRIBUTE_FILE} and {PARTITION_FILE}. {DOWNLOAD_HINT}")
        partition = read_partition_file(root / PARTITION_FILE)
        files, attributes = read_attribute_file(root / ATTRIBUTE_FILE)
        row_of = {name: row for row, name in enumerate(files)}
        names = sorted(name for name, part in partition.items() if part in partitions)
        if not names:
            raise DataFormatError(f"{root / PARTITION_FILE} lists no image of partition(s) {list(partitions)}.")
        unlabelled = [name for name in names if name not in row_of]
        if unlabelled:
            raise DataFormatError(f"{root / ATTRIBUTE_FILE} has no line for {len(unlabelled)} image(s) of "
                                  f"{PARTITION_FILE}, e.g. {', '.join(unlabelled[:3])}.")
        present = {entry.name for entry in (root / RAW_IMAGE_DIR).iterdir()}
        absent = [name for name in names if name not in present]
        if absent:
            raise DataNotFoundError(f"{len(absent)} image(s) listed in {PARTITION_FILE} are not in "
                                    f"{root / RAW_IMAGE_DIR}, e.g. {', '.join(absent[:3])}. Unpack "
                                    f"img_align_celeba.zip there. {DOWNLOAD_HINT}")
        paths = [str(root / RAW_IMAGE_DIR / name) for name in names]
        elements = tf.data.Dataset.from_tensor_slices(
            {"path": paths, "attributes": attributes[[row_of[name] for name in names]]})

        def preprocess(element):
            image = tf.io.decode_jpeg(tf.io.read_file(element["path"]), channels=3)
            return {"image": self._crop(image), "attributes": element["attributes"]}

        return elements, preprocess, lambda index: paths[index]

    def _tfds_source(self, root, partitions):
        import tensorflow_datasets as tfds

        data_dir = root or default_tfds_dir()
        builder = tfds.builder("celeb_a", data_dir=str(data_dir))
        if not builder.is_prepared():
            self._prepare_offline(builder, data_dir, root)
        split = "+".join(TFDS_SPLIT_NAMES[i] for i in partitions)
        elements = builder.as_dataset(split=split, shuffle_files=False)

        def preprocess(example):
            attributes = tf.stack([tf.cast(example["attributes"][name], tf.int8) for name in CELEBA_ATTRIBUTES])
            return {"image": self._crop(example["image"]), "attributes": attributes}

        return elements, preprocess, lambda index: f"TFDS celeb_a[{split}] example {index}"

    @staticmethod
    def _prepare_offline(builder, data_dir, root):
        """Builds TFDS celeb_a from the raw files in its manual directory, without a download."""
        import tensorflow_datasets as tfds

        manual = pathlib.Path(data_dir) / "downloads" / "manual"
        missing = [name for name in TFDS_MANUAL_FILES if not (manual / name).is_file()]
        if missing:
            raw = (f"a raw CelebA folder at {root} (missing: {', '.join(_missing_raw_files(root))})" if root
                   else "a raw CelebA folder: none given (--data-dir)")
            raise DataNotFoundError(
                f"CelebA not found. Looked for (1) {raw} and (2) TFDS celeb_a in {data_dir}: not built, "
                f"and its manual directory {manual} lacks {', '.join(missing)}.\n"
                f"Fix one of:\n"
                f"  python -m udgan_tf.train --dataset celeba_a --data-dir /path/to/celeba   "
                f"# the folder with {RAW_IMAGE_DIR}/, {ATTRIBUTE_FILE}, {PARTITION_FILE}\n"
                f"  put {', '.join(TFDS_MANUAL_FILES)} in {manual} and rerun with --data-dir {data_dir}\n"
                f"{DOWNLOAD_HINT}")
        config = tfds.download.DownloadConfig(manual_dir=str(manual), try_download_gcs=False)
        try:
            builder.download_and_prepare(download_config=config)
        except Exception as error:  # TFDS raises many types; the user needs the file and the cause.
            raise DataError(f"TFDS could not build celeb_a from {manual}: {type(error).__name__}: {error}. "
                            f"The five files must be the originals (TFDS checks their checksums).") from None
