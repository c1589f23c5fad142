"""Per-image refinement of knob values: a few hundred Adam steps on each image's knobs that
minimise ``rec(G(z), x)``, from the encoder's answer and from ``restarts - 1`` random points near
it, keeping the best."""

import keras
import tensorflow as tf

from udgan_tf.editing.encoder import reconstruction_error


def refine(generator, images, knobs, steps=200, restarts=1, learning_rate=0.05, likelihood="bernoulli", seed=0,
           spread=0.5):
    """Per-image gradient refinement of knobs.

    Args:
        generator: knobs ``[N, Z]`` -> images ``[N, R, R, C]``.
        images: float32 ``[B, R, R, C]`` in [0, 1], the targets.
        knobs: float32 ``[B, Z]``, the starting points (the encoder's answer).
        steps: Adam steps on every restart.
        restarts: starting points per image: ``knobs`` and ``restarts - 1`` draws of
            ``knobs + N(0, spread^2)`` (clipped to the knob range).

    Returns:
        float32 ``[B, Z]`` in (-1, 1): per image, the restart with the lowest reconstruction error.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    knobs = tf.convert_to_tensor(knobs, tf.float32)
    batch = tf.shape(knobs)[0]
    noise = tf.random.stateless_normal((restarts - 1, *knobs.shape), seed=[seed, 1]) * spread
    starts = tf.concat([knobs[None], tf.clip_by_value(knobs[None] + noise, -0.99, 0.99)], axis=0)   # [R, B, Z]
    starts = tf.reshape(starts, (-1, knobs.shape[-1]))
    targets = tf.tile(images, [restarts, 1, 1, 1])
    variable = tf.Variable(tf.atanh(tf.clip_by_value(starts, -0.999, 0.999)))     # knobs = tanh(variable)
    optimizer = keras.optimizers.Adam(learning_rate)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(reconstruction_error(generator(tf.tanh(variable), training=False), targets,
                                                      likelihood))
        optimizer.apply_gradients([(tape.gradient(loss, variable), variable)])

    for _ in range(steps):
        step()
    candidates = tf.reshape(tf.tanh(variable), (restarts, batch, -1))                  # [R, B, Z]
    errors = tf.reshape(reconstruction_error(generator(tf.reshape(candidates, (-1, knobs.shape[-1])),
                                                       training=False), targets, likelihood), (restarts, batch))
    best = tf.argmin(errors, axis=0, output_type=tf.int32)                              # [B]
    return tf.gather_nd(candidates, tf.stack([best, tf.range(batch)], axis=1)).numpy()
