"""How well does a dSprites run invert and edit real images? The figures of issue 15.

    python -m udgan_tf.inversion --run-dir runs/dsprites           # the knob encoder, first
    python benchmarks/inversion_figures.py --run-dir runs/dsprites [--num 1000] \
        [--refine-steps 100 --restarts 2] [--out benchmarks/curves/inversion_dsprites.json]

On ``--num`` real dSprites images (a fixed seed; the encoder was fitted on generated images
only, so none of them was used to fit it), each inverted by the encoder alone and by the
encoder plus ``--refine-steps`` of per-image refinement:

- reconstruction: IoU of the binarised (> 0.5) G(invert(x)) with the binarised x; median
  and 10th percentile (targets: median >= 0.85, >= 0.7 for 90 % of images);
- recovered guided knobs: abs(Pearson r) of the recovered ``x_position``, ``y_position``,
  ``size`` with the true position x, y and scale (target >= 0.95); for ``size`` also with the
  square root of the lit area and with scale within each shape (its guidance is the area);
- edit specificity: for every image, guided knob and delta +-0.5, the oracle of
  ``udgan_tf.evaluation.oracle`` reads G(edited knobs) against G(recovered knobs): the knob's
  own factor must move in the intended direction (the sign of that knob's r above times the
  delta's) and the other two guided factors stay within one class of 32 (positions) or 6
  (scale), the shape unchanged (orientation is left out: the oracle reads it least well
  and no knob is guided on it); target: >= 90 % of edits.

One JSON line is printed and written to ``--out``.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from udgan_tf import data as data_lib  # noqa: E402
from udgan_tf.editing import apply_edit, load_editor  # noqa: E402
from udgan_tf.evaluation.oracle import lit_side, load_or_train_oracle  # noqa: E402
from udgan_tf.runs import RunDirectory, atomic_write_text  # noqa: E402

#: guided knob -> the dSprites factor it is meant to control
GUIDED = {"x_position": "position_x", "y_position": "position_y", "size": "scale"}
#: classes a factor may move by in an edit of another knob and still count as unchanged
TOLERANCE = {"position_x": 1, "position_y": 1, "scale": 1, "shape": 0}


def iou(images, targets):
    """Per image IoU of ``images > 0.5`` with ``targets > 0.5``, both ``[N, R, R, C]``. Returns ``[N]``."""
    a, b = np.asarray(images) > 0.5, np.asarray(targets) > 0.5
    union = (a | b).sum(axis=(1, 2, 3))
    return np.where(union > 0, (a & b).sum(axis=(1, 2, 3)) / np.maximum(union, 1), 1.0)


def generate(model, knobs, batch=256):
    return np.concatenate([np.asarray(model.inference_generator(knobs[s:s + batch], training=False))
                           for s in range(0, len(knobs), batch)])


def figures(model, data, oracle, images, factors, knobs, delta=0.5):
    """The figures of one inversion (``knobs [N, Z]`` recovered from ``images``)."""
    names = list(data.factor_names)
    reconstruction = generate(model, knobs)
    overlap = iou(reconstruction, images)
    knob_names = [knob.name for knob in model.knobs]
    correlations = {}
    for knob, factor in GUIDED.items():
        column = model.layout.latent_slices[knob_names.index(knob)].start
        correlations[knob] = float(np.corrcoef(knobs[:, column], factors[:, names.index(factor)])[0, 1])
    # The size knob is guided by the object's area, which at one scale differs by shape:
    size = knobs[:, model.layout.latent_slices[knob_names.index("size")].start]
    scale, shape = factors[:, names.index("scale")], factors[:, names.index("shape")]
    size_reading = {"abs_r_with_sqrt_lit_area": abs(float(np.corrcoef(size, lit_side(images))[0, 1])),
                    "abs_r_with_scale_per_shape": {name: abs(float(np.corrcoef(size[shape == k], scale[shape == k])[0, 1]))
                                                   for k, name in enumerate(data.shape_names)},
                    "abs_r_scale_with_sqrt_lit_area": abs(float(np.corrcoef(scale, lit_side(images))[0, 1]))}
    before = oracle.predict_factors(reconstruction)
    edits = {}
    for knob, factor in GUIDED.items():
        for sign in (+1, -1):
            after = oracle.predict_factors(generate(model, apply_edit(model.layout, knobs, {knob: sign * delta})))
            moved = after[:, names.index(factor)] - before[:, names.index(factor)]
            own = np.sign(moved) == sign * np.sign(correlations[knob])
            others, kept = np.ones(len(knobs), bool), {}
            for other, tolerance in TOLERANCE.items():
                if other != factor:
                    column = names.index(other)
                    unchanged = np.abs(after[:, column] - before[:, column]) <= tolerance
                    kept[other] = float(unchanged.mean())
                    others &= unchanged
            edits[f"{knob}{'+' if sign > 0 else '-'}{delta}"] = {"own_moved": float(own.mean()),
                                                                "others_unchanged": float(others.mean()),
                                                                "unchanged_by_factor": kept,
                                                                "specific": float((own & others).mean())}
    return {"iou_median": float(np.median(overlap)), "iou_p10": float(np.percentile(overlap, 10)),
            "share_iou_at_least_0.7": float(np.mean(overlap >= 0.7)),
            "abs_r": {knob: abs(r) for knob, r in correlations.items()}, "size_reading": size_reading,
            "edits": edits, "edit_specificity": float(np.mean([e["specific"] for e in edits.values()]))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", default="runs/dsprites")
    parser.add_argument("--num", type=int, default=1000)
    parser.add_argument("--refine-steps", type=int, default=100)
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--oracle-steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    editor = load_editor(args.run_dir)
    model = editor.model
    if editor.encoder is None:
        sys.exit(f"error: {args.run_dir} has no knob encoder: python -m udgan_tf.inversion --run-dir {args.run_dir}")
    config = RunDirectory(args.run_dir).read_config()
    data = data_lib.dataset_for_config(config)
    oracle = load_or_train_oracle(data, f"{config['dataset']['name']}-{data.observation_shape[0]}",
                                  steps=args.oracle_steps)
    factors, images = data.sample(args.num, np.random.RandomState(args.seed))
    images = images.astype(np.float32)
    result = {"run_dir": args.run_dir, "step": RunDirectory(args.run_dir).status().get("step"), "num": args.num,
              "refine_steps": args.refine_steps, "restarts": args.restarts}
    start = time.perf_counter()
    encoded = editor.invert(images)
    result["encoder_seconds"] = time.perf_counter() - start
    result["encoder"] = figures(model, data, oracle, images, factors, encoded)
    if args.refine_steps:
        start = time.perf_counter()
        refined = editor.invert(images, refine_steps=args.refine_steps, restarts=args.restarts)
        result["refined_seconds"] = time.perf_counter() - start
        result["refined"] = figures(model, data, oracle, images, factors, refined)
    line = json.dumps(result)
    print(line)
    if args.out:
        atomic_write_text(args.out, line + "\n")


if __name__ == "__main__":
    main()
