"""A trained model from its run directory: the config's method, built and given the checkpoint."""

from udgan_tf.models import registry
from udgan_tf.models.stabilisers import upgrade_flat_model_config
from udgan_tf.runs import RunDirectory, RunDirectoryError


def load_model(run_dir, compile=False):
    """Rebuilds the trained model (UDGAN or the run's ``model.method``) of a run directory from
    its config and checkpoint. The model generates and embeds; turning real images into knobs
    is the editor's (``udgan_tf.editing.load_editor``), which adds the run's knob encoder.

    Raises:
        RunDirectoryError: not a run directory, or a run without a checkpoint.

    Example:
        >>> model = load_model("runs/quickstart")
        >>> images = model(model.sample_knobs(4))      # [4, 64, 64, 1] in [0, 1]
    """
    run = RunDirectory(run_dir)
    config = run.read_config()
    if not run.checkpoint_path.exists():
        raise RunDirectoryError(f"Run {str(run.path)!r} has no checkpoint ({run.checkpoint_path} is missing): "
                                "train it first with python -m udgan_tf.train --output-dir " + str(run.path))
    model_config = config["model"]
    if registry.method_of(model_config).name == registry.DEFAULT_METHOD:
        # Runs written before model.stabilisers existed keep the tricks as flat model keys.
        model_config = upgrade_flat_model_config(model_config)
    model = registry.build_model(model_config)
    if compile:
        model.compile()
    model.load_weights(run.checkpoint_path)
    return model
