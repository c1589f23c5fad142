"""Tables and a picture of fidelity curves written by ``benchmarks/fidelity_curve.py``.

    python benchmarks/curves_report.py --section NAME --title TITLE \
        --curve LABEL=FILE.jsonl [--curve ...] [--generator G_ema] [--plot benchmarks/figures/NAME.png] [--write]

One table row per measured point of each curve (steps, training minutes, precision, recall,
shape shares, plausible sprites, the best unguided knob's shape entry), and with --plot one
picture of recall and the square share against steps for every curve. --write puts the
table (and a link to the picture) into BENCHMARKS.md as section NAME.
"""

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


def read_curve(path):
    return [json.loads(line) for line in pathlib.Path(path).read_text().splitlines() if line.strip()]


def figures(row, generator):
    """The measured figures of one point: of the weight average when the run kept one."""
    return row.get(generator) or row["G"]


def table(curves, generator):
    lines = ["| curve | step | minutes | precision | recall | square / ellipse / heart | plausible "
             "| best unguided knob for shape |", "|---|---|---|---|---|---|---|---|"]
    for label, rows in curves.items():
        for row in rows:
            m = figures(row, generator)
            shares = " / ".join(f"{100 * m['shares'][s]:.0f} %" for s in ("square", "ellipse", "heart"))
            unguided = f"{m['unguided_shape']:.2f}" if "unguided_shape" in m else "-"
            lines.append(f"| {label} | {row['step']} | {row['minutes']:.1f} | {m['precision']:.2f} | "
                         f"{m['recall']:.2f} | {shares} | {100 * m['plausible']:.0f} % | {unguided} |")
    return "\n".join(lines) + "\n"


def plot(curves, generator, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, rows in curves.items():
        steps = [row["step"] for row in rows]
        left.plot(steps, [figures(row, generator)["recall"] for row in rows], marker="o", label=label)
        right.plot(steps, [100 * figures(row, generator)["shares"]["square"] for row in rows], marker="o")
    left.set(xlabel="training step", ylabel="recall (oracle features, k = 3)", ylim=(0, 1))
    right.set(xlabel="training step", ylabel="squares among generated images (%)", ylim=(0, 40))
    right.axhline(25, color="grey", linestyle=":")
    left.axhline(0.8, color="grey", linestyle=":")
    left.legend(fontsize=7)
    fig.tight_layout()
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--section", required=True)
    parser.add_argument("--title", required=True)
    parser.add_argument("--curve", action="append", required=True, metavar="LABEL=FILE")
    parser.add_argument("--generator", default="G_ema", choices=("G", "G_ema"),
                        help="which network's figures (G_ema falls back to G for runs without an average)")
    parser.add_argument("--plot")
    parser.add_argument("--note", default="", help="a paragraph under the table")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    curves = {}
    for spec in args.curve:
        label, _, path = spec.partition("=")
        curves[label] = read_curve(path)
    markdown = table(curves, args.generator)
    print(markdown)
    if args.plot:
        plot(curves, args.generator, args.plot)
    if args.write:
        from report import update_section

        picture = f"\n![{args.title}]({args.plot})\n" if args.plot else ""
        command = (f"python benchmarks/curves_report.py --section {args.section} "
                   + " ".join(f'--curve "{spec}"' for spec in args.curve)
                   + (f" --plot {args.plot}" if args.plot else "") + " --title ... --write")
        update_section(args.section, f"## {args.title}\n\n{args.note}\n\nTable: `{command}`.\n\n{markdown}{picture}")


if __name__ == "__main__":
    main()
