"""Can a generator layout draw dSprites' three shapes at all, when it is *told* the factors?
(issue 28, step 1: the capacity of G, apart from any GAN.)

    python benchmarks/decoder_capacity.py --layout dcgan --layout infogan_cr --layout table5 \\
        --steps 2000 --every 500 [--write decoder_capacity]

Each layout is trained as a supervised decoder: the ground-truth factors of a real sprite,
8 numbers (shape one-hot; scale, x and y mapped to [-1, 1]; orientation as sin and cos),
go into ``udgan_tf.networks.Generator`` (latent_dim 8, 64x64, 32 filters, the layout's
normalisation in the shipped configs: batch norm for dcgan and the InfoGAN-CR layouts, none
for table5, the paper's, and for infogan_cr_upsample, issue 28's candidate layout),
trained with per-pixel binary cross-entropy against the real image,
Adam(``--learning-rate``, default 2e-4 as G has in the shipped GANs; beta_1 0.5), batch 64,
fresh factor draws every step.

Every ``--every`` steps, on ``--num`` (5,000) new draws in inference mode: the oracle's shape
shares of the decoded images (real: 33 % each) and its shape accuracy against the told shape,
improved precision and recall in the oracle's features against as many real images of other
draws (``udgan_tf.evaluation.fidelity``, as ``evaluate`` measures generators), and the pixel
IoU of the thresholded image with the real image of the same factors, per shape. The figure
shows real sprites above what each layout draws for the same factors. The last line printed
is JSON; ``--write NAME`` puts the table into BENCHMARKS.md.
"""

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from report import update_section  # noqa: E402
from udgan_tf.data import DSprites  # noqa: E402
from udgan_tf.evaluation.fidelity import precision_recall, shape_shares  # noqa: E402
from udgan_tf.evaluation.oracle import load_or_train_oracle  # noqa: E402
from udgan_tf.networks import Generator  # noqa: E402
from udgan_tf.runs.images import write_figure  # noqa: E402

#: The normalisation each layout has in the shipped configs.
#: ``infogan_cr_upsample`` (issue 28's candidate) is measured without it.
NORMALIZATION = {"table5": "none", "dcgan": "batch", "infogan_cr": "batch", "infogan_cr_reference": "batch",
                 "infogan_cr_upsample": "none"}


FIGURE = pathlib.Path(__file__).resolve().parent / "figures" / "decoder_capacity.png"


def encode_factors(data, factors):
    """Class indices ``[N, 5]`` -> the decoder's input ``[N, 8]`` float32 (see the module docstring)."""
    shape, scale, orientation, x, y = factors.T
    angle = data.factor_values["orientation"][orientation]
    sizes = data.factor_sizes
    return np.stack([shape == 0, shape == 1, shape == 2,
                     2.0 * scale / (sizes[1] - 1) - 1.0, np.sin(angle), np.cos(angle),
                     2.0 * x / (sizes[3] - 1) - 1.0, 2.0 * y / (sizes[4] - 1) - 1.0], axis=1).astype(np.float32)


def decode(generator, inputs, batch=500):
    """Decoded images ``[N, 64, 64, 1]`` in inference mode."""
    return np.concatenate([np.asarray(generator(inputs[s:s + batch], training=False))
                           for s in range(0, len(inputs), batch)])


def measure(generator, data, oracle, held_out, real_features):
    """The figures of one point of the curve on the held-out draws ``(factors, images, inputs)``."""
    factors, real, inputs = held_out
    decoded = decode(generator, inputs)
    shapes = oracle.predict_factors(decoded)[:, 0]
    lit, truth = decoded > 0.5, real > 0.5
    iou = (lit & truth).sum(axis=(1, 2, 3)) / np.maximum((lit | truth).sum(axis=(1, 2, 3)), 1)
    figures = {**precision_recall(real_features, oracle.features(decoded)),
               "shares": shape_shares(shapes, data.shape_names),
               "shape_accuracy": float((shapes == factors[:, 0]).mean()),
               "iou": {name: float(iou[factors[:, 0] == k].mean()) for k, name in enumerate(data.shape_names)}}
    figures.pop("k")
    return figures, decoded


def train_layout(layout, data, oracle, held_out, real_features, args):
    """Trains one layout; yields ``(step, seconds, figures, decoded)`` every ``args.every`` steps."""
    keras.utils.set_random_seed(args.seed)
    generator = Generator(
        latent_dim=8, resolution=64, channels=1, filters=32, architecture=layout, normalization=NORMALIZATION[layout])
    optimizer = keras.optimizers.Adam(learning_rate=args.learning_rate, beta_1=0.5)

    @tf.function
    def step(inputs, images):
        with tf.GradientTape() as tape:
            logits = generator.body(inputs, training=True)
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=logits))
        optimizer.apply_gradients(zip(tape.gradient(loss, generator.trainable_variables),
                                      generator.trainable_variables))
        return loss

    rng = np.random.RandomState(args.seed)
    seconds = 0.0
    for number in range(1, args.steps + 1):
        factors, images = data.sample(args.batch_size, rng)
        start = time.perf_counter()
        step(encode_factors(data, factors), images.astype(np.float32))
        seconds += time.perf_counter() - start
        if number % args.every == 0 or number == args.steps:
            figures, decoded = measure(generator, data, oracle, held_out, real_features)
            yield number, seconds, figures, decoded


def picture(data, held_out, decoded_by_layout, path):
    """Real sprites (top row) above each layout's decoding of the same factors: 4 of each shape."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    factors, real, _ = held_out
    columns = np.concatenate([np.flatnonzero(factors[:, 0] == k)[:4] for k in range(3)])
    rows = [("real", real)] + list(decoded_by_layout.items())
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(len(columns) * 0.9, len(rows) * 1.0))
    for r, (name, images) in enumerate(rows):
        for c, index in enumerate(columns):
            axes[r, c].imshow(images[index, :, :, 0], cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_xticks([]), axes[r, c].set_yticks([])
            if c == 0:
                axes[r, c].set_ylabel(name, fontsize=7)
            if r == 0:
                axes[r, c].set_title(data.shape_names[factors[index, 0]], fontsize=7)
    write_figure(path, fig, bbox_inches="tight")


def table(rows):
    lines = ["| layout | step | train s | precision | recall | square | ellipse | heart | shape acc. (told) | "
             "IoU square | IoU ellipse | IoU heart |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        f = row["figures"]
        lines.append(f"| {row['layout']} | {row['step']} | {row['seconds']:.0f} | {f['precision']:.3f} | "
                     f"{f['recall']:.3f} | {f['shares']['square']:.1%} | {f['shares']['ellipse']:.1%} | "
                     f"{f['shares']['heart']:.1%} | {f['shape_accuracy']:.1%} | {f['iou']['square']:.2f} | "
                     f"{f['iou']['ellipse']:.2f} | {f['iou']['heart']:.2f} |")
    return "\n".join(lines).replace("%", " %")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layout", action="append", choices=sorted(NORMALIZATION), required=True)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--num", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--oracle-steps", type=int, default=3000)
    parser.add_argument("--figure", default=str(FIGURE))
    parser.add_argument("--write", metavar="SECTION")
    args = parser.parse_args(argv)
    data = DSprites(resolution=64)
    oracle = load_or_train_oracle(data, "dsprites-64", steps=args.oracle_steps)
    factors, images = data.sample(args.num, np.random.RandomState(1))
    held_out = (factors, images, encode_factors(data, factors))
    _, real = data.sample(args.num, np.random.RandomState(12345))
    real_features = oracle.features(real)
    rows, decoded_by_layout = [], {}
    for layout in args.layout:
        for step, seconds, figures, decoded in train_layout(layout, data, oracle, held_out, real_features, args):
            rows.append({"layout": layout, "step": step, "seconds": seconds, "figures": figures})
            print(json.dumps(rows[-1]), flush=True)
        decoded_by_layout[layout] = decoded
    picture(data, held_out, decoded_by_layout, args.figure)
    markdown = table(rows)
    print(markdown)
    if args.write:
        command = " ".join(["python benchmarks/decoder_capacity.py", *(f"--layout {name}" for name in args.layout),
                            f"--steps {args.steps} --every {args.every} --learning-rate {args.learning_rate:g}",
                            f"--write {args.write}"])
        update_section(args.write, f"G as a supervised decoder, Adam {args.learning_rate:g}. Command: `{command}`. "
                                   f"{args.num:,} held-out factor draws per point; the oracle's readings; real "
                                   f"images: about 33 % of each shape, precision and recall near 1.\n\n{markdown}\n\n![real sprites and what each layout "
                                   f"decodes](benchmarks/figures/{pathlib.Path(args.figure).name})")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
