"""What a training step needs to know about ``tf.distribute``: where this replica stands,
and how its local gradients become those of the global batch."""

import tensorflow as tf


def replica_position():
    """``(number of replicas in sync, this replica's id)``; ``(1, 0)`` outside tf.distribute."""
    context = tf.distribute.get_replica_context()
    if context is None:
        return 1, 0
    return context.num_replicas_in_sync, context.replica_id_in_sync_group


def multi_worker():
    """True under a MultiWorkerMirroredStrategy with more than one worker."""
    extended = tf.distribute.get_strategy().extended
    return bool(getattr(extended, "_in_multi_worker_mode", lambda: False)())


def global_mean_gradients(gradients):
    """Gradients of the global-batch mean from one replica's local-batch mean.

    The losses are means over the local batch; the optimizers sum gradients over the R
    replicas, so each replica's gradients are divided by R (the equivalent of
    ``tf.nn.compute_average_loss`` with the global batch size, for equal local batches).
    """
    replicas, _ = replica_position()
    if replicas == 1:
        return gradients
    return [None if g is None else g / replicas for g in gradients]


def apply_updates(tape, updates):
    """Applies ``(objective, optimizer, variables)`` triples recorded on one persistent ``tape``.

    Each objective was scaled by its optimizer inside the tape (``optimizer.scale_loss``, the
    identity unless the optimizer is a ``LossScaleOptimizer``); all gradients are taken
    before any variable changes.
    """
    gradients = [global_mean_gradients(tape.gradient(objective, variables)) for objective, _, variables in updates]
    for (_, optimizer, variables), grads in zip(updates, gradients):
        optimizer.apply_gradients(zip(grads, variables))


def apply_extra_update(tape, updates):
    """``apply_updates`` for a further update of the same training step (``stabilisers.generator_steps``):
    the optimizers' step counters go back by one afterwards, so ``model.optimizer.iterations``
    still counts training steps (schedules, logs and checkpoints are keyed by it). Adam's bias
    correction of the extra update then uses the same t as the first, a difference that vanishes
    after the first few hundred steps."""
    apply_updates(tape, updates)
    for _, optimizer, _ in updates:
        optimizer.iterations.assign_sub(1)


def step_logs(metrics):
    """What a ``train_step`` returns: ``{tracker name: its result}``. Under multi-worker
    training each value gets a dimension, because Keras reduces multi-worker logs with
    ``reduce(MEAN, axis=0)``."""
    logs = {m.name: m.result() for m in metrics}
    if multi_worker():
        logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs
