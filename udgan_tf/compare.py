"""Train and score several methods alike: ``python -m udgan_tf.compare --dataset dsprites
--methods udgan,udgan_g,infogan,infogan_cr,beta_vae --minutes 45 --seeds 2``.

Every method trains for the same minutes of training on this machine (``training.minutes``;
its shipped config otherwise: ``configs/<dataset>_<config suffix>.yaml``, see ``ENTRIES``),
once per seed, into ``<output>/<method>/seed<S>``; each run is scored by the same
``udgan_tf.evaluate`` code with the same metric seeds. The report (``<output>/report.md``,
``results.json``, ``traversals.png``) holds a table in the layout of the paper's Table 1 with
the published numbers beside ours (each cited), the mean and standard deviation over seeds,
the dSprites shape shares and precision/recall, and every method's traversal grid side by
side. A finished run and a finished evaluation are reused, so rerunning the same command
after a crash or a kill continues where it stopped (an unfinished run resumes from its backup).
"""

import argparse
import json
import pathlib
import sys

import numpy as np

from udgan_tf import config as config_lib
from udgan_tf import data as data_lib

#: compare name -> (model.method, shipped config name with {dataset}, label)
ENTRIES = {
    "udgan": ("udgan", "{dataset}_unguided", "UD-GAN"),
    "udgan_g": ("udgan", "{dataset}", "UD-GAN-G"),
    "infogan": ("infogan", "{dataset}_infogan", "InfoGAN"),
    "infogan_cr": ("infogan_cr", "{dataset}_infogan_cr", "InfoGAN-CR"),
    "beta_vae": ("beta_vae", "{dataset}_beta_vae", "beta-VAE"),
}
METRICS = ("beta_vae_score", "factor_vae_score", "mig")
#: Published dSprites ("2D Shapes") figures: measure -> (value, source).
UDGAN_PAPER = "the UD-GAN paper, Table 1 (BetaVAE score, %)"
INFOGAN_CR_PAPER = "Lin et al. 2020 (InfoGAN-CR), Table 1"
PUBLISHED = {
    "udgan": {"beta_vae_score": (0.991, UDGAN_PAPER)},
    "udgan_g": {"beta_vae_score": (1.000, UDGAN_PAPER)},
    "infogan": {"beta_vae_score": (0.884, UDGAN_PAPER)},
    "infogan_cr": {"beta_vae_score": (0.95, INFOGAN_CR_PAPER), "factor_vae_score": (0.88, INFOGAN_CR_PAPER),
                   "mig": (0.37, INFOGAN_CR_PAPER)},
    "beta_vae": {"beta_vae_score": (0.992, UDGAN_PAPER), "factor_vae_score": (0.63, INFOGAN_CR_PAPER),
                 "mig": (0.21, INFOGAN_CR_PAPER)},
}
#: training.steps when a time budget ends the runs: large enough never to be the limit.
UNLIMITED_STEPS = 10 ** 6


class CompareError(ValueError):
    """A comparison that cannot run; the message names the problem and the fix."""


def parse_entries(text):
    """``"udgan,infogan"`` -> ``["udgan", "infogan"]``, each checked against ``ENTRIES``."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in ENTRIES]
    if unknown or not names:
        raise CompareError(f"Unknown method(s) {unknown or [text]} for --methods. Available: {', '.join(ENTRIES)}.")
    return list(dict.fromkeys(names))


def entry_config(entry, dataset, minutes, seed, overrides=()):
    """The resolved config of one method and seed under the shared time budget."""
    method, name, _ = ENTRIES[entry]
    path = config_lib.shipped_config_dir() / (name.format(dataset=dataset) + ".yaml")
    if not path.exists():
        raise CompareError(f"{entry} has no config for {dataset!r}: {path} does not exist. Shipped: "
                           f"{', '.join(sorted(p.stem for p in path.parent.glob('*.yaml')))}.")
    settings = [f"model.method={method}", f"training.seed={seed}", f"model.seed={seed}", *overrides]
    if minutes is not None:
        settings += [f"training.minutes={minutes}", f"training.steps={UNLIMITED_STEPS}"]
    return config_lib.load_config(path, settings)


def run_entry(entry, config, run_dir, measures, num_points, oracle_steps, seed, verbose):
    """Trains (or resumes, or reuses) one run and evaluates it (or reuses its evaluation)."""
    from udgan_tf.evaluation.evaluate_run import evaluate
    from udgan_tf.runs import RunDirectory
    from udgan_tf.train import train

    run = RunDirectory(run_dir)
    finished = run.config_path.exists() and (run.status() or {}).get("status") == "finished"
    if finished and run.read_config() != json.loads(json.dumps(config)):
        raise CompareError(f"{run_dir} holds a finished run of another config; pass another --output-dir or "
                           "delete it.")
    if not finished:
        train(config, run_dir, verbose=verbose)
    report = run.path / "evaluation" / "metrics.json"
    if report.exists():
        results = json.loads(report.read_text())
        if results.get("measures") == list(measures) and results.get("seed") == seed:
            return results
    results = evaluate(run_dir, requested=",".join(measures), num_points=num_points, oracle_steps=oracle_steps,
                       seed=seed)
    return results


#: the number each metric's result dict is scored by
METRIC_VALUES = {"beta_vae_score": "eval_accuracy", "factor_vae_score": "eval_accuracy", "mig": "discrete_mig"}


def figures_of(results):
    """The table's figures of one ``evaluate`` result: the metrics, knob MIG, precision,
    recall, the shape shares (dSprites) and the training step reached."""
    figures = {name: results["metrics"][name][key] for name, key in METRIC_VALUES.items()
               if name in results.get("metrics", {})}
    generator = results.get("generator", {})
    figures.update(generator.get("precision_recall", {}))
    figures.pop("k", None)
    figures.update(generator.get("shape_shares", {}).get("generated", {}))
    if "knob_mig" in generator:
        figures["knob_mig"] = generator["knob_mig"]
    figures["step"] = results.get("step")
    return {name: float(value) for name, value in figures.items() if value is not None}


def summarise(per_entry):
    """Mean and standard deviation over seeds of every figure.

    Args:
        per_entry: {entry: [results dict of ``evaluate``, one per seed]}.

    Returns:
        {entry: {figure: {"mean", "std", "values"}}}.
    """
    summary = {}
    for entry, runs in per_entry.items():
        collected = {}
        for results in runs:
            for name, value in figures_of(results).items():
                collected.setdefault(name, []).append(value)
        summary[entry] = {name: {"mean": float(np.mean(v)), "std": float(np.std(v)), "values": v}
                          for name, v in collected.items()}
    return summary


def _cell(figure, percent=False):
    if figure is None:
        return "–"
    scale = 100 if percent else 1
    text = f"{scale * figure['mean']:.0f} %" if percent else f"{figure['mean']:.2f}"
    return text + (f" ± {scale * figure['std']:.{0 if percent else 2}f}" if len(figure["values"]) > 1 else "")


def report_markdown(summary, dataset, minutes, seeds):
    """The report: Table 1's layout (published beside ours), then fidelity. Returns str."""
    sources = sorted({source for entry in summary for _, source in PUBLISHED.get(entry, {}).values()})
    lines = [f"# Methods side by side on {dataset}", "",
             f"Each method trained for {minutes} minutes of training per seed on this machine, seeds "
             f"{', '.join(map(str, seeds))}; mean ± standard deviation over seeds. Representations: UD-GAN's "
             "phi(x), InfoGAN's and InfoGAN-CR's Q(x), the beta-VAE's posterior mean. Published figures in "
             "brackets, from: " + "; ".join(f"[{i + 1}] {source}" for i, source in enumerate(sources)) + ".", "",
             "| method | steps | BetaVAE score | FactorVAE score | MIG | knob MIG |", "|---|---|---|---|---|---|"]
    for entry, figures in summary.items():
        cells = []
        for name in METRICS:
            cell = _cell(figures.get(name))
            if name in PUBLISHED.get(entry, {}):
                value, source = PUBLISHED[entry][name]
                cell += f" [{value:.3f}]<sup>{sources.index(source) + 1}</sup>"
            cells.append(cell)
        steps = figures.get("step")
        lines.append(f"| {ENTRIES[entry][2]} | {steps['mean']:.0f} |" if steps else f"| {ENTRIES[entry][2]} | – |")
        lines[-1] += " " + " | ".join(cells) + f" | {_cell(figures.get('knob_mig'))} |"
    if any("square" in figures for figures in summary.values()):
        lines += ["", "Fidelity (oracle features, k = 3; real shares are 33 % each):", "",
                  "| method | precision | recall | squares | ellipses | hearts |", "|---|---|---|---|---|---|"]
        for entry, figures in summary.items():
            lines.append(f"| {ENTRIES[entry][2]} | {_cell(figures.get('precision'))} | {_cell(figures.get('recall'))} | "
                         + " | ".join(_cell(figures.get(shape), percent=True) for shape in ("square", "ellipse", "heart"))
                         + " |")
    lines += ["", "![traversals](traversals.png)", ""]
    return "\n".join(lines)


def save_traversals(path, models, num_values=9, seed=0):
    """Every method's traversal grid side by side, one panel per method (``{label: model}``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from udgan_tf.evaluation.traversal import tile, traversal_grid
    from udgan_tf.runs import atomic_write

    fig, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models), 4.2), squeeze=False)
    for ax, (label, model) in zip(axes[0], models.items()):
        image = tile(traversal_grid(model, num_values, seed))
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1)
        ax.set_title(label, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([(i + 0.5) * image.shape[0] / len(model.knobs) for i in range(len(model.knobs))])
        ax.set_yticklabels([knob.name for knob in model.knobs], fontsize=6)
    fig.suptitle("each row: one knob swept from -1 to 1, the others fixed", fontsize=9)
    fig.tight_layout()

    def write(tmp):
        fig.savefig(tmp, format="png", dpi=100)
    atomic_write(path, write)
    plt.close(fig)


def compare(dataset, entries, minutes, seeds, output_dir, num_points=None, oracle_steps=3000, overrides=(),
            verbose="auto"):
    """Trains and evaluates every entry for every seed, then writes the report. Returns the summary."""
    from udgan_tf.runs import atomic_write_text, load_model

    output = pathlib.Path(output_dir)
    measures = [*METRICS, "generator"]
    jobs = [(entry, seed) for entry in entries for seed in seeds]
    configs = {job: entry_config(job[0], dataset, minutes, job[1], overrides) for job in jobs}  # fail before training
    per_entry = {entry: [] for entry in entries}
    for number, (entry, seed) in enumerate(jobs, 1):
        budget = f"{minutes} minutes" if minutes is not None else "its config's steps"
        print(f"[{number}/{len(jobs)}] {ENTRIES[entry][2]} ({entry}), seed {seed}: training for {budget}, then "
              f"{', '.join(measures)}", flush=True)
        per_entry[entry].append(run_entry(entry, configs[entry, seed], output / entry / f"seed{seed}", measures,
                                          num_points, oracle_steps, seed, verbose))
    summary = summarise(per_entry)
    print(f"[{len(jobs)}/{len(jobs)}] writing the report", flush=True)
    save_traversals(output / "traversals.png",
                    {ENTRIES[entry][2]: load_model(output / entry / f"seed{seeds[0]}") for entry in entries})
    atomic_write_text(output / "results.json", json.dumps({"dataset": dataset, "minutes": minutes, "seeds": seeds,
                                                           "summary": summary, "published": PUBLISHED}, indent=2))
    atomic_write_text(output / "report.md", report_markdown(summary, dataset, minutes, seeds))
    return summary


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m udgan_tf.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="dsprites")
    parser.add_argument("--methods", default=",".join(ENTRIES), help=f"comma-separated: {', '.join(ENTRIES)}")
    parser.add_argument("--minutes", type=float, help="minutes of training per method and seed (default: each "
                                                      "config's steps)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds 0 .. S-1 (default 2)")
    parser.add_argument("--output-dir", help="default runs/compare-<dataset>")
    parser.add_argument("--num-points", type=int, help="points per metric (default: disentanglement_lib's sizes)")
    parser.add_argument("--oracle-steps", type=int, default=3000)
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a value in every method's config, e.g. training.batch_size=32")
    return parser.parse_args(argv)


def main(argv=None):
    from udgan_tf.evaluation.evaluate_run import EvaluationError
    from udgan_tf.runs import RunDirectoryError, RunWriteError
    from udgan_tf.train import TrainingDiverged, TrainingPreempted, TrainingStopped

    args = parse_args(argv)
    try:
        if args.seeds < 1:
            raise CompareError(f"--seeds must be >= 1. Received: {args.seeds}")
        if args.minutes is not None and args.minutes <= 0:
            raise CompareError(f"--minutes must be > 0. Received: {args.minutes}")
        output = args.output_dir or f"runs/compare-{args.dataset}"
        compare(args.dataset, parse_entries(args.methods), args.minutes, list(range(args.seeds)), output,
                args.num_points, args.oracle_steps, args.set)
    except (CompareError, config_lib.ConfigError, EvaluationError, RunDirectoryError, data_lib.DataError,
            FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (TrainingDiverged, TrainingStopped, RunWriteError) as error:
        print(f"error: {error} Rerun the same command to continue the comparison.", file=sys.stderr)
        return 3
    except TrainingPreempted as error:
        print(f"{error} Rerun the same command to continue the comparison.", file=sys.stderr)
        return 143
    print(f"Report written to {output}/report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
