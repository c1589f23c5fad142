"""Do the generator's images look like sprites, and do the guided knobs move them?

Measured on generated images of a trained dSprites run (``python -m udgan_tf.evaluate
--metrics knob_control``):

* plausible: the fraction of images that hold one object (the largest 8-connected
  component of the pixels > 0.5 holds at least 90 % of them, so scattered noise does
  not count) whose area lies within the range of areas of real dSprites images (every
  shape, scale and orientation);
* for each guided knob with a scalar guidance: the Pearson correlation between the
  knob's value, swept over -1..1 with the other knobs random, and the knob's own
  guidance proxy (e.g. centre of mass x) computed on the generated image; and the knob's
  *reach*, how far the sweep moves that proxy as a share of its range on real images
  (r is blind to scale: knobs that only move stray pixels can still correlate perfectly);
* the plausible fraction along each sweep, every guided knob against every sprite proxy,
  and percentiles of each proxy on generated and real images.
"""

import numpy as np

from udgan_tf import guidance
from udgan_tf.data import DSprites
from udgan_tf.evaluation.generator_measures import generate
from udgan_tf.knobs import VALUE_RANGE

#: Scalar proxies every guided knob is also correlated with, to show which variation
#: each knob moves (the diagonal) and which it leaves alone (the rest).
SPRITE_PROXIES = ("center_of_mass_x", "center_of_mass_y", "object_size", "object_area")


def real_area_range(resolution):
    """(min, max) object area in pixels over every shape, scale and orientation of dSprites."""
    data = DSprites(resolution=resolution)
    grid = np.stack(np.meshgrid(range(3), range(6), range(40), indexing="ij"), -1).reshape(-1, 3)
    factors = np.concatenate([grid, np.full((len(grid), 2), 16)], axis=1)
    areas = (data.sample_observations_from_factors(factors) > 0.5).sum(axis=(1, 2, 3))
    return int(areas.min()), int(areas.max())


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
    """Share of plausible sprites among ``images [N, H, W, C]``."""
    return float(np.mean([is_plausible_sprite(image, area_range) for image in images]))


def failure_reasons(images, area_range, min_share=0.9):
    """Fractions of images whose lit area is below / above the real range, or whose
    largest object holds less than ``min_share`` of the lit pixels (in pieces)."""
    areas, shares = np.array([object_stats(image) for image in images]).T
    return {"too_small": float(np.mean(areas < area_range[0])), "too_large": float(np.mean(areas > area_range[1])),
            "in_pieces": float(np.mean(shares < min_share))}


def scalar(proxy, images):
    """``proxy(images)`` as ``[N]`` when the proxy is a scalar per image, else None."""
    values = np.asarray(proxy(images))
    return values[:, 0] if values.ndim == 2 and values.shape[1] == 1 else None


def proxy_percentiles(knobs, generated, real):
    """1st/50th/99th percentiles of each guided knob's scalar proxy on generated and real images."""
    result = {}
    for knob in knobs:
        if knob.guided:
            proxy = guidance.build(knob.guidance)
            values = {name: scalar(proxy, images) for name, images in (("generated", generated), ("real", real))}
            if values["real"] is not None:
                result[knob.name] = {name: np.percentile(v, [1, 50, 99]).round(4).tolist()
                                     for name, v in values.items()}
    return result


def knob_sweeps(model, num_bases, num_values, rng, real, area_range):
    """How each guided knob moves proxies of G's image when it sweeps -1..1.

    Args:
        model: a ``UDGAN``.
        num_bases: int. Random settings of the other knobs per sweep.
        num_values: int. Knob values per sweep.
        rng: ``np.random.RandomState``.
        real: real images ``[N, R, R, C]``, for the real range of each proxy.
        area_range: ``real_area_range`` of the resolution.

    Returns:
        ``(own, table, reach, plausible)``: ``own[knob]`` is Pearson r between the knob's value
        and its own guidance proxy; ``table[knob][proxy]`` r with each of ``SPRITE_PROXIES``;
        ``reach[knob]`` how far the sweep moves the own proxy (least squares slope times 2)
        as a share of the proxy's 1st-99th percentile range on real images;
        ``plausible[knob]`` the plausible fraction at each swept value, ``[num_values]``.
    """
    own, table, reach, plausible = {}, {}, {}, {}
    values = np.linspace(*VALUE_RANGE, num_values, dtype=np.float32)
    for knob, piece in zip(model.knobs, model.layout.latent_slices):
        if not knob.guided:
            continue
        latents = np.repeat(rng.uniform(*VALUE_RANGE, (num_bases, model.layout.latent_dim)).astype(np.float32),
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


def knob_control_measures(model, data, samples=2000, bases=100, values=21, seed=0):
    """Every knob-control figure of a dSprites model (see the module docstring).

    Args:
        model: a ``UDGAN`` trained on dSprites.
        data: the run's ``DSprites``.
        samples: int. Random images for the plausible fraction (and real images for the ranges).
        bases, values: ints. Sweeps per guided knob and knob values per sweep.
        seed: int.

    Returns:
        dict with ``real_area_range``, ``plausible_fraction``, ``failures``, ``correlations``
        (own proxy r per guided knob), ``correlation_table``, ``reach``,
        ``plausible_along_sweep``, ``proxy_percentiles``, ``guidance`` (guidance name per
        guided knob) and the sizes used.
    """
    if not isinstance(data, DSprites):
        raise ValueError(f"knob_control measures sprites: it needs a dsprites run, not {type(data).__name__}.")
    rng = np.random.RandomState(seed)
    area_range = real_area_range(model.resolution)
    images = generate(model, rng.uniform(*VALUE_RANGE, (samples, model.layout.latent_dim)).astype(np.float32))
    result = {"samples": samples, "bases": bases, "values": values, "real_area_range": area_range,
              "plausible_fraction": plausible_fraction(images, area_range),
              "failures": failure_reasons(images, area_range)}
    real = data.sample_observations_from_factors(data.sample_factors(samples, rng)).astype(np.float32)
    (result["correlations"], result["correlation_table"], result["reach"],
     result["plausible_along_sweep"]) = knob_sweeps(model, bases, values, rng, real, area_range)
    result["proxy_percentiles"] = proxy_percentiles(model.knobs, images, real)
    result["guidance"] = {knob.name: guidance_name(knob.guidance) for knob in model.knobs if knob.guided}
    return result


def guidance_name(spec):
    """The registered name of a guidance spec (a str, or a mapping with ``name``)."""
    return spec if isinstance(spec, str) else spec["name"]
