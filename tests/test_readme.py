"""The README's Python snippets run as written."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def snippet(marker):
    text = README.read_text()
    match = re.search(rf"<!-- snippet: {marker}.*?-->\s*```python\n(.*?)```", text, re.S)
    assert match, f"README has no snippet marked {marker!r}"
    return match.group(1)


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


def test_readme_opens_with_the_two_commands():
    commands = re.findall(r"```bash\n(.*?)\n```", README.read_text(), re.S)[:2]
    assert commands[0].startswith("pip install -e . && python -m udgan_tf.train --dataset dsprites")
    assert commands[1] == 'pip install -e ".[test]" && python -m pytest -q tests'
    ci = (README.parent / ".ci" / "run").read_text()
    assert 'pip install -e ".[test]"' in ci and "python -m pytest -q tests" in ci


@pytest.mark.parametrize("name", ["dsprites", "dsprites_unguided", "dsprites_paper", "celeba_a", "colored_mnist",
                                  "mnist", "image_folder"])
def test_configs_named_in_the_readme_exist(name):
    assert f"configs/{name}.yaml" in README.read_text()
    assert (README.parent / "configs" / f"{name}.yaml").exists()
