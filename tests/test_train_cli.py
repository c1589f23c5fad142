"""The command line and config errors, and a tiny end-to-end training run."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import yaml
from PIL import Image

from udgan_tf import config as config_lib
from udgan_tf import train
from udgan_tf.data.fake import write_fake_mnist
from udgan_tf.models import load_model
from udgan_tf.runs import RunDirectory

from conftest import MNIST_DIR, TINY_KNOBS, needs_real_mnist

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({
        "dataset": {"name": "dsprites"},
        "model": {"knobs": TINY_KNOBS, "resolution": 16, "filters": 8, "stabilisers": {"discriminator_spectral_norm": True}},
        "training": {"steps": 3, "batch_size": 4, "log_every": 2, "image_every": 2, "checkpoint_every": 2,
                     "traversal_values": 5},
    }))
    return path


def run_cli(capsys, *argv):
    code = train.main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.slow
def test_tiny_run_writes_a_complete_run_directory(tmp_path, tiny_config_file, capsys):
    out = tmp_path / "run"
    code, err = run_cli(capsys, "--config", str(tiny_config_file), "--output-dir", str(out))
    assert code == 0, err
    run = RunDirectory(out)
    assert run.status()["status"] == "finished" and run.status()["step"] == 3  # 2 + remainder 1
    assert run.checkpoint_path.exists() and list(run.log_dir.glob("events.out.tfevents.*"))
    assert yaml.safe_load(run.config_path.read_text())["training"]["steps"] == 3
    rows = run.history_path.read_text().splitlines()
    assert rows[0].startswith("step,seconds,") and [r.split(",")[0] for r in rows[1:]] == ["2", "3"]
    png = Image.open(run.traversal_path)
    assert png.size[0] > 200 and png.size[1] > 200  # labelled grid: 4 knob rows x 5 values
    model = load_model(out)
    images = np.asarray(model(model.sample_knobs(2, seed=0)))
    assert images.shape == (2, 16, 16, 1)


@pytest.mark.slow
def test_finished_run_is_not_overwritten_silently(tmp_path, tiny_config_file, capsys):
    out = tmp_path / "run"
    assert run_cli(capsys, "--config", str(tiny_config_file), "--output-dir", str(out))[0] == 0
    before = RunDirectory(out).checkpoint_path.read_bytes()
    code, err = run_cli(capsys, "--config", str(tiny_config_file), "--output-dir", str(out))
    assert code == 2
    assert "already holds a finished run (3 steps)" in err and "--overwrite" in err
    assert RunDirectory(out).checkpoint_path.read_bytes() == before
    assert run_cli(capsys, "--config", str(tiny_config_file), "--output-dir", str(out), "--overwrite")[0] == 0


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "mnist3d"], "Unknown dataset 'mnist3d'"),
    (["--set", "model.contrastive_wieght=3"], "Unknown key(s) ['model.contrastive_wieght']. Allowed model keys: ["),
    (["--set", "training.stepz=3"], "Allowed training keys: ['steps'"),
    (["--set", "model.knobs=[{name: x, guidance: center_of_mas_x}]"], "Unknown guidance 'center_of_mas_x'. Registered:"),
    (["--steps", "0"], "training.steps must be a positive integer. Received: 0"),
    (["--minutes", "0"], "training.minutes must be a positive number of minutes (or null: no limit). Received: 0"),
    (["--batch-size", "-2"], "training.batch_size must be a positive integer. Received: -2"),
    (["--batch-size", "2"], "training.batch_size=2 makes no quartet: it must be >= model.stabilisers.real_images_per_quartet=4"),
    (["--set", "model.resolution=48"], "resolution must be a power of two >= 16. Received: resolution=48"),
    (["--set", "model.resolution=128"], "resolution must be one of (64, 32, 16)"),
    (["--set", "model.channels=3"], "set model.resolution / model.channels to match"),
    (["--set", "dataset.colour=red"], "Unknown option(s) 'colour' for dataset 'dsprites'"),
    (["--set", "nonsense"], "must look like section.key=value"),
    (["--config", "no/such.yaml"], "Config file 'no/such.yaml' does not exist"),
    (["--data-dir", "/data"], "Unknown option(s) 'data_dir' for dataset 'dsprites'"),
    (["--dataset", "colored_mnist", "--set", "model.resolution=64"], "resolution 64 is not supported: use at most 32"),
    (["--dataset", "celeba_a", "--set", "model.resolution=256"], "resolution 256 would upsample them"),
    (["--dataset", "image_folder"], "image_folder needs a folder: pass --data-dir DIR"),
    (["--dataset", "colored_mnist", "--data-dir", "/nonexistent"], "MNIST files not found in /nonexistent: "
                                                                   "train-images-idx3-ubyte"),
])
def test_bad_input_fails_before_training_with_a_message(tmp_path, capsys, argv, message):
    out = tmp_path / "run"
    code, err = run_cli(capsys, *argv, "--output-dir", str(out))
    assert code == 2
    assert message in err
    assert not out.exists()  # nothing written for a run that never started


def test_unknown_dataset_lists_the_available_ones(capsys, tmp_path):
    code, err = run_cli(capsys, "--dataset", "mnist3d", "--output-dir", str(tmp_path / "r"))
    assert "Available: celeba_a, colored_mnist, dsprites, image_folder, mnist" in err


def test_shipped_configs_validate():
    for name in ["dsprites", "dsprites_unguided", "celeba_a", "colored_mnist", "mnist", "image_folder"]:
        config = config_lib.load_config(config_lib.config_path_for(name))
        assert config["dataset"]["name"] in {"dsprites", "celeba_a", "colored_mnist", "mnist", "image_folder"}
    paper = config_lib.load_config(config_lib.config_path_for("dsprites_paper"))
    knobs = paper["model"]["knobs"]
    assert knobs[0] == {"name": "free", "count": 7} and [k.get("guidance") for k in knobs[1:]] == [
        "center_of_mass_x", "center_of_mass_y", "object_size"]
    assert paper["model"]["contrastive_weight"] == 5.0
    # The shipped recipe keeps the paper's knobs; its size knob measures size as area.
    shipped = config_lib.load_config(config_lib.config_path_for("dsprites"))["model"]["knobs"]
    assert [(k["name"], k.get("guidance")) for k in shipped] == [
        ("free", None), ("x_position", "center_of_mass_x"), ("y_position", "center_of_mass_y"),
        ("size", "object_area")]


def test_config_override_values_are_parsed_as_yaml():
    config = config_lib.load_config(config_lib.config_path_for("dsprites"),
                                    ["model.contrastive_weight=2.5", "optimizers.generator.learning_rate=1e-4",
                                     "model.stabilisers.discriminator_spectral_norm=false"])
    assert config["model"]["contrastive_weight"] == 2.5
    assert config["optimizers"]["generator"]["learning_rate"] == 1e-4
    assert config["model"]["stabilisers"]["discriminator_spectral_norm"] is False
    assert json.dumps(config)  # plain data, serialisable into the run directory


@pytest.mark.slow
def test_colored_mnist_from_idx_files_trains_and_writes_its_traversal(tmp_path, capsys):
    write_fake_mnist(tmp_path / "mnist", list(range(10)) * 2)
    out = tmp_path / "run"
    code, err = run_cli(capsys, "--dataset", "colored_mnist", "--data-dir", str(tmp_path / "mnist"), "--steps", "2",
                        "--set", "model.filters=8", "--set", "training.log_every=1", "--output-dir", str(out))
    assert code == 0, err
    assert RunDirectory(out).traversal_path.exists()
    assert yaml.safe_load(RunDirectory(out).config_path.read_text())["dataset"]["data_dir"] == str(tmp_path / "mnist")


def run_module(*argv, env=None, timeout=600):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, "-m", "udgan_tf.train", *argv], capture_output=True, text=True,
                          timeout=timeout, env=environment, cwd=REPO)


@pytest.mark.slow
def test_celeba_without_the_data_prints_what_to_do_and_exits_non_zero(tmp_path):
    """The exact command of the issue, on a machine without CelebA (an empty TFDS directory)."""
    result = run_module("--dataset", "celeba_a", "--output-dir", str(tmp_path / "run"),
                        env={"TFDS_DATA_DIR": str(tmp_path / "tfds")})
    assert result.returncode == 2
    assert "error: CelebA not found" in result.stderr and "--data-dir /path/to/celeba" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
@needs_real_mnist
def test_colored_mnist_on_the_real_test_set_for_20_steps(tmp_path):
    """The issue's acceptance command, on the real MNIST files when the workplace has them."""
    out = tmp_path / "run"
    result = run_module("--dataset", "colored_mnist", "--data-dir", str(MNIST_DIR), "--steps", "20",
                        "--output-dir", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    assert Image.open(RunDirectory(out).traversal_path).size[0] > 200
