"""Loss curves of dSprites runs with and without the stabilisers, as a picture and a table.

    python benchmarks/stabilisers.py --run paper=runs/dsprites_paper --run default=runs/dsprites \
        [--write]

Each ``--run NAME=DIR`` is a finished or running run directory (its ``history.csv``).
Draws d_loss, g_loss and contrastive_loss against the step into
``benchmarks/figures/stabilisers.png`` and, with --write, a table of the losses at a
few steps into BENCHMARKS.md next to the picture.
"""

import argparse
import csv
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

FIGURE = pathlib.Path(__file__).resolve().parent / "figures" / "stabilisers.png"
CURVES = ("d_loss", "g_loss", "contrastive_loss")


def read_history(run_dir):
    with open(pathlib.Path(run_dir) / "history.csv") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{run_dir}/history.csv has no rows yet")
    return {key: [float(row[key]) for row in rows] for key in rows[0]}


def plot(histories, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(CURVES), figsize=(4 * len(CURVES), 3.2))
    for ax, key in zip(axes, CURVES):
        for name, history in histories.items():
            ax.plot(history["step"], history[key], label=name)
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def table(histories, points=5):
    lines = ["| run | step | d_loss | g_loss | contrastive_loss |", "|---|---|---|---|---|"]
    for name, history in histories.items():
        steps = history["step"]
        picks = sorted({round(i * (len(steps) - 1) / (points - 1)) for i in range(points)})
        for i in picks:
            lines.append(f"| {name} | {int(steps[i])} | {history['d_loss'][i]:.3f} | {history['g_loss'][i]:.3f} "
                         f"| {history['contrastive_loss'][i]:.3f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, metavar="NAME=DIR")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    histories = {}
    for item in args.run:
        name, _, run_dir = item.partition("=")
        histories[name] = read_history(run_dir)
    plot(histories, FIGURE)
    print(table(histories))
    if args.write:
        from report import update_section

        runs = " ".join(f"--run {item}" for item in args.run)
        update_section("stabilisers", (
            "## Loss curves with and without the stabilisers (`benchmarks/stabilisers.py`)\n\n"
            f"Command: `python benchmarks/stabilisers.py {runs} --write`\n\n"
            f"![loss curves](benchmarks/figures/stabilisers.png)\n\n{table(histories)}\n"))


if __name__ == "__main__":
    main()
