"""The methods a config can train, ``model.method``, and which options each one takes.

Every method is a Keras model with the interface the rest of the package relies on
(``layout``, ``knobs``, ``inference_generator``, ``embed``, ``representation_networks``,
``sample_knobs``, ``train_step``): training, run directories, ``evaluate`` and ``export``
treat them alike. A method is named in the ``model`` section::

    model:
      method: infogan        # udgan (the default), infogan, infogan_cr or beta_vae
      knobs: [{name: code, count: 10}]

Its other ``model`` keys are its constructor's arguments, and its ``optimizers`` are the
ones it has (``OPTIMIZERS``): a key of another method is an error that names the key and
the method.
"""

import dataclasses

from udgan_tf.keywords import keyword_names
from udgan_tf.models.beta_vae import BetaVAE
from udgan_tf.models.infogan import InfoGAN
from udgan_tf.models.infogan_cr import InfoGANCR
from udgan_tf.models.udgan import UDGAN

#: keras.optimizers.Adam defaults of the GANs (the paper, §4.1) and of the VAE (disentanglement_lib).
GAN_ADAM = {"learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999, "epsilon": 1e-7}
VAE_ADAM = {"learning_rate": 1e-4, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}


@dataclasses.dataclass(frozen=True)
class Method:
    """One trainable method: its class and the Adam defaults of its optimizers."""

    name: str
    model_class: type                     # a keras.Model subclass
    optimizers: dict                      # optimizer section name -> Adam defaults
    description: str

    def model_keys(self):
        """The allowed ``model`` keys: ``method`` and the constructor's arguments (the class's own:
        the ``**kwargs`` it passes on to ``keras.Model`` are not config keys)."""
        return ["method"] + keyword_names(self.model_class.__init__, skip=1)


METHODS = {method.name: method for method in (
    Method("udgan", UDGAN,
           {"generator": GAN_ADAM, "discriminator": GAN_ADAM, "siamese": GAN_ADAM},
           "UD-GAN / UD-GAN-G (this paper): siamese networks and the contrastive loss, guided or not"),
    Method("infogan", InfoGAN,
           {"generator": GAN_ADAM, "discriminator": GAN_ADAM},
           "InfoGAN (Chen et al. 2016): a Q head on D recovers the codes"),
    Method("infogan_cr", InfoGANCR,
           {"generator": GAN_ADAM, "discriminator": GAN_ADAM, "contrastive": GAN_ADAM},
           "InfoGAN-CR (Lin et al. 2020): InfoGAN plus the contrastive regulariser"),
    Method("beta_vae", BetaVAE,
           {"autoencoder": VAE_ADAM},
           "beta-VAE (Higgins et al. 2017): disentanglement_lib's conv encoder and decoder"),
)}
DEFAULT_METHOD = "udgan"
#: Every optimizer section some method has.
OPTIMIZER_NAMES = tuple(dict.fromkeys(name for method in METHODS.values() for name in method.optimizers))


class UnknownMethodError(ValueError):
    """``model.method`` names no method; the message lists the available ones."""


def get_method(name):
    """The ``Method`` called ``name`` (None: the default, udgan)."""
    name = DEFAULT_METHOD if name is None else name
    if name not in METHODS:
        raise UnknownMethodError(f"Unknown method {name!r}. Available methods: "
                                 + "; ".join(f"{m.name} ({m.description})" for m in METHODS.values()) + ".")
    return METHODS[name]


def method_of(model_config):
    """The ``Method`` of a config's ``model`` section."""
    return get_method(model_config.get("method"))


def build_model(model_config):
    """The (uncompiled) model of a ``model`` section: ``method``'s class on the other keys."""
    arguments = {key: value for key, value in model_config.items() if key != "method"}
    return method_of(model_config).model_class(**arguments)


def compile_model(model, optimizers, **options):
    """``model.compile`` with one optimizer per section: ``{"generator": Adam, ...}`` becomes
    ``generator_optimizer=...`` and so on; ``options`` are Keras' own (``jit_compile``,
    ``steps_per_execution``)."""
    model.compile(**{f"{name}_optimizer": optimizer for name, optimizer in optimizers.items()}, **options)
