"""udgan_tf: UD-GAN and UD-GAN-G (unlabeled disentangling of GANs with guided siamese networks).

Public names: ``UDGAN``, ``losses.contrastive_loss``, ``guidance.get`` / ``guidance.register``,
``data.get_dataset`` / ``data.get_ground_truth_dataset``, ``config.load_config``, ``runs.load_model``,
``evaluation.metrics.get_metric``. Commands: ``python -m udgan_tf.train``, ``udgan_tf.evaluate``,
``udgan_tf.export`` and ``udgan_tf.serving.client``.
"""

from udgan_tf import config, data, guidance, losses, runs
from udgan_tf.runs import load_model
from udgan_tf.udgan import UDGAN

__version__ = "0.1.0"
__all__ = ["UDGAN", "config", "data", "guidance", "load_model", "losses", "runs"]
