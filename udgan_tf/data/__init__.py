"""Data sets: a registry from a name to a constructor.

Two kinds, both with ``observation_shape`` and ``training_dataset(batch_size, seed)``:

* ``GroundTruthData`` (dsprites, mnist, colored_mnist): images whose generative
  factors are known, so disentanglement metrics run on them::

    data = get_ground_truth_dataset("dsprites", resolution=64)
    factors, images = data.sample(16, np.random.RandomState(0))  # [16, 5], [16, 64, 64, 1]

* ``ImageData`` (celeba_a, image_folder): decoded image files, with per-image
  extras such as CelebA's attributes::

    data = get_dataset("celeba_a", data_dir="/data/celeba", split="test")
    for batch in data.evaluation_dataset(256): batch["image"], batch["attributes"]

To add a data set, add ``"name": Constructor`` to ``DATASETS``.
"""


from udgan_tf.data.celeba import CelebA
from udgan_tf.data.dsprites import DSprites
from udgan_tf.data.errors import DataError, DataFormatError, DataNotFoundError
from udgan_tf.data.ground_truth import GroundTruthData
from udgan_tf.data.image_folder import ImageFolder
from udgan_tf.data.images import ImageData
from udgan_tf.data.mnist import MNIST, ColoredMNIST
from udgan_tf.keywords import keyword_names, takes_any_keyword

# name -> constructor (a GroundTruthData or ImageData subclass, or a callable returning one).
DATASETS = {
    "celeba_a": CelebA,
    "colored_mnist": ColoredMNIST,
    "dsprites": DSprites,
    "image_folder": ImageFolder,
    "mnist": MNIST,
}


def available_datasets():
    """Registered data-set names, sorted. Returns a list of str."""
    return sorted(DATASETS)


def accepted_options(constructor):
    """Keyword names the constructor takes, or None if it takes ``**kwargs``."""
    return None if takes_any_keyword(constructor) else keyword_names(constructor)


def get_dataset(name, **options):
    """Builds a registered data set.

    Args:
        name: str, one of ``available_datasets()``.
        **options: keyword arguments of that data set's constructor
            (e.g. ``resolution``, ``data_dir``).

    Returns:
        A ``GroundTruthData`` or ``ImageData`` instance.

    Raises:
        ValueError: unknown ``name``, or an option the constructor does not take
            (the message names the bad options and the accepted ones).
        DataError: the data is missing or malformed (see ``udgan_tf.data.errors``).
    """
    if name not in DATASETS:
        raise ValueError(
            f"Unknown dataset {name!r}. Available: {', '.join(available_datasets())}."
        )
    constructor = DATASETS[name]
    accepted = accepted_options(constructor)
    if accepted is not None:
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ValueError(
                f"Unknown option(s) {', '.join(repr(o) for o in unknown)} for dataset "
                f"{name!r}. Accepted options: {', '.join(accepted) if accepted else 'none'}."
            )
    return constructor(**options)


def get_ground_truth_dataset(name, **options):
    """Like ``get_dataset`` for data sets with known factors; ValueError for the others."""
    data = get_dataset(name, **options)
    if not isinstance(data, GroundTruthData):
        known = sorted(n for n, c in DATASETS.items() if isinstance(c, type) and issubclass(c, GroundTruthData))
        raise ValueError(f"Dataset {name!r} has no ground-truth factors. Data sets with factors: {', '.join(known)}.")
    return data


def dataset_for_config(config, split=None, data_dir=None):
    """The data set of an experiment config (its ``dataset`` section), matched to its model.

    The data set delivers the model's resolution, and its channels where the data set has
    that option, unless ``dataset`` says otherwise. Training and evaluation both build their
    data here.

    Args:
        config: dict with ``dataset`` and ``model`` sections (``udgan_tf.config``).
        split: str or None. Replaces ``dataset.split`` (e.g. ``"test"`` for CelebA).
        data_dir: str or None. Replaces ``dataset.data_dir``.

    Raises:
        ValueError: unknown data set or option, or images whose shape is not the model's
            (the message names the mismatch and the keys to set).
        DataError: the data is missing or malformed.
    """
    name = config["dataset"]["name"]
    options = {k: v for k, v in config["dataset"].items() if k != "name"}
    resolution, channels = config["model"].get("resolution", 64), config["model"].get("channels", 1)
    options.setdefault("resolution", resolution)
    accepted = accepted_options(DATASETS[name]) if name in DATASETS else []
    if accepted is None or "channels" in accepted:
        options.setdefault("channels", channels)
    if data_dir is not None:
        options["data_dir"] = data_dir
    if split is not None:
        options["split"] = split
    data = get_dataset(name, **options)
    if tuple(data.observation_shape) != (resolution, resolution, channels):
        raise ValueError(f"Data set {name!r} gives images of shape {tuple(data.observation_shape)} but the model "
                         f"makes {(resolution, resolution, channels)}: set model.resolution / model.channels to match.")
    return data


__all__ = [
    "DATASETS",
    "CelebA",
    "ColoredMNIST",
    "DSprites",
    "DataError",
    "DataFormatError",
    "DataNotFoundError",
    "GroundTruthData",
    "ImageData",
    "ImageFolder",
    "MNIST",
    "accepted_options",
    "available_datasets",
    "dataset_for_config",
    "get_dataset",
    "get_ground_truth_dataset",
]
