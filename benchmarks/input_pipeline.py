"""Input pipeline speed of every data set, against what the CelebA train step consumes.

    python benchmarks/input_pipeline.py [--images 4000] [--batches 60] [--mnist-dir DIR] [--write]

CelebA is read from generated raw-format files (``udgan_tf.data.fake.write_fake_celeba``:
178x218 JPEGs of about 12 KB, the attribute and partition files), at 64x64, batch 64:
  * decode pass: building ``CelebA(...)``, which decodes, checks and caches every image once;
  * stream:      ``training_dataset`` with ``cache=False``: every image is read, decoded,
                 cropped and resized again (the rate for a data set too big for memory);
  * cached:      ``training_dataset`` over the in-memory cache (the normal case).
The same JPEGs are read as an ``image_folder``. MNIST and coloured MNIST use
``--mnist-dir`` (the real idx files) or generated ones; dSprites is rendered.

The baseline in the same process is the CelebA architecture (configs/celeba_a.yaml)
training on this machine: images/s it consumes = batch size x steps/s of ``fit``.
The last line printed is JSON; --write puts a table into BENCHMARKS.md.
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from udgan_tf import config as config_lib  # noqa: E402
from udgan_tf.data import get_dataset  # noqa: E402
from udgan_tf.data.fake import write_fake_celeba, write_fake_mnist  # noqa: E402
from udgan_tf.training import build_model  # noqa: E402

BATCH = 64


def images_per_second(dataset, batches, batch_size=BATCH, warmup=5):
    """Images/s pulled from ``dataset`` over ``batches`` batches after ``warmup`` ones."""
    iterator = iter(dataset)
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def celeba_train_consumption(steps):
    """Real images/s the CelebA architecture's ``fit`` consumes on this machine."""
    config = config_lib.load_config(config_lib.config_path_for("celeba_a"))
    batch = config["training"]["batch_size"]
    keras.utils.set_random_seed(0)
    model = build_model(config)
    images = tf.data.Dataset.from_tensors(tf.random.uniform([batch, 64, 64, 3])).repeat()
    model.fit(images, steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)  # trace
    start = time.perf_counter()
    model.fit(images, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return batch * steps / (time.perf_counter() - start), batch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=4000, help="generated CelebA-format JPEGs")
    parser.add_argument("--batches", type=int, default=60, help="timed batches of 64 per pipeline")
    parser.add_argument("--train-steps", type=int, default=5, help="timed CelebA train steps")
    parser.add_argument("--mnist-dir", help="real MNIST idx files; generated ones otherwise")
    parser.add_argument("--write", action="store_true", help="write the result into BENCHMARKS.md")
    args = parser.parse_args(argv)

    work = pathlib.Path(tempfile.mkdtemp(prefix="udgan_input_"))
    start = time.perf_counter()
    write_fake_celeba(work / "celeba", args.images)
    print(f"wrote {args.images} CelebA-format JPEGs in {time.perf_counter() - start:.0f} s", flush=True)
    mnist_dir = args.mnist_dir
    if mnist_dir is None:
        mnist_dir = work / "mnist"
        write_fake_mnist(mnist_dir, [i % 10 for i in range(10_000)])

    rows = {}
    start = time.perf_counter()
    celeba = get_dataset("celeba_a", data_dir=str(work / "celeba"), resolution=64, cache=True, verbose=0)
    rows["celeba_a: decode pass (first read, fills the cache)"] = celeba.num_images / (time.perf_counter() - start)
    streamed = get_dataset("celeba_a", data_dir=str(work / "celeba"), resolution=64, cache=False, verbose=0)
    rows["celeba_a: stream (decode every epoch, no cache)"] = images_per_second(
        streamed.training_dataset(BATCH), args.batches)
    rows["celeba_a: cached"] = images_per_second(celeba.training_dataset(BATCH), args.batches)
    folder = get_dataset("image_folder", data_dir=str(work / "celeba" / "img_align_celeba"), resolution=64,
                         cache=False, verbose=0)
    rows["image_folder: stream (same JPEGs, no cache)"] = images_per_second(folder.training_dataset(BATCH),
                                                                            args.batches)
    for name in ("mnist", "colored_mnist"):
        data = get_dataset(name, data_dir=str(mnist_dir), resolution=32)
        rows[f"{name} (32x32)"] = images_per_second(data.training_dataset(BATCH), args.batches)
    rows["dsprites (64x64, rendered)"] = images_per_second(get_dataset("dsprites").training_dataset(BATCH),
                                                           args.batches)

    consumed, train_batch = celeba_train_consumption(args.train_steps)
    slowest = min((name for name in rows if name.startswith("celeba_a")), key=rows.get)
    result = {"images_per_s": rows, "celeba_train_images_per_s": consumed,
              "slowest_celeba_over_consumption": rows[slowest] / consumed, "cpu_count": os.cpu_count()}

    if args.write:
        from report import update_section

        mnist_source = "the real MNIST test set" if args.mnist_dir else "10,000 generated idx digits"
        update_section("input_pipeline", (
            "## Input pipelines (`benchmarks/input_pipeline.py`)\n\n"
            f"Command: `python benchmarks/input_pipeline.py --images {args.images} --batches {args.batches}"
            f"{' --mnist-dir ' + args.mnist_dir if args.mnist_dir else ''} --write`. "
            f"{os.cpu_count()} CPU cores, batches of {BATCH}; CelebA and image_folder read {args.images} generated "
            f"raw-format JPEGs (178x218, ~12 KB) at 64x64; MNIST from {mnist_source}.\n\n"
            "| pipeline | images/s |\n|---|---|\n"
            + "".join(f"| {name} | {rate:,.0f} |\n" for name, rate in rows.items())
            + f"\nBaseline, same process: the CelebA architecture (configs/celeba_a.yaml) consumes "
              f"{consumed:,.2f} real images/s in `fit` ({train_batch} per step). The slowest CelebA path "
              f"({slowest.split(': ')[1]}) delivers {rows[slowest]:,.0f} images/s, {rows[slowest] / consumed:,.0f} x "
              f"that (target >= 10 x: {'met' if rows[slowest] / consumed >= 10 else 'NOT met'}; target >= 1,500 "
              f"images/s at 64x64: {'met' if rows[slowest] >= 1500 else 'NOT met'}).\n"
              "The TFDS path decodes the same JPEG bytes (TFDS stores them unchanged) and shares the "
              "preprocessing and cache; it is not timed here because no TFDS build of CelebA exists offline.\n"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
