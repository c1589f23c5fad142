"""Reading an image file into a model's input: decoded with limits, centre-cropped, resized."""

import io

import numpy as np

#: The largest image (width x height) read: larger ones are refused before they are decoded.
MAX_PIXELS = 2048 * 2048
#: The largest image file read, in bytes.
MAX_FILE_BYTES = 10 * 1024 * 1024


class ImageError(ValueError):
    """An image that cannot be used; the message names the problem and the fix."""


def read_image(data, resolution, channels, max_pixels=MAX_PIXELS, max_bytes=MAX_FILE_BYTES):
    """An image file's bytes -> float32 ``[resolution, resolution, channels]`` in [0, 1].

    The image is resized (area average) to the model's resolution; a non-square one is
    centre-cropped to a square first. An alpha channel is dropped.

    Raises:
        ImageError: empty, too large (bytes or pixels), not an image, or of another channel
            count than the model's (a colour image for a grayscale model, or the reverse).
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ImageError("The file is empty: choose a PNG or JPEG image.")
    if len(data) > max_bytes:
        raise ImageError(f"The file is {len(data) / 2 ** 20:.1f} MiB; the limit is {max_bytes / 2 ** 20:.0f} MiB.")
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > max_pixels:
            raise ImageError(f"The image is {width}x{height} pixels; the limit is {max_pixels:,} pixels (e.g. "
                             f"{int(max_pixels ** 0.5)}x{int(max_pixels ** 0.5)}). Resize it first.")
        image.load()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("The file is not an image this can read: choose a PNG or JPEG image.") from None
    except (OSError, SyntaxError, ValueError) as error:   # a truncated or corrupt image file
        raise ImageError(f"The image file is damaged and cannot be read ({error}): choose another one.") from None
    bands = [band for band in image.getbands() if band not in ("A", "P")] or ["L"]
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        bands = ["R", "G", "B"]
    found = 1 if len(bands) == 1 else 3
    if found != channels:
        what = {1: "grayscale (1 channel)", 3: "colour (3 channels)"}
        raise ImageError(f"The model draws {what.get(channels, f'{channels}-channel')} images; this image is "
                         f"{what[found]}. Convert it first.")
    image = image.convert("L" if channels == 1 else "RGB")
    side = min(image.size)
    left, top = (image.size[0] - side) // 2, (image.size[1] - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((resolution, resolution), Image.Resampling.BOX)
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    return pixels.reshape(resolution, resolution, channels)
