"""Export a trained run for TF Serving: ``python -m udgan_tf.export --run-dir DIR --export-base DIR --model-name NAME``.

Writes ``<export-base>/<model-name>/<version>/`` (version: ``--version`` or the next free
integer; an existing version is never overwritten), built in a temporary directory and renamed
into place when complete. The signatures, ``knobs.json`` and the warm-up requests are described
in ``udgan_tf.serving.export``.
"""

import argparse
import json
import pathlib
import sys

from udgan_tf import exit_codes
from udgan_tf.runs import RunDirectoryError, RunWriteError
from udgan_tf.serving import signatures as contract
from udgan_tf.serving.export import MAX_BATCH_SIZE, ExportError, export_run


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m udgan_tf.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True, help="a run directory written by udgan_tf.train")
    parser.add_argument("--export-base", required=True, help="TF Serving's model base directory")
    parser.add_argument("--model-name", required=True, help="the served model's name")
    parser.add_argument("--version", type=int, help="version number (default: the next free one)")
    parser.add_argument("--max-batch-size", type=int, default=MAX_BATCH_SIZE, help="largest batch per request")
    parser.add_argument("--batching", action="store_true",
                        help="for a server with --enable_batching: leave traverse out of the warm-up requests")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        path = export_run(args.run_dir, args.export_base, args.model_name, args.version, args.max_batch_size,
                          args.batching)
    except (ExportError, RunDirectoryError, FileNotFoundError) as error:
        return exit_codes.report(error)
    except RunWriteError as error:
        return exit_codes.report(error, f"error: the export stopped: {error}. No version was written (the partial "
                                        f"one was removed); {error.remedy}, or pass another --export-base, then "
                                        "rerun the same command.")
    names = json.loads((path / "assets.extra" / "knobs.json").read_text())["signatures"]
    print(f"Exported to {path} (signatures: {', '.join(names)})")
    if contract.INVERT not in names:
        print(f"No knob encoder in {pathlib.Path(args.run_dir) / 'inversion'}: invert and edit are not exported. "
              f"Train one with python -m udgan_tf.inversion --run-dir {args.run_dir}, then export again.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
