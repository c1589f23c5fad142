"""Clients for a udgan generator served by TensorFlow Serving, and a command line that draws a PNG.

The export (``python -m udgan_tf.export``, served as in ``serving/README.md``) has these
signatures (names and keys in ``udgan_tf.serving.signatures``), where ``D`` is the total knob width (the sum of the knobs' widths ``w``), images are
``H x W x C`` and knob values live in [-1, 1]:

==================  ===============================================  ===========================================
signature           inputs                                           outputs
==================  ===============================================  ===========================================
serving_default     knobs float32 [batch, D]                         images float32 [batch, H, W, C] in [0, 1]
generate_by_knob    <knob name> float32 [batch, w], one per knob     images float32 [batch, H, W, C]
generate_png        knobs float32 [batch, D]                         png_bytes string [batch] (PNG files)
traverse            knobs float32 [D], knob string [], values [K]    images float32 [K, H, W, C]
embed               images float32 [batch, H, W, C]                  <knob name> float32 [batch, embedding_dim]
invert              images float32 [batch, H, W, C]                  knobs [batch, D], reconstruction (images)
edit                images, <knob name> float32 [batch, w] to add    images float32 [batch, H, W, C]
==================  ===============================================  ===========================================

(``invert`` and ``edit`` when the run was exported with a knob encoder, ``udgan_tf.inversion``.)

``GrpcClient`` talks to TF Serving's gRPC port (8500), ``RestClient`` to its REST port (8501);
both have ``predict(signature_name, inputs)``, ``metadata()`` and the shortcuts ``generate``,
``generate_by_knob``, ``traverse``, ``embed``, ``generate_png``, ``invert`` and ``edit``. Every failure (server not
reachable, timeout, request rejected by the model) raises ``ServingError`` with a readable message.

Command line (gRPC)::

    python -m udgan_tf.serving.client --server localhost:8500 --model udgan \\
        --knob size=0.8 [--knob NAME=V1,V2 ...] [--seed 0] --out size.png
    python -m udgan_tf.serving.client --model udgan --traverse size --values 8 --out sweep.png
    python -m udgan_tf.serving.client --model udgan --image in.png --knob size=+0.5 --out edited.png

Knob names and widths come from the ``generate_by_knob`` signature in the model's metadata.
Knobs not given with ``--knob`` are drawn uniformly in [-1, 1] from ``--seed``; a knob of width
``w`` takes one value (used for all ``w`` dimensions) or ``w`` comma-separated values. With
``--traverse NAME`` the picture is one row of ``--values`` images sweeping that knob (all of its
dimensions) from -1 to 1 with the other knobs fixed. Images are upscaled with nearest-neighbour
so each is at least 256 px. With ``--image FILE`` the picture is that image edited on the server
(``edit``): each ``--knob`` value is then added to the image's own knob value, and the image is
read as ``udgan_tf.editing.read_image`` reads it (resized to the model's resolution; a wrong
channel count, an empty or a non-image file is an error). Exit status 2 with ``error: ...`` on
stderr for a bad knob, a bad image or a serving failure (``udgan_tf.exit_codes``).

Why the clients and their command share this file of over 400 lines: ``python -m
udgan_tf.serving.client`` is the name users run and ``udgan_tf.serving.client.GrpcClient`` the
name they import; the command part (the last hundred lines) only parses arguments and calls
the clients.
"""

import argparse
import base64
import json
import sys
import urllib.error
import urllib.request

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2, prediction_service_pb2_grpc

from udgan_tf import exit_codes
from udgan_tf.editing.image_files import ImageError, read_image
from udgan_tf.knobs import VALUE_RANGE
from udgan_tf.runs import RunWriteError, write_png_row
from udgan_tf.serving import signatures as contract

#: Images can be large (256 x 64 x 64 x 3 float32 is 12 MB): lift gRPC's 4 MB default, as TF Serving does.
_GRPC_OPTIONS = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]


class ServingError(Exception):
    """TF Serving could not answer: server unreachable, no answer in time, or the request was rejected."""


def _as_input(value):
    """A request value: str/bytes (a string scalar) or string arrays as they are; numbers as float32.

    Every numeric input of the export is float32, and TF Serving refuses a float64 or int64 tensor
    for a float32 input, so numbers are always sent as float32.
    """
    if isinstance(value, (str, bytes)):
        return value
    array = np.asarray(value)
    return array if array.dtype.kind in "USO" else array.astype(np.float32)


def _nested(value, fn):
    return [_nested(v, fn) for v in value] if isinstance(value, list) else fn(value)


def _signatures(signature_def_map):
    """SignatureDefMap -> {signature: {"inputs"|"outputs": {name: {"dtype": "float32", "shape": [None, 3]}}}}.

    Unknown dimensions (-1) become None; a shape of unknown rank is None. TF's own entries
    (``__saved_model_init_op``, which TF Serving lists too) are left out.
    """
    def tensor(info):
        dims = info.tensor_shape.dim
        shape = None if info.tensor_shape.unknown_rank else [d.size if d.size >= 0 else None for d in dims]
        return {"dtype": tf.dtypes.as_dtype(info.dtype).name, "shape": shape}

    return {name: {"inputs": {k: tensor(v) for k, v in sorted(signature.inputs.items())},
                   "outputs": {k: tensor(v) for k, v in sorted(signature.outputs.items())}}
            for name, signature in sorted(signature_def_map.signature_def.items()) if not name.startswith("__")}


class _Client:
    """The export's signatures as methods, on top of ``predict``."""

    model_name = None

    def predict(self, signature_name, inputs):
        raise NotImplementedError

    def generate(self, knobs):
        """knobs float32 [batch, D] -> images float32 [batch, H, W, C] in [0, 1]."""
        return self.predict(contract.SERVING_DEFAULT, {contract.KNOBS: knobs})[contract.IMAGES]

    def generate_by_knob(self, **named):
        """name=float32 [batch, w] for every knob -> images float32 [batch, H, W, C]."""
        return self.predict(contract.GENERATE_BY_KNOB, named)[contract.IMAGES]

    def traverse(self, knobs, knob, values):
        """knobs float32 [D], knob name, values float32 [K] -> images float32 [K, H, W, C]."""
        inputs = {contract.KNOBS: knobs, contract.KNOB: knob, contract.VALUES: values}
        return self.predict(contract.TRAVERSE, inputs)[contract.IMAGES]

    def embed(self, images):
        """images float32 [batch, H, W, C] -> {knob name: float32 [batch, embedding_dim]}."""
        return self.predict(contract.EMBED, {contract.IMAGES: images})

    def generate_png(self, knobs):
        """knobs float32 [batch, D] -> list of ``batch`` PNG files (bytes)."""
        outputs = self.predict(contract.GENERATE_PNG, {contract.KNOBS: knobs})
        return [bytes(png) for png in np.ravel(outputs[contract.PNG_BYTES])]

    def invert(self, images):
        """images float32 [batch, H, W, C] -> (knobs float32 [batch, D], reconstruction [batch, H, W, C])."""
        outputs = self.predict(contract.INVERT, {contract.IMAGES: images})
        return outputs[contract.KNOBS], outputs[contract.RECONSTRUCTION]

    def edit(self, images, **deltas):
        """images float32 [batch, H, W, C], name=float32 [batch, w] to add for every knob -> images."""
        return self.predict(contract.EDIT, {contract.IMAGES: images, **deltas})[contract.IMAGES]

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        pass


class GrpcClient(_Client):
    """TF Serving's PredictionService over gRPC.

    Args:
        address: str. ``host:port`` of the gRPC port (8500 by default).
        model_name: str. The served model's name (``udgan`` in ``serving/models.config``).
        timeout: float. Seconds to wait for each call, connection included.
    """

    def __init__(self, address, model_name, timeout=10.0):
        self.address, self.model_name, self.timeout = address, model_name, timeout
        self._channel = grpc.insecure_channel(address, options=_GRPC_OPTIONS)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def close(self):
        self._channel.close()

    def _call(self, method, request, what):
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise self._error(error.code(), error.details(), what) from None

    def _error(self, code, details, what):
        check = (f"Is TF Serving running (docker compose -f serving/docker-compose.yml ps) and is "
                 f"{self.address} its gRPC port (8500 by default; 8501 is the REST port)?")
        if code == grpc.StatusCode.UNAVAILABLE:
            return ServingError(f"cannot reach TF Serving at {self.address} ({details}). {check}")
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return ServingError(f"no answer from TF Serving at {self.address} within {self.timeout} s for {what}. "
                                f"{check} A model still loading or a large batch may need a longer timeout.")
        if code == grpc.StatusCode.NOT_FOUND:
            return ServingError(f"model {self.model_name!r} is not served at {self.address}: {details}. "
                                f"Check the model name against serving/models.config and that a version is loaded.")
        return ServingError(f"{what} rejected by TF Serving at {self.address} ({code.name}): {details}")

    def predict(self, signature_name, inputs):
        """Calls a signature.

        Args:
            signature_name: str. E.g. ``serving_default``.
            inputs: dict of input name -> numpy array (numbers are sent as float32) or str.

        Returns:
            dict of output name -> numpy array (strings as an object array of bytes).
        """
        request = predict_pb2.PredictRequest()
        request.model_spec.name, request.model_spec.signature_name = self.model_name, signature_name
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(_as_input(value)))
        response = self._call(self._stub.Predict, request, f"Predict({signature_name})")
        return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}

    def metadata(self):
        """The model's signatures: {name: {"inputs": {...}, "outputs": {...}}} (see ``_signatures``)."""
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = self.model_name
        response = self._call(self._stub.GetModelMetadata, request, "GetModelMetadata")
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)
        return _signatures(signature_map)


def build_predict_body(signature_name, inputs):
    """The JSON body of TF Serving's ``POST /v1/models/<name>:predict`` in columnar form.

    Returns:
        dict: ``{"signature_name": ..., "inputs": {name: value}}`` with values as (nested) Python
        lists of floats, a str for a string scalar, and ``{"b64": ...}`` for bytes.
    """
    def leaf(value):
        return {"b64": base64.b64encode(value).decode("ascii")} if isinstance(value, bytes) else value

    def encode(value):
        value = _as_input(value)
        return _nested(value.tolist() if isinstance(value, np.ndarray) else value, leaf)

    return {"signature_name": signature_name, "inputs": {name: encode(value) for name, value in inputs.items()}}


def _from_json(value):
    """A JSON output value -> numpy: floats as float32, strings and {"b64": ...} as an object array of bytes."""
    value = _nested(value, lambda v: base64.b64decode(v["b64"]) if isinstance(v, dict) else v)
    array = np.asarray(value)
    if array.dtype.kind in "US":
        return np.asarray(_nested(value, lambda v: v.encode() if isinstance(v, str) else v), dtype=object)
    return array.astype(np.float32) if array.dtype.kind == "f" else array


class RestClient(_Client):
    """TF Serving's REST API (``/v1/models/<name>:predict`` and ``/v1/models/<name>/metadata``).

    Args:
        base_url: str. E.g. ``http://localhost:8501`` (``http://`` is added when missing).
        model_name: str. The served model's name.
        timeout: float. Seconds to wait for each call.
    """

    build_predict_body = staticmethod(build_predict_body)

    def __init__(self, base_url, model_name, timeout=10.0):
        base_url = base_url.rstrip("/")
        self.base_url = base_url if "://" in base_url else f"http://{base_url}"
        self.model_name, self.timeout = model_name, timeout
        self._output_names = {}

    def _request(self, method, suffix, body=None):
        url = f"{self.base_url}/v1/models/{self.model_name}{suffix}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read())["error"]
            except (ValueError, KeyError, TypeError):
                message = error.reason
            raise ServingError(f"{method} {url} failed with HTTP {error.code}: {message}") from None
        except OSError as error:  # URLError (refused, unknown host) and timeouts
            raise ServingError(
                f"cannot reach TF Serving's REST API at {self.base_url} within {self.timeout} s "
                f"({getattr(error, 'reason', error)}). Is TF Serving running and is this its REST port "
                f"(8501 by default; 8500 is the gRPC port)?") from None

    def predict(self, signature_name, inputs):
        """Same as ``GrpcClient.predict``, over REST (floats come back as float32)."""
        outputs = self._request("POST", ":predict", build_predict_body(signature_name, inputs))["outputs"]
        if not isinstance(outputs, dict):  # TF Serving drops the name of a signature's only output
            if signature_name not in self._output_names:
                self._output_names[signature_name] = list(self.metadata()[signature_name]["outputs"])
            (name,) = self._output_names[signature_name]
            outputs = {name: outputs}
        return {name: _from_json(value) for name, value in outputs.items()}

    def metadata(self):
        """Same as ``GrpcClient.metadata``, from ``GET /v1/models/<name>/metadata``."""
        packed = dict(self._request("GET", "/metadata")["metadata"]["signature_def"])  # a JSON Any
        packed.pop("@type", None)
        return _signatures(json_format.ParseDict(packed, get_model_metadata_pb2.SignatureDefMap(),
                                                 ignore_unknown_fields=True))


# -- command line ----------------------------------------------------------------------------------
class UsageError(ValueError):
    """A command-line value that does not fit the served model (e.g. an unknown knob name)."""


def knob_widths(client):
    """{knob name: width}, read from the inputs ([batch, width] each) of the ``generate_by_knob`` signature."""
    signatures = client.metadata()
    if contract.GENERATE_BY_KNOB not in signatures:
        raise ServingError(f"model {client.model_name!r} has no {contract.GENERATE_BY_KNOB} signature "
                           f"(it has: {', '.join(signatures) or 'none'}); is it a udgan export?")
    widths = {name: spec["shape"][-1] if spec["shape"] else None
              for name, spec in signatures[contract.GENERATE_BY_KNOB]["inputs"].items()}
    unknown = [name for name, width in widths.items() if width is None]
    if unknown:
        raise ServingError(f"{contract.GENERATE_BY_KNOB} does not declare the width of knob(s) {unknown}")
    return widths


def _describe(widths):
    return ", ".join(f"{name} (width {width})" for name, width in sorted(widths.items()))


def _check_name(name, widths):
    if name not in widths:
        raise UsageError(f"unknown knob {name!r}; available knobs: {_describe(widths)}")


def parse_knob(text, widths):
    """``NAME=V`` or ``NAME=V1,...,Vw`` -> (name, float32 [w])."""
    name, sep, values = text.partition("=")
    if not sep:
        raise UsageError(f"--knob takes NAME=VALUE, got {text!r}")
    _check_name(name, widths)
    try:
        numbers = np.float32([float(v) for v in values.split(",")])
    except ValueError:
        raise UsageError(f"--knob {name}: {values!r} is not a number or comma-separated numbers") from None
    if len(numbers) not in (1, widths[name]):
        raise UsageError(f"knob {name} has width {widths[name]}: give 1 value or {widths[name]} "
                         f"comma-separated values, got {len(numbers)}")
    return name, np.broadcast_to(numbers, (widths[name],)).copy()


def knob_batch(widths, knobs=(), traverse=None, values=8, seed=None):
    """The ``generate_by_knob`` inputs: {name: float32 [1, w]}, or [values, w] sweeping ``traverse``."""
    rng = np.random.default_rng(seed)
    chosen = {name: rng.uniform(*VALUE_RANGE, widths[name]).astype(np.float32) for name in sorted(widths)}
    chosen.update(parse_knob(text, widths) for text in knobs)
    if traverse is None:
        return {name: value[None, :] for name, value in chosen.items()}
    _check_name(traverse, widths)
    batch = {name: np.tile(value, (values, 1)) for name, value in chosen.items()}
    batch[traverse] = np.repeat(np.linspace(*VALUE_RANGE, values, dtype=np.float32)[:, None], widths[traverse], axis=1)
    return batch


def edit_deltas(widths, knobs=()):
    """The ``edit`` inputs but the image: {name: float32 [1, w]}, 0 for the knobs not given."""
    deltas = {name: np.zeros((1, width), np.float32) for name, width in widths.items()}
    deltas.update((name, value[None, :]) for name, value in (parse_knob(text, widths) for text in knobs))
    return deltas


def read_served_image(client, path):
    """The image file ``path`` as the served model's input, float32 [1, H, W, C]; the shape comes
    from the ``edit`` signature (UsageError for a bad image, ServingError without ``edit``)."""
    signatures = client.metadata()
    if contract.EDIT not in signatures:
        raise ServingError(f"model {client.model_name!r} has no {contract.EDIT} signature (it has: "
                           f"{', '.join(signatures)}): export a run with a knob encoder (python -m "
                           "udgan_tf.inversion) to edit images")
    height, width, channels = signatures[contract.EDIT]["inputs"][contract.IMAGES]["shape"][1:]
    try:
        with open(path, "rb") as file:
            data = file.read()
        return read_image(data, height, channels)[None]
    except OSError as error:
        raise UsageError(f"--image {path}: {error.strerror}") from None
    except ImageError as error:
        raise UsageError(f"--image {path}: {error}") from None


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m udgan_tf.serving.client",
        description="Draw images from a udgan generator served by TensorFlow Serving (gRPC).")
    parser.add_argument("--server", default="localhost:8500", help="host:port of TF Serving's gRPC port")
    parser.add_argument("--model", default="udgan", help="served model name (default: udgan)")
    parser.add_argument("--knob", action="append", default=[], metavar="NAME=VALUE",
                        help="set a knob: one value, or one per dimension comma-separated; repeatable")
    parser.add_argument("--traverse", metavar="NAME", help="sweep this knob from -1 to 1 instead of one image")
    parser.add_argument("--values", type=_positive, default=8, metavar="K", help="images in a traversal (default 8)")
    parser.add_argument("--seed", type=int, default=None, help="seed for the knobs not set with --knob")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the server (default 10)")
    parser.add_argument("--image", metavar="FILE", help="edit this image instead (the edit signature): each --knob "
                                                        "value is added to the image's own")
    parser.add_argument("--out", required=True, metavar="FILE.png", help="where to write the PNG")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        with GrpcClient(args.server, args.model, timeout=args.timeout) as client:
            widths = knob_widths(client)
            if args.image is not None:
                images = client.edit(read_served_image(client, args.image), **edit_deltas(widths, args.knob))
            else:
                images = client.generate_by_knob(**knob_batch(widths, args.knob, args.traverse, args.values,
                                                              args.seed))
        size = write_png_row(args.out, images)
    except (ServingError, UsageError, RunWriteError) as error:
        return exit_codes.report(error)
    print(f"wrote {args.out} ({len(images)} image(s), {size[0]}x{size[1]} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
