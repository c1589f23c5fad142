"""Training the knob encoder E on a trained generator's own samples.

The encoder E (``KnobEncoder``) learns knobs ``z ~ Unif(-1, 1)^Z`` from ``G(z)`` (no labels):
the loss is ``mean (E(G(z)) - z)^2 + reconstruction_weight * rec(G(E(G(z))), G(z))`` with G
frozen (the inference generator: the weight average when the run keeps one). ``rec`` is the
binary cross-entropy for 1-channel data (dSprites and MNIST are binary or nearly so) and the
squared error for colour (``udgan_tf.editing.encoder``).

``train_encoder`` (the command ``python -m udgan_tf.inversion --run-dir DIR``) trains E into
``DIR/inversion/`` (progress bar, ``history.csv``, a backup every ``backup_every`` steps:
rerunning the same command after a kill continues from it); ``load_encoder`` reads it back,
and ``udgan_tf.editing.load_editor`` gives it to a ``KnobEditor``.
"""

import json

import keras
import tensorflow as tf

from udgan_tf.editing.encoder import KnobEncoder, likelihood_of, reconstruction_error
from udgan_tf.exit_codes import Preempted
from udgan_tf.models import load_model
from udgan_tf.models.sampler_states import SavesSamplerStates
from udgan_tf.runs import RunDirectory, append_text, atomic_write_text, save_weights, truncate_rows, writing
from udgan_tf.training.preemption import stop_on_sigterm

#: The encoder's training settings; ``inversion/config.json`` keeps them, a resume must match.
DEFAULTS = {"steps": 3000, "batch_size": 64, "filters": 32, "learning_rate": 1e-3, "reconstruction_weight": 1.0,
            "seed": 0, "log_every": 100, "backup_every": 500}


class InversionError(ValueError):
    """An inversion that cannot run; the message names the problem and the fix."""


class EncoderTraining(SavesSamplerStates, keras.Model):
    """Fits a ``KnobEncoder`` to a frozen generator (``generator``: knobs ``[B, Z]`` -> images).
    ``fit`` takes no data: every step draws ``batch_size`` fresh knobs. Logs ``loss``,
    ``knob_error`` (the mean squared knob error) and ``reconstruction``."""

    def __init__(self, generator, encoder, batch_size=64, reconstruction_weight=1.0, likelihood="bernoulli",
                 seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.encoder = generator, encoder     # only the encoder's variables are trained
        self.batch_size, self.reconstruction_weight, self.likelihood = batch_size, reconstruction_weight, likelihood
        self.seed_generator = keras.random.SeedGenerator(seed, name="inversion_sampler")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "knob_error", "reconstruction")}
        self.built = True     # both networks are built; fit takes no inputs to build it from

    @property
    def metrics(self):
        return list(self.trackers.values())

    def samplers(self):
        return {"inversion_sampler_state": self.seed_generator}

    def train_step(self, data):
        knobs = keras.random.uniform((self.batch_size, self.encoder.latent_dim), -1.0, 1.0, seed=self.seed_generator)
        images = tf.stop_gradient(self.generator(knobs, training=False))
        with tf.GradientTape() as tape:
            recovered = self.encoder(images, training=True)
            knob_error = tf.reduce_mean(tf.square(recovered - knobs))
            reconstruction = tf.reduce_mean(reconstruction_error(self.generator(recovered, training=False), images,
                                                                 self.likelihood))
            loss = knob_error + self.reconstruction_weight * reconstruction
        variables = self.encoder.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        for name, value in (("loss", loss), ("knob_error", knob_error), ("reconstruction", reconstruction)):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


class InversionDirectory:
    """``<run>/inversion/``: ``config.json``, ``encoder.weights.h5`` (the finished encoder),
    ``backup.weights.h5`` (encoder, optimizer and sampler mid-training), ``history.csv``,
    ``status.json``."""

    def __init__(self, run_dir):
        self.run = RunDirectory(run_dir)
        self.path = self.run.path / "inversion"
        self.config_path = self.path / "config.json"
        self.encoder_path = self.path / "encoder.weights.h5"
        self.backup_path = self.path / "backup.weights.h5"
        self.history_path = self.path / "history.csv"
        self.status_path = self.path / "status.json"

    def read(self, name):
        path = self.path / name
        return json.loads(path.read_text()) if path.exists() else None

    def finished(self):
        return (self.read("status.json") or {}).get("status") == "finished" and self.encoder_path.exists()


def load_encoder(run_dir, model):
    """The run's trained ``KnobEncoder`` for ``model``, or None when it has none."""
    directory = InversionDirectory(run_dir)
    if not directory.finished():
        return None
    settings = directory.read("config.json")
    encoder = KnobEncoder(model.layout.latent_dim, model.resolution, model.channels, settings["filters"])
    encoder.load_weights(directory.encoder_path)
    return encoder


class EncoderMonitor(keras.callbacks.Callback):
    """History rows and backups keyed by the step; a SIGTERM stops after the current step."""

    def __init__(self, directory, settings):
        super().__init__()
        self.directory, self.settings = directory, settings
        self.stop_requested = False

    @property
    def step(self):
        return int(self.model.optimizer.iterations.numpy())

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        header = "" if self.directory.history_path.exists() else "step," + ",".join(sorted(logs)) + "\n"
        append_text(self.directory.history_path,
                    header + f"{self.step}," + ",".join(f"{logs[k]:.6g}" for k in sorted(logs)) + "\n")
        if self.step % self.settings["backup_every"] < self.settings["log_every"] or self.stop_requested:
            save_weights(self.directory.backup_path, self.model)
            atomic_write_text(self.directory.status_path, json.dumps({"status": "running", "step": self.step}))
        if self.stop_requested:
            self.model.stop_training = True


def train_encoder(run_dir, overwrite=False, verbose="auto", **options):
    """Trains the run's knob encoder (see the module docstring). ``options`` override
    ``DEFAULTS``. Returns the trained ``KnobEncoder``.

    Raises:
        InversionError: an unknown option, a finished encoder without ``overwrite``, or an
            unfinished one of other settings.
        RunDirectoryError: no run or no checkpoint.
    """
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise InversionError(f"Unknown inversion option(s) {unknown}. Known: {sorted(DEFAULTS)}.")
    settings = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    for key, value in settings.items():
        may_be_zero = key in ("reconstruction_weight", "seed")
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or value < 0 or (value == 0 and not may_be_zero):
            what = "a number >= 0" if may_be_zero else "a positive number"
            raise InversionError(f"--{key.replace('_', '-')} must be {what}. Received: {value!r}")
    model = load_model(run_dir)
    directory = InversionDirectory(run_dir)
    if directory.finished() and not overwrite:
        raise InversionError(f"{directory.path} already holds a trained encoder; pass --overwrite to train "
                             "another.")
    saved = directory.read("config.json")
    resume = not overwrite and directory.backup_path.exists() and saved is not None
    if resume and saved != settings:
        raise InversionError(f"{directory.path} holds an unfinished encoder training with other settings "
                             f"({saved}); rerun with those, or pass --overwrite to start again.")
    keras.utils.set_random_seed(settings["seed"])
    encoder = KnobEncoder(model.layout.latent_dim, model.resolution, model.channels, settings["filters"])
    trainer = EncoderTraining(model.inference_generator, encoder, settings["batch_size"],
                              settings["reconstruction_weight"], likelihood_of(model.channels), settings["seed"])
    trainer.compile(optimizer=keras.optimizers.Adam(settings["learning_rate"]))
    trainer.optimizer.build(encoder.trainable_variables)
    step = 0
    if resume:
        trainer.load_weights(directory.backup_path)
        step = int(trainer.optimizer.iterations.numpy())
        print(f"Resumed the encoder training from step {step}", flush=True)
        truncate_rows(directory.history_path, step)
    else:
        with writing(directory.path):
            if directory.path.exists():
                for child in directory.path.iterdir():
                    child.unlink()
            directory.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(directory.config_path, json.dumps(settings, indent=2))
    monitor = EncoderMonitor(directory, settings)
    every = settings["log_every"]
    dummy = tf.data.Dataset.from_tensors(0).repeat()     # train_step draws its own knobs
    with stop_on_sigterm(monitor):
        if step < settings["steps"]:
            trainer.fit(dummy, initial_epoch=step // every, epochs=-(-settings["steps"] // every),
                        steps_per_epoch=every, callbacks=[monitor], verbose=verbose, shuffle=False)
    if monitor.stop_requested:
        raise InversionPreempted(f"Encoder training stopped at step {monitor.step} (SIGTERM); rerun the same "
                                 "command to resume.")
    save_weights(directory.encoder_path, encoder)
    atomic_write_text(directory.status_path, json.dumps({"status": "finished", "step": monitor.step}))
    return encoder


class InversionPreempted(Preempted):
    """A SIGTERM stopped the encoder's training; its backup is on disk."""
