"""The training loop: a config in, a trained model and its run directory out (``train``).

Builds the data set and the method's compiled model (``udgan_tf.models``), then calls
``model.fit`` in segments of ``training.log_every`` steps with a ``RunMonitor``; resumes an
unfinished run from its backup, stops on SIGTERM or a time budget, and writes the final
checkpoint, traversal grid and status (layout: ``udgan_tf.runs.directory``).
"""

import contextlib
import datetime
import json
import pathlib
import tempfile

import keras
import tensorflow as tf

from udgan_tf import config as config_lib
from udgan_tf import data as data_lib
from udgan_tf.models import registry
from udgan_tf.evaluation.traversal import save_traversal_png
from udgan_tf.exit_codes import FAILED, Preempted
from udgan_tf.runs import RunDirectory, RunDirectoryError, RunWriteError
from udgan_tf.training.monitor import RunMonitor
from udgan_tf.training.preemption import stop_on_sigterm
from udgan_tf.training.strategy import check_speed_options, dtype_policy, is_chief


class TrainingStopped(RuntimeError):
    """A write failed during training; the message names the file, the cause, the last
    backup and how to resume."""

    exit_code = FAILED


class TrainingPreempted(Preempted):
    """Training stopped on SIGTERM after a backup; the message names the step, the backup
    and how to resume."""


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
    """The compiled model of ``config``'s method (``udgan_tf.models.registry``), one Adam per
    optimizer section, with the ``training`` section's speed settings: ``mixed_precision`` (the
    layers compute in bfloat16 on CPU, float16 on GPU; ``strategy.dtype_policy``),
    ``jit_compile`` (XLA) and ``steps_per_execution``. Under ``mixed_float16`` every optimizer
    is wrapped in a ``LossScaleOptimizer`` (float16 gradients underflow without loss scaling)."""
    training = config["training"]
    with dtype_policy(training["mixed_precision"]) as policy:
        model = registry.build_model(config["model"])
        optimizers = {name: keras.optimizers.Adam(**options) for name, options in config["optimizers"].items()}
        if policy == "mixed_float16":
            optimizers = {name: keras.optimizers.LossScaleOptimizer(opt) for name, opt in optimizers.items()}
        registry.compile_model(model, optimizers, jit_compile=training["jit_compile"],
                               steps_per_execution=training["steps_per_execution"])
    return model


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
    try:
        check_speed_options(strategy, config["training"])
    except ValueError as error:
        raise config_lib.ConfigError(str(error)) from None
    if is_chief(strategy):
        return _train(config, output_dir, overwrite, verbose, strategy)
    with tempfile.TemporaryDirectory(prefix="udgan_worker_") as scratch:
        return _train(config, pathlib.Path(scratch) / "run", overwrite, verbose, strategy)


def _train(config, output_dir, overwrite, verbose, strategy):
    run = RunDirectory(output_dir)
    training = config["training"]
    resume = not overwrite and run.can_resume()
    if resume and config_lib.with_training_defaults(run.read_config()) != json.loads(json.dumps(config)):
        raise RunDirectoryError(f"{run.path} holds an unfinished run with a different config; resume it with its "
                                f"own config ({run.config_path}), or pass --overwrite or another --output-dir.")
    keras.utils.set_random_seed(training["seed"])
    data = build_data(config)                       # fails before the run directory is touched
    with strategy.scope():
        model = build_model(config)
    if training["mixed_precision"]:
        print(f"Mixed precision: {model.dtype_policy.name}", flush=True)
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


def _stop_preempted(run, monitor):
    """After a SIGTERM: a backup at the step reached, run.json still "running", then ``TrainingPreempted``."""
    step = monitor.step
    if monitor.backup_step != step:
        monitor.save_backup()
    run.write_status(status="running", step=step)
    raise TrainingPreempted(f"Training stopped at step {step} of {monitor.training['steps']} (SIGTERM). The whole "
                            f"training state is backed up in {run.backup_path}: rerun the same command to resume "
                            f"from step {step}.")
