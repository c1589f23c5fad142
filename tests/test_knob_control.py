"""The knob-control measures: plausible sprites, r and reach of each guided knob."""

import numpy as np
import pytest

from udgan_tf.data import DSprites
from udgan_tf.evaluation import knob_control
from udgan_tf.knobs import KnobLayout, parse_knobs


class SpriteDrawer:
    """A stand-in generator: knob ``x`` sets the real sprite's x position, ``other`` its y position.

    With ``collapsed`` it draws one fixed sprite and the knob moves a single stray pixel, the
    failure that fooled r alone (BENCHMARKS.md, ablation row B).
    """

    resolution = 32

    def __init__(self, collapsed=False):
        self.layout = KnobLayout(parse_knobs([{"name": "other"}, {"name": "x", "guidance": "center_of_mass_x"}]))
        self.knobs = self.layout.knobs
        self.collapsed = collapsed
        self.data = DSprites(resolution=self.resolution)

    def __call__(self, knobs):
        knobs = np.asarray(knobs)
        position, other = (np.rint((knobs[:, k] + 1) / 2 * 31).astype(int) for k in (1, 0))
        factors = np.stack([np.ones_like(position), np.full_like(position, 3), np.zeros_like(position),
                            np.full_like(position, 16) if self.collapsed else position, other], 1)
        images = self.data.sample_observations_from_factors(factors).astype(np.float32)
        if self.collapsed:
            images[np.arange(len(images)), 0, np.clip(position, 0, self.resolution - 1), 0] = 1.0
        return images


def test_real_sprites_are_plausible_and_noise_or_blank_images_are_not():
    data = DSprites(resolution=32)
    rng = np.random.RandomState(0)
    real = data.sample_observations_from_factors(data.sample_factors(200, rng))
    area_range = knob_control.real_area_range(32)
    assert knob_control.plausible_fraction(real, area_range) == 1.0
    noise = (rng.uniform(size=(50, 32, 32, 1)) > 0.8).astype(np.float32)
    assert knob_control.plausible_fraction(noise, area_range) == 0.0
    assert knob_control.failure_reasons(np.zeros((4, 32, 32, 1)), area_range)["too_small"] == 1.0


def test_a_knob_that_moves_the_sprite_has_high_r_and_reach_and_a_collapsed_one_has_no_reach():
    data = DSprites(resolution=32)
    working = knob_control.knob_control_measures(SpriteDrawer(), data, samples=200, bases=10, values=11)
    assert working["correlations"]["x"] > 0.99 and working["reach"]["x"] > 0.8
    assert working["plausible_fraction"] == 1.0 and min(working["plausible_along_sweep"]["x"]) == 1.0
    assert abs(working["correlation_table"]["x"]["center_of_mass_y"]) < 0.2   # leaves y alone
    assert set(working["correlations"]) == {"x"}                                # unguided knobs have no proxy

    collapsed = knob_control.knob_control_measures(SpriteDrawer(collapsed=True), data, samples=200, bases=10,
                                                   values=11)
    assert collapsed["correlations"]["x"] > 0.9          # r alone is fooled by one stray pixel ...
    assert collapsed["reach"]["x"] < 0.15                # ... the reach is not


def test_knob_control_needs_dsprites():
    from udgan_tf.data import MNIST

    with pytest.raises(ValueError, match="knob_control measures sprites: it needs a dsprites run"):
        knob_control.knob_control_measures(SpriteDrawer(), MNIST.__new__(MNIST))
