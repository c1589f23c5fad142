"""A run directory: what training writes and what evaluation, export and users read.

Layout::

    <run>/config.yaml                    resolved config (every default filled in)
    <run>/run.json                       status ("running" / "finished"), step, timing
    <run>/checkpoints/udgan.weights.h5   latest weights, replaced atomically
    <run>/history.csv                    one row of losses per log interval
    <run>/logs/                          TensorBoard scalars and traversal images
    <run>/traversal.png                  final knob traversal grid (Table 4 layout)

Every file is written to a temporary name in the same directory, fsynced and then renamed,
so a crash never leaves a half-written checkpoint, config or status behind. A write that
fails (a full disk, a read-only file system, no permission) raises ``RunWriteError`` naming
the file and the cause, leaves no temporary file and does not touch the previous file.
"""

import contextlib
import errno
import io
import itertools
import json
import os
import pathlib
import shutil
import socket
import struct
import sys
import tempfile
import time

import numpy as np
import yaml


class RunDirectoryError(ValueError):
    """A run directory that cannot be used as asked; the message says what to do."""


class RunWriteError(Exception):
    """A file could not be written (no space, no permission, ...). ``path`` is that file and
    ``cause`` the ``OSError``; ``remedy`` says what the user can do about the cause.

    Raised by every write of a run directory through ``writing(path)``; training, the
    evaluation report and the export turn it into an error message and a non-zero exit.
    """

    def __init__(self, path, cause):
        self.path = pathlib.Path(path)
        self.cause = cause
        self.reason = cause.strerror or str(cause)  # e.g. "No space left on device"
        super().__init__(f"cannot write {self.path}: {self.reason}")

    @property
    def remedy(self):
        if self.cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return "free space on that file system (or raise your quota there)"
        if self.cause.errno == errno.EROFS:
            return "remount that file system read-write"
        if self.cause.errno in (errno.EACCES, errno.EPERM):
            return "make that directory writable"
        return "fix that file system"


@contextlib.contextmanager
def writing(path):
    """Turns an ``OSError`` raised inside the block into ``RunWriteError(path, error)``.

    The one place where a failed write becomes an error message: wrap every write of a
    file meant for the user (run files, reports, exports) in it. TensorFlow's own file
    writes (a SavedModel) report the same causes as ``tf.errors`` (``ResourceExhaustedError``
    for "No space left on device", ``PermissionDeniedError``); those count too.
    """
    try:
        yield
    except OSError as error:
        raise RunWriteError(path, error) from error
    except Exception as error:
        cause = _file_system_cause(error)
        if cause is None:
            raise
        raise RunWriteError(path, cause) from error


def _file_system_cause(error):
    """The ``OSError`` behind a TensorFlow file-system error, from its message; None for other errors."""
    tf = sys.modules.get("tensorflow")
    if tf is None or not isinstance(error, (tf.errors.ResourceExhaustedError, tf.errors.PermissionDeniedError)):
        return None
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
        if os.strerror(code) in str(error):
            return OSError(code, os.strerror(code))
    return None


def atomic_write(path, write):
    """Calls ``write(tmp_path)``, fsyncs the result and renames it over ``path``.

    ``tmp_path`` keeps the suffixes of ``path`` (Keras needs ``.weights.h5``). Whatever
    happens, the temporary file is removed and ``path`` is either the old file or the new
    one; an ``OSError`` of any step becomes ``RunWriteError`` naming ``path``.
    """
    path = pathlib.Path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        suffix = "".join(path.suffixes)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
        os.close(fd)
        try:
            write(tmp)
            _fsync(tmp)  # a delayed ENOSPC (NFS, quotas) shows up here, not after the rename
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; run files are meant to be shared
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        _fsync(path.parent)  # the rename itself survives a power cut


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path, data):
    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)
    atomic_write(path, write)


def atomic_write_text(path, text):
    atomic_write_bytes(path, text.encode())


def append_bytes(path, data):
    """Appends ``data`` to ``path`` and fsyncs it. A failed append is cut back to the old
    length, so the file never ends in half a row or half a record."""
    path = pathlib.Path(path)
    with writing(path), open(path, "ab", buffering=0) as f:
        size = f.seek(0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[f.write(view):]
            os.fsync(f.fileno())
        except OSError:
            f.truncate(size)
            raise


def append_text(path, text):
    append_bytes(path, text.encode())


class EventFile:
    """A TensorBoard event file of scalars and images, written with plain Python I/O.

    Not ``tf.summary``'s writer: it ignores a failed write of a record larger than stdio's
    buffer (``EventsWriter::WriteSerializedEvent`` calls ``WriteRecord(...).IgnoreError()``,
    only the flush of buffered bytes is checked). Measured on a full tmpfs: scalars raised
    ``ResourceExhaustedError`` on flush, but traversal images were dropped without a word.
    Here each event is appended by ``append_bytes``, so a full disk is a ``RunWriteError`` like
    any other write. The summaries are the ones ``tf.summary.scalar`` / ``tf.summary.image``
    write (same tags, plugin metadata and tensors); the framing is TFRecord's.
    """

    _counter = itertools.count()

    def __init__(self, log_dir):
        log_dir = pathlib.Path(log_dir)
        self.path = log_dir / (f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}."
                               f"{next(self._counter)}.v2")
        with writing(log_dir):
            log_dir.mkdir(parents=True, exist_ok=True)
        self._append(file_version="brain.Event:2")

    def write(self, step, scalars, images=None):
        """One event at ``step``: ``scalars`` {tag: number}, ``images`` {tag: float [H, W, C] in [0, 1]}."""
        from tensorboard.compat.proto import summary_pb2
        from tensorboard.plugins.image import metadata as image_metadata
        from tensorboard.plugins.scalar.summary_v2 import scalar_pb
        from tensorboard.util import tensor_util

        summary = summary_pb2.Summary()
        for tag, value in scalars.items():
            summary.value.extend(scalar_pb(tag, value).value)
        for tag, image in (images or {}).items():
            height, width = image.shape[:2]
            summary.value.add(tag=tag, metadata=image_metadata.create_summary_metadata(None, None),
                              tensor=tensor_util.make_tensor_proto([str(width).encode(), str(height).encode(),
                                                                    png_bytes(image)]))
        self._append(step=step, summary=summary)

    def _append(self, **fields):
        from tensorboard.compat.proto import event_pb2
        from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

        data = event_pb2.Event(wall_time=time.time(), **fields).SerializeToString()
        header = struct.pack("<Q", len(data))
        append_bytes(self.path, header + struct.pack("<I", masked_crc32c(header)) + data
                     + struct.pack("<I", masked_crc32c(data)))


def png_bytes(image):
    """PNG bytes of a float image ``[H, W, C]`` in [0, 1], quantised as ``tf.image.convert_image_dtype`` does."""
    from PIL import Image

    pixels = np.clip(np.asarray(image, np.float32) * 255.5, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def weights_bytes(model):
    """The ``.weights.h5`` file that ``model.save_weights`` writes, made in memory.

    h5py writing into a file system that fills up crashes the process (a segmentation
    fault while closing the file), so h5py only ever writes into this buffer and the bytes
    reach the disk through ``atomic_write_bytes``. Same steps as Keras'
    ``saving_lib.save_weights_only``; the result loads with ``model.load_weights(path)``.
    """
    from keras.src.saving import saving_lib

    if not model.built:
        raise ValueError("Cannot save the weights of a model that has not been built yet.")
    buffer = io.BytesIO()
    store = saving_lib.H5IOStore(buffer, mode="w")
    try:
        saving_lib._save_state(model, weights_store=store, assets_store=None, inner_path="",
                               visited_saveables=set())
    finally:
        store.close()
    return buffer.getbuffer()


def save_weights(path, model):
    """Writes ``model``'s weights to ``path`` (a ``.weights.h5`` file) atomically."""
    atomic_write_bytes(path, weights_bytes(model))


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


def load_model(run_dir, compile=False):
    """Rebuilds the trained model (UDGAN or the run's ``model.method``) of a run directory from
    its config and checkpoint.

    Example:
        >>> model = load_model("runs/quickstart")
        >>> images = model(model.sample_knobs(4))      # [4, 64, 64, 1] in [0, 1]
        >>> knobs = model.invert(images)               # with a knob encoder (udgan_tf.inversion)
    """
    from udgan_tf import methods
    from udgan_tf.editing import attach_encoder
    from udgan_tf.inversion import load_encoder
    from udgan_tf.stabilisers import upgrade_flat_model_config

    run = RunDirectory(run_dir)
    config = run.read_config()
    if not run.checkpoint_path.exists():
        raise RunDirectoryError(f"Run {str(run.path)!r} has no checkpoint ({run.checkpoint_path} is missing): "
                                "train it first with python -m udgan_tf.train --output-dir " + str(run.path))
    model_config = config["model"]
    if methods.method_of(model_config).name == methods.DEFAULT_METHOD:
        # Runs written before model.stabilisers existed keep the tricks as flat model keys.
        model_config = upgrade_flat_model_config(model_config)
    model = methods.build_model(model_config)
    if compile:
        model.compile()
    model.load_weights(run.checkpoint_path)
    encoder = load_encoder(run.path, model)       # python -m udgan_tf.inversion trains it
    if encoder is not None:
        attach_encoder(model, encoder)
    return model
