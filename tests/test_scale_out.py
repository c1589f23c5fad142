"""Issue 6: strategies, mixed precision, resuming a killed run, stopping on a NaN loss."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import yaml

from udgan_tf import training
from udgan_tf import config as config_lib
from udgan_tf import train
from udgan_tf.runs import RunDirectory

from conftest import TINY_KNOBS

REPO = pathlib.Path(__file__).resolve().parents[1]


def write_config(path, steps, **training):
    path.write_text(yaml.safe_dump({
        "dataset": {"name": "dsprites"},
        "model": {"knobs": TINY_KNOBS, "resolution": 16, "filters": 8, "stabilisers": {"generator_ema_decay": 0.9}},
        "training": {"steps": steps, "batch_size": 4, "log_every": 2, "image_every": 1000, "checkpoint_every": 1000,
                     "backup_every_steps": 2, "traversal_values": 3, **training},
    }))
    return path


def command(config, out):
    return [sys.executable, "-m", "udgan_tf.train", "--config", str(config), "--output-dir", str(out)]


@pytest.mark.slow
def test_a_run_killed_after_a_backup_resumes_and_finishes(tmp_path):
    config, out = write_config(tmp_path / "tiny.yaml", steps=60), tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen(command(config, out), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    backup = RunDirectory(out).backup_path
    deadline = time.time() + 240
    while not backup.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert backup.exists(), "no backup was written"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert RunDirectory(out).status()["status"] == "running"

    # The backup holds every optimizer's state, not just model.optimizer's.
    resolved = config_lib.load_config(config)
    resolved["model"].setdefault("seed", resolved["training"]["seed"])
    saved = training.build_model(resolved)
    saved.load_weights(backup)
    backed_up_step = int(saved.optimizer.iterations.numpy())
    assert backed_up_step >= 2 and backed_up_step % 2 == 0
    for optimizer in (saved.generator_optimizer, saved.discriminator_optimizer, saved.siamese_optimizer):
        assert int(optimizer.iterations.numpy()) == backed_up_step
        assert any(np.abs(v.numpy()).max() > 0 for v in optimizer.variables[2:])  # Adam moments, not reset

    result = subprocess.run(command(config, out), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    resumed = int(result.stdout.split("Resumed from step ")[1].split()[0])
    assert resumed >= backed_up_step
    status = RunDirectory(out).status()
    assert status["status"] == "finished" and status["step"] == 60
    steps = [int(row.split(",")[0]) for row in RunDirectory(out).history_path.read_text().splitlines()[1:]]
    assert steps == sorted(set(steps)) and steps[-1] == 60  # no step logged twice


@pytest.mark.slow
def test_a_nan_loss_stops_training_and_keeps_the_last_backup(tmp_path, capsys, monkeypatch):
    config, out = write_config(tmp_path / "tiny.yaml", steps=8), tmp_path / "run"
    original = training.build_model

    def poisoned(resolved):
        model = original(resolved)
        discriminator_loss = model.discriminator_loss

        def nan_from_step_5(real_images, fake_images, training=True):
            d_loss, fake_logits = discriminator_loss(real_images, fake_images, training)
            return d_loss * keras.ops.where(model.optimizer.iterations >= 4, np.nan, 1.0), fake_logits

        model.discriminator_loss = nan_from_step_5
        return model

    monkeypatch.setattr(training.loop, "build_model", poisoned)
    code = train.main(["--config", str(config), "--output-dir", str(out)])
    err = capsys.readouterr().err
    assert code == 3
    assert "d_loss is nan at step 5: training stopped; the last good backup" in err
    monkeypatch.setattr(training.loop, "build_model", original)
    resolved = config_lib.load_config(config)
    resolved["model"].setdefault("seed", resolved["training"]["seed"])
    model = training.build_model(resolved)
    model.load_weights(RunDirectory(out).backup_path)
    assert int(model.optimizer.iterations.numpy()) == 4
    assert all(np.isfinite(w.numpy()).all() for w in model.weights)


@pytest.mark.parametrize("gpus", [0, 1, 2])
def test_auto_mirrors_over_the_gpus_when_there_are_several_and_one_device_takes_the_first(monkeypatch, gpus):
    import tensorflow as tf

    list_physical_devices = tf.config.list_physical_devices
    visible = [tf.config.PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(gpus)]
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: visible if kind == "GPU" else list_physical_devices(kind))
    auto = training.make_strategy("auto")
    if gpus > 1:
        assert isinstance(auto, tf.distribute.MirroredStrategy)
    else:
        assert auto is tf.distribute.get_strategy()  # the default strategy: one device, no replicas
    one_device = training.make_strategy("one_device")
    assert isinstance(one_device, tf.distribute.OneDeviceStrategy)
    assert one_device.extended.worker_devices[0].endswith("GPU:0" if gpus else "CPU:0")
    assert train.parse_args(["--strategy", "mirrored"]).strategy == "mirrored"


def test_an_unavailable_strategy_is_a_clear_error(tmp_path, capsys):
    assert train.main(["--strategy", "tpu", "--output-dir", str(tmp_path / "run")]) == 2
    assert "error: --strategy tpu is not available here" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


MIXED_FLOAT16 = """
import keras, tensorflow as tf
keras.mixed_precision.set_dtype_policy("mixed_float16")
from udgan_tf import config as config_lib
from udgan_tf.training import build_model
config = config_lib.resolve_config({"dataset": {"name": "dsprites"}, "model": {
    "knobs": [{"name": "free", "count": 2}, {"name": "x", "guidance": "center_of_mass_x"}],
    "resolution": 16, "filters": 8, "seed": 0, "stabilisers": {"siamese_hidden_units": 0}}})  # float32 proxy beside a float16 net
model = build_model(config)
assert all(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in
           (model.generator_optimizer, model.discriminator_optimizer, model.siamese_optimizer))
images = tf.random.stateless_uniform((8, 16, 16, 1), seed=(0, 1))
history = model.fit(tf.data.Dataset.from_tensors(images).repeat(), steps_per_epoch=2, verbose=0, shuffle=False)
assert all(abs(v[-1]) < 100 for v in history.history.values()), history.history
assert model.generator.weights[0].dtype == "float32" and model(model.sample_knobs(2, seed=0)).dtype == tf.float32
print("OK")
"""


@pytest.mark.slow
def test_mixed_precision_float16_wraps_every_optimizer_and_trains():
    result = subprocess.run([sys.executable, "-c", MIXED_FLOAT16], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0 and result.stdout.strip().endswith("OK"), result.stderr[-3000:]


@pytest.mark.slow
def test_mixed_precision_flag_trains_in_bfloat16_on_cpu(tmp_path):
    config, out = write_config(tmp_path / "tiny.yaml", steps=2), tmp_path / "run"
    result = subprocess.run(command(config, out) + ["--mixed-precision"], cwd=REPO, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Mixed precision: mixed_bfloat16" in result.stdout
    assert RunDirectory(out).status()["status"] == "finished"


def free_ports(count):
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.mark.slow
def test_two_workers_train_and_only_the_chief_writes(tmp_path):
    import json

    config = write_config(tmp_path / "tiny.yaml", steps=4)
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    outputs = [tmp_path / "chief_run", tmp_path / "worker_run"]
    processes = []
    for index, out in enumerate(outputs):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        processes.append(subprocess.Popen(command(config, out) + ["--strategy", "multi_worker"], cwd=REPO, env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [process.communicate(timeout=600) for process in processes]
    for process, (_, err) in zip(processes, results):
        assert process.returncode == 0, err[-3000:]
    assert RunDirectory(outputs[0]).checkpoint_path.exists()
    assert RunDirectory(outputs[0]).status()["step"] == 4
    assert not outputs[1].exists()  # worker 1 wrote into a temporary directory, now removed
