"""Train a run's knob encoder: ``python -m udgan_tf.inversion --run-dir DIR``.

The encoder E learns knobs from the run's own generated images (no labels) and is written to
``DIR/inversion/`` (progress bar, ``history.csv``, a backup every ``--backup-every`` steps:
rerunning the same command after a kill continues from it). ``udgan_tf.editing.load_editor``
then finds it, and ``python -m udgan_tf.edit``, the export's ``invert`` / ``edit`` signatures
and the demo's upload use it. The library behind it is ``udgan_tf.editing.encoder_training``.
"""

import argparse
import pathlib
import sys

from udgan_tf import exit_codes
from udgan_tf.editing.encoder_training import DEFAULTS, InversionError, InversionPreempted, train_encoder
from udgan_tf.runs import RunDirectoryError, RunWriteError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m udgan_tf.inversion", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True, help="a run directory of python -m udgan_tf.train")
    for key, value in DEFAULTS.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), help=f"default {value}")
    parser.add_argument("--overwrite", action="store_true", help="replace a trained encoder")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    options = {key: getattr(args, key) for key in DEFAULTS}
    try:
        train_encoder(args.run_dir, overwrite=args.overwrite, **options)
    except (InversionError, RunDirectoryError, FileNotFoundError, InversionPreempted) as error:
        return exit_codes.report(error)
    except RunWriteError as error:
        return exit_codes.report(error, f"error: {error}. {error.remedy.capitalize()}, then rerun the same command "
                                        "(it resumes from the last backup).")
    print(f"Encoder written to {pathlib.Path(args.run_dir) / 'inversion' / 'encoder.weights.h5'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
