"""Which factors does a run's representation carry? Per-factor mutual information of a run.

    python benchmarks/factor_information.py --run-dir runs/compare-dsprites-45min/udgan_g/seed1 \\
        --run-dir runs/compare-dsprites-45min/beta_vae/seed1 [--num 10000] [--out FILE.json]

For every ground-truth factor, the mutual information of the representation's most
informative code dim with the factor, divided by the factor's entropy (1 = that dim
determines the factor), the runner-up dim's, and their gap: the per-factor terms that MIG
averages (``udgan_tf.evaluation.metrics.mig.normalised_mutual_info``), with its
discretisation (20-bin histograms) and its sampling (``num`` real images, seed 0). A metric
says *how much*; this says *which factor* a method misses. The last line printed is JSON.
"""

import argparse
import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from udgan_tf.evaluation.evaluate_run import load_data  # noqa: E402
from udgan_tf.evaluation.metrics.mig import normalised_mutual_info  # noqa: E402
from udgan_tf.evaluation.metrics.utils import generate_batch_factor_code  # noqa: E402
from udgan_tf.evaluation.representation import embedding_function  # noqa: E402
from udgan_tf.models import load_model  # noqa: E402
from udgan_tf.runs import RunDirectory, atomic_write_text  # noqa: E402


def factor_information(run_dir, num=10000, seed=0, num_bins=20):
    """Per-factor normalised mutual information of a run's representation.

    Returns:
        ``{"run_dir", "method", "step", "factors": {name: {"best", "second", "gap", "best_dim"}}}``,
        the three figures in [0, 1], ``best_dim`` the index of the most informative code dim.
    """
    run = RunDirectory(run_dir)
    config = run.read_config()
    data = load_data(config)
    codes, factors = generate_batch_factor_code(data, embedding_function(load_model(run.path)), num,
                                                np.random.RandomState(seed), 256)  # [D, N], [F, N]
    information = normalised_mutual_info(codes, factors, num_bins)  # [D, F]
    order = np.argsort(information, axis=0)[::-1]
    per_factor = {}
    for f, name in enumerate(data.factor_names):
        column = information[:, f]
        if not np.isfinite(column).all():
            continue  # a constant factor (dSprites' colour) has no entropy
        best, second = column[order[0, f]], column[order[1, f]]
        per_factor[name] = {"best": round(float(best), 4), "second": round(float(second), 4),
                            "gap": round(float(best - second), 4), "best_dim": int(order[0, f])}
    return {"run_dir": str(run.path), "method": config["model"].get("method", "udgan"),
            "step": run.status().get("step"), "num": num, "factors": per_factor}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", action="append", required=True, help="a run directory (repeatable)")
    parser.add_argument("--num", type=int, default=10000, help="real images sampled (MIG's default)")
    parser.add_argument("--out", type=pathlib.Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.num < 2:
        parser.error(f"--num must be at least 2. Received: {args.num}.")
    results = []
    for run_dir in args.run_dir:
        result = factor_information(run_dir, num=args.num)
        results.append(result)
        print(f"{result['run_dir']} ({result['method']}, step {result['step']}): best / second / gap")
        for name, row in result["factors"].items():
            print(f"  {name:12s} {row['best']:.3f} / {row['second']:.3f} / {row['gap']:.3f} (dim {row['best_dim']})")
    if args.out:
        atomic_write_text(args.out, json.dumps(results, indent=2) + "\n")
    print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
