"""udgan_tf.export on a tiny trained run: signatures, a fresh-process reload, a gRPC server, bad requests."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from serving_fakes import SavedModelPredictionServicer, replay_warmup, serve
from udgan_tf import config as config_lib
from udgan_tf import export, train
from udgan_tf.runs import load_model
from udgan_tf.serving.client import GrpcClient, RestClient, ServingError, build_predict_body

from conftest import TINY_KNOBS

REPO = pathlib.Path(__file__).resolve().parents[1]
NAMES = ["free_1", "free_2", "x_position", "size"]  # TINY_KNOBS expanded


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    config = config_lib.resolve_config({
        "dataset": {"name": "dsprites"},
        "model": {"knobs": TINY_KNOBS, "resolution": 16, "filters": 8, "seed": 0, "generator_ema_decay": 0.9},
        "training": {"steps": 2, "batch_size": 8, "log_every": 2, "traversal_values": 3},
    })
    train.train(config, root / "run", verbose=0)
    return root / "run"


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    return export.export_run(tiny_run, base, "udgan", max_batch_size=8)


@pytest.fixture(scope="module")
def client(exported):
    server, port = serve(exported, "udgan")
    with GrpcClient(f"localhost:{port}", "udgan", timeout=20.0) as client:
        yield client
    server.stop(None)


KNOBS = np.random.default_rng(0).uniform(-1, 1, (3, 4)).astype(np.float32)


def test_saved_model_cli_lists_every_signature_with_names_and_dtypes(exported):
    shown = subprocess.run([sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir",
                            str(exported), "--all"], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}).stdout
    for name in export.SIGNATURES:
        assert f"signature_def['{name}']" in shown
    by_knob = shown.split("signature_def['generate_by_knob']")[1].split("signature_def[")[0]
    assert all(f"inputs['{n}']" in by_knob for n in NAMES) and "outputs['images']" in by_knob
    png = shown.split("signature_def['generate_png']")[1].split("signature_def[")[0]
    assert "outputs['png_bytes']" in png and "DT_STRING" in png
    traverse = shown.split("signature_def['traverse']")[1].split("signature_def[")[0]
    assert "inputs['knob']" in traverse and "DT_STRING" in traverse and "inputs['values']" in traverse
    embed = shown.split("signature_def['embed']")[1].split("Concrete Functions")[0]
    assert all(f"outputs['{n}']" in embed for n in NAMES)


def test_knobs_json_and_versions(exported, tiny_run):
    info = json.loads((exported / "assets.extra" / "knobs.json").read_text())
    assert [k["name"] for k in info["knobs"]] == NAMES and info["value_range"] == [-1.0, 1.0]
    assert info["knobs"][3]["guidance"] == "object_size" and info["image_shape"] == [16, 16, 1]
    assert exported.name == "1"
    second = export.export_run(tiny_run, exported.parent.parent, "udgan", max_batch_size=8)
    assert second.name == "2"                          # the next free version
    with pytest.raises(export.ExportError, match="never overwritten"):
        export.export_run(tiny_run, exported.parent.parent, "udgan", version=1)
    assert not [p for p in exported.parent.iterdir() if "partial" in p.name]


RELOAD = """
import sys, numpy as np, tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
knobs = np.load(sys.argv[2])
np.save(sys.argv[3], loaded.signatures["serving_default"](knobs=tf.constant(knobs))["images"].numpy())
"""


def test_reloaded_in_a_fresh_process_matches_the_in_memory_generator(exported, tiny_run, tmp_path):
    np.save(tmp_path / "knobs.npy", KNOBS)
    subprocess.run([sys.executable, "-c", RELOAD, str(exported), str(tmp_path / "knobs.npy"),
                    str(tmp_path / "images.npy")], check=True, timeout=300,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    expected = np.asarray(load_model(tiny_run)(KNOBS))
    assert np.abs(np.load(tmp_path / "images.npy") - expected).max() <= 1e-5


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
    assert set(export.SIGNATURES) <= set(metadata)
    assert set(metadata["generate_by_knob"]["inputs"]) == set(NAMES)


@pytest.mark.parametrize("signature, inputs, message", [
    ("serving_default", {"knobs": np.full((2, 4), np.nan, np.float32)}, "knobs contain NaN or infinite values"),
    ("serving_default", {"knobs": np.zeros((2, 5), np.float32)}, "knobs must have width 4"),
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


def test_warmup_records_parse_and_replay(exported):
    assert replay_warmup(exported, SavedModelPredictionServicer(exported, "udgan")) == len(export.SIGNATURES)


def test_rest_body_is_the_documented_columnar_json():
    body = build_predict_body("serving_default", {"knobs": KNOBS[:1]})
    assert body == {"signature_name": "serving_default", "inputs": {"knobs": KNOBS[:1].tolist()}}
    assert json.dumps(body)
    assert RestClient("http://localhost:8501", "udgan").model_name == "udgan"


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


def test_a_batching_export_leaves_traverse_out_of_the_warmup(tiny_run, tmp_path):
    path = export.export_run(tiny_run, tmp_path, "udgan", batching=True)
    servicer = SavedModelPredictionServicer(path, "udgan", batching=True)
    assert replay_warmup(path, servicer) == len(export.SIGNATURES) - 1  # every record passes batching's rules
