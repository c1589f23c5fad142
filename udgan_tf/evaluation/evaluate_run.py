"""Evaluation of a run directory: every measure, its pictures and ``report.md``.

``evaluate(run_dir, ...)`` is what ``python -m udgan_tf.evaluate`` runs (see that module
for the measures). The report is built in ``<output>.partial`` and moved into place only
when complete, so a failed or interrupted evaluation never leaves a report that looks
finished.
"""

import json
import pathlib
import shutil
import time

import numpy as np

from udgan_tf import data as data_lib
from udgan_tf.evaluation import correlations, pictures
from udgan_tf.evaluation import metrics as metrics_lib
from udgan_tf.evaluation.attribute_classification import attribute_accuracies
from udgan_tf.evaluation.generator_measures import generator_side_measures
from udgan_tf.evaluation.knob_control import knob_control_measures
from udgan_tf.evaluation.metrics import images_needed, metric_params
from udgan_tf.evaluation.report import render_report
from udgan_tf.evaluation.representation import PrecomputedCodes, embed_image_data, embedding_function, flatten
from udgan_tf.models import load_model
from udgan_tf.runs import RunDirectory, RunDirectoryError, RunWriteError, writing

FACTOR_MEASURES = (*metrics_lib.METRICS, "generator")
MEASURES = (*FACTOR_MEASURES, "correlations", "attributes", "knob_control")


class EvaluationError(ValueError):
    """A request that cannot be evaluated; the message names the problem and the fix."""


def choose_measures(requested, data):
    """The measures to run: ``requested`` (comma-separated str or None) checked against ``data``."""
    has_factors = isinstance(data, data_lib.GroundTruthData)
    has_attributes = "attributes" in getattr(data, "extra_keys", ())
    if requested is None:
        supported = {"correlations": has_factors or has_attributes, "attributes": has_attributes,
                     "knob_control": isinstance(data, data_lib.DSprites)}
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
    if "knob_control" in chosen and not isinstance(data, data_lib.DSprites):
        raise EvaluationError(f"'knob_control' measures sprites and guided knobs on dsprites runs; {name} is not "
                              "dSprites.")
    if "correlations" in chosen and not (has_factors or has_attributes):
        raise EvaluationError(f"'correlations' needs factors or attributes; {name} has neither.")
    return chosen


def load_data(config, split=None, data_dir=None):
    """The run's data set (``udgan_tf.data.dataset_for_config``); a bad option is an EvaluationError."""
    try:
        return data_lib.dataset_for_config(config, split=split, data_dir=data_dir)
    except data_lib.DataError:
        raise
    except ValueError as error:
        raise EvaluationError(str(error)) from None


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
    try:
        return _evaluate_into(partial, output, run, model, config, data, measures, num_points, oracle_steps, seed,
                              data_dir)
    except RunWriteError:
        shutil.rmtree(partial, ignore_errors=True)  # give the space back; the previous report is untouched
        raise


def _evaluate_into(partial, output, run, model, config, data, measures, num_points, oracle_steps, seed, data_dir):
    """Runs the measures, writing into ``partial``, then moves it to ``output``."""
    with writing(partial):
        partial.mkdir(parents=True)
    results = {"run_dir": str(run.path), "dataset": config["dataset"]["name"], "step": run.status().get("step"),
               "training_minutes": training_minutes(run), "measures": measures, "seed": seed, "metrics": {}}
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
            elif name == "knob_control":
                bases = 100 if num_points is None else max(2, num_points // 20)
                results["knob_control"] = knob_control_measures(model, data, samples=num_points or 2000,
                                                                bases=bases, seed=seed)
    with stage("pictures"):
        _pictures(model, data, run, partial, seed, pictures_written)
    results["pictures"] = pictures_written
    results["seconds"] = stage.seconds
    for name, text in (("metrics.json", json.dumps(results, indent=2)), ("report.md", render_report(results))):
        with writing(partial / name):
            (partial / name).write_text(text)
    with writing(output):
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
    from udgan_tf.evaluation.oracle import load_or_train_oracle, oracle_accuracy

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
        "embedding_names": model.layout.embedding_names,
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


def _guidance_proxies(model, images):
    """First proxy column of every vector-guided siamese network on ``images`` -> ``([N, G], names)``.

    Image-shaped guidance (crops, edges) has no scalar proxy and is left out.
    """
    columns, names = [], []
    for slot, network in zip(model.layout.siamese_plan, getattr(model, "siamese_networks", ())):  # UD-GAN only
        if not slot.guided:
            continue
        proxy = np.asarray(network.guide(images))
        if proxy.ndim == 2:
            columns.append(proxy[:, 0])
            names.append(slot.label)
    return (np.stack(columns, 1) if columns else np.zeros((len(images), 0))), names


def _embedding_plots(model, embeddings, factors, factor_names, out, written, seed):
    """One plot per guided knob, coloured by the factor its embedding correlates with most."""
    for knob, columns in zip(model.knobs, model.layout.embedding_slices):
        if not knob.guided:
            continue
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
    if getattr(model, "siamese_networks", None):  # the other methods have no siamese networks
        pictures.save_saliency(out / "saliency.png", model, images)
        written.append("saliency.png")
    if run.history_path.exists():
        pictures.save_training_curves(out / "training_curves.png", run.history_path, model.layout.names)
        written.append("training_curves.png")


def training_minutes(run):
    """Wall-clock minutes of training, from the run's ``history.csv`` (None without one)."""
    if not run.history_path.exists():
        return None
    rows = run.history_path.read_text().strip().splitlines()
    return round(float(rows[-1].split(",")[1]) / 60, 1) if len(rows) > 1 else None
