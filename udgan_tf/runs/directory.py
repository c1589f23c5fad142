"""A run directory: what training writes and what evaluation, export and users read.

Layout::

    <run>/config.yaml                    resolved config (every default filled in)
    <run>/run.json                       status ("running" / "finished"), step, timing
    <run>/checkpoints/udgan.weights.h5   latest weights, replaced atomically
    <run>/history.csv                    one row of losses per log interval
    <run>/logs/                          TensorBoard scalars and traversal images
    <run>/traversal.png                  final knob traversal grid (Table 4 layout)
    <run>/backup/state.weights.h5        the whole training state, for a resume
    <run>/snapshots/step-<N>/            the model kept every so many minutes (a run directory each)
    <run>/inversion/                     the knob encoder (udgan_tf.editing)

Every file is written through ``udgan_tf.runs.files`` (atomic, ``RunWriteError`` on failure).
"""

import json
import pathlib
import shutil

import yaml

from udgan_tf.runs.files import atomic_write_text, save_weights, writing


class RunDirectoryError(ValueError):
    """A run directory that cannot be used as asked; the message says what to do."""


class RunDirectory:
    """Paths and atomic writes for one training run."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self.config_path = self.path / "config.yaml"
        self.status_path = self.path / "run.json"
        self.checkpoint_path = self.path / "checkpoints" / "udgan.weights.h5"
        self.history_path = self.path / "history.csv"
        self.log_dir = self.path / "logs"
        self.traversal_path = self.path / "traversal.png"
        self.backup_path = self.path / "backup" / "state.weights.h5"

    def status(self):
        if not self.status_path.exists():
            return None
        return json.loads(self.status_path.read_text())

    def prepare(self, overwrite=False):
        """Makes the directory ready for a new run, refusing to clobber an existing one."""
        if self.path.exists() and any(self.path.iterdir()):
            status = self.status()
            what = f"a {status['status']} run ({status['step']} steps)" if status else "files"
            if not overwrite:
                raise RunDirectoryError(
                    f"Output directory {str(self.path)!r} already holds {what}. Choose another "
                    "--output-dir, or pass --overwrite to delete it and start again.")
            with writing(self.path):
                shutil.rmtree(self.path)
        with writing(self.path):
            self.path.mkdir(parents=True, exist_ok=True)

    def discard(self):
        """Removes what a run that failed before its first step wrote (the directory stays),
        so that rerunning the same command starts it instead of refusing a non-empty directory."""
        for child in self.path.iterdir() if self.path.is_dir() else []:
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()

    def write_config(self, config):
        atomic_write_text(self.config_path, yaml.safe_dump(config, sort_keys=False))

    def read_config(self):
        if not self.config_path.exists():
            raise RunDirectoryError(f"{str(self.path)!r} is not a run directory: {self.config_path.name} is missing.")
        return yaml.safe_load(self.config_path.read_text())

    def write_status(self, **fields):
        status = {**(self.status() or {}), **fields}
        atomic_write_text(self.status_path, json.dumps(status, indent=2) + "\n")

    def save_checkpoint(self, model):
        save_weights(self.checkpoint_path, model)

    def save_backup(self, model):
        """The whole training state (networks, EMA, all three optimizers with their step counters,
        the proxy statistics) in one file, replaced atomically. Not the knob sampler's state:
        Keras' saving skips ``SeedGenerator`` variables."""
        save_weights(self.backup_path, model)

    def can_resume(self):
        """True when the directory holds an unfinished run with a backup."""
        status = self.status() or {}
        return self.backup_path.exists() and status.get("status") != "finished"

    def history_seconds(self):
        """The training seconds of the last ``history.csv`` row (0.0 without one)."""
        rows = self.history_path.read_text().strip().splitlines() if self.history_path.exists() else []
        return float(rows[-1].split(",")[1]) if len(rows) > 1 else 0.0

    @property
    def snapshot_dir(self):
        return self.path / "snapshots"

    def snapshots(self):
        """The run directories of the snapshots kept so far, by step."""
        found = self.snapshot_dir.glob("step-*") if self.snapshot_dir.is_dir() else []
        return sorted((RunDirectory(path) for path in found if (path / "run.json").exists()),
                      key=lambda snapshot: snapshot.status()["step"])

    def save_snapshot(self, model, step, seconds):
        """Keeps the model of ``step`` (``seconds`` into training) as ``snapshots/step-<step>``,
        a finished run directory of its own that ``load_model`` and ``evaluate`` read."""
        save_model_run(self.snapshot_dir / f"step-{step}", self.read_config(), model, step, seconds)

    def drop_snapshots_after(self, step):
        """Removes the snapshots after ``step`` (a resumed run trains those steps again)."""
        for snapshot in self.snapshots():
            if snapshot.status()["step"] > step:
                with writing(snapshot.path):
                    shutil.rmtree(snapshot.path)

    def truncate_history(self, step):
        """Drops history rows after ``step`` (they are trained again after a resume)."""
        truncate_rows(self.history_path, step)


def truncate_rows(path, step):
    """Drops the rows of a CSV file keyed by step in its first column after ``step`` (none: no-op)."""
    path = pathlib.Path(path)
    if not path.exists():
        return
    rows = path.read_text().splitlines()
    kept = rows[:1] + [row for row in rows[1:] if int(row.split(",")[0]) <= step]
    atomic_write_text(path, "\n".join(kept) + "\n")


def save_model_run(path, config, model, step, seconds):
    """Writes ``model`` at ``step`` as a finished run directory at ``path``: its config, a
    checkpoint and a one-row ``history.csv`` holding the training seconds. Replaces one there."""
    run = RunDirectory(path)
    run.prepare(overwrite=True)
    run.write_config(config)
    run.save_checkpoint(model)
    atomic_write_text(run.history_path, f"step,seconds\n{step},{seconds:.2f}\n")
    run.write_status(status="finished", step=step, steps=step)
