"""One table of the headline figures of several dSprites runs: seeds side by side, or one run's
checkpoints against training minutes.

    python benchmarks/runs_table.py --section NAME --runs DIR [DIR ...] [--summary DIR [DIR ...]] [--write]

For each run: ``python -m udgan_tf.evaluate --metrics generator,knob_control`` (plausible
sprites, r and reach of the guided knobs, precision and recall, shape shares). With
--summary the table ends with the mean and the spread (max - min) over those runs (e.g.
the final checkpoints of two seeds, among rows that also show one run's earlier
checkpoints). With
--write the table goes into BENCHMARKS.md as section NAME. The last line printed is JSON.
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from udgan_tf.evaluation.evaluate_run import evaluate  # noqa: E402

#: abs(r) and abs(reach): a knob's direction is arbitrary (seeds 0 and 1 of configs/dsprites.yaml
#: move x and y the opposite ways), so signed values would average to nothing.
COLUMNS = ("plausible", "|r| x", "|r| y", "|r| size", "reach x", "reach y", "reach size", "precision", "recall",
           "square", "ellipse", "heart")


def headline(run_dir, oracle_steps):
    """The figures of ``COLUMNS`` for one run, plus its steps and training minutes."""
    with tempfile.TemporaryDirectory(prefix="udgan_runs_table_") as work:
        results = evaluate(run_dir, pathlib.Path(work) / "report", "generator,knob_control", oracle_steps=oracle_steps)
    knobs, generator = results["knob_control"], results["generator"]
    own = [abs(knobs["correlations"][k]) for k in ("x_position", "y_position", "size")]
    reach = [abs(knobs["reach"][k]) for k in ("x_position", "y_position", "size")]
    shares = generator["shape_shares"]["generated"]
    values = [knobs["plausible_fraction"], *own, *reach, generator["precision_recall"]["precision"],
              generator["precision_recall"]["recall"], shares["square"], shares["ellipse"], shares["heart"]]
    return {"run_dir": str(run_dir), "steps": results["step"], "training_minutes": results["training_minutes"],
            **dict(zip(COLUMNS, values))}


def markdown(rows, summary=()):
    def cells(row):
        return " | ".join(f"{row[c]:.3f}" if c.startswith("|r|") else f"{100 * row[c]:.1f} %"
                          if c in ("plausible", "square", "ellipse", "heart") or c.startswith("reach")
                          else f"{row[c]:.3f}" for c in COLUMNS)

    lines = ["| run | step | minutes | " + " | ".join(COLUMNS) + " |", "|" + "---|" * (len(COLUMNS) + 3)]
    lines += [f"| `{r['run_dir']}` | {r['steps']} | {r['training_minutes']} | {cells(r)} |" for r in rows]
    if summary:
        chosen = [r for r in rows if r["run_dir"] in summary]
        mean = {c: float(np.mean([r[c] for r in chosen])) for c in COLUMNS}
        spread = {c: float(np.ptp([r[c] for r in chosen])) for c in COLUMNS}
        lines.append(f"| **mean of {len(chosen)}** | | | {cells(mean)} |")
        lines.append(f"| spread (max - min) | | | {cells(spread)} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--section", required=True, help="BENCHMARKS.md section to write")
    parser.add_argument("--runs", nargs="+", required=True)
    parser.add_argument("--summary", nargs="+", default=[], help="runs (of --runs) to add the mean and spread of")
    parser.add_argument("--oracle-steps", type=int, default=3000)
    parser.add_argument("--title", default="dSprites runs side by side")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.summary) - set(args.runs))
    if unknown:
        parser.error(f"--summary names runs that are not in --runs: {unknown}")
    rows = [headline(run, args.oracle_steps) for run in args.runs]
    if args.write:
        from report import update_section

        update_section(args.section, (
            f"## {args.title} (`benchmarks/runs_table.py`)\n\n"
            f"Command: `python benchmarks/runs_table.py --section {args.section} --runs {' '.join(args.runs)}"
            f"{' --summary ' + ' '.join(args.summary) if args.summary else ''} --title \"{args.title}\" --write`. Plausible sprites, r and "
            "reach of the guided knobs (`--metrics knob_control`), precision and recall in the oracle's features "
            "and the oracle's shape shares among generated images (`--metrics generator`; real: about 33 % each). "
            "Minutes are wall-clock training minutes on 2 cores, other jobs included.\n\n" + markdown(rows, args.summary)))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
