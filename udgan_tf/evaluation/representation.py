"""Representation functions: images -> codes, computed in batches on ``tf.data``.

For UD-GAN the representation of an image is phi(x), the concatenated outputs of
the siamese networks in knob order (§4.2).
"""

import keras
import numpy as np
import tensorflow as tf

from udgan_tf.data.ground_truth import GroundTruthData


def embedding_function(model, batch_size=256):
    """phi(x) of a trained ``UDGAN`` as a representation function.

    Returns:
        A function numpy images ``[N, R, R, C]`` -> float32 ``[N, E]``: one call for up
        to ``batch_size`` images, else a stream through ``tf.data`` in batches of
        ``batch_size`` (never one image at a time).
    """
    embed = tf.function(lambda images: model.embed(images, training=False), reduce_retracing=True)

    def representation(observations):
        observations = np.asarray(observations, np.float32)
        if len(observations) <= batch_size:
            return embed(observations).numpy()
        batches = tf.data.Dataset.from_tensor_slices(observations)
        batches = batches.batch(batch_size).prefetch(2)
        return np.concatenate([embed(batch).numpy() for batch in batches])

    return representation


def embed_image_data(model, image_data, batch_size=256, extras=()):
    """phi(x) of every image of an ``ImageData`` (e.g. CelebA's test split), in its order.

    Returns:
        ``(embeddings float32 [N, E], {key: numpy [N, ...]} for each key in extras)``.
    """
    embed = tf.function(lambda images: model.embed(images, training=False), reduce_retracing=True)
    embeddings, values = [], {key: [] for key in extras}
    for batch in image_data.evaluation_dataset(batch_size):
        embeddings.append(embed(batch["image"]).numpy())
        for key in extras:
            values[key].append(batch[key].numpy())
    return np.concatenate(embeddings), {key: np.concatenate(v) for key, v in values.items()}


class PrecomputedCodes(GroundTruthData):
    """A deterministic ground-truth data set whose images are replaced by their codes.

    When a metric suite needs more images than the data set holds (the reference
    sizes draw about 2.9 million dSprites images; dSprites has 737,280), it is
    cheaper to represent every image once. Observations of this data set are the
    codes ``[N, 1, 1, D]`` looked up by factor index, so the metrics, run with
    ``flatten`` as the representation, give exactly the scores they would give on
    the images (drawing from ``random_state`` in the same order).
    """

    def __init__(self, data, representation_function, batch_size=4096, verbose=1):
        if not data.deterministic:
            raise ValueError(f"{data!r} draws unlabelled variation with each image; its codes cannot be "
                             "precomputed per factor combination.")
        self.data = data
        self.factor_names, self.factor_sizes = data.factor_names, data.factor_sizes
        progress = keras.utils.Progbar(len(data), verbose=verbose, unit_name="image")
        codes = []
        for start in range(0, len(data), batch_size):
            factors = data.factors_of(np.arange(start, min(start + batch_size, len(data))))
            codes.append(np.asarray(representation_function(data.sample_observations_from_factors(factors, None)),
                                    np.float32))
            progress.add(len(factors))
        self.codes = np.concatenate(codes)
        self.observation_shape = (1, 1, self.codes.shape[1])

    def sample_observations_from_factors(self, factors, random_state):
        return self.codes[self.index_of(factors)][:, None, None, :]


def flatten(observations):
    """The representation function of ``PrecomputedCodes``: ``[N, 1, 1, D] -> [N, D]``."""
    return np.asarray(observations).reshape(len(observations), -1)
