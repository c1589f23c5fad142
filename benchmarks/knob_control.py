"""Do the generator's images look like sprites, and do the guided knobs move them?

    python benchmarks/knob_control.py --run-dir runs/dsprites [--write]

The measures are the package's (``udgan_tf.evaluation.knob_control``, the same figures
as ``python -m udgan_tf.evaluate --run-dir DIR --metrics knob_control``); this script
runs them with the default sizes (2,000 images, 100 sweeps of 21 values per guided knob)
and, with --write, puts them and the run's traversal grid into BENCHMARKS.md. The last
line printed is JSON.
"""

import argparse
import json
import os
import pathlib
import shutil
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from udgan_tf.evaluation.evaluate_run import evaluate  # noqa: E402
from udgan_tf.evaluation.report import knob_control_tables  # noqa: E402
from udgan_tf.runs import RunDirectory  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="write the result into BENCHMARKS.md")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="udgan_knob_control_") as work:
        results = evaluate(args.run_dir, pathlib.Path(work) / "report", "knob_control", seed=args.seed)
    result = {"run_dir": args.run_dir, "steps": results["step"], "training_minutes": results["training_minutes"],
              **results["knob_control"]}
    if args.write:
        from report import update_section

        figure = pathlib.Path(__file__).resolve().parent / "figures" / "dsprites_traversal.png"
        figure.parent.mkdir(exist_ok=True)
        shutil.copyfile(RunDirectory(args.run_dir).traversal_path, figure)
        update_section("knob_control", (
            "## Knob control on dSprites (`benchmarks/knob_control.py`)\n\n"
            f"Command: `python benchmarks/knob_control.py --run-dir {args.run_dir} --write` on a run of "
            f"{result['steps']} steps ({result['training_minutes']} minutes of training on 2 cores). The same "
            f"figures: `python -m udgan_tf.evaluate --run-dir {args.run_dir} --metrics knob_control`.\n\n"
            f"{knob_control_tables(result)}\n"
            "Traversal grid of that run (one row per knob, -1 to 1, the others fixed):\n\n"
            "![traversal](benchmarks/figures/dsprites_traversal.png)\n"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
