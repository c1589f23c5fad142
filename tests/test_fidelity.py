"""Precision and recall (Kynkäänniemi et al. 2019), per shape, and the shape shares."""

import numpy as np
import pytest

from udgan_tf.evaluation.fidelity import (kth_neighbour_distances, per_shape_precision_recall, precision_recall,
                                          shape_shares)

SHAPES = ("square", "ellipse", "heart")


def three_clusters(num, rng):
    """Features of three well separated shapes: ``([num, 2], shape labels [num])``."""
    labels = rng.randint(0, 3, num)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    return centres[labels] + rng.normal(size=(num, 2)), labels


def test_the_kth_neighbour_distance_leaves_the_point_itself_out():
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_allclose(kth_neighbour_distances(points, k=1), [1, 1, 2, 4])
    np.testing.assert_allclose(kth_neighbour_distances(points, k=2), [3, 2, 3, 6])


def test_two_samples_of_one_distribution_score_high_precision_and_recall():
    rng = np.random.RandomState(0)
    real, _ = three_clusters(2000, rng)
    generated, _ = three_clusters(2000, rng)
    scores = precision_recall(real, generated)
    assert scores["precision"] >= 0.95 and scores["recall"] >= 0.95 and scores["k"] == 3


def test_a_generator_of_one_shape_has_high_precision_low_recall_and_one_shape_share():
    rng = np.random.RandomState(1)
    real, real_shapes = three_clusters(3000, rng)
    generated, shapes = three_clusters(3000, rng)
    generated, shapes = generated[shapes == 2], shapes[shapes == 2]            # hearts only, drawn well
    scores = precision_recall(real, generated)
    assert scores["precision"] >= 0.95 and scores["recall"] < 0.4
    assert shape_shares(shapes, SHAPES) == {"square": 0.0, "ellipse": 0.0, "heart": 1.0}
    per_shape = per_shape_precision_recall(real, real_shapes, generated, shapes, SHAPES)
    assert per_shape["heart"]["recall"] >= 0.9 and per_shape["square"] == {"precision": 0.0, "recall": 0.0, "k": 3}


def test_blobs_read_as_hearts_fail_the_recall_though_their_shares_and_precision_look_fine():
    """A classifier calls every blob something, and a blob may lie among real hearts in its features
    (as the project's oracle places discs); a generator of such blobs still covers few real hearts."""
    rng = np.random.RandomState(2)
    real, real_shapes = three_clusters(3000, rng)
    blobs = np.array([1.0, 11.0]) + 0.2 * rng.normal(size=(1000, 2))          # one tight spot of the hearts
    read_as = np.full(1000, 2)
    per_shape = per_shape_precision_recall(real, real_shapes, blobs, read_as, SHAPES)
    assert per_shape["heart"]["precision"] > 0.9                               # inside the real hearts ...
    assert per_shape["heart"]["recall"] < 0.2                                  # ... but covering few of them
    assert precision_recall(real, blobs)["recall"] < 0.1
    assert shape_shares(read_as, SHAPES)["heart"] == 1.0


@pytest.mark.slow
def test_the_generator_measures_report_fidelity_on_dsprites(tmp_path, monkeypatch):
    """Wiring: a stand-in generator of real squares, scored by a briefly trained oracle."""
    from udgan_tf.data import DSprites
    from udgan_tf.evaluation.generator_measures import generator_side_measures
    from udgan_tf.evaluation.oracle import train_oracle
    from udgan_tf.evaluation.report import fidelity_tables
    from udgan_tf.knobs import KnobLayout, parse_knobs

    data = DSprites(resolution=32)

    class Squares:
        layout = KnobLayout(parse_knobs([{"name": "x"}, {"name": "y"}]))
        knobs = layout.knobs

        def __call__(self, knobs):
            position = np.rint((np.asarray(knobs) + 1) / 2 * 31).astype(int)
            factors = np.stack([np.zeros(len(position), int), np.full(len(position), 3), np.zeros(len(position), int),
                                position[:, 0], position[:, 1]], 1)
            return data.sample_observations_from_factors(factors).astype(np.float32)

    oracle = train_oracle(data, steps=200, verbose=0)
    result = generator_side_measures(Squares(), data, oracle, num=600)
    assert set(result["shape_shares"]["generated"]) == {"square", "ellipse", "heart"}
    assert set(result["per_shape_precision_recall"]) == {"square", "ellipse", "heart"}
    assert 0.0 <= result["precision_recall"]["recall"] <= 1.0 and 0.0 < result["confidence"]["real"] <= 1.0
    assert "| square |" in fidelity_tables(result)


@pytest.mark.slow
def test_the_generator_measures_report_digit_confidence_on_coloured_mnist(tmp_path):
    """Without a shape factor the oracle's confidence is that of the first factor (the digit)."""
    from udgan_tf.data import ColoredMNIST
    from udgan_tf.data.fake import write_fake_mnist
    from udgan_tf.evaluation.generator_measures import generator_side_measures
    from udgan_tf.evaluation.oracle import train_oracle
    from udgan_tf.evaluation.report import fidelity_tables
    from udgan_tf.knobs import KnobLayout, parse_knobs

    write_fake_mnist(tmp_path, labels=np.arange(200) % 10)
    data = ColoredMNIST(data_dir=tmp_path, resolution=32, split="test")

    class Noise:
        layout = KnobLayout(parse_knobs([{"name": "shape"}, {"name": "color"}]))
        knobs = layout.knobs

        def __call__(self, knobs):
            rng = np.random.RandomState(0)
            return rng.uniform(0, 1, (len(knobs), 32, 32, 3)).astype(np.float32)

    oracle = train_oracle(data, steps=150, verbose=0)
    result = generator_side_measures(Noise(), data, oracle, num=300)
    confidence = result["confidence"]
    assert confidence["factor"] == "digit" and "shape_shares" not in result
    # The bars of the fake digits are easy: the oracle is surer of them than of uniform noise.
    assert confidence["real"] > confidence["generated"]
    assert "confidence in the digit it reads" in fidelity_tables(result)
