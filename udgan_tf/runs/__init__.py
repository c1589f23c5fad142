"""Run storage: the files training writes and everything else reads, written so that a crash
or a full disk never leaves half a file.

``files``: atomic writes, appends and weights, ``RunWriteError``; ``images``: PNG files and
figures; ``events``: TensorBoard event files; ``directory``: a run directory's layout
(``RunDirectory``). This is the bottom layer: it imports nothing else of udgan_tf but the leaf ``exit_codes``; a
model is built from a run directory by ``udgan_tf.models.load_model``.
"""

from udgan_tf.runs.directory import RunDirectory, RunDirectoryError, save_model_run, truncate_rows
from udgan_tf.runs.events import EventFile
from udgan_tf.runs.files import (RunWriteError, append_bytes, append_text, atomic_write, atomic_write_bytes,
                                 atomic_write_text, save_weights, weights_bytes, writing)
from udgan_tf.runs.images import png_bytes, write_figure, write_png, write_png_row

__all__ = ["EventFile", "RunDirectory", "RunDirectoryError", "RunWriteError", "append_bytes", "append_text",
           "atomic_write", "atomic_write_bytes", "atomic_write_text", "png_bytes", "save_model_run", "save_weights",
           "truncate_rows", "weights_bytes", "write_figure", "write_png", "write_png_row", "writing"]
