"""Training a method: ``train(config, output_dir)`` and what it is made of.

``loop``: the data set and the compiled model of a config, ``model.fit`` in segments, resume;
``monitor``: the callback writing logs, checkpoints, backups and snapshots, the NaN guard and
the training clock; ``preemption``: SIGTERM stops after the current step; ``strategy``:
``tf.distribute`` strategies and mixed precision.
"""

from udgan_tf.training.loop import (TrainingPreempted, TrainingStopped, build_data, build_dataset, build_model,
                                    train)
from udgan_tf.training.monitor import TrainingClock, TrainingDiverged
from udgan_tf.training.strategy import STRATEGIES, dtype_policy, is_chief, make_strategy, mixed_precision_policy

__all__ = ["STRATEGIES", "TrainingClock", "TrainingDiverged", "TrainingPreempted", "TrainingStopped", "build_data",
           "build_dataset", "build_model", "dtype_policy", "is_chief", "make_strategy", "mixed_precision_policy", "train"]
