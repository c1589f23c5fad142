"""Your own images: every JPEG/PNG under a folder, recursively, for unlabelled training.

Each image is cropped to its largest centred square and shrunk to the resolution
by area averaging. Files that do not decode, and images whose shorter side is
below the resolution (they would be upsampled), are skipped and counted in one
warning; a folder where no image is usable is an error.
"""

import pathlib

import tensorflow as tf

from udgan_tf.data.errors import DataNotFoundError
from udgan_tf.data.images import ImageData, crop_and_resize, decode_image_file

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def find_images(data_dir):
    """Sorted paths (str) of the JPEG/PNG files under ``data_dir``, recursively."""
    if data_dir is None:
        raise DataNotFoundError("image_folder needs a folder: pass --data-dir DIR (or dataset.data_dir).")
    root = pathlib.Path(data_dir).expanduser()
    if not root.is_dir():
        raise DataNotFoundError(f"Image folder {root} does not exist or is not a directory: pass --data-dir DIR.")
    paths = sorted(str(p) for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise DataNotFoundError(f"No image files under {root} (searched recursively for "
                                f"{', '.join(IMAGE_SUFFIXES)}). Pass --data-dir with a folder of images.")
    return paths


class ImageFolder(ImageData):
    """The images of a folder as float32 ``[R, R, channels]`` in [0, 1]; no labels."""

    def __init__(self, data_dir=None, resolution=64, channels=3, cache="auto", verbose=1):
        """
        Args:
            data_dir: folder searched recursively for .jpg, .jpeg and .png files.
            resolution: positive int, side of the square images.
            channels: 3 (RGB) or 1 (grayscale).
            cache: "auto", True or False (see ``ImageData``).
            verbose: 1 shows a progress bar while the images are checked.

        Raises:
            DataNotFoundError: no folder, or no image file in it.
            DataFormatError: no file decodes to an image at least resolution x resolution.
        """
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3. Received: channels={channels!r}")
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
            raise ValueError(f"resolution must be a positive int. Received: resolution={resolution!r}")
        paths = find_images(data_dir)

        def preprocess(path):
            image = decode_image_file(path, channels)
            tf.debugging.assert_greater_equal(tf.reduce_min(tf.shape(image)[:2]), resolution,
                                              message="image smaller than the resolution")
            return {"image": crop_and_resize(image, resolution)}

        super().__init__(f"image_folder {data_dir}", tf.data.Dataset.from_tensor_slices(paths), preprocess,
                         (resolution, resolution, channels), describe=lambda index: paths[index],
                         requirement=f"JPEG or PNG images at least {resolution}x{resolution}",
                         cache=cache, verbose=verbose)
