"""udgan_tf: UD-GAN and UD-GAN-G (unlabeled disentangling of GANs with guided siamese networks).

The layers, from the commands down (``setup.cfg``'s import-linter contracts keep them so):

- commands, thin: ``python -m udgan_tf.train``, ``evaluate``, ``export``, ``compare``, ``edit``,
  ``inversion``, ``demo`` and ``serving.client`` (arguments, one call, ``exit_codes``);
- ``demo/``, ``comparison/``, ``serving/`` (export and clients), ``editing/`` (real images to
  knobs and back), ``training/`` (the loop), ``evaluation/`` (metrics, reports), ``config``;
- ``models/``: the methods as Keras models, and ``load_model``;
- ``networks/``, ``data/``, ``guidance``, ``losses``, ``knobs``, ``keywords``;
- ``runs/``: run storage, atomic writes; ``exit_codes``.

Public names: ``UDGAN``, ``losses.contrastive_loss``, ``guidance.get`` / ``guidance.register``,
``data.get_dataset`` / ``data.get_ground_truth_dataset``, ``config.load_config``,
``load_model`` (``udgan_tf.models``), ``editing.load_editor``, ``evaluation.metrics.get_metric``.
"""

from udgan_tf import config, data, guidance, losses, runs
from udgan_tf.models import UDGAN, load_model

__version__ = "0.1.0"
__all__ = ["UDGAN", "config", "data", "guidance", "load_model", "losses", "runs"]
