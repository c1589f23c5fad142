"""Time of the metric suite, the oracle's accuracy and the generator-side measures on dSprites.

    python benchmarks/metrics.py --run-dir runs/dsprites [--oracle-steps 3000] [--write]

Runs ``udgan_tf.evaluate`` on a trained dSprites run (make one with
``python -m udgan_tf.train --dataset dsprites --output-dir runs/dsprites``), once for
the five disentanglement metrics with disentanglement_lib's default sizes on phi(x)
(target: the suite under 10 minutes on 2 cores), once for the generator-side
measures with a freshly trained oracle (its held-out accuracy per factor: target
>= 98 % for shape, scale and position). The last line printed is JSON; --write puts
two tables into BENCHMARKS.md.
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from udgan_tf.evaluation import evaluate_run  # noqa: E402
from udgan_tf.evaluation import metrics as metrics_lib  # noqa: E402

TARGET_FACTORS = ("shape", "scale", "position_x", "position_y")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", default="runs/dsprites")
    parser.add_argument("--oracle-steps", type=int, default=3000)
    parser.add_argument("--write", action="store_true", help="write the result into BENCHMARKS.md")
    args = parser.parse_args(argv)
    work = pathlib.Path(tempfile.mkdtemp(prefix="udgan_metrics_"))
    os.environ["UDGAN_TF_CACHE"] = str(work / "cache")  # a fresh oracle, timed

    start = time.perf_counter()
    suite = evaluate_run.evaluate(args.run_dir, work / "suite", ",".join(metrics_lib.METRICS))
    suite_seconds = time.perf_counter() - start
    start = time.perf_counter()
    generator = evaluate_run.evaluate(args.run_dir, work / "generator", "generator", oracle_steps=args.oracle_steps)
    generator_seconds = time.perf_counter() - start
    result = {"suite": {"seconds": suite["seconds"], "total_seconds": suite_seconds, "metrics": suite["metrics"]},
              "generator": {**generator["generator"], "total_seconds": generator_seconds}}
    for key in ("knob_factor_matrix",):
        result["generator"].pop(key)

    if args.write:
        from report import update_section

        rows = "".join(f"| {stage} | {seconds:,.0f} |\n" for stage, seconds in suite["seconds"].items()
                       if stage != "pictures")
        scores = "".join(f"| {name} | {key} | {value if isinstance(value, int) else f'{value:.3f}'} |\n"
                         for name, values in suite["metrics"].items() for key, value in values.items())
        met = suite_seconds < 600
        update_section("metrics_suite", (
            "## Disentanglement metric suite (`benchmarks/metrics.py`)\n\n"
            f"Command: `python benchmarks/metrics.py --run-dir {args.run_dir} --oracle-steps {args.oracle_steps} "
            f"--write`, on the shipped dSprites run (configs/dsprites.yaml, 4,400 steps). disentanglement_lib's "
            f"default sizes, representation phi(x), {os.cpu_count()} CPU cores.\n\n"
            "| stage | seconds |\n|---|---|\n" + rows
            + f"| **whole suite** (incl. loading, pictures) | **{suite_seconds:,.0f}** |\n\n"
            f"Target: under 10 minutes: {'met' if met else 'NOT met'}. The metrics draw about 2.9 million "
            "images; dSprites has 737,280, so phi(x) of every image is computed once and looked up "
            "(exact: dSprites images are a function of their factors).\n\n"
            "Scores of phi(x) on real images (the paper's Table 1 measures; high by construction for the guided "
            "knobs, whose proxies encode position and size of any real image):\n\n"
            "| metric | key | value |\n|---|---|---|\n" + scores))
        g = generator["generator"]
        accuracy = "".join(f"| {name} | {value:.3f} |\n" for name, value in g["oracle_accuracy"].items())
        met = all(g["oracle_accuracy"][f] >= 0.98 for f in TARGET_FACTORS)
        update_section("generator_side", (
            "## Generator side: an oracle reads the factors of generated images (`benchmarks/metrics.py`)\n\n"
            f"Same command. The oracle (`udgan_tf.evaluation.oracle`, {args.oracle_steps} steps of batch 128 on fresh "
            f"dSprites draws) is trained in {generator['seconds'].get('generator', 0):,.0f} s including the "
            "measures. Its accuracy on 5,000 held-out real images:\n\n"
            "| factor | accuracy |\n|---|---|\n" + accuracy
            + f"\nTarget >= 0.98 for shape, scale, position x and y: {'met' if met else 'NOT met'}. Orientation is "
              "ambiguous for the symmetric square and ellipse; the heart-only row is the meaningful one.\n\n"
              f"On 5,000 random knob vectors of the run: Fréchet distance to real images in the oracle's feature "
              f"space {g['frechet_distance']:.2f}; knob MIG {g['knob_mig']:.3f}; knob DCI disentanglement "
              f"{g['knob_dci']['disentanglement']:.3f}, completeness {g['knob_dci']['completeness']:.3f}, "
              f"informativeness {g['knob_dci']['informativeness_test']:.3f}. The knob x factor matrix "
              "(`python -m udgan_tf.evaluate --run-dir runs/dsprites --metrics generator` writes it as a picture):\n\n"
              "| knob | " + " | ".join(g["factor_names"]) + " |\n|---|" + "---|" * len(g["factor_names"]) + "\n"
            + "".join(f"| {name} | " + " | ".join(f"{v:.2f}" for v in row) + " |\n"
                      for name, row in zip(g["knob_names"], g["knob_factor_matrix"]))))
    print(json.dumps(result, default=float))


if __name__ == "__main__":
    main()
