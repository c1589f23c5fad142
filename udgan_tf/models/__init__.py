"""The trainable methods: UD-GAN / UD-GAN-G (this paper) and the baselines, as Keras models.

Each is a ``keras.Model`` with a custom ``train_step`` and the interface the rest of the package
relies on (``layout``, ``knobs``, ``inference_generator``, ``embed``, ``representation_networks``,
``sample_knobs``); ``registry`` names them for ``model.method`` and builds one from a config's
``model`` section; ``load_model`` rebuilds a trained one from its run directory. The GANs'
training tricks are in ``stabilisers``, the ``tf.distribute`` helpers in ``distribution``.

Nothing here knows of editing, training loops, comparisons or the demo: those use a model.
"""

from udgan_tf.models.beta_vae import BetaVAE
from udgan_tf.models.infogan import InfoGAN
from udgan_tf.models.infogan_cr import InfoGANCR
from udgan_tf.models.loading import load_model
from udgan_tf.models.registry import METHODS, UnknownMethodError, build_model, compile_model, get_method, method_of
from udgan_tf.models.udgan import UDGAN

__all__ = ["BetaVAE", "InfoGAN", "InfoGANCR", "METHODS", "UDGAN", "UnknownMethodError", "build_model",
           "compile_model", "get_method", "load_model", "method_of"]
