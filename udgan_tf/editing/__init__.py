"""Editing real images: from an image to its knob values and back, with any method's model.

``encoder``: the knob encoder E (images -> knobs) and the reconstruction error;
``encoder_training``: training E on a frozen generator's own samples (``python -m
udgan_tf.inversion``) and reading it back; ``refinement``: per-image gradient steps on the
knobs; ``editor``: ``KnobEditor(model, encoder)`` and ``load_editor(run_dir)``;
``image_files``: an image file read into a model's input.

Example:
    >>> editor = load_editor("runs/dsprites")            # the model and runs/dsprites/inversion/
    >>> larger = editor.edit(images, {"size": +0.5})      # [B, R, R, C]
"""

from udgan_tf.editing.editor import EditingError, KnobEditor, apply_edit, load_editor
from udgan_tf.editing.encoder import KnobEncoder
from udgan_tf.editing.encoder_training import (InversionError, InversionPreempted, load_encoder,
                                               train_encoder)
from udgan_tf.editing.image_files import MAX_FILE_BYTES, ImageError, read_image
from udgan_tf.editing.refinement import refine

__all__ = ["EditingError", "ImageError", "InversionError", "InversionPreempted", "KnobEditor", "KnobEncoder",
           "MAX_FILE_BYTES", "apply_edit", "load_editor", "load_encoder", "read_image", "refine", "train_encoder"]
