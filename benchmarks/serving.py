"""Serving latency and throughput: gRPC against a direct call of the loaded SavedModel.

    python benchmarks/serving.py --run-dir runs/dsprites [--requests 200] [--rounds 3] [--write]

Exports the run, loads the SavedModel in this process (direct path: the
``serving_default`` concrete function) and serves the same directory with the
gRPC PredictionService of ``tests/serving_fakes.py`` (the TF Serving look-alike;
the TF Serving binary cannot be installed here) on a localhost port, called through
``udgan_tf.serving.GrpcClient``. Each round measures, path after path: latency at
batch 1 (p50, p99 over ``--requests`` calls) and throughput at batch 64 (images/s
over ``--requests // 4`` calls). The median round is reported; target: gRPC
throughput at batch 64 >= 0.8 x the direct call. The last line printed is JSON;
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
from udgan_tf.export import export_run  # noqa: E402
from udgan_tf.serving import GrpcClient  # noqa: E402


def latencies(call, knobs, count):
    """Seconds per call of ``call(knobs)``, ``count`` times after one warm-up call."""
    call(knobs)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call(knobs)
        times.append(time.perf_counter() - start)
    return np.array(times)


def measure(call, width, requests, rng):
    single = latencies(call, rng.uniform(-1, 1, (1, width)).astype(np.float32), requests)
    batch = latencies(call, rng.uniform(-1, 1, (64, width)).astype(np.float32), max(1, requests // 4))
    return {"p50_ms": 1e3 * float(np.percentile(single, 50)), "p99_ms": 1e3 * float(np.percentile(single, 99)),
            "images_per_s": 64 / float(np.mean(batch))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", default="runs/dsprites")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)

    path = export_run(args.run_dir, tempfile.mkdtemp(prefix="udgan_serving_"), "udgan")
    width = json.loads((path / "assets.extra" / "knobs.json").read_text())["knobs"]
    width = sum(k["width"] for k in width)
    direct_fn = tf.saved_model.load(str(path)).signatures["serving_default"]

    def direct(knobs):
        return direct_fn(knobs=tf.constant(knobs))["images"].numpy()

    server, port = serve(path, "udgan")
    rng = np.random.default_rng(0)
    rounds = {"direct": [], "grpc": []}
    with GrpcClient(f"localhost:{port}", "udgan", timeout=60.0) as client:
        for _ in range(args.rounds):
            rounds["direct"].append(measure(direct, width, args.requests, rng))
            rounds["grpc"].append(measure(client.generate, width, args.requests, rng))
    server.stop(None)
    result = {path_name: {key: statistics.median(r[key] for r in values) for key in values[0]}
              for path_name, values in rounds.items()}
    result["grpc_over_direct_throughput"] = result["grpc"]["images_per_s"] / result["direct"]["images_per_s"]

    if args.write:
        from report import update_section

        ratio = result["grpc_over_direct_throughput"]
        update_section("serving", (
            "## Serving (`benchmarks/serving.py`)\n\n"
            f"Command: `python benchmarks/serving.py --run-dir {args.run_dir} --requests {args.requests} "
            f"--rounds {args.rounds} --write`. The shipped dSprites generator (64x64), exported with "
            "`udgan_tf.export`; gRPC through `udgan_tf.serving.GrpcClient` to the PredictionService look-alike "
            "of `tests/serving_fakes.py` on localhost (the TF Serving binary cannot be installed here), against "
            f"a direct call of the loaded SavedModel in the same process; {os.cpu_count()} CPU cores, median of "
            f"{args.rounds} interleaved rounds.\n\n"
            "| path | latency p50, batch 1 | p99, batch 1 | throughput, batch 64 |\n|---|---|---|---|\n"
            + "".join(f"| {name} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['images_per_s']:,.0f} images/s |\n"
                      for name, r in ((n, result[n]) for n in ("direct", "grpc")))
            + f"\ngRPC / direct throughput at batch 64: {ratio:.2f} (target >= 0.8: "
              f"{'met' if ratio >= 0.8 else 'NOT met'}).\n"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
