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
