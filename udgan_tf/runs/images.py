"""Pictures as PNG files: one quantisation of float images, one atomic writer for images and
for matplotlib figures."""

import io

import numpy as np

from udgan_tf.runs.files import atomic_write, atomic_write_bytes


def png_bytes(image):
    """PNG bytes of a float image ``[H, W, C]`` in [0, 1], quantised as ``tf.image.convert_image_dtype`` does."""
    from PIL import Image

    pixels = np.clip(np.asarray(image, np.float32) * 255.5, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def write_png(path, image):
    """Writes a float image ``[H, W, C]`` in [0, 1] to ``path`` as a PNG file, atomically."""
    atomic_write_bytes(path, png_bytes(image))


def write_png_row(path, images, min_size=256):
    """Writes float images ``[N, H, W, C]`` in [0, 1] as one PNG file: the N images in a row with
    1-px grey gaps, upscaled (nearest neighbour) so each is at least ``min_size`` px. Returns the
    picture's (width, height)."""
    images = np.asarray(images, np.float32)
    count, height, width, channels = images.shape
    gap = 1 if count > 1 else 0
    row = np.full((height, count * (width + gap) - gap, channels), 0.5, np.float32)
    for i, image in enumerate(images):
        row[:, i * (width + gap): i * (width + gap) + width] = image
    scale = max(1, -(-min_size // min(height, width)))
    write_png(path, row.repeat(scale, axis=0).repeat(scale, axis=1))
    return row.shape[1] * scale, row.shape[0] * scale


def write_figure(path, fig, **savefig_options):
    """Writes a matplotlib figure to ``path`` as a PNG file (100 dpi unless ``savefig_options``
    say otherwise), atomically, and closes it."""
    import matplotlib.pyplot as plt

    def write(tmp):
        fig.savefig(tmp, **{"format": "png", "dpi": 100, **savefig_options})
    try:
        atomic_write(path, write)
    finally:
        plt.close(fig)
