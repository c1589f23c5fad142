"""Losses as pure functions of tensors (TF-GAN naming: ``xxx_generator_loss``,
``xxx_discriminator_loss``; logits in, scalar out, except the per-quartet
contrastive loss)."""

import math

import tensorflow as tf


def squared_distance(a, b):
    """rho^2 = ||a - b||_2^2 along the last axis. ``[B, D], [B, D] -> [B]``."""
    return tf.reduce_sum(tf.square(a - b), axis=-1)


def contrastive_loss(e11, e12, e21, e22, margin):
    """Contrastive loss with adaptive margin, equation 2 of the paper.

    L = 1/2 sum_n rho(x_n1, x_n2)^2 + 1/4 sum_{n,m} max(0, gamma - rho(x_1n, x_2m))^2

    where x_n1 and x_n2 share knob i (pulled together) and x_1n, x_2m do not
    (pushed at least gamma apart).

    Args:
        e11, e12, e21, e22: float ``[B, D]``. phi_i of the four images of each quartet;
            e_nm embeds the image with q_i^(n) and the other knobs' draw m.
        margin: float ``[B]``. gamma_i^(1,2) = ||q_i^(1) - q_i^(2)||_2.

    Returns:
        float ``[B]``, the loss of each quartet.

    Example:
        >>> e = tf.zeros([2, 1])
        >>> contrastive_loss(e, e, e, e, tf.ones([2])).numpy()   # 1/4 * 4 * 1^2
        array([1., 1.], dtype=float32)
    """
    pull = 0.5 * (squared_distance(e11, e12) + squared_distance(e21, e22))
    push = 0.0
    for first in (e11, e12):
        for second in (e21, e22):
            # sqrt with a floor: its gradient is 0, not inf, where two embeddings coincide.
            distance = tf.sqrt(tf.maximum(squared_distance(first, second), 1e-12))
            push += tf.square(tf.nn.relu(margin - distance))
    return pull + 0.25 * push


def non_saturating_discriminator_loss(real_logits, fake_logits):
    """-log D(x) - log(1 - D(G(z))), equation 1 of the paper. Logits ``[N, 1]`` -> scalar."""
    return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))


def non_saturating_generator_loss(fake_logits):
    """-log D(G(z)): the non-saturating generator loss of §3.1. ``[N, 1]`` -> scalar."""
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def r1_penalty(input_gradients, gamma):
    """gamma / 2 * E ||grad_x D(x)||^2 over real images x (Mescheder et al. 2018, eq. 9).

    Args:
        input_gradients: float ``[N, R, R, C]``, the gradient of D's logits w.r.t. real images.
        gamma: float >= 0.

    Returns:
        scalar.
    """
    return 0.5 * gamma * tf.reduce_mean(tf.reduce_sum(tf.square(input_gradients), axis=[1, 2, 3]))


def mutual_information_loss(predicted_codes, codes):
    """-log Q(c | x) for continuous codes: InfoGAN's -L_I(G, Q) + H(c) (Chen et al. 2016, §5).

    Q(c | x) is a factored Gaussian with mean ``predicted_codes`` and unit variance, as in
    InfoGAN-CR (``UniformLatent.reg_log_prob`` with ``q_std=1``, InfoGAN-CR_dSprites/gan/latent.py):

        -log Q(c | x) = sum_j [1/2 (c_j - q_j)^2 + 1/2 log(2 pi)]

    summed over the code dimensions j and averaged over the batch. Minimising it maximises the
    lower bound L_I = E[log Q(c | x)] + H(c) on I(c; G(c)), H(c) being a constant. Its gradient
    is that of 1/2 the summed squared error.

    Args:
        predicted_codes: float ``[B, Z]``, Q's means for the generated images.
        codes: float ``[B, Z]``, the codes c the images were generated from.

    Returns:
        scalar.

    Example:
        >>> round(float(mutual_information_loss(tf.ones([2, 1]), tf.zeros([2, 1]))), 4)   # 1/2 + 1/2 log(2 pi)
        1.4189
    """
    squared_error = tf.reduce_sum(tf.square(codes - predicted_codes), axis=-1)
    dims = tf.cast(tf.shape(codes)[-1], squared_error.dtype)
    return tf.reduce_mean(0.5 * squared_error) + 0.5 * math.log(2.0 * math.pi) * dims


def contrastive_regulariser_loss(logits, shared_code):
    """InfoGAN-CR's contrastive regulariser L_c (Lin et al. 2020): the cross-entropy of the
    network H's guess of which code a pair of images shares.

        L_c = -1/B sum_n log softmax(H(x_n, x'_n))[k_n]

    Args:
        logits: float ``[B, K]``, H's logits for B pairs, K codes.
        shared_code: int ``[B]``, the code k_n that the pair's two code vectors share.

    Returns:
        scalar.

    Example:
        >>> round(float(contrastive_regulariser_loss(tf.zeros([1, 4]), tf.constant([2]))), 4)   # log 4
        1.3863
    """
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=shared_code, logits=logits))
