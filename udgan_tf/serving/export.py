"""A trained run as a SavedModel for TF Serving (the library behind ``python -m udgan_tf.export``).

Writes ``<export-base>/<model-name>/<version>/`` (version: ``--version`` or the next
free integer; an existing version is never overwritten), built in a temporary
directory and renamed into place when complete. Signatures (Z = total knob width,
images ``[H, W, C]`` in [0, 1], knob values trained in [-1, 1]; the names are those of
``udgan_tf.serving.signatures``, the shapes are declared, so ``saved_model_cli show``
and TF Serving's metadata give ``knobs`` as ``(-1, Z)``):

=================  ===============================================  ====================================
signature          inputs                                           outputs
=================  ===============================================  ====================================
serving_default    ``knobs`` float32 ``[batch, Z]``                 ``images`` float32 ``[batch, H, W, C]``
generate_by_knob   one float32 ``[batch, width]`` per knob, by name  ``images``
generate_png       ``knobs`` float32 ``[batch, Z]``                 ``png_bytes`` string ``[batch]``
traverse           ``knobs`` ``[Z]``, ``knob`` string, ``values``    ``images`` ``[K, H, W, C]``
                   ``[K]``
embed              ``images`` float32 ``[batch, H, W, C]``          one float32 ``[batch, dim]`` per knob
invert             ``images``                                       ``knobs`` ``[batch, Z]``,
                                                                    ``reconstruction`` (G(knobs))
edit               ``images``; one float32 ``[batch, width]`` per   ``images``: G(clip(E(images) + deltas))
                   knob, by name: the value to add
=================  ===============================================  ====================================

``invert`` and ``edit`` are there when the run has a knob encoder (``python -m
udgan_tf.inversion``; ``ServingModule`` takes it explicitly): they run the encoder alone,
without the per-image refinement of ``KnobEditor.invert(refine_steps=...)``.

The graph refuses NaN or infinite values, a wrong width or image shape, an unknown
knob name and a batch above ``max_batch_size`` with ``INVALID_ARGUMENT`` and a
message naming the problem, before anything uses the input: TF Serving feeds a
request's tensors without checking them against the declared shapes.
``generate_png``'s output ends in ``_bytes`` so that TF Serving's REST API returns it
base64-encoded. ``traverse`` sets every dimension of the swept knob to each value.

``assets.extra/knobs.json`` lists the knobs in ``knobs`` order (each knob's
``Knob.to_config()``, with ``guidance: null`` for an unguided knob), the value range,
``max_batch_size``, the image shape and the signature names;
``assets.extra/tf_serving_warmup_requests`` holds one PredictionLog per signature
(without ``traverse`` when exported with ``--batching``: TF Serving's batching needs
a batch dimension on every input, which ``traverse``'s scalar ``knob`` lacks).
"""

import json
import os
import pathlib
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from udgan_tf.editing import load_encoder
from udgan_tf.knobs import VALUE_RANGE
from udgan_tf.models import load_model
from udgan_tf.runs import writing
from udgan_tf.serving import signatures as contract

MAX_BATCH_SIZE = 256


class ExportError(ValueError):
    """An export that cannot be written; the message names the problem and the fix."""


def _shape(tensor):
    """The shape a tensor has when the graph runs. Not ``tf.shape``, which gives a constant for a fully
    declared shape (traverse's ``knobs [Z]``): a check on a constant is optimised away, yet TF Serving
    feeds a request's tensors without checking them against the declared shapes."""
    return tf.raw_ops.Shape(input=tensor)


def _checked_knobs(knobs, width, max_batch_size):
    """``knobs [batch, width]``, validated in the graph before anything reads it (InvalidArgumentError
    naming the problem, not a shape error from deep inside the generator)."""
    checks = [tf.debugging.assert_equal(_shape(knobs)[1], width,
                                        message=f"knobs must have width {width} (the total knob width)"),
              tf.debugging.assert_less_equal(_shape(knobs)[0], max_batch_size,
                                             message=f"batch larger than max_batch_size {max_batch_size}")]
    with tf.control_dependencies(checks):
        return tf.debugging.assert_all_finite(knobs, "knobs contain NaN or infinite values")


class ServingModule:
    """The exported graph: the inference generator (EMA when kept), the representation networks
    (UD-GAN's siamese networks, InfoGAN's Q, the beta-VAE's encoder) and, when given, the knob
    encoder (``udgan_tf.editing.KnobEncoder``; None: no ``invert`` and ``edit``)."""

    def __init__(self, model, encoder=None, max_batch_size=MAX_BATCH_SIZE):
        self.generator = model.inference_generator
        self.representation_networks = list(model.representation_networks)   # what embed runs
        self.knobs = list(model.knobs)
        self.layout = model.layout
        self.image_shape = (model.resolution, model.resolution, model.channels)
        self.max_batch_size = max_batch_size
        self._model = model
        self.encoder = encoder
        self.knob_names = tf.constant([knob.name for knob in self.knobs])
        self.knob_starts = tf.constant([s.start for s in self.layout.latent_slices], tf.int32)
        self.knob_widths = tf.constant([knob.width for knob in self.knobs], tf.int32)

    def images(self, knobs):
        knobs = _checked_knobs(knobs, self.layout.latent_dim, self.max_batch_size)
        return self.generator(knobs, training=False)

    def checked_images(self, images):
        """``images [batch, H, W, C]`` validated in the graph: shape, batch size, finite values."""
        shape = ", ".join(map(str, self.image_shape))
        checks = [tf.debugging.assert_equal(_shape(images)[1:], self.image_shape,
                                            message=f"images must have shape [batch, {shape}]"),
                  tf.debugging.assert_less_equal(_shape(images)[0], self.max_batch_size,
                                                 message=f"batch larger than max_batch_size {self.max_batch_size}")]
        with tf.control_dependencies(checks):
            return tf.debugging.assert_all_finite(images, "images contain NaN or infinite values")

    @property
    def signature_names(self):
        """The signatures this export has: the generation ones, and invert/edit with a knob encoder."""
        return contract.SIGNATURES + (contract.EDITING_SIGNATURES if self.encoder is not None else ())

    def signatures(self):
        """The ``tf.function``s of ``signature_names``, traced, keyed by signature name."""
        width = self.layout.latent_dim
        knobs_spec = tf.TensorSpec([None, width], tf.float32, name=contract.KNOBS)

        @tf.function(input_signature=[knobs_spec])
        def serving_default(knobs):
            return {contract.IMAGES: self.images(knobs)}

        by_knob_specs = [tf.TensorSpec([None, knob.width], tf.float32, name=knob.name) for knob in self.knobs]

        @tf.function(input_signature=by_knob_specs)
        def generate_by_knob(*parts):
            return {contract.IMAGES: self.images(tf.concat(parts, axis=1))}

        @tf.function(input_signature=[knobs_spec])
        def generate_png(knobs):
            # quantised as udgan_tf.runs.png_bytes writes PNG files
            pixels = tf.image.convert_image_dtype(self.images(knobs), tf.uint8, saturate=True)
            return {contract.PNG_BYTES: tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)}

        @tf.function(input_signature=[tf.TensorSpec([width], tf.float32, name=contract.KNOBS),
                                      tf.TensorSpec([], tf.string, name=contract.KNOB),
                                      tf.TensorSpec([None], tf.float32, name=contract.VALUES)])
        def traverse(knobs, knob, values):
            found = tf.equal(self.knob_names, knob)
            checks = [tf.debugging.Assert(tf.reduce_any(found), ["unknown knob name", knob, "; knobs:",
                                                                 self.knob_names]),
                      tf.debugging.assert_equal(_shape(knobs)[0], width,
                                                message=f"knobs must have width {width} (the total knob width)")]
            with tf.control_dependencies(checks):
                values = tf.debugging.assert_all_finite(values, "values contain NaN or infinite values")
            index = tf.argmax(tf.cast(found, tf.int32), output_type=tf.int32)
            start, knob_width = self.knob_starts[index], self.knob_widths[index]
            columns = tf.range(width)
            swept = (columns >= start) & (columns < start + knob_width)                     # [Z]
            count = tf.shape(values)[0]
            base = tf.tile(knobs[None], tf.stack([count, 1]))                                   # [K, Z]
            grid = tf.where(swept[None], tf.tile(values[:, None], [1, width]), base)
            return {contract.IMAGES: self.images(grid)}

        images_spec = tf.TensorSpec([None, *self.image_shape], tf.float32, name=contract.IMAGES)

        @tf.function(input_signature=[images_spec])
        def embed(images):
            embedding = self._model.embed(self.checked_images(images), training=False)
            return {knob.name: embedding[:, piece]            # noise knobs (embedding_dim 0) have none
                    for knob, piece in zip(self.knobs, self.layout.embedding_slices) if knob.embedded}

        functions = {contract.SERVING_DEFAULT: serving_default, contract.GENERATE_BY_KNOB: generate_by_knob,
                     contract.GENERATE_PNG: generate_png, contract.TRAVERSE: traverse, contract.EMBED: embed}
        if self.encoder is not None:
            @tf.function(input_signature=[images_spec])
            def invert(images):
                knobs = self.encoder(self.checked_images(images), training=False)
                return {contract.KNOBS: knobs, contract.RECONSTRUCTION: self.generator(knobs, training=False)}

            @tf.function(input_signature=[images_spec, *by_knob_specs])
            def edit(images, *deltas):
                images = self.checked_images(images)
                checks = [tf.debugging.assert_equal(_shape(delta)[0], _shape(images)[0],
                                                    message=f"{knob.name} must have one row per image")
                          for knob, delta in zip(self.knobs, deltas)]
                with tf.control_dependencies(checks):
                    moved = self.encoder(images, training=False) + tf.concat(deltas, axis=1)
                return {contract.IMAGES: self.images(tf.clip_by_value(moved, *VALUE_RANGE))}

            functions.update({contract.INVERT: invert, contract.EDIT: edit})
        for function in functions.values():
            function.get_concrete_function()
        return functions

    def knobs_json(self):
        return {
            # Knob.to_config() leaves out an unguided knob's guidance; here every knob has one (null: unguided).
            "knobs": [{"guidance": None, **knob.to_config()} for knob in self.knobs],
            "value_range": list(VALUE_RANGE),
            "max_batch_size": self.max_batch_size,
            "image_shape": list(self.image_shape),
            "signatures": list(self.signature_names),
        }


def warmup_requests(module, model_name, include_traverse=True):
    """One ``PredictionLog`` per signature, with small valid inputs (2 images, 3 traverse values)."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    rng = np.random.default_rng(0)
    knobs = rng.uniform(*VALUE_RANGE, (2, module.layout.latent_dim)).astype(np.float32)
    inputs = {
        contract.SERVING_DEFAULT: {contract.KNOBS: knobs},
        contract.GENERATE_BY_KNOB: {k.name: knobs[:, s] for k, s in zip(module.knobs, module.layout.latent_slices)},
        contract.GENERATE_PNG: {contract.KNOBS: knobs},
        contract.TRAVERSE: {contract.KNOBS: knobs[0], contract.KNOB: np.array(module.knobs[-1].name.encode()),
                            contract.VALUES: np.linspace(*VALUE_RANGE, 3, dtype=np.float32)},
        contract.EMBED: {contract.IMAGES: np.full((2, *module.image_shape), 0.5, np.float32)},
        contract.INVERT: {contract.IMAGES: np.full((2, *module.image_shape), 0.5, np.float32)},
        contract.EDIT: {contract.IMAGES: np.full((2, *module.image_shape), 0.5, np.float32),
                        **{k.name: np.full((2, k.width), 0.25, np.float32) for k in module.knobs}},
    }
    logs = []
    for name in module.signature_names:
        if name == contract.TRAVERSE and not include_traverse:
            continue
        request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=model_name, signature_name=name))
        for key, value in inputs[name].items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        logs.append(prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request)))
    return logs


def next_version(model_dir):
    """1 + the largest numeric version directory under ``model_dir`` (1 when there is none)."""
    versions = [int(p.name) for p in pathlib.Path(model_dir).glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def export_run(run_dir, export_base, model_name, version=None, max_batch_size=MAX_BATCH_SIZE, batching=False):
    """Exports a run's generator and siamese networks. Returns the version directory (Path).

    Raises:
        RunDirectoryError: no run or no checkpoint.
        ExportError: the version exists, or a bad model name / version.
    """
    if not model_name or not all(c.isalnum() or c in "_-." for c in model_name):
        raise ExportError(f"--model-name must be letters, digits, '_', '-' or '.'. Received: {model_name!r}")
    model_dir = pathlib.Path(export_base) / model_name
    if version is None:
        version = next_version(model_dir)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ExportError(f"--version must be a positive integer. Received: {version!r}")
    target = model_dir / str(version)
    if target.exists():
        raise ExportError(f"{target} already exists: an export version is never overwritten. Pass another "
                          f"--version or leave it out to use the next free one ({next_version(model_dir)}).")
    model = load_model(run_dir)
    module = ServingModule(model, load_encoder(run_dir, model), max_batch_size)
    with writing(model_dir):
        model_dir.mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{version}.partial-", dir=model_dir))
    try:
        # Keras' exporter saves the tf.Variables the signatures read. tf.saved_model.save of a tf.Module
        # holding Keras 3 models saves Keras' variable wrappers instead, and a Session-based loader such
        # as TF Serving then finds the signatures' variables uninitialised (FAILED_PRECONDITION).
        archive = keras.export.ExportArchive()
        for name, function in module.signatures().items():
            archive.add_endpoint(name, function)
        with writing(target):  # a full disk or no permission: RunWriteError naming the version
            archive.write_out(str(staging), verbose=False)
            extra = staging / "assets.extra"
            extra.mkdir()
            (extra / "knobs.json").write_text(json.dumps(module.knobs_json(), indent=2))
            with tf.io.TFRecordWriter(str(extra / "tf_serving_warmup_requests")) as writer:
                for log in warmup_requests(module, model_name, include_traverse=not batching):
                    writer.write(log.SerializeToString())
            os.rename(staging, target)  # atomic: TF Serving never sees a half-written version
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
