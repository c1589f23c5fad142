"""Knob traversals (the paper's Tables 3 and 4): one row per knob, that knob swept from
-1 to 1 while the others stay fixed."""

import numpy as np
import tensorflow as tf

from udgan_tf.knobs import VALUE_RANGE
from udgan_tf.runs import write_figure


def traversal_latents(layout, base, num_values):
    """Latents of a traversal grid.

    Args:
        layout: ``udgan_tf.knobs.KnobLayout``.
        base: float ``[Z]``, the fixed knob values.
        num_values: int K, columns per row.

    Returns:
        float32 ``[N_A * K, Z]``: row i*K + k sets every dimension of knob i to
        ``linspace(-1, 1, K)[k]``.
    """
    values = np.linspace(*VALUE_RANGE, num_values, dtype=np.float32)
    latents = np.tile(np.asarray(base, np.float32), (len(layout.knobs) * num_values, 1))
    for i, piece in enumerate(layout.latent_slices):
        latents[i * num_values:(i + 1) * num_values, piece] = values[:, None]
    return latents


def traversal_grid(model, num_values=9, seed=0):
    """Generates the traversal grid. Returns float32 ``[N_A, K, R, R, C]`` in [0, 1]."""
    base = np.random.RandomState(seed).uniform(*VALUE_RANGE, model.layout.latent_dim)
    latents = traversal_latents(model.layout, base, num_values)
    images = np.asarray(model(latents, training=False))
    return images.reshape(len(model.knobs), num_values, *images.shape[1:])


def tile(grid, padding=2):
    """``[rows, cols, R, R, C]`` -> one image ``[rows*(R+p)-p, cols*(R+p)-p, C]`` with white gaps."""
    rows, cols, height, width, channels = grid.shape
    out = np.ones((rows * (height + padding) - padding, cols * (width + padding) - padding, channels),
                  dtype=grid.dtype)
    for r in range(rows):
        for c in range(cols):
            out[r * (height + padding):r * (height + padding) + height,
                c * (width + padding):c * (width + padding) + width] = grid[r, c]
    return out


def traversal_figure(grid, knob_names, title=None):
    """The grid with knob names on the rows and values on the columns. Returns a matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = grid.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(0.9 * cols + 1.4, 0.9 * rows + 0.6), squeeze=False)
    values = np.linspace(*VALUE_RANGE, cols)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            image = grid[r, c]
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(knob_names[r], rotation=0, ha="right", va="center", fontsize=8)
            if r == 0:
                ax.set_title(f"{values[c]:+.2f}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(left=0.16, right=0.99, top=0.93 if title else 0.96, bottom=0.01, wspace=0.05, hspace=0.05)
    return fig


def save_traversal_png(path, model, num_values=9, seed=0, title=None):
    """Writes the labelled traversal grid of ``model`` to ``path`` (atomically)."""
    write_figure(path, traversal_figure(traversal_grid(model, num_values, seed), [k.name for k in model.knobs], title))


def traversal_summary_image(model, num_values=9, seed=0):
    """The tiled grid as a TensorBoard image batch ``[1, H', W', C]``."""
    return tf.convert_to_tensor(tile(traversal_grid(model, num_values, seed))[None])
