"""Train and score several methods alike: ``python -m udgan_tf.compare --dataset dsprites
--methods udgan,udgan_g,infogan,infogan_cr,beta_vae --minutes 45 --seeds 2``.

Every method trains for the same minutes of training on this machine (``training.minutes``
on ``training.clock``, by default the CPU clock, so a job beside one run does not shorten its
budget; its shipped config otherwise: ``configs/<dataset>_<config suffix>.yaml``, see
``ENTRIES``), once per seed, into ``<runs>/<method>/seed<S>``, all methods of seed 0 first;
each run and a few snapshots of it (``--curve-points``) are scored by the same
``udgan_tf.evaluate`` code with the same metric seeds. Each run leaves a record,
``<output>/<method>/seed<S>.json`` (its config, scores and curve) and ``.png`` (its traversal
grid). The library behind it is ``udgan_tf.comparison``. The report (``<output>/report.md``, ``results.json``, ``traversals.png``,
``curves.png``) holds a table in the layout of the paper's Table 1 with the published numbers
beside ours (each cited), the mean and standard deviation over seeds, the dSprites shape
shares and precision/recall, the targets held or missed, every method's traversal grid side by
side and the measures against training minutes. A record, a finished run and a finished
evaluation are reused, so rerunning the same command after a crash or a kill continues where
it stopped (an unfinished run resumes from its backup, its training minutes counted on), and a
committed output directory lets the comparison grow over several machines.
"""

import argparse
import sys

from udgan_tf import config as config_lib
from udgan_tf import data as data_lib
from udgan_tf import exit_codes
from udgan_tf.comparison import ENTRIES, CompareError, compare, parse_entries
from udgan_tf.evaluation.evaluate_run import EvaluationError
from udgan_tf.runs import RunDirectoryError, RunWriteError
from udgan_tf.training import TrainingDiverged, TrainingPreempted, TrainingStopped


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
    parser.add_argument("--curve-points", type=int,
                        help="snapshots per run scored for the curves of measures against minutes (default 3 "
                             "with --minutes, 0 without; 0: none). Snapshots are kept by training minutes, so "
                             "a number > 0 needs --minutes")
    parser.add_argument("--curve-num-points", type=int, default=500, help="points per metric on the curves")
    parser.add_argument("--oracle-steps", type=int, default=3000)
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: write the report from the records in --output-dir so far")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a value in every method's config, e.g. training.batch_size=32")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.seeds < 1:
            raise CompareError(f"--seeds must be >= 1. Received: {args.seeds}")
        if args.minutes is not None and args.minutes <= 0:
            raise CompareError(f"--minutes must be > 0. Received: {args.minutes}")
        if args.curve_points is None:
            args.curve_points = 3 if args.minutes is not None else 0
        if args.curve_points > 0 and args.minutes is None:
            raise CompareError(f"--curve-points {args.curve_points} needs --minutes: snapshots for the curves are "
                               f"kept every --minutes / --curve-points training minutes. Add --minutes, or drop "
                               f"--curve-points (a run of each config's steps, without curves).")
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
        return exit_codes.report(error)
    except (TrainingDiverged, TrainingStopped, RunWriteError, TrainingPreempted) as error:
        return exit_codes.report(error, then=" Rerun the same command to continue the comparison.")
    print(f"Report written to {output}/report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
