"""Can the discriminator see a square? (issue 28, step 2: D's eye, apart from any GAN.)

    python benchmarks/discriminator_eye.py --config configs/dsprites.yaml \\
        --config configs/dsprites_unguided.yaml --config configs/dsprites_paper.yaml --steps 1500 \\
        [--set SECTION.KEY=VALUE ...] [--variant "KEY=VALUE[,KEY=VALUE]" ...] [--run RUN_DIR ...] \\
        [--write discriminator_eye]

Part 1, can it: the discriminator of each config (its ``model.architecture``, filters,
``stabilisers.discriminator_normalization`` and ``discriminator_spectral_norm``, i.e.
``ConvEncoder`` as the model builds D, with 3 outputs instead of 1) is trained as a 3-way shape
classifier on real sprites of all scales, softmax cross-entropy, Adam with the config's
``optimizers.discriminator`` settings (as D is trained in that GAN), batch 64; ``--set`` changes
every config alike, and each ``--variant`` adds one more row per config with its overrides on
top (e.g. ``--variant model.stabilisers.discriminator_spectral_norm=false`` or ``--variant
optimizers.discriminator.learning_rate=2e-4``), so one command measures an ablation. Reported: its shape
accuracy on ``--num`` (5,000) held-out real sprites, per scale (the smallest sprites are where a
square and a rounded blob differ by few pixels).

Part 2, does it (``--run``): a trained GAN's own D (``udgan_tf.models.load_model``; column 0 of
its output is the logit) scores real squares, ellipses and hearts and the GAN's generated images,
grouped by the shape the oracle reads in them, and the generated images that are no sprite (fewer
than 20 lit pixels, or two or more separate lit regions): the mean logit per group, and the AUC of
D's logit for telling the real images from the generated ones (0.5: D cannot tell them apart),
the spread of its logits and the size of its last hidden layer's activations on real images (a D
whose logits are all near 0 has either a shrunken head or shrunken features; these tell which). If
D gave real squares no higher a score than the generated blobs, G would have no reason to draw
squares.

``--write NAME`` replaces part 1's table in BENCHMARKS.md's section ``NAME`` and part 2's in
``NAME_trained``, each with the command that reproduces it, so either part can be rerun alone.
"""

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import scipy.ndimage  # noqa: E402
import sklearn.metrics  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from report import update_section  # noqa: E402
from udgan_tf import config as config_lib  # noqa: E402
from udgan_tf.data import DSprites  # noqa: E402
from udgan_tf.evaluation.oracle import load_or_train_oracle  # noqa: E402
from udgan_tf.models import load_model  # noqa: E402
from udgan_tf.models.stabilisers import Stabilisers  # noqa: E402
from udgan_tf.networks import ConvEncoder  # noqa: E402


def discriminator_like(config, outputs):
    """A ``ConvEncoder`` with ``outputs`` outputs, built as the config's model builds its D."""
    model = config["model"]
    tricks = Stabilisers.from_config(model.get("stabilisers"))
    return ConvEncoder(outputs, model.get("resolution", 64), model.get("filters", 32),
                       spectral_norm=tricks.discriminator_spectral_norm,
                       normalization=tricks.discriminator_normalization,
                       architecture=model.get("architecture", "table5"), weight_init=tricks.weight_init,
                       spectral_norm_form=tricks.spectral_norm_form)


def classify_shapes(config, data, held_out, args):
    """Part 1 for one config: ``{"accuracy": ..., "per_scale": [6 accuracies], "seconds": ...}``."""
    keras.utils.set_random_seed(args.seed)
    network = discriminator_like(config, 3)
    optimizer = keras.optimizers.Adam(**config["optimizers"]["discriminator"])

    @tf.function
    def step(images, shapes):
        with tf.GradientTape() as tape:
            logits = network(images, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=shapes, logits=logits))
        optimizer.apply_gradients(zip(tape.gradient(loss, network.trainable_variables), network.trainable_variables))

    rng = np.random.RandomState(args.seed)
    start = time.perf_counter()
    for _ in range(args.steps):
        factors, images = data.sample(args.batch_size, rng)
        step(images.astype(np.float32), factors[:, 0].astype(np.int32))
    seconds = time.perf_counter() - start
    factors, images = held_out
    logits = np.concatenate([np.asarray(network(images[s:s + 500], training=False))
                             for s in range(0, len(images), 500)])
    right = logits.argmax(axis=1) == factors[:, 0]
    return {"accuracy": float(right.mean()), "seconds": seconds,
            "per_scale": [float(right[factors[:, 1] == k].mean()) for k in range(data.factor_sizes[1])]}


def trained_discriminator_scores(run_dir, data, oracle, held_out, num):
    """Part 2: mean logit of a trained GAN's D on real images of each shape and on its generated
    images grouped by the oracle's shape reading (with the share of each group)."""
    model = load_model(run_dir)
    factors, real = held_out

    def logits(images):
        return np.concatenate([np.asarray(model.discriminator(images[s:s + 500], training=False))[:, 0]
                               for s in range(0, len(images), 500)])

    real_logits = logits(real)
    generated = np.concatenate([np.asarray(model(model.sample_knobs(500, seed=s), training=False))
                                for s in range(num // 500)])
    generated_shapes = oracle.predict_factors(generated)[:, 0]
    generated_logits = logits(generated)
    lit = generated[..., 0] > 0.5
    regions = np.array([scipy.ndimage.label(image)[1] for image in lit])
    groups = {"no sprite: under 20 lit pixels": lit.sum(axis=(1, 2)) < 20}
    groups["no sprite: 2+ lit regions"] = (regions >= 2) & ~groups["no sprite: under 20 lit pixels"]
    sprite = ~(groups["no sprite: under 20 lit pixels"] | groups["no sprite: 2+ lit regions"])
    scores = {}
    for k, name in enumerate(data.shape_names):
        scores[f"real {name}"] = (float(real_logits[factors[:, 0] == k].mean()), float((factors[:, 0] == k).mean()))
    for k, name in enumerate(data.shape_names):
        groups[f"one sprite, read as {name}"] = sprite & (generated_shapes == k)
    for group, chosen in groups.items():
        scores[f"generated, {group}"] = (float(generated_logits[chosen].mean()) if chosen.any() else None,
                                         float(chosen.mean()))
    auc = sklearn.metrics.roc_auc_score(np.r_[np.ones(len(real_logits)), np.zeros(len(generated_logits))],
                                        np.r_[real_logits, generated_logits])
    features = np.asarray(model.discriminator.features_and_output(real[:500], training=False)[0])
    return {"groups": scores, "auc": float(auc),
            "logit_std": float(np.concatenate([real_logits, generated_logits]).std()),
            "feature_magnitude": float(np.abs(features).mean())}


def rows_of(args):
    """``[(config path, variant text, overrides)]``: every config as is, then once per variant."""
    variants = [""] + args.variant
    return [(path, variant, args.set + [o for o in variant.split(",") if o])
            for path in args.config for variant in variants]


def classifier_table(rows, results, scales):
    lines = ["| D of | variant | layout | spectral norm | Adam rate | accuracy | "
             + " | ".join(f"scale {s:.1f}" for s in scales) + " | train s |",
             "|---|---|---|---|---|---|" + "---|" * len(scales) + "---|"]
    for (path, variant, overrides), result in zip(rows, results):
        config = config_lib.load_config(path, overrides)
        tricks = Stabilisers.from_config(config["model"].get("stabilisers"))
        norm = tricks.spectral_norm_form if tricks.discriminator_spectral_norm else "none"
        lines.append(f"| `{path}` | {f'`{variant}`' if variant else 'as the config'} | "
                     f"{config['model'].get('architecture', 'table5')} | {norm} | "
                     f"{config['optimizers']['discriminator']['learning_rate']:g} | {result['accuracy']:.1%} | "
                     + " | ".join(f"{a:.1%}" for a in result["per_scale"]) + f" | {result['seconds']:.0f} |")
    return lines


def trained_tables(trained):
    lines = []
    for run_dir, scores in trained.items():
        lines += ["", f"D of `{run_dir}` (its last checkpoint): mean logit (share of images); AUC of real "
                  f"against generated: {scores['auc']:.3f}; standard deviation of its logits over all images: "
                  f"{scores['logit_std']:.3f}; mean absolute activation of its last hidden layer on real "
                  f"images: {scores['feature_magnitude']:.3f}", "", "| images | mean logit | share |", "|---|---|---|"]
        lines += [f"| {group} | {'-' if logit is None else f'{logit:.2f}'} | {share:.1%} |"
                  for group, (logit, share) in scores["groups"].items()]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", action="append", default=[])
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a value in every --config (part 1)")
    parser.add_argument("--variant", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]",
                        help="one more row per --config with these overrides on top of --set (part 1)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--oracle-steps", type=int, default=3000)
    parser.add_argument("--run", action="append", default=[], help="a trained GAN's run directory (part 2)")
    parser.add_argument("--write", metavar="SECTION")
    args = parser.parse_args(argv)
    rows = rows_of(args)
    for path, _, overrides in rows:   # a bad key or value fails here, before any training
        config_lib.load_config(path, overrides)
    data = DSprites(resolution=64)
    held_out = data.sample(args.num, np.random.RandomState(1))
    classifiers, trained = [], {}
    for path, variant, overrides in rows:
        classifiers.append(classify_shapes(config_lib.load_config(path, overrides), data, held_out, args))
        print(json.dumps({"config": path, "variant": variant, **classifiers[-1]}), flush=True)
    if args.run:
        oracle = load_or_train_oracle(data, "dsprites-64", steps=args.oracle_steps)
        for run_dir in args.run:
            trained[run_dir] = trained_discriminator_scores(run_dir, data, oracle, held_out, args.num)
            print(json.dumps({run_dir: trained[run_dir]}), flush=True)
    part1 = "\n".join(classifier_table(rows, classifiers, data.factor_values["scale"])).replace("%", " %")
    part2 = "\n".join(trained_tables(trained)).replace("%", " %")
    print(part1 if classifiers else "", part2, sep="\n")
    if args.write:
        common = [f"--num {args.num}"] if args.num != 5000 else []
        if classifiers:
            command = " ".join(["python benchmarks/discriminator_eye.py", *(f"--config {p}" for p in args.config),
                                f"--steps {args.steps}", *(f"--set {o}" for o in args.set),
                                *(f"--variant {v}" for v in args.variant), *common, f"--write {args.write}"])
            update_section(args.write, f"D's layout as a supervised shape classifier. Command: "
                                       f"`{command}`. Shape accuracy on {args.num:,} held-out real "
                                       f"sprites (chance: 33 %), after {args.steps:,} steps of batch "
                                       f"{args.batch_size}.\n\n{part1}")
        if trained:
            command = " ".join(["python benchmarks/discriminator_eye.py", *(f"--run {r}" for r in args.run),
                                *common, f"--write {args.write}"])
            update_section(f"{args.write}_trained", f"Does the trained GAN's D tell them apart? Command: "
                                                    f"`{command}`.\n{part2}")
    print(json.dumps({"classifiers": [{"config": p, "variant": v, **r} for (p, v, _), r in zip(rows, classifiers)],
                      "trained": trained}))


if __name__ == "__main__":
    main()
