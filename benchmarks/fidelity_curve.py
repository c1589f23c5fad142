"""How do precision, recall and shape shares grow with training minutes? One dSprites config,
trained in this process, measured every few minutes.

    python benchmarks/fidelity_curve.py --config configs/dsprites.yaml --minutes 45 --every 5 \
        [--set model.architecture=infogan_cr ...] [--seed 1] [--out curve.jsonl] [--run-dir DIR]
    python benchmarks/fidelity_curve.py ... --steps 12000 --every-steps 2000
    python benchmarks/fidelity_curve.py --runs DIR [DIR ...] [--out curve.jsonl]   # trained runs

Training time is the wall clock of the training steps only (the measurements are not
counted); with --steps the run stops at that step and measures every --every-steps
steps instead (runs of two seeds are then compared at the same steps). At each point:
--num (2,000) images of the trained generator G (and of its weight average when the config
keeps one) against as many real ones in the oracle's features (precision, recall, shape
shares, ``udgan_tf.evaluation.fidelity``), the share of plausible sprites among the first
500, and the best knob x factor entry for shape and orientation among the unguided knobs.
Fewer images than ``evaluate``'s 5,000 make the k-th-neighbour balls larger, so precision
and recall here run higher than there: compare curves with each other. One JSON line
per point goes to stdout and to --out. With --run-dir the final model is saved there as a
run directory (config + checkpoint) that ``python -m udgan_tf.evaluate`` reads, and the
model of every earlier point in DIR_at<step>. --runs measures run directories that are
already trained (e.g. the checkpoints of ``python -m udgan_tf.train``) the same way.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from udgan_tf import config as config_lib  # noqa: E402
from udgan_tf.evaluation.fidelity import precision_recall, shape_shares  # noqa: E402
from udgan_tf.evaluation.generator_measures import knob_factor_matrix  # noqa: E402
from udgan_tf.evaluation.knob_control import plausible_fraction, real_area_range  # noqa: E402
from udgan_tf.evaluation.oracle import load_or_train_oracle  # noqa: E402
from udgan_tf.runs import RunDirectory, save_model_run  # noqa: E402
from udgan_tf.training import build_data, build_model  # noqa: E402


#: UD-GAN's log names as the curve files have always called them.
LOG_NAMES = {"contrastive_loss": "contrastive"}


def measure(model, generator, data, oracle, real_features, num, seed):
    """Fidelity figures of one generator network (knobs ``[num, Z]`` -> images ``[num, 64, 64, 1]``),
    against the oracle features ``real_features [num, D]`` of real images."""
    rng = np.random.RandomState(seed)
    knobs = rng.uniform(-1.0, 1.0, (num, model.layout.latent_dim)).astype(np.float32)
    images = np.concatenate([np.asarray(generator(knobs[s:s + 250], training=False)) for s in range(0, num, 250)])
    predicted = oracle.predict_factors(images)
    matrix = knob_factor_matrix(knobs, predicted)
    guided = [knob.guided for knob in model.layout.knobs for _ in range(knob.width)]   # one per column of z
    unguided = [column for column, is_guided in enumerate(guided) if not is_guided]
    shape, orientation = data.factor_names.index("shape"), data.factor_names.index("orientation")
    figures = {**precision_recall(real_features, oracle.features(images)),
               "shares": shape_shares(predicted[:, shape], data.shape_names),
               "plausible": plausible_fraction(images[:500], real_area_range(data.observation_shape[0]))}
    if unguided:
        figures["unguided_shape"] = float(matrix[unguided, shape].max())
        figures["unguided_orientation"] = float(matrix[unguided, orientation].max())
    figures["best_shape"] = float(matrix[:, shape].max())
    figures.pop("k")
    return figures


def reference(data, args):
    """The cached oracle and its features ``[num, D]`` of ``args.num`` real images (fixed seed)."""
    oracle = load_or_train_oracle(data, "dsprites-64", steps=args.oracle_steps)
    _, real = data.sample(args.num, np.random.RandomState(12345))
    return oracle, oracle.features(real)


def measure_generators(model, data, oracle, real_features, args):
    """``measure`` of G, and of its weight average when the model keeps one: {"G": ..., "G_ema": ...}."""
    networks = {"G": model.generator, "G_ema": model.generator_ema}
    return {name: measure(model, network, data, oracle, real_features, args.num, args.seed)
            for name, network in networks.items() if network is not None}


def emit(row, out):
    """Prints one JSON line and appends it to the open file ``out`` (None: stdout only)."""
    line = json.dumps(row)
    print(line, flush=True)
    if out:
        out.write(line + "\n")
        out.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/dsprites.yaml")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=45)
    parser.add_argument("--every", type=float, default=5, help="minutes of training between measurements")
    parser.add_argument("--steps", type=int, help="stop at this step instead of after --minutes")
    parser.add_argument("--every-steps", type=int, default=2000, help="with --steps: steps between measurements")
    parser.add_argument("--num", type=int, default=2000)
    parser.add_argument("--oracle-steps", type=int, default=3000)
    parser.add_argument("--out")
    parser.add_argument("--run-dir")
    parser.add_argument("--runs", nargs="+", help="measure these trained run directories instead of training")
    args = parser.parse_args(argv)
    if args.runs:
        return measure_runs(args.runs, args)

    config = config_lib.load_config(args.config, [*args.set, f"training.seed={args.seed}"])
    config["model"].setdefault("seed", args.seed)
    keras.utils.set_random_seed(args.seed)
    data = build_data(config)
    model = build_model(config)
    oracle, real_features = reference(data, args)
    batch = config["training"]["batch_size"]
    dataset = iter(data.training_dataset(batch, seed=args.seed))

    model.make_train_function()
    step_fn = model.train_function
    trained, next_mark, chunk = 0.0, args.every * 60, 25
    out = open(args.out, "a") if args.out else None
    while True:
        start = time.perf_counter()
        for _ in range(chunk):
            logs = step_fn(iter([next(dataset)]))
        trained += time.perf_counter() - start
        step = int(model.optimizer.iterations.numpy())
        if args.steps:
            done = step >= args.steps
            if step % args.every_steps and not done:
                continue
        elif trained < next_mark and trained < args.minutes * 60:
            continue
        else:
            done = trained >= args.minutes * 60
        row = {"minutes": round(trained / 60, 2), "step": step,
               **{LOG_NAMES.get(name, name): float(value) for name, value in logs.items()},  # the method's losses
               "settings": args.set, "seed": args.seed,
               **measure_generators(model, data, oracle, real_features, args)}
        emit(row, out)
        next_mark += args.every * 60
        if args.run_dir:
            save_model_run(args.run_dir if done else f"{args.run_dir}_at{step}", config, model, step, trained)
        if done:
            break


def measure_runs(run_dirs, args):
    """One JSON line per trained run directory, with the figures ``main`` measures while training."""
    from udgan_tf.data import DSprites
    from udgan_tf.evaluation.evaluate_run import training_minutes
    from udgan_tf.models import load_model

    data = DSprites(resolution=64)
    oracle, real_features = reference(data, args)
    out = open(args.out, "a") if args.out else None
    for run_dir in run_dirs:
        model, run = load_model(run_dir), RunDirectory(run_dir)
        emit({"run_dir": run_dir, "minutes": training_minutes(run), "step": run.status().get("step"),
              **measure_generators(model, data, oracle, real_features, args)}, out)


if __name__ == "__main__":
    sys.exit(main())
