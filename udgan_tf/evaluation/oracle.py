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

from udgan_tf.runs import save_weights

FEATURE_UNITS = 256
#: Labelled images the scale and position lookups are fitted on (dSprites: ~28 per (shape, scale, orientation)).
READER_FIT_IMAGES = 20_000


POSITION_FACTORS = ("position_x", "position_y")
SCALE_FACTOR, SHAPE_FACTOR = "scale", "shape"


def lit_side(images):
    """Square root of the number of pixels brighter than 1/2: ``[N, R, R, C]`` -> ``[N]``."""
    return np.sqrt((np.asarray(images).max(axis=-1) > 0.5).sum(axis=(1, 2)))


def centre_of_mass(images):
    """Brightness-weighted centre of numpy images ``[N, R, R, C]`` in pixels -> ``[N, 2]`` (x, y)."""
    brightness = np.asarray(images, np.float64).mean(axis=-1)
    index = np.arange(brightness.shape[1]) + 0.5
    mass = np.maximum(brightness.sum(axis=(1, 2)), 1e-12)
    return np.stack([(brightness.sum(1) * index).sum(1) / mass, (brightness.sum(2) * index).sum(1) / mass], 1)


@keras.saving.register_keras_serializable("udgan_tf")
class FactorOracle(keras.Model):
    """A CNN that reads every factor back from an image, plus a position reader.

    Strided convolutions over the image and two coordinate channels (CoordConv) and the
    image's row and column profiles feed one dense feature layer; each factor has a
    softmax head. No global pooling: the coordinates, the flattened feature map and
    the profiles keep where things are.

    Two factors are read more exactly by lookups fitted on labelled images
    (``fit_readers``), the way a person would measure them:

    * ``scale`` (when there is a ``shape``): the class whose mean sqrt(lit area) for
      the predicted shape is nearest (the CNN head alone: ~0.90-0.99 run to run);
    * ``position_x`` / ``position_y``: round(a * centre of mass + offset[the other
      predicted factors]). A sprite's position is the centre it rotates about, which
      is its centre of mass only for the symmetric shapes; the offset learned per
      (shape, scale, orientation) covers the heart, whose mass centre circles the
      rotation centre (the CNN heads alone: ~60 % on hearts' positions).
    """

    def __init__(self, factor_sizes, resolution, channels, filters=32, factor_names=(), **kwargs):
        super().__init__(**kwargs)
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        self.factor_names = tuple(factor_names)
        self.resolution, self.channels, self.filters = resolution, channels, filters
        self.convolutions = keras.Sequential([
            keras.layers.Conv2D(filters, 4, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(2 * filters, 4, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(2 * filters, 4, strides=2, padding="same", activation="relu"),
            keras.layers.Flatten(),
        ], name="convolutions")
        self.dense = keras.layers.Dense(FEATURE_UNITS, activation="relu", name="features")
        self.heads = [keras.layers.Dense(size, name=f"head_{i}") for i, size in enumerate(self.factor_sizes)]
        names = self.factor_names
        self.scale_column = names.index(SCALE_FACTOR) if {SCALE_FACTOR, SHAPE_FACTOR} <= set(names) else None
        if self.scale_column is not None:
            self.shape_column = names.index(SHAPE_FACTOR)
            self.scale_table = self.add_weight(
                shape=(self.factor_sizes[self.shape_column], self.factor_sizes[self.scale_column]),
                initializer="zeros", trainable=False, name="scale_table")
        self.position_columns = [names.index(n) for n in POSITION_FACTORS if n in names]
        self.key_columns = [i for i in range(len(self.factor_sizes)) if i not in self.position_columns]
        if self.position_columns:
            keys = int(np.prod([self.factor_sizes[i] for i in self.key_columns]))
            self.position_scale = self.add_weight(shape=(2,), initializer="ones", trainable=False,
                                                  name="position_scale")
            self.position_offset = self.add_weight(shape=(keys, 2), initializer="zeros", trainable=False,
                                                   name="position_offset")
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

    def _keys(self, factors):
        sizes = [self.factor_sizes[i] for i in self.key_columns]
        return np.ravel_multi_index(tuple(factors[:, i] for i in self.key_columns), sizes) if sizes else \
            np.zeros(len(factors), np.int64)

    def fit_readers(self, factors, images):
        """Fits the scale and position lookups on labelled images ``[N, num_factors]``, ``[N, R, R, C]``."""
        if self.scale_column is not None:
            sides, table = lit_side(images), np.zeros(self.scale_table.shape)
            for shape in range(table.shape[0]):
                for scale in range(table.shape[1]):
                    chosen = (factors[:, self.shape_column] == shape) & (factors[:, self.scale_column] == scale)
                    table[shape, scale] = sides[chosen].mean() if chosen.any() else np.inf
            self.scale_table.assign(table.astype(np.float32))
        if self.position_columns:
            self.fit_position_reader(factors, images)

    def fit_position_reader(self, factors, images):
        """Fits the position lookup on labelled images ``[N, num_factors]``, ``[N, R, R, C]``.

        a: least squares of class on centre of mass over all images (one per axis);
        offset[key]: the mean of class - a * centre over the images of each key.
        """
        centres = centre_of_mass(images)
        classes = factors[:, self.position_columns].astype(np.float64)
        scale = np.array([np.polyfit(centres[:, k], classes[:, k], 1)[0] for k in range(2)])
        keys = self._keys(factors)
        residual = classes - centres * scale
        total = np.zeros(self.position_offset.shape)
        count = np.zeros(len(total))
        np.add.at(total, keys, residual)
        np.add.at(count, keys, 1)
        seen = count > 0
        offset = np.where(seen[:, None], total / np.maximum(count, 1)[:, None], residual.mean(0))
        self.position_scale.assign(scale.astype(np.float32))
        self.position_offset.assign(offset.astype(np.float32))

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
        predicted = np.concatenate(predictions).astype(np.int64)
        if self.scale_column is not None:
            predicted[:, self.scale_column] = self.read_scales(images, predicted[:, self.shape_column])
        if self.position_columns:
            predicted[:, self.position_columns] = self.read_positions(images, predicted)
        return predicted

    def read_scales(self, images, shapes):
        """Scale classes ``[N]`` of images ``[N, R, R, C]`` given their shape classes ``[N]``."""
        table = self.scale_table.numpy()[shapes]                                         # [N, scales]
        return np.argmin(np.abs(table - lit_side(images)[:, None]), axis=1)

    def read_positions(self, images, factors):
        """Position classes ``[N, 2]`` of images ``[N, R, R, C]`` given their other factors ``[N, F]``."""
        offset = self.position_offset.numpy()[self._keys(factors)]
        positions = np.round(centre_of_mass(images) * self.position_scale.numpy() + offset).astype(np.int64)
        sizes = np.array([self.factor_sizes[c] for c in self.position_columns])
        return np.clip(positions, 0, sizes - 1)

    def get_config(self):
        return {**super().get_config(), "factor_sizes": self.factor_sizes, "resolution": self.resolution,
                "channels": self.channels, "filters": self.filters, "factor_names": self.factor_names}


def train_oracle(data, steps=3000, batch_size=128, learning_rate=1e-3, seed=0, verbose=1):
    """Trains a ``FactorOracle`` on fresh uniform draws of ``data`` (a ``GroundTruthData``).

    Returns the trained oracle. Shows a progress bar when ``verbose``.
    """
    keras.utils.set_random_seed(seed)
    random_state = np.random.RandomState(seed)
    resolution, _, channels = data.observation_shape
    oracle = FactorOracle(data.factor_sizes, resolution, channels, factor_names=data.factor_names)
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
    oracle.fit_readers(*data.sample(READER_FIT_IMAGES, random_state))
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
        oracle = FactorOracle(data.factor_sizes, resolution, channels, factor_names=data.factor_names)
        oracle.load_weights(path)
        return oracle
    oracle = train_oracle(data, steps=steps, verbose=verbose)
    save_weights(path, oracle)  # atomic, and a full disk is a RunWriteError, not an h5py crash
    return oracle
