"""Train and score several methods alike: ``python -m udgan_tf.compare --dataset dsprites
--methods udgan,udgan_g,infogan,infogan_cr,beta_vae --minutes 45 --seeds 2``.

Every method trains for the same minutes of training on this machine (``training.minutes``
on ``training.clock``, by default the CPU clock, so a job beside one run does not shorten its
budget; its shipped config otherwise: ``configs/<dataset>_<config suffix>.yaml``, see
``ENTRIES``), once per seed, into ``<runs>/<method>/seed<S>``, all methods of seed 0 first;
each run and a few snapshots of it (``--curve-points``) are scored by the same
``udgan_tf.evaluate`` code with the same metric seeds. Each run leaves a record,
``<output>/<method>/seed<S>.json`` (its config, scores and curve) and ``.png`` (its traversal
grid). The report (``<output>/report.md``, ``results.json``, ``traversals.png``,
``curves.png``) holds a table in the layout of the paper's Table 1 with the published numbers
beside ours (each cited), the mean and standard deviation over seeds, the dSprites shape
shares and precision/recall, the targets held or missed, every method's traversal grid side by
side and the measures against training minutes. A record, a finished run and a finished
evaluation are reused, so rerunning the same command after a crash or a kill continues where
it stopped (an unfinished run resumes from its backup, its training minutes counted on), and a
committed output directory lets the comparison grow over several machines.
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


def entry_config(entry, dataset, minutes, seed, overrides=(), clock="cpu", curve_points=0):
    """The resolved config of one method and seed under the shared time budget: ``minutes`` on
    ``clock`` (``training.clock``), with a snapshot every ``minutes / curve_points`` minutes."""
    method, name, _ = ENTRIES[entry]
    path = config_lib.shipped_config_dir() / (name.format(dataset=dataset) + ".yaml")
    if not path.exists():
        raise CompareError(f"{entry} has no config for {dataset!r}: {path} does not exist. Shipped: "
                           f"{', '.join(sorted(p.stem for p in path.parent.glob('*.yaml')))}.")
    settings = [f"model.method={method}", f"training.seed={seed}", f"model.seed={seed}"]
    if minutes is not None:
        settings += [f"training.minutes={minutes}", f"training.steps={UNLIMITED_STEPS}", f"training.clock={clock}"]
        if curve_points:
            settings.append(f"training.snapshot_every_minutes={minutes / curve_points}")
    return config_lib.load_config(path, [*settings, *overrides])


def _evaluation(run_dir, measures, num_points, oracle_steps, seed):
    """``evaluate``'s results for a run directory, reusing a finished evaluation of the same measures."""
    from udgan_tf.evaluation.evaluate_run import evaluate

    report = pathlib.Path(run_dir) / "evaluation" / "metrics.json"
    if report.exists():
        results = json.loads(report.read_text())
        if results.get("measures") == list(measures) and results.get("seed") == seed:
            return results
    return evaluate(run_dir, requested=",".join(measures), num_points=num_points, oracle_steps=oracle_steps,
                    seed=seed)


def run_entry(entry, config, run_dir, record_path, measures, num_points, oracle_steps, seed, curve_num_points,
              verbose):
    """Trains (or resumes) one run, evaluates it and its snapshots, and writes its record:
    ``record_path`` (JSON: the config, ``evaluate``'s results, the curve over the snapshots,
    the knob names) and beside it the traversal grid as PNG. A record of the same config is
    reused as it is, without the run directory (records are small enough to commit, so a
    comparison can grow over several machines). Returns the record."""
    from udgan_tf.evaluation.traversal import tile, traversal_grid
    from udgan_tf.runs import RunDirectory, atomic_write_bytes, atomic_write_text, load_model, png_bytes
    from udgan_tf.train import train

    config = json.loads(json.dumps(config))
    if record_path.exists():
        record = json.loads(record_path.read_text())
        if record["config"] != config:
            raise CompareError(f"{record_path} records a run of another config; pass another --output-dir or "
                               "delete it (and its run directory) to run this one.")
        return record
    run = RunDirectory(run_dir)
    finished = run.config_path.exists() and (run.status() or {}).get("status") == "finished"
    if finished and run.read_config() != config:
        raise CompareError(f"{run_dir} holds a finished run of another config; pass another --runs-dir or "
                           "delete it.")
    if not finished:
        train(config, run_dir, verbose=verbose)
    results = _evaluation(run.path, measures, num_points, oracle_steps, seed)
    curve = []
    for snapshot in run.snapshots():
        print(f"      curve: the snapshot at step {snapshot.status()['step']}", flush=True)
        point = _evaluation(snapshot.path, measures, curve_num_points, oracle_steps, seed)
        curve.append({"minutes": point["training_minutes"], **figures_of(point)})
    model = load_model(run.path)
    grid = tile(traversal_grid(model, 9, seed=0))
    atomic_write_bytes(record_path.with_suffix(".png"), png_bytes(grid))
    record = {"entry": entry, "seed": seed, "config": config, "results": results, "curve": curve,
              "knobs": [knob.name for knob in model.knobs]}
    atomic_write_text(record_path, json.dumps(record, indent=2))
    return record


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


def report_markdown(summary, dataset, minutes, seeds, clock="cpu", curves=False, curve_num_points=None):
    """The report: Table 1's layout (published beside ours), fidelity, the targets, the curves.
    Returns str."""
    sources = sorted({source for entry in summary for _, source in PUBLISHED.get(entry, {}).values()})
    budget = (f"{minutes} minutes of training ({clock} clock{CLOCK_NOTES.get(clock, '')})" if minutes is not None
              else "its config's steps")
    lines = [f"# Methods side by side on {dataset}", "",
             f"Each method trained for {budget} per seed on this machine, seeds "
             f"{', '.join(map(str, seeds))}; mean ± standard deviation over seeds. Representations: UD-GAN's "
             "phi(x), InfoGAN's and InfoGAN-CR's Q(x), the beta-VAE's posterior mean. Published figures in "
             "brackets, from: " + "; ".join(f"[{i + 1}] {source}" for i, source in enumerate(sources)) + ".", "",
             *_seed_counts(summary),
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
    targets = target_lines(summary)
    if targets:
        lines += ["", "Targets (means over seeds):", "", *targets]
    lines += ["", "![traversals](traversals.png)", ""]
    if curves:
        lines += ["The measures against training minutes, on the snapshots kept during training (one line per "
                  f"seed), each scored with {curve_num_points} points per metric and generated images: fewer than "
                  "the table's, so compare the curves with each other rather than with the table.", "",
                  "![curves](curves.png)", ""]
    return "\n".join(lines)


def _seed_counts(summary):
    """A line saying how many seeds each method's row averages, when they differ (a report of the
    records so far); else nothing. Returns a list of 0 or 2 markdown lines."""
    counts = {entry: len(figures["step"]["values"]) for entry, figures in summary.items() if "step" in figures}
    if len(set(counts.values())) <= 1:
        return []
    return ["Records so far (`--report-only`), seeds per method: "
            + ", ".join(f"{ENTRIES[entry][2]} {count}" for entry, count in counts.items()) + ".", ""]


#: how the report explains a clock
CLOCK_NOTES = {"cpu": ": the process's CPU time divided by its cores, so other jobs on the machine do not eat a "
                      "method's budget"}


def save_traversals(path, panels):
    """Every method's traversal grid side by side, one panel per method.

    Args:
        panels: {label: (grid image file, knob names)}: the PNGs ``run_entry`` writes.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 4.2), squeeze=False)
    for ax, (label, (image_path, knob_names)) in zip(axes[0], panels.items()):
        image = np.asarray(Image.open(image_path))
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        ax.set_title(label, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([(i + 0.5) * image.shape[0] / len(knob_names) for i in range(len(knob_names))])
        ax.set_yticklabels(knob_names, fontsize=6)
    fig.suptitle("each row: one knob swept from -1 to 1, the others fixed", fontsize=9)
    fig.tight_layout()
    _save_figure(path, fig)


#: the panels of the curves picture: figure -> its title
CURVE_PANELS = {"beta_vae_score": "BetaVAE score", "factor_vae_score": "FactorVAE score", "mig": "MIG",
                "knob_mig": "knob MIG (generator side)", "precision": "precision", "recall": "recall"}


def save_curves(path, curves):
    """The measures against training minutes, one colour per method, one line per seed.

    Args:
        curves: {label: [curve, one per seed]}, each curve a list of ``{"minutes", figure: value}``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for ax, (name, title) in zip(axes.flat, CURVE_PANELS.items()):
        for colour, (label, runs) in enumerate(curves.items()):
            for number, curve in enumerate(runs):
                points = [(point["minutes"], point[name]) for point in curve if name in point]
                if points:
                    ax.plot(*zip(*points), marker="o", color=f"C{colour}", alpha=1.0 if number == 0 else 0.5,
                            label=label if number == 0 else None)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("training minutes", fontsize=8)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    _save_figure(path, fig)


def _save_figure(path, fig):
    import matplotlib.pyplot as plt

    from udgan_tf.runs import atomic_write

    def write(tmp):
        fig.savefig(tmp, format="png", dpi=100)
    atomic_write(path, write)
    plt.close(fig)


def target_lines(summary):
    """The issue's targets checked on the table: UD-GAN-G >= every baseline on every metric,
    UD-GAN >= InfoGAN on FactorVAE and MIG; and where UD-GAN is below the paper. Returns
    markdown lines, each saying held or missed with the two means."""
    lines = []

    def check(ours, other, name):
        if name in summary.get(ours, {}) and name in summary.get(other, {}):
            a, b = summary[ours][name]["mean"], summary[other][name]["mean"]
            lines.append(f"- {ENTRIES[ours][2]} {'>=' if a >= b else '<'} {ENTRIES[other][2]} on {name}: "
                         f"{a:.2f} vs {b:.2f} ({'held' if a >= b else '**missed**'})")

    for other in ("infogan", "infogan_cr", "beta_vae"):   # the baselines; UD-GAN is not one
        for name in METRICS:
            check("udgan_g", other, name)
    for name in ("factor_vae_score", "mig"):
        check("udgan", "infogan", name)
    for entry in ("udgan", "udgan_g"):
        for name, (value, source) in PUBLISHED[entry].items():
            if name in summary.get(entry, {}) and summary[entry][name]["mean"] < value:
                lines.append(f"- {ENTRIES[entry][2]} is below the paper on {name}: "
                             f"{summary[entry][name]['mean']:.2f} vs {value:.2f} ({source})")
    return lines


def compare(dataset, entries, minutes, seeds, output_dir, num_points=None, oracle_steps=3000, overrides=(),
            verbose="auto", runs_dir=None, clock="cpu", curve_points=3, curve_num_points=500, report_only=False):
    """Trains and evaluates every entry for every seed (all entries of a seed before the next
    seed, so that a partial comparison has every method), then writes the report. With
    ``report_only`` it trains nothing: the report is written from the records that exist,
    the jobs without one left out. Returns the summary."""
    from udgan_tf.runs import atomic_write_text

    output = pathlib.Path(output_dir)
    runs = pathlib.Path(runs_dir or output_dir)
    measures = [*METRICS, "generator"]
    jobs = [(entry, seed) for seed in seeds for entry in entries]
    configs = {(entry, seed): entry_config(entry, dataset, minutes, seed, overrides, clock, curve_points)
               for entry, seed in jobs}   # fail before training
    records = {entry: [] for entry in entries}
    for number, (entry, seed) in enumerate(jobs, 1):
        record_path = output / entry / f"seed{seed}.json"
        budget = f"{minutes} minutes ({clock} clock)" if minutes is not None else "its config's steps"
        doing = (f"reusing its record {record_path} (delete it to run again)" if record_path.exists() else
                 "no record yet, left out of the report (--report-only trains nothing)" if report_only else
                 f"training for {budget}, then {', '.join(measures)}")
        print(f"[{number}/{len(jobs)}] {ENTRIES[entry][2]} ({entry}), seed {seed}: {doing}", flush=True)
        if report_only and not record_path.exists():
            continue
        records[entry].append(run_entry(entry, configs[entry, seed], runs / entry / f"seed{seed}", record_path,
                                        measures, num_points, oracle_steps, seed, curve_num_points, verbose))
    records = {entry: done for entry, done in records.items() if done}
    if not records:
        raise CompareError(f"--report-only found no records in {output}; run the command without it to train "
                           "the methods first.")
    summary = summarise({entry: [record["results"] for record in done] for entry, done in records.items()})
    print(f"[{len(jobs)}/{len(jobs)}] writing the report", flush=True)
    save_traversals(output / "traversals.png",
                    {ENTRIES[entry][2]: (output / entry / f"seed{done[0]['seed']}.png", done[0]["knobs"])
                     for entry, done in records.items()})
    curves = {ENTRIES[entry][2]: [record["curve"] for record in done] for entry, done in records.items()}
    if any(curve for runs_of_entry in curves.values() for curve in runs_of_entry):
        save_curves(output / "curves.png", curves)
    atomic_write_text(output / "results.json", json.dumps(
        {"dataset": dataset, "minutes": minutes, "clock": clock, "seeds": seeds, "summary": summary,
         "curves": curves, "published": PUBLISHED}, indent=2))
    atomic_write_text(output / "report.md", report_markdown(summary, dataset, minutes, seeds, clock,
                                                            curves=(output / "curves.png").exists(),
                                                            curve_num_points=curve_num_points))
    return summary


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m udgan_tf.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="dsprites")
    parser.add_argument("--methods", default=",".join(ENTRIES), help=f"comma-separated: {', '.join(ENTRIES)}")
    parser.add_argument("--minutes", type=float, help="minutes of training per method and seed (default: each "
                                                      "config's steps)")
    parser.add_argument("--clock", choices=config_lib.CLOCKS, default="cpu",
                        help="what a minute of --minutes is (training.clock): cpu (default; the process's CPU "
                             "time / its cores, fair when other jobs share the machine) or wall")
    parser.add_argument("--seeds", type=int, default=2, help="seeds 0 .. S-1 (default 2)")
    parser.add_argument("--output-dir", help="the report and one record per method and seed (small: commit it); "
                                             "default runs/compare-<dataset>")
    parser.add_argument("--runs-dir", help="the run directories (large); default: --output-dir")
    parser.add_argument("--num-points", type=int, help="points per metric (default: disentanglement_lib's sizes)")
    parser.add_argument("--curve-points", type=int, default=3,
                        help="snapshots per run scored for the curves of measures against minutes (default 3; "
                             "0: none)")
    parser.add_argument("--curve-num-points", type=int, default=500, help="points per metric on the curves")
    parser.add_argument("--oracle-steps", type=int, default=3000)
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: write the report from the records in --output-dir so far")
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
        if args.curve_points < 0 or args.curve_num_points < 1:
            raise CompareError(f"--curve-points must be >= 0 and --curve-num-points >= 1. Received: "
                               f"{args.curve_points}, {args.curve_num_points}")
        output = args.output_dir or f"runs/compare-{args.dataset}"
        compare(args.dataset, parse_entries(args.methods), args.minutes, list(range(args.seeds)), output,
                args.num_points, args.oracle_steps, args.set, runs_dir=args.runs_dir, clock=args.clock,
                curve_points=args.curve_points, curve_num_points=args.curve_num_points,
                report_only=args.report_only)
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
