"""Evaluate a trained run: ``python -m udgan_tf.evaluate --run-dir DIR [--metrics ...] [--output DIR]``.

Writes ``metrics.json``, ``report.md`` (the tables in the paper's layout) and
pictures into ``--output`` (default ``<run-dir>/evaluation``). The report is built
in a ``.partial`` directory and moved into place only when complete, so a failed
or interrupted evaluation never leaves a report that looks finished.

Measures (``--metrics``, default: all that the data set supports):

* ``beta_vae_score``, ``factor_vae_score``, ``mig``, ``dci``, ``sap_score``: the
  standard suite (``udgan_tf.evaluation.metrics``) on phi(x), the siamese embedding of real
  images (§4.2, Table 1); needs ground-truth factors;
* ``generator``: the generator-side measures (``udgan_tf.evaluation.generator_measures``)
  with an oracle factor classifier trained on real images: Fréchet distance, precision and
  recall, on dSprites the shape shares (``udgan_tf.evaluation.fidelity``), knob MIG and DCI
  and the knob x factor matrix; needs factors;
* ``correlations``: Table 7 (guidance proxies against factors) and Table 9
  (embedding dimensions with each other and with factors or attributes);
* ``attributes``: CelebA attribute classification by projection (Tables 2 and 8);
* ``knob_control``: on dSprites, the share of generated images that are plausible sprites
  and, per guided knob, Pearson r with its own guidance proxy and its reach
  (``udgan_tf.evaluation.knob_control``); printed as well as reported.

The work is done by ``udgan_tf.evaluation.evaluate_run.evaluate``.
"""

import argparse
import pathlib
import sys

from udgan_tf import data as data_lib
from udgan_tf import exit_codes
from udgan_tf.evaluation.evaluate_run import MEASURES, EvaluationError, evaluate
from udgan_tf.evaluation.report import knob_control_tables
from udgan_tf.runs import RunDirectoryError, RunWriteError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m udgan_tf.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True, help="a run directory written by udgan_tf.train")
    parser.add_argument("--metrics", help=f"comma-separated subset of: {', '.join(MEASURES)} (default: all the "
                                          "data set supports)")
    parser.add_argument("--output", help="report directory (default: <run-dir>/evaluation)")
    parser.add_argument("--num-points", type=int, help="points per metric (default: disentanglement_lib's sizes)")
    parser.add_argument("--oracle-steps", type=int, default=3000, help="training steps of the oracle classifier")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", help="override the run's dataset.data_dir")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        results = evaluate(args.run_dir, args.output, args.metrics, args.num_points, args.oracle_steps, args.seed,
                           args.data_dir)
    except (EvaluationError, RunDirectoryError, data_lib.DataError, FileNotFoundError) as error:
        return exit_codes.report(error)
    except RunWriteError as error:
        return exit_codes.report(error, f"error: the evaluation stopped: {error}. Nothing was written in place of "
                                        f"the previous report; {error.remedy}, or pass another --output, then rerun "
                                        "the same command.")
    output = args.output or str(pathlib.Path(args.run_dir) / "evaluation")
    if "knob_control" in results:
        print(knob_control_tables(results["knob_control"]))
    print(f"Report written to {output}/report.md ({len(results['pictures'])} pictures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
