"""Train UD-GAN / UD-GAN-G (or a baseline): ``python -m udgan_tf.train --dataset dsprites``.

Builds the model from a config (``configs/<dataset>.yaml`` unless ``--config`` is
given), trains it with ``model.fit`` (``udgan_tf.training``) and writes a run directory (see
``udgan_tf.runs.directory``): TensorBoard logs with losses and traversal grids, checkpoints,
the resolved config, ``history.csv`` and a final ``traversal.png``. Exit codes:
``udgan_tf.exit_codes``.
"""

import argparse
import datetime
import json
import sys

import tensorflow as tf

from udgan_tf import config as config_lib
from udgan_tf import data as data_lib
from udgan_tf import exit_codes
from udgan_tf.models import registry
from udgan_tf.runs import RunDirectory, RunDirectoryError
from udgan_tf.training import (STRATEGIES, TrainingDiverged, TrainingPreempted, TrainingStopped, make_strategy,
                               train)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m udgan_tf.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset",
                        help=f"data set name; its config is configs/<name>.yaml (available: "
                             f"{', '.join(data_lib.available_datasets())}). Default: dsprites.")
    parser.add_argument("--config", help="YAML config file; default configs/<dataset>.yaml, or "
                                         "configs/<dataset>_<method>.yaml with --method when it exists")
    parser.add_argument("--method", help=f"model.method: {', '.join(registry.METHODS)}. Default: the config's "
                                         "(udgan)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a config value, e.g. --set model.contrastive_weight=3 (repeatable)")
    parser.add_argument("--steps", type=int, help="training steps (training.steps)")
    parser.add_argument("--minutes", type=float, help="stop after this many minutes of training, finished, even "
                                                      "before --steps (training.minutes)")
    parser.add_argument("--batch-size", type=int, help="real images per step (training.batch_size)")
    parser.add_argument("--data-dir", help="where the data set's files are (dataset.data_dir): MNIST idx files, "
                                           "a CelebA folder or TFDS data dir, a folder of images")
    parser.add_argument("--output-dir", help="run directory; default runs/<dataset>-<timestamp>")
    parser.add_argument("--overwrite", action="store_true", help="delete an existing run in --output-dir first")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="training.mixed_precision=true: mixed_float16 on GPU, mixed_bfloat16 on CPU/TPU (weights, "
                             "outputs and losses stay float32)")
    parser.add_argument("--strategy", default="auto", choices=STRATEGIES,
                        help="tf.distribute strategy; auto: MirroredStrategy when more than one GPU is visible")
    return parser.parse_args(argv)


def build_config(args):
    """The resolved config for the command line: file, then --set, then the flags.

    Without --config, --dataset picks the shipped ``configs/<dataset>.yaml`` (with --method M,
    ``configs/<dataset>_M.yaml`` when there is one); with it, --dataset (when given) replaces
    the file's ``dataset.name``.
    """
    dataset = args.dataset or "dsprites"
    if args.method is not None:
        try:
            registry.get_method(args.method)
        except registry.UnknownMethodError as error:
            raise config_lib.ConfigError(f"--method: {error}") from None
    path = args.config or config_lib.config_path_for(dataset, args.method)
    if args.config is None and not path.exists():
        raise config_lib.ConfigError(
            f"Unknown dataset {dataset!r}: there is no {path}. Available: "
            f"{', '.join(data_lib.available_datasets())}. Or pass --config FILE.")
    overrides = list(args.set)
    if args.method is not None:
        overrides.append(f"model.method={args.method}")
    if args.minutes is not None:
        overrides.append(f"training.minutes={args.minutes}")
    if args.mixed_precision:
        overrides.append("training.mixed_precision=true")
    if args.config and args.dataset:
        overrides.append(f"dataset.name={args.dataset}")
    if args.steps is not None:
        overrides.append(f"training.steps={args.steps}")
    if args.batch_size is not None:
        overrides.append(f"training.batch_size={args.batch_size}")
    if args.data_dir is not None:
        overrides.append(f"dataset.data_dir={json.dumps(args.data_dir)}")  # JSON strings are YAML strings
    config = config_lib.load_config(path, overrides)
    config["model"].setdefault("seed", config["training"]["seed"])
    return config


def main(argv=None):
    args = parse_args(argv)
    try:  # First: MultiWorkerMirroredStrategy must exist before TensorFlow runs any op.
        strategy = make_strategy(args.strategy)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:  # e.g. no TPU, a bad TF_CONFIG
        return exit_codes.report(error, f"error: --strategy {args.strategy} is not available here: {error}")
    try:
        config = build_config(args)
        output_dir = args.output_dir or f"runs/{config['dataset']['name']}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
        train(config, output_dir, overwrite=args.overwrite, strategy=strategy)
    except (config_lib.ConfigError, RunDirectoryError, FileNotFoundError, data_lib.DataError, TrainingDiverged,
            TrainingStopped, TrainingPreempted) as error:
        return exit_codes.report(error)
    print(f"Run written to {output_dir} (traversal grid: {RunDirectory(output_dir).traversal_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
