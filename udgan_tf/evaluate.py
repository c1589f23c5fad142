"""Evaluate a trained run: ``python -m udgan_tf.evaluate --run-dir DIR [--metrics ...] [--output DIR]``.

Writes ``metrics.json``, ``report.md`` (the tables in the paper's layout) and
pictures into ``--output`` (default ``<run-dir>/evaluation``). The report is built
in a ``.partial`` directory and moved into place only when complete, so a failed
or interrupted evaluation never leaves a report that looks finished.

Measures (``--metrics``, default: all that the data set supports):

* ``beta_vae_score``, ``factor_vae_score``, ``mig``, ``dci``, ``sap_score``: the
  standard suite (``udgan_tf.metrics``) on phi(x), the siamese embedding of real
  images (§4.2, Table 1); needs ground-truth factors;
* ``generator``: the generator-side measures (``udgan_tf.evaluation.generator_measures``)
  with an oracle factor classifier trained on real images; needs factors;
* ``correlations``: Table 7 (guidance proxies against factors) and Table 9
  (embedding dimensions with each other and with factors or attributes);
* ``attributes``: CelebA attribute classification by projection (Tables 2 and 8).
"""

import argparse
import inspect
import json
import pathlib
import shutil
import sys
import time

import numpy as np

from udgan_tf import data as data_lib
from udgan_tf import metrics as metrics_lib
from udgan_tf.evaluation import correlations, pictures
from udgan_tf.evaluation.attribute_classification import attribute_accuracies
from udgan_tf.evaluation.generator_measures import generator_side_measures
from udgan_tf.evaluation.representation import PrecomputedCodes, embed_image_data, embedding_function, flatten
from udgan_tf.runs import RunDirectory, RunDirectoryError, load_model

FACTOR_MEASURES = (*metrics_lib.METRICS, "generator")
MEASURES = (*FACTOR_MEASURES, "correlations", "attributes")
#: Parameters that set how many points a metric draws; --num-points overrides them all.
SIZE_PARAMETERS = ("num_train", "num_eval", "num_test", "num_variance_estimate")


class EvaluationError(ValueError):
    """A request that cannot be evaluated; the message names the problem and the fix."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m udgan_tf.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True, help="a run directory written by udgan_tf.train")
    parser.add_argument("--metrics", help=f"comma-separated subset of: {', '.join(MEASURES)} (default: all the "
                                          "data set supports)")
    parser.add_argument("--output", help="report directory (default: <run-dir>/evaluation)")
    parser.add_argument("--num-points", type=int, help="points per metric (default: disentanglement_lib's sizes)")
    parser.add_argument("--oracle-steps", type=int, default=3000, help="training steps of the oracle classifier")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", help="override the run's dataset.data_dir")
    return parser.parse_args(argv)


def choose_measures(requested, data):
    """The measures to run: ``requested`` (comma-separated str or None) checked against ``data``."""
    has_factors = isinstance(data, data_lib.GroundTruthData)
    has_attributes = "attributes" in getattr(data, "extra_keys", ())
    if requested is None:
        supported = {"correlations": has_factors or has_attributes, "attributes": has_attributes}
        return [m for m in MEASURES if supported.get(m, has_factors)]
    chosen = [m.strip() for m in requested.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in MEASURES]
    if unknown:
        raise EvaluationError(f"Unknown metric(s) {', '.join(map(repr, unknown))}. Available: {', '.join(MEASURES)}.")
    name = type(data).__name__
    if not has_factors and any(m in FACTOR_MEASURES for m in chosen):
        raise EvaluationError(f"{', '.join(m for m in chosen if m in FACTOR_MEASURES)} need ground-truth factors, "
                              f"which {name} does not have. Data sets with factors: dsprites, mnist, colored_mnist.")
    if "attributes" in chosen and not has_attributes:
        raise EvaluationError(f"'attributes' needs per-image attributes (CelebA); {name} has none.")
    if "correlations" in chosen and not (has_factors or has_attributes):
        raise EvaluationError(f"'correlations' needs factors or attributes; {name} has neither.")
    return chosen


def load_data(config, split=None, data_dir=None):
    name = config["dataset"]["name"]
    options = {k: v for k, v in config["dataset"].items() if k != "name"}
    options.setdefault("resolution", config["model"].get("resolution", 64))
    accepted = data_lib.accepted_options(data_lib.DATASETS[name])
    if "channels" in accepted:
        options.setdefault("channels", config["model"].get("channels", 1))
    if data_dir is not None:
        options["data_dir"] = data_dir
    if split is not None:
        options["split"] = split
    return data_lib.get_dataset(name, **options)


class Stage:
    """Prints ``[i/n] what ... done in s`` around a long step; keeps the seconds in ``seconds``."""

    def __init__(self, total):
        self.total, self.index, self.seconds = total, 0, {}

    def __call__(self, what):
        self.index += 1
        print(f"[{self.index}/{self.total}] {what} ...", flush=True)
        self.what, self.start = what, time.perf_counter()
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.seconds[self.what] = time.perf_counter() - self.start
            print(f"      {self.what}: done in {self.seconds[self.what]:.1f} s", flush=True)


def metric_params(name, num_points):
    """Keyword arguments of a metric: its defaults, or every size set to ``num_points``."""
    parameters = inspect.signature(metrics_lib.METRICS[name]).parameters
    params = {p: v.default for p, v in parameters.items() if v.default is not inspect.Parameter.empty}
    if num_points is not None:
        params.update({p: num_points for p in SIZE_PARAMETERS if p in parameters})
    return params


def images_needed(name, params):
    """How many images a metric draws with these parameters."""
    points = params.get("num_train", 0) + params.get("num_eval", 0) + params.get("num_test", 0)
    if name == "beta_vae_score":
        return points * 2 * params["batch_size"]
    if name == "factor_vae_score":
        return params["num_variance_estimate"] + points * params["batch_size"]
    return points


def evaluate(run_dir, output=None, requested=None, num_points=None, oracle_steps=3000, seed=0, data_dir=None):
    """Evaluates a run and writes the report. Returns the results dict (as in metrics.json)."""
    run = RunDirectory(run_dir)
    if not run.config_path.exists():
        raise RunDirectoryError(f"{run.path} is not a run directory (no {run.config_path.name}): pass the "
                                "--output-dir of python -m udgan_tf.train.")
    model = load_model(run.path)               # RunDirectoryError without a checkpoint
    config = run.read_config()
    data = load_data(config, data_dir=data_dir)
    measures = choose_measures(requested, data)
    output = pathlib.Path(output or run.path / "evaluation")
    partial = output.with_name(output.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)

    results = {"run_dir": str(run.path), "dataset": config["dataset"]["name"], "step": run.status().get("step"),
               "measures": measures, "metrics": {}}
    pictures_written = []
    representation = embedding_function(model)
    factor_metrics = [name for name in measures if name in metrics_lib.METRICS]
    needed = sum(images_needed(name, metric_params(name, num_points)) for name in factor_metrics)
    precompute = factor_metrics and data.deterministic and needed > len(data)
    stage = Stage(len(measures) + 1 + bool(precompute))
    metric_data, metric_representation = data, representation
    if precompute:
        with stage(f"phi(x) of all {len(data):,} images (the metrics draw {needed:,})"):
            metric_data, metric_representation = PrecomputedCodes(data, representation), flatten
    for name in measures:
        with stage(name):
            if name in metrics_lib.METRICS:
                results["metrics"][name] = metrics_lib.METRICS[name](
                    metric_data, metric_representation, np.random.RandomState(seed), **metric_params(name, num_points))
            elif name == "generator":
                results["generator"] = _generator_measures(model, data, config, num_points, oracle_steps, seed,
                                                           partial, pictures_written)
            elif name == "correlations":
                results["correlations"] = _correlations(model, data, representation, config, seed, num_points,
                                                        data_dir, partial, pictures_written)
            elif name == "attributes":
                results["attributes"] = _attributes(model, config, data_dir)
    with stage("pictures"):
        _pictures(model, data, run, partial, seed, pictures_written)
    results["pictures"] = pictures_written
    results["seconds"] = stage.seconds
    (partial / "metrics.json").write_text(json.dumps(results, indent=2))
    (partial / "report.md").write_text(render_report(results))
    _replace_directory(partial, output)
    return results


def _replace_directory(new, target):
    """Moves ``new`` to ``target``, replacing an older report only once the new one is complete."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _generator_measures(model, data, config, num_points, oracle_steps, seed, out, written):
    from udgan_tf.oracle import load_or_train_oracle, oracle_accuracy

    key = f"{config['dataset']['name']}-{data.observation_shape[0]}"
    oracle = load_or_train_oracle(data, key, steps=oracle_steps)
    result = generator_side_measures(model, data, oracle, num=num_points or 5000, seed=seed)
    result["oracle_accuracy"] = oracle_accuracy(oracle, data, num=num_points or 5000, seed=seed + 1)
    result["oracle_steps"] = oracle_steps
    pictures.save_heatmap(out / "knob_factor_matrix.png", result["knob_factor_matrix"], result["knob_names"],
                          result["factor_names"], "I(knob; factor of G(z)) / H(factor), oracle-read")
    written.append("knob_factor_matrix.png")
    return result


def _real_sample(data, num, seed):
    return data.sample(num, np.random.RandomState(seed))


def _correlations(model, data, representation, config, seed, num_points, data_dir, out, written):
    if isinstance(data, data_lib.GroundTruthData):
        labels, images = _real_sample(data, min(num_points or 2000, 2000), seed)
        label_names = list(data.factor_names)
        embeddings = representation(images)
    else:
        test = load_data(config, split="test", data_dir=data_dir)
        embeddings, extras = embed_image_data(model, test, extras=("attributes",))
        labels, label_names = extras["attributes"], list(test.attribute_names)
        images = None
    result = {
        "embedding_names": _embedding_names(model),
        "label_names": label_names,
        "embedding_vs_embedding": correlations.correlation_matrix(embeddings, embeddings).tolist(),
        "mean_abs_between_embeddings": correlations.mean_abs_off_diagonal(
            correlations.correlation_matrix(embeddings, embeddings)),
        "best_abs_with_labels": correlations.best_abs_correlation(embeddings, labels).tolist(),
    }
    result["mean_best_abs_with_labels"] = float(np.mean(result["best_abs_with_labels"]))
    if images is not None:  # Table 7: each guidance proxy against each factor, on real images
        proxies, proxy_names = _guidance_proxies(model, images)
        if proxy_names:
            result["proxy_names"] = proxy_names
            result["proxy_vs_factor"] = correlations.correlation_matrix(proxies, labels).tolist()
        _embedding_plots(model, embeddings, labels, label_names, out, written, seed)
    return result


def _embedding_names(model):
    return [f"{knob.name}" if knob.embedding_dim == 1 else f"{knob.name}_{i + 1}"
            for knob in model.knobs for i in range(knob.embedding_dim)]


def _guidance_proxies(model, images):
    """First proxy column of every vector-guided siamese network on ``images`` -> ``([N, G], names)``.

    Image-shaped guidance (crops, edges) has no scalar proxy and is left out.
    """
    columns, names = [], []
    for network in model.siamese_networks:
        proxy = np.asarray(network.guide(images))
        if network.guidance is None or proxy.ndim != 2:
            continue
        columns.append(proxy[:, 0])
        names.append(network.name.removeprefix("siamese_"))
    return (np.stack(columns, 1) if columns else np.zeros((len(images), 0))), names


def _embedding_plots(model, embeddings, factors, factor_names, out, written, seed):
    """One plot per guided knob, coloured by the factor its embedding correlates with most."""
    names = _embedding_names(model)
    for knob in model.knobs:
        if not knob.guided:
            continue
        columns = [i for i, n in enumerate(names) if n == knob.name or n.startswith(knob.name + "_")]
        block = embeddings[:, columns]
        best = int(np.argmax(correlations.best_abs_correlation(block, factors)))
        path = f"embedding_{knob.name}.png"
        pictures.save_embedding_plot(out / path, block, factors[:, best], factor_names[best], knob.name, seed)
        written.append(path)


def _attributes(model, config, data_dir):
    train = load_data(config, split="train", data_dir=data_dir)
    test = load_data(config, split="test", data_dir=data_dir)
    train_embeddings, train_extras = embed_image_data(model, train, extras=("attributes",))
    test_embeddings, test_extras = embed_image_data(model, test, extras=("attributes",))
    accuracy = attribute_accuracies(train_embeddings, train_extras["attributes"], test_embeddings,
                                    test_extras["attributes"])
    return {"accuracy": dict(zip(train.attribute_names, accuracy.tolist())), "mean_accuracy": float(accuracy.mean()),
            "train_images": len(train_embeddings), "test_images": len(test_embeddings)}


def _pictures(model, data, run, out, seed, written):
    for index, knob in enumerate(model.knobs):
        path = f"traversal_{knob.name}.png"
        pictures.save_knob_traversal(out / path, model, index, seed=seed)
        written.append(path)
    if isinstance(data, data_lib.GroundTruthData):
        images = data.sample_observations(8, np.random.RandomState(seed))
    else:
        images = next(iter(data.evaluation_dataset(8)))["image"].numpy()
    pictures.save_saliency(out / "saliency.png", model, images)
    written.append("saliency.png")
    if run.history_path.exists():
        pictures.save_training_curves(out / "training_curves.png", run.history_path)
        written.append("training_curves.png")


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render_report(results):
    """The Markdown report of a results dict."""
    text = [f"# Evaluation of `{results['run_dir']}`\n",
            f"Data set `{results['dataset']}`, step {results['step']}; measures: {', '.join(results['measures'])}.\n"]
    if results["metrics"]:
        text.append("## Disentanglement of phi(x) on real images (Table 1)\n")
        rows = [(name, key, value if isinstance(value, int) else f"{value:.4f}")
                for name, scores in results["metrics"].items() for key, value in scores.items()]
        text.append(_table(["metric", "key", "value"], rows))
    if "generator" in results:
        g = results["generator"]
        text.append("## Generator side (an oracle reads the factors of G(z))\n")
        text.append(f"Oracle ({g['oracle_steps']} training steps) accuracy on held-out real images:\n")
        text.append(_table(["factor", "accuracy"], [(k, f"{v:.3f}") for k, v in g["oracle_accuracy"].items()]))
        text.append(f"\nFréchet distance in the oracle's feature space: {g['frechet_distance']:.3f}. "
                    f"Knob MIG: {g['knob_mig']:.3f}. Knob DCI: disentanglement {g['knob_dci']['disentanglement']:.3f}, "
                    f"completeness {g['knob_dci']['completeness']:.3f}, informativeness "
                    f"{g['knob_dci']['informativeness_test']:.3f}.\n\n![knob x factor](knob_factor_matrix.png)\n")
    if "correlations" in results:
        c = results["correlations"]
        if "proxy_vs_factor" in c:
            text.append("## Table 7: guidance proxies against factors (Pearson r, real images)\n")
            text.append(_table(["proxy", *c["label_names"]],
                               [(n, *(f"{v:+.2f}" for v in row)) for n, row in zip(c["proxy_names"],
                                                                                  c["proxy_vs_factor"])]))
        text.append("\n## Table 9: correlation of the embedding\n")
        text.append(_table(["", "mean abs r"], [("between embedding dimensions", f"{c['mean_abs_between_embeddings']:.3f}"),
                                                 ("best dimension per label, mean",
                                                  f"{c['mean_best_abs_with_labels']:.3f}")]))
    if "attributes" in results:
        a = results["attributes"]
        text.append(f"\n## Table 8: CelebA attribute classification (mean {a['mean_accuracy']:.3f}; "
                    f"{a['train_images']} train, {a['test_images']} test images)\n")
        items = list(a["accuracy"].items())
        rows = [sum(((name, f"{value:.3f}") for name, value in items[i::10]), ()) for i in range(10)]
        text.append(_table(["attribute", "accuracy"] * 4, rows))
    text.append("\n## Pictures\n")
    text += [f"![{p}]({p})\n" for p in results["pictures"]]
    return "\n".join(text)


def main(argv=None):
    args = parse_args(argv)
    try:
        results = evaluate(args.run_dir, args.output, args.metrics, args.num_points, args.oracle_steps, args.seed,
                           args.data_dir)
    except (EvaluationError, RunDirectoryError, data_lib.DataError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    output = args.output or str(pathlib.Path(args.run_dir) / "evaluation")
    print(f"Report written to {output}/report.md ({len(results['pictures'])} pictures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
