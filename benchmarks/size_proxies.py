"""How well can any pixel measure of object size read dSprites' scale across shapes?

    python benchmarks/size_proxies.py [--num 6000] [--out FILE.json]

A `size` knob is guided by a measure of the generated image (``object_area`` ships,
eq. 8's ``object_size`` S is the paper's). Issue 15 asks the recovered `size` to reach
abs(Pearson r) >= 0.95 with the true scale. This script scores candidate measures on
real dSprites images, where they are exact: abs r with scale over all shapes, within each
shape, and the measure's mean per shape at scale 1 (how far the shapes disagree at the
same scale). A guidance can reach no higher r than its measure does here. The last line
printed is JSON.
"""

import argparse
import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from udgan_tf import guidance  # noqa: E402
from udgan_tf.data import DSprites  # noqa: E402
from udgan_tf.data.dsprites import SHAPE_NAMES  # noqa: E402
from udgan_tf.runs import atomic_write_text  # noqa: E402


def _squared_radii(images):
    """Squared pixel distances from the centre of mass (``guidance.center_of_mass_x`` / ``_y``).

    ``[N, H, W, 1] -> [N, H, W]``, and the intensities ``[N, H, W]``.
    """
    x = images[..., 0].astype(np.float64)
    height, width = x.shape[1:]
    mean_col = guidance.center_of_mass_x(images).numpy()[:, 0].astype(np.float64) * (width - 1)
    mean_row = guidance.center_of_mass_y(images).numpy()[:, 0].astype(np.float64) * (height - 1)
    cols, rows = np.arange(width), np.arange(height)
    return (cols[None, None, :] - mean_col[:, None, None]) ** 2 + (rows[None, :, None] - mean_row[:, None, None]) ** 2, x


def candidate_measures(images):
    """Size measures of binary sprites ``[N, H, W, 1]`` -> ``{name: float64 [N]}``."""
    area = guidance.object_area(images).numpy()[:, 0].astype(np.float64)
    spread = guidance.object_size(images).numpy()[:, 0].astype(np.float64)
    radii, x = _squared_radii(images)
    return {
        "object_area (shipped)": area,
        "sqrt object_area": np.sqrt(area),
        "object_size S (eq. 8, paper)": spread,
        "sqrt S": np.sqrt(spread),
        "4th-power mean radius": ((radii ** 2 * x).sum(axis=(1, 2)) / x.sum(axis=(1, 2))) ** 0.25,
        "largest radius": np.sqrt(np.where(x > 0.5, radii, 0).max(axis=(1, 2))),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=6000, help="real images sampled")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=pathlib.Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.num < 100:
        parser.error(f"--num must be at least 100 (abs r per shape needs images of every shape). Received: {args.num}.")
    data = DSprites(resolution=64)
    factors, images = data.sample(args.num, np.random.RandomState(args.seed))
    scale, shape = data.latent_values(factors)[:, 1], factors[:, 0]
    results = {}
    for name, measure in candidate_measures(images).items():
        results[name] = {
            "abs_r_all_shapes": round(abs(float(np.corrcoef(measure, scale)[0, 1])), 4),
            "abs_r_within_shape": {s: round(abs(float(np.corrcoef(measure[shape == i], scale[shape == i])[0, 1])), 4)
                                   for i, s in enumerate(SHAPE_NAMES)},
            "mean_at_scale_1": {s: round(float(measure[(shape == i) & (scale == 1.0)].mean()), 5)
                                for i, s in enumerate(SHAPE_NAMES)},
        }
        row = results[name]
        print(f"{name:30s} abs r {row['abs_r_all_shapes']:.3f}, within shapes "
              f"{' / '.join(f'{v:.3f}' for v in row['abs_r_within_shape'].values())}")
    if args.out:
        atomic_write_text(args.out, json.dumps(results, indent=2) + "\n")
    print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
