"""What the browser demo (``udgan_tf.demo.app``) draws with: a run directory or a SavedModel export.

Both backends give the same things: the knobs (``knobs``: name, width, guidance, in z
order), ``latent_dim`` (Z, the sum of the widths), ``image_shape`` ``(R, R, C)``, and

- ``generate(knobs [B, Z]) -> images [B, R, R, C]`` in [0, 1];
- ``traverse(knobs [Z], name, values [K]) -> images [K, R, R, C]``: every dimension of knob
  ``name`` set to each value, the other knobs as given;
- ``invert(images [B, R, R, C]) -> knobs [B, Z]``: the knob encoder's answer (no per-image
  refinement); ``can_invert`` is False and ``why_no_invert`` says how to train the encoder
  when the run has none.

Example:
    >>> backend = open_backend(run_dir="runs/dsprites")      # or export="export/udgan/1"
    >>> images = backend.generate(np.zeros((1, backend.latent_dim), np.float32))   # [1, R, R, C]
"""

import json
import pathlib

import numpy as np

from udgan_tf.editing import EditingError, load_editor
from udgan_tf.knobs import VALUE_RANGE, UnknownKnobError, knob_index
from udgan_tf.serving import signatures as contract

INVERSION_COMMAND = "python -m udgan_tf.inversion --run-dir {run_dir}"


class DemoError(ValueError):
    """A demo that cannot start or a request it cannot answer; the message names the fix."""


def checked_knobs(knobs, latent_dim):
    """``knobs`` as float32 ``[B, latent_dim]``, refused (DemoError) when not finite or outside [-1, 1]."""
    knobs = np.asarray(knobs, dtype=np.float32)
    if knobs.ndim != 2 or knobs.shape[1] != latent_dim:
        raise DemoError(f"knobs must have shape [batch, {latent_dim}]. Received: {list(knobs.shape)}")
    low, high = VALUE_RANGE
    if not np.all(np.isfinite(knobs)) or knobs.min(initial=low) < low or knobs.max(initial=high) > high:
        raise DemoError(f"Knob values must be finite numbers in [{VALUE_RANGE[0]:g}, {VALUE_RANGE[1]:g}].")
    return knobs


class RunBackend:
    """A run directory's model and knob encoder (``udgan_tf.editing.load_editor``): the inference
    generator, traced once for speed."""

    def __init__(self, run_dir):
        import tensorflow as tf

        self.source = f"run {run_dir}"
        self.editor = load_editor(run_dir)        # RunDirectoryError: not a run, no checkpoint
        model = self.editor.model
        self.knobs = [{"name": k.name, "width": k.width, "guidance": k.guidance} for k in model.knobs]
        self.latent_dim = model.layout.latent_dim
        self.image_shape = self.editor.image_shape
        self.can_invert = self.editor.encoder is not None
        self.why_no_invert = None if self.can_invert else (
            f"This run has no knob encoder, so an image cannot be turned into knobs. Train one with "
            f"{INVERSION_COMMAND.format(run_dir=run_dir)} and start the demo again.")
        generator = model.inference_generator
        self._generate = tf.function(lambda knobs: generator(knobs, training=False),
                                     input_signature=[tf.TensorSpec([None, self.latent_dim], tf.float32)])

    def generate(self, knobs):
        return np.asarray(self._generate(checked_knobs(knobs, self.latent_dim)))

    def traverse(self, knobs, name, values):
        try:
            columns = self.editor.layout.latent_slice(name)
        except UnknownKnobError as error:
            raise DemoError(str(error)) from None
        values = checked_knobs(np.asarray(values, np.float32)[:, None], 1)[:, 0]
        grid = np.repeat(checked_knobs(np.asarray(knobs)[None], self.latent_dim), len(values), axis=0)
        grid[:, columns] = values[:, None]
        return self.generate(grid)

    def invert(self, images):
        if not self.can_invert:
            raise DemoError(self.why_no_invert)
        try:
            return self.editor.invert(images)
        except EditingError as error:
            raise DemoError(str(error)) from None


class ExportBackend:
    """A version directory written by ``python -m udgan_tf.export``, called through its signatures."""

    def __init__(self, version_dir):
        import tensorflow as tf

        self._tf = tf
        path = pathlib.Path(version_dir)
        self.source = f"export {path}"
        knobs_json = path / "assets.extra" / "knobs.json"
        if not (path / "saved_model.pb").is_file() or not knobs_json.is_file():
            versions = sorted(int(p.name) for p in (path.glob("*") if path.is_dir() else [])
                              if p.name.isdigit() and (p / "saved_model.pb").is_file())
            if versions:
                hint = (f"{path} holds versions {', '.join(map(str, versions))}: pass one, e.g. "
                        f"--export {path / str(versions[-1])}")
            else:
                hint = "pass a version directory written by python -m udgan_tf.export, e.g. --export export/udgan/1"
            what = "does not exist" if not path.exists() else \
                "is not an export version (no saved_model.pb and assets.extra/knobs.json)"
            raise DemoError(f"{path} {what}: {hint}.")
        described = json.loads(knobs_json.read_text())
        self.knobs = [{"name": k["name"], "width": int(k["width"]), "guidance": k.get("guidance")}
                      for k in described["knobs"]]
        self.latent_dim = sum(knob["width"] for knob in self.knobs)
        self.image_shape = tuple(described["image_shape"])
        try:
            self._signatures = tf.saved_model.load(str(path)).signatures
        except Exception as error:  # a damaged or foreign SavedModel: TensorFlow's own message
            raise DemoError(f"Cannot load the SavedModel in {path}: {error}") from None
        self.can_invert = contract.INVERT in self._signatures
        self.why_no_invert = None if self.can_invert else (
            "This export has no invert signature: its run had no knob encoder. Train one with "
            f"{INVERSION_COMMAND.format(run_dir='RUN_DIR')}, export the run again and start the demo on the new "
            "version.")

    def _call(self, name, **inputs):
        try:
            return self._signatures[name](**{key: self._tf.constant(value) for key, value in inputs.items()})
        except self._tf.errors.InvalidArgumentError as error:
            raise DemoError(f"The export refused the request: {error.message.splitlines()[0]}") from None

    def generate(self, knobs):
        outputs = self._call(contract.SERVING_DEFAULT, **{contract.KNOBS: checked_knobs(knobs, self.latent_dim)})
        return outputs[contract.IMAGES].numpy()

    def traverse(self, knobs, name, values):
        try:
            knob_index([knob["name"] for knob in self.knobs], name)
        except UnknownKnobError as error:
            raise DemoError(str(error)) from None
        knobs = checked_knobs(np.asarray(knobs)[None], self.latent_dim)[0]
        values = checked_knobs(np.asarray(values, np.float32)[:, None], 1)[:, 0]
        outputs = self._call(contract.TRAVERSE, **{contract.KNOBS: knobs, contract.KNOB: name, contract.VALUES: values})
        return outputs[contract.IMAGES].numpy()

    def invert(self, images):
        if not self.can_invert:
            raise DemoError(self.why_no_invert)
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[1:] != self.image_shape:
            raise DemoError(f"images must have shape [batch, {', '.join(map(str, self.image_shape))}]. Received: "
                            f"{list(images.shape)}")
        return self._call(contract.INVERT, **{contract.IMAGES: images})[contract.KNOBS].numpy()


def open_backend(run_dir=None, export=None):
    """The backend of exactly one of ``run_dir`` / ``export``.

    Raises:
        DemoError: both or neither given, or a bad export path.
        RunDirectoryError: not a run directory, or a run without a checkpoint.
    """
    if (run_dir is None) == (export is None):
        raise DemoError("Pass exactly one of --run-dir DIR and --export DIR/<version>.")
    return RunBackend(run_dir) if run_dir is not None else ExportBackend(export)
