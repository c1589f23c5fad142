import numpy as np
import pytest

from udgan_tf.knobs import KnobLayout, parse_knobs
from udgan_tf.models import load_model
from udgan_tf.runs import RunDirectory, RunDirectoryError, atomic_write, atomic_write_text
from udgan_tf.evaluation.traversal import tile, traversal_latents


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "ckpt.weights.h5"
    atomic_write_text(target, "good")

    def crash(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, crash)
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.weights.h5"]  # no temporary left behind


def test_load_model_without_checkpoint_says_how_to_fix_it(tmp_path):
    run = RunDirectory(tmp_path)
    with pytest.raises(RunDirectoryError, match="is not a run directory: config.yaml is missing"):
        load_model(tmp_path)
    run.write_config({"model": {"knobs": [{"name": "a"}], "resolution": 16, "filters": 8}})
    with pytest.raises(RunDirectoryError, match="has no checkpoint"):
        load_model(tmp_path)


def test_traversal_latents_sweep_one_knob_per_row():
    layout = KnobLayout(parse_knobs([{"name": "a"}, {"name": "b", "width": 2}]))
    base = np.array([0.1, 0.2, 0.3], np.float32)
    latents = traversal_latents(layout, base, num_values=3)
    assert latents.shape == (6, 3)
    np.testing.assert_allclose(latents[:3], [[-1, 0.2, 0.3], [0, 0.2, 0.3], [1, 0.2, 0.3]])
    np.testing.assert_allclose(latents[3:], [[0.1, -1, -1], [0.1, 0, 0], [0.1, 1, 1]])


def test_tile_lays_out_rows_and_columns_with_gaps():
    grid = np.zeros((2, 3, 4, 4, 1), np.float32)
    grid[1, 2] = 0.5
    image = tile(grid, padding=2)
    assert image.shape == (2 * 6 - 2, 3 * 6 - 2, 1)
    assert image[6:10, 12:16].min() == 0.5 and image[4, 0, 0] == 1.0  # gap rows are white
