"""Where one training step's time goes: timed sub-steps of a shipped recipe, in one process.

    python benchmarks/step_profile.py --config configs/dsprites.yaml [--repeats 20] [--write SECTION]
    python benchmarks/step_profile.py --config configs/dsprites_unguided.yaml
    python benchmarks/step_profile.py --config configs/dsprites_infogan.yaml

Builds the config's model exactly as training does (``udgan_tf.training.build_model``, the
shipped batch size) and times, each as its own ``tf.function`` (traced once, then
``--repeats`` calls, the median of ``--rounds`` rounds; a call ends with a host read of its
result so that no work is left in flight):

- the whole ``train_step`` and one step of ``fit`` (Keras' loop: the difference is the host
  round-trip, callbacks and logs);
- the parts of the step: drawing the latents, G's forward pass on them and its forward and
  backward pass, D's forward and backward pass on the real and generated images (with Q
  for InfoGAN), the siamese networks' forward and backward pass (guidance included) and
  the guidance functions alone (UD-GAN), the weight average of G (EMA), the optimizers'
  updates, the loss trackers;
- the input pipeline: a batch from ``training_dataset``.

Parts overlap (a backward pass includes its forward pass), so they do not add up to the
step; ``x in step`` says how many times a step runs each part. The last line printed is JSON;
``--write SECTION`` puts the tables into BENCHMARKS.md.
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

from report import update_section  # noqa: E402
from train_throughput import StepTimer  # noqa: E402
from udgan_tf import config as config_lib  # noqa: E402
from udgan_tf.models import UDGAN, InfoGAN  # noqa: E402
from udgan_tf.models.stabilisers import update_generator_average  # noqa: E402
from udgan_tf.training import build_dataset, build_model  # noqa: E402


def _gradients(loss_fn, variables):
    with tf.GradientTape() as tape:
        loss = loss_fn()
    return tape.gradient(loss, variables)


def _sum(tensors):
    return tf.add_n([tf.reduce_sum(tf.cast(t, tf.float32)) for t in tensors if t is not None])


def udgan_parts(model, real):
    """{part: (function, times per step)} of a UDGAN step on ``real`` ``[B, R, R, C]``."""
    quartets_per_step = real.shape[0] // model.stabilisers.real_images_per_quartet
    quartets = model.sample_quartets(quartets_per_step)
    latents = quartets["latents"]
    fake = model.generator(latents, training=False)
    guided = [network for network in model.siamese_networks if network.guidance_fn is not None]
    parts = {
        "draw the quartets' latents": (lambda: model.sample_quartets(quartets_per_step)["latents"], 1),
        f"G forward ({latents.shape[0]} images)": (lambda: model.generator(latents, training=True), 1),
        "G forward + backward": (lambda: _sum(_gradients(lambda: tf.reduce_mean(model.generator(latents, training=True)),
                                                         model.generator.trainable_variables)), 1),
        f"D forward + backward ({real.shape[0]} real + {fake.shape[0]} generated)":
            (lambda: _sum(_gradients(lambda: model.discriminator_loss(real, fake)[0],
                                     model.discriminator.trainable_variables)), 1),
        "D forward on generated images (G's loss)": (lambda: model.discriminator(fake, training=True), 1),
        "siamese forward + backward (guidance included)":
            (lambda: _sum(_gradients(lambda: model.generator_losses(fake, tf.zeros((fake.shape[0], 1)), quartets)
                                     ["siamese_objective"], model.siamese_variables)), 1),
    }
    if guided:
        parts["guidance functions alone"] = (lambda: _sum([network.guide(fake) for network in guided]), 1)
    return parts


def infogan_parts(model, real):
    """{part: (function, times per step)} of an InfoGAN (or InfoGAN-CR) step."""
    batch = real.shape[0]
    codes = model.sample_step(batch)["codes"]
    fake = model.generator(codes, training=False)
    return {
        "draw the codes": (lambda: model.sample_step(batch)["codes"], 1),
        f"G forward ({batch} images)": (lambda: model.generator(codes, training=True), 1),
        "G forward + backward": (lambda: _sum(_gradients(lambda: tf.reduce_mean(model.generator(codes, training=True)),
                                                         model.generator.trainable_variables)), 1),
        f"D and Q forward + backward ({batch} real + {batch} generated)":
            (lambda: _sum(_gradients(lambda: model.discriminator_losses(real, fake, codes)["discriminator_objective"],
                                     model.discriminator.trainable_variables)), 1),
    }


def common_parts(model, real):
    """The parts every method has: the weight average, the optimizers, the trackers, the step."""
    parts = {}
    if getattr(model, "generator_ema", None) is not None:
        parts["weight average of G (EMA)"] = (lambda: update_generator_average(
            model.generator_ema, model.generator, model.generator_optimizer.iterations,
            model.stabilisers.generator_ema_decay) or tf.constant(0.0), 1)
    optimizers = [(name, getattr(model, f"{name}_optimizer"), variables)
                  for name, variables in (("generator", model.generator.trainable_variables),
                                          ("discriminator", model.discriminator.trainable_variables),
                                          ("siamese", getattr(model, "siamese_variables", [])))
                  if getattr(model, f"{name}_optimizer", None) is not None and variables]

    def apply_optimizers():
        for _, optimizer, variables in optimizers:
            optimizer.apply_gradients([(tf.zeros_like(v), v) for v in variables])
        return tf.constant(0.0)

    parts[f"optimizer updates ({len(optimizers)} Adam)"] = (apply_optimizers, 1)

    def update_trackers():
        for tracker in model.metrics:
            tracker.update_state(1.0)
        return tf.constant(0.0)

    parts[f"loss trackers ({len(model.metrics)})"] = (update_trackers, 1)
    parts["train_step (all of the above, once each)"] = (lambda: model.train_step(real)[model.metrics[0].name], 1)
    return parts


def float_operations(function):
    """Floating-point operations of one call of ``function`` (a tf.function), counted by
    TensorFlow's graph profiler from the ops' registered statistics (convolutions and matrix
    products forward and backward, the bulk of a step; element-wise ops count little or not)."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    graph = function.get_concrete_function().graph
    options = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation()
                                                  ).with_empty_output().build()
    return model_analyzer.profile(graph, options=options).total_float_ops


def time_call(function, repeats):
    """Seconds per call of ``function`` (a traced tf.function), the result read back each time."""
    start = time.perf_counter()
    for _ in range(repeats):
        tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, function())
    return (time.perf_counter() - start) / repeats


def fit_seconds_per_step(model, dataset, steps):
    timer = StepTimer()
    model.fit(dataset, steps_per_epoch=steps + 1, epochs=1, verbose=0, callbacks=[timer], shuffle=False)
    return (timer.end - timer.start) / timer.batches


def profile(config_path, repeats, rounds):
    config = config_lib.load_config(config_path)
    keras.utils.set_random_seed(0)
    data, dataset = build_dataset(config)
    model = build_model(config)
    real = tf.convert_to_tensor(next(iter(dataset)))
    if isinstance(model, UDGAN):
        parts = udgan_parts(model, real)
    elif isinstance(model, InfoGAN):
        parts = infogan_parts(model, real)
    else:
        parts = {}
    parts.update(common_parts(model, real))
    functions = {name: tf.function(function) for name, (function, _) in parts.items()}
    iterator = iter(dataset)
    functions["input pipeline (one batch)"] = lambda: next(iterator)
    for function in functions.values():      # trace and warm up
        for _ in range(3):
            time_call(function, 1)
    samples = {name: [] for name in functions}
    samples["fit step (Keras loop)"] = []
    for _ in range(rounds):                  # rounds interleave the parts, so load hits all alike
        for name, function in functions.items():
            samples[name].append(time_call(function, repeats))
        samples["fit step (Keras loop)"].append(fit_seconds_per_step(model, dataset, repeats))
    seconds = {name: statistics.median(values) for name, values in samples.items()}
    step_name = "train_step (all of the above, once each)"
    flops = float_operations(functions[step_name])
    per_step = {name: count for name, (_, count) in parts.items()}
    return {"config": str(config_path), "method": config["model"].get("method", "udgan"),
            "batch_size": config["training"]["batch_size"], "repeats": repeats, "rounds": rounds,
            "cores": len(os.sched_getaffinity(0)), "ms": {name: 1000 * s for name, s in seconds.items()},
            "train_step_gflop": flops / 1e9, "train_step_gflop_per_s": flops / 1e9 / seconds[step_name],
            "times_per_step": per_step}


def markdown(result):
    step = result["ms"]["fit step (Keras loop)"]
    lines = [f"`{result['config']}` ({result['method']}, batch {result['batch_size']}): "
             f"one `fit` step {step:.0f} ms ({1000 / step:.2f} steps/s); the train step's graph counts "
             f"{result['train_step_gflop']:.1f} GFLOP, run at {result['train_step_gflop_per_s']:.1f} GFLOP/s.", "",
             "| part | ms per call | x in step | share of the fit step |", "|---|---|---|---|"]
    for name, ms in result["ms"].items():
        count = result["times_per_step"].get(name, 1)
        lines.append(f"| {name} | {ms:.1f} | {count} | {100 * count * ms / step:.0f} % |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", action="append", required=True, help="a shipped config (repeatable)")
    parser.add_argument("--repeats", type=int, default=20, help="calls per part per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", metavar="SECTION", help="put the tables into BENCHMARKS.md as this section")
    args = parser.parse_args(argv)
    results = [profile(path, args.repeats, args.rounds) for path in args.config]
    text = "\n\n".join(markdown(result) for result in results)
    print(text)
    if args.write:
        command = ("python benchmarks/step_profile.py " + " ".join(f"--config {path}" for path in args.config)
                   + f" --repeats {args.repeats} --rounds {args.rounds} --write {args.write}")
        update_section(args.write, "## Where a training step's time goes (`benchmarks/step_profile.py`)\n\n"
                       f"Command: `{command}`. {results[0]['cores']} CPU cores, nothing else running, median of "
                       f"{args.rounds} interleaved rounds of {args.repeats} calls per part.\n\n" + text)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
