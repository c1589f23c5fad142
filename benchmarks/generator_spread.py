"""Has a generator collapsed? How much its images differ from one z to the next.

    python benchmarks/generator_spread.py RUN_DIR [RUN_DIR ...] [--num 64]

For each run directory (or snapshot, ``snapshots/step-<N>``; its last checkpoint), draws
``--num`` images from random knobs in inference mode and prints one JSON line: the mean pixel
value, the lit pixels (> 0.5) of the first 12 images, and the standard deviation over the
batch per pixel, averaged over pixels (about 0 when every z draws the same image; issue 28,
step 4's collapsed runs).
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from udgan_tf.models import load_model  # noqa: E402


def spread(run_dir, num, seed=0):
    """``{"run": ..., "mean_pixel": ..., "lit_pixels": [12 ints], "std_over_batch": ...}``."""
    model = load_model(run_dir)
    images = np.asarray(model(model.sample_knobs(num, seed=seed), training=False))   # [num, R, R, C]
    return {"run": str(run_dir), "mean_pixel": float(images.mean()),
            "lit_pixels": (images > 0.5).sum(axis=(1, 2, 3))[:12].tolist(),
            "std_over_batch": float(images.std(axis=0).mean())}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", nargs="+")
    parser.add_argument("--num", type=int, default=64)
    args = parser.parse_args(argv)
    for run_dir in args.run_dir:
        print(json.dumps(spread(run_dir, args.num)))


if __name__ == "__main__":
    main()
