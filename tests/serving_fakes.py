"""Stand-ins for the serving side: a tiny export and an in-process TF Serving look-alike.

``make_fake_export(path)`` writes a SavedModel with the five signatures of the export contract
(names from ``udgan_tf.serving.signatures``) for two knobs, ``a`` (width 1) and ``b`` (width 2),
and 8x8x1 images, plus ``assets.extra/knobs.json`` and ``assets.extra/tf_serving_warmup_requests``.
A test can export a real (tiny) generator with ``udgan_tf.export`` instead and use the same servers.

``serve(export_dir, model_name)`` starts a real gRPC server on a free localhost port with
``SavedModelPredictionServicer``, which answers ``Predict`` and ``GetModelMetadata`` the way
TensorFlow Serving 2.x does (status codes and messages copied from
``tensorflow_serving/servables/tensorflow/predict_util.cc`` and ``get_model_metadata_impl.cc``).
Like TF Serving it runs the signature in a TensorFlow Session fed by tensor name, so a request's
tensors reach the graph without being checked against the declared shapes (TF Serving does no
such check); the export's in-graph checks are what refuse a wrong shape.
``serve_rest(export_dir, model_name)`` does the same for the REST API (JSON in and out as in
TF Serving's ``api_rest.md``). ``replay_warmup`` replays the warm-up records as TF Serving
does at load time with ``--enable_model_warmup``.
"""

import base64
import concurrent.futures
import http.server
import json
import os
import re
import threading

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.protobuf import config_pb2, saved_model_pb2
from tensorflow_serving.apis import (get_model_metadata_pb2, model_pb2, predict_pb2, prediction_log_pb2,
                                     prediction_service_pb2_grpc)

from udgan_tf.knobs import Knob
from udgan_tf.serving import signatures as contract

FAKE_KNOBS = (("a", 1), ("b", 2))
FAKE_IMAGE_SHAPE = (8, 8, 1)
FAKE_MAX_BATCH = 16
_WIDTH = sum(width for _, width in FAKE_KNOBS)


class _FakeGenerator(tf.Module):
    """images = sigmoid(knobs @ w): [batch, 3] -> [batch, 8, 8, 1], with the contract's checks."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.w = tf.Variable(rng.normal(size=(_WIDTH, int(np.prod(FAKE_IMAGE_SHAPE)))).astype("float32"))
        self.names = tf.constant([name for name, _ in FAKE_KNOBS])
        self.offsets = tf.constant(np.cumsum([0] + [w for _, w in FAKE_KNOBS[:-1]]), tf.int32)
        self.widths = tf.constant([w for _, w in FAKE_KNOBS], tf.int32)

    def _images(self, knobs):
        checks = [tf.debugging.assert_equal(tf.shape(knobs)[-1], _WIDTH, message=f"knobs must have width {_WIDTH}"),
                  tf.debugging.assert_less_equal(tf.shape(knobs)[0], FAKE_MAX_BATCH,
                                                 message=f"batch above max_batch_size {FAKE_MAX_BATCH}")]
        with tf.control_dependencies(checks):
            knobs = tf.debugging.assert_all_finite(knobs, "knobs must be finite (got NaN or inf)")
        return tf.reshape(tf.sigmoid(knobs @ self.w), (-1,) + FAKE_IMAGE_SHAPE)

    @tf.function(input_signature=[tf.TensorSpec([None, _WIDTH], tf.float32, name=contract.KNOBS)])
    def serving_default(self, knobs):
        return {contract.IMAGES: self._images(knobs)}

    @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.float32, name="a"),
                                  tf.TensorSpec([None, 2], tf.float32, name="b")])
    def generate_by_knob(self, a, b):
        return {contract.IMAGES: self._images(tf.concat([a, b], axis=-1))}

    @tf.function(input_signature=[tf.TensorSpec([None, _WIDTH], tf.float32, name=contract.KNOBS)])
    def generate_png(self, knobs):
        pixels = tf.cast(tf.round(self._images(knobs) * 255.0), tf.uint8)
        return {contract.PNG_BYTES: tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)}

    @tf.function(input_signature=[tf.TensorSpec([_WIDTH], tf.float32, name=contract.KNOBS),
                                  tf.TensorSpec([], tf.string, name=contract.KNOB),
                                  tf.TensorSpec([None], tf.float32, name=contract.VALUES)])
    def traverse(self, knobs, knob, values):
        found = tf.equal(self.names, knob)
        known = tf.debugging.Assert(tf.reduce_any(found), ["unknown knob name:", knob, "available:", self.names])
        with tf.control_dependencies([known]):
            index = tf.argmax(tf.cast(found, tf.int32))
        start, width = self.offsets[index], self.widths[index]
        columns = tf.range(_WIDTH)
        in_knob = (columns >= start) & (columns < start + width)
        batch = tf.tile(knobs[None, :], [tf.size(values), 1])
        return {contract.IMAGES: self._images(tf.where(in_knob[None, :], values[:, None], batch))}

    @tf.function(input_signature=[tf.TensorSpec([None] + list(FAKE_IMAGE_SHAPE), tf.float32, name=contract.IMAGES)])
    def embed(self, images):
        images = tf.debugging.assert_all_finite(images, "images must be finite")
        flat = tf.reshape(images, [tf.shape(images)[0], -1])
        mean = tf.reduce_mean(flat, axis=1, keepdims=True)
        return {"a": mean, "b": tf.concat([mean, tf.math.reduce_std(flat, axis=1, keepdims=True)], axis=1)}


def _predict_log(signature_name, inputs):
    request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(signature_name=signature_name))
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))


def make_fake_export(path):
    """Writes the stand-in export (a SavedModel version directory) at ``path`` and returns it."""
    path = str(path)
    module = _FakeGenerator()
    signatures = {name: getattr(module, name) for name in contract.SIGNATURES}
    tf.saved_model.save(module, path, signatures=signatures)
    extra = os.path.join(path, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    with open(os.path.join(extra, "knobs.json"), "w") as f:  # as udgan_tf.export writes it
        json.dump({"knobs": [{"guidance": None, **Knob(n, w).to_config()} for n, w in FAKE_KNOBS],
                   "value_range": [-1, 1], "max_batch_size": FAKE_MAX_BATCH,
                   "image_shape": list(FAKE_IMAGE_SHAPE), "signatures": list(contract.SIGNATURES)}, f, indent=2)
    knobs = np.zeros((2, _WIDTH), np.float32)
    logs = [
        _predict_log(contract.SERVING_DEFAULT, {contract.KNOBS: knobs}),
        _predict_log(contract.GENERATE_BY_KNOB, {"a": knobs[:, :1], "b": knobs[:, 1:]}),
        _predict_log(contract.GENERATE_PNG, {contract.KNOBS: knobs}),
        _predict_log(contract.TRAVERSE, {contract.KNOBS: knobs[0], contract.KNOB: "a",
                                         contract.VALUES: np.linspace(-1, 1, 3, dtype=np.float32)}),
        _predict_log(contract.EMBED, {contract.IMAGES: np.zeros((2,) + FAKE_IMAGE_SHAPE, np.float32)}),
    ]
    with tf.io.TFRecordWriter(os.path.join(extra, "tf_serving_warmup_requests")) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    return path


class ServingStatusError(Exception):
    """A TF Serving error status (a ``grpc.StatusCode`` and a message) outside a gRPC call."""

    def __init__(self, code, message):
        super().__init__(f"{code.name}: {message}")
        self.code, self.message = code, message


def _read_signature_defs(export_dir):
    """The ``serve`` MetaGraphDef's SignatureDefs, exactly as TF Serving reads them (incl. __saved_model_init_op)."""
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    for meta_graph in saved_model.meta_graphs:
        if "serve" in meta_graph.meta_info_def.tags:
            return dict(meta_graph.signature_def)
    raise ValueError(f"{export_dir} has no MetaGraphDef tagged 'serve'")


#: TensorFlow's error codes are gRPC's status codes (both are absl::StatusCode).
_STATUS_CODES = {code.value[0]: code for code in grpc.StatusCode}


class SavedModelPredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """TF Serving's Predict and GetModelMetadata for one SavedModel version, in-process.

    Args:
        export_dir: str. A SavedModel directory (``<export-base>/<model-name>/<version>``).
        model_name: str. The name requests must use in ``model_spec.name``.
        version: int. Reported in responses' ``model_spec.version``.
        batching: bool. Also enforce what ``--enable_batching`` requires of every request: each input
            has a 0th (batch) dimension, all inputs share its size, and it is at most ``max_batch_size``.
        max_batch_size: int. The batching config's ``max_batch_size`` (used with ``batching=True``).
    """

    def __init__(self, export_dir, model_name, version=1, batching=False, max_batch_size=256):
        self.model_name, self.version = model_name, version
        self.batching, self.max_batch_size = batching, max_batch_size
        self.signature_defs = _read_signature_defs(str(export_dir))
        # As TF Serving's SavedModelBundle: a Session on the 'serve' MetaGraph.
        self._session = tf.compat.v1.Session(graph=tf.Graph())
        with self._session.graph.as_default():
            tf.compat.v1.saved_model.loader.load(self._session, ["serve"], str(export_dir))
        self._callables, self._lock = {}, threading.Lock()

    def _run(self, signature_name, tensors, output_names):
        """Runs a signature as TF Serving's ``Session::Run`` does: tensors fed by the signature's
        tensor names, unchecked against its declared shapes. (``Session.run`` and ``make_callable``
        with feeds check shapes in Python first; the C++ callable, like TF Serving, does not.)
        Returns {output name: numpy array}."""
        signature = self.signature_defs[signature_name]
        input_names = sorted(tensors)
        key = (signature_name, tuple(input_names), tuple(output_names))
        with self._lock:
            if key not in self._callables:
                options = config_pb2.CallableOptions(feed=[signature.inputs[name].name for name in input_names],
                                                     fetch=[signature.outputs[name].name for name in output_names])
                self._callables[key] = self._session._make_callable_from_options(options)
        values = self._callables[key](*[tensors[name] for name in input_names])
        return dict(zip(output_names, values))

    # -- the logic, raising ServingStatusError -------------------------------------------------------
    def _check_model(self, model_spec):
        if model_spec.name != self.model_name:
            raise ServingStatusError(grpc.StatusCode.NOT_FOUND,
                                     f"Servable not found for request: Latest({model_spec.name})")

    def _batching_checks(self, tensors):
        sizes = set()
        for tensor in tensors.values():
            if tensor.ndim == 0:
                raise ServingStatusError(grpc.StatusCode.INVALID_ARGUMENT,
                                         "Batching Run() input tensors must have at least one dimension")
            sizes.add(tensor.shape[0])
        if len(sizes) > 1:
            raise ServingStatusError(grpc.StatusCode.INVALID_ARGUMENT,
                                     "Batching Run() input tensors must have equal 0th-dimension size")
        if sizes and max(sizes) > self.max_batch_size:
            raise ServingStatusError(grpc.StatusCode.INVALID_ARGUMENT,
                                     f"Task size {max(sizes)} is larger than maximum input batch size "
                                     f"{self.max_batch_size}")

    def run_predict(self, request, check_model_name=True):
        """PredictRequest -> PredictResponse, or ServingStatusError."""
        if check_model_name:
            self._check_model(request.model_spec)
        signature_name = request.model_spec.signature_name or contract.SERVING_DEFAULT
        if signature_name not in self.signature_defs or signature_name.startswith("__"):
            # TF Serving answers FAILED_PRECONDITION here (predict_util.cc), not INVALID_ARGUMENT.
            raise ServingStatusError(grpc.StatusCode.FAILED_PRECONDITION,
                                     f'Serving signature key "{signature_name}" not found.')
        expected, sent = set(self.signature_defs[signature_name].inputs), set(request.inputs)
        if expected != sent:
            raise ServingStatusError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"input size does not match signature: {len(sent)}!={len(expected)} "
                f"len({{{','.join(sorted(sent))}}}) != len({{{','.join(sorted(expected))}}}). "
                f"Sent extra: {{{','.join(sorted(sent - expected))}}}. "
                f"Missing but required: {{{','.join(sorted(expected - sent))}}}.")
        tensors = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
        if self.batching:
            self._batching_checks(tensors)
        wanted = list(request.output_filter) or sorted(self.signature_defs[signature_name].outputs)
        try:
            outputs = self._run(signature_name, tensors, wanted)
        except tf.errors.OpError as error:  # TF Serving answers with the Session's status
            raise ServingStatusError(_STATUS_CODES[error.error_code], error.message) from None
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(request.model_spec)
        response.model_spec.signature_name = signature_name
        response.model_spec.version.value = self.version
        for name in wanted:
            response.outputs[name].CopyFrom(tf.make_tensor_proto(outputs[name]))
        return response

    def run_metadata(self, request):
        """GetModelMetadataRequest -> GetModelMetadataResponse, or ServingStatusError."""
        if not request.metadata_field:
            raise ServingStatusError(grpc.StatusCode.INVALID_ARGUMENT,
                                     "GetModelMetadataRequest must specify at least one metadata_field")
        for field in request.metadata_field:
            if field != "signature_def":
                raise ServingStatusError(grpc.StatusCode.INVALID_ARGUMENT, f"Metadata field {field} is not supported")
        self._check_model(request.model_spec)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for name, signature_def in self.signature_defs.items():
            signature_map.signature_def[name].CopyFrom(signature_def)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = self.model_name
        response.model_spec.version.value = self.version
        response.metadata["signature_def"].Pack(signature_map)
        return response

    # -- gRPC ----------------------------------------------------------------------------------------
    def Predict(self, request, context):
        try:
            return self.run_predict(request)
        except ServingStatusError as error:
            context.abort(error.code, error.message)

    def GetModelMetadata(self, request, context):
        try:
            return self.run_metadata(request)
        except ServingStatusError as error:
            context.abort(error.code, error.message)


_MAX_MESSAGE = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]


def serve(export_dir, model_name, **servicer_kwargs):
    """Starts a gRPC PredictionService for ``export_dir`` on a free localhost port.

    Returns:
        (grpc.Server, int): the started server (``server.stop(None)`` when done) and its port.
    """
    servicer = SavedModelPredictionServicer(export_dir, model_name, **servicer_kwargs)
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4), options=_MAX_MESSAGE)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("localhost:0")
    server.start()
    server.servicer = servicer
    return server, port


def replay_warmup(export_dir, stub_or_servicer, model_name=None):
    """Replays ``assets.extra/tf_serving_warmup_requests`` like TF Serving at load time.

    Args:
        export_dir: str. The SavedModel directory.
        stub_or_servicer: a ``PredictionServiceStub`` (requests go over gRPC) or a
            ``SavedModelPredictionServicer`` (called directly; like TF Serving's warm-up, the request's
            model name is not checked).
        model_name: str or None. With a stub, replaces each request's ``model_spec.name``.

    Returns:
        int: the number of requests replayed (0 when the file is absent, which TF Serving allows).

    Raises:
        ValueError: more than 1000 records (TF Serving's limit) or a record that is not a predict_log.
        ServingStatusError or grpc.RpcError: a request failed (TF Serving would then fail the load).
    """
    path = os.path.join(str(export_dir), "assets.extra", "tf_serving_warmup_requests")
    if not os.path.exists(path):
        return 0
    records = [record.numpy() for record in tf.data.TFRecordDataset(path)]
    if len(records) > 1000:
        raise ValueError(f"{path} has {len(records)} warm-up records; TF Serving accepts at most 1000")
    for position, record in enumerate(records):
        log = prediction_log_pb2.PredictionLog.FromString(record)
        if log.WhichOneof("log_type") != "predict_log":
            raise ValueError(f"warm-up record {position} is a {log.WhichOneof('log_type')}, expected predict_log")
        request = log.predict_log.request
        if isinstance(stub_or_servicer, SavedModelPredictionServicer):
            stub_or_servicer.run_predict(request, check_model_name=False)
        else:
            if model_name is not None:
                request.model_spec.name = model_name
            stub_or_servicer.Predict(request, timeout=30)
    return len(records)


# -- server configuration ----------------------------------------------------------------------------
def batching_parameters_message():
    """TF Serving's ``BatchingParameters`` message, which ``--batching_parameters_file`` holds as a text
    proto. tensorflow-serving-api does not ship it (``session_bundle_config.proto``), so it is built
    here with that file's field names, numbers and types, for ``text_format.Parse`` to read a batching
    config as the server does: an unknown field or a malformed value is an error."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

    field = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="session_bundle_config_stand_in.proto",
                                               package="tensorflow.serving", syntax="proto3",
                                               dependency=["google/protobuf/wrappers.proto"])
    message = proto.message_type.add(name="BatchingParameters")
    for number, name, wrapper in [(1, "max_batch_size", "Int64Value"), (2, "batch_timeout_micros", "Int64Value"),
                                  (3, "max_enqueued_batches", "Int64Value"), (4, "num_batch_threads", "Int64Value"),
                                  (5, "thread_pool_name", "StringValue")]:
        message.field.add(name=name, number=number, label=field.LABEL_OPTIONAL, type=field.TYPE_MESSAGE,
                          type_name=f".google.protobuf.{wrapper}")
    message.field.add(name="allowed_batch_sizes", number=6, label=field.LABEL_REPEATED, type=field.TYPE_INT64)
    message.field.add(name="pad_variable_length_inputs", number=7, label=field.LABEL_OPTIONAL, type=field.TYPE_BOOL)
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters"))


# -- REST ------------------------------------------------------------------------------------------
def _map_nested(value, fn):
    return [_map_nested(v, fn) for v in value] if isinstance(value, list) else fn(value)


def _json_value(name, array):
    """A numpy output as TF Serving writes it: nested lists; DT_STRING named *_bytes as {"b64": ...}."""
    def convert(value):
        if not isinstance(value, bytes):
            return value
        if name.endswith("_bytes"):
            return {"b64": base64.b64encode(value).decode("ascii")}
        return value.decode("utf-8", "replace")  # TF Serving writes the raw bytes: lossy for binary data
    return _map_nested(array.tolist(), convert)


def _from_json(value, dtype):
    def decode(v):
        return base64.b64decode(v["b64"]) if isinstance(v, dict) else v.encode() if isinstance(v, str) else v
    if dtype == tf.string:
        return np.array(_map_nested(value, decode) if isinstance(value, list) else decode(value), dtype=object)
    return np.asarray(value, dtype=dtype.as_numpy_dtype)


class _RestHandler(http.server.BaseHTTPRequestHandler):
    servicer = None  # set on a subclass by serve_rest
    _PREDICT = re.compile(r"^/v1/models/([^/:]+)(?:/versions/\d+)?:predict$")
    _METADATA = re.compile(r"^/v1/models/([^/:]+)(?:/versions/\d+)?/metadata$")

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, error):
        status = {grpc.StatusCode.NOT_FOUND: 404, grpc.StatusCode.INVALID_ARGUMENT: 400,
                  grpc.StatusCode.FAILED_PRECONDITION: 400}.get(error.code, 500)
        self._reply(status, {"error": error.message})

    def do_GET(self):
        match = self._METADATA.match(self.path)
        if not match:
            return self._reply(404, {"error": f"Malformed request: GET {self.path}"})
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = match.group(1)
        try:
            response = self.servicer.run_metadata(request)
        except ServingStatusError as error:
            return self._error(error)
        self._reply(200, json_format.MessageToDict(response, preserving_proto_field_name=True))

    def do_POST(self):
        match = self._PREDICT.match(self.path)
        if not match:
            return self._reply(404, {"error": f"Malformed request: POST {self.path}"})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not isinstance(body.get("inputs"), dict) or "instances" in body:
            return self._reply(400, {"error": "this stand-in only accepts the columnar format: {\"inputs\": {...}}"})
        request = predict_pb2.PredictRequest()
        request.model_spec.name = match.group(1)
        request.model_spec.signature_name = body.get("signature_name") or contract.SERVING_DEFAULT
        signature = self.servicer.signature_defs.get(request.model_spec.signature_name)
        for name, value in body["inputs"].items():
            known = signature is not None and name in signature.inputs  # TF Serving types JSON by the signature
            dtype = tf.dtypes.as_dtype(signature.inputs[name].dtype) if known else tf.float32
            request.inputs[name].CopyFrom(tf.make_tensor_proto(_from_json(value, dtype)))
        try:
            response = self.servicer.run_predict(request)
        except ServingStatusError as error:
            return self._error(error)
        outputs = {name: _json_value(name, tf.make_ndarray(proto)) for name, proto in response.outputs.items()}
        # Like TF Serving: a single output loses its name.
        self._reply(200, {"outputs": outputs if len(outputs) > 1 else next(iter(outputs.values()))})


def serve_rest(export_dir, model_name, **servicer_kwargs):
    """Starts a REST stand-in (``:predict`` in columnar format, ``/metadata``) on a free localhost port.

    Returns:
        (http.server.ThreadingHTTPServer, int): the server (``server.shutdown()`` when done) and its port.
    """
    servicer = SavedModelPredictionServicer(export_dir, model_name, **servicer_kwargs)
    handler = type("Handler", (_RestHandler,), {"servicer": servicer})
    server = http.server.ThreadingHTTPServer(("localhost", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]
