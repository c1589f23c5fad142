"""One table of the headline figures of several dSprites runs: seeds side by side, or one run's
checkpoints against training minutes.

    python benchmarks/runs_table.py --section NAME --runs DIR [DIR ...] [--summary DIR [DIR ...]] [--write]
    python benchmarks/runs_table.py --unguided ...   # UD-GAN runs: the disentanglement metrics instead
    python benchmarks/runs_table.py --reuse-reports ...   # read the reports `udgan_tf.evaluate` wrote

For each run: ``python -m udgan_tf.evaluate --metrics generator,knob_control`` (plausible
sprites, r and reach of the guided knobs, precision and recall, shape shares). With
--unguided (runs without guided knobs): ``--metrics generator,beta_vae_score,
factor_vae_score,mig`` (phi(x) on real images, disentanglement_lib's default sizes), the
knob MIG and the best knob's entry for shape in the knob x factor matrix. With
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
UNGUIDED_COLUMNS = ("BetaVAE", "FactorVAE", "MIG", "knob MIG", "best knob for shape", "precision", "recall",
                    "square", "ellipse", "heart")
PERCENT = ("plausible", "square", "ellipse", "heart")


def headline(run_dir, oracle_steps, unguided=False, reuse=False):
    """The figures of ``COLUMNS`` (``UNGUIDED_COLUMNS``) for one run, plus its steps and training minutes.

    With ``reuse``, a report that ``python -m udgan_tf.evaluate --run-dir DIR`` already wrote
    (DIR/evaluation/metrics.json, with every measure needed) is read instead of evaluating again.
    """
    measures = "generator,beta_vae_score,factor_vae_score,mig" if unguided else "generator,knob_control"
    report = pathlib.Path(run_dir) / "evaluation" / "metrics.json"
    results = json.loads(report.read_text()) if reuse and report.exists() else None
    if results is not None and set(measures.split(",")) <= set(results["measures"]):
        print(f"{run_dir}: using the existing report {report}", flush=True)
    else:
        with tempfile.TemporaryDirectory(prefix="udgan_runs_table_") as work:
            results = evaluate(run_dir, pathlib.Path(work) / "report", measures, oracle_steps=oracle_steps)
    generator = results["generator"]
    shares = generator["shape_shares"]["generated"]
    fidelity = [generator["precision_recall"]["precision"], generator["precision_recall"]["recall"],
                shares["square"], shares["ellipse"], shares["heart"]]
    run = {"run_dir": str(run_dir), "steps": results["step"], "training_minutes": results["training_minutes"]}
    if unguided:
        metrics = results["metrics"]
        shape = generator["factor_names"].index("shape")
        values = [metrics["beta_vae_score"]["eval_accuracy"], metrics["factor_vae_score"]["eval_accuracy"],
                  metrics["mig"]["discrete_mig"], generator["knob_mig"],
                  max(row[shape] for row in generator["knob_factor_matrix"]), *fidelity]
        return {**run, **dict(zip(UNGUIDED_COLUMNS, values))}
    knobs = results["knob_control"]
    own = [abs(knobs["correlations"][k]) for k in ("x_position", "y_position", "size")]
    reach = [abs(knobs["reach"][k]) for k in ("x_position", "y_position", "size")]
    values = [knobs["plausible_fraction"], *own, *reach, *fidelity]
    return {**run, **dict(zip(COLUMNS, values))}


def markdown(rows, summary=(), columns=COLUMNS):
    def cells(row):
        return " | ".join(f"{100 * row[c]:.1f} %" if c in PERCENT or c.startswith("reach") else f"{row[c]:.3f}"
                          for c in columns)

    lines = ["| run | step | minutes | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 3)]
    lines += [f"| `{r['run_dir']}` | {r['steps']} | {r['training_minutes']} | {cells(r)} |" for r in rows]
    if summary:
        chosen = [r for r in rows if r["run_dir"] in summary]
        mean = {c: float(np.mean([r[c] for r in chosen])) for c in columns}
        spread = {c: float(np.ptp([r[c] for r in chosen])) for c in columns}
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
    parser.add_argument("--unguided", action="store_true",
                        help="UD-GAN runs: disentanglement metrics of phi(x) instead of the guided knobs' figures")
    parser.add_argument("--reuse-reports", action="store_true",
                        help="read DIR/evaluation/metrics.json when it holds the measures instead of evaluating again")
    parser.add_argument("--note", default="", help="a paragraph under the table")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.summary) - set(args.runs))
    if unknown:
        parser.error(f"--summary names runs that are not in --runs: {unknown}")
    rows = [headline(run, args.oracle_steps, args.unguided, args.reuse_reports) for run in args.runs]
    columns = UNGUIDED_COLUMNS if args.unguided else COLUMNS
    if args.write:
        from report import update_section

        measured = ("BetaVAE, FactorVAE and MIG of phi(x) on real images (disentanglement_lib's default sizes), "
                    "the knob MIG and the best knob's shape entry of the knob x factor matrix" if args.unguided else
                    "Plausible sprites, r and reach of the guided knobs (`--metrics knob_control`)")
        update_section(args.section, (
            f"## {args.title} (`benchmarks/runs_table.py`)\n\n"
            f"Command: `python benchmarks/runs_table.py --section {args.section}{' --unguided' if args.unguided else ''}"
            f"{' --reuse-reports' if args.reuse_reports else ''} --runs {' '.join(args.runs)}"
            f"{' --summary ' + ' '.join(args.summary) if args.summary else ''} --title \"{args.title}\" --write`. "
            f"{measured}, precision and recall in the oracle's features "
            "and the oracle's shape shares among generated images (`--metrics generator`; real: about 33 % each). "
            "Minutes are wall-clock training minutes on 2 cores, other jobs included.\n\n"
            + markdown(rows, args.summary, columns) + (f"\n{args.note}\n" if args.note else "")))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
