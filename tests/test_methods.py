"""model.method: which method a config trains, the keys and optimizers each one takes, and
that every method trains, checkpoints, resumes, evaluates and exports through the same code."""

import numpy as np
import pytest
import yaml

from udgan_tf import training
from udgan_tf import config as config_lib
from udgan_tf.models import registry as methods
from udgan_tf import train as train_lib
from udgan_tf.models import load_model
from udgan_tf.runs import RunDirectory

TINY = {
    "infogan": {"knobs": [{"name": "code", "count": 3}], "architecture": "infogan_cr"},
    "infogan_cr": {"knobs": [{"name": "code", "count": 3}], "architecture": "infogan_cr"},
    "beta_vae": {"knobs": [{"name": "latent", "count": 3}]},
    "udgan": {"knobs": [{"name": "free", "count": 2}, {"name": "x", "guidance": "center_of_mass_x"}]},
}


def tiny_config(method, **training):
    return config_lib.resolve_config({
        "dataset": {"name": "dsprites"},
        "model": {"method": method, "resolution": 16, "filters": 8, "seed": 1, **TINY[method]},
        "training": {"steps": 4, "batch_size": 8, "log_every": 2, "checkpoint_every": 2, "backup_every_steps": 2,
                     "image_every": 4, "traversal_values": 3, **training}})


def test_every_method_has_its_optimizers_filled_with_its_defaults():
    for name, method in methods.METHODS.items():
        config = tiny_config(name)
        assert list(config["optimizers"]) == list(method.optimizers)
    vae = tiny_config("beta_vae")["optimizers"]["autoencoder"]
    assert vae["learning_rate"] == 1e-4 and vae["beta_1"] == 0.9
    assert tiny_config("udgan")["optimizers"]["siamese"]["beta_1"] == 0.5


@pytest.mark.parametrize("model, optimizers, message", [
    ({"method": "vae"}, {}, "model.method: Unknown method 'vae'. Available methods: udgan (UD-GAN"),
    ({"method": "beta_vae", "contrastive_weight": 3}, {},
     "'model.contrastive_weight' does not apply to method 'beta_vae'. Its model keys: ['method', 'knobs'"),
    ({"method": "beta_vae", "stabilisers": {"alternating_updates": True}}, {},
     "'model.stabilisers' does not apply to method 'beta_vae'"),
    ({"method": "udgan", "beta": 4}, {}, "'model.beta' does not apply to method 'udgan'"),
    ({"method": "beta_vae"}, {"siamese": {"learning_rate": 1e-3}},
     "'optimizers.siamese' does not apply to method 'beta_vae': it has the optimizers ['autoencoder']"),
    ({"method": "infogan", "knobs": [{"name": "x", "guidance": "center_of_mass_x"}]}, {},
     "Knob 'x' has a guidance ('center_of_mass_x'): guidance does not apply to method 'infogan'"),
    ({"method": "beta_vae", "betta": 2}, {}, "Unknown key(s) ['model.betta']. Allowed model keys: ['method'"),
])
def test_an_option_of_another_method_is_an_error_naming_the_option_and_the_method(model, optimizers, message):
    with pytest.raises(config_lib.ConfigError) as error:
        config_lib.resolve_config({"model": {"knobs": [{"name": "a"}], **model}, "optimizers": optimizers})
    assert message in str(error.value)


def test_the_train_command_picks_the_methods_shipped_config_and_rejects_an_unknown_method(tmp_path, capsys):
    args = train_lib.parse_args(["--method", "beta_vae", "--steps", "5"])
    config = train_lib.build_config(args)
    assert config["model"]["method"] == "beta_vae" and config["model"]["beta"] == 4.0
    assert config["training"]["steps"] == 5
    code = train_lib.main(["--method", "gan", "--output-dir", str(tmp_path / "run")])
    assert code == 2
    assert "--method: Unknown method 'gan'. Available methods: udgan" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["infogan", "infogan_cr", "beta_vae"])
def test_a_method_trains_checkpoints_resumes_and_exports_like_udgan(tmp_path, method):
    from udgan_tf.serving.export import export_run

    run_dir = tmp_path / "run"
    model = train_lib.train(tiny_config(method, steps=2), run_dir, verbose=0)
    run = RunDirectory(run_dir)
    assert run.status()["status"] == "finished" and run.backup_path.exists()
    # Resume: the same config with more steps continues from the backup's step, not from 0.
    status = run.status()
    status["status"] = "running"
    run.write_status(**status)
    saved = yaml.safe_load(run.config_path.read_text())
    saved["training"]["steps"] = 4
    run.write_config(saved)
    resumed = train_lib.train(tiny_config(method, steps=4), run_dir, verbose=0)
    assert int(resumed.optimizer.iterations.numpy()) == 4
    assert [row.split(",")[0] for row in run.history_path.read_text().splitlines()[1:]] == ["2", "4"]
    loaded = load_model(run_dir)
    assert type(loaded) is type(model)
    knobs = np.random.RandomState(0).uniform(-1, 1, (2, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(loaded(knobs)), np.asarray(resumed(knobs)), atol=1e-5)
    embedding = np.asarray(loaded.embed(np.asarray(loaded(knobs))))
    assert embedding.shape == (2, 3)
    version = export_run(run_dir, tmp_path / "export", "tiny")
    assert (version / "saved_model.pb").exists()


@pytest.mark.slow
def test_a_time_budget_ends_the_run_finished_before_its_steps(tmp_path, capsys):
    run_dir = tmp_path / "run"
    model = train_lib.train(tiny_config("beta_vae", steps=10 ** 6, minutes=0.05, log_every=5), run_dir, verbose=0)
    assert " of 0.05 minutes" in capsys.readouterr().out   # how far, since the epoch count does not say
    status = RunDirectory(run_dir).status()
    assert status["status"] == "finished" and 0 < status["step"] < 10 ** 6
    assert int(model.optimizer.iterations.numpy()) == status["step"]
    assert RunDirectory(run_dir).checkpoint_path.exists()


class SteppingClock:
    """Stands in for the ``time`` module in ``udgan_tf.train``: every reading is 3 s later."""

    def __init__(self):
        self.now = 0.0

    def time(self):
        self.now += 3.0
        return self.now

    process_time = time


@pytest.mark.slow
def test_a_resumed_run_counts_its_earlier_minutes_and_keeps_snapshots_on_the_clock(tmp_path, monkeypatch):
    monkeypatch.setattr(training.monitor, "time", SteppingClock())
    run_dir = tmp_path / "run"
    budget = {"minutes": 1.0, "snapshot_every_minutes": 0.25, "clock": "cpu"}
    train_lib.train(tiny_config("beta_vae", steps=4, **budget), run_dir, verbose=0)
    run = RunDirectory(run_dir)
    seconds_before = run.history_seconds()
    assert 0 < seconds_before < 60
    # Resume a longer run of the same budget, as after a kill: its clock starts where the run's stopped.
    run.write_status(status="running")
    saved = yaml.safe_load(run.config_path.read_text())
    saved["training"]["steps"] = 10 ** 6
    run.write_config(saved)
    stale = run.snapshot_dir / "step-999"    # a snapshot past the backup's step is trained again
    stale.mkdir(parents=True)
    (stale / "run.json").write_text('{"step": 999}')
    model = train_lib.train(tiny_config("beta_vae", steps=10 ** 6, **budget), run_dir, verbose=0)
    seconds = [float(row.split(",")[1]) for row in run.history_path.read_text().splitlines()[1:]]
    assert seconds == sorted(seconds) and seconds[0] < seconds_before < seconds[-1]
    assert 60 <= seconds[-1] < 75                         # the budget spans both processes
    assert run.status()["status"] == "finished"
    snapshots = run.snapshots()
    assert not stale.exists()
    steps = [snapshot.status()["step"] for snapshot in snapshots]
    minutes = [snapshot.history_seconds() / 60 for snapshot in snapshots]
    assert steps == sorted(steps) and len(steps) == 4      # at 15, 30, 45 and 60 training seconds
    assert all(n * 0.25 <= m < n * 0.25 + 0.2 for n, m in zip(range(1, 5), minutes))
    assert steps[-1] == int(model.optimizer.iterations.numpy())
    assert type(load_model(snapshots[0].path)) is type(model)  # each snapshot is a run directory of its own


def test_the_cpu_clock_counts_this_process_s_cpu_time_per_core_not_the_wall():
    import time

    cpu, wall = training.TrainingClock("cpu", seconds_before=10.0), training.TrainingClock("wall")
    time.sleep(0.3)
    assert wall.seconds() >= 0.3
    assert 10.0 <= cpu.seconds() < 10.15       # sleeping takes no CPU time


@pytest.mark.parametrize("training, message", [
    ({"clock": "gpu"}, "training.clock must be one of ['wall', 'cpu']. Received: 'gpu'"),
    ({"snapshot_every_minutes": 0}, "training.snapshot_every_minutes must be a positive number of minutes (or "
                                    "null: no snapshots). Received: 0"),
])
def test_a_bad_clock_or_snapshot_interval_is_an_error_naming_the_key(training, message):
    with pytest.raises(config_lib.ConfigError) as error:
        tiny_config("beta_vae", **training)
    assert message in str(error.value)
