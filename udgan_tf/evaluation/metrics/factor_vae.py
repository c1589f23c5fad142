"""The FactorVAE disentanglement metric.

From Kim & Mnih 2018, "Disentangling by Factorising" (https://arxiv.org/abs/1802.05983).
Codes are divided by their global variance; dims whose global standard deviation is
below ``PRUNE_THRESHOLD`` are dropped. Each point fixes one factor over a batch and
votes for the (active) code dim with the smallest normalised variance; a
majority-vote classifier maps each dim to the factor it voted for most, and the
score is its accuracy. Procedure and defaults match disentanglement_lib
(``factor_vae_score``: batch_size=64, num_train=10000, num_eval=5000,
num_variance_estimate=10000, ``prune_dims.threshold = 0.05``).
"""

import numpy as np

from udgan_tf.evaluation.metrics.utils import check_positive_int, represent, represent_in_batches

#: Code dims with a global standard deviation below this are pruned (collapsed dims).
PRUNE_THRESHOLD = 0.05


def compute_factor_vae_score(ground_truth_data, representation_function, random_state,
                             batch_size=64, num_train=10000, num_eval=5000,
                             num_variance_estimate=10000):
    """Computes the FactorVAE score.

    Args:
        ground_truth_data: ``GroundTruthData`` to sample from.
        representation_function: observations ``[B, H, W, C]`` -> codes ``[B, D]``.
        random_state: ``np.random.RandomState``.
        batch_size: int >= 2, observations sharing the fixed factor in one point.
        num_train: int, points voting for the classifier.
        num_eval: int, points to evaluate it on.
        num_variance_estimate: int >= 2, observations for the global variances.

    Returns:
        ``{"train_accuracy": float, "eval_accuracy": float, "num_active_dims": int}``.
        With no active dim (e.g. a constant representation) both accuracies are 0.0
        and ``num_active_dims`` is 0, as in disentanglement_lib. Otherwise
        ``num_active_dims`` counts the dims kept (the reference reports the length of
        its boolean mask there, i.e. D, whatever was pruned).

    Raises:
        ValueError: a parameter is not a positive int (the message names it).
    """
    batch_size = check_positive_int("batch_size", batch_size, minimum=2)
    num_train = check_positive_int("num_train", num_train)
    num_eval = check_positive_int("num_eval", num_eval)
    num_variance_estimate = check_positive_int("num_variance_estimate", num_variance_estimate,
                                               minimum=2)

    observations = ground_truth_data.sample_observations(num_variance_estimate, random_state)
    global_variances = np.var(
        represent_in_batches(representation_function, observations, batch_size), axis=0, ddof=1)
    active_dims = np.flatnonzero(np.sqrt(global_variances) >= PRUNE_THRESHOLD)
    if active_dims.size == 0:
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}

    train_votes = _generate_votes(ground_truth_data, representation_function, batch_size,
                                  num_train, random_state, global_variances, active_dims)
    classifier = np.argmax(train_votes, axis=0)  # code dim -> factor
    eval_votes = _generate_votes(ground_truth_data, representation_function, batch_size,
                                 num_eval, random_state, global_variances, active_dims)
    return {
        "train_accuracy": _accuracy(train_votes, classifier),
        "eval_accuracy": _accuracy(eval_votes, classifier),
        "num_active_dims": int(active_dims.size),
    }


def _accuracy(votes, classifier):
    """Fraction of the votes ``[F, D]`` that the classifier ``[D]`` gets right."""
    return float(votes[classifier, np.arange(votes.shape[1])].sum() / votes.sum())


def _generate_votes(ground_truth_data, representation_function, batch_size, num_points,
                    random_state, global_variances, active_dims):
    """Returns int64 votes ``[num_factors, D]``: (fixed factor, chosen code dim) counts."""
    votes = np.zeros((ground_truth_data.num_factors, global_variances.shape[0]), dtype=np.int64)
    for _ in range(num_points):
        factor_index = random_state.randint(ground_truth_data.num_factors)
        factors = ground_truth_data.sample_factors(batch_size, random_state)
        factors[:, factor_index] = factors[0, factor_index]
        observations = ground_truth_data.sample_observations_from_factors(factors, random_state)
        codes = represent(representation_function, observations)
        local_variances = np.var(codes[:, active_dims], axis=0, ddof=1)
        dim = active_dims[np.argmin(local_variances / global_variances[active_dims])]
        votes[factor_index, dim] += 1
    return votes
