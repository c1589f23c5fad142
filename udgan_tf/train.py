"""Train UD-GAN / UD-GAN-G: ``python -m udgan_tf.train --dataset dsprites``.

Builds the model from a config (``configs/<dataset>.yaml`` unless ``--config`` is
given), trains it with ``model.fit`` and writes a run directory (see
``udgan_tf.runs``): TensorBoard logs with losses and traversal grids, checkpoints,
the resolved config, ``history.csv`` and a final ``traversal.png``.
"""

import argparse
import contextlib
import csv
import datetime
import io
import json
import math
import os
import pathlib
import signal
import sys
import tempfile
import threading
import time

import keras
import numpy as np
import tensorflow as tf

from udgan_tf import config as config_lib
from udgan_tf import data as data_lib
from udgan_tf import methods
from udgan_tf.runs import EventFile, RunDirectory, RunDirectoryError, RunWriteError, append_text
from udgan_tf.evaluation.traversal import save_traversal_png, traversal_summary_image


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m udgan_tf.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset",
                        help=f"data set name; its config is configs/<name>.yaml (available: "
                             f"{', '.join(data_lib.available_datasets())}). Default: dsprites.")
    parser.add_argument("--config", help="YAML config file; default configs/<dataset>.yaml, or "
                                         "configs/<dataset>_<method>.yaml with --method when it exists")
    parser.add_argument("--method", help=f"model.method: {', '.join(methods.METHODS)}. Default: the config's "
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
                        help="mixed_float16 on GPU, mixed_bfloat16 on CPU/TPU (weights, outputs and losses stay float32)")
    parser.add_argument("--strategy", default="auto", choices=STRATEGIES,
                        help="tf.distribute strategy; auto: MirroredStrategy when more than one GPU is visible")
    return parser.parse_args(argv)


STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")


def make_strategy(name):
    """The ``tf.distribute`` strategy for ``--strategy`` (see README, "Several GPUs and machines")."""
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()  # reads TF_CONFIG
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def set_mixed_precision():
    """``mixed_float16`` when a GPU is visible, else ``mixed_bfloat16``. Returns the policy name."""
    policy = "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"
    keras.mixed_precision.set_dtype_policy(policy)
    return policy


def is_chief(strategy):
    """True unless this process is a non-chief worker of a multi-worker strategy.

    With TF_CONFIG the chief is the task of type "chief", or worker 0 when the cluster
    has no "chief" (TensorFlow's convention).
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step, the loss and the last backup."""


class TrainingStopped(RuntimeError):
    """A write failed during training; the message names the file, the cause, the last
    backup and how to resume."""


class TrainingPreempted(Exception):
    """Training stopped on SIGTERM after a backup; the message names the step, the backup
    and how to resume."""


def build_config(args):
    """The resolved config for the command line: file, then --set, then the flags.

    Without --config, --dataset picks the shipped ``configs/<dataset>.yaml`` (with --method M,
    ``configs/<dataset>_M.yaml`` when there is one); with it, --dataset (when given) replaces
    the file's ``dataset.name``.
    """
    dataset = args.dataset or "dsprites"
    if args.method is not None:
        try:
            methods.get_method(args.method)
        except methods.UnknownMethodError as error:
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


def build_dataset(config):
    """The data set and its infinite training ``tf.data.Dataset`` (seeded by ``training.seed``)."""
    data = build_data(config)
    training = config["training"]
    return data, data.training_dataset(training["batch_size"], seed=training["seed"])


def build_data(config):
    """The data set of ``config`` (``udgan_tf.data.dataset_for_config``), before any training.

    Missing or malformed files are a ``DataError``; an unknown option, a resolution the
    data cannot support or a mismatch with the model a ``ConfigError``.
    """
    try:
        return data_lib.dataset_for_config(config)
    except data_lib.DataError:
        raise
    except ValueError as error:  # unknown name or option, bad value: the message names the valid ones
        raise config_lib.ConfigError(str(error)) from None


def build_model(config):
    """The compiled model of ``config``'s method (``udgan_tf.methods``), one Adam per optimizer
    section. Under the ``mixed_float16`` policy every optimizer is wrapped in a
    ``LossScaleOptimizer`` (float16 gradients underflow without loss scaling)."""
    model = methods.build_model(config["model"])
    optimizers = {name: keras.optimizers.Adam(**options) for name, options in config["optimizers"].items()}
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        optimizers = {name: keras.optimizers.LossScaleOptimizer(opt) for name, opt in optimizers.items()}
    methods.compile_model(model, optimizers)
    return model


class TrainingClock:
    """Seconds of training since ``fit`` began, plus ``seconds_before`` (those of the steps
    before a resume, so a time budget spans the restarts of one run).

    ``kind`` "wall" reads the wall clock; "cpu" the process's CPU time divided by the cores
    it may use, so that two runs given the same minutes get the same share of this machine
    even when other jobs run beside one of them (they then take longer on the wall).
    """

    def __init__(self, kind="wall", seconds_before=0.0):
        if kind == "wall":
            self.read = time.time
        else:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            self.read = lambda: time.process_time() / cores
        self.started = self.read()
        self.seconds_before = seconds_before

    def seconds(self):
        return self.seconds_before + self.read() - self.started


class RunMonitor(keras.callbacks.Callback):
    """Writes scalars and traversal grids to TensorBoard, ``history.csv`` rows,
    checkpoints and backups, all keyed by the training step (not the Keras epoch).

    ``stop_requested`` (set by the SIGTERM handler) stops ``fit`` after the current step.
    ``backup_step`` is the step of the backup on disk (None before the first one).
    With ``training.snapshot_every_minutes`` the model is also kept every so many training
    minutes as a run directory of its own in ``snapshots/`` (``RunDirectory.save_snapshot``).
    """

    def __init__(self, run, training, backup_step=None, seconds_before=0.0):
        super().__init__()
        self.run = run
        self.training = training
        self.events = EventFile(run.log_dir)
        self.clock = TrainingClock(training.get("clock", "wall"), seconds_before)
        self.stop_requested = False
        self.budget_reached = False   # training.minutes have passed: the run ends here, finished
        self.backup_step = backup_step
        self.previous_step = None
        every = training.get("snapshot_every_minutes")
        self.next_snapshot = None if every is None else (seconds_before // (60 * every) + 1) * 60 * every

    @property
    def step(self):
        return int(self.model.optimizer.iterations.numpy())

    def on_train_begin(self, logs=None):
        self.previous_step = self.step

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            if not math.isfinite(float(value)):
                backup = (f"the last good backup ({self.run.backup_path}) is intact; rerun the same command to "
                          "resume from it" if self.run.backup_path.exists() else "no backup was written yet")
                raise TrainingDiverged(f"{name} is {float(value)} at step {self.step}: training stopped; {backup}. "
                                       "Lower the learning rates or model.contrastive_weight.")
        minutes = self.training.get("minutes")
        if minutes is not None and self.clock.seconds() >= 60.0 * minutes:
            self.budget_reached = True
        if self.stop_requested or self.budget_reached:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        """Logs at the end of every epoch; checkpoints, backups and images when the steps since
        the previous epoch end (or since ``fit`` began) crossed a multiple of their interval."""
        step, previous = self.step, self.previous_step
        self.previous_step = step

        def crossed(every):
            return step // every > previous // every

        logs = {k: float(v) for k, v in (logs or {}).items()}
        seconds = self.clock.seconds()
        if self.training.get("minutes") is not None:  # the epoch count of a time budget says nothing
            print(f"step {step}: {seconds / 60:.1f} of {self.training['minutes']} minutes"
                  + (" (CPU clock)" if self.training.get("clock") == "cpu" else ""), flush=True)
        images = {}
        if crossed(self.training["image_every"]) or step == self.training["steps"]:
            images["traversal"] = np.asarray(traversal_summary_image(self.model, self.training["traversal_values"]))[0]
        self.events.write(step, logs, images)
        self._append_history(step, seconds, logs)
        if self.next_snapshot is not None and seconds >= self.next_snapshot:
            self.run.save_snapshot(self.model, step, seconds)
            every = 60 * self.training["snapshot_every_minutes"]
            self.next_snapshot = (seconds // every + 1) * every
        if crossed(self.training["checkpoint_every"]):
            self.run.save_checkpoint(self.model)
            self.run.write_status(step=step)
        if crossed(self.training["backup_every_steps"]):
            self.save_backup()
        if self.stop_requested:  # a SIGTERM during this method: stop before another step
            self.model.stop_training = True

    def save_backup(self):
        self.run.save_backup(self.model)
        self.backup_step = self.step

    def _append_history(self, step, seconds, logs):
        row = io.StringIO()
        writer = csv.writer(row)
        if not self.run.history_path.exists():
            writer.writerow(["step", "seconds", *sorted(logs)])
        writer.writerow([step, round(seconds, 2), *(logs[k] for k in sorted(logs))])
        append_text(self.run.history_path, row.getvalue())


def _fit_segments(step, total, every):
    """The ``model.fit`` calls that train from ``step`` to ``total``, as
    ``(first step, steps per epoch, epochs)``.

    Epochs end at multiples of ``every`` and at ``total``: a run resumed from any step (a
    SIGTERM backs up mid-epoch) first trains up to the next multiple, then whole epochs,
    then the remainder, and logs at the same steps as a run that never stopped.
    """
    segments = []
    aligned = min(total, -(-step // every) * every)  # the first multiple of every >= step
    if aligned > step:
        segments.append((step, aligned - step, 1))
    full_epochs = (total - aligned) // every
    if full_epochs:
        segments.append((aligned, every, full_epochs))
    end = aligned + full_epochs * every
    if total > end:
        segments.append((end, total - end, 1))
    return segments


@contextlib.contextmanager
def stop_on_sigterm(monitor):
    """While inside: SIGTERM (a preempted cloud machine) sets ``monitor.stop_requested``
    instead of ending the process, so training stops after the current step; the previous
    handler is restored on exit. Python delivers signals only to the main thread, so
    ``train()`` called from another thread leaves SIGTERM's handling as it was."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum, frame):
        monitor.stop_requested = True

    previous = signal.signal(signal.SIGTERM, request_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def train(config, output_dir, overwrite=False, verbose="auto", strategy=None):
    """Trains a model for ``config`` into ``output_dir``. Returns the trained UDGAN.

    An unfinished run with a backup in ``output_dir`` (same config) is resumed from its
    backup instead of refused: prints ``Resumed from step N``. Under a multi-worker
    strategy only the chief writes there; the other workers take part in every step but
    write into a temporary directory that is removed at the end.

    Raises ``RunDirectoryError`` when the run cannot start (a write before the first
    step failed), ``TrainingStopped`` when a write failed during training (the last
    backup intact), ``TrainingPreempted`` after a SIGTERM (a backup at the step reached).
    """
    strategy = strategy or tf.distribute.get_strategy()
    if is_chief(strategy):
        return _train(config, output_dir, overwrite, verbose, strategy)
    with tempfile.TemporaryDirectory(prefix="udgan_worker_") as scratch:
        return _train(config, pathlib.Path(scratch) / "run", overwrite, verbose, strategy)


def _train(config, output_dir, overwrite, verbose, strategy):
    run = RunDirectory(output_dir)
    training = config["training"]
    resume = not overwrite and run.can_resume()
    if resume and _with_new_defaults(run.read_config()) != json.loads(json.dumps(config)):
        raise RunDirectoryError(f"{run.path} holds an unfinished run with a different config; resume it with its "
                                f"own config ({run.config_path}), or pass --overwrite or another --output-dir.")
    keras.utils.set_random_seed(training["seed"])
    data = build_data(config)                       # fails before the run directory is touched
    with strategy.scope():
        model = build_model(config)
    step = 0
    if resume:
        model.load_weights(run.backup_path)
        step = int(model.optimizer.iterations.numpy())
        print(f"Resumed from step {step}", flush=True)
    try:
        if resume:
            run.truncate_history(step)
            run.drop_snapshots_after(step)
        else:
            run.prepare(overwrite=overwrite)
            run.write_config(config)
            run.write_status(status="running", step=0, steps=training["steps"],
                             started=datetime.datetime.now().isoformat(timespec="seconds"))
        monitor = RunMonitor(run, training, backup_step=step if resume else None,
                             seconds_before=run.history_seconds() if resume else 0.0)
        monitor.set_model(model)  # fit sets it too; a run resumed at its last step runs no fit
    except RunWriteError as error:
        if not resume:
            with contextlib.suppress(OSError):  # best effort: the error to report is the failed write
                run.discard()
        raise RunDirectoryError(f"the run could not start: {error}. {error.remedy.capitalize()} or choose another "
                                "--output-dir, then rerun the same command.") from error
    try:
        with stop_on_sigterm(monitor):
            for start, steps_per_epoch, epochs in _fit_segments(step, training["steps"], training["log_every"]):
                if monitor.stop_requested or monitor.budget_reached:
                    break
                # Each fit draws a new data stream (seed + its first step) instead of replaying the first batches.
                dataset = data.training_dataset(training["batch_size"], seed=training["seed"] + start)
                first_epoch = start // training["log_every"]
                model.fit(dataset, epochs=first_epoch + epochs, initial_epoch=first_epoch,
                          steps_per_epoch=steps_per_epoch, callbacks=[monitor], verbose=verbose,
                          shuffle=False)  # the data set is an infinite stream
            if monitor.stop_requested and monitor.step < training["steps"]:
                _stop_preempted(run, monitor)
        run.save_checkpoint(model)
        save_traversal_png(run.traversal_path, model, training["traversal_values"],
                           title=f"{config['dataset']['name']}, step {monitor.step}")
        run.write_status(status="finished", step=monitor.step,
                         finished=datetime.datetime.now().isoformat(timespec="seconds"))
    except RunWriteError as error:
        if monitor.backup_step is None:
            resume_from = (f"No backup was written yet: {error.remedy} or choose another --output-dir, then rerun "
                           "the same command with --overwrite to start again.")
        else:
            resume_from = (f"The last backup ({run.backup_path}, step {monitor.backup_step}) is intact: "
                           f"{error.remedy} or choose another --output-dir, then rerun the same command to resume "
                           f"from step {monitor.backup_step}.")
        raise TrainingStopped(f"{error}. Training stopped at step {monitor.step}. {resume_from}") from error
    return model


def _with_new_defaults(saved):
    """A run directory's config with the keys added since it was written (``training.minutes``,
    ``clock``, ``snapshot_every_minutes``) at their defaults, so a run of an older version still
    resumes."""
    saved["training"].setdefault("minutes", None)
    saved["training"].setdefault("clock", "wall")
    saved["training"].setdefault("snapshot_every_minutes", None)
    return saved


def _stop_preempted(run, monitor):
    """After a SIGTERM: a backup at the step reached, run.json still "running", then ``TrainingPreempted``."""
    step = monitor.step
    if monitor.backup_step != step:
        monitor.save_backup()
    run.write_status(status="running", step=step)
    raise TrainingPreempted(f"Training stopped at step {step} of {monitor.training['steps']} (SIGTERM). The whole "
                            f"training state is backed up in {run.backup_path}: rerun the same command to resume "
                            f"from step {step}.")


def main(argv=None):
    args = parse_args(argv)
    try:  # First: MultiWorkerMirroredStrategy must exist before TensorFlow runs any op.
        strategy = make_strategy(args.strategy)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:  # e.g. no TPU, a bad TF_CONFIG
        print(f"error: --strategy {args.strategy} is not available here: {error}", file=sys.stderr)
        return 2
    try:
        config = build_config(args)
        output_dir = args.output_dir or f"runs/{config['dataset']['name']}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
        if args.mixed_precision:
            print(f"Mixed precision: {set_mixed_precision()}", flush=True)
        train(config, output_dir, overwrite=args.overwrite, strategy=strategy)
    except (config_lib.ConfigError, RunDirectoryError, FileNotFoundError, data_lib.DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (TrainingDiverged, TrainingStopped) as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except TrainingPreempted as error:
        print(error, file=sys.stderr)
        return 128 + signal.SIGTERM  # 143, what a shell reports for a process ended by SIGTERM
    print(f"Run written to {output_dir} (traversal grid: {RunDirectory(output_dir).traversal_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
