"""Experiment configs: YAML whose keys are constructor arguments, validated on load.

A config has four sections::

    dataset:    {name: dsprites, ...}   # name + options of udgan_tf.data.get_ground_truth_dataset
    model:      {...}                   # keyword arguments of udgan_tf.UDGAN; its training tricks
                                        # in model.stabilisers (udgan_tf.stabilisers.Stabilisers)
    optimizers: {generator: {...}, discriminator: {...}, siamese: {...}}   # keras.optimizers.Adam
    training:   {...}                   # see TRAINING_DEFAULTS

Every key is checked on load; a key that does not exist is an error that names it
and the allowed keys, so a typo never silently falls back to a default.
"""

import copy
import importlib.resources
import inspect
import pathlib
import re

import yaml


def shipped_config_dir():
    """The directory of the shipped configs, from any working directory and any install.

    They are the checkout's top-level ``configs/``, installed as the package ``udgan_tf.configs``
    (``setup.py``): a wheel or sdist copies them, an editable install maps the package to them.
    """
    try:
        return pathlib.Path(importlib.resources.files("udgan_tf.configs"))  # pip installs packages as files
    except ModuleNotFoundError:
        raise ConfigError("udgan_tf's shipped configs are not installed (no package udgan_tf.configs): install "
                          "udgan_tf (`pip install -e .` in the checkout) rather than putting the checkout on "
                          "PYTHONPATH, or pass a config file (--config FILE).") from None


TRAINING_DEFAULTS = {
    "steps": 3000,            # optimisation steps
    "batch_size": 16,         # real images per step; G makes batch_size // real_images_per_quartet quartets
    "seed": 0,                # seeds the data order, the weights and the knob sampler
    "log_every": 100,         # steps per Keras "epoch": one progress bar, one log row
    "image_every": 500,       # steps between traversal grids in TensorBoard
    "checkpoint_every": 500,  # steps between checkpoints
    "traversal_values": 9,    # columns of the traversal grid (knob values -1..1)
    "backup_every_steps": 500,  # steps between backups of the whole training state (resume after a crash)
}
ADAM_DEFAULTS = {"learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999, "epsilon": 1e-7}
OPTIMIZER_NAMES = ("generator", "discriminator", "siamese")
SECTIONS = ("dataset", "model", "optimizers", "training")


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads ``1e-4`` as a string; configs mean the number."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text):
    return yaml.load(text, Loader=_Loader)


class ConfigError(ValueError):
    """A config that cannot be used; the message names the key and the fix."""


def model_arguments():
    """Names of UDGAN's constructor arguments: the allowed keys of ``model``."""
    from udgan_tf.udgan import UDGAN

    parameters = inspect.signature(UDGAN.__init__).parameters
    return [name for name, p in parameters.items() if name != "self" and p.kind is not p.VAR_KEYWORD]


def default_config():
    return {
        "dataset": {"name": "dsprites"},
        "model": {},
        "optimizers": {name: dict(ADAM_DEFAULTS) for name in OPTIMIZER_NAMES},
        "training": dict(TRAINING_DEFAULTS),
    }


def config_path_for(dataset):
    """The shipped config of a data set: ``configs/<dataset>.yaml``."""
    return shipped_config_dir() / f"{dataset}.yaml"


def load_config(path, overrides=()):
    """Reads a YAML config, applies ``key.path=value`` overrides, validates it.

    Args:
        path: str or Path of a YAML file.
        overrides: iterable of ``"section.key=value"`` strings (values parsed as YAML),
            e.g. ``["model.contrastive_weight=3", "training.steps=100"]``.

    Returns:
        dict with all four sections, defaults filled in.

    Raises:
        ConfigError: unknown key, malformed override, or an inconsistent value.
        FileNotFoundError: the file does not exist (the message lists shipped configs).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        shipped_dir = shipped_config_dir()
        shipped = sorted(p.stem for p in shipped_dir.glob("*.yaml"))
        raise FileNotFoundError(f"Config file {str(path)!r} does not exist. Shipped configs in "
                                f"{shipped_dir}: {', '.join(shipped) or 'none'}.")
    with open(path) as f:
        try:
            loaded = parse_yaml(f) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path} is not valid YAML: {error}") from None
    return resolve_config(loaded, overrides, source=str(path))


def resolve_config(loaded, overrides=(), source="config"):
    """Merges a config mapping over the defaults, applies overrides, validates."""
    if not isinstance(loaded, dict):
        raise ConfigError(f"{source} must be a mapping with sections {list(SECTIONS)}.")
    config = default_config()
    _merge(config, loaded, source)
    for override in overrides:
        _apply_override(config, override)
    validate_config(config)
    return config


def _merge(config, loaded, source):
    for section, values in loaded.items():
        if section not in SECTIONS:
            raise ConfigError(f"Unknown section {section!r} in {source}. Allowed: {list(SECTIONS)}.")
        if not isinstance(values, dict):
            raise ConfigError(f"Section {section!r} in {source} must be a mapping.")
        if section == "optimizers":
            for name, options in values.items():
                if name not in OPTIMIZER_NAMES:
                    raise ConfigError(f"Unknown key 'optimizers.{name}'. Allowed: {list(OPTIMIZER_NAMES)}.")
                config["optimizers"][name].update(options or {})
        else:
            config[section].update(copy.deepcopy(values))


def _apply_override(config, override):
    if "=" not in override:
        raise ConfigError(f"Override {override!r} must look like section.key=value, "
                          "e.g. model.contrastive_weight=3.")
    key, raw = override.split("=", 1)
    parts = key.strip().split(".")
    if parts[0] not in SECTIONS or len(parts) < 2:
        raise ConfigError(f"Override key {key!r} must start with one of {list(SECTIONS)} "
                          "followed by .key, e.g. training.steps=100.")
    try:
        value = parse_yaml(raw)
    except yaml.YAMLError as error:
        raise ConfigError(f"Override {override!r}: value is not valid YAML ({error}).") from None
    node = config
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            if parts[0] == "optimizers":
                raise ConfigError(f"Unknown key '{'.'.join(parts[:2])}'. Allowed: "
                                  f"{['optimizers.' + n for n in OPTIMIZER_NAMES]}.")
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def validate_config(config):
    """Checks every key and the values that can be checked before training."""
    allowed_model = model_arguments()
    unknown = sorted(set(config["model"]) - set(allowed_model))
    if unknown:
        raise ConfigError(f"Unknown key(s) {['model.' + k for k in unknown]}. Allowed model keys: "
                          f"{allowed_model}.{_moved_keys_hint(unknown)}")
    if "knobs" not in config["model"]:
        raise ConfigError("model.knobs is required: a list of knob specs, e.g. [{name: free, count: 7}].")
    unknown = sorted(set(config["training"]) - set(TRAINING_DEFAULTS))
    if unknown:
        raise ConfigError(f"Unknown key(s) {['training.' + k for k in unknown]}. "
                          f"Allowed training keys: {list(TRAINING_DEFAULTS)}.")
    for name, options in config["optimizers"].items():
        unknown = sorted(set(options) - set(ADAM_DEFAULTS))
        if unknown:
            raise ConfigError(f"Unknown key(s) {[f'optimizers.{name}.{k}' for k in unknown]}. "
                              f"Allowed: {list(ADAM_DEFAULTS)}.")
        for key, value in options.items():
            if not _is_number(value) or value <= 0:
                raise ConfigError(f"optimizers.{name}.{key} must be a positive number. Received: {value!r}")
    for key in ("steps", "batch_size", "log_every", "image_every", "checkpoint_every", "traversal_values",
                "backup_every_steps"):
        value = config["training"][key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"training.{key} must be a positive integer. Received: {value!r}")
    if not isinstance(config["dataset"].get("name"), str):
        raise ConfigError("dataset.name is required, e.g. dataset: {name: dsprites}.")
    stabilisers = _validate_model_values(config["model"])
    if config["training"]["batch_size"] < stabilisers.real_images_per_quartet:
        raise ConfigError(f"training.batch_size={config['training']['batch_size']} makes no quartet: it must be "
                          f">= model.stabilisers.real_images_per_quartet={stabilisers.real_images_per_quartet}.")


def _moved_keys_hint(unknown):
    """For keys of the flat model section of older configs: where they are now."""
    from udgan_tf.stabilisers import FLAT_KEYS, REMOVED

    moved = [f"model.{k} is now model.stabilisers.{FLAT_KEYS[k]}" for k in unknown if k in FLAT_KEYS]
    removed = [f"model.{k} was removed (it never helped; BENCHMARKS.md, 'Removed options')"
               for k in unknown if k in REMOVED]
    return "".join(f" {line}." for line in moved + removed)


def _validate_model_values(model):
    """Checks the knobs, the resolution and the stabilisers. Returns the ``Stabilisers``."""
    from udgan_tf import guidance
    from udgan_tf.knobs import KnobLayout, parse_knobs
    from udgan_tf.networks.generator import check_resolution
    from udgan_tf.stabilisers import Stabilisers

    try:
        knobs = parse_knobs(model["knobs"])
        KnobLayout(knobs)
        check_resolution(model.get("resolution", 64))
        for knob in knobs:
            if knob.guided:
                guidance.build(knob.guidance)
        return Stabilisers.from_config(model.get("stabilisers"))
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
