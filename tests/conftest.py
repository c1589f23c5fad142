import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

#: The real MNIST test set, when the workplace provides it (never committed).
MNIST_DIR = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
needs_real_mnist = pytest.mark.skipif(not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists(),
                                      reason=f"real MNIST test set not present in {MNIST_DIR}")
MNIST_TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

TINY_KNOBS = [
    {"name": "free", "count": 2},
    {"name": "x_position", "guidance": "center_of_mass_x"},
    {"name": "size", "guidance": "object_size"},
]


@pytest.fixture
def tiny_model_config():
    """A UDGAN config small enough for a fit step in about a second on 2 cores."""
    return {"knobs": TINY_KNOBS, "resolution": 16, "channels": 1, "filters": 8, "seed": 3}


def widths_by_side(model, input_shape):
    """{feature-map side: channels} after every convolution of ``model.body``."""
    import tensorflow as tf

    x, widths = tf.zeros(input_shape), {}
    for layer in model.body.layers:
        x = layer(x)
        if "conv" in layer.name:
            widths[x.shape[1]] = x.shape[-1]
    return widths
