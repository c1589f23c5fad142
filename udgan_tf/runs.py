"""A run directory: what training writes and what evaluation, export and users read.

Layout::

    <run>/config.yaml                    resolved config (every default filled in)
    <run>/run.json                       status ("running" / "finished"), step, timing
    <run>/checkpoints/udgan.weights.h5   latest weights, replaced atomically
    <run>/history.csv                    one row of losses per log interval
    <run>/logs/                          TensorBoard scalars and traversal images
    <run>/traversal.png                  final knob traversal grid (Table 4 layout)

Every file is written to a temporary name in the same directory and then renamed, so a
crash never leaves a half-written checkpoint, config or status behind.
"""

import json
import os
import pathlib
import shutil
import tempfile

import yaml


class RunDirectoryError(ValueError):
    """A run directory that cannot be used as asked; the message says what to do."""


def atomic_write(path, write):
    """Calls ``write(tmp_path)`` and renames the result over ``path``.

    ``tmp_path`` keeps the suffixes of ``path`` (Keras needs ``.weights.h5``).
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; run files are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_text(path, text):
    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)
    atomic_write(path, write)


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
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)

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
        atomic_write(self.checkpoint_path, model.save_weights)

    def save_backup(self, model):
        """The whole training state (networks, EMA, all three optimizers with their step counters,
        the knob sampler's seed state, the proxy statistics) in one file, replaced atomically."""
        atomic_write(self.backup_path, model.save_weights)

    def can_resume(self):
        """True when the directory holds an unfinished run with a backup."""
        status = self.status() or {}
        return self.backup_path.exists() and status.get("status") != "finished"

    def truncate_history(self, step):
        """Drops history rows after ``step`` (they are trained again after a resume)."""
        if not self.history_path.exists():
            return
        rows = self.history_path.read_text().splitlines()
        kept = rows[:1] + [row for row in rows[1:] if int(row.split(",")[0]) <= step]
        atomic_write_text(self.history_path, "\n".join(kept) + "\n")


def load_model(run_dir, compile=False):
    """Rebuilds the trained UDGAN of a run directory from its config and checkpoint.

    Example:
        >>> model = load_model("runs/quickstart")
        >>> images = model(model.sample_knobs(4))      # [4, 64, 64, 1] in [0, 1]
    """
    from udgan_tf.udgan import UDGAN

    run = RunDirectory(run_dir)
    config = run.read_config()
    if not run.checkpoint_path.exists():
        raise RunDirectoryError(f"Run {str(run.path)!r} has no checkpoint ({run.checkpoint_path} is missing): "
                                "train it first with python -m udgan_tf.train --output-dir " + str(run.path))
    model = UDGAN(**config["model"])
    if compile:
        model.compile()
    model.load_weights(run.checkpoint_path)
    return model
