"""Report: results.json, summary.json, the self-contained HTML page, Markdown, CSV and the terminal table.

Every output presents the same figures (a RunSummary) and, when the decision stage made one, the
same Recommendation: render_html / render_html_text (report.html), render_markdown (summary.md),
write_variants_csv (variants.csv), summary_table (the terminal), write_results_json
(results.json) and write_summary_json (summary.json).
"""

from bench.report.csvout import write_variants_csv
from bench.report.markdown import render_markdown
from bench.report.page import render_html, render_html_text
from bench.report.results import (
    SCHEMA_VERSION,
    SUMMARY_NAME,
    Results,
    read_results_json,
    summary_dict,
    write_json_atomically,
    write_results_json,
    write_summary_json,
)
from bench.report.terminal import summary_table

__all__ = [
    "SCHEMA_VERSION",
    "SUMMARY_NAME",
    "Results",
    "read_results_json",
    "render_html",
    "render_html_text",
    "render_markdown",
    "summary_dict",
    "summary_table",
    "write_json_atomically",
    "write_results_json",
    "write_summary_json",
    "write_variants_csv",
]
