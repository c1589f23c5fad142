"""Experiment configs: YAML whose keys are constructor arguments, validated on load.

A config has four sections::

    dataset:    {name: dsprites, ...}   # name + options of udgan_tf.data.get_ground_truth_dataset
    model:      {method: udgan, ...}    # the method (udgan_tf.models.registry) and its class's keyword
                                        # arguments, e.g. udgan_tf.UDGAN's; the GANs' training tricks
                                        # in model.stabilisers (udgan_tf.models.stabilisers.Stabilisers)
    optimizers: {generator: {...}, discriminator: {...}, siamese: {...}}   # keras.optimizers.Adam,
                                        # one per network of the method (udgan_tf.models.registry.METHODS)
    training:   {...}                   # see TRAINING_DEFAULTS

Every key is checked on load; a key that does not exist is an error that names it
and the allowed keys, so a typo never silently falls back to a default.
"""

import copy
import importlib.resources
import pathlib
import re

import yaml

from udgan_tf import guidance
from udgan_tf.knobs import KnobLayout, parse_knobs
from udgan_tf.models import registry
from udgan_tf.models.stabilisers import FLAT_KEYS, REMOVED, Stabilisers
from udgan_tf.networks.generator import check_resolution


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
    "minutes": None,          # a time budget: the run ends, finished, after this many minutes of training
    "clock": "wall",          # what a training minute is: "wall" (the clock on the wall) or "cpu" (the process's
                              # CPU time / the cores it may use: a budget other jobs on the machine do not eat)
    "snapshot_every_minutes": None,  # keep the model every this many training minutes in snapshots/ (curves)
    # Speed (BENCHMARKS.md, "Speed options"); the defaults are what earlier versions did.
    "mixed_precision": False,  # layers compute in bfloat16 on CPU, float16 on GPU; weights and losses float32
    "jit_compile": False,      # XLA-compile the train step
    "steps_per_execution": 1,  # train steps per call into the compiled graph (logs, NaN guard, SIGTERM per call)
}
CLOCKS = ("wall", "cpu")


def with_training_defaults(saved):
    """A config written by an earlier version (a run directory's, a comparison record's) with the
    training keys added since (``minutes``, ``clock``, ``snapshot_every_minutes``, the speed
    settings) at their defaults, which are what that version did; so its run still resumes and
    its record is still the same config."""
    return {**saved, "training": {**TRAINING_DEFAULTS, **saved["training"]}}
ADAM_KEYS = ("learning_rate", "beta_1", "beta_2", "epsilon")
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


def default_config():
    return {
        "dataset": {"name": "dsprites"},
        "model": {},
        "optimizers": {},   # filled with the method's defaults (udgan_tf.models.registry) on load
        "training": dict(TRAINING_DEFAULTS),
    }


def config_path_for(dataset, method=None):
    """The shipped config of a data set: ``configs/<dataset>.yaml``; for a method other than
    udgan, ``configs/<dataset>_<method>.yaml`` when it exists."""
    if method not in (None, registry.DEFAULT_METHOD):
        path = shipped_config_dir() / f"{dataset}_{method}.yaml"
        if path.exists():
            return path
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
    _fill_optimizer_defaults(config)
    validate_config(config)
    return config


def _method(config):
    try:
        return registry.method_of(config["model"])
    except registry.UnknownMethodError as error:
        raise ConfigError(f"model.method: {error}") from None


def _keys(names):
    """``['a']`` -> "'a' does not apply"; ``['a', 'b']`` -> "'a', 'b' do not apply"."""
    return ", ".join(map(repr, names)) + (" does not apply" if len(names) == 1 else " do not apply")


def _fill_optimizer_defaults(config):
    """Every optimizer of the config's method, its Adam defaults under the config's values;
    an optimizer the method does not have is an error naming it and the method's."""
    method = _method(config)
    extra = sorted(set(config["optimizers"]) - set(method.optimizers))
    if extra:
        raise ConfigError(f"{_keys(['optimizers.' + name for name in extra])} to method "
                          f"{method.name!r}: it has the optimizers {list(method.optimizers)}.")
    config["optimizers"] = {name: {**defaults, **(config["optimizers"].get(name) or {})}
                            for name, defaults in method.optimizers.items()}


def _merge(config, loaded, source):
    for section, values in loaded.items():
        if section not in SECTIONS:
            raise ConfigError(f"Unknown section {section!r} in {source}. Allowed: {list(SECTIONS)}.")
        if not isinstance(values, dict):
            raise ConfigError(f"Section {section!r} in {source} must be a mapping.")
        if section == "optimizers":
            for name, options in values.items():
                if name not in registry.OPTIMIZER_NAMES:
                    raise ConfigError(f"Unknown key 'optimizers.{name}'. Allowed: {list(registry.OPTIMIZER_NAMES)}.")
                config["optimizers"].setdefault(name, {}).update(options or {})
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
            if parts[0] == "optimizers" and parts[1] not in registry.OPTIMIZER_NAMES:
                raise ConfigError(f"Unknown key '{'.'.join(parts[:2])}'. Allowed: "
                                  f"{['optimizers.' + n for n in registry.OPTIMIZER_NAMES]}.")
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def validate_config(config):
    """Checks every key and the values that can be checked before training."""
    method = _method(config)
    allowed_model = method.model_keys()
    unknown = sorted(set(config["model"]) - set(allowed_model))
    elsewhere = [key for key in unknown if any(key in other.model_keys() for other in registry.METHODS.values())]
    if elsewhere:
        raise ConfigError(f"{_keys(['model.' + k for k in elsewhere])} to method {method.name!r}. "
                          f"Its model keys: {allowed_model}.")
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
        unknown = sorted(set(options) - set(ADAM_KEYS))
        if unknown:
            raise ConfigError(f"Unknown key(s) {[f'optimizers.{name}.{k}' for k in unknown]}. "
                              f"Allowed: {list(ADAM_KEYS)}.")
        for key, value in options.items():
            if not _is_number(value) or value <= 0:
                raise ConfigError(f"optimizers.{name}.{key} must be a positive number. Received: {value!r}")
    for key in ("mixed_precision", "jit_compile"):
        if not isinstance(config["training"][key], bool):
            raise ConfigError(f"training.{key} must be true or false. Received: {config['training'][key]!r}")
    for key in ("steps", "batch_size", "log_every", "image_every", "checkpoint_every", "traversal_values",
                "backup_every_steps", "steps_per_execution"):
        value = config["training"][key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"training.{key} must be a positive integer. Received: {value!r}")
    for key, null in (("minutes", "no limit"), ("snapshot_every_minutes", "no snapshots")):
        minutes = config["training"][key]
        if minutes is not None and (not _is_number(minutes) or minutes <= 0):
            raise ConfigError(f"training.{key} must be a positive number of minutes (or null: {null}). "
                              f"Received: {minutes!r}")
    if config["training"]["clock"] not in CLOCKS:
        raise ConfigError(f"training.clock must be one of {list(CLOCKS)}. Received: {config['training']['clock']!r}")
    if not isinstance(config["dataset"].get("name"), str):
        raise ConfigError("dataset.name is required, e.g. dataset: {name: dsprites}.")
    stabilisers = _validate_model_values(config["model"], method)
    if config["training"]["batch_size"] < stabilisers.real_images_per_quartet:
        raise ConfigError(f"training.batch_size={config['training']['batch_size']} makes no quartet: it must be "
                          f">= model.stabilisers.real_images_per_quartet={stabilisers.real_images_per_quartet}.")


def _moved_keys_hint(unknown):
    """For keys of the flat model section of older configs: where they are now."""
    moved = [f"model.{k} is now model.stabilisers.{FLAT_KEYS[k]}" for k in unknown if k in FLAT_KEYS]
    removed = [f"model.{k} was removed (it never helped; BENCHMARKS.md, 'Removed options')"
               for k in unknown if k in REMOVED]
    return "".join(f" {line}." for line in moved + removed)


def _validate_model_values(model, method):
    """Checks the knobs, the resolution and the stabilisers. Returns the ``Stabilisers``."""
    try:
        knobs = parse_knobs(model["knobs"])
        KnobLayout(knobs)
        check_resolution(model.get("resolution", 64))
        for knob in knobs:
            if knob.guided and method.name != registry.DEFAULT_METHOD:
                raise ConfigError(f"Knob {knob.name!r} has a guidance ({knob.guidance!r}): guidance does not "
                                  f"apply to method {method.name!r}; only udgan has guidance functions.")
            if knob.guided:
                guidance.build(knob.guidance)
        return Stabilisers.from_config(model.get("stabilisers"))
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
