import numpy as np
import pytest
import tensorflow as tf

from udgan_tf import UDGAN


def real_batches(batch=4, resolution=16):
    images = tf.random.stateless_uniform((batch, resolution, resolution, 1), seed=(0, 1))
    return tf.data.Dataset.from_tensors(images).repeat()


@pytest.mark.slow
@pytest.mark.parametrize("knobs", [
    [{"name": "free", "count": 3}],                                                  # UD-GAN
    [{"name": "free", "count": 2}, {"name": "x", "guidance": "center_of_mass_x"},    # UD-GAN-G
     {"name": "top", "guidance": {"name": "crop", "box": "top"}}],
], ids=["unguided", "guided"])
def test_one_fit_step_updates_every_network(knobs):
    model = UDGAN(knobs=knobs, resolution=16, filters=8, seed=0, stabilisers={"discriminator_spectral_norm": True})
    model.compile()
    before = {net.name: [w.numpy().copy() for w in net.trainable_weights]
              for net in [model.generator, model.discriminator, *model.siamese_networks]}
    history = model.fit(real_batches(), steps_per_epoch=1, epochs=1, verbose=0)
    for name in ["d_loss", "g_loss", "contrastive_loss"] + [f"contrastive_{k.name}" for k in model.knobs]:
        assert name in history.history and np.isfinite(history.history[name][0])
    assert int(model.optimizer.iterations.numpy()) == 1
    for net in [model.generator, model.discriminator, *model.siamese_networks]:
        after = [w.numpy() for w in net.trainable_weights]
        assert any(not np.array_equal(a, b) for a, b in zip(before[net.name], after)), net.name


def test_unguided_knobs_share_one_network_and_guided_have_their_own(tiny_model_config):
    model = UDGAN(**tiny_model_config)
    names = [net.name for net in model.siamese_networks]
    assert names == ["siamese_unguided", "siamese_x_position", "siamese_size"]
    assert names == [slot.network_name for slot in model.layout.siamese_plan]  # the model builds the plan
    assert model.siamese_networks[0].output_dim == 2  # one dimension per unguided knob
    embedding = model.embed(tf.random.uniform((3, 16, 16, 1)))
    assert embedding.shape == (3, model.layout.embedding_dim) == (3, 4)


def test_embedding_is_in_knob_order_when_guided_and_unguided_interleave():
    model = UDGAN(knobs=[{"name": "x", "guidance": "center_of_mass_x"}, {"name": "free"},
                         {"name": "s", "guidance": "object_size", "embedding_dim": 2}],
                  resolution=16, filters=8)
    images = tf.random.uniform((2, 16, 16, 1))
    unguided, x_net, s_net = model.siamese_networks
    expected = tf.concat([x_net(images), unguided(images), s_net(images)], axis=-1)
    np.testing.assert_allclose(model.embed(images).numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.slow
def test_get_config_round_trip_and_weights_reload(tmp_path, tiny_model_config):
    model = UDGAN(**tiny_model_config, stabilisers={"generator_ema_decay": 0.9, "alternating_updates": True})
    config = model.get_config()
    clone = UDGAN.from_config(config)
    assert clone.get_config() == config
    model.compile()
    model.fit(real_batches(), steps_per_epoch=1, verbose=0)
    model.save_weights(tmp_path / "m.weights.h5")
    clone.load_weights(tmp_path / "m.weights.h5")
    z = model.sample_knobs(3, seed=1)
    np.testing.assert_allclose(model(z).numpy(), clone(z).numpy(), atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"knob_sampling": "sometimes"}, "knob_sampling must be one of"),
    ({"resolution": 48}, "resolution must be a power of two >= 16. Received: resolution=48"),
    ({"knobs": [{"name": "x", "guidance": "centre_of_mass"}]}, "Unknown guidance 'centre_of_mass'"),
    ({"stabilisers": {"generator_normalization": "group"}},
     "model.stabilisers.generator_normalization must be one of ('none', 'batch'). Received: 'group'"),
    ({"stabilisers": {"r1_weight": 1.0}}, "Unknown key(s) ['model.stabilisers.r1_weight']. Allowed stabiliser keys: "
                                          "['discriminator_spectral_norm', 'discriminator_normalization',"),
    ({"architecture": "resnet"}, "architecture must be one of ('table5', 'dcgan', 'infogan_cr', 'infogan_cr_reference', 'infogan_cr_upsample'). Received: 'resnet'"),
    ({"stabilisers": {"real_images_per_quartet": 0}},
     "model.stabilisers.real_images_per_quartet must be a positive integer. Received: 0"),
    ({"stabilisers": {"generator_ema_decay": 1.0}},
     "model.stabilisers.generator_ema_decay must be in [0, 1). Received: 1.0"),
    ({"knobs": [{"name": "free"}, {"name": "unguided", "guidance": "object_area"}]},
     "A guided knob may not be called 'unguided'"),
])
def test_constructor_errors_name_the_value(tiny_model_config, kwargs, message):
    with pytest.raises(ValueError) as error:
        UDGAN(**{**tiny_model_config, **kwargs})
    assert message in str(error.value)


@pytest.mark.slow
@pytest.mark.parametrize("options", [
    {"knob_sampling": "per_step"},
    {"stabilisers": {"generator_normalization": "batch", "discriminator_normalization": "batch",
                     "alternating_updates": True}},
    {"stabilisers": {"siamese_spectral_norm": True, "discriminator_spectral_norm": True,
                     "siamese_hidden_units": 0}},
    {"architecture": "dcgan", "stabilisers": {"generator_normalization": "batch",
                                              "discriminator_normalization": "batch"}},
    {"architecture": "dcgan", "stabilisers": {"discriminator_minibatch_stddev": True,
                                              "discriminator_normalization": "batch"}},
], ids=lambda options: "+".join([*options.get("stabilisers", {}), *(k for k in options if k != "stabilisers")]))
def test_every_stabiliser_option_trains_one_step(tiny_model_config, options):
    model = UDGAN(**tiny_model_config, **options)
    model.compile()
    history = model.fit(real_batches(), steps_per_epoch=2, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert UDGAN.from_config(model.get_config()).get_config() == model.get_config()


def test_the_r1_weight_adds_gamma_half_the_squared_input_gradient_of_d_on_real_images(tiny_model_config):
    model = UDGAN(**tiny_model_config, stabilisers={"discriminator_r1_weight": 4.0})
    plain = UDGAN(**tiny_model_config)
    plain.discriminator.set_weights(model.discriminator.get_weights())
    real, fake = (tf.random.stateless_uniform((3, 16, 16, 1), seed=(s, 0)) for s in (1, 2))
    with tf.GradientTape() as tape:
        tape.watch(real)
        logits = model.discriminator(real, training=True)
    squared_norms = tf.reduce_sum(tf.square(tape.gradient(logits, real)), axis=[1, 2, 3])
    penalised, _ = model.discriminator_loss(real, fake)
    unpenalised, _ = plain.discriminator_loss(real, fake)
    assert float(squared_norms.numpy().min()) > 0
    assert float(penalised - unpenalised) == pytest.approx(2.0 * float(tf.reduce_mean(squared_norms)), rel=1e-4)


@pytest.mark.slow
def test_real_images_per_quartet_sets_how_many_quartets_a_batch_makes(tiny_model_config):
    model = UDGAN(**tiny_model_config, stabilisers={"real_images_per_quartet": 4})
    model.compile()
    model.fit(real_batches(batch=8), steps_per_epoch=1, verbose=0)
    # Each quartet updates exactly one per-knob tracker: 8 real images -> 2 quartets.
    assert sum(float(tracker.count) for tracker in model.knob_loss_trackers) == 2


@pytest.mark.slow
def test_fit_updates_the_proxy_statistics_from_real_images(tiny_model_config):
    from udgan_tf import guidance

    model = UDGAN(**tiny_model_config)
    model.compile()
    real = tf.random.stateless_uniform((4, 16, 16, 1), seed=(0, 1))
    model.fit(tf.data.Dataset.from_tensors(real).repeat(), steps_per_epoch=1, verbose=0)
    size_network = model.siamese_networks[-1]
    assert size_network.name == "siamese_size"
    np.testing.assert_allclose(size_network.standardization.mean.numpy(),
                               np.mean(guidance.object_size(real).numpy(), axis=0), rtol=1e-5)


@pytest.mark.slow
def test_generator_ema_averages_every_weight_and_is_what_the_model_draws_with(tiny_model_config):
    decay = 0.75
    model = UDGAN(**tiny_model_config, stabilisers={"generator_normalization": "batch", "generator_ema_decay": decay})
    model.compile()
    initial = [w.numpy().copy() for w in model.generator.weights]
    np.testing.assert_array_equal(initial[0], model.generator_ema.weights[0].numpy())
    model.fit(real_batches(), steps_per_epoch=1, verbose=0)
    decay = min(decay, (1 + 1) / (10 + 1))  # warm-up: after step 1 the old weights count 2/11
    for start, trained, average in zip(initial, model.generator.weights, model.generator_ema.weights):
        np.testing.assert_allclose(average.numpy(), decay * start + (1 - decay) * trained.numpy(), atol=1e-6)
    assert not model.generator_ema.trainable_weights  # never trained directly
    z = model.sample_knobs(3, seed=1)
    np.testing.assert_allclose(model(z).numpy(), model.generator_ema(z).numpy(), atol=1e-6)
    assert not np.allclose(model(z).numpy(), model.generator(z).numpy(), atol=1e-6)


DISTRIBUTED_FIT = """
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from udgan_tf import UDGAN
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = UDGAN(knobs=[{"name": "free", "count": 2}, {"name": "size", "guidance": "object_area"}],
                  resolution=16, filters=8, seed=0, architecture="dcgan",
                  stabilisers={"generator_normalization": "batch", "discriminator_normalization": "batch",
                               "alternating_updates": True, "generator_ema_decay": 0.5})
    model.compile()
images = tf.random.stateless_uniform((8, 16, 16, 1), seed=(0, 1))
history = model.fit(tf.data.Dataset.from_tensors(images).repeat(), steps_per_epoch=2, verbose=0)
assert all(np.isfinite(v[-1]) for v in history.history.values()), history.history
assert int(model.optimizer.iterations.numpy()) == 2
for average in model.generator_ema.weights:
    replicas = [v.numpy() for v in average.value.values]
    np.testing.assert_array_equal(replicas[0], replicas[1])
print("OK")
"""


@pytest.mark.slow
def test_fit_runs_under_mirrored_strategy_on_two_devices_and_keeps_replicas_equal():
    import subprocess
    import sys

    # Logical devices must be set before TensorFlow starts, hence a fresh process.
    result = subprocess.run([sys.executable, "-c", DISTRIBUTED_FIT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("OK"), result.stderr[-3000:]


MIRRORED_EQUALS_SINGLE = """
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from udgan_tf import UDGAN
images = tf.random.stateless_uniform((8, 16, 16, 1), seed=(0, 1))

def one_step(strategy):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = UDGAN(knobs=[{"name": "free", "count": 2}, {"name": "x", "guidance": "center_of_mass_x"}],
                      resolution=16, filters=8, seed=0)
        model.compile(*(keras.optimizers.SGD(0.1) for _ in range(3)))  # Adam's first step would amplify round-off
    history = model.fit(tf.data.Dataset.from_tensors(images).repeat(), steps_per_epoch=1, verbose=0, shuffle=False)
    return {k: v[-1] for k, v in history.history.items()}, [w.numpy() for w in model.weights]

single_losses, single_weights = one_step(tf.distribute.OneDeviceStrategy("/cpu:0"))
mirrored_losses, mirrored_weights = one_step(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
for name, value in single_losses.items():
    np.testing.assert_allclose(mirrored_losses[name], value, rtol=1e-5, err_msg=name)
for a, b in zip(single_weights, mirrored_weights):
    np.testing.assert_allclose(b, a, atol=1e-6)
print("OK")
"""


@pytest.mark.slow
def test_a_mirrored_step_equals_a_single_device_step_on_the_same_global_batch():
    """Issue 6: losses are averaged over the global batch (gradients / replicas), every replica
    draws the global batch's quartets and keeps its slice, and the proxy statistics are
    all-reduced, so two replicas update the weights exactly as one device does."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", MIRRORED_EQUALS_SINGLE], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("OK"), result.stderr[-3000:]


def test_zero_hidden_units_make_the_standardised_proxy_the_embedding(tiny_model_config):
    model = UDGAN(**tiny_model_config, stabilisers={"siamese_hidden_units": 0, "siamese_spectral_norm": True})
    images = tf.random.stateless_uniform((6, 16, 16, 1), seed=(2, 3))
    for network in model.siamese_networks[1:]:  # x_position, size: scalar guidance
        network.standardization.update(network.guide(images))
        assert not network.trainable_weights
        np.testing.assert_allclose(network(images).numpy(), network.standardization(network.guide(images)).numpy())
    with pytest.raises(ValueError, match="output_dim must equal the proxy's 1 dimensions. Received: output_dim=2"):
        UDGAN(**{**tiny_model_config, "knobs": [{"name": "x", "guidance": "center_of_mass_x", "embedding_dim": 2}]},
              stabilisers={"siamese_hidden_units": 0})


def test_the_constructor_has_the_method_arguments_and_one_stabilisers_object():
    import inspect

    arguments = [n for n, p in inspect.signature(UDGAN.__init__).parameters.items()
                 if n != "self" and p.kind is not p.VAR_KEYWORD]
    assert len(arguments) <= 10
    assert arguments == ["knobs", "resolution", "channels", "filters", "architecture", "contrastive_weight",
                         "knob_sampling", "stabilisers", "seed"]


def test_a_saved_model_resumes_the_knob_draws_where_they_were(tmp_path, tiny_model_config):
    model = UDGAN(**tiny_model_config)
    model.sample_quartets(4)                                        # advance the sampler
    model.save_weights(tmp_path / "m.weights.h5")
    expected = model.sample_quartets(4)
    resumed = UDGAN(**tiny_model_config)
    fresh = resumed.sample_quartets(4)["latents"].numpy()
    resumed.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(resumed.sample_quartets(4)["latents"].numpy(), expected["latents"].numpy())
    assert not np.array_equal(fresh, expected["latents"].numpy())   # not simply the seed's first draws


def two_pass_alternating_step(model, real_images, quartets):
    """The alternating update as it was first written: G draws the images for D's step, then
    draws them again for its own step."""
    from udgan_tf.models.distribution import apply_updates

    fake_images = tf.stop_gradient(model.generator(quartets["latents"], training=True))
    with tf.GradientTape(persistent=True) as tape:
        d_loss, _ = model.discriminator_loss(real_images, fake_images)
        d_update = model.scaled_updates({"d_loss": d_loss})
    apply_updates(tape, d_update)
    with tf.GradientTape(persistent=True) as tape:
        fake_images = model.generator(quartets["latents"], training=True)
        result = {"d_loss": d_loss, **model.generator_losses(fake_images, model.discriminator(fake_images,
                                                                                              training=True), quartets)}
        updates = model.scaled_updates({k: v for k, v in result.items() if k != "d_loss"})
    apply_updates(tape, updates)
    return result


def test_the_alternating_update_draws_g_once_and_steps_every_network_as_two_passes_did(tiny_model_config):
    from udgan_tf.models.stabilisers import alternating_step

    stabilisers = {"alternating_updates": True, "generator_normalization": "batch", "siamese_hidden_units": 0}
    models = [UDGAN(**tiny_model_config, architecture="dcgan", stabilisers=stabilisers) for _ in range(2)]
    for model in models:
        model.compile()
    models[1].set_weights(models[0].get_weights())
    real = tf.random.stateless_uniform((4, 16, 16, 1), seed=(0, 1))
    quartets = models[0].sample_quartets(4)
    ours, theirs = alternating_step(models[0], real, quartets), two_pass_alternating_step(models[1], real, quartets)
    for key in ("d_loss", "g_loss", "contrastive_loss"):
        assert float(ours[key]) == pytest.approx(float(theirs[key]), rel=1e-5), key
    moving = {id(v) for v in models[0].non_trainable_weights}      # batch-norm averages move once, not twice
    for a, b in zip(models[0].weights, models[1].weights):
        if id(a) not in moving:
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6, err_msg=a.path)
