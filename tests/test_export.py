"""udgan_tf.export on a tiny trained run: signatures, a fresh-process reload, a gRPC server, bad requests."""

import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from serving_fakes import SavedModelPredictionServicer, replay_warmup, serve
from udgan_tf.serving import export as serving_export
from udgan_tf import config as config_lib
from udgan_tf import export, train
from udgan_tf.knobs import parse_knobs
from udgan_tf.models import load_model
from udgan_tf.serving import signatures as contract
from udgan_tf.serving.client import GrpcClient, RestClient, ServingError, build_predict_body

from conftest import TINY_KNOBS

REPO = pathlib.Path(__file__).resolve().parents[1]
NAMES = ["free_1", "free_2", "x_position", "size"]  # TINY_KNOBS expanded


# Every test that uses this run is marked slow: training and exporting it take about 15 s.
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    config = config_lib.resolve_config({
        "dataset": {"name": "dsprites"},
        "model": {"knobs": TINY_KNOBS, "resolution": 16, "filters": 8, "seed": 0, "stabilisers": {"generator_ema_decay": 0.9}},
        "training": {"steps": 2, "batch_size": 8, "log_every": 2, "traversal_values": 3},
    })
    train.train(config, root / "run", verbose=0)
    return root / "run"


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    return serving_export.export_run(tiny_run, base, "udgan", max_batch_size=8)


@pytest.fixture(scope="module")
def client(exported):
    server, port = serve(exported, "udgan")
    with GrpcClient(f"localhost:{port}", "udgan", timeout=20.0) as client:
        yield client
    server.stop(None)


KNOBS = np.random.default_rng(0).uniform(-1, 1, (3, 4)).astype(np.float32)


def shown_signatures(export_dir):
    """``saved_model_cli show --all``, parsed: {signature: {(inputs|outputs, key): (dtype, shape)}}."""
    shown = subprocess.run([sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir",
                            str(export_dir), "--all"], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, check=True).stdout
    blocks = re.findall(r"signature_def\['(\w+)'\]:(.*?)(?=signature_def\[|Concrete Functions|\Z)", shown, re.S)
    tensor = r"(inputs|outputs)\['(\w+)'\] tensor_info:\s+dtype: (\w+)\s+shape: (.+)"
    return {name: {(kind, key): (dtype, shape) for kind, key, dtype, shape in re.findall(tensor, block)}
            for name, block in blocks}


@pytest.mark.slow
def test_saved_model_cli_shows_every_signature_with_its_declared_shapes(exported):
    shown = shown_signatures(exported)
    z = 4  # TINY_KNOBS: free_1, free_2, x_position, size
    assert set(contract.SIGNATURES) <= set(shown)
    images = ("DT_FLOAT", "(-1, 16, 16, 1)")
    assert shown[contract.SERVING_DEFAULT] == {("inputs", contract.KNOBS): ("DT_FLOAT", f"(-1, {z})"),
                                               ("outputs", contract.IMAGES): images}
    assert shown[contract.GENERATE_BY_KNOB] == {**{("inputs", n): ("DT_FLOAT", "(-1, 1)") for n in NAMES},
                                                ("outputs", contract.IMAGES): images}
    assert shown[contract.GENERATE_PNG] == {("inputs", contract.KNOBS): ("DT_FLOAT", f"(-1, {z})"),
                                            ("outputs", contract.PNG_BYTES): ("DT_STRING", "(-1)")}
    assert shown[contract.TRAVERSE] == {("inputs", contract.KNOBS): ("DT_FLOAT", f"({z})"),
                                        ("inputs", contract.KNOB): ("DT_STRING", "()"),
                                        ("inputs", contract.VALUES): ("DT_FLOAT", "(-1)"),
                                        ("outputs", contract.IMAGES): images}
    assert shown[contract.EMBED] == {("inputs", contract.IMAGES): images,
                                     **{("outputs", n): ("DT_FLOAT", "(-1, 1)") for n in NAMES}}


@pytest.mark.slow
def test_knobs_json_and_versions(exported, tiny_run):
    info = json.loads((exported / "assets.extra" / "knobs.json").read_text())
    assert [k["name"] for k in info["knobs"]] == NAMES and info["value_range"] == [-1.0, 1.0]
    assert info["knobs"][3]["guidance"] == "object_size" and info["knobs"][0]["guidance"] is None
    assert parse_knobs(info["knobs"]) == load_model(tiny_run).knobs  # the model's knobs, as its config gives them
    assert info["image_shape"] == [16, 16, 1] and info["signatures"] == list(contract.SIGNATURES)
    assert exported.name == "1"
    second = serving_export.export_run(tiny_run, exported.parent.parent, "udgan", max_batch_size=8)
    assert second.name == "2"                          # the next free version
    with pytest.raises(serving_export.ExportError, match="never overwritten"):
        serving_export.export_run(tiny_run, exported.parent.parent, "udgan", version=1)
    assert not [p for p in exported.parent.iterdir() if "partial" in p.name]


RELOAD = """
import sys, numpy as np, tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
knobs = np.load(sys.argv[2])
np.save(sys.argv[3], loaded.signatures["serving_default"](knobs=tf.constant(knobs))["images"].numpy())
"""


@pytest.mark.slow
def test_reloaded_in_a_fresh_process_matches_the_in_memory_generator(exported, tiny_run, tmp_path):
    np.save(tmp_path / "knobs.npy", KNOBS)
    subprocess.run([sys.executable, "-c", RELOAD, str(exported), str(tmp_path / "knobs.npy"),
                    str(tmp_path / "images.npy")], check=True, timeout=300,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    expected = np.asarray(load_model(tiny_run)(KNOBS))
    assert np.abs(np.load(tmp_path / "images.npy") - expected).max() <= 1e-5


@pytest.mark.slow
def test_every_signature_over_grpc(client, tiny_run):
    model = load_model(tiny_run)
    images = client.generate(KNOBS)
    np.testing.assert_allclose(images, np.asarray(model(KNOBS)), atol=1e-5)
    by_knob = client.generate_by_knob(free_1=KNOBS[:, :1], free_2=KNOBS[:, 1:2], x_position=KNOBS[:, 2:3],
                                      size=KNOBS[:, 3:])
    np.testing.assert_allclose(by_knob, images, atol=1e-6)
    pngs = client.generate_png(KNOBS)
    assert len(pngs) == 3 and all(p.startswith(b"\x89PNG") for p in pngs)
    swept = client.traverse(KNOBS[0], "size", np.array([-1.0, 0.0, 1.0], np.float32))
    grid = np.repeat(KNOBS[:1], 3, axis=0)
    grid[:, 3] = [-1.0, 0.0, 1.0]
    np.testing.assert_allclose(swept, np.asarray(model(grid)), atol=1e-5)
    embedding = client.embed(images)
    assert set(embedding) == set(NAMES) and embedding["size"].shape == (3, 1)
    np.testing.assert_allclose(np.concatenate([embedding[n] for n in NAMES], 1), np.asarray(model.embed(images)),
                               atol=1e-4)
    metadata = client.metadata()
    assert set(contract.SIGNATURES) <= set(metadata)
    assert set(metadata[contract.GENERATE_BY_KNOB]["inputs"]) == set(NAMES)
    assert metadata[contract.SERVING_DEFAULT]["inputs"][contract.KNOBS]["shape"] == [None, 4]


@pytest.mark.slow
@pytest.mark.parametrize("signature, inputs, message", [
    ("serving_default", {"knobs": np.full((2, 4), np.nan, np.float32)}, "knobs contain NaN or infinite values"),
    # Shapes that do not match the declared ones reach the graph (TF Serving does not check them): its checks answer.
    ("serving_default", {"knobs": np.zeros((2, 5), np.float32)}, "knobs must have width 4"),
    ("generate_png", {"knobs": np.zeros((2, 3), np.float32)}, "knobs must have width 4"),
    ("generate_by_knob", {"free_1": np.zeros((1, 1), np.float32), "free_2": np.zeros((1, 1), np.float32),
                          "x_position": np.zeros((1, 1), np.float32), "size": np.zeros((1, 2), np.float32)},
     "knobs must have width 4"),
    ("traverse", {"knobs": np.zeros(5, np.float32), "knob": "size", "values": np.zeros(2, np.float32)},
     "knobs must have width 4"),
    ("embed", {"images": np.zeros((2, 8, 8, 1), np.float32)}, "images must have shape [batch, 16, 16, 1]"),
    ("serving_default", {"knobs": np.zeros((9, 4), np.float32)}, "batch larger than max_batch_size 8"),
    ("traverse", {"knobs": np.zeros(4, np.float32), "knob": "colour", "values": np.zeros(2, np.float32)},
     "unknown knob name"),
    ("generate_png", {"knobs": np.full((1, 4), np.inf, np.float32)}, "knobs contain NaN or infinite values"),
])
def test_bad_requests_are_invalid_argument_and_the_server_keeps_serving(client, signature, inputs, message):
    with pytest.raises(ServingError, match="INVALID_ARGUMENT") as error:
        client.predict(signature, inputs)
    assert message in str(error.value)
    assert client.generate(KNOBS[:1]).shape == (1, 16, 16, 1)


@pytest.mark.slow
def test_warmup_records_parse_and_replay(exported):
    assert replay_warmup(exported, SavedModelPredictionServicer(exported, "udgan")) == len(contract.SIGNATURES)


def test_rest_body_is_the_documented_columnar_json():
    body = build_predict_body("serving_default", {"knobs": KNOBS[:1]})
    assert body == {"signature_name": "serving_default", "inputs": {"knobs": KNOBS[:1].tolist()}}
    assert json.dumps(body)
    assert RestClient("http://localhost:8501", "udgan").model_name == "udgan"


@pytest.mark.slow
def test_export_cli_errors(tiny_run, tmp_path, capsys):
    untrained = tmp_path / "untrained"
    untrained.mkdir()
    (untrained / "config.yaml").write_text((tiny_run / "config.yaml").read_text())
    assert export.main(["--run-dir", str(untrained), "--export-base", str(tmp_path / "e"), "--model-name", "m"]) == 2
    assert "has no checkpoint" in capsys.readouterr().err and not (tmp_path / "e" / "m" / "1").exists()
    assert export.main(["--run-dir", str(tmp_path), "--export-base", str(tmp_path / "e"), "--model-name", "m"]) == 2
    assert "is not a run directory" in capsys.readouterr().err
    assert export.main(["--run-dir", str(tmp_path), "--export-base", str(tmp_path / "e"), "--model-name", "a b"]) == 2
    assert "--model-name must be" in capsys.readouterr().err


@pytest.mark.slow
def test_a_batching_export_leaves_traverse_out_of_the_warmup(tiny_run, tmp_path):
    path = serving_export.export_run(tiny_run, tmp_path, "udgan", batching=True)
    servicer = SavedModelPredictionServicer(path, "udgan", batching=True)
    assert replay_warmup(path, servicer) == len(contract.SIGNATURES) - 1  # every record passes batching's rules
