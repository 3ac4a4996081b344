"""Collect: turn invocations into stored rows and streaming statistics; read the platform's lines.

Load hands each InvocationRecord to a RecordStore (SQLite, flushed at least once
a second) and to a RunStats (HDR histograms, status counts, concurrency; mergeable
across Locust workers); REPORT-line parsing supplies cold/init/billed figures, and
joins API Gateway calls to the Lambda invocation behind them. The Locust glue
(listener.py, distributed.py) is left out of this package's namespace: it needs gevent.
"""

from bench.collect.reportline import (
    ColdStartMetric,
    Report,
    ReportLineError,
    find_report,
    parse_emf_cold_start,
    parse_json_report,
    parse_log_line,
    parse_report_line,
)
from bench.collect.runfolder import merge_records, write_summary
from bench.collect.stats import RunStats, StatsKey, build_stats
from bench.collect.store import RecordStore, read_records

__all__ = [
    "ColdStartMetric",
    "RecordStore",
    "Report",
    "ReportLineError",
    "RunStats",
    "StatsKey",
    "build_stats",
    "find_report",
    "merge_records",
    "parse_emf_cold_start",
    "parse_json_report",
    "parse_log_line",
    "parse_report_line",
    "read_records",
    "write_summary",
]
