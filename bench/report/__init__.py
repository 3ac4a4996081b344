"""Report: results.json, the self-contained HTML page and a Markdown table of a RunSummary."""

from bench.report.markdown import render_markdown
from bench.report.page import render_html, render_html_text
from bench.report.results import (
    SCHEMA_VERSION,
    Results,
    read_results_json,
    write_results_json,
)

__all__ = [
    "SCHEMA_VERSION",
    "Results",
    "read_results_json",
    "render_html",
    "render_html_text",
    "render_markdown",
    "write_results_json",
]
