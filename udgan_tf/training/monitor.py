"""What a run writes while it trains: TensorBoard scalars and traversal grids, ``history.csv``,
checkpoints, backups and snapshots, all keyed by the training step; and the NaN guard."""

import csv
import io
import math
import os
import time

import keras
import numpy as np

from udgan_tf.evaluation.traversal import traversal_summary_image
from udgan_tf.exit_codes import FAILED
from udgan_tf.runs import EventFile, append_text


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step, the loss and the last backup."""

    exit_code = FAILED


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
