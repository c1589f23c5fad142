"""The README's Python snippets run as written; its opening commands and the configs it names work."""

import pathlib
import re
import shlex

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def snippet(marker):
    text = README.read_text()
    match = re.search(rf"<!-- snippet: {marker}.*?-->\s*```python\n(.*?)```", text, re.S)
    assert match, f"README has no snippet marked {marker!r}"
    return match.group(1)


@pytest.mark.slow
def test_fit_snippet_runs(capsys):
    exec(compile(snippet("fit"), "README.md:fit", "exec"), {})
    assert "(4, 32, 32, 1) (4, 6)" in capsys.readouterr().out


def test_data_snippet_runs(capsys):
    exec(compile(snippet("data"), "README.md:data", "exec"), {})
    assert "(4, 64, 64, 3) (4, 40)" in capsys.readouterr().out


def test_register_snippet_runs_and_the_guidance_builds():
    from udgan_tf import guidance

    text = README.read_text()
    code = re.search(r"```python\n(import tensorflow as tf\nimport udgan_tf\n\n@udgan_tf.guidance.register.*?)```",
                     text, re.S).group(1)
    try:
        exec(compile(code, "README.md:register", "exec"), {})
        import tensorflow as tf

        assert guidance.build("brightness")(tf.ones((2, 8, 8, 1))).shape == (2, 1)
    finally:
        guidance.unregister("brightness")


@pytest.mark.slow
def test_editing_snippet_runs_on_a_run_with_a_knob_encoder(tmp_path, monkeypatch):
    import numpy as np

    from udgan_tf import config as config_lib
    from udgan_tf.editing import train_encoder
    from udgan_tf.training import train

    monkeypatch.chdir(tmp_path)            # the snippet reads runs/dsprites
    config = config_lib.resolve_config({
        "dataset": {"name": "dsprites"},
        "model": {"resolution": 16, "filters": 8, "knobs": [{"name": "free", "count": 2}, {"name": "size"}]},
        "training": {"steps": 2, "batch_size": 8, "log_every": 1, "image_every": 1000, "traversal_values": 3}})
    train(config, "runs/dsprites", verbose=0)
    train_encoder("runs/dsprites", verbose=0, steps=2, log_every=1, backup_every=1, filters=8)
    names = {"images": np.full((3, 16, 16, 1), 0.5, np.float32)}
    exec(compile(snippet("editing"), "README.md:editing", "exec"), names)
    assert names["knobs"].shape == (3, 3) and names["larger"].shape == (3, 16, 16, 1)
    assert names["editor"].encoder is not None


def opening_commands():
    """The README's first two bash blocks, each split at ``&&`` into argument lists."""
    blocks = re.findall(r"```bash\n(.*?)\n```", README.read_text(), re.S)[:2]
    return [[shlex.split(part) for part in block.split("&&")] for block in blocks]


def test_the_quick_start_command_trains_the_shipped_dsprites_config():
    (install, train_command), _ = opening_commands()
    assert install[:3] == ["pip", "install", "-e"] and (README.parent / install[3] / "setup.cfg").exists()
    assert train_command[:3] == ["python", "-m", "udgan_tf.train"]
    from udgan_tf import train

    args = train.parse_args(train_command[3:])
    config = train.build_config(args)  # what the command would train: its flags over the shipped config
    assert config["dataset"]["name"] == "dsprites" and config["training"]["steps"] == args.steps


def test_the_test_command_installs_pytest_and_finds_this_suite():
    import importlib.metadata

    _, (install, test_command) = opening_commands()
    package, extra = re.fullmatch(r"(.*)\[(\w+)\]", install[3]).groups()
    assert install[:3] == ["pip", "install", "-e"] and (README.parent / package / "setup.cfg").exists()
    requirements = importlib.metadata.requires("udgan_tf")
    assert any(r.startswith("pytest") and f'extra == "{extra}"' in r for r in requirements), requirements
    assert test_command[:3] == ["python", "-m", "pytest"] and (README.parent / test_command[-1] / "conftest.py").exists()


def test_every_config_the_readme_names_loads_and_every_shipped_config_is_named():
    from udgan_tf import config as config_lib

    named = set(re.findall(r"configs/([a-z][a-z0-9_]*)\.yaml", README.read_text()))  # not NAME
    for name in named:
        config_lib.load_config(config_lib.config_path_for(name))  # raises if missing or invalid
    shipped = {path.stem for path in config_lib.shipped_config_dir().glob("*.yaml")}
    assert named >= shipped, f"shipped but not in the README: {sorted(shipped - named)}"
