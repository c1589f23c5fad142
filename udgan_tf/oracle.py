"""An oracle: a CNN trained on real images to read every ground-truth factor back.

The paper scores only the siamese embedding of real images. For UD-GAN-G that score
is high by construction (a guidance proxy of a real image encodes position and size
even when the generator learned nothing), so the package also scores the
*generator*: the oracle, trained where labels are free (dSprites, coloured MNIST),
reads the factors of generated images, and its penultimate features give a Fréchet
distance between generated and real images (see ``udgan_tf.evaluation``).

    oracle = train_oracle(DSprites(), steps=3000)
    factors = oracle.predict_factors(images)       # int [N, num_factors]
    features = oracle.features(images)             # float32 [N, 256]
"""

import hashlib
import json
import os
import pathlib

import keras
import numpy as np
import tensorflow as tf

FEATURE_UNITS = 256


@keras.saving.register_keras_serializable("udgan_tf")
class FactorOracle(keras.Model):
    """Strided convolutions over the image and two coordinate channels (CoordConv), plus
    the image's row and column profiles, into one dense feature layer; one softmax
    head per factor.

    No global pooling: the coordinates, the flattened feature map and the profiles
    keep where things are, which the position factors need to the pixel.
    """

    def __init__(self, factor_sizes, resolution, channels, filters=32, **kwargs):
        super().__init__(**kwargs)
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        self.resolution, self.channels, self.filters = resolution, channels, filters
        self.convolutions = keras.Sequential([
            keras.layers.Conv2D(filters, 4, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(2 * filters, 4, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(2 * filters, 4, strides=2, padding="same", activation="relu"),
            keras.layers.Flatten(),
        ], name="convolutions")
        self.dense = keras.layers.Dense(FEATURE_UNITS, activation="relu", name="features")
        self.heads = [keras.layers.Dense(size, name=f"head_{i}") for i, size in enumerate(self.factor_sizes)]
        self(tf.zeros((1, resolution, resolution, channels)))

    def trunk(self, images, training=False):
        """``[B, R, R, C]`` -> the feature layer ``[B, 256]``."""
        images = tf.convert_to_tensor(images, tf.float32)
        batch = tf.shape(images)[0]
        ramp = tf.linspace(-1.0, 1.0, self.resolution)
        rows = tf.broadcast_to(ramp[None, :, None, None], tf.stack([batch, self.resolution, self.resolution, 1]))
        columns = tf.broadcast_to(ramp[None, None, :, None], tf.stack([batch, self.resolution, self.resolution, 1]))
        maps = self.convolutions(tf.concat([images, rows, columns], axis=-1), training=training)
        profiles = [tf.reshape(tf.reduce_mean(images, axis=axis), (batch, -1)) for axis in (1, 2)]
        return self.dense(tf.concat([maps, *profiles], axis=-1))

    def call(self, images, training=False):
        """``[B, R, R, C]`` in [0, 1] -> list of logits ``[B, size_f]``, one per factor."""
        features = self.trunk(images, training=training)
        return [head(features) for head in self.heads]

    def features(self, images, batch_size=256):
        """Penultimate activations of numpy images ``[N, R, R, C]`` -> float32 ``[N, 256]``."""
        return np.concatenate([np.asarray(self.trunk(images[i:i + batch_size]))
                               for i in range(0, len(images), batch_size)])

    def predict_factors(self, images, batch_size=256):
        """Most likely class of every factor: numpy images ``[N, R, R, C]`` -> int64 ``[N, F]``."""
        predictions = []
        for i in range(0, len(images), batch_size):
            logits = self(images[i:i + batch_size])
            predictions.append(np.stack([np.argmax(np.asarray(l), -1) for l in logits], axis=1))
        return np.concatenate(predictions).astype(np.int64)

    def get_config(self):
        return {**super().get_config(), "factor_sizes": self.factor_sizes, "resolution": self.resolution,
                "channels": self.channels, "filters": self.filters}


def train_oracle(data, steps=3000, batch_size=128, learning_rate=1e-3, seed=0, verbose=1):
    """Trains a ``FactorOracle`` on fresh uniform draws of ``data`` (a ``GroundTruthData``).

    Returns the trained oracle. Shows a progress bar when ``verbose``.
    """
    keras.utils.set_random_seed(seed)
    random_state = np.random.RandomState(seed)
    resolution, _, channels = data.observation_shape
    oracle = FactorOracle(data.factor_sizes, resolution, channels)
    # Cosine decay to 0: the position factors need the last pixel of precision.
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(images, factors):
        with tf.GradientTape() as tape:
            logits = oracle(images, training=True)
            total = tf.add_n([loss(factors[:, i], l) for i, l in enumerate(logits)])
        optimizer.apply_gradients(zip(tape.gradient(total, oracle.trainable_variables), oracle.trainable_variables))
        return total

    progress = keras.utils.Progbar(steps, verbose=verbose, unit_name="step")
    for _ in range(steps):
        factors, images = data.sample(batch_size, random_state)
        progress.add(1, [("loss", float(step(images, factors)))])
    return oracle


def oracle_accuracy(oracle, data, num=5000, seed=1):
    """Accuracy of each factor on ``num`` held-out draws (a fresh seed).

    Returns dict factor name -> accuracy. For dSprites also
    ``"orientation (heart only)"``: orientation is ambiguous for the symmetric
    square and ellipse, so only the heart's orientation is well defined.
    """
    factors, images = data.sample(num, np.random.RandomState(seed))
    predicted = oracle.predict_factors(images)
    result = {name: float(np.mean(predicted[:, i] == factors[:, i])) for i, name in enumerate(data.factor_names)}
    if "orientation" in data.factor_names and "shape" in data.factor_names:
        shape, orientation = data.factor_names.index("shape"), data.factor_names.index("orientation")
        heart = factors[:, shape] == 2
        result["orientation (heart only)"] = float(np.mean(predicted[heart, orientation] == factors[heart, orientation]))
    return result


def cache_dir():
    """Where trained oracles are kept: ``$UDGAN_TF_CACHE`` or ``~/.cache/udgan_tf``."""
    return pathlib.Path(os.environ.get("UDGAN_TF_CACHE", "~/.cache/udgan_tf")).expanduser() / "oracles"


def load_or_train_oracle(data, dataset_key, steps=3000, verbose=1):
    """The cached oracle for ``dataset_key`` (e.g. "dsprites-64") and ``steps``, trained on first use.

    The file is written atomically, so an interrupted training never leaves a
    half-written oracle behind.
    """
    key = hashlib.sha1(json.dumps([dataset_key, steps, list(data.factor_sizes)]).encode()).hexdigest()[:12]
    path = cache_dir() / f"{dataset_key}-{steps}-{key}.weights.h5"
    resolution, _, channels = data.observation_shape
    if path.exists():
        oracle = FactorOracle(data.factor_sizes, resolution, channels)
        oracle.load_weights(path)
        return oracle
    oracle = train_oracle(data, steps=steps, verbose=verbose)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.weights.h5")
    oracle.save_weights(tmp)
    os.replace(tmp, path)
    return oracle
