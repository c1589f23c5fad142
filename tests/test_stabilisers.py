"""The training tricks as one validated object, and runs written before it existed."""

import pathlib
import shutil

import numpy as np
import pytest

from udgan_tf import config as config_lib
from udgan_tf.models.stabilisers import Stabilisers, StabiliserError, upgrade_flat_model_config

LEGACY_RUN = pathlib.Path(__file__).parent / "data" / "legacy_flat_run"


def test_defaults_are_the_paper_and_the_config_round_trips():
    paper = Stabilisers()
    assert not paper.alternating_updates and paper.generator_ema_decay == 0.0
    assert paper.real_images_per_quartet == 1 and paper.discriminator_normalization == "none"
    tricks = Stabilisers.from_config({"alternating_updates": True, "generator_ema_decay": 0.999})
    assert Stabilisers.from_config(tricks.to_config()) == tricks
    assert Stabilisers.from_config(None) == Stabilisers.from_config({}) == paper


@pytest.mark.parametrize("section, message", [
    ({"alternating_update": True}, "Unknown key(s) ['model.stabilisers.alternating_update']. Allowed stabiliser "
                                   "keys: ['discriminator_spectral_norm', "),
    ({"alternating_updates": "yes"}, "model.stabilisers.alternating_updates must be true or false. Received: 'yes'"),
    ({"siamese_hidden_units": -1}, "model.stabilisers.siamese_hidden_units must be an integer >= 0. Received: -1"),
    ({"discriminator_r1_weight": -1}, "model.stabilisers.discriminator_r1_weight must be a number >= 0. Received: -1"),
    ({"discriminator_minibatch_stddev": 1}, "model.stabilisers.discriminator_minibatch_stddev must be true or false. "
                                            "Received: 1"),
    ([1, 2], "model.stabilisers must be a mapping of ['discriminator_spectral_norm', "),
])
def test_a_bad_section_names_the_key_and_the_allowed_values(section, message):
    with pytest.raises(StabiliserError) as error:
        Stabilisers.from_config(section)
    assert message in str(error.value)


@pytest.mark.parametrize("override, message", [
    ("model.alternating_updates=true",
     "Unknown key(s) ['model.alternating_updates']. Allowed model keys: ['method', 'knobs', 'resolution', 'channels', "
     "'filters', 'architecture', 'contrastive_weight', 'knob_sampling', 'stabilisers', 'seed']. "
     "model.alternating_updates is now model.stabilisers.alternating_updates."),
    ("model.r1_weight=1", "model.r1_weight is now model.stabilisers.discriminator_r1_weight."),
    ("model.instance_noise=0.1", "model.instance_noise was removed (it never helped; BENCHMARKS.md, "
                                 "'Removed options')."),
    ("model.stabilisers.generator_ema_decay=2", "model.stabilisers.generator_ema_decay must be in [0, 1). "
                                                "Received: 2"),
    ("model.stabilisers.instance_noise=0.1", "Unknown key(s) ['model.stabilisers.instance_noise']"),
])
def test_a_config_with_a_bad_or_moved_key_is_an_error_that_says_where_it_went(override, message):
    with pytest.raises(config_lib.ConfigError) as error:
        config_lib.load_config(config_lib.config_path_for("dsprites"), [override])
    assert message in str(error.value)


def test_a_flat_model_section_moves_into_stabilisers_and_removed_options_that_were_off_are_dropped():
    flat = {"knobs": [{"name": "free"}], "spectral_norm": True, "alternating_updates": True, "gan_loss":
            "non_saturating", "output_activation": "sigmoid", "r1_weight": 0.5, "discriminator_blur_steps": 100}
    assert upgrade_flat_model_config(flat) == {
        "knobs": [{"name": "free"}],
        "stabilisers": {"discriminator_spectral_norm": True, "alternating_updates": True,
                        "discriminator_r1_weight": 0.5}}
    new = {"knobs": [{"name": "free"}], "stabilisers": {"alternating_updates": True}}
    assert upgrade_flat_model_config(new) == new


@pytest.mark.parametrize("key, value", [("gan_loss", "hinge"), ("instance_noise", 0.1), ("output_activation", "clip"),
                                        ("discriminator_blur", 2.0)])
def test_a_run_that_used_a_removed_option_is_refused_by_name(key, value):
    with pytest.raises(StabiliserError, match=f"model.{key}={value!r}: this option was removed"):
        upgrade_flat_model_config({"knobs": [{"name": "free"}], key: value})


def test_a_run_directory_with_the_old_flat_config_loads_with_its_weights():
    """tests/data/legacy_flat_run was trained by the code before the stabilisers section
    (commit 1d0c1cd: flat model keys, generator EMA, alternating updates, ...); it must
    rebuild the same networks and draw the same images."""
    import udgan_tf

    assert "alternating_updates" in config_lib.parse_yaml((LEGACY_RUN / "config.yaml").read_text())["model"]
    model = udgan_tf.load_model(LEGACY_RUN)
    assert model.stabilisers == Stabilisers(
        discriminator_spectral_norm=True, discriminator_normalization="batch", generator_normalization="batch",
        alternating_updates=True, real_images_per_quartet=2, generator_ema_decay=0.9, siamese_spectral_norm=True,
        siamese_hidden_units=0)
    expected = np.load(LEGACY_RUN / "expected_outputs.npz")
    np.testing.assert_allclose(np.asarray(model(expected["knobs"])), expected["images"], atol=1e-6)
    np.testing.assert_allclose(np.asarray(model.embed(expected["images"])), expected["embeddings"], atol=1e-5)


@pytest.mark.slow
def test_a_run_directory_with_the_old_flat_config_evaluates(tmp_path):
    from udgan_tf.evaluate import evaluate

    run = shutil.copytree(LEGACY_RUN, tmp_path / "run")
    results = evaluate(run, requested="mig,correlations", num_points=200)
    assert 0.0 <= results["metrics"]["mig"]["discrete_mig"] <= 1.0
    assert results["correlations"]["embedding_names"] == ["free_1", "free_2", "x_position", "size"]
    assert (run / "evaluation" / "report.md").exists()
