"""Inversion and editing (udgan_tf.inversion, udgan_tf.editing, udgan_tf.edit): the knob encoder
of a tiny run, model.invert / model.edit, the edit command, reading image files, and the
invert / edit signatures of the export over the gRPC stand-in."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from serving_fakes import SavedModelPredictionServicer, replay_warmup, serve
from udgan_tf import editing
from udgan_tf.editing import encoder_training
from udgan_tf import config as config_lib
from udgan_tf import edit as edit_cli
from udgan_tf import export, inversion, train
from udgan_tf.editing import EditingError, ImageError, apply_edit, load_editor, read_image
from udgan_tf.knobs import UnknownKnobError
from udgan_tf.serving import client as client_cli

KNOBS = [{"name": "free", "count": 2}, {"name": "x", "guidance": "center_of_mass_x"}]
NAMES = ["free_1", "free_2", "x"]
ENCODER = {"steps": 300, "log_every": 50, "backup_every": 100, "filters": 8}
#: predicting 0 for every knob drawn from Unif(-1, 1) has mean squared error 1/3
CHANCE_ERROR = 1 / 3


def tiny_config(steps):
    return config_lib.resolve_config({
        "dataset": {"name": "dsprites"},
        "model": {"resolution": 16, "filters": 8, "seed": 1, "knobs": KNOBS},
        "training": {"steps": steps, "batch_size": 8, "log_every": 50, "checkpoint_every": 100,
                     "backup_every_steps": 100, "image_every": 1000, "traversal_values": 3}})


# A generator trained for a few steps draws images that barely depend on z (all about 0.5):
# 200 steps make them depend on it enough for an encoder to learn. About a minute on 2 cores.
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("inversion") / "run"
    train.train(tiny_config(200), path, verbose=0)
    encoder_training.train_encoder(path, verbose=0, **ENCODER)
    return path


@pytest.fixture(scope="module")
def editor(run_dir):
    return load_editor(run_dir)


@pytest.fixture(scope="module")
def model(editor):
    return editor.model


def generated(model, count=128, seed=5):
    knobs = np.random.RandomState(seed).uniform(-1, 1, (count, model.layout.latent_dim)).astype(np.float32)
    return knobs, np.asarray(model(knobs))


def png(image_array=None, mode="L", size=(16, 16)):
    image = Image.fromarray(image_array) if image_array is not None else Image.new(mode, size, 0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.slow
def test_the_encoder_recovers_the_knobs_of_generated_images_far_better_than_chance(model, editor):
    knobs, images = generated(model)
    error = float(np.mean((editor.invert(images) - knobs) ** 2))
    assert error < CHANCE_ERROR / 3, error            # measured about 0.03
    refined = editor.invert(images[:16], refine_steps=100, restarts=2)
    assert np.mean((refined - knobs[:16]) ** 2) < np.mean((editor.invert(images[:16]) - knobs[:16]) ** 2)
    assert refined.shape == (16, 3) and np.all(np.abs(refined) < 1)


@pytest.mark.slow
def test_edit_changes_only_the_named_knob(model, editor):
    _, images = generated(model, count=4)
    recovered = editor.invert(images)
    edited = apply_edit(model.layout, recovered, {"x": 0.5})
    np.testing.assert_array_equal(edited[:, :2], recovered[:, :2])
    np.testing.assert_allclose(edited[:, 2], np.clip(recovered[:, 2] + 0.5, -1, 1), atol=1e-6)
    np.testing.assert_allclose(apply_edit(model.layout, recovered, values={"free_1": -0.25})[:, 0], -0.25)
    np.testing.assert_allclose(editor.edit(images, {"x": 0.5}), np.asarray(model(edited)), atol=1e-5)
    with pytest.raises(UnknownKnobError, match="Unknown knob 'size'. This model's knobs: free_1, free_2, x"):
        editor.edit(images, {"size": 0.5})
    with pytest.raises(EditingError, match=r"images must have shape \[batch, 16, 16, 1\]"):
        editor.invert(images[..., :8, :])


@pytest.mark.slow
def test_invert_without_an_encoder_says_how_to_train_one(tmp_path):
    train.train(tiny_config(2), tmp_path / "bare", verbose=0)
    bare = load_editor(tmp_path / "bare")
    with pytest.raises(EditingError, match="train one with python -m udgan_tf.inversion --run-dir"):
        bare.invert(np.zeros((1, 16, 16, 1), np.float32))


@pytest.mark.slow
def test_the_encoder_training_resumes_after_a_kill_and_refuses_other_settings(tmp_path, monkeypatch, capsys):
    path = tmp_path / "run"
    train.train(tiny_config(2), path, verbose=0)
    original = encoder_training.EncoderMonitor.on_epoch_end

    def killed_at_step_100(self, epoch, logs=None):
        if self.step >= 100:
            self.stop_requested = True          # what the SIGTERM handler sets
        original(self, epoch, logs)

    monkeypatch.setattr(encoder_training.EncoderMonitor, "on_epoch_end", killed_at_step_100)
    settings = {"steps": 200, "log_every": 50, "backup_every": 100, "filters": 8}
    with pytest.raises(encoder_training.InversionPreempted, match="rerun the same command to resume"):
        encoder_training.train_encoder(path, verbose=0, **settings)
    monkeypatch.setattr(encoder_training.EncoderMonitor, "on_epoch_end", original)
    with pytest.raises(encoder_training.InversionError, match="other settings"):
        encoder_training.train_encoder(path, verbose=0, **{**settings, "steps": 300})
    encoder_training.train_encoder(path, verbose=0, **settings)
    assert "Resumed the encoder training from step 100" in capsys.readouterr().out
    rows = (path / "inversion" / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["50", "100", "150", "200"]
    assert load_editor(path).encoder is not None
    assert inversion.main(["--run-dir", str(path), "--steps", "200"]) == 2
    assert "already holds a trained encoder; pass --overwrite" in capsys.readouterr().err


def test_the_inversion_command_refuses_bad_options(tmp_path, capsys):
    assert inversion.main(["--run-dir", str(tmp_path), "--steps", "0"]) == 2
    assert "--steps must be a positive number. Received: 0" in capsys.readouterr().err
    assert inversion.main(["--run-dir", str(tmp_path / "none")]) == 2
    assert "is not a run directory" in capsys.readouterr().err


@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty"),
    (b"GIF89a not really", "The file is not an image this can read"),
    (b"%PDF-1.4 hello", "The file is not an image this can read"),
    (png(np.random.RandomState(0).randint(0, 255, (16, 16), dtype=np.uint8))[:100],
     "The image file is damaged and cannot be read (image file is truncated)"),
    (png(mode="L", size=(4000, 4000)), "The image is 4000x4000 pixels; the limit is"),
    (png(mode="RGB"), "The model draws grayscale (1 channel) images; this image is colour (3 channels)"),
])
def test_a_bad_image_file_is_refused_with_a_message_naming_the_problem(data, message):
    with pytest.raises(ImageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_image(data, 16, 1)


def test_an_image_is_cropped_to_a_square_and_resized_to_the_model():
    pixels = np.zeros((40, 80), np.uint8)
    pixels[:, 20:60] = 255                        # the centre square is white, the sides black
    image = read_image(png(pixels), 16, 1)
    assert image.shape == (16, 16, 1) and image.dtype == np.float32
    np.testing.assert_allclose(image, 1.0)
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 1] = 255
    assert read_image(png(rgba), 4, 3)[..., 1].min() == 1.0     # alpha dropped
    with pytest.raises(ImageError, match="colour"):
        read_image(png(rgba), 4, 1)


@pytest.mark.slow
def test_the_edit_command_writes_input_reconstruction_and_edits(run_dir, model, tmp_path, capsys):
    _, images = generated(model, count=1)
    source = tmp_path / "in.png"
    source.write_bytes(png(np.round(images[0, ..., 0] * 255).astype(np.uint8)))
    out = tmp_path / "out.png"
    argv = ["--run-dir", str(run_dir), "--image", str(source), "--refine-steps", "20", "--restarts", "2"]
    assert edit_cli.main([*argv, "--knob", "x=+0.5", "--knob", "free_1=0.2", "--out", str(out)]) == 0
    assert "input, reconstruction, 1 edited" in capsys.readouterr().out
    assert Image.open(out).size == (3 * 256 + 2 * 16, 256)           # three 16 px images upscaled 16x, gaps
    assert edit_cli.main([*argv, "--traverse", "x", "--values", "5", "--out", str(out)]) == 0
    assert Image.open(out).size[0] == 7 * 256 + 6 * 16
    for bad, message in ((["--knob", "x=big"], "--knob takes NAME=+DELTA"),
                         (["--knob", "size=+0.5"], "Unknown knob 'size'"),
                         (["--traverse", "size"], "Unknown knob 'size'")):
        assert edit_cli.main([*argv, *bad, "--out", str(out)]) == 2
        assert message in capsys.readouterr().err
    source.write_bytes(b"")
    assert edit_cli.main([*argv, "--out", str(out)]) == 2
    assert "The file is empty" in capsys.readouterr().err


@pytest.mark.slow
def test_the_export_serves_invert_and_edit_and_refuses_bad_requests(run_dir, model, tmp_path, capsys, editor):
    assert export.main(["--run-dir", str(run_dir), "--export-base", str(tmp_path), "--model-name", "udgan",
                        "--max-batch-size", "8"]) == 0
    assert "invert, edit" in capsys.readouterr().out
    version = tmp_path / "udgan" / "1"
    assert json.loads((version / "assets.extra" / "knobs.json").read_text())["signatures"][-2:] == ["invert", "edit"]
    # TF Serving replays the warm-up records at load time: one per signature, invert and edit too.
    assert replay_warmup(version, SavedModelPredictionServicer(version, "udgan")) == 7
    server, port = serve(version, "udgan")
    try:
        with client_cli.GrpcClient(f"localhost:{port}", "udgan", timeout=30.0) as client:
            _, images = generated(model, count=4)
            knobs, reconstruction = client.invert(images)
            np.testing.assert_allclose(knobs, editor.invert(images), atol=1e-4)
            np.testing.assert_allclose(reconstruction, np.asarray(model(knobs)), atol=1e-4)
            deltas = {"free_1": np.zeros((4, 1), np.float32), "free_2": np.zeros((4, 1), np.float32),
                      "x": np.full((4, 1), 0.5, np.float32)}
            np.testing.assert_allclose(client.edit(images, **deltas), editor.edit(images, {"x": 0.5}), atol=1e-4)
            bad = [(lambda: client.invert(np.full((1, 16, 16, 1), np.nan, np.float32)), "NaN or infinite"),
                   (lambda: client.invert(np.zeros((1, 8, 8, 1), np.float32)), "images must have shape"),
                   (lambda: client.invert(np.zeros((9, 16, 16, 1), np.float32)), "max_batch_size 8"),
                   (lambda: client.edit(images, **{**deltas, "x": np.zeros((3, 1), np.float32)}),
                    "x must have one row per image")]
            for request, message in bad:
                with pytest.raises(client_cli.ServingError) as error:
                    request()
                assert "INVALID_ARGUMENT" in str(error.value) and message in str(error.value)
            assert client.invert(images)[0].shape == (4, 3)          # still serving
            # The client command line: --image edits that image on the server.
            source, out = tmp_path / "in.png", tmp_path / "out.png"
            source.write_bytes(png(np.round(images[0, ..., 0] * 255).astype(np.uint8)))
            argv = ["--server", f"localhost:{port}", "--model", "udgan", "--image", str(source), "--out", str(out)]
            assert client_cli.main([*argv, "--knob", "x=+0.5"]) == 0 and Image.open(out).size == (256, 256)
            source.write_bytes(png(mode="RGB"))
            assert client_cli.main(argv) == 2
            assert "--image" in capsys.readouterr().err
    finally:
        server.stop(None)


@pytest.mark.slow
def test_a_run_without_an_encoder_exports_without_invert_and_says_so(tmp_path, capsys):
    train.train(tiny_config(2), tmp_path / "bare", verbose=0)
    assert export.main(["--run-dir", str(tmp_path / "bare"), "--export-base", str(tmp_path / "e"),
                        "--model-name", "m"]) == 0
    out = capsys.readouterr().out
    assert "invert and edit are not exported. Train one with python -m udgan_tf.inversion" in out
    assert "invert" not in json.loads((tmp_path / "e" / "m" / "1" / "assets.extra" / "knobs.json").read_text())[
        "signatures"]


def test_colour_images_invert_with_the_squared_error():
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((3,)), keras.layers.Dense(16 * 16 * 3, activation="sigmoid"),
                                  keras.layers.Reshape((16, 16, 3))])
    generator.layers[0].kernel.assign(3 * generator.layers[0].kernel)     # images that depend on z
    assert editing.encoder.likelihood_of(3) == "l2" and editing.encoder.likelihood_of(1) == "bernoulli"
    encoder = editing.encoder.KnobEncoder(3, resolution=16, channels=3, filters=8)
    training = encoder_training.EncoderTraining(generator, encoder, batch_size=32, likelihood="l2")
    training.compile(optimizer=keras.optimizers.Adam(1e-3))
    training.fit(tf.data.Dataset.from_tensors(0).repeat(), epochs=1, steps_per_epoch=300, verbose=0,
                 shuffle=False)
    knobs = np.random.RandomState(1).uniform(-1, 1, (64, 3)).astype(np.float32)
    images = np.asarray(generator(knobs))
    encoded = np.asarray(encoder(images))
    assert np.mean((encoded - knobs) ** 2) < CHANCE_ERROR / 3
    refined = editing.refinement.refine(generator, images, encoded, steps=50, restarts=2, likelihood="l2")
    assert np.mean((refined - knobs) ** 2) < np.mean((encoded - knobs) ** 2)
