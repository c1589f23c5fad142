"""Where training runs: the ``tf.distribute`` strategy of ``--strategy``, mixed precision, and
which process of a multi-worker cluster writes the run (see README, "Several GPUs and machines")."""

import contextlib

import keras
import tensorflow as tf

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")


def make_strategy(name):
    """The ``tf.distribute`` strategy for ``--strategy`` (see README, "Several GPUs and machines")."""
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()  # reads TF_CONFIG
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def mixed_precision_policy():
    """The mixed policy for this machine: ``mixed_float16`` when a GPU is visible, else
    ``mixed_bfloat16`` (CPU, TPU)."""
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"


@contextlib.contextmanager
def dtype_policy(mixed_precision):
    """While inside, with ``mixed_precision`` (``training.mixed_precision``): Keras' global dtype
    policy is ``mixed_precision_policy()``, and the previous one again after; without it the
    global policy stays as the process has it (float32 unless set). Yields the policy's name.

    Layers take the policy when they are made, so a model built inside keeps it.
    """
    previous = keras.mixed_precision.global_policy()
    if not mixed_precision:
        yield previous.name
        return
    keras.mixed_precision.set_dtype_policy(mixed_precision_policy())
    try:
        yield keras.mixed_precision.global_policy().name
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def is_chief(strategy):
    """True unless this process is a non-chief worker of a multi-worker strategy.

    With TF_CONFIG the chief is the task of type "chief", or worker 0 when the cluster
    has no "chief" (TensorFlow's convention).
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


#: Speed settings that fail under a strategy with several replicas (TF 2.21, Keras 3.15, measured
#: with MirroredStrategy on two logical CPU devices, tests/test_speed_options.py): key -> what happens.
SINGLE_REPLICA_OPTIONS = {
    "jit_compile": "XLA places a variable on another device than its replica's "
                   "(InvalidArgumentError ... variable_on_a_different_device)",
    "steps_per_execution": "the loop of steps inside one call feeds no value to a placeholder of the step "
                           "(InvalidArgumentError: You must feed a value for placeholder tensor)",
}


def check_speed_options(strategy, training):
    """Raises ``ValueError`` naming the ``training`` key when a speed setting of
    ``SINGLE_REPLICA_OPTIONS`` is on under a strategy with more than one replica."""
    replicas = strategy.num_replicas_in_sync
    on = {"jit_compile": bool(training.get("jit_compile")),
          "steps_per_execution": training.get("steps_per_execution", 1) > 1}
    for key, failure in SINGLE_REPLICA_OPTIONS.items():
        if replicas > 1 and on[key]:
            raise ValueError(f"training.{key}={training[key]!r} does not run with {replicas} replicas "
                             f"({type(strategy).__name__}): {failure}. Train with the default "
                             f"(training.{key}={'false' if key == 'jit_compile' else 1}) or on one device.")

