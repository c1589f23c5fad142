"""Tests of the procedural dSprites data set and the data-set registry."""

import numpy as np
import pytest
from PIL import Image

from udgan_tf.data import (
    DSprites,
    GroundTruthData,
    available_datasets,
    get_ground_truth_dataset,
)

SIZES = (3, 6, 40, 32, 32)
LAST = np.array(SIZES) - 1
ROWS, COLS = np.mgrid[:64, :64]


@pytest.fixture(scope="module")
def data():
    return DSprites()


def render(data, factors):
    """Renders ``[N, 5]`` factors to float64 ``[N, 64, 64]``."""
    return data.sample_observations_from_factors(np.asarray(factors), None)[..., 0].astype(np.float64)


def moments(images):
    """Centre of mass x (column), y (row), spread S and area of ``[N, H, W]`` images."""
    h, w = images.shape[1:]
    rows, cols = np.mgrid[:h, :w]
    mass = images.sum(axis=(1, 2))
    mx = (images * cols).sum(axis=(1, 2)) / mass
    my = (images * rows).sum(axis=(1, 2)) / mass
    dist2 = (cols - mx[:, None, None]) ** 2 + (rows - my[:, None, None]) ** 2
    spread = (images * dist2).sum(axis=(1, 2)) / mass
    return mx, my, spread, mass


def all_sprites(position_x=16, position_y=16):
    """Every (shape, scale, orientation) at one position: ``[720, 5]``."""
    grid = np.meshgrid(range(3), range(6), range(40), [position_x], [position_y], indexing="ij")
    return np.stack([g.ravel() for g in grid], axis=1)


# --------------------------------------------------------------------------- grid and index


def test_factor_grid_matches_the_original(data):
    assert isinstance(data, GroundTruthData)
    assert data.factor_names == ("shape", "scale", "orientation", "position_x", "position_y")
    assert data.factor_sizes == SIZES
    assert data.num_factors == 5
    assert len(data) == 737280
    np.testing.assert_array_equal(data.factor_bases, [245760, 40960, 1024, 32, 1])
    values = data.factor_values
    np.testing.assert_array_equal(values["shape"], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(values["scale"], np.linspace(0.5, 1.0, 6))
    np.testing.assert_allclose(values["scale"], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    np.testing.assert_allclose(values["orientation"], np.linspace(0, 2 * np.pi, 40))
    np.testing.assert_allclose(values["orientation"][1], 0.16110732, atol=1e-8)  # notebook metadata
    np.testing.assert_allclose(values["position_x"], np.linspace(0, 1, 32))
    np.testing.assert_allclose(values["position_y"], np.linspace(0, 1, 32))
    np.testing.assert_allclose(values["position_x"][1], 0.03225806, atol=1e-8)
    assert data.shape_names == ("square", "ellipse", "heart")
    with pytest.raises(ValueError):
        values["scale"][0] = 2.0  # read-only
    real = data.latent_values([[2, 5, 39, 31, 0]])
    np.testing.assert_allclose(real, [[3.0, 1.0, 2 * np.pi, 1.0, 0.0]])


def test_index_round_trip(data):
    rng = np.random.RandomState(0)
    corners = [0, 1, 31, 32, 1023, 1024, 40959, 40960, 245759, 245760, 737279]
    indices = np.concatenate([corners, rng.randint(len(data), size=1000)])
    np.testing.assert_array_equal(data.index_of(data.factors_of(indices)), indices)
    factors = data.sample_factors(500, rng)
    np.testing.assert_array_equal(data.factors_of(data.index_of(factors)), factors)

    assert data.index_of([LAST])[0] == 737279
    np.testing.assert_array_equal(data.factors_of([737279]), [LAST])
    np.testing.assert_array_equal(data.factors_of([245760]), [[1, 0, 0, 0, 0]])
    np.testing.assert_array_equal(data.factors_of([40960]), [[0, 1, 0, 0, 0]])
    np.testing.assert_array_equal(data.factors_of([1024]), [[0, 0, 1, 0, 0]])
    np.testing.assert_array_equal(data.factors_of([32]), [[0, 0, 0, 1, 0]])
    np.testing.assert_array_equal(data.factors_of([1]), [[0, 0, 0, 0, 1]])  # position_y fastest
    with pytest.raises(ValueError):
        data.factors_of([737280])


def test_observations_from_indices_follow_the_index_order(data):
    indices = np.array([0, 1, 32, 737279])
    np.testing.assert_array_equal(
        data.observations_from_indices(indices),
        data.sample_observations_from_factors(data.factors_of(indices)),
    )


# --------------------------------------------------------------------------- rendering


def test_images_are_binary_float32_with_one_sprite(data):
    factors, images = data.sample(300, np.random.RandomState(1))
    assert images.shape == (300, 64, 64, 1)
    assert images.dtype == np.float32
    assert data.observation_shape == (64, 64, 1)
    assert set(np.unique(images)) == {0.0, 1.0}
    area = images.sum(axis=(1, 2, 3))
    assert area.min() >= 20  # never empty; smallest sprites are ~70-100 px
    assert area.max() <= 450  # square at scale 1: 441 px upright, up to ~449 rotated
    np.testing.assert_array_equal(  # deterministic, random_state unused
        images, data.sample_observations_from_factors(factors, np.random.RandomState(7))
    )


def test_invalid_factors_raise(data):
    with pytest.raises(ValueError, match=r"shape \[N, 5\]"):
        data.sample_observations_from_factors(np.zeros((2, 4), int))
    with pytest.raises(ValueError, match="lie in"):
        data.sample_observations_from_factors([[3, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="lie in"):
        data.sample_observations_from_factors([[0, 0, 0, 0, -1]])


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_max_scale_sprites_stay_inside_the_frame_at_the_corners(data, shape):
    sprites = all_sprites()
    sprites = sprites[(sprites[:, 0] == shape) & (sprites[:, 1] == 5)]  # 40 orientations
    centre_area = render(data, sprites).sum(axis=(1, 2))
    for position_x in (0, 31):
        for position_y in (0, 31):
            factors = sprites.copy()
            factors[:, 3], factors[:, 4] = position_x, position_y
            images = render(data, factors)
            border = images[:, 0, :].sum() + images[:, -1, :].sum()
            border += images[:, :, 0].sum() + images[:, :, -1].sum()
            assert border == 0, (shape, position_x, position_y)
            np.testing.assert_array_equal(images.sum(axis=(1, 2)), centre_area)  # nothing clipped


def test_extreme_positions_put_the_largest_sprite_near_the_edges(data):
    # Square at scale 1, 45 degrees (orientation class 5): gap of ~1-3 px to the frame.
    factors = np.array([[0, 5, 5, 0, 0], [0, 5, 5, 31, 31]])
    images = render(data, factors)
    cols = np.nonzero(images[0].any(axis=0))[0]
    rows = np.nonzero(images[0].any(axis=1))[0]
    assert 1 <= cols[0] <= 3 and 1 <= rows[0] <= 3
    cols = np.nonzero(images[1].any(axis=0))[0]
    rows = np.nonzero(images[1].any(axis=1))[0]
    assert 60 <= cols[-1] <= 62 and 60 <= rows[-1] <= 62


def test_position_x_moves_right_and_position_y_moves_down(data):
    rng = np.random.RandomState(2)
    for shape in range(3):
        for _ in range(3):
            scale, orientation, other = rng.randint(6), rng.randint(40), rng.randint(32)
            steps = np.arange(32)
            fixed = [np.full(32, v) for v in (shape, scale, orientation)]
            along_x = np.stack(fixed + [steps, np.full(32, other)], axis=1)
            along_y = along_x[:, [0, 1, 2, 4, 3]]
            mx, my, _, _ = moments(render(data, along_x))
            assert np.all(np.diff(mx) > 0.99) and np.all(np.diff(mx) < 1.01)  # exact 1-px steps
            np.testing.assert_allclose(my, my[0])
            mx, my, _, _ = moments(render(data, along_y))
            assert np.all(np.diff(my) > 0.99) and np.all(np.diff(my) < 1.01)  # rows grow: down
            np.testing.assert_allclose(mx, mx[0])
    # Centres span the central half of the frame: [16.5, 47.5] in continuous pixel
    # coordinates (pixel i spans [i, i + 1), so its centre of mass coordinate is i + 0.5).
    mx, my, _, _ = moments(render(data, [[0, 5, 0, 0, 0], [0, 5, 0, 31, 31]]))
    np.testing.assert_allclose(mx + 0.5, [16.5, 47.5])
    np.testing.assert_allclose(my + 0.5, [16.5, 47.5])


def test_area_increases_with_scale(data):
    sprites = all_sprites()
    area = render(data, sprites).sum(axis=(1, 2)).reshape(3, 6, 40)
    assert np.all(np.diff(area, axis=1) > 0)  # every shape and orientation
    mean_area = area.mean(axis=2)
    np.testing.assert_allclose(mean_area[:, 5] / mean_area[:, 0], 4.0, rtol=0.1)  # ~ scale^2
    assert mean_area[0, 5] > mean_area[1, 5] > mean_area[2, 5]  # square > ellipse > heart


def test_shapes_and_counter_clockwise_rotation(data):
    square, ellipse, heart, heart_90 = render(
        data, [[0, 5, 0, 16, 16], [1, 5, 0, 16, 16], [2, 5, 0, 16, 16], [2, 5, 10, 16, 16]]
    )
    # Position class 16 puts the rotation centre at continuous pixel coordinate
    # 16.5 + 16 = 32.5 on both axes, i.e. the centre of pixel (32, 32).
    # Square at orientation 0: a filled axis-aligned 21x21 block around it.
    rows, cols = np.nonzero(square)
    assert (np.ptp(rows) + 1, np.ptp(cols) + 1) == (21, 21) and square.sum() == 441
    assert (rows.min(), cols.min()) == (22, 22)
    # Ellipse at orientation 0: wider than tall, 27 x 15 px.
    rows, cols = np.nonzero(ellipse)
    assert (np.ptp(cols) + 1, np.ptp(rows) + 1) == (27, 15)
    # Heart: lobes up, point down -> centre of mass ~1.6 px above the rotation
    # centre, and a notch in the middle column (32) at the top.
    mx, my, _, _ = moments(np.stack([heart, heart_90]))
    assert my[0] < 32 - 1.0 and abs(mx[0] - 32) < 0.01
    top = np.nonzero(heart.any(axis=1))[0][0]
    assert heart[top, 32] == 0 and heart[top, :32].any() and heart[top, 33:].any()  # two lobes
    bottom = np.nonzero(heart.any(axis=1))[0][-1]
    assert heart[bottom].sum() <= 3 and heart[bottom, 32] == 1  # the point
    # Orientation class 10 (~92 deg) counter-clockwise: the lobes (most of the
    # mass) go left, the point right.
    assert mx[1] < 32 - 1.0 and abs(my[1] - 32) < 0.5
    cols = np.nonzero(heart_90.any(axis=0))[0]
    assert heart_90[:, cols[-1]].sum() <= 3  # the point is the rightmost column


@pytest.mark.slow
def test_table7_correlations(data):
    """Correlations of the factors with centre of mass and spread, as in the paper."""
    factors, images = data.sample(8000, np.random.RandomState(3))
    mx, my, spread, _ = moments(images[..., 0].astype(np.float64))
    stats = {"Mx": mx, "My": my, "S": spread}
    corr = {
        (name, stat): np.corrcoef(factors[:, i], values)[0, 1]
        for i, name in enumerate(data.factor_names)
        for stat, values in stats.items()
    }
    expected = {  # Table 7 of the paper, real dSprites
        ("scale", "S"): 0.910,
        ("shape", "S"): -0.366,
        ("position_x", "Mx"): 0.998,
        ("position_y", "My"): 0.998,
    }
    for key, target in expected.items():
        assert abs(corr[key] - target) < 0.05, (key, corr[key], target)
    for key, value in corr.items():
        if key not in expected:  # orientation with everything, and cross terms
            assert abs(value) < 0.05, (key, value)


# --------------------------------------------------------------------------- resolution


@pytest.mark.parametrize("resolution", [32, 16])
def test_lower_resolutions_average_pool_the_64px_image(data, resolution):
    low = DSprites(resolution=resolution)
    assert low.observation_shape == (resolution, resolution, 1)
    factors = low.sample_factors(50, np.random.RandomState(4))
    images = low.sample_observations_from_factors(factors)
    assert images.shape == (50, resolution, resolution, 1) and images.dtype == np.float32
    f = 64 // resolution
    full = render(data, factors)
    pooled = full.reshape(50, resolution, f, resolution, f).mean(axis=(2, 4))
    np.testing.assert_allclose(images[..., 0], pooled, atol=1e-7)
    assert images.min() >= 0 and images.max() <= 1
    assert len(np.unique(images)) > 2  # no longer binary


@pytest.mark.parametrize("resolution", [0, 8, 48, 65, 128, "64", 64.0, True, None])
def test_invalid_resolution_raises(resolution):
    with pytest.raises(ValueError, match=r"resolution must be one of \(64, 32, 16\)") as info:
        DSprites(resolution=resolution)
    assert repr(resolution) in str(info.value)


# --------------------------------------------------------------------------- tf.data


def test_tf_renderer_matches_numpy(data):
    import tensorflow as tf

    factors = data.sample_factors(300, np.random.RandomState(5))
    factors[:4] = [[0, 0, 0, 0, 0], LAST, [2, 5, 5, 0, 31], [1, 5, 20, 31, 0]]
    for resolution in (64, 32, 16):
        dataset = DSprites(resolution=resolution)
        expected = dataset.sample_observations_from_factors(factors)
        actual = dataset.tf_renderer()(tf.constant(factors, tf.int32)).numpy()
        np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_training_dataset_is_deterministic_and_well_formed(data):
    first = [b.numpy() for b in data.training_dataset(64, seed=3).take(3)]
    again = [b.numpy() for b in data.training_dataset(64, seed=3).take(3)]
    other = [b.numpy() for b in data.training_dataset(64, seed=4).take(3)]
    for batch in first:
        assert batch.shape == (64, 64, 64, 1) and batch.dtype == np.float32
        assert set(np.unique(batch)) <= {0.0, 1.0}
        assert batch.sum(axis=(1, 2, 3)).min() > 0
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])  # batches differ
    assert not np.array_equal(first[0], other[0])  # seeds differ

    spec = data.training_dataset(8, seed=0).element_spec
    assert tuple(spec.shape) == (8, 64, 64, 1) and spec.dtype.name == "float32"
    low = next(iter(DSprites(resolution=16).training_dataset(5, seed=0))).numpy()
    assert low.shape == (5, 16, 16, 1)
    np.testing.assert_allclose(low * 16, np.round(low * 16), atol=1e-5)


@pytest.mark.slow
def test_training_dataset_draws_uniformly_over_the_grid(data):
    """Mean area and centre of mass of pipeline batches match uniform factor draws."""
    batches = np.concatenate([b.numpy() for b in data.training_dataset(1000, seed=11).take(4)])
    mx, my, spread, area = moments(batches[..., 0].astype(np.float64))
    _, reference = data.sample(4000, np.random.RandomState(12))
    rmx, rmy, rspread, rarea = moments(reference[..., 0].astype(np.float64))
    assert abs(area.mean() - rarea.mean()) < 0.05 * rarea.mean()
    assert abs(spread.mean() - rspread.mean()) < 0.05 * rspread.mean()
    for a, b in ((mx, rmx), (my, rmy)):
        assert abs(a.mean() - 31.5) < 0.6 and abs(a.std() - b.std()) < 0.5
        assert a.min() < 18 and a.max() > 45  # extreme positions reached


def test_training_dataset_argument_errors(data):
    with pytest.raises(ValueError, match="batch_size"):
        data.training_dataset(0, seed=0)
    with pytest.raises(ValueError, match="seed"):
        data.training_dataset(4, seed=-1)


# --------------------------------------------------------------------------- registry


def test_registry_builds_dsprites():
    assert available_datasets() == ["celeba_a", "colored_mnist", "dsprites", "image_folder", "mnist"]
    dataset = get_ground_truth_dataset("dsprites")
    assert isinstance(dataset, DSprites) and dataset.observation_shape == (64, 64, 1)
    dataset = get_ground_truth_dataset("dsprites", resolution=32)
    assert dataset.observation_shape == (32, 32, 1)


def test_registry_unknown_name():
    with pytest.raises(ValueError) as info:
        get_ground_truth_dataset("foo")
    assert str(info.value) == ("Unknown dataset 'foo'. Available: celeba_a, colored_mnist, dsprites, "
                               "image_folder, mnist.")


def test_data_sets_without_factors_are_not_ground_truth(tmp_path):
    Image.new("RGB", (20, 20)).save(tmp_path / "a.png")
    with pytest.raises(ValueError, match="'image_folder' has no ground-truth factors. Data sets with factors: "
                                         "colored_mnist, dsprites, mnist"):
        get_ground_truth_dataset("image_folder", data_dir=str(tmp_path), resolution=16, verbose=0)


def test_registry_unknown_option():
    with pytest.raises(ValueError) as info:
        get_ground_truth_dataset("dsprites", resolution=64, size=3, colour="red")
    message = str(info.value)
    assert "'colour', 'size'" in message and "'resolution'" not in message.split("Accepted")[0]
    assert message.endswith("Accepted options: resolution.")


def test_registry_passes_constructor_errors_through():
    with pytest.raises(ValueError, match="Received: resolution=20"):
        get_ground_truth_dataset("dsprites", resolution=20)
