"""The README's editing picture: real dSprites images, their reconstructions and knob edits.

    python benchmarks/edit_figure.py --run-dir runs/dsprites [--rows 4] [--refine-steps 100] \
        [--out benchmarks/figures/edit_dsprites.png] [--sprite benchmarks/figures/sprite.png]

Each row: a real image (fixed seed), G(invert(x)) and ``model.edit`` of it with each guided
knob moved by -0.5 and +0.5. ``--sprite`` also writes the first real image as a PNG file,
the input of the README's ``python -m udgan_tf.edit`` example.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from udgan_tf import data as data_lib  # noqa: E402
from udgan_tf.editing import apply_edit, load_editor  # noqa: E402
from udgan_tf.runs import RunDirectory, write_figure, write_png  # noqa: E402

EDITS = [(knob, delta) for knob in ("x_position", "y_position", "size") for delta in (-0.5, 0.5)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", default="runs/dsprites")
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--refine-steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="benchmarks/figures/edit_dsprites.png")
    parser.add_argument("--sprite")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    editor = load_editor(args.run_dir)
    model = editor.model
    data = data_lib.dataset_for_config(RunDirectory(args.run_dir).read_config())
    _, images = data.sample(args.rows, np.random.RandomState(args.seed))
    images = images.astype(np.float32)
    knobs = editor.invert(images, refine_steps=args.refine_steps, restarts=2)
    columns = [("real image", images), ("reconstruction", np.asarray(model(knobs)))]
    columns += [(f"{knob} {delta:+.1f}", np.asarray(model(apply_edit(model.layout, knobs, {knob: delta}))))
                for knob, delta in EDITS]
    fig, axes = plt.subplots(args.rows, len(columns), figsize=(1.3 * len(columns), 1.4 * args.rows), squeeze=False)
    for column, (title, pictures) in enumerate(columns):
        for row in range(args.rows):
            axes[row, column].imshow(pictures[row, ..., 0], cmap="gray", vmin=0, vmax=1)
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
        axes[0, column].set_title(title, fontsize=7)
    fig.suptitle(f"editor.invert (encoder + {args.refine_steps} refinement steps), then editor.edit", fontsize=8)
    fig.tight_layout()
    write_figure(args.out, fig, dpi=110)
    if args.sprite:
        write_png(args.sprite, images[0])
    print(f"wrote {args.out}" + (f" and {args.sprite}" if args.sprite else ""))


if __name__ == "__main__":
    main()
