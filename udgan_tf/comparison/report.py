"""The comparison's report: the table in the layout of the paper's Table 1 with the published
figures beside ours, fidelity, the targets held or missed, the traversal grids side by side and
the measures against training minutes."""

import numpy as np

from udgan_tf.comparison.entries import ENTRIES, METRICS, PUBLISHED
from udgan_tf.runs import write_figure

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
    write_figure(path, fig)


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
    write_figure(path, fig)


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
