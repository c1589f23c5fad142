"""The Markdown of an evaluation: ``report.md`` in the paper's table layouts."""


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
        text.append(fidelity_tables(g))
    if "knob_control" in results:
        text.append("## Knob control: sprites and guided knobs (generated images)\n")
        text.append(knob_control_tables(results["knob_control"]))
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


def knob_control_tables(result):
    """The knob-control figures (``udgan_tf.evaluation.knob_control``) as Markdown tables."""
    low, high = result["real_area_range"]
    failures = ", ".join(f"{key.replace('_', ' ')} {100 * value:.1f} %" for key, value in result["failures"].items())
    own = [(f"`{name}` (`{result['guidance'][name]}`)", f"**{r:+.3f}**", f"{100 * result['reach'][name]:+.0f} %",
            result["proxy_percentiles"][name]["generated"], result["proxy_percentiles"][name]["real"])
           for name, r in result["correlations"].items()]
    sweeps = [(f"`{name}`", *(f"{100 * v:.0f} %" for v in (row[0], row[len(row) // 2], row[-1], min(row))))
              for name, row in result["plausible_along_sweep"].items()]
    proxies = list(next(iter(result["correlation_table"].values()), {}))
    cross = [(f"`{name}`", *(f"{r:+.2f}" for r in row.values())) for name, row in result["correlation_table"].items()]
    return "\n".join([
        f"Plausible sprites (one object, area within the real range {low}-{high} px): "
        f"**{100 * result['plausible_fraction']:.1f} %** of {result['samples']} random images (target >= 90 %). "
        f"Not plausible: {failures}.\n",
        _table(["guided knob (its guidance)", "Pearson r(knob value, own guidance proxy) (target abs >= 0.9)",
                "reach: proxy change over the sweep, share of the real 1st-99th percentile range",
                "proxy 1st/50th/99th percentile, generated", "same, real images"], own),
        "Plausible sprites along each sweep (the knob at -1, 0 and +1 with the other knobs random, and the "
        f"lowest over the {result['values']} values):\n",
        _table(["knob", "at -1", "at 0", "at +1", "lowest"], sweeps),
        "Every guided knob against every sprite proxy (Pearson r over the same sweeps; a disentangled knob moves "
        "its own variation and leaves the others alone):\n",
        _table(["knob", *(f"`{p}`" for p in proxies)], cross),
    ])


def fidelity_tables(g):
    """Precision and recall (Kynkäänniemi et al. 2019, oracle features) and, on dSprites, the shapes."""
    pr = g["precision_recall"]
    text = [f"\nPrecision {pr['precision']:.3f}, recall {pr['recall']:.3f} of generated against real images "
            f"(oracle features, k = {pr['k']}).\n"]
    if "shape_shares" in g:
        shapes = list(g["shape_shares"]["generated"])
        per_shape = g["per_shape_precision_recall"]
        rows = [(shape, f"{100 * g['shape_shares']['generated'][shape]:.1f} %",
                 f"{100 * g['shape_shares']['real'][shape]:.1f} %", f"{per_shape[shape]['precision']:.3f}",
                 f"{per_shape[shape]['recall']:.3f}") for shape in shapes]
        text.append(_table(["shape", "share of generated images (oracle)", "share of real images (oracle)",
                            "precision of that shape", "recall of that shape"], rows))
    if "confidence" in g:
        confidence = g["confidence"]
        text.append(f"\nOracle's mean confidence in the {confidence.get('factor', 'shape')} it reads: "
                    f"{confidence['generated']:.3f} on generated images, {confidence['real']:.3f} on real ones.\n")
    return "\n".join(text)
