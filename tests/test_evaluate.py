"""python -m udgan_tf.evaluate on a tiny trained run; the oracle; the generator-side measures."""

import json

import numpy as np
import pytest
import yaml
from PIL import Image

from udgan_tf import evaluate, train
from udgan_tf.evaluation import evaluate_run
from udgan_tf import config as config_lib
from udgan_tf.data import DSprites, GroundTruthData
from udgan_tf.evaluation.generator_measures import frechet_distance, knob_factor_matrix, knob_mig
from udgan_tf.evaluation.oracle import FactorOracle, load_or_train_oracle, train_oracle

from conftest import TINY_KNOBS


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    config = config_lib.resolve_config({
        "dataset": {"name": "dsprites"},
        "model": {"knobs": TINY_KNOBS, "resolution": 16, "filters": 8},
        "training": {"steps": 2, "batch_size": 8, "log_every": 1, "image_every": 2, "checkpoint_every": 2,
                     "traversal_values": 3},
    })
    config["model"].setdefault("seed", 0)
    train.train(config, root / "run", verbose=0)
    return root / "run"


@pytest.fixture(autouse=True)
def oracle_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("UDGAN_TF_CACHE", str(tmp_path / "cache"))


def run_evaluate(capsys, *argv):
    code = evaluate.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.slow
def test_evaluate_writes_every_file_of_the_report(tiny_run, tmp_path, capsys):
    out = tmp_path / "report"
    code, stdout, err = run_evaluate(capsys, "--run-dir", str(tiny_run), "--output", str(out), "--num-points", "40",
                                     "--oracle-steps", "3")
    assert code == 0, err
    assert "[1/9] beta_vae_score ..." in stdout and "Report written to" in stdout
    results = json.loads((out / "metrics.json").read_text())
    assert set(results["metrics"]) == {"beta_vae_score", "factor_vae_score", "mig", "dci", "sap_score"}
    assert set(results["metrics"]["beta_vae_score"]) == {"train_accuracy", "eval_accuracy"}
    assert set(results["metrics"]["dci"]) >= {"disentanglement", "completeness", "informativeness_test"}
    assert "discrete_mig" in results["metrics"]["mig"] and "SAP_score" in results["metrics"]["sap_score"]
    generator = results["generator"]
    assert np.array(generator["knob_factor_matrix"]).shape == (4, 5) and generator["frechet_distance"] >= 0
    assert set(generator["oracle_accuracy"]) >= {"shape", "scale", "position_x", "orientation (heart only)"}
    assert results["correlations"]["proxy_names"] == ["x_position", "size"]
    assert set(results["knob_control"]["correlations"]) == {"x_position", "size"}  # dSprites: by default
    expected = {"traversal_free_1.png", "traversal_free_2.png", "traversal_x_position.png", "traversal_size.png",
                "saliency.png", "training_curves.png", "knob_factor_matrix.png", "embedding_x_position.png",
                "embedding_size.png"}
    assert set(results["pictures"]) == expected
    for name in expected:
        image = np.asarray(Image.open(out / name).convert("L"))
        assert image.shape[0] >= 150 and image.shape[1] >= 150, name
        assert image.std() > 5, f"{name} is blank"
    report = (out / "report.md").read_text()
    assert "## Table 7" in report and "## Generator side" in report and "![saliency.png](saliency.png)" in report
    assert not (tmp_path / "report.partial").exists()


@pytest.mark.slow
def test_bad_requests_fail_clearly_and_write_no_report(tiny_run, tmp_path, capsys):
    out = tmp_path / "report"
    code, _, err = run_evaluate(capsys, "--run-dir", str(tiny_run), "--output", str(out), "--metrics", "mig,betavae")
    assert code == 2 and "Unknown metric(s) 'betavae'. Available: beta_vae_score" in err
    empty = tmp_path / "empty_run"
    empty.mkdir()
    (empty / "config.yaml").write_text((tiny_run / "config.yaml").read_text())
    code, _, err = run_evaluate(capsys, "--run-dir", str(empty), "--output", str(out))
    assert code == 2 and "has no checkpoint" in err
    code, _, err = run_evaluate(capsys, "--run-dir", str(tmp_path / "nothing"), "--output", str(out))
    assert code == 2 and "is not a run directory" in err
    assert not out.exists()


@pytest.mark.slow
def test_factor_metrics_on_a_data_set_without_factors_are_refused(tiny_run, tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((20, 20, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
    run = tmp_path / "folder_run"
    run.mkdir()
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    config["dataset"] = {"name": "image_folder", "data_dir": str(folder), "channels": 1}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "udgan.weights.h5").write_bytes((tiny_run / "checkpoints" / "udgan.weights.h5").read_bytes())
    code, _, err = run_evaluate(capsys, "--run-dir", str(run), "--metrics", "mig", "--output", str(tmp_path / "r"))
    assert code == 2 and "mig need ground-truth factors, which ImageFolder does not have" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_a_failure_midway_leaves_the_previous_report_untouched(tiny_run, tmp_path, capsys, monkeypatch):
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.md").write_text("previous report")

    def broken(*args, **kwargs):
        raise RuntimeError("metric crashed")

    monkeypatch.setitem(evaluate_run.metrics_lib.METRICS, "mig", broken)
    with pytest.raises(RuntimeError, match="metric crashed"):
        evaluate_run.evaluate(tiny_run, out, "mig", num_points=40)
    assert (out / "report.md").read_text() == "previous report"


@pytest.mark.slow
def test_oracle_is_trained_once_and_then_loaded(tmp_path):
    data = DSprites(resolution=16)
    first = load_or_train_oracle(data, "dsprites-16", steps=2, verbose=0)
    cached = list((tmp_path / "cache" / "oracles").glob("dsprites-16-2-*.weights.h5"))
    assert len(cached) == 1
    again = load_or_train_oracle(data, "dsprites-16", steps=2, verbose=0)
    images = data.sample_observations(6, np.random.RandomState(0))
    np.testing.assert_array_equal(first.predict_factors(images), again.predict_factors(images))
    assert first.features(images).shape == (6, 256)


class Stripes(GroundTruthData):
    """Factors: brightness (2 levels) and the column of a bright stripe (4 places); 16x16 images."""

    factor_names = ("brightness", "stripe")
    factor_sizes = (2, 4)
    observation_shape = (16, 16, 1)

    def sample_observations_from_factors(self, factors, random_state):
        images = np.zeros((len(factors), 16, 16, 1), np.float32) + 0.3 * factors[:, :1, None, None]
        for image, column in zip(images, 4 * factors[:, 1]):
            image[:, column:column + 2] = 1.0
        return images


@pytest.mark.slow
def test_oracle_learns_the_factors():
    data = Stripes()
    oracle = train_oracle(data, steps=150, verbose=0)
    factors, images = data.sample(300, np.random.RandomState(5))
    assert np.mean(oracle.predict_factors(images) == factors, axis=0).min() > 0.95


@pytest.mark.slow
def test_readers_are_exact_given_the_other_factors():
    """The fitted lookups read dSprites scales, and positions (hearts included) to the pixel."""
    data = DSprites(resolution=64)
    oracle = FactorOracle(data.factor_sizes, 64, 1, factor_names=data.factor_names)
    oracle.fit_readers(*data.sample(20_000, np.random.RandomState(0)))
    factors, images = data.sample(2000, np.random.RandomState(1))
    assert np.mean(oracle.read_scales(images, factors[:, 0]) == factors[:, 1]) >= 0.99
    assert np.mean(oracle.read_positions(images, factors) == factors[:, 3:]) >= 0.99
    hearts = factors[:, 0] == 2
    assert np.mean(oracle.read_positions(images[hearts], factors[hearts]) == factors[hearts, 3:]) >= 0.99


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-4)
    assert frechet_distance(a, a + [3.0, 0, 0]) == pytest.approx(9.0, rel=1e-3)


def test_knob_factor_matrix_finds_the_knob_that_sets_a_factor():
    rng = np.random.default_rng(1)
    knobs = rng.uniform(-1, 1, (5000, 3))
    factors = np.stack([np.digitize(knobs[:, 1], [-0.5, 0, 0.5]), np.zeros(5000, int)], axis=1)
    matrix = knob_factor_matrix(knobs, factors)
    assert matrix[1, 0] > 0.9 and matrix[0, 0] < 0.05 and matrix[2, 0] < 0.05
    assert np.all(matrix[:, 1] == 0)                                   # a factor that never varies
    assert knob_mig(matrix, np.array([True, False])) > 0.85


@pytest.mark.slow
def test_celeba_run_gets_attribute_classification_and_table_9(tmp_path, capsys):
    from udgan_tf.data.fake import write_fake_celeba

    write_fake_celeba(tmp_path / "celeba", 40)
    config = config_lib.resolve_config({
        "dataset": {"name": "celeba_a", "data_dir": str(tmp_path / "celeba")},
        "model": {"knobs": [{"name": "free", "count": 2}, {"name": "top", "guidance": {"name": "crop", "box": "top"}}],
                  "resolution": 16, "channels": 3, "filters": 8, "seed": 0},
        "training": {"steps": 1, "batch_size": 4, "log_every": 1, "traversal_values": 3},
    })
    train.train(config, tmp_path / "run", verbose=0)
    code, stdout, err = run_evaluate(capsys, "--run-dir", str(tmp_path / "run"), "--output", str(tmp_path / "r"))
    assert code == 0, err
    results = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert results["measures"] == ["correlations", "attributes"]
    assert len(results["attributes"]["accuracy"]) == 40 and results["attributes"]["test_images"] == 4
    assert len(results["correlations"]["best_abs_with_labels"]) == 40
    assert "## Table 8: CelebA attribute classification" in (tmp_path / "r" / "report.md").read_text()


@pytest.mark.slow
def test_knob_control_is_printed_and_reported(tiny_run, tmp_path, capsys):
    out = tmp_path / "report"
    code, stdout, err = run_evaluate(capsys, "--run-dir", str(tiny_run), "--output", str(out), "--metrics",
                                     "knob_control", "--num-points", "40")
    assert code == 0, err
    results = json.loads((out / "metrics.json").read_text())
    figures = results["knob_control"]
    assert figures["samples"] == 40 and set(figures["reach"]) == {"x_position", "size"}
    assert 0.0 <= figures["plausible_fraction"] <= 1.0
    line = f"| `x_position` (`center_of_mass_x`) | **{figures['correlations']['x_position']:+.3f}** |"
    assert line in stdout and line in (out / "report.md").read_text()
    assert "Plausible sprites (one object, area within the real range" in stdout
