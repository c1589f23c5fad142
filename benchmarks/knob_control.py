"""Do the generator's images look like sprites, and do the guided knobs move them?

    python benchmarks/knob_control.py --run-dir runs/dsprites [--write]

Measured on generated images of a trained dSprites run (issue 2's acceptance):
  * plausible: the fraction of images that hold one object (the largest 8-connected
    component of the pixels > 0.5 holds at least 90 % of them, so scattered noise does
    not count) whose area lies within the range of areas of real dSprites images
    (every shape, scale and orientation);
  * for each guided knob: the Pearson correlation between the knob's value, swept
    over -1..1 with the other knobs random, and the knob's own guidance proxy
    (e.g. centre of mass x) computed on the generated image; and the knob's reach, how
    far the sweep moves that proxy as a share of its range on real images (r is blind to
    scale: knobs that only move stray pixels can still correlate perfectly).
The last line printed is JSON; --write puts a table into BENCHMARKS.md.
"""

import argparse
import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from udgan_tf import guidance  # noqa: E402
from udgan_tf.data import DSprites  # noqa: E402
from udgan_tf.runs import RunDirectory, load_model  # noqa: E402


def real_area_range(resolution):
    """(min, max) object area in pixels over every shape, scale and orientation."""
    data = DSprites(resolution=resolution)
    grid = np.stack(np.meshgrid(range(3), range(6), range(40), indexing="ij"), -1).reshape(-1, 3)
    factors = np.concatenate([grid, np.full((len(grid), 2), 16)], axis=1)
    areas = (data.sample_observations_from_factors(factors) > 0.5).sum(axis=(1, 2, 3))
    return int(areas.min()), int(areas.max())


def generate(model, latents, batch=256):
    return np.concatenate([np.asarray(model(latents[i:i + batch])) for i in range(0, len(latents), batch)])


def object_stats(image):
    """(lit area in pixels, share of it in the largest 8-connected object) of ``[H, W, C]``."""
    from scipy import ndimage

    lit = image[..., 0] > 0.5
    area = int(lit.sum())
    labels, count = ndimage.label(lit, structure=np.ones((3, 3)))
    return area, (np.bincount(labels.ravel())[1:].max() / area if count else 0.0)


def is_plausible_sprite(image, area_range, min_share=0.9):
    """One object of a real sprite's area: ``[H, W, C]`` image -> bool."""
    area, share = object_stats(image)
    return area_range[0] <= area <= area_range[1] and share >= min_share


def plausible_fraction(images, area_range):
    return float(np.mean([is_plausible_sprite(image, area_range) for image in images]))


def failure_reasons(images, area_range, min_share=0.9):
    """Fractions of images whose lit area is below / above the real range, or whose
    largest object holds less than ``min_share`` of the lit pixels (in pieces)."""
    areas, shares = np.array([object_stats(image) for image in images]).T
    return {"too_small": float(np.mean(areas < area_range[0])), "too_large": float(np.mean(areas > area_range[1])),
            "in_pieces": float(np.mean(shares < min_share))}


def proxy_percentiles(model, generated, real):
    """1st/50th/99th percentiles of each guided knob's scalar proxy on generated and real images."""
    result = {}
    for knob in model.knobs:
        if knob.guided:
            proxy = guidance.build(knob.guidance)
            values = {name: np.asarray(proxy(images)) for name, images in (("generated", generated), ("real", real))}
            if values["real"].ndim == 2 and values["real"].shape[1] == 1:
                result[knob.name] = {name: np.percentile(v[:, 0], [1, 50, 99]).round(4).tolist()
                                     for name, v in values.items()}
    return result


def scalar(proxy, images):
    """``proxy(images)`` as ``[N]`` when the proxy is a scalar per image, else None."""
    values = np.asarray(proxy(images))
    return values[:, 0] if values.ndim == 2 and values.shape[1] == 1 else None


#: Scalar proxies every guided knob is also correlated with, to show which variation
#: each knob moves (the diagonal) and which it leaves alone (the rest).
SPRITE_PROXIES = ("center_of_mass_x", "center_of_mass_y", "object_size", "object_area")


def knob_correlations(model, num_bases, num_values, rng, real, area_range):
    """How each guided knob moves proxies of G's image when it sweeps -1..1.

    Args:
        real: real images ``[N, R, R, C]``, for the real range of each proxy.

    Returns:
        ``(own, table, reach, plausible)``: ``own[knob]`` is Pearson r between the knob's value and
        its own guidance proxy (the target figure); ``table[knob][proxy]`` r with each of
        ``SPRITE_PROXIES``; ``reach[knob]`` how far the sweep moves the own proxy (least
        squares slope times 2) as a share of the proxy's 1st-99th percentile range on
        real images. r alone is blind to scale: a collapsed generator whose knobs only
        move a few stray pixels can reach r = 0.99 with a reach near 0.
        ``plausible[knob]`` the plausible fraction at each swept value, ``[num_values]``.
    """
    own, table, reach, plausible = {}, {}, {}, {}
    values = np.linspace(-1, 1, num_values, dtype=np.float32)
    for knob, piece in zip(model.knobs, model.layout.latent_slices):
        if not knob.guided:
            continue
        latents = np.repeat(rng.uniform(-1, 1, (num_bases, model.layout.latent_dim)).astype(np.float32),
                            num_values, axis=0)
        swept = np.tile(values, num_bases)
        latents[:, piece] = swept[:, None]
        images = generate(model, latents)
        ok = np.array([is_plausible_sprite(image, area_range) for image in images]).reshape(num_bases, num_values)
        plausible[knob.name] = ok.mean(axis=0).round(3).tolist()

        table[knob.name] = {name: float(np.corrcoef(swept, scalar(guidance.get(name), images))[0, 1])
                            for name in SPRITE_PROXIES}
        proxy = guidance.build(knob.guidance)
        generated = scalar(proxy, images)
        if generated is not None:  # only scalar proxies have one correlation
            own[knob.name] = float(np.corrcoef(swept, generated)[0, 1])
            low, high = np.percentile(scalar(proxy, real), [1, 99])
            reach[knob.name] = float(2 * np.polyfit(swept, generated, 1)[0] / (high - low))
    return own, table, reach, plausible


def guidance_name(model, knob_name):
    spec = next(knob.guidance for knob in model.knobs if knob.name == knob_name)
    return spec if isinstance(spec, str) else spec["name"]


def training_minutes(run):
    """Wall-clock minutes of training, from the run's history.csv (None if absent)."""
    if not run.history_path.exists():
        return None
    rows = run.history_path.read_text().strip().splitlines()
    return round(float(rows[-1].split(",")[1]) / 60, 1) if len(rows) > 1 else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--samples", type=int, default=2000, help="random images for the plausibility figure")
    parser.add_argument("--bases", type=int, default=100, help="random settings of the other knobs per sweep")
    parser.add_argument("--values", type=int, default=21, help="knob values per sweep")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="write the result into BENCHMARKS.md")
    args = parser.parse_args(argv)

    run = RunDirectory(args.run_dir)
    model = load_model(run.path)
    rng = np.random.RandomState(args.seed)
    area_range = real_area_range(model.resolution)
    images = generate(model, rng.uniform(-1, 1, (args.samples, model.layout.latent_dim)).astype(np.float32))
    result = {
        "run_dir": str(run.path),
        "steps": (run.status() or {}).get("step"),
        "training_minutes": training_minutes(run),
        "real_area_range": area_range,
        "plausible_fraction": plausible_fraction(images, area_range),
        "failures": failure_reasons(images, area_range),
    }
    data = DSprites(resolution=model.resolution)
    real = data.sample_observations_from_factors(data.sample_factors(args.samples, rng)).astype(np.float32)
    (result["correlations"], result["correlation_table"], result["reach"],
     result["plausible_along_sweep"]) = knob_correlations(model, args.bases, args.values, rng, real, area_range)
    result["proxy_percentiles"] = proxy_percentiles(model, images, real)
    if args.write:
        import shutil

        from report import update_section

        figure = pathlib.Path(__file__).resolve().parent / "figures" / "dsprites_traversal.png"
        figure.parent.mkdir(exist_ok=True)
        shutil.copyfile(run.traversal_path, figure)

        rows = "\n".join(f"| `{name}` (`{guidance_name(model, name)}`) | **{r:+.3f}** | "
                         f"{100 * result['reach'][name]:+.0f} % | "
                         f"{result['proxy_percentiles'][name]['generated']} | "
                         f"{result['proxy_percentiles'][name]['real']} |" for name, r in result["correlations"].items())
        ends = "\n".join(f"| `{name}` | {100 * row[0]:.0f} % | {100 * row[len(row) // 2]:.0f} % | "
                         f"{100 * row[-1]:.0f} % | {100 * min(row):.0f} % |"
                         for name, row in result["plausible_along_sweep"].items())
        table = "\n".join(f"| `{name}` | " + " | ".join(f"{r:+.2f}" for r in row.values()) + " |"
                          for name, row in result["correlation_table"].items())
        failures = ", ".join(f"{key.replace('_', ' ')} {100 * value:.1f} %" for key, value in result["failures"].items())
        update_section("knob_control", (
            f"## Knob control on dSprites (`benchmarks/knob_control.py`)\n\n"
            f"Command: `python benchmarks/knob_control.py --run-dir {args.run_dir} --write` "
            f"on a run of {result['steps']} steps ({result['training_minutes']} minutes of training on 2 cores).\n\n"
            f"Plausible sprites (one object, area within the real range {area_range[0]}-{area_range[1]} px): "
            f"**{100 * result['plausible_fraction']:.1f} %** of {args.samples} random images (target >= 90 %). "
            f"Not plausible: {failures}.\n\n"
            f"| guided knob (its guidance) | Pearson r(knob value, own guidance proxy) (target abs >= 0.9) "
            f"| reach: proxy change over the sweep, share of the real 1st-99th percentile range "
            f"| proxy 1st/50th/99th percentile, generated | same, real images |\n|---|---|---|---|---|\n{rows}\n\n"
            f"Plausible sprites along each sweep (the knob at -1, 0 and +1 with the other knobs "
            f"random, and the lowest over the {args.values} values):\n\n"
            f"| knob | at -1 | at 0 | at +1 | lowest |\n|---|---|---|---|---|\n{ends}\n\n"
            f"Every guided knob against every sprite proxy (Pearson r over the same sweeps; a "
            f"disentangled knob moves its own variation and leaves the others alone):\n\n"
            f"| knob | " + " | ".join(f"`{p}`" for p in SPRITE_PROXIES) + " |\n"
            f"|---|" + "---|" * len(SPRITE_PROXIES) + f"\n{table}\n\n"
            f"Traversal grid of that run (one row per knob, -1 to 1, the others fixed):\n\n"
            f"![traversal](benchmarks/figures/dsprites_traversal.png)\n"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
