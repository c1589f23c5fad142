"""Training speed of the dSprites architecture three ways, in one process.

    python benchmarks/train_throughput.py [--steps 20] [--rounds 3] [--architecture table5] [--write]
    python benchmarks/train_throughput.py --variants [--steps 10] [--rounds 3] [--write]

``--variants`` instead times ``fit`` three ways in one process on two logical CPU
devices: the default (no strategy, float32), ``--mixed-precision`` (mixed_bfloat16 on
CPU) and ``--strategy mirrored`` (MirroredStrategy over the two logical CPUs), each as
a ratio to the default (interleaved rounds, median).

Table 5 (2D Shapes; ``--architecture dcgan`` for the shipped config's networks), 64x64,
a batch of 16 quartets (16 real + 64 generated images per step, simultaneous updates),
the rest as configs/dsprites.yaml. Each round times, one after the other:
  * fit:   ``UDGAN.fit`` (Keras' loop, callbacks, metric trackers), timed from the end of
           its first step to the end of its last (the per-call set-up is not counted);
  * plain: a hand-written ``tf.function`` loop of the same math (sample quartets,
           compute the losses, apply three optimizers), no Keras machinery;
  * eager: ``UDGAN.train_step`` without ``tf.function``.
Rounds interleave the three so that load from other processes hits all alike; the
median round is reported. The input pipeline is timed alone. The last line printed
is JSON; --write puts a table into BENCHMARKS.md.
"""

import argparse
import json
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from input_pipeline import images_per_second  # noqa: E402
from udgan_tf import config as config_lib  # noqa: E402
from udgan_tf.networks.generator import ARCHITECTURES  # noqa: E402
from udgan_tf.training import build_dataset, build_model  # noqa: E402


def plain_step_fn(model):
    """The same math as ``UDGAN.train_step`` (simultaneous updates), as a bare ``tf.function``."""

    @tf.function
    def step(real_images):
        quartets = model.sample_quartets(tf.shape(real_images)[0])
        with tf.GradientTape(persistent=True) as tape:
            fake_images = model.generator(quartets["latents"], training=True)
            d_loss, fake_logits = model.discriminator_loss(real_images, fake_images)
            losses = model.generator_losses(fake_images, fake_logits, quartets)
        pairs = [(d_loss, model.discriminator_optimizer, model.discriminator.trainable_variables),
                 (losses["generator_objective"], model.generator_optimizer, model.generator.trainable_variables),
                 (losses["siamese_objective"], model.siamese_optimizer, model.siamese_variables)]
        gradients = [tape.gradient(objective, variables) for objective, _, variables in pairs]
        for (_, optimizer, variables), grads in zip(pairs, gradients):
            optimizer.apply_gradients(zip(grads, variables))
        return d_loss

    return step


class StepTimer(keras.callbacks.Callback):
    """Steady-state rate inside ``fit``: from the end of the first step to the end of the
    last, so the per-call set-up of ``fit`` (iterator, callbacks) is not counted."""

    def on_train_batch_end(self, batch, logs=None):
        if batch == 0:
            self.start = time.perf_counter()
        self.batches, self.end = batch, time.perf_counter()


def time_fit(model, dataset, steps):
    timer = StepTimer()
    model.fit(dataset, steps_per_epoch=steps + 1, epochs=1, verbose=0, callbacks=[timer])
    return timer.batches / (timer.end - timer.start)


def time_loop(step, iterator, steps):
    float(tf.nest.flatten(step(next(iterator)))[0])  # one step outside the clock, as for fit
    start = time.perf_counter()
    for _ in range(steps):
        loss = step(next(iterator))
    float(tf.nest.flatten(loss)[0])  # wait for the last step
    return steps / (time.perf_counter() - start)


def variants(args):
    """fit steps/s of the default, mixed precision and mirrored runs, and their ratios to the default."""
    from udgan_tf.training import build_model

    config = config_lib.load_config(args.config, [
        "training.batch_size=16", "model.stabilisers.real_images_per_quartet=1", f"model.architecture={args.architecture}"])
    _, dataset = build_dataset(config)
    models = {}
    for name in ("default", "mixed_precision", "mirrored"):
        keras.mixed_precision.set_dtype_policy("mixed_bfloat16" if name == "mixed_precision" else "float32")
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if name == "mirrored" \
            else tf.distribute.get_strategy()
        with strategy.scope():
            keras.utils.set_random_seed(0)
            models[name] = build_model(config)
        time_fit(models[name], dataset, 2)  # trace
    keras.mixed_precision.set_dtype_policy("float32")
    rates = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            rates[name].append(time_fit(model, dataset, args.steps))
    result = {name: statistics.median(r) for name, r in rates.items()}
    result["rounds"] = rates
    if args.write:
        from report import update_section

        update_section("train_throughput_variants", (
            "## Training throughput: mixed precision and MirroredStrategy (`benchmarks/train_throughput.py --variants`)\n\n"
            f"Command: `python benchmarks/train_throughput.py --variants --steps {args.steps} --rounds {args.rounds} "
            f"--architecture {args.architecture} --write`. `fit` on the dSprites networks (`{args.architecture}`, "
            "64x64), 16 real images per step, one process with 2 CPU cores split into two logical devices, median "
            f"of {args.rounds} interleaved rounds.\n\n"
            "| run | steps/s | ratio to default |\n|---|---|---|\n"
            + "".join(f"| {name} | {result[name]:.3f} | {result[name] / result['default']:.2f} |\n"
                      for name in models)
            + "\nThe two logical devices share the same two cores, so the mirrored row measures what the "
              "replication and all-reduce cost, not a multi-device speed-up; mixed precision runs the layers in "
              "bfloat16 on this CPU (mixed_float16 would be used on a GPU).\n"))
    print(json.dumps(result))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(config_lib.config_path_for("dsprites")))
    parser.add_argument("--steps", type=int, default=20, help="steps per mode per round (fit, plain)")
    parser.add_argument("--eager-steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--architecture", default="table5", choices=ARCHITECTURES)
    parser.add_argument("--write", action="store_true", help="write the result into BENCHMARKS.md")
    parser.add_argument("--variants", action="store_true", help="default vs --mixed-precision vs mirrored")
    args = parser.parse_args(argv)
    if args.variants:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        return variants(args)

    config = config_lib.load_config(args.config, [
        "training.batch_size=16", "model.stabilisers.real_images_per_quartet=1", "model.stabilisers.alternating_updates=false",
        f"model.architecture={args.architecture}"])
    keras.utils.set_random_seed(0)
    _, dataset = build_dataset(config)
    model = build_model(config)
    iterator = iter(dataset)
    plain = plain_step_fn(model)
    eager = model.train_step

    # Warm-up: trace both graphs once.
    time_fit(model, dataset, 2)
    time_loop(plain, iterator, 2)
    rates = {"fit": [], "plain": [], "eager": []}
    for _ in range(args.rounds):
        rates["fit"].append(time_fit(model, dataset, args.steps))
        rates["plain"].append(time_loop(plain, iterator, args.steps))
        rates["eager"].append(time_loop(eager, iterator, args.eager_steps))
    batch = config["training"]["batch_size"]
    result = {f"{mode}_steps_per_s": statistics.median(r) for mode, r in rates.items()}
    result["input_images_per_s"] = images_per_second(dataset, 200, batch, warmup=1)
    result["fit_over_plain"] = result["fit_steps_per_s"] / result["plain_steps_per_s"]
    result["input_over_consumption"] = result["input_images_per_s"] / (batch * result["fit_steps_per_s"])
    result["rounds"] = {mode: [round(r, 3) for r in values] for mode, values in rates.items()}

    if args.write:
        from report import update_section

        section = "train_throughput" if args.architecture == "table5" else f"train_throughput_{args.architecture}"
        update_section(section, (
            f"## Training throughput, `{args.architecture}` networks (`benchmarks/train_throughput.py`)\n\n"
            f"Command: `python benchmarks/train_throughput.py --steps {args.steps} --rounds {args.rounds} "
            f"--architecture {args.architecture} --write`. "
            f"dSprites networks (`{args.architecture}`, 64x64), 16 quartets per step, 2 CPU cores, median of "
            f"{args.rounds} interleaved rounds.\n\n"
            "| loop | steps/s | ratio to plain |\n|---|---|---|\n"
            + "".join(f"| {mode} | {result[f'{mode}_steps_per_s']:.3f} | "
                      f"{result[f'{mode}_steps_per_s'] / result['plain_steps_per_s']:.2f} |\n"
                      for mode in ("fit", "plain", "eager"))
            + f"\nInput pipeline: {result['input_images_per_s']:,.0f} images/s, "
              f"{result['input_over_consumption']:,.0f} x what `fit` consumes ({batch} real images per step) "
              "(target >= 20 x). Target fit >= 0.9 x plain: "
              f"{'met' if result['fit_over_plain'] >= 0.9 else 'NOT met'} ({result['fit_over_plain']:.2f}).\n"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
