"""TensorBoard event files written so that a full disk is an error, not a silent gap."""

import itertools
import os
import pathlib
import socket
import struct
import time

from udgan_tf.runs.files import append_bytes, writing
from udgan_tf.runs.images import png_bytes


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
