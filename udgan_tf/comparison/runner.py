"""Training and scoring several methods alike, each run leaving a record; then the report.

Every method trains for the same minutes of training on this machine, once per seed, into
``<runs>/<method>/seed<S>``, all methods of seed 0 first; each run and a few of its snapshots are
scored by the same ``evaluate`` code with the same metric seeds. A record, a finished run and a
finished evaluation are reused, so rerunning after a crash or a kill continues where it stopped.
"""

import json
import pathlib

from udgan_tf import config as config_lib
from udgan_tf.comparison.entries import ENTRIES, METRICS, PUBLISHED, CompareError
from udgan_tf.comparison.report import (figures_of, report_markdown, save_curves, save_traversals,
                                        summarise)
from udgan_tf.evaluation.evaluate_run import evaluate
from udgan_tf.evaluation.traversal import tile, traversal_grid
from udgan_tf.models import load_model
from udgan_tf.runs import RunDirectory, atomic_write_text, write_png
from udgan_tf.training import train

#: training.steps when a time budget ends the runs: large enough never to be the limit.
UNLIMITED_STEPS = 10 ** 6


def entry_config(entry, dataset, minutes, seed, overrides=(), clock="cpu", curve_points=0):
    """The resolved config of one method and seed under the shared time budget: ``minutes`` on
    ``clock`` (``training.clock``), with a snapshot every ``minutes / curve_points`` minutes."""
    method, name, _ = ENTRIES[entry]
    path = config_lib.shipped_config_dir() / (name.format(dataset=dataset) + ".yaml")
    if not path.exists():
        raise CompareError(f"{entry} has no config for {dataset!r}: {path} does not exist. Shipped: "
                           f"{', '.join(sorted(p.stem for p in path.parent.glob('*.yaml')))}.")
    settings = [f"model.method={method}", f"training.seed={seed}", f"model.seed={seed}"]
    if minutes is not None:
        settings += [f"training.minutes={minutes}", f"training.steps={UNLIMITED_STEPS}", f"training.clock={clock}"]
        if curve_points:
            settings.append(f"training.snapshot_every_minutes={minutes / curve_points}")
    return config_lib.load_config(path, [*settings, *overrides])


def _evaluation(run_dir, measures, num_points, oracle_steps, seed):
    """``evaluate``'s results for a run directory, reusing a finished evaluation of the same measures."""
    report = pathlib.Path(run_dir) / "evaluation" / "metrics.json"
    if report.exists():
        results = json.loads(report.read_text())
        if results.get("measures") == list(measures) and results.get("seed") == seed:
            return results
    return evaluate(run_dir, requested=",".join(measures), num_points=num_points, oracle_steps=oracle_steps,
                    seed=seed)


def run_entry(entry, config, run_dir, record_path, measures, num_points, oracle_steps, seed, curve_num_points,
              verbose):
    """Trains (or resumes) one run, evaluates it and its snapshots, and writes its record:
    ``record_path`` (JSON: the config, ``evaluate``'s results, the curve over the snapshots,
    the knob names) and beside it the traversal grid as PNG. A record of the same config is
    reused as it is, without the run directory (records are small enough to commit, so a
    comparison can grow over several machines). Returns the record."""
    config = json.loads(json.dumps(config))
    if record_path.exists():
        record = json.loads(record_path.read_text())
        if config_lib.with_training_defaults(record["config"]) != config:
            raise CompareError(f"{record_path} records a run of another config; pass another --output-dir or "
                               "delete it (and its run directory) to run this one.")
        return record
    run = RunDirectory(run_dir)
    finished = run.config_path.exists() and (run.status() or {}).get("status") == "finished"
    if finished and run.read_config() != config:
        raise CompareError(f"{run_dir} holds a finished run of another config; pass another --runs-dir or "
                           "delete it.")
    if not finished:
        train(config, run_dir, verbose=verbose)
    results = _evaluation(run.path, measures, num_points, oracle_steps, seed)
    curve = []
    for snapshot in run.snapshots():
        print(f"      curve: the snapshot at step {snapshot.status()['step']}", flush=True)
        point = _evaluation(snapshot.path, measures, curve_num_points, oracle_steps, seed)
        curve.append({"minutes": point["training_minutes"], **figures_of(point)})
    model = load_model(run.path)
    grid = tile(traversal_grid(model, 9, seed=0))
    write_png(record_path.with_suffix(".png"), grid)
    record = {"entry": entry, "seed": seed, "config": config, "results": results, "curve": curve,
              "knobs": [knob.name for knob in model.knobs]}
    atomic_write_text(record_path, json.dumps(record, indent=2))
    return record


def compare(dataset, entries, minutes, seeds, output_dir, num_points=None, oracle_steps=3000, overrides=(),
            verbose="auto", runs_dir=None, clock="cpu", curve_points=3, curve_num_points=500, report_only=False):
    """Trains and evaluates every entry for every seed (all entries of a seed before the next
    seed, so that a partial comparison has every method), then writes the report. With
    ``report_only`` it trains nothing: the report is written from the records that exist,
    the jobs without one left out. Returns the summary."""
    output = pathlib.Path(output_dir)
    runs = pathlib.Path(runs_dir or output_dir)
    measures = [*METRICS, "generator"]
    jobs = [(entry, seed) for seed in seeds for entry in entries]
    configs = {(entry, seed): entry_config(entry, dataset, minutes, seed, overrides, clock, curve_points)
               for entry, seed in jobs}   # fail before training
    records = {entry: [] for entry in entries}
    for number, (entry, seed) in enumerate(jobs, 1):
        record_path = output / entry / f"seed{seed}.json"
        budget = f"{minutes} minutes ({clock} clock)" if minutes is not None else "its config's steps"
        doing = (f"reusing its record {record_path} (delete it to run again)" if record_path.exists() else
                 "no record yet, left out of the report (--report-only trains nothing)" if report_only else
                 f"training for {budget}, then {', '.join(measures)}")
        print(f"[{number}/{len(jobs)}] {ENTRIES[entry][2]} ({entry}), seed {seed}: {doing}", flush=True)
        if report_only and not record_path.exists():
            continue
        records[entry].append(run_entry(entry, configs[entry, seed], runs / entry / f"seed{seed}", record_path,
                                        measures, num_points, oracle_steps, seed, curve_num_points, verbose))
    records = {entry: done for entry, done in records.items() if done}
    if not records:
        raise CompareError(f"--report-only found no records in {output}; run the command without it to train "
                           "the methods first.")
    summary = summarise({entry: [record["results"] for record in done] for entry, done in records.items()})
    print(f"[{len(jobs)}/{len(jobs)}] writing the report", flush=True)
    save_traversals(output / "traversals.png",
                    {ENTRIES[entry][2]: (output / entry / f"seed{done[0]['seed']}.png", done[0]["knobs"])
                     for entry, done in records.items()})
    curves = {ENTRIES[entry][2]: [record["curve"] for record in done] for entry, done in records.items()}
    if any(curve for runs_of_entry in curves.values() for curve in runs_of_entry):
        save_curves(output / "curves.png", curves)
    atomic_write_text(output / "results.json", json.dumps(
        {"dataset": dataset, "minutes": minutes, "clock": clock, "seeds": seeds, "summary": summary,
         "curves": curves, "published": PUBLISHED}, indent=2))
    atomic_write_text(output / "report.md", report_markdown(summary, dataset, minutes, seeds, clock,
                                                            curves=(output / "curves.png").exists(),
                                                            curve_num_points=curve_num_points))
    return summary
