"""Serving latency and throughput: gRPC against a direct call of the loaded SavedModel.

    python benchmarks/serving.py --run-dir runs/dsprites [--requests 200] [--rounds 3] [--write]

Exports the run, loads the SavedModel in this process (direct path: the
``serving_default`` concrete function) and serves the same directory with the
gRPC PredictionService of ``tests/serving_fakes.py`` (the TF Serving look-alike;
the TF Serving binary cannot be installed here) on a localhost port, called through
``udgan_tf.serving.GrpcClient``. Each round measures, path after path: latency at
batch 1 (p50, p99 over ``--requests`` calls) and throughput at batch 64 (images/s
over ``--requests // 4`` calls), for ``serving_default`` and, when the run has a knob
encoder, ``invert`` and ``edit``. The median round is reported; target: gRPC throughput
at batch 64 >= 0.8 x the direct call. The last line printed is JSON;
--write puts a table into BENCHMARKS.md.
"""

import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from serving_fakes import serve  # noqa: E402
from udgan_tf.serving.export import export_run  # noqa: E402
from udgan_tf.serving import GrpcClient  # noqa: E402
from udgan_tf.serving import signatures as contract  # noqa: E402


def latencies(call, inputs, count):
    """Seconds per call of ``call(inputs)``, ``count`` times after one warm-up call."""
    call(inputs)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call(inputs)
        times.append(time.perf_counter() - start)
    return np.array(times)


def measure(call, inputs_of_batch, requests):
    """Latency at batch 1 and throughput at batch 64 of ``call`` (inputs from ``inputs_of_batch(n)``)."""
    single = latencies(call, inputs_of_batch(1), requests)
    batch = latencies(call, inputs_of_batch(64), max(1, requests // 4))
    return {"p50_ms": 1e3 * float(np.percentile(single, 50)), "p99_ms": 1e3 * float(np.percentile(single, 99)),
            "images_per_s": 64 / float(np.mean(batch))}


def signature_inputs(name, info, rng):
    """{batch size -> the inputs of signature ``name``}: random knobs, or mid-grey images and zero deltas."""
    width = sum(k["width"] for k in info["knobs"])
    if name == contract.SERVING_DEFAULT:
        return lambda n: {contract.KNOBS: rng.uniform(-1, 1, (n, width)).astype(np.float32)}

    def images_and_deltas(n):
        inputs = {contract.IMAGES: rng.uniform(0, 1, (n, *info["image_shape"])).astype(np.float32)}
        if name == contract.EDIT:
            inputs.update({k["name"]: np.zeros((n, k["width"]), np.float32) for k in info["knobs"]})
        return inputs
    return images_and_deltas


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", default="runs/dsprites")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)

    path = export_run(args.run_dir, tempfile.mkdtemp(prefix="udgan_serving_"), "udgan")
    info = json.loads((path / "assets.extra" / "knobs.json").read_text())
    names = [name for name in (contract.SERVING_DEFAULT, contract.INVERT, contract.EDIT) if name in info["signatures"]]
    loaded = tf.saved_model.load(str(path))

    def direct(name):
        function = loaded.signatures[name]
        return lambda inputs: {k: v.numpy() for k, v in function(**{n: tf.constant(a) for n, a in inputs.items()}).items()}

    server, port = serve(path, "udgan")
    rng = np.random.default_rng(0)
    rounds = {(name, way): [] for name in names for way in ("direct", "grpc")}
    with GrpcClient(f"localhost:{port}", "udgan", timeout=60.0) as client:
        for _ in range(args.rounds):
            for name in names:
                inputs = signature_inputs(name, info, rng)
                rounds[name, "direct"].append(measure(direct(name), inputs, args.requests))
                rounds[name, "grpc"].append(measure(lambda x, name=name: client.predict(name, x), inputs,
                                                    args.requests))
    server.stop(None)
    median = {key: {k: statistics.median(r[k] for r in values) for k in values[0]} for key, values in rounds.items()}
    result = {name: {way: median[name, way] for way in ("direct", "grpc")} for name in names}
    for name in names:
        result[name]["grpc_over_direct_throughput"] = (result[name]["grpc"]["images_per_s"]
                                                       / result[name]["direct"]["images_per_s"])
    # The names the generation figures have always had:
    result.update(direct=result[contract.SERVING_DEFAULT]["direct"], grpc=result[contract.SERVING_DEFAULT]["grpc"],
                  grpc_over_direct_throughput=result[contract.SERVING_DEFAULT]["grpc_over_direct_throughput"])

    if args.write:
        from report import update_section

        rows = "".join(f"| {name} | {way} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['images_per_s']:,.0f} images/s |\n"
                       for name in names for way, r in ((w, result[name][w]) for w in ("direct", "grpc")))
        ratios = "; ".join(f"{name} {result[name]['grpc_over_direct_throughput']:.2f}"
                           f" ({'met' if result[name]['grpc_over_direct_throughput'] >= 0.8 else 'NOT met'})"
                           for name in names)
        update_section("serving", (
            "## Serving (`benchmarks/serving.py`)\n\n"
            f"Command: `python benchmarks/serving.py --run-dir {args.run_dir} --requests {args.requests} "
            f"--rounds {args.rounds} --write`. The shipped dSprites generator (64x64), exported with "
            "`udgan_tf.export` (with its knob encoder: `invert` and `edit` too); gRPC through "
            "`udgan_tf.serving.GrpcClient` to the PredictionService look-alike "
            "of `tests/serving_fakes.py` on localhost (the TF Serving binary cannot be installed here), against "
            f"a direct call of the loaded SavedModel in the same process; {os.cpu_count()} CPU cores, median of "
            f"{args.rounds} interleaved rounds.\n\n"
            "| signature | path | latency p50, batch 1 | p99, batch 1 | throughput, batch 64 |\n|---|---|---|---|---|\n"
            + rows + f"\ngRPC / direct throughput at batch 64 (target >= 0.8): {ratios}.\n"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
