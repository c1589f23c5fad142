"""Saving the seed states of a model's random samplers with its weights.

Keras does not save a ``keras.random.SeedGenerator``; a run resumed from a backup would then
replay the first knob draws (and, for the beta-VAE, the first posterior noise) instead of
continuing them. ``SavesSamplerStates`` keeps each sampler's state among the model's own
variables in the weights file.
"""

#: Where the knob sampler's seed state is kept among the model's own variables in a weights file.
KNOB_SAMPLER_KEY = "knob_sampler_state"


class SavesSamplerStates:
    """Mixin for a ``keras.Model`` (put it first among the bases) whose ``samplers()`` returns
    ``{key in the weights file: SeedGenerator}``; the default is the knob sampler
    ``self.seed_generator``."""

    def samplers(self):
        return {KNOB_SAMPLER_KEY: self.seed_generator}

    def save_own_variables(self, store):
        """Keras' own variables plus every sampler's seed state."""
        super().save_own_variables(store)
        for key, sampler in self.samplers().items():
            store[key] = sampler.state.numpy()

    def load_own_variables(self, store):
        """Inverse of ``save_own_variables``; a file written without a sampler's state loads too
        (that sampler then starts from its seed)."""
        keys, samplers = list(store.keys()), self.samplers()
        for key, sampler in samplers.items():
            if key in keys:
                sampler.state.assign(store[key])
        super().load_own_variables({key: store[key] for key in keys if key not in samplers})
