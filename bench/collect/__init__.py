"""Collect: turn invocations into stored rows and read the platform's REPORT lines.

Load hands each InvocationRecord to a RecordStore (SQLite, flushed at least once
a second); REPORT-line parsing supplies cold/init/billed figures, and joins API
Gateway calls to the Lambda invocation behind them.
"""

from bench.collect.reportline import (
    Report,
    ReportLineError,
    find_report,
    parse_json_report,
    parse_log_line,
    parse_report_line,
)
from bench.collect.store import RecordStore, read_records

__all__ = [
    "RecordStore",
    "Report",
    "ReportLineError",
    "find_report",
    "parse_json_report",
    "parse_log_line",
    "parse_report_line",
    "read_records",
]
