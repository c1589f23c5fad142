"""The settings that make InfoGAN-CR's own dSprites recipe expressible here
(configs/dsprites_infogan_cr_reference.yaml): noise knobs, Q's hidden layer, G's second
update, DCGAN's initialisation and the reference generator."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

from udgan_tf import config as config_lib
from udgan_tf.models import InfoGAN, UDGAN
from udgan_tf.models import registry
from udgan_tf.models.infogan_cr import InfoGANCR
from udgan_tf.models.stabilisers import StabiliserError, Stabilisers
from udgan_tf.networks import ConvEncoder, Generator

CODES_AND_NOISE = [{"name": "code", "count": 3}, {"name": "noise", "count": 2, "embedding_dim": 0}]


def real_batches(batch=4, resolution=16):
    images = tf.random.stateless_uniform((batch, resolution, resolution, 1), seed=(0, 1))
    return tf.data.Dataset.from_tensors(images).repeat()


def tiny(cls, knobs=CODES_AND_NOISE, **kwargs):
    return cls(knobs=knobs, resolution=16, filters=8, seed=0, **kwargs)


def test_q_predicts_the_codes_and_not_the_noise():
    model = tiny(InfoGAN, q_hidden_units=16)
    knobs = model.sample_knobs(6)
    assert knobs.shape == (6, 5)                                  # G reads codes and noise
    images = model(knobs)
    assert model.embed(images).shape == (6, 3)                    # Q predicts the 3 codes
    np.testing.assert_array_equal(model.codes_of(knobs), knobs[:, :3])
    # The mutual-information loss does not see the noise columns.
    fake_outputs = model.discriminator_outputs(images)
    moved_noise = tf.concat([knobs[:, :3], -knobs[:, 3:]], axis=1)
    assert float(model.generator_losses(fake_outputs, knobs)["info_loss"]) == pytest.approx(
        float(model.generator_losses(fake_outputs, moved_noise)["info_loss"]))


def test_q_hidden_layer_is_a_head_of_its_own_trained_with_d():
    model = tiny(InfoGAN, q_hidden_units=16, stabilisers={"discriminator_spectral_norm": True})
    assert model.discriminator.output_dim == 1                    # D's logit only; Q reads D's FC layer
    assert model.representation_networks == [model.discriminator, model.q_head]
    assert [type(layer).__name__ for layer in model.q_head.layers] == [
        "SpectralNormalization", "LeakyReLU", "SpectralNormalization"]
    model.compile()
    _, variables = model.update_plan()["discriminator_objective"]
    assert {v.path for v in model.q_head.trainable_variables} <= {v.path for v in variables}
    before = [w.numpy().copy() for w in model.q_head.weights]
    model.fit(real_batches(), steps_per_epoch=1, verbose=0)
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(before, model.q_head.weights))


def test_contrastive_pairs_share_the_noise_and_one_code():
    model = tiny(InfoGANCR)
    model.compile()
    assert model.contrastive_network.output_dim == 3              # H tells the 3 codes apart
    sample = model.sample_step(64)
    first, second = np.split(sample["pair_codes"].numpy(), 2)
    np.testing.assert_array_equal(first[:, 3:], second[:, 3:])   # the noise: the same in both images
    shared = sample["shared_code"].numpy()
    assert set(shared) <= {0, 1, 2}
    rows = np.arange(64)
    np.testing.assert_array_equal(first[rows, shared], second[rows, shared])
    others = np.ones((64, 3), bool)
    others[rows, shared] = False
    assert np.all(first[:, :3][others] != second[:, :3][others])


@pytest.mark.parametrize("cls", [InfoGAN, InfoGANCR])
def test_a_model_of_noise_only_is_refused(cls):
    with pytest.raises(ValueError, match="needs at least"):
        tiny(cls, knobs=[{"name": "noise", "count": 3, "embedding_dim": 0}])


def test_udgan_refuses_a_knob_without_embedding_naming_it():
    with pytest.raises(ValueError, match="knob 'noise_1' has embedding_dim 0: every knob of method 'udgan'"):
        UDGAN(knobs=CODES_AND_NOISE, resolution=16, filters=8)


def test_generator_steps_need_alternating_updates():
    with pytest.raises(StabiliserError, match="generator_steps > 1 needs alternating_updates: true"):
        Stabilisers.from_config({"generator_steps": 2})
    with pytest.raises(StabiliserError, match="generator_steps must be a positive integer. Received: 0"):
        Stabilisers.from_config({"generator_steps": 0, "alternating_updates": True})
    with pytest.raises(StabiliserError, match="weight_init must be one of"):
        Stabilisers.from_config({"weight_init": "he"})


def build(cls, steps, **extra):
    keras.utils.set_random_seed(7)
    model = tiny(cls, knobs=[{"name": "code", "count": 3}], stabilisers={"alternating_updates": True,
                                                                        "generator_steps": steps}, **extra)
    model.compile()
    return model


@pytest.mark.parametrize("cls, extra", [(InfoGAN, {}), (InfoGANCR, {"cr_weight_start": 1.0})])
def test_a_second_generator_update_moves_g_again_and_counts_one_step(cls, extra):
    once, twice = build(cls, 1, **extra), build(cls, 2, **extra)
    for model in (once, twice):
        model.fit(real_batches(), steps_per_epoch=1, verbose=0)
        assert int(model.optimizer.iterations.numpy()) == 1       # steps, not G updates
    # D stepped once on the same images in both; G once more in the second.
    for a, b in zip(once.discriminator.weights, twice.discriminator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    assert any(not np.allclose(a.numpy(), b.numpy(), atol=1e-6)
               for a, b in zip(once.generator.trainable_weights, twice.generator.trainable_weights))


def test_udgan_takes_a_second_generator_update_too():
    keras.utils.set_random_seed(7)
    model = UDGAN(knobs=[{"name": "free", "count": 2}], resolution=16, filters=8, seed=0,
                  stabilisers={"alternating_updates": True, "generator_steps": 2})
    model.compile()
    history = model.fit(tf.data.Dataset.from_tensors(tf.random.uniform((8, 16, 16, 1))).repeat(),
                        steps_per_epoch=2, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 2
    assert all(np.isfinite(values[-1]) for values in history.history.values())


def test_dcgan_initialisation_draws_normal_weights_and_zero_biases():
    keras.utils.set_random_seed(0)
    generator = Generator(latent_dim=10, resolution=64, filters=32, architecture="infogan_cr_reference",
                          weight_init="normal_0.02")
    encoder = ConvEncoder(1, resolution=64, filters=32, architecture="infogan_cr_reference", weight_init="normal_0.02")
    generator(tf.zeros((1, 10)))
    encoder(tf.zeros((1, 64, 64, 1)))
    for network in (generator, encoder):
        kernels = [w.numpy() for w in network.weights if w.path.endswith("kernel")]
        biases = [w.numpy() for w in network.weights if w.path.endswith("bias")]
        assert kernels and biases
        for kernel in kernels:
            assert 0.015 < kernel.std() < 0.025 and abs(kernel.mean()) < 0.005
        assert all(not bias.any() for bias in biases)


def test_reference_generator_has_infogan_cr_decoder_layers():
    generator = Generator(latent_dim=10, resolution=64, filters=32, normalization="batch",
                          architecture="infogan_cr_reference")
    assert generator(tf.zeros((2, 10))).shape == (2, 64, 64, 1)
    kinds = [type(layer).__name__ for layer in generator.body.layers]
    assert kinds == ["Dense", "ReLU", "BatchNormalization", "Dense", "ReLU", "BatchNormalization", "Reshape",
                     "Conv2DTranspose", "LeakyReLU", "BatchNormalization",
                     "Conv2DTranspose", "LeakyReLU", "BatchNormalization",
                     "Conv2DTranspose", "LeakyReLU", "BatchNormalization", "Conv2DTranspose"]
    dense = [layer for layer in generator.body.layers if type(layer).__name__ == "Dense"]
    assert [layer.units for layer in dense] == [128, 4 * 4 * 64]        # FC 128, FC 4x4x64
    deconvs = [layer.filters for layer in generator.body.layers if type(layer).__name__ == "Conv2DTranspose"]
    assert deconvs == [64, 32, 32, 1]
    norms = [layer for layer in generator.body.layers if type(layer).__name__ == "BatchNormalization"]
    assert all(layer.epsilon == 1e-5 and layer.momentum == 0.9 for layer in norms)


def test_upsample_generator_replaces_each_transposed_convolution_by_upsampling_and_a_convolution():
    generator = Generator(latent_dim=10, resolution=64, filters=32, architecture="infogan_cr_upsample")
    assert generator(tf.zeros((2, 10))).shape == (2, 64, 64, 1)
    kinds = [type(layer).__name__ for layer in generator.body.layers]
    assert "Conv2DTranspose" not in kinds and kinds.count("UpSampling2D") == 4     # 4 -> 64 px
    convs = [(layer.filters, layer.kernel_size) for layer in generator.body.layers
             if type(layer).__name__ == "Conv2D"]
    assert convs == [(64, (3, 3)), (64, (3, 3)), (32, (3, 3)), (1, (5, 5))]
    # D of this layout is InfoGAN-CR's, exactly as for the reference layout.
    def weight_shapes(architecture):
        encoder = ConvEncoder(1, resolution=64, filters=32, architecture=architecture)
        encoder(tf.zeros((1, 64, 64, 1)))
        return [tuple(weight.shape) for weight in encoder.weights]

    assert weight_shapes("infogan_cr_upsample") == weight_shapes("infogan_cr_reference")


def test_reference_config_builds_the_reference_model():
    config = config_lib.load_config("configs/dsprites_infogan_cr_reference.yaml",
                                    ["model.resolution=16", "model.filters=8"])
    model = registry.build_model(config["model"])
    assert isinstance(model, InfoGANCR)
    assert model.layout.latent_dim == 10 and model.layout.embedding_dim == 5
    assert model.stabilisers.generator_steps == 2 and model.stabilisers.weight_init == "normal_0.02"
    assert model.q_hidden_units == 128 and model.generator_ema is None
    assert model.cr_weight_increase_every == 288000
    raw = yaml.safe_load(open("configs/dsprites_infogan_cr_reference.yaml"))
    assert raw["optimizers"]["generator"]["learning_rate"] == 1e-3
    assert raw["optimizers"]["discriminator"]["learning_rate"] == 2e-3


@pytest.mark.slow
def test_the_reference_recipe_trains_reloads_and_exports_an_embedding_of_the_codes_only(tmp_path):
    from udgan_tf.models import load_model
    from udgan_tf.serving.export import export_run
    from udgan_tf.training import train

    config = config_lib.load_config("configs/dsprites_infogan_cr_reference.yaml", [
        "model.resolution=16", "model.filters=8", "training.batch_size=8", "training.steps=2",
        "training.log_every=1", "training.checkpoint_every=2", "model.cr_weight_increase_every=1"])
    model = train(config, tmp_path / "run", verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 2                 # two G updates a step, two steps
    loaded = load_model(tmp_path / "run")
    knobs = model.sample_knobs(3, seed=5)
    np.testing.assert_allclose(np.asarray(loaded(knobs)), np.asarray(model(knobs)), atol=1e-5)
    images = np.asarray(loaded(knobs))
    np.testing.assert_allclose(np.asarray(loaded.embed(images)), np.asarray(model.embed(images)), atol=1e-5)
    version = export_run(tmp_path / "run", tmp_path / "export", "reference")
    embed = tf.saved_model.load(str(version)).signatures["embed"]
    assert sorted(embed.structured_outputs) == [f"code_{k}" for k in range(1, 6)]   # no noise_k
