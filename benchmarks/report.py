"""Writes a benchmark's section of BENCHMARKS.md, replacing an older version of it.

A section is delimited by ``<!-- begin NAME -->`` / ``<!-- end NAME -->``; each
benchmark owns its sections, so reruns update their numbers in place.
"""

import os
import pathlib
import re

BENCHMARKS_MD = pathlib.Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def update_section(name, markdown, path=BENCHMARKS_MD):
    path = pathlib.Path(path)
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"<!-- begin {name} -->\n{markdown.strip()}\n<!-- end {name} -->"
    pattern = re.compile(rf"<!-- begin {re.escape(name)} -->.*?<!-- end {re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    partial = path.with_name(path.name + ".partial")   # atomic: a kill leaves the old file whole
    partial.write_text(text)
    os.replace(partial, path)
