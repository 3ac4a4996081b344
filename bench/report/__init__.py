"""Report: results.json, summary.json, the self-contained HTML page, Markdown and the terminal table."""

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
]
