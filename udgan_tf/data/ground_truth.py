"""The interface shared by every data set whose generative factors are known.

Modelled on disentanglement_lib's ``GroundTruthData``: metrics never see a model or
a file format, only factors (integer class indices per factor) and observations
(images in [0, 1]).
"""

import numpy as np


class GroundTruthData:
    """A data set whose images are a deterministic function of discrete factors.

    Subclasses set ``factor_names``, ``factor_sizes`` and ``observation_shape`` and
    implement ``sample_observations_from_factors``.

    Attributes:
        factor_names: tuple of str. One name per factor, in index order.
        factor_sizes: tuple of int. Number of values each factor takes.
        observation_shape: tuple (H, W, C) of one image.
        deterministic: bool. True when an observation is a function of its factors
            alone (dSprites); False when drawing it also draws unlabelled variation
            (which MNIST digit of a class, the exact colour inside a bin).
    """

    factor_names = ()
    factor_sizes = ()
    observation_shape = ()
    deterministic = True

    @property
    def num_factors(self):
        return len(self.factor_sizes)

    def __len__(self):
        return int(np.prod(self.factor_sizes))

    @property
    def factor_bases(self):
        """Mixed-radix bases: ``index = sum(factor * base)``. Shape ``[num_factors]``."""
        sizes = np.asarray(self.factor_sizes, dtype=np.int64)
        return np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]]).astype(np.int64)

    def sample_factors(self, num, random_state):
        """Draws factors uniformly. Returns int64 ``[num, num_factors]``."""
        return np.stack(
            [random_state.randint(size, size=num) for size in self.factor_sizes], axis=1
        ).astype(np.int64)

    def sample_observations_from_factors(self, factors, random_state):
        """Renders factors ``[N, num_factors]`` to float32 images ``[N, H, W, C]`` in [0, 1]."""
        raise NotImplementedError

    def sample(self, num, random_state):
        """Returns ``(factors [num, num_factors], observations [num, H, W, C])``."""
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num, random_state):
        return self.sample(num, random_state)[1]

    def index_of(self, factors):
        """Flat index in the original data set's order. ``[N, num_factors] -> [N]``."""
        factors = np.asarray(factors, dtype=np.int64)
        sizes = np.asarray(self.factor_sizes)
        if factors.ndim != 2 or factors.shape[1] != len(sizes):
            raise ValueError(
                f"factors must have shape [N, {len(sizes)}]. Received: shape={factors.shape}"
            )
        if np.any(factors < 0) or np.any(factors >= sizes):
            raise ValueError(
                f"factor values must lie in [0, size) for sizes {tuple(self.factor_sizes)}."
            )
        return factors @ self.factor_bases

    def factors_of(self, index):
        """Inverse of ``index_of``. ``[N] -> [N, num_factors]``."""
        index = np.asarray(index, dtype=np.int64)
        if np.any(index < 0) or np.any(index >= len(self)):
            raise ValueError(f"index must lie in [0, {len(self)}).")
        return (index[:, None] // self.factor_bases) % np.asarray(self.factor_sizes)
