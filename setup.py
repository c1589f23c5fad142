"""Packaging is declared in setup.cfg; this adds the one thing it cannot say.

The shipped configs stay in the top-level ``configs/`` (where users look for them) and install
as the package ``udgan_tf.configs`` (read with ``importlib.resources`` in ``udgan_tf/config.py``),
so wheels, sdists and editable installs all carry the same files.
"""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["udgan_tf", "udgan_tf.*"]) + ["udgan_tf.configs"],
      package_dir={"udgan_tf.configs": "configs"})
