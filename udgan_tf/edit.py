"""Turn the knobs of your own image: ``python -m udgan_tf.edit --run-dir DIR --image in.png
--knob size=+0.5 --out out.png``.

The image is read as ``udgan_tf.editing.read_image`` reads it (centre-cropped to a square,
resized to the model's resolution), inverted with the run's knob encoder (train it first:
``python -m udgan_tf.inversion --run-dir DIR``) and, with ``--refine-steps``, refined per
image; then each ``--knob NAME=VALUE`` is applied: a signed value (``+0.5``, ``-0.3``) is
added to the image's own, an unsigned one (``0.8``) sets the knob. ``--traverse NAME``
writes a strip instead: the image's knobs with NAME swept from -1 to 1 (``--values``). The
PNG shows the input, its reconstruction and the result(s) side by side, upscaled so each
is at least 256 px (``udgan_tf.runs.write_png_row``). The library behind it is
``udgan_tf.editing.KnobEditor.edit_file``.
"""

import argparse
import sys

import numpy as np

from udgan_tf import exit_codes
from udgan_tf.editing import EditingError, ImageError, load_editor
from udgan_tf.knobs import UnknownKnobError
from udgan_tf.runs import RunDirectoryError, RunWriteError, write_png_row


def parse_knob_setting(text):
    """``NAME=+0.5`` -> ("NAME", 0.5, "delta"); ``NAME=0.5`` -> ("NAME", 0.5, "value")."""
    name, sep, value = text.partition("=")
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or not name or number is None or not np.isfinite(number):
        raise EditingError(f"--knob takes NAME=+DELTA, NAME=-DELTA or NAME=VALUE (e.g. size=+0.5). Received: {text!r}")
    return name, number, "delta" if value[:1] in "+-" else "value"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m udgan_tf.edit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True, help="a run directory with a knob encoder (udgan_tf.inversion)")
    parser.add_argument("--image", required=True, help="the image file to edit (PNG, JPEG, ...)")
    parser.add_argument("--knob", action="append", default=[], metavar="NAME=+DELTA|NAME=VALUE",
                        help="turn a knob: a signed value is added, an unsigned one is set; repeatable")
    parser.add_argument("--traverse", metavar="NAME", help="write a strip sweeping this knob from -1 to 1")
    parser.add_argument("--values", type=int, default=8, help="images in the --traverse strip (default 8)")
    parser.add_argument("--refine-steps", type=int, default=200,
                        help="gradient steps per image after the encoder (default 200; 0: the encoder only)")
    parser.add_argument("--restarts", type=int, default=4, help="starting points when refining (default 4)")
    parser.add_argument("--out", required=True, metavar="FILE.png")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        settings = [parse_knob_setting(text) for text in args.knob]
        deltas = {name: number for name, number, kind in settings if kind == "delta"}
        values = {name: number for name, number, kind in settings if kind == "value"}
        images, recovered = load_editor(args.run_dir).edit_file(args.image, deltas, values, args.traverse,
                                                                args.values, args.refine_steps, args.restarts)
        size = write_png_row(args.out, images)
    except (EditingError, ImageError, UnknownKnobError, RunDirectoryError, RunWriteError) as error:
        return exit_codes.report(error)
    print(f"wrote {args.out} ({size[0]}x{size[1]} px: input, reconstruction, {len(images) - 2} edited); recovered "
          f"knobs: {np.array2string(recovered, precision=2, separator=', ')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
