import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

TINY_KNOBS = [
    {"name": "free", "count": 2},
    {"name": "x_position", "guidance": "center_of_mass_x"},
    {"name": "size", "guidance": "object_size"},
]


@pytest.fixture
def tiny_model_config():
    """A UDGAN config small enough for a fit step in about a second on 2 cores."""
    return {"knobs": TINY_KNOBS, "resolution": 16, "channels": 1, "filters": 8, "seed": 3}
