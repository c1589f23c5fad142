"""Ground-truth data sets (images whose generative factors are known).

A small registry maps a data-set name to its constructor::

    from udgan_tf.data import get_ground_truth_dataset
    data = get_ground_truth_dataset("dsprites", resolution=64)
    factors, images = data.sample(16, np.random.RandomState(0))  # [16, 5], [16, 64, 64, 1]

To add a data set, add ``"name": Constructor`` to ``DATASETS``.
"""

import inspect

from udgan_tf.data.dsprites import DSprites
from udgan_tf.data.ground_truth import GroundTruthData

# name -> constructor (a GroundTruthData subclass or any callable returning one).
DATASETS = {
    "dsprites": DSprites,
}


def available_datasets():
    """Registered data-set names, sorted. Returns a list of str."""
    return sorted(DATASETS)


def _accepted_options(constructor):
    """Keyword names the constructor takes, or None if it takes ``**kwargs``."""
    parameters = inspect.signature(constructor).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return [
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]


def get_ground_truth_dataset(name, **options):
    """Builds a registered ground-truth data set.

    Args:
        name: str, one of ``available_datasets()``.
        **options: keyword arguments of that data set's constructor
            (for "dsprites": ``resolution``).

    Returns:
        A ``GroundTruthData`` instance.

    Raises:
        ValueError: unknown ``name``, or an option the constructor does not take
            (the message names the bad options and the accepted ones).
    """
    if name not in DATASETS:
        raise ValueError(
            f"Unknown dataset {name!r}. Available: {', '.join(available_datasets())}."
        )
    constructor = DATASETS[name]
    accepted = _accepted_options(constructor)
    if accepted is not None:
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ValueError(
                f"Unknown option(s) {', '.join(repr(o) for o in unknown)} for dataset "
                f"{name!r}. Accepted options: {', '.join(accepted) if accepted else 'none'}."
            )
    return constructor(**options)


__all__ = [
    "DATASETS",
    "DSprites",
    "GroundTruthData",
    "available_datasets",
    "get_ground_truth_dataset",
]
