import keras
import numpy as np
import pytest
import tensorflow as tf

from udgan_tf.models.beta_vae import BetaVAE, beta_vae_loss, knobs_to_latents, latents_to_knobs

TINY = {"knobs": [{"name": "free", "count": 3}], "resolution": 16, "channels": 1, "filters": 8, "seed": 3}


def real_batches(batch=4, resolution=16):
    images = tf.random.stateless_uniform((batch, resolution, resolution, 1), seed=(0, 1))
    return tf.data.Dataset.from_tensors(images).repeat()


@pytest.mark.slow
def test_one_fit_step_trains_encoder_and_decoder():
    model = BetaVAE(**TINY, beta=4.0)
    model.compile()
    before = {net.name: [w.numpy().copy() for w in net.trainable_weights] for net in [model.encoder, model.decoder]}
    logs = {name: values[0] for name, values in
            model.fit(real_batches(), steps_per_epoch=1, verbose=0).history.items()}
    assert set(logs) == {"loss", "reconstruction_loss", "kl_loss"}
    assert all(np.isfinite(value) for value in logs.values())
    np.testing.assert_allclose(logs["loss"], logs["reconstruction_loss"] + 4.0 * logs["kl_loss"], rtol=1e-5)
    assert int(model.optimizer.iterations.numpy()) == 1
    for net in [model.encoder, model.decoder]:
        for old, new in zip(before[net.name], net.trainable_weights):
            assert not np.array_equal(old, new.numpy()), f"{net.name}/{new.path} did not change"


def test_shapes_and_ranges():
    model = BetaVAE(**{**TINY, "knobs": [{"name": "free", "count": 2}, {"name": "position", "width": 2}]})
    assert model.layout.latent_dim == model.layout.embedding_dim == 4
    knobs = model.sample_knobs(64)
    assert knobs.shape == (64, 4) and np.all(np.abs(knobs.numpy()) <= 1.0)
    images = model(knobs).numpy()
    assert images.shape == (64, 16, 16, 1) and images.min() >= 0.0 and images.max() <= 1.0
    embedding = model.embed(tf.random.uniform((5, 16, 16, 1)))
    assert embedding.shape == (5, 4) and embedding.dtype == tf.float32


def test_uniform_knobs_are_prior_draws_and_traversal_ends_are_finite():
    latents = knobs_to_latents(tf.random.stateless_uniform((20_000, 2), seed=(1, 2), minval=-1.0, maxval=1.0))
    np.testing.assert_allclose(latents.numpy().mean(axis=0), 0.0, atol=0.05)
    np.testing.assert_allclose(latents.numpy().std(axis=0), 1.0, atol=0.05)
    np.testing.assert_allclose(knobs_to_latents([[-1.0, 1.0]]).numpy(), [[-2.5758, 2.5758]], atol=1e-3)


def test_latents_to_knobs_inverts_knobs_to_latents():
    knobs = np.linspace(-0.99, 0.99, 201, dtype=np.float32)[:, None]
    np.testing.assert_allclose(latents_to_knobs(knobs_to_latents(knobs)).numpy(), knobs, atol=1e-5)


def test_loss_is_reconstruction_plus_beta_times_kl_by_hand():
    images = np.array([0.0, 1.0, 0.5, 1.0], np.float32).reshape(1, 2, 2, 1).repeat(2, axis=0)
    logits = np.array([0.0, 2.0, -1.0, 0.0], np.float32).reshape(1, 2, 2, 1).repeat(2, axis=0)
    bce = np.maximum(logits, 0) - logits * images + np.log1p(np.exp(-np.abs(logits)))   # per pixel
    zeros = np.zeros((2, 2), np.float32)
    prior = beta_vae_loss(images, logits, zeros, zeros, beta=4.0)
    np.testing.assert_allclose(prior["kl_loss"], 0.0, atol=1e-7)   # q(z|x) = N(0, I) is the prior
    np.testing.assert_allclose(prior["loss"], bce[0].sum(), rtol=1e-6)

    # Row 0, mean (1, 2) and variance (1, 2): KL = 1/2 [(1 + 1 - 0 - 1) + (4 + 2 - log 2 - 1)]; row 1: the prior.
    mean = np.array([[1.0, 2.0], [0.0, 0.0]], np.float32)
    logvar = np.array([[0.0, np.log(2.0)], [0.0, 0.0]], np.float32)
    kl = 0.5 * (6.0 - np.log(2.0)) / 2   # mean over the batch of 2
    result = beta_vae_loss(images, logits, mean, logvar, beta=4.0)
    np.testing.assert_allclose(result["kl_loss"], kl, rtol=1e-6)
    np.testing.assert_allclose(result["loss"], bce[0].sum() + 4.0 * kl, rtol=1e-6)

    gaussian = beta_vae_loss(images, logits, zeros, zeros, beta=4.0, likelihood="gaussian")
    squared_error = (images[0] - 1.0 / (1.0 + np.exp(-logits[0]))) ** 2
    np.testing.assert_allclose(gaussian["reconstruction_loss"], squared_error.sum(), rtol=1e-6)


@pytest.mark.slow
def test_get_config_round_trip_and_weights_reload(tmp_path):
    model = BetaVAE(**TINY, beta=2.0, likelihood="gaussian")
    config = model.get_config()
    clone = BetaVAE.from_config(config)
    assert clone.get_config() == config
    assert keras.saving.get_registered_object("udgan_tf>BetaVAE") is BetaVAE
    model.compile()
    model.fit(real_batches(), steps_per_epoch=1, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    next_knobs = model.sample_knobs(3)
    clone.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(clone.sample_knobs(3).numpy(), next_knobs.numpy())   # a resume continues
    knobs, images = model.sample_knobs(3, seed=1), tf.random.uniform((3, 16, 16, 1))
    np.testing.assert_allclose(clone(knobs).numpy(), model(knobs).numpy(), atol=1e-6)
    np.testing.assert_allclose(clone.embed(images).numpy(), model.embed(images).numpy(), atol=1e-6)


@pytest.mark.slow
def test_generator_and_encoder_export_with_fixed_signatures(tmp_path):
    model = BetaVAE(**TINY)
    archive = keras.export.ExportArchive()
    for network in [model.inference_generator, *model.representation_networks]:
        archive.track(network)
    archive.add_endpoint("generate", tf.function(lambda knobs: model.inference_generator(knobs, training=False),
                                                 input_signature=[tf.TensorSpec([None, 3], tf.float32)]))
    archive.add_endpoint("embed", tf.function(lambda images: model.embed(images, training=False),
                                              input_signature=[tf.TensorSpec([None, 16, 16, 1], tf.float32)]))
    archive.write_out(str(tmp_path / "export"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "export"))
    knobs, images = model.sample_knobs(2, seed=1), tf.random.uniform((2, 16, 16, 1))
    np.testing.assert_allclose(loaded.generate(knobs).numpy(), model(knobs).numpy(), atol=1e-6)
    np.testing.assert_allclose(loaded.embed(images).numpy(), model.embed(images).numpy(), atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"knobs": [{"name": "free"}, {"name": "x", "guidance": "center_of_mass_x"}]},
     "knob 'x' has guidance 'center_of_mass_x': guidance does not apply to method 'beta_vae' "
     "(only udgan uses guidance functions)."),
    ({"knobs": [{"name": "free", "embedding_dim": 2}]}, "knob 'free' has embedding_dim 2 != width 1"),
    ({"beta": -1.0}, "beta must be >= 0. Received: beta=-1.0"),
    ({"likelihood": "poisson"}, "likelihood must be one of ('bernoulli', 'gaussian'). Received: likelihood='poisson'"),
    ({"resolution": 48}, "resolution must be a power of two >= 16. Received: resolution=48"),
], ids=["guided_knob", "embedding_dim", "negative_beta", "likelihood", "resolution"])
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError) as error:
        BetaVAE(**{**TINY, **kwargs})
    assert message in str(error.value)
