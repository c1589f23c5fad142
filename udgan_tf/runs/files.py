"""Writing the files of a run, a report or an export so that a crash never leaves half of one.

Every file is written to a temporary name in the same directory, fsynced and then renamed,
so a crash never leaves a half-written checkpoint, config or status behind. A write that
fails (a full disk, a read-only file system, no permission) raises ``RunWriteError`` naming
the file and the cause, leaves no temporary file and does not touch the previous file.
"""

import contextlib
import errno
import io
import os
import pathlib
import sys
import tempfile

from udgan_tf.exit_codes import FAILED


class RunWriteError(Exception):
    """A file could not be written (no space, no permission, ...). ``path`` is that file and
    ``cause`` the ``OSError``; ``remedy`` says what the user can do about the cause.

    Raised by every write of a run directory through ``writing(path)``; training, the
    evaluation report and the export turn it into an error message and a non-zero exit.
    """

    exit_code = FAILED

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
