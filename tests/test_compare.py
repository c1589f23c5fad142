"""python -m udgan_tf.compare: every method trained for the same minutes, scored alike, one report."""

import json
import shutil

import pytest
from PIL import Image

from udgan_tf import comparison
from udgan_tf import compare

TINY = ["model.resolution=16", "model.filters=8", "training.batch_size=8", "training.log_every=5",
        "training.checkpoint_every=5", "training.backup_every_steps=5", "training.image_every=1000",
        "training.traversal_values=3"]


def test_an_unknown_method_lists_the_available_ones(capsys, tmp_path):
    code = compare.main(["--methods", "udgan,vae", "--minutes", "1", "--output-dir", str(tmp_path / "c")])
    assert code == 2
    err = capsys.readouterr().err
    assert "Unknown method(s) ['vae'] for --methods. Available: udgan, udgan_g, infogan, infogan_cr, infogan_cr_reference, beta_vae" in err
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("argv, message", [(["--seeds", "0"], "--seeds must be >= 1. Received: 0"),
                                           (["--minutes", "-5"], "--minutes must be > 0. Received: -5.0"),
                                           (["--curve-points", "-1"], "--curve-points must be >= 0 and "
                                                                      "--curve-num-points >= 1. Received: -1, 500"),
                                           (["--curve-points", "5"], "--curve-points 5 needs --minutes")])
def test_a_bad_budget_is_refused_before_training(capsys, tmp_path, argv, message):
    assert compare.main([*argv, "--output-dir", str(tmp_path / "c")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_a_dataset_without_a_config_for_a_method_says_which_file_is_missing(capsys, tmp_path):
    code = compare.main(["--dataset", "mnist", "--methods", "beta_vae", "--output-dir", str(tmp_path / "c")])
    assert code == 2
    assert "beta_vae has no config for 'mnist'" in capsys.readouterr().err


def test_the_table_puts_published_figures_beside_ours_with_their_source():
    runs = [{"step": 10, "metrics": {"beta_vae_score": {"eval_accuracy": value}, "mig": {"discrete_mig": 0.1}},
             "generator": {"precision_recall": {"precision": 0.5, "recall": 0.25, "k": 3},
                           "shape_shares": {"generated": {"square": 0.2, "ellipse": 0.3, "heart": 0.5}}}}
            for value in (0.6, 0.8)]
    summary = comparison.summarise({"beta_vae": runs})
    assert summary["beta_vae"]["beta_vae_score"]["mean"] == pytest.approx(0.7)
    assert summary["beta_vae"]["beta_vae_score"]["std"] == pytest.approx(0.1)
    text = comparison.report_markdown(summary, "dsprites", 45, [0, 1])
    row = next(line for line in text.splitlines() if line.startswith("| beta-VAE | 10 |"))
    assert "0.70 ± 0.10 [0.992]<sup>" in row and "0.10 ± 0.00 [0.210]<sup>" in row
    assert "Lin et al. 2020 (InfoGAN-CR), Table 1" in text and "the UD-GAN paper, Table 1" in text
    assert "| beta-VAE | 0.50 ± 0.00 | 0.25 ± 0.00 | 20 % ± 0 | 30 % ± 0 | 50 % ± 0 |" in text


@pytest.mark.slow
def test_compare_runs_end_to_end_on_a_tiny_budget_and_continues_after_a_rerun(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UDGAN_TF_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "compare"
    argv = ["--methods", "udgan_g,infogan,beta_vae", "--minutes", "0.05", "--seeds", "1", "--num-points", "40",
            "--oracle-steps", "3", "--output-dir", str(out), *[arg for s in TINY for arg in ("--set", s)]]
    assert compare.main(argv) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "[1/3] UD-GAN-G (udgan_g), seed 0: training for 0.05 minutes" in printed
    assert "[3/3] beta-VAE (beta_vae), seed 0" in printed
    results = json.loads((out / "results.json").read_text())
    assert set(results["summary"]) == {"udgan_g", "infogan", "beta_vae"}
    for entry, figures in results["summary"].items():
        assert {"beta_vae_score", "factor_vae_score", "mig", "precision", "recall", "square"} <= set(figures)
        assert figures["step"]["mean"] > 0
        assert len(results["curves"][comparison.ENTRIES[entry][2]][0]) >= 1   # snapshots scored (first run)
    report = (out / "report.md").read_text()
    assert "| UD-GAN-G |" in report and "| InfoGAN |" in report and "![traversals](traversals.png)" in report
    assert "0.05 minutes of training (cpu clock" in report
    assert "- UD-GAN-G " in report and " on factor_vae_score: " in report   # the targets, held or missed
    assert Image.open(out / "traversals.png").size[0] > 600   # three panels side by side
    assert "![curves](curves.png)" in report and Image.open(out / "curves.png").size[0] > 600
    # Each method's record (config, scores, curve) and traversal grid: enough to rebuild the report.
    record = json.loads((out / "infogan" / "seed0.json").read_text())
    assert record["config"]["model"]["method"] == "infogan" and record["knobs"][:2] == ["code_1", "code_2"]
    assert record["curve"][0]["minutes"] <= record["curve"][-1]["minutes"]
    assert Image.open(out / "infogan" / "seed0.png").size[0] > 0
    # A rerun reuses the records instead of training again, even without the run directories.
    for entry in results["summary"]:
        shutil.rmtree(out / entry / "seed0")
    (out / "report.md").unlink()
    assert compare.main(argv) == 0
    printed = capsys.readouterr().out
    assert "[2/3] InfoGAN (infogan), seed 0: reusing its record" in printed and "training for" not in printed
    assert not (out / "infogan" / "seed0").exists() and (out / "report.md").exists()
    # A record of another config is not silently reused.
    changed = [*argv, "--set", "training.batch_size=16"]
    assert compare.main(changed) == 2
    assert "records a run of another config" in capsys.readouterr().err


def test_the_report_says_plainly_which_targets_are_held_and_which_missed():
    def figures(**means):
        return {name: {"mean": value, "std": 0.0, "values": [value]} for name, value in means.items()}

    summary = {"udgan": figures(factor_vae_score=0.5, mig=0.01, beta_vae_score=0.7),
               "udgan_g": figures(factor_vae_score=0.8, mig=0.5, beta_vae_score=0.9),
               "infogan": figures(factor_vae_score=0.4, mig=0.02, beta_vae_score=0.95)}
    lines = comparison.target_lines(summary)
    assert "- UD-GAN-G < InfoGAN on beta_vae_score: 0.90 vs 0.95 (**missed**)" in lines
    assert "- UD-GAN-G >= InfoGAN on mig: 0.50 vs 0.02 (held)" in lines
    assert "- UD-GAN >= InfoGAN on factor_vae_score: 0.50 vs 0.40 (held)" in lines
    assert "- UD-GAN < InfoGAN on mig: 0.01 vs 0.02 (**missed**)" in lines
    assert any(line.startswith("- UD-GAN is below the paper on beta_vae_score: 0.70 vs 0.99") for line in lines)
    assert not any("beta-VAE" in line for line in lines)          # not in this comparison
    assert not any(line.startswith("- UD-GAN-G") and "UD-GAN on" in line for line in lines)   # not a baseline


def test_report_only_writes_the_report_from_the_records_so_far_and_trains_nothing(tmp_path, capsys):
    out = tmp_path / "c"
    results = {"step": 10, "metrics": {"beta_vae_score": {"eval_accuracy": 0.8}, "mig": {"discrete_mig": 0.1}}}
    for entry, seeds in (("udgan_g", (0, 1)), ("beta_vae", (0,))):
        for seed in seeds:
            config = comparison.entry_config(entry, "dsprites", 1.0, seed, curve_points=0)
            (out / entry).mkdir(parents=True, exist_ok=True)
            (out / entry / f"seed{seed}.json").write_text(json.dumps(
                {"entry": entry, "seed": seed, "config": config, "results": results, "curve": [],
                 "knobs": ["k_1", "k_2"]}))
            Image.new("L", (40, 60)).save(out / entry / f"seed{seed}.png")
    argv = ["--methods", "udgan_g,infogan,beta_vae", "--minutes", "1", "--seeds", "2", "--curve-points", "0",
            "--output-dir", str(out), "--report-only"]
    assert compare.main(argv) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "[2/6] InfoGAN (infogan), seed 0: no record yet, left out of the report (--report-only trains " \
           "nothing)" in printed and "training for" not in printed
    assert not (out / "infogan").exists() and not (out / "udgan_g" / "seed0").exists()   # nothing trained
    report = (out / "report.md").read_text()
    assert "seeds per method: UD-GAN-G 2, beta-VAE 1." in report and "| InfoGAN |" not in report
    assert set(json.loads((out / "results.json").read_text())["summary"]) == {"udgan_g", "beta_vae"}
    assert Image.open(out / "traversals.png").size[0] > 0


def test_report_only_without_records_says_to_train_first(tmp_path, capsys):
    code = compare.main(["--methods", "udgan", "--minutes", "1", "--output-dir", str(tmp_path / "c"),
                         "--report-only"])
    assert code == 2
    assert "--report-only found no records in" in capsys.readouterr().err


def test_the_committed_records_of_an_earlier_version_still_make_the_report(tmp_path):
    """Records written before the newer training keys existed are the same config, not another one."""
    import pathlib

    committed = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "compare" / "dsprites-45min"
    record = json.loads((committed / "udgan_g" / "seed0.json").read_text())
    assert "jit_compile" not in record["config"]["training"]          # written by the earlier version
    shutil.copytree(committed, tmp_path / "c")
    argv = ["--methods", "udgan,udgan_g,infogan,infogan_cr,beta_vae", "--minutes", "45", "--seeds", "2",
            "--output-dir", str(tmp_path / "c"), "--report-only"]
    assert compare.main(argv) == 0
    assert (tmp_path / "c" / "report.md").read_text() == (committed / "report.md").read_text()
