"""Steps per minute of ``python -m udgan_tf.train`` with speed options, as ratios to a baseline
measured by the same command, on the same machine, in interleaved rounds.

    python benchmarks/speed_options.py --dataset dsprites --steps 150 --rounds 2 \\
        --variant bf16=training.mixed_precision=true --variant xla=training.jit_compile=true [--write NAME]
    python benchmarks/speed_options.py --dataset dsprites --variant inter1=env:TF_NUM_INTEROP_THREADS=1

Every run is the training command a user types (``--config configs/NAME.yaml --steps N``, which
for ``dsprites`` is what ``--dataset dsprites`` loads, and the variant's
``--set`` overrides, ``env:`` settings in its environment), in a fresh process, into a fresh
run directory. Its speed is read from the run's own ``history.csv``: the steps and training
seconds between the first row (which includes tracing and the first call) and the last, so
start-up is not counted. ``--baseline`` (default: no options, or ``--baseline-set`` overrides)
runs first in every round, then each variant; the ratio of a variant is taken within its
round, and the median over rounds is reported. Two runs never overlap: time it on an
otherwise idle machine. The last line printed is JSON; ``--write NAME`` puts the table into
BENCHMARKS.md as section NAME.
"""

import argparse
import csv
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from report import update_section  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent


def parse_variant(text):
    """``NAME=key=value,key=value,env:VAR=value`` -> (name, [overrides], {env})."""
    name, _, settings = text.partition("=")
    overrides, env = [], {}
    for setting in filter(None, settings.split(",")):
        if setting.startswith("env:"):
            key, _, value = setting[4:].partition("=")
            env[key] = value
        else:
            overrides.append(setting)
    return name, overrides, env


def steps_per_minute(history_path):
    """Steady-state steps per training minute of a run, from its ``history.csv``."""
    with open(history_path) as file:
        rows = [(int(row["step"]), float(row["seconds"])) for row in csv.DictReader(file)]
    if len(rows) < 2:
        raise SystemExit(f"{history_path} has {len(rows)} rows: pass more --steps (at least two log intervals)")
    (first_step, first_seconds), (last_step, last_seconds) = rows[0], rows[-1]
    return 60.0 * (last_step - first_step) / (last_seconds - first_seconds)


def run(config_name, steps, overrides, env, repo=None, data_dir=None):
    """One training run in a fresh process: ``--config <checkout>/configs/<config_name>.yaml`` with
    this checkout's package, or with ``repo`` another checkout's package and its own shipped
    config. Returns its steps per minute."""
    checkout = pathlib.Path(repo).resolve() if repo is not None else REPO
    with tempfile.TemporaryDirectory(prefix="speed_") as scratch:
        command = [sys.executable, "-m", "udgan_tf.train", "--config", str(checkout / "configs" / f"{config_name}.yaml"),
                   "--steps", str(steps), "--output-dir", f"{scratch}/run"]
        if repo is not None:
            env = {**env, "PYTHONPATH": str(checkout)}
        if data_dir is not None:
            command += ["--data-dir", str(pathlib.Path(data_dir).resolve())]
        for override in overrides:
            command += ["--set", override]
        result = subprocess.run(command, capture_output=True, text=True, cwd=checkout,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env})
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
        return steps_per_minute(pathlib.Path(scratch) / "run" / "history.csv")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", action="append", required=True,
                        help="a shipped config's name, configs/<name>.yaml (repeatable)")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline", default="baseline=", help="the baseline, as a --variant (default: no options)")
    parser.add_argument("--baseline-repo", metavar="CHECKOUT",
                        help="run the baseline from this checkout of another version (e.g. a git worktree of an "
                             "older commit), with its own shipped configs")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=SETTINGS")
    parser.add_argument("--data-dir", action="append", default=[], metavar="CONFIG=DIR",
                        help="--data-dir for the runs of one config (colored_mnist needs MNIST's idx files)")
    parser.add_argument("--write", metavar="SECTION", help="put the table into BENCHMARKS.md as this section")
    parser.add_argument("--baseline-repo-label", default="CHECKOUT",
                        help="how the written command names --baseline-repo (e.g. 'a worktree of 49025e9')")
    args = parser.parse_args(argv)
    data_dirs = dict(text.split("=", 1) for text in args.data_dir)
    variants = [parse_variant(args.baseline)] + [parse_variant(text) for text in args.variant]
    results = {}
    for dataset in args.dataset:
        rates = {name: [] for name, _, _ in variants}
        for round_number in range(args.rounds):
            for name, overrides, env in variants:
                repo = args.baseline_repo if name == variants[0][0] else None
                rates[name].append(run(dataset, args.steps, overrides, env, repo, data_dirs.get(dataset)))
                print(f"{dataset} round {round_number + 1}: {name} {rates[name][-1]:.1f} steps/min", flush=True)
        baseline = variants[0][0]
        results[dataset] = {name: {"steps_per_minute": statistics.median(values),
                                   "ratio": statistics.median(v / b for v, b in zip(values, rates[baseline])),
                                   "runs": values} for name, values in rates.items()}
    lines = ["| config | variant | settings | steps/min (median) | ratio to " + variants[0][0] + " |",
             "|---|---|---|---|---|"]
    for dataset, by_variant in results.items():
        for name, overrides, env in variants:
            settings = ", ".join(overrides + [f"{k}={v}" for k, v in env.items()]) or "(none)"
            figures = by_variant[name]
            lines.append(f"| {dataset} | {name} | {settings} | {figures['steps_per_minute']:.1f} | "
                         f"{figures['ratio']:.2f} |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        command = " ".join(["python benchmarks/speed_options.py", *(f"--dataset {d}" for d in args.dataset),
                            f"--steps {args.steps} --rounds {args.rounds}",
                            *([] if args.baseline == "baseline=" else [f"--baseline '{args.baseline}'"]),
                            *([f"--baseline-repo {args.baseline_repo_label}"] if args.baseline_repo else []),
                            *(f"--variant '{v}'" for v in args.variant),
                            *(f"--data-dir {text.split('=')[0]}=DIR" for text in args.data_dir), f"--write {args.write}"])
        update_section(args.write, f"### {args.write}\n\nCommand: `{command}`. {len(os.sched_getaffinity(0))} CPU cores, one run at a "
                                   f"time, nothing else running; steps per training minute from each run's "
                                   f"history.csv (first log row to last), median of {args.rounds} interleaved "
                                   f"rounds.\n\n{table}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
