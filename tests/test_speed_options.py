"""The speed settings of the training section (BENCHMARKS.md, "Speed options"): each trains a tiny
model to the losses the default gives, and a bad value is refused naming the key."""

import numpy as np
import pytest

from udgan_tf import config as config_lib
from udgan_tf.training import build_dataset, build_model

from conftest import TINY_KNOBS


def tiny(**training):
    return config_lib.resolve_config({
        "dataset": {"name": "dsprites"},
        "model": {"knobs": TINY_KNOBS, "resolution": 16, "filters": 8, "seed": 0},
        "training": {"batch_size": 8, "seed": 0, **training}})


def losses_of(config, steps=4):
    """The loss trackers after ``steps`` of ``fit`` from the same weights, draws and data."""
    import keras

    keras.utils.set_random_seed(0)
    _, dataset = build_dataset(config)
    model = build_model(config)
    history = model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return {name: values[-1] for name, values in history.history.items()}


@pytest.mark.slow
def test_steps_per_execution_trains_to_the_losses_of_the_default():
    default, fast = losses_of(tiny()), losses_of(tiny(steps_per_execution=2))
    assert default.keys() == fast.keys()
    for name in default:
        assert fast[name] == pytest.approx(default[name], rel=1e-4, abs=1e-6), name


@pytest.mark.slow
def test_an_xla_compiled_step_gives_the_losses_and_weights_of_the_default_on_the_same_draws():
    """Not through ``fit``: XLA draws other random numbers (its own generator), so a step is
    compared on the same quartets, from the same weights."""
    import tensorflow as tf

    from udgan_tf.models.stabilisers import alternating_step

    _, dataset = build_dataset(tiny())
    default, compiled = build_model(tiny()), build_model(tiny(jit_compile=True))
    compiled.set_weights(default.get_weights())
    real = next(iter(dataset))
    quartets = default.sample_quartets(2)
    ours = tf.function(alternating_step, jit_compile=True)(compiled, real, quartets)
    theirs = tf.function(alternating_step)(default, real, quartets)
    for name in ("d_loss", "g_loss", "contrastive_loss"):
        assert float(ours[name]) == pytest.approx(float(theirs[name]), rel=1e-3, abs=1e-5), name
    for a, b in zip(compiled.trainable_weights, default.trainable_weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-4, err_msg=a.path)
    assert np.isfinite(list(losses_of(tiny(jit_compile=True), steps=2).values())).all()


@pytest.mark.parametrize("key, value, message", [
    ("jit_compile", "yes", "training.jit_compile must be true or false. Received: 'yes'"),
    ("mixed_precision", 1, "training.mixed_precision must be true or false. Received: 1"),
    ("steps_per_execution", 0, "training.steps_per_execution must be a positive integer. Received: 0"),
])
def test_a_bad_speed_setting_is_refused_naming_the_key(key, value, message):
    with pytest.raises(config_lib.ConfigError, match=message):
        tiny(**{key: value})


MIRRORED_OPTIONS = """
import csv, json, sys, tempfile
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from udgan_tf import config as config_lib
from udgan_tf.training import train
options = json.loads(sys.argv[1])
config = config_lib.resolve_config({
    "dataset": {"name": "dsprites"},
    "model": {"knobs": [{"name": "free", "count": 2}, {"name": "size", "guidance": "object_area"}],
              "resolution": 16, "filters": 8, "seed": 0, "architecture": "dcgan",
              "stabilisers": {"alternating_updates": True, "generator_normalization": "batch",
                              **options.pop("stabilisers", {})}},
    "training": {"batch_size": 8, "seed": 0, "steps": 4, "log_every": 2, "checkpoint_every": 4, **options}})
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with tempfile.TemporaryDirectory() as out:
    model = train(config, out + "/run", verbose=0, strategy=strategy)
    with open(out + "/run/history.csv") as file:
        rows = list(csv.DictReader(file))
assert int(model.optimizer.iterations.numpy()) == 4, int(model.optimizer.iterations.numpy())
assert rows and all(np.isfinite(float(value)) for row in rows for key, value in row.items() if key.endswith("loss")), rows
print("OK")
"""


@pytest.mark.slow
@pytest.mark.parametrize("options", [{"mixed_precision": True}, {"stabilisers": {"generator_steps": 2}}],
                         ids=["mixed_precision", "generator_steps"])
def test_a_speed_option_trains_under_mirrored_strategy_on_two_devices(options):
    """What a multi-GPU user gets (issue 27): the option trains under MirroredStrategy, here on
    two logical CPU devices, and the step counter counts steps."""
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", MIRRORED_OPTIONS, json.dumps(options)], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0 and result.stdout.strip().endswith("OK"), result.stderr[-3000:]


@pytest.mark.parametrize("key, value", [("jit_compile", True), ("steps_per_execution", 2)])
def test_an_option_that_fails_with_several_replicas_is_refused_before_training(key, value, tmp_path):
    """XLA and steps_per_execution > 1 fail inside TensorFlow under MirroredStrategy (measured on two
    logical CPU devices): the run stops before it starts, naming the key and the fix."""
    from unittest import mock

    from udgan_tf.training import train

    strategy = mock.Mock(num_replicas_in_sync=2)
    with pytest.raises(config_lib.ConfigError, match=f"training.{key}={value!r} does not run with 2 replicas"):
        train(tiny(**{key: value}), tmp_path / "run", strategy=strategy)
    assert not (tmp_path / "run").exists()
