import numpy as np
import pytest
import tensorflow as tf

from udgan_tf.knobs import KnobLayout, adaptive_margin, build_quartet, parse_knobs
from udgan_tf.models import UDGAN


def test_parse_knobs_expands_count_and_defaults():
    knobs = parse_knobs([{"name": "free", "count": 3}, {"name": "x", "guidance": "center_of_mass_x", "width": 2}])
    assert [k.name for k in knobs] == ["free_1", "free_2", "free_3", "x"]
    assert knobs[3].width == 2 and knobs[3].embedding_dim == 2 and knobs[3].guided
    assert not knobs[0].guided


@pytest.mark.parametrize("specs, message", [
    ([{"name": "a"}, {"name": "a"}], "Duplicated: ['a']"),
    ([{"name": "bad-name"}], "must be an identifier"),
    ([{"name": "a", "widht": 2}], "unknown key(s) ['widht']"),
    ([{"name": "a", "width": 0}], "width must be an integer >= 1"),
    ([{"name": "a", "embedding_dim": -1}], "embedding_dim must be an integer >= 0"),
    ([], "non-empty list"),
])
def test_parse_knobs_errors_name_the_problem(specs, message):
    with pytest.raises(ValueError) as error:
        parse_knobs(specs)
    assert message in str(error.value)


def test_layout_slices_and_masks():
    layout = KnobLayout(parse_knobs([{"name": "a"}, {"name": "b", "width": 2}, {"name": "c", "embedding_dim": 3}]))
    assert layout.latent_dim == 4 and layout.embedding_dim == 6
    np.testing.assert_array_equal(layout.latent_masks[1], [0, 1, 1, 0])
    np.testing.assert_array_equal(layout.embedding_masks[2], [0, 0, 0, 1, 1, 1])


def test_build_quartet_shares_knob_i_exactly_and_nothing_else():
    rng = np.random.RandomState(0)
    u1, u2, v1, v2 = (tf.constant(rng.uniform(-1, 1, (5, 4)), tf.float32) for _ in range(4))
    mask = tf.constant(np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 1]])
    z11, z12, z21, z22 = (z.numpy() for z in build_quartet(u1, u2, v1, v2, mask))
    on = mask.numpy().astype(bool)
    # Pairs sharing q_i: identical on knob i's slice, different elsewhere.
    np.testing.assert_array_equal(z11[on], z12[on])
    np.testing.assert_array_equal(z21[on], z22[on])
    assert np.all(z11[~on] != z12[~on]) and np.all(z21[~on] != z22[~on])
    # Pairs sharing the other knobs: identical off the slice, different on it.
    np.testing.assert_array_equal(z11[~on], z21[~on])
    np.testing.assert_array_equal(z12[~on], z22[~on])
    assert np.all(z11[on] != z21[on])
    np.testing.assert_allclose(adaptive_margin(u1, u2, mask).numpy(), np.abs((u1 - u2).numpy()[on]), rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("knob_sampling", ["per_quartet", "per_step"])
def test_sample_quartets_of_the_model(tiny_model_config, knob_sampling):
    model = UDGAN(**tiny_model_config, knob_sampling=knob_sampling)
    quartets = model.sample_quartets(64)
    z11, z12, z21, z22 = np.split(quartets["latents"].numpy(), 4)
    index = quartets["knob_index"].numpy()
    assert z11.shape == (64, model.layout.latent_dim)
    assert np.all(np.abs(quartets["latents"].numpy()) <= 1)
    rows = np.arange(64)
    np.testing.assert_array_equal(z11[rows, index], z12[rows, index])
    np.testing.assert_array_equal(z21[rows, index], z22[rows, index])
    np.testing.assert_allclose(quartets["margin"].numpy(), np.abs(z11[rows, index] - z21[rows, index]), rtol=1e-6)
    np.testing.assert_array_equal(quartets["embedding_mask"].numpy(), model.layout.embedding_masks[index])
    if knob_sampling == "per_step":
        assert len(set(index)) == 1
    else:
        assert len(set(index)) == len(model.knobs)  # 64 draws over 4 knobs hit each one


def test_the_siamese_plan_says_which_network_embeds_which_knob_and_which_columns_are_whose():
    from udgan_tf.knobs import UNGUIDED_NETWORK

    layout = KnobLayout(parse_knobs([{"name": "x", "guidance": "center_of_mass_x"}, {"name": "free", "count": 2},
                                     {"name": "colour", "guidance": "average_color", "embedding_dim": 3}]))
    assert [(slot.network_name, [k.name for k in slot.knobs], slot.label) for slot in layout.siamese_plan] == [
        (UNGUIDED_NETWORK, ["free_1", "free_2"], "unguided"), ("siamese_x", ["x"], "x"),
        ("siamese_colour", ["colour"], "colour")]
    assert [slot.output_dim for slot in layout.siamese_plan] == [2, 1, 3]
    # phi(x) in knob order: x, free_1, free_2, colour_1..3 from the outputs [free_1, free_2 | x | colour_1..3].
    assert layout.embedding_order.tolist() == [2, 0, 1, 3, 4, 5]
    assert layout.embedding_names == ["x", "free_1", "free_2", "colour_1", "colour_2", "colour_3"]
    assert layout.slot_of("free_2").network_name == UNGUIDED_NETWORK
    assert layout.slot_of("colour").guidance == "average_color"


def test_a_guided_knob_named_like_the_shared_network_is_refused():
    with pytest.raises(ValueError, match="A guided knob may not be called 'unguided'"):
        KnobLayout(parse_knobs([{"name": "free"}, {"name": "unguided", "guidance": "object_area"}]))
    KnobLayout(parse_knobs([{"name": "unguided", "count": 2}]))  # unguided knobs may be called anything
