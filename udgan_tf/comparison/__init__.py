"""Several methods trained and scored alike, side by side (``python -m udgan_tf.compare``).

``entries``: what can be compared and the published figures (``published.json``); ``runner``:
each method and seed trained, evaluated and recorded, then ``compare`` writes the report;
``report``: the Markdown table, the targets and the figures.
"""

from udgan_tf.comparison.entries import ENTRIES, METRICS, PUBLISHED, CompareError, parse_entries
from udgan_tf.comparison.report import report_markdown, summarise, target_lines
from udgan_tf.comparison.runner import compare, entry_config, run_entry

__all__ = ["ENTRIES", "METRICS", "PUBLISHED", "CompareError", "compare", "entry_config", "parse_entries",
           "report_markdown", "run_entry", "summarise", "target_lines"]
