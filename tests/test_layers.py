"""The package's layering is a checked contract: setup.cfg's import-linter contracts hold, and a
cycle or an upward import added to them fails ``lint-imports`` with a message naming it."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent


def lint_imports(package_parent, cwd):
    """``lint-imports`` with the repository's contracts on the ``udgan_tf`` found in ``package_parent``."""
    return subprocess.run([shutil.which("lint-imports") or "lint-imports", str(REPO / "setup.cfg"),
                           "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(package_parent)})


def copy_of_the_package(tmp_path):
    shutil.copytree(REPO / "udgan_tf", tmp_path / "udgan_tf", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "udgan_tf"


def test_no_module_of_the_package_is_in_an_import_cycle():
    """Every import, function-local ones included (grimp reads them all), between any two modules."""
    import grimp

    graph = grimp.build_graph("udgan_tf")
    reached = {}

    def reachable(start):
        if start not in reached:
            seen, todo = set(), [start]
            while todo:
                for imported in graph.find_modules_directly_imported_by(todo.pop()):
                    if imported not in seen:
                        seen.add(imported)
                        todo.append(imported)
            reached[start] = seen
        return reached[start]

    cycles = sorted(module for module in graph.modules if module in reachable(module))
    assert not cycles, f"modules that import themselves through others: {cycles}"


@pytest.mark.slow
def test_lint_imports_passes_on_the_package(tmp_path):
    result = lint_imports(REPO, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.slow
def test_a_model_that_imports_editing_fails_lint_imports_naming_the_import(tmp_path):
    package = copy_of_the_package(tmp_path / "copy")
    with open(package / "models" / "udgan.py", "a") as file:     # a function-local import: a cycle
        file.write("\n\ndef _invert(images):\n    from udgan_tf.editing import editor\n    return editor\n")
    result = lint_imports(package.parent, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout and "udgan_tf.models.udgan -> udgan_tf.editing.editor" in result.stdout, \
        result.stdout
