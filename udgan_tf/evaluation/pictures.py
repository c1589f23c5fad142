"""The evaluation report's pictures, each written as a PNG file.

* ``save_knob_traversal``: one knob swept from -1 to 1 (columns) for several random
  settings of the other knobs (rows), the layout of the paper's Tables 3 and 4;
* ``save_embedding_plot``: a guided embedding of real images coloured by the factor it
  should capture (t-SNE for 3+ dimensions, as Figure 4d/e);
* ``save_saliency``: where each siamese network (with its guidance) looks, from the
  gradient of its embedding with respect to the image (tf-keras-vis ``Saliency``);
* ``save_heatmap``: a labelled matrix (the knob x factor matrix);
* ``save_training_curves``: the losses of ``history.csv`` against the step.
"""

import csv

import numpy as np

from udgan_tf.evaluation.traversal import tile, traversal_latents
from udgan_tf.knobs import VALUE_RANGE
from udgan_tf.runs import write_figure


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    write_figure(path, fig, bbox_inches="tight")


def _show_image(ax, image):
    ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])


def save_knob_traversal(path, model, knob_index, num_values=9, rows=5, seed=0):
    """Knob ``knob_index`` swept over ``num_values`` values, for ``rows`` random bases."""
    random_state = np.random.RandomState(seed)
    latents = []
    for _ in range(rows):
        base = random_state.uniform(*VALUE_RANGE, model.layout.latent_dim)
        latents.append(traversal_latents(model.layout, base, num_values)[knob_index * num_values:
                                                                        (knob_index + 1) * num_values])
    images = np.asarray(model(np.concatenate(latents), training=False))
    grid = tile(images.reshape(rows, num_values, *images.shape[1:]))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(num_values * 0.9, rows * 0.9 + 0.4))
    _show_image(ax, grid)
    ax.set_title(f"knob {model.knobs[knob_index].name}: -1 to 1 (columns), other knobs random (rows)", fontsize=9)
    _save(fig, path)


def embedding_2d(embedding, seed=0):
    """``[N, D]`` -> ``[N, 2]``: t-SNE for D >= 3, the embedding itself otherwise (1-D gets a zero column)."""
    if embedding.shape[1] >= 3:
        from sklearn.manifold import TSNE

        perplexity = min(30.0, max(2.0, (len(embedding) - 1) / 3))
        return TSNE(2, init="pca", random_state=seed, perplexity=perplexity).fit_transform(embedding)
    if embedding.shape[1] == 2:
        return embedding
    return np.concatenate([embedding, np.zeros_like(embedding)], axis=1)


def save_embedding_plot(path, embedding, factor, factor_name, knob_name, seed=0):
    """Scatter of a guided embedding ``[N, D]`` of real images coloured by a factor ``[N]``.

    A 1-D embedding is drawn against the factor itself (x: embedding, y: factor).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    if embedding.shape[1] == 1:
        jitter = np.random.RandomState(seed).uniform(-0.3, 0.3, len(factor))
        points = ax.scatter(embedding[:, 0], factor + jitter, c=factor, s=4, cmap="viridis")
        ax.set_xlabel(f"phi_{knob_name}(x)")
        ax.set_ylabel(factor_name)
        method = "embedding"
    else:
        xy = embedding_2d(embedding, seed)
        points = ax.scatter(xy[:, 0], xy[:, 1], c=factor, s=4, cmap="viridis")
        method = "t-SNE" if embedding.shape[1] >= 3 else "embedding"
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(points, ax=ax, label=factor_name)
    ax.set_title(f"{method} of phi_{knob_name} on real images, coloured by {factor_name}", fontsize=9)
    _save(fig, path)


def saliency_maps(network, images):
    """|d sum(phi(g(x))) / dx| of one siamese network, per image: ``[N, R, R, C]`` -> ``[N, R, R]`` in [0, 1].

    Each map is divided by its maximum (not min-max scaled), so a network that
    weighs every pixel alike, like the area guidance, shows a uniform map.
    """
    import keras
    import tensorflow as tf
    from tf_keras_vis.saliency import Saliency

    inputs = keras.Input(images.shape[1:])
    functional = keras.Model([inputs], [network(inputs)])  # tf-keras-vis needs a model with .outputs
    saliency = Saliency(functional, clone=False)
    maps = np.asarray(saliency(lambda output: tf.reduce_sum(output, axis=-1), tf.constant(images),
                               normalize_map=False))
    peak = maps.reshape(len(maps), -1).max(axis=1)
    return maps / np.where(peak > 0, peak, 1.0)[:, None, None]


def save_saliency(path, model, images):
    """Rows: the images, then one saliency row per siamese network (its guided knob, or ``unguided``)."""
    rows = [("image", images)] + [(slot.label, saliency_maps(network, images))
                                  for slot, network in zip(model.layout.siamese_plan, model.siamese_networks)]
    plt = _pyplot()
    fig, axes = plt.subplots(len(rows), len(images), figsize=(1.1 * len(images) + 1, 1.1 * len(rows)),
                             squeeze=False)
    for r, (name, maps) in enumerate(rows):
        for c in range(len(images)):
            if r == 0:
                _show_image(axes[r, c], images[c])
            else:
                axes[r, c].imshow(maps[c], cmap="inferno", vmin=0, vmax=1)
                axes[r, c].set_xticks([])
                axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(name, fontsize=8)
    fig.suptitle("where each siamese network looks (saliency)", fontsize=9)
    _save(fig, path)


def save_heatmap(path, matrix, row_names, column_names, title, vmax=1.0):
    plt = _pyplot()
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(0.9 * len(column_names) + 2.5, 0.35 * len(row_names) + 1.2))
    image = ax.imshow(matrix, cmap="viridis", vmin=0, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(column_names)), column_names, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(row_names)), row_names, fontsize=8)
    for (r, c), value in np.ndenumerate(matrix):
        ax.text(c, r, f"{value:.2f}", ha="center", va="center", fontsize=7,
                color="white" if value < 0.6 * vmax else "black")
    fig.colorbar(image, ax=ax)
    ax.set_title(title, fontsize=9)
    _save(fig, path)


def read_history(history_path):
    """``history.csv`` -> (steps ``[T]``, {column: values ``[T]``}) without the seconds column."""
    with open(history_path, newline="") as f:
        rows = list(csv.DictReader(f))
    steps = np.array([float(r["step"]) for r in rows])
    columns = {k: np.array([float(r[k]) for r in rows]) for k in (rows[0] if rows else {})
               if k not in ("step", "seconds")}
    return steps, columns


def save_training_curves(path, history_path, knob_names):
    """Left: the method's losses (UD-GAN: D's, G's and the contrastive loss); right: UD-GAN's
    contrastive loss of each knob."""
    from udgan_tf.knobs import knob_loss_name

    steps, columns = read_history(history_path)
    per_knob = [(name, knob_loss_name(name)) for name in knob_names if knob_loss_name(name) in columns]
    main = [k for k in columns if k not in {key for _, key in per_knob} | {"step", "seconds"}]
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for key in main:
        axes[0].plot(steps, columns[key], label=key)
    for name, key in per_knob:
        axes[1].plot(steps, columns[key], label=name, linewidth=0.8)
    axes[0].set_title("losses")
    axes[1].set_title("contrastive loss per knob")
    for ax in axes:
        ax.set_xlabel("step")
        if ax.lines:
            ax.legend(fontsize=6)
    _save(fig, path)
