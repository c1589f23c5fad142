"""udgan_tf.serving.client against the stand-in export served by an in-process TF Serving look-alike."""

import io
import json
import os
import pathlib
import re
import shlex
import socket
import subprocess
import sys
import time

import grpc
import numpy as np
import pytest
import yaml
from PIL import Image
from tensorflow_serving.apis import prediction_service_pb2_grpc

from serving_fakes import (FAKE_MAX_BATCH, batching_parameters_message, make_fake_export, replay_warmup, serve,
                           serve_rest)
from udgan_tf.serving import client as client_lib
from udgan_tf.serving.client import GrpcClient, RestClient, ServingError

REPO = pathlib.Path(__file__).resolve().parents[1]
SIGNATURES = {"serving_default", "generate_by_knob", "generate_png", "traverse", "embed"}
KNOBS = np.array([[0.5, 0.1, -0.2], [-1.0, 1.0, 0.0]], np.float32)  # a | b b


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return make_fake_export(tmp_path_factory.mktemp("exports") / "udgan" / "1")


@pytest.fixture(scope="module")
def server(export_dir):
    server, port = serve(export_dir, "udgan")
    yield server, f"localhost:{port}"
    server.stop(None)


@pytest.fixture
def client(server):
    with GrpcClient(server[1], "udgan", timeout=5.0) as client:
        yield client


def closed_port():
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


# -- predict and metadata ---------------------------------------------------------------------------
def test_predict_every_signature(client):
    images = client.predict("serving_default", {"knobs": KNOBS})["images"]
    assert images.shape == (2, 8, 8, 1) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0

    by_knob = client.predict("generate_by_knob", {"a": KNOBS[:, :1], "b": KNOBS[:, 1:]})
    assert set(by_knob) == {"images"}
    np.testing.assert_allclose(by_knob["images"], images, atol=1e-6)

    png = client.predict("generate_png", {"knobs": KNOBS})["png_bytes"]
    assert png.shape == (2,) and png.dtype == object
    picture = Image.open(io.BytesIO(png[0]))
    assert picture.size == (8, 8)
    np.testing.assert_allclose(np.asarray(picture) / 255.0, images[0, ..., 0], atol=1 / 255 + 1e-6)

    sweep = client.predict("traverse", {"knobs": KNOBS[0], "knob": "b", "values": np.linspace(-1, 1, 5)})["images"]
    assert sweep.shape == (5, 8, 8, 1) and sweep.dtype == np.float32
    at_end = client.generate(np.array([[0.5, 1.0, 1.0]], np.float32))
    np.testing.assert_allclose(sweep[-1], at_end[0], atol=1e-6)

    embeddings = client.predict("embed", {"images": images})
    assert {name: (v.shape, v.dtype) for name, v in embeddings.items()} == {
        "a": ((2, 1), np.float32), "b": ((2, 2), np.float32)}


def test_shortcuts(client):
    images = client.generate(KNOBS)
    assert images.shape == (2, 8, 8, 1)
    np.testing.assert_allclose(client.generate_by_knob(a=KNOBS[:, :1], b=KNOBS[:, 1:]), images, atol=1e-6)
    assert client.traverse(KNOBS[1], "a", [-1.0, 0.0, 1.0]).shape == (3, 8, 8, 1)
    assert {name: v.shape for name, v in client.embed(images).items()} == {"a": (2, 1), "b": (2, 2)}
    pngs = client.generate_png(KNOBS)
    assert len(pngs) == 2 and all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)


def test_metadata_lists_every_signature_with_inputs(client):
    meta = client.metadata()
    assert set(meta) == SIGNATURES  # __saved_model_init_op, which TF Serving also lists, is left out
    assert {name: set(sig["inputs"]) for name, sig in meta.items()} == {
        "serving_default": {"knobs"}, "generate_by_knob": {"a", "b"}, "generate_png": {"knobs"},
        "traverse": {"knobs", "knob", "values"}, "embed": {"images"}}
    assert meta["generate_by_knob"]["inputs"]["b"] == {"dtype": "float32", "shape": [None, 2]}
    assert meta["traverse"]["inputs"]["knob"] == {"dtype": "string", "shape": []}
    assert meta["serving_default"]["outputs"] == {"images": {"dtype": "float32", "shape": [None, 8, 8, 1]}}
    assert meta["generate_png"]["outputs"]["png_bytes"]["dtype"] == "string"
    assert set(meta["embed"]["outputs"]) == {"a", "b"}
    assert client_lib.knob_widths(client) == {"a": 1, "b": 2}


# -- errors ---------------------------------------------------------------------------------------
def test_invalid_argument_becomes_serving_error_and_the_next_request_succeeds(client):
    bad = KNOBS.copy()
    bad[0, 1] = np.nan
    with pytest.raises(ServingError, match="(?s)INVALID_ARGUMENT.*knobs must be finite") as caught:
        client.generate(bad)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no gRPC traceback attached
    assert client.generate(KNOBS).shape == (2, 8, 8, 1)


@pytest.mark.parametrize("signature, inputs, message", [
    ("serving_default", {"knobs": np.zeros((1, 4))}, "knobs must have width 3"),
    ("serving_default", {"knobs": np.zeros((FAKE_MAX_BATCH + 1, 3))}, "batch above max_batch_size"),
    ("traverse", {"knobs": np.zeros(3), "knob": "size", "values": [0.0]}, r"unknown knob name:\] \[size\]"),
    ("generate_by_knob", {"a": np.zeros((1, 1))}, r"Missing but required: \{b\}"),
    ("nope", {"knobs": np.zeros((1, 3))}, 'Serving signature key "nope" not found'),
])
def test_bad_requests_name_the_problem(client, signature, inputs, message):
    with pytest.raises(ServingError, match=message):
        client.predict(signature, inputs)


def test_unknown_model(server):
    with GrpcClient(server[1], "not_udgan", timeout=5.0) as client, \
            pytest.raises(ServingError, match="model 'not_udgan' is not served"):
        client.metadata()


def test_closed_port_gives_serving_error_with_the_address_within_the_timeout():
    address = f"localhost:{closed_port()}"
    start = time.monotonic()
    with GrpcClient(address, "udgan", timeout=3.0) as client, pytest.raises(ServingError) as caught:
        client.generate(KNOBS)
    assert time.monotonic() - start < 4.0
    assert address in str(caught.value) and "running" in str(caught.value) and "8500" in str(caught.value)


def test_silent_server_gives_serving_error_with_the_address_at_the_timeout():
    with socket.socket() as silent:  # accepts TCP connections (backlog) but never speaks gRPC
        silent.bind(("localhost", 0))
        silent.listen(1)
        address = f"localhost:{silent.getsockname()[1]}"
        start = time.monotonic()
        with GrpcClient(address, "udgan", timeout=1.0) as client, pytest.raises(ServingError) as caught:
            client.metadata()
        assert time.monotonic() - start < 3.0
    assert address in str(caught.value) and "within 1.0 s" in str(caught.value)


# -- warm-up and batching -----------------------------------------------------------------------------
def test_export_assets_and_warmup_replay(export_dir, server):
    knobs = json.loads((pathlib.Path(export_dir) / "assets.extra" / "knobs.json").read_text())
    assert [(k["name"], k["width"], k["embedding_dim"]) for k in knobs["knobs"]] == [("a", 1, 1), ("b", 2, 2)]
    assert knobs["value_range"] == [-1, 1] and knobs["image_shape"] == [8, 8, 1]
    assert replay_warmup(export_dir, server[0].servicer) == 5
    with grpc.insecure_channel(server[1]) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        assert replay_warmup(export_dir, stub, model_name="udgan") == 5


def test_with_enable_batching_traverse_is_refused_but_generate_by_knob_sweeps(export_dir):
    """TF Serving's --enable_batching needs every input batched along dim 0 with one shared size.

    The contract's traverse (knobs [D], knob [], values [K]) breaks that rule; the command line's
    traversal uses generate_by_knob ([K, w] per knob), which keeps it.
    """
    server, port = serve(export_dir, "udgan", batching=True, max_batch_size=FAKE_MAX_BATCH)
    try:
        with GrpcClient(f"localhost:{port}", "udgan", timeout=5.0) as client:
            with pytest.raises(ServingError, match="must have at least one dimension"):
                client.traverse(KNOBS[0], "a", [0.0, 1.0])
            batch = client_lib.knob_batch({"a": 1, "b": 2}, traverse="b", values=4, seed=0)
            assert client.generate_by_knob(**batch).shape == (4, 8, 8, 1)
    finally:
        server.stop(None)


# -- command line -------------------------------------------------------------------------------
def run_cli(capsys, *argv):
    code = client_lib.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_writes_one_image(server, client, capsys, tmp_path):
    out = tmp_path / "pictures" / "one.png"
    code, stdout, _ = run_cli(capsys, "--server", server[1], "--model", "udgan", "--knob", "a=0.5",
                              "--knob", "b=0.1,-0.2", "--out", str(out))
    assert code == 0 and str(out) in stdout
    picture = Image.open(out)
    assert picture.size == (256, 256) and picture.mode == "L"  # 8 px upscaled x32 (nearest)
    expected = np.round(client.generate(KNOBS[:1])[0, ..., 0] * 255)
    np.testing.assert_allclose(np.asarray(picture)[::32, ::32], expected, atol=1)


def test_cli_seed_draws_unset_knobs_reproducibly(server, capsys, tmp_path):
    outs = []
    for name, seed in (("x.png", "3"), ("y.png", "3"), ("z.png", "4")):
        assert run_cli(capsys, "--server", server[1], "--seed", seed, "--out", str(tmp_path / name))[0] == 0
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1] != outs[2]


def test_cli_writes_a_traversal(server, capsys, tmp_path):
    out = tmp_path / "sweep.png"
    code, _, _ = run_cli(capsys, "--server", server[1], "--model", "udgan", "--traverse", "b", "--values", "4",
                         "--seed", "1", "--out", str(out))
    assert code == 0
    picture = np.asarray(Image.open(out))
    assert picture.shape == (256, (4 * 8 + 3) * 32)  # 4 images of 8 px, 1-px gaps, x32
    tiles = [picture[:, i * 9 * 32: (i * 9 + 8) * 32] for i in range(4)]
    assert not np.array_equal(tiles[0], tiles[-1])


@pytest.mark.parametrize("argv, message", [
    (["--knob", "b=1,2,3"], "knob b has width 2: give 1 value or 2 comma-separated values, got 3"),
    (["--knob", "a=big"], "--knob a: 'big' is not a number"),
    (["--traverse", "size"], "unknown knob 'size'; available knobs: a (width 1), b (width 2)"),
])
def test_cli_bad_knobs_exit_2(server, capsys, tmp_path, argv, message):
    code, _, stderr = run_cli(capsys, "--server", server[1], *argv, "--out", str(tmp_path / "x.png"))
    assert code == 2 and f"error: {message}" in stderr
    assert not (tmp_path / "x.png").exists()


def test_cli_server_down_exits_2(capsys, tmp_path):
    address = f"localhost:{closed_port()}"
    code, _, stderr = run_cli(capsys, "--server", address, "--timeout", "3", "--out", str(tmp_path / "x.png"))
    assert code == 2 and stderr.startswith("error: cannot reach TF Serving at " + address)
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_python_m_unknown_knob_exits_2_listing_the_knobs(server, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "udgan_tf.serving.client", "--server", server[1], "--model", "udgan",
         "--knob", "size=0.8", "--out", str(tmp_path / "size.png")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 2
    assert "error: unknown knob 'size'; available knobs: a (width 1), b (width 2)" in result.stderr
    assert "Traceback" not in result.stderr


# -- REST ---------------------------------------------------------------------------------------
def test_build_predict_body_is_tf_servings_columnar_json():
    body = RestClient.build_predict_body("serving_default", {"knobs": np.array([[0.5, -1.0, 0.25]], np.float32)})
    assert body == {"signature_name": "serving_default", "inputs": {"knobs": [[0.5, -1.0, 0.25]]}}
    assert type(body["inputs"]["knobs"]) is list and type(body["inputs"]["knobs"][0][0]) is float
    body = client_lib.build_predict_body(
        "traverse", {"knobs": np.zeros(3, np.float32), "knob": "size", "values": np.array([-1, 1])})
    assert body == {"signature_name": "traverse",
                    "inputs": {"knobs": [0.0, 0.0, 0.0], "knob": "size", "values": [-1.0, 1.0]}}
    assert json.loads(json.dumps(body)) == body  # plain JSON types only
    assert client_lib.build_predict_body("x", {"raw_bytes": b"\x89PNG"})["inputs"] == {"raw_bytes": {"b64": "iVBORw=="}}


def test_rest_client_against_the_rest_stand_in(export_dir, client):
    server, port = serve_rest(export_dir, "udgan")
    try:
        rest = RestClient(f"localhost:{port}", "udgan", timeout=5.0)
        assert rest.metadata() == client.metadata()
        images = rest.generate(KNOBS)  # single output: TF Serving omits its name, the client restores it
        assert images.shape == (2, 8, 8, 1) and images.dtype == np.float32
        np.testing.assert_allclose(images, client.generate(KNOBS), atol=1e-6)
        assert rest.traverse(KNOBS[0], "b", [-1.0, 1.0]).shape == (2, 8, 8, 1)
        assert {k: v.shape for k, v in rest.embed(images).items()} == {"a": (2, 1), "b": (2, 2)}
        bad = KNOBS.copy()
        bad[1, 0] = np.inf
        with pytest.raises(ServingError, match="(?s)HTTP 400.*knobs must be finite"):
            rest.generate(bad)
        with pytest.raises(ServingError, match="HTTP 404"):
            RestClient(f"http://localhost:{port}/", "nope", timeout=5.0).metadata()
    finally:
        server.shutdown()
        server.server_close()


def test_rest_closed_port():
    url = f"http://localhost:{closed_port()}"
    with pytest.raises(ServingError, match=f"cannot reach TF Serving's REST API at {url}.*8501"):
        RestClient(url, "udgan", timeout=3.0).generate(KNOBS)


# -- shipped files ----------------------------------------------------------------------------------
def test_serving_readme_python_snippet_runs(server, capsys):
    text = (REPO / "serving" / "README.md").read_text()
    code = re.search(r"<!-- snippet: client -->\s*```python\n(.*?)```", text, re.S).group(1)
    assert '"localhost:8500"' in code
    exec(compile(code.replace('"localhost:8500"', repr(server[1])), "serving/README.md", "exec"), {})
    assert capsys.readouterr().out.strip() == "(1, 8, 8, 1) 4"


def compose_service(name):
    return yaml.safe_load((REPO / "serving" / name).read_text())["services"]["udgan"]


def compose_mounts(service):
    """{container path: host path} of a compose service's volumes, resolved as docker compose does:
    ``${VAR:-default}`` with VAR unset, relative to the compose file's folder (serving/)."""
    mounts = {}
    for volume in service["volumes"]:
        source, target = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", volume).split(":")[:2]
        mounts[target] = (REPO / "serving" / source).resolve()
    return mounts


def host_path(mounts, container_path):
    (target,) = [t for t in mounts if container_path == t or container_path.startswith(t.rstrip("/") + "/")]
    return mounts[target] / os.path.relpath(container_path, target)


def flags(service):
    return dict(flag.partition("=")[::2] for flag in service["command"])


def test_the_server_configs_serve_what_the_documented_export_writes():
    """models.config and the compose files, read as TF Serving and docker compose read them, serve
    the model that serving/README.md's export command writes, under the name the client asks for."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    from udgan_tf import export

    command = re.search(r"^python -m udgan_tf\.export (.*)$", (REPO / "serving" / "README.md").read_text(), re.M)
    documented = export.build_parser().parse_args(shlex.split(command.group(1)))
    service = compose_service("docker-compose.yml")
    mounts = compose_mounts(service)
    models_config = host_path(mounts, flags(service)["--model_config_file"])
    assert models_config == REPO / "serving" / "models.config"
    config = text_format.Parse(models_config.read_text(), model_server_config_pb2.ModelServerConfig())
    (model,) = config.model_config_list.config
    assert model.name == documented.model_name == client_lib.build_parser().parse_args(["--out", "x.png"]).model
    # export_run writes <export-base>/<model-name>/<version>/; TF Serving's base_path is the folder above versions.
    assert host_path(mounts, model.base_path) == (REPO / documented.export_base / documented.model_name).resolve()
    assert model.model_platform == "tensorflow"  # what loads a SavedModel
    default_server = client_lib.build_parser().parse_args(["--out", "x.png"]).server
    assert f"{default_server.rpartition(':')[2]}:8500" in service["ports"]  # the image's gRPC port
    assert "--enable_batching" not in flags(service)  # batching would refuse traverse


def test_the_batching_config_parses_as_tf_serving_reads_it_and_admits_the_largest_export_batch():
    from google.protobuf import text_format

    from udgan_tf.serving import export as serving_export

    service = {**compose_service("docker-compose.yml"), **compose_service("docker-compose.batching.yml")}
    assert "--enable_batching" in flags(service)
    path = host_path(compose_mounts(service), flags(service)["--batching_parameters_file"])
    batching = text_format.Parse(path.read_text(), batching_parameters_message()())
    assert batching.max_batch_size.value >= serving_export.MAX_BATCH_SIZE  # else TF Serving refuses the export's largest batch
    assert batching.num_batch_threads.value >= 1 and batching.max_enqueued_batches.value >= 1
    assert not batching.pad_variable_length_inputs  # every input has fixed non-batch dimensions
