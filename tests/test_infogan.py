import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from udgan_tf import losses
from udgan_tf.models import InfoGAN
from udgan_tf.models.infogan_cr import InfoGANCR, contrastive_pair_codes

CODES = [{"name": "code", "count": 3}]


def real_batches(batch=4, resolution=16):
    images = tf.random.stateless_uniform((batch, resolution, resolution, 1), seed=(0, 1))
    return tf.data.Dataset.from_tensors(images).repeat()


def tiny(cls, **kwargs):
    return cls(knobs=CODES, resolution=16, filters=8, seed=0, **kwargs)


def weights_of(network):
    return [w.numpy().copy() for w in network.weights]


def changed(before, network):
    return any(not np.array_equal(a, b.numpy()) for a, b in zip(before, network.weights))


@pytest.mark.slow
@pytest.mark.parametrize("cls, architecture, stabilisers, extra", [
    (InfoGAN, "dcgan", {}, {}),
    (InfoGAN, "infogan_cr", {"alternating_updates": True, "generator_ema_decay": 0.9,
                             "discriminator_r1_weight": 1.0}, {}),
    (InfoGANCR, "dcgan", {"alternating_updates": True, "generator_ema_decay": 0.9}, {}),
    (InfoGANCR, "infogan_cr", {"discriminator_spectral_norm": True}, {"cr_weight_start": 1.0, "cr_gap_start": 0.5}),
], ids=["infogan-dcgan", "infogan-infogan_cr-alternating-ema-r1", "cr-dcgan-alternating-ema", "cr-infogan_cr"])
def test_one_fit_step_updates_every_network(cls, architecture, stabilisers, extra):
    model = tiny(cls, architecture=architecture, stabilisers=stabilisers, **extra)
    model.compile()
    networks = [model.generator, model.discriminator]
    if cls is InfoGANCR:
        networks.append(model.contrastive_network)
    if model.generator_ema is not None:
        networks.append(model.generator_ema)
    idle = cls is InfoGANCR and bool(model.idle_at(0))   # alpha 0 until H is reset: H has nothing to learn
    before = {net.name: weights_of(net) for net in networks}
    history = model.fit(real_batches(), steps_per_epoch=1, epochs=1, verbose=0)
    names = ["d_loss", "g_loss", "info_loss"] + (["cr_loss"] if cls is InfoGANCR else [])
    assert sorted(history.history) == sorted(names)
    assert all(np.isfinite(history.history[name][0]) for name in names)
    assert int(model.optimizer.iterations.numpy()) == 1
    for net in networks:
        if idle and net is model.contrastive_network:
            assert not changed(before[net.name], net) and history.history["cr_loss"][0] == 0.0
        else:
            assert changed(before[net.name], net), net.name


def test_shapes_of_images_and_embedding():
    model = tiny(InfoGAN, stabilisers={"generator_ema_decay": 0.99})
    knobs = model.sample_knobs(5)
    images = model(knobs)
    assert knobs.shape == (5, 3) and -1.0 <= float(tf.reduce_min(knobs)) and float(tf.reduce_max(knobs)) <= 1.0
    assert images.shape == (5, 16, 16, 1)
    assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
    embedding = model.embed(images)
    assert embedding.shape == (5, model.layout.embedding_dim) == (5, 3) and embedding.dtype == tf.float32
    # Q is columns 1..Z of D: the representation networks are D alone, and inference draws with G_ema.
    assert model.representation_networks == [model.discriminator]
    assert model.inference_generator is model.generator_ema
    np.testing.assert_allclose(embedding, model.discriminator(images)[:, 1:], atol=1e-6)


def test_mutual_information_loss_is_the_gaussian_negative_log_likelihood():
    codes = tf.constant([[0.5, -0.5], [1.0, 0.0]])
    constant = 2 * 0.5 * math.log(2 * math.pi)             # two code dimensions
    perfect = losses.mutual_information_loss(codes, codes)
    assert float(perfect) == pytest.approx(constant)
    off_by_one = losses.mutual_information_loss(codes + 1.0, codes)  # (1/2 * 1 + 1/2 * 1) per image
    assert float(off_by_one) == pytest.approx(constant + 1.0)
    blind = losses.mutual_information_loss(tf.zeros_like(codes), codes)  # 1/2 (0.25 + 0.25 + 1 + 0) / 2
    assert float(blind) == pytest.approx(constant + 0.375)
    assert float(perfect) < float(blind) < float(off_by_one)


def test_contrastive_regulariser_loss_by_hand():
    logits = tf.constant([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    shared = tf.constant([0, 2])
    by_hand = 0.5 * (-math.log(math.exp(2) / (math.exp(2) + 2)) + math.log(3))
    assert float(losses.contrastive_regulariser_loss(logits, shared)) == pytest.approx(by_hand, rel=1e-6)
    assert float(losses.contrastive_regulariser_loss(tf.constant([[9.0, -9.0]]), tf.constant([0]))) < 1e-6


def test_cr_schedules_give_the_reference_values():
    dsprites = tiny(InfoGANCR)       # InfoGAN-CR_dSprites/config.py: 0 until step 288000, then 2
    assert [float(dsprites.cr_weight_at(t)) for t in (0, 287999, 288000, 322559, 10 ** 7)] == [0, 0, 2, 2, 2]
    assert [bool(dsprites.resets_at(t)) for t in (0, 287999, 288000, 576000)] == [False, False, True, False]
    assert [float(dsprites.cr_gap_at(t)) for t in (0, 288000)] == [0, 0]
    # InfoGAN-CR_3D_teapot/config.py: one change each, alpha to 3 at step 50000, the gap 1.9 -> 0 at 85000.
    teapot = tiny(InfoGANCR, cr_weight_increase=3.0, cr_weight_increase_every=50000, cr_gap_start=1.9,
                  cr_gap_decrease=1.9, cr_gap_decrease_times=1, cr_gap_decrease_every=85000)
    assert [float(teapot.cr_weight_at(t)) for t in (49999, 50000)] == [0, 3]
    assert [round(float(teapot.cr_gap_at(t)), 6) for t in (0, 84999, 85000, 170000)] == [1.9, 1.9, 0, 0]
    assert [bool(teapot.resets_at(t)) for t in (50000, 85000, 100000, 170000)] == [True, True, False, False]
    # H is idle (alpha 0, and H is re-initialised before alpha grows) until the first reset.
    assert [bool(dsprites.idle_at(t)) for t in (0, 287999, 288000, 300000)] == [True, True, False, False]
    assert [bool(teapot.idle_at(t)) for t in (0, 49999, 50000)] == [True, True, False]
    assert not bool(tiny(InfoGANCR, cr_weight_start=1.0).idle_at(0))           # alpha > 0 from the start
    assert not bool(tiny(InfoGANCR, cr_weight_increase_times=0).idle_at(0))    # H is never reset: it keeps learning


def test_schedule_change_restarts_the_contrastive_network_and_its_optimizer():
    model = tiny(InfoGANCR, cr_weight_increase_every=3)
    model.compile()
    initial = weights_of(model.contrastive_network)
    for w in model.contrastive_network.weights:
        w.assign(w + 1.0)
    model.contrastive_optimizer.iterations.assign(7)
    model.optimizer.iterations.assign(2)                   # not a change: nothing happens
    model.reset_contrastive_network()
    assert int(model.contrastive_optimizer.iterations.numpy()) == 7
    model.optimizer.iterations.assign(3)                   # alpha changes: H starts afresh
    model.reset_contrastive_network()
    assert int(model.contrastive_optimizer.iterations.numpy()) == 0
    for a, b in zip(initial, model.contrastive_network.weights):
        np.testing.assert_array_equal(a, b.numpy())


def test_pairs_share_one_code_and_keep_the_gap_on_the_others():
    draws = tf.random.stateless_uniform((3, 256, 3), seed=(1, 2), minval=-1.0, maxval=1.0)
    mask = tf.one_hot(tf.range(256) % 3, 3)
    first, second = contrastive_pair_codes(draws[0], draws[1], draws[2], mask, tf.constant(0.8))
    first, second, mask = first.numpy(), second.numpy(), mask.numpy().astype(bool)
    np.testing.assert_array_equal(first[mask], second[mask])
    assert np.abs(first - second)[~mask].min() >= 0.8 - 1e-6
    assert np.abs(first).max() <= 1.0 and np.abs(second).max() <= 1.0

    model = tiny(InfoGANCR)
    model.compile()
    sample = model.sample_step(6)
    assert sample["codes"].shape == (6, 3) and sample["pair_codes"].shape == (12, 3)
    pair_mask = tf.gather(model.layout.latent_masks, sample["shared_code"]).numpy().astype(bool)
    first, second = np.split(sample["pair_codes"].numpy(), 2)
    np.testing.assert_array_equal(first[pair_mask], second[pair_mask])


@pytest.mark.parametrize("cls, extra", [
    (InfoGAN, {"info_weight": 0.05, "info_weight_discriminator": 0.1, "architecture": "infogan_cr"}),
    (InfoGANCR, {"info_weight": 0.05, "cr_weight_increase": 3.0, "cr_gap_start": 1.9, "cr_gap_decrease": 1.9,
                 "cr_gap_decrease_times": 1, "cr_gap_decrease_every": 85000}),
])
def test_get_config_round_trip(cls, extra):
    model = tiny(cls, stabilisers={"alternating_updates": True}, **extra)
    config = model.get_config()
    rebuilt = cls.from_config(config)
    assert rebuilt.get_config() == config
    assert keras.saving.get_registered_object(f"udgan_tf>{cls.__name__}") is cls
    for key, value in extra.items():
        assert config[key] == value
    assert config["stabilisers"]["alternating_updates"] is True


@pytest.mark.parametrize("cls", [InfoGAN, InfoGANCR])
def test_weights_save_and_load_reproduce_outputs(cls, tmp_path):
    model = tiny(cls, stabilisers={"generator_ema_decay": 0.9})
    model.sample_knobs(3)                                   # move the knob sampler on
    path = str(tmp_path / "model.weights.h5")
    model.save_weights(path)
    other = cls.from_config({**model.get_config(), "seed": 1})
    other.load_weights(path)
    np.testing.assert_array_equal(model.sample_knobs(4), other.sample_knobs(4))   # the sampler state too
    knobs = tf.random.stateless_uniform((4, 3), seed=(3, 4), minval=-1.0, maxval=1.0)
    images = model(knobs)
    np.testing.assert_allclose(images, other(knobs), atol=1e-6)
    np.testing.assert_allclose(model.embed(images), other.embed(images), atol=1e-6)
    if cls is InfoGANCR:
        pairs = tf.concat([images, images], axis=-1)
        np.testing.assert_allclose(model.contrastive_network(pairs), other.contrastive_network(pairs), atol=1e-6)


@pytest.mark.parametrize("cls", [InfoGAN, InfoGANCR])
def test_guided_knob_is_refused_naming_the_method(cls):
    with pytest.raises(ValueError, match=f"knob 'x' has guidance 'center_of_mass_x': guidance does not apply to "
                                         f"method '{cls.METHOD}' \\(only udgan uses guidance functions\\)"):
        cls(knobs=[*CODES, {"name": "x", "guidance": "center_of_mass_x"}], resolution=16, filters=8)


@pytest.mark.parametrize("cls", [InfoGAN, InfoGANCR])
@pytest.mark.parametrize("option, value", [("siamese_spectral_norm", True), ("siamese_hidden_units", 0),
                                           ("real_images_per_quartet", 4)])
def test_siamese_only_stabiliser_is_refused_naming_option_and_method(cls, option, value):
    with pytest.raises(ValueError, match=f"model.stabilisers.{option} does not apply to method '{cls.METHOD}' "
                                         "\\(it has no siamese networks or quartets\\)"):
        tiny(cls, stabilisers={option: value})


@pytest.mark.parametrize("cls", [InfoGAN, InfoGANCR])
def test_a_batch_dependent_discriminator_is_refused_because_q_is_the_representation(cls):
    with pytest.raises(ValueError, match=f"model.stabilisers.discriminator_minibatch_stddev does not apply to method "
                                         f"'{cls.METHOD}' \\(its D carries Q, whose output, the representation, must "
                                         "not depend on the other images of a batch\\)"):
        tiny(cls, stabilisers={"discriminator_minibatch_stddev": True})


@pytest.mark.parametrize("cls, option, value", [
    (InfoGAN, "info_weight", -1.0),
    (InfoGAN, "info_weight_discriminator", -0.5),
    (InfoGANCR, "info_weight", -1.0),
    (InfoGANCR, "cr_weight_start", -1.0),
    (InfoGANCR, "cr_weight_increase", -2.0),
    (InfoGANCR, "cr_gap_start", 2.5),
    (InfoGANCR, "cr_gap_decrease", -0.1),
    (InfoGANCR, "cr_weight_increase_every", 0),
    (InfoGANCR, "cr_gap_decrease_times", -1),
])
def test_bad_weight_or_schedule_is_refused_naming_it(cls, option, value):
    with pytest.raises(ValueError, match=f"{option}.*Received: {option}={value!r}"):
        tiny(cls, **{option: value})


def test_contrastive_regulariser_needs_two_knobs():
    with pytest.raises(ValueError, match="method .infogan_cr. needs at least 2 codes"):
        InfoGANCR(knobs=["only"], resolution=16, filters=8)
