"""Disentanglement metrics bounded on synthetic ground truth whose observation is the
factor vector itself, so the ideal, useless and redundant representations are known."""

import numpy as np
import pytest

from udgan_tf.data import GroundTruthData
from udgan_tf.evaluation.metrics import METRICS, get_metric
from udgan_tf.evaluation.metrics import dci as dci_module
from udgan_tf.evaluation.metrics.utils import (discrete_entropy, discrete_mutual_info,
                                    generate_batch_factor_code, histogram_discretize)


class FactorVectorData(GroundTruthData):
    """Three factors; the "image" of a factor vector is that vector, shape (1, 1, 3)."""

    factor_names = ("a", "b", "c")
    factor_sizes = (4, 5, 6)
    observation_shape = (1, 1, 3)

    def sample_observations_from_factors(self, factors, random_state):
        return np.asarray(factors, dtype=np.float32).reshape(len(factors), 1, 1, -1)


def identity(observations):
    return observations.reshape(len(observations), -1)


def constant(observations):
    return np.zeros((len(observations), 3))


def duplicated(observations):
    return np.hstack([identity(observations), identity(observations)])


# Small sizes: the whole file runs in a few seconds.
SMALL = {
    "beta_vae_score": {"num_train": 500, "num_eval": 500},
    "factor_vae_score": {"num_train": 500, "num_eval": 500, "num_variance_estimate": 1000},
    "mig": {"num_train": 1000},
    "dci": {"num_train": 500, "num_test": 500},
    "sap_score": {"num_train": 1000, "num_test": 1000},
}
DATA = FactorVectorData()


def run(name, representation, seed=0, **overrides):
    params = {**SMALL[name], **overrides}
    return get_metric(name)(DATA, representation, np.random.RandomState(seed), **params)


@pytest.mark.parametrize("name, keys, overrides", [
    ("beta_vae_score", ["train_accuracy", "eval_accuracy"], {}),
    ("factor_vae_score", ["train_accuracy", "eval_accuracy"], {}),
    ("mig", ["discrete_mig"], {}),
    ("dci", ["disentanglement", "completeness", "informativeness_test"], {}),
    # As in disentanglement_lib's own test: with discrete factors the score of a
    # perfect code is capped by the one-dim linear SVMs (see test_sap_discrete_identity).
    ("sap_score", ["SAP_score"], {"continuous_factors": True}),
])
def test_identity_representation_scores_high(name, keys, overrides):
    scores = run(name, identity, **overrides)
    for key in keys:
        assert 0.9 <= scores[key] <= 1.0 + 1e-9, (key, scores)


def test_factor_vae_identity_keeps_every_dim_active():
    assert run("factor_vae_score", identity)["num_active_dims"] == 3


def test_sap_discrete_identity_beats_redundant_and_constant_codes():
    # A linear SVM on one dim cannot separate a middle class from both sides, so a
    # perfect code reaches ~0.4 here, not 1; what matters is the gap to bad codes.
    assert run("sap_score", identity)["SAP_score"] >= 0.3
    assert run("sap_score", duplicated)["SAP_score"] <= 0.05
    assert run("sap_score", constant)["SAP_score"] <= 0.05


@pytest.mark.slow
def test_constant_representation_scores_low():
    beta_vae = run("beta_vae_score", constant)
    assert abs(beta_vae["eval_accuracy"] - 1 / DATA.num_factors) <= 0.1
    # No active dim: the reference's defined result.
    assert run("factor_vae_score", constant) == {
        "train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    assert run("mig", constant)["discrete_mig"] <= 0.2
    dci = run("dci", constant)
    assert dci["disentanglement"] <= 0.2 and dci["completeness"] <= 0.2
    assert run("sap_score", constant)["SAP_score"] <= 0.2
    assert run("sap_score", constant, continuous_factors=True)["SAP_score"] <= 0.2


def test_duplicated_representation_scores_low_on_mig_and_sap():
    assert run("mig", duplicated)["discrete_mig"] <= 0.2
    assert run("sap_score", duplicated)["SAP_score"] <= 0.2
    assert run("sap_score", duplicated, continuous_factors=True)["SAP_score"] <= 0.2


@pytest.mark.slow
def test_duplicated_representation_is_disentangled_but_incomplete_for_dci():
    scores = run("dci", duplicated)
    assert scores["disentanglement"] >= 0.9
    # Each factor's importance splits evenly over 2 of the 6 codes.
    target = 1.0 - np.log(2) / np.log(6)
    assert abs(scores["completeness"] - target) <= 0.1


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(METRICS))
def test_same_seed_gives_identical_scores(name):
    # The duplicated code makes the boosted trees break ties, which must be seeded too.
    first, second = run(name, duplicated, seed=7), run(name, duplicated, seed=7)
    assert first == second
    assert all(isinstance(value, (float, int)) for value in first.values())


@pytest.mark.slow
@pytest.mark.parametrize("name, expected_keys", [
    ("beta_vae_score", {"train_accuracy", "eval_accuracy"}),
    ("factor_vae_score", {"train_accuracy", "eval_accuracy", "num_active_dims"}),
    ("mig", {"discrete_mig"}),
    ("dci", {"disentanglement", "completeness", "informativeness_train", "informativeness_test"}),
    ("sap_score", {"SAP_score"}),
])
def test_returned_keys_match_disentanglement_lib(name, expected_keys):
    assert set(run(name, identity)) == expected_keys


def test_get_metric():
    assert get_metric("mig") is METRICS["mig"]
    with pytest.raises(ValueError) as error:
        get_metric("nope")
    message = str(error.value)
    assert "'nope'" in message
    for name in ("beta_vae_score", "factor_vae_score", "mig", "dci", "sap_score"):
        assert name in message


@pytest.mark.parametrize("name, param, value", [
    ("beta_vae_score", "batch_size", 0),
    ("beta_vae_score", "num_eval", 2.5),
    ("factor_vae_score", "num_variance_estimate", -1),
    ("factor_vae_score", "batch_size", 1),  # one observation has no variance
    ("mig", "num_bins", 0),
    ("mig", "num_train", "100"),
    ("dci", "num_test", 0),
    ("dci", "batch_size", True),
    ("sap_score", "num_train", 0),
    ("sap_score", "continuous_factors", "yes"),
])
def test_bad_parameter_is_named(name, param, value):
    with pytest.raises(ValueError, match=param):
        run(name, identity, **{param: value})


@pytest.mark.parametrize("name", ["mig", "sap_score"])
def test_gap_metrics_need_two_code_dims(name):
    with pytest.raises(ValueError, match="at least 2 dims"):
        run(name, lambda x: identity(x)[:, :1])


def test_representation_of_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match=r"\[B, D\]"):
        run("mig", lambda x: identity(x)[:-1])


def test_generate_batch_factor_code_is_transposed_and_complete():
    codes, factors = generate_batch_factor_code(DATA, identity, 37, np.random.RandomState(0), 16)
    assert codes.shape == (3, 37) and factors.shape == (3, 37)
    np.testing.assert_array_equal(codes, factors)


def test_histogram_discretize_and_information():
    random_state = np.random.RandomState(0)
    target = np.stack([random_state.uniform(size=2000), np.repeat(np.arange(4), 500)])
    binned = histogram_discretize(target, num_bins=10)
    assert binned.shape == target.shape
    assert binned[0].min() == 1 and binned[0].max() == 10
    assert len(np.unique(binned[1])) == 4
    np.testing.assert_allclose(discrete_entropy(target[1:]), [np.log(4)])
    mutual_info = discrete_mutual_info(binned, target[1:])
    assert mutual_info.shape == (2, 1)
    np.testing.assert_allclose(mutual_info[1, 0], np.log(4))
    assert mutual_info[0, 0] < 0.05


def test_dci_scores_of_known_importance_matrices():
    diagonal = np.diag(np.full(4, 5.0))
    assert dci_module.disentanglement(diagonal) == pytest.approx(1.0)
    assert dci_module.completeness(diagonal) == pytest.approx(1.0)
    zero = np.zeros((4, 4))
    assert dci_module.disentanglement(zero) == pytest.approx(0.0, abs=1e-7)
    assert dci_module.completeness(zero) == pytest.approx(0.0, abs=1e-7)
    redundant = np.vstack([diagonal, diagonal])  # 8 codes, each factor in two
    assert dci_module.disentanglement(redundant) == pytest.approx(1.0)
    assert dci_module.completeness(redundant) == pytest.approx(1.0 - np.log(2) / np.log(8))
