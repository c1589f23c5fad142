"""Tests for udgan_tf.guidance: known answers, gradients, tf.function, registry."""

import contextlib

import numpy as np
import pytest
import tensorflow as tf

from udgan_tf import guidance

BUILTINS = (
    "average_color",
    "center_of_mass_x",
    "center_of_mass_y",
    "crop",
    "edges",
    "object_area",
    "object_size",
)

# A spec for every built-in guidance, used by the gradient / tf.function tests.
SPECS = {
    "average_color": {"name": "average_color", "num_pixels": 32, "seed": 7},
    "center_of_mass_x": "center_of_mass_x",
    "center_of_mass_y": "center_of_mass_y",
    "crop": {"name": "crop", "box": "middle_upper"},
    "edges": "edges",
    "object_area": "object_area",
    "object_size": "object_size",
}


def _image(h, w, c=1, pixels=(), batch=1):
    """Black images ``[batch, h, w, c]`` with white pixels at ``(row, col)``."""
    img = np.zeros((batch, h, w, c), np.float32)
    for r, col in pixels:
        img[:, r, col, :] = 1.0
    return tf.constant(img)


def _random_images(shape, seed=0):
    return tf.constant(np.random.default_rng(seed).random(shape, dtype=np.float32))


@contextlib.contextmanager
def _restore_registry():
    """Undoes registrations and overwrites made inside the block."""
    saved = {name: guidance.get(name) for name in guidance.registered_names()}
    try:
        yield
    finally:
        for name in guidance.registered_names():
            if name not in saved:
                guidance.unregister(name)
        for name, fn in saved.items():
            guidance.register(name, fn, overwrite=True)


@pytest.fixture
def temp_names():
    """Lets a test register names; the registry is restored afterwards."""
    with _restore_registry():
        yield


# ----------------------------- centre of mass / size ------------------------ #


@pytest.mark.parametrize("h,w,r,c", [(16, 16, 3, 11), (9, 13, 8, 0), (32, 20, 0, 19)])
def test_single_pixel_center_and_size(h, w, r, c):
    img = _image(h, w, 3, [(r, c)])
    np.testing.assert_allclose(guidance.center_of_mass_x(img), [[c / (w - 1)]], atol=1e-5)
    np.testing.assert_allclose(guidance.center_of_mass_y(img), [[r / (h - 1)]], atol=1e-5)
    np.testing.assert_allclose(guidance.object_size(img), [[0.0]], atol=1e-6)


def test_two_pixels_known_size_and_center():
    h, w = 11, 21
    img = _image(h, w, 1, [(2, 5), (8, 15)])
    dy, dx = 6 / (h - 1), 10 / (w - 1)
    np.testing.assert_allclose(guidance.center_of_mass_x(img), [[10 / (w - 1)]], atol=1e-5)
    np.testing.assert_allclose(guidance.center_of_mass_y(img), [[5 / (h - 1)]], atol=1e-5)
    # Each pixel sits half the distance away from the centre.
    np.testing.assert_allclose(
        guidance.object_size(img), [[(dx**2 + dy**2) / 4]], rtol=1e-4
    )


def test_two_pixels_unequal_intensity():
    img = np.zeros((1, 5, 5, 3), np.float32)
    img[0, 0, 0] = 1.0
    img[0, 0, 4] = 0.25
    # Weights a=1, b=0.25 at normalised distance d=1: S = ab / (a + b)^2 * d^2.
    np.testing.assert_allclose(guidance.center_of_mass_x(img), [[0.25 / 1.25]], atol=1e-5)
    np.testing.assert_allclose(guidance.object_size(img), [[0.25 / 1.25**2]], rtol=1e-4)


def test_uniform_image_center_is_half():
    img = tf.fill([2, 7, 10, 3], 0.3)
    np.testing.assert_allclose(guidance.center_of_mass_x(img), [[0.5], [0.5]], atol=1e-5)
    np.testing.assert_allclose(guidance.center_of_mass_y(img), [[0.5], [0.5]], atol=1e-5)


@pytest.mark.parametrize("s", [1, 4, 9])
def test_square_size(s):
    h = w = 32
    img = np.zeros((1, h, w, 1), np.float32)
    img[0, 5 : 5 + s, 12 : 12 + s] = 0.8
    # Discrete uniform over s values has variance (s^2 - 1) / 12 per axis.
    expected = (s**2 - 1) / 12 * (1 / (w - 1) ** 2 + 1 / (h - 1) ** 2)
    np.testing.assert_allclose(guidance.object_size(img), [[expected]], atol=1e-6, rtol=1e-4)
    centre = (12 + (s - 1) / 2) / (w - 1)
    np.testing.assert_allclose(guidance.center_of_mass_x(img), [[centre]], atol=1e-5)


def test_object_area_is_the_lit_share_and_ignores_where_pixels_are():
    img = np.zeros((2, 10, 20, 3), np.float32)
    img[0, 2:6, 3:8] = 1.0  # 20 lit pixels
    img[1, 0, 0] = 1.0  # 6 bright and 5 half-bright pixels spread over the image: 8.5
    img[1, 9, 19] = 1.0
    img[1, ::2, 10, :] = 0.5
    img[1, 1:9:2, 15] = 1.0
    np.testing.assert_allclose(guidance.object_area(img), [[20 / 200], [8.5 / 200]], rtol=1e-6)


def test_a_stray_pixel_moves_object_size_far_more_than_object_area():
    img = np.zeros((2, 64, 64, 1), np.float32)
    img[:, 20:34, 20:34] = 1.0  # a 196-pixel square
    img[1, 60, 60] = 1.0  # plus one speck far away
    area, size = guidance.object_area(img).numpy()[:, 0], guidance.object_size(img).numpy()[:, 0]
    assert area[1] / area[0] < 1.01
    assert size[1] / size[0] > 1.1


def test_batch_items_are_independent():
    img = tf.concat([_image(8, 8, 1, [(0, 0)]), _image(8, 8, 1, [(7, 7)])], axis=0)
    np.testing.assert_allclose(guidance.center_of_mass_x(img), [[0.0], [1.0]], atol=1e-5)


# -------------------------------- average colour ---------------------------- #


def test_average_color_of_constant_image_is_exact():
    # Dyadic colours: float32 sums of them are exact, so the mean is too.
    colour = np.array([0.125, 0.5, 0.75], np.float32)
    img = tf.constant(np.broadcast_to(colour, (3, 9, 7, 3)).copy())
    for seed in (None, 3):
        out = guidance.average_color(img, seed=seed).numpy()
        assert out.shape == (3, 3)
        np.testing.assert_array_equal(out, np.broadcast_to(colour, (3, 3)))
    # Other colours are equal up to float32 summation round-off.
    colour = np.array([0.1, 0.6, 0.9], np.float32)
    img = tf.constant(np.broadcast_to(colour, (2, 5, 5, 3)).copy())
    np.testing.assert_allclose(guidance.average_color(img), [colour, colour], rtol=1e-5)


def test_average_color_seed_and_sampling():
    img = _random_images((4, 16, 16, 3))
    a = guidance.average_color(img, num_pixels=8, seed=5)
    b = guidance.average_color(img, num_pixels=8, seed=5)
    c = guidance.average_color(img, num_pixels=8, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # Unseeded calls sample afresh.
    d = guidance.average_color(img, num_pixels=8)
    e = guidance.average_color(img, num_pixels=8)
    assert not np.allclose(d, e)
    # Many samples approach the true mean colour.
    many = guidance.average_color(img, num_pixels=20000, seed=1)
    np.testing.assert_allclose(many, tf.reduce_mean(img, axis=[1, 2]), atol=0.02)


def test_average_color_rejects_bad_num_pixels():
    with pytest.raises(ValueError, match="num_pixels"):
        guidance.average_color(tf.zeros([1, 4, 4, 3]), num_pixels=0)


# ------------------------------------- crop --------------------------------- #


@pytest.mark.parametrize("size", [64, 32])
def test_crop_named_boxes_rows(size):
    rows = np.arange(size, dtype=np.float32)
    img = tf.constant(np.broadcast_to(rows[None, :, None, None], (2, size, size, 3)).copy())
    q = size // 4
    for i, name in enumerate(["top", "middle_upper", "middle_lower", "bottom"]):
        out = guidance.crop(img, name).numpy()
        assert out.shape == (2, q, size, 3)
        np.testing.assert_array_equal(out[0, :, 0, 0], np.arange(i * q, (i + 1) * q))
    assert set(guidance.CROP_BOXES) == {"top", "middle_upper", "middle_lower", "bottom"}


def test_crop_explicit_box():
    img = _random_images((1, 20, 10, 1))
    out = guidance.crop(img, (0.5, 0.2, 0.5, 0.3))
    np.testing.assert_array_equal(out, img[:, 10:20, 2:5, :])
    np.testing.assert_array_equal(guidance.crop(img, [0, 0, 1, 1]), img)


def test_crop_errors_name_the_box():
    img = tf.zeros([1, 64, 64, 3])
    with pytest.raises(ValueError, match="'nose'"):
        guidance.crop(img, "nose")
    with pytest.raises(ValueError, match=r"\(0\.5, 0\.0, 0\.75, 1\.0\).*outside"):
        guidance.crop(img, (0.5, 0.0, 0.75, 1.0))
    with pytest.raises(ValueError, match="outside"):
        guidance.crop(img, (-0.1, 0.0, 0.5, 1.0))
    with pytest.raises(ValueError, match="empty"):
        guidance.crop(img, (0.0, 0.0, 0.001, 1.0))
    # 'middle_upper' on a 2x2 image would cover rows 1:1.
    with pytest.raises(ValueError, match="'middle_upper'.*empty at 2x2"):
        guidance.crop(tf.zeros([1, 2, 2, 1]), "middle_upper")
    with pytest.raises(ValueError, match="4-tuple"):
        guidance.crop(img, (0.0, 0.0, 1.0))


# ------------------------------------ edges --------------------------------- #


def test_edges_constant_image_is_zero():
    out = guidance.edges(tf.fill([2, 12, 12, 3], 0.7))
    assert out.shape == (2, 12, 12, 1)
    np.testing.assert_allclose(out, 0.0, atol=1e-6)


def test_edges_vertical_step():
    img = np.zeros((1, 10, 12, 3), np.float32)
    img[:, :, 6:, :] = 1.0
    out = guidance.edges(img).numpy()[0, :, :, 0]
    # Sobel responds on the two columns either side of the step.
    np.testing.assert_allclose(out[:, 5:7], 4.0, atol=1e-3)
    np.testing.assert_allclose(np.delete(out, [5, 6], axis=1), 0.0, atol=1e-6)


# ------------------------------ gradients / graph --------------------------- #


def test_builtins_are_registered():
    assert set(BUILTINS) <= set(guidance.registered_names())
    assert set(SPECS) == set(BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("channels", [1, 3])
def test_gradient_finite_and_nonzero(name, channels):
    fn = guidance.build(SPECS[name])
    img = _random_images((2, 16, 16, channels), seed=1)
    with tf.GradientTape() as tape:
        tape.watch(img)
        loss = tf.reduce_sum(tf.square(fn(img)))
    grad = tape.gradient(loss, img)
    assert grad is not None
    grad = tf.convert_to_tensor(grad).numpy()
    assert np.all(np.isfinite(grad))
    assert np.any(grad != 0)


@pytest.mark.parametrize("name", BUILTINS)
def test_all_black_image_is_finite(name):
    fn = guidance.build(SPECS[name])
    img = tf.zeros([2, 16, 16, 3])
    with tf.GradientTape() as tape:
        tape.watch(img)
        out = fn(img)
        loss = tf.reduce_sum(out)
    grad = tf.convert_to_tensor(tape.gradient(loss, img)).numpy()
    assert np.all(np.isfinite(out.numpy()))
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("hwc", [(16, 16, 3), (20, 12, 1)])
def test_tf_function_symbolic_batch(name, hwc):
    fn = guidance.build(SPECS[name])
    graph_fn = tf.function(fn, input_signature=[tf.TensorSpec([None, *hwc], tf.float32)])
    img = _random_images((3, *hwc), seed=2)
    out = graph_fn(img)
    assert out.dtype == tf.float32
    assert out.shape.rank in (2, 4) and out.shape[0] == 3
    np.testing.assert_allclose(out, fn(img), rtol=1e-5, atol=1e-6)
    # The static output shape (batch aside) is known in the graph.
    concrete = graph_fn.get_concrete_function()
    static = concrete.structured_outputs.shape
    assert static[0] is None and None not in static[1:]


# ----------------------------------- registry ------------------------------- #


def test_register_get_build_round_trip(temp_names):
    def brightness(images, scale=1.0):
        return scale * tf.reduce_mean(images, axis=[1, 2, 3])[:, None]

    assert guidance.register("brightness", brightness) is brightness
    assert guidance.get("brightness") is brightness
    assert "brightness" in guidance.registered_names()
    assert guidance.registered_names() == sorted(guidance.registered_names())
    g = guidance.build({"name": "brightness", "scale": 2.0})
    assert g.spec == {"name": "brightness", "scale": 2.0}
    assert "brightness" in g.__name__ and "scale=2.0" in repr(g)
    np.testing.assert_allclose(g(tf.fill([2, 3, 3, 1], 0.25)), [[0.5], [0.5]])
    assert guidance.build("brightness")(tf.ones([1, 2, 2, 3])).shape == (1, 1)


def test_register_as_decorator(temp_names):
    @guidance.register("negative")
    def negative(images):
        return 1.0 - images

    assert guidance.get("negative") is negative


def test_duplicate_registration(temp_names):
    with pytest.raises(ValueError, match="'crop' already exists"):
        guidance.register("crop", lambda images: images)
    replacement = lambda images: images  # noqa: E731
    guidance.register("crop", replacement, overwrite=True)
    assert guidance.get("crop") is replacement


def test_restore_registry_undoes_changes():
    with _restore_registry():
        guidance.register("scratch", lambda images: images)
        guidance.register("crop", lambda images: images, overwrite=True)
    assert "scratch" not in guidance.registered_names()
    assert guidance.get("crop") is guidance.crop
    with pytest.raises(ValueError, match="Unknown guidance 'scratch'"):
        guidance.unregister("scratch")


def test_register_requires_callable():
    with pytest.raises(TypeError, match="callable"):
        guidance.register("not_a_function", 42)
    assert "not_a_function" not in guidance.registered_names()


def test_unknown_name_lists_registered():
    with pytest.raises(ValueError) as info:
        guidance.get("foo")
    message = str(info.value)
    assert message.startswith("Unknown guidance 'foo'. Registered: ")
    assert ", ".join(guidance.registered_names()) in message
    with pytest.raises(ValueError, match="Unknown guidance 'foo'"):
        guidance.build({"name": "foo"})


def test_build_unknown_param_names_it():
    with pytest.raises(ValueError) as info:
        guidance.build({"name": "crop", "box": "top", "boxx": 1})
    message = str(info.value)
    assert "'boxx'" in message and "box" in message and "crop" in message
    with pytest.raises(ValueError, match="'num_pixel'.*num_pixels, seed"):
        guidance.build({"name": "average_color", "num_pixel": 3})


def test_build_missing_and_malformed_specs():
    with pytest.raises(ValueError, match="missing required.*box"):
        guidance.build("crop")
    with pytest.raises(ValueError, match="no 'name'"):
        guidance.build({"box": "top"})
    with pytest.raises(TypeError):
        guidance.build(3)


def test_build_crop_matches_direct_call():
    img = _random_images((2, 64, 64, 3))
    g = guidance.build({"name": "crop", "box": "bottom"})
    assert g.spec == {"name": "crop", "box": "bottom"}
    np.testing.assert_array_equal(g(img), guidance.crop(img, "bottom"))
    np.testing.assert_array_equal(g(img), img[:, 48:64])
