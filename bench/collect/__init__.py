"""Collect: turn invocations into stored rows and streaming statistics; read the platform's lines.

Load hands each InvocationRecord to a RecordStore (SQLite, flushed at least once
a second) and to a RunStats (HDR histograms with exact moments, counts, concurrency;
mergeable across Locust workers); REPORT-line parsing supplies cold/init/billed figures;
after a run, ``join_run`` joins API Gateway calls to the Lambda invocations behind them
(beside the records, never rewriting them) and ``stats_of_store`` folds the finished store
into the RunStats that analysis reads. The Locust glue
(listener.py, distributed.py) is left out of this package's namespace: it needs gevent.
"""

from bench.collect.correlate import JoinResult, join_run
from bench.collect.metric import Metric
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
from bench.collect.runfolder import RECORDS_NAME, merge_records, worker_stores
from bench.collect.stats import KeyStats, RunStats, StatsKey, build_stats, stats_of_store
from bench.collect.store import RecordStore, read_records, row_batches

__all__ = [
    "RECORDS_NAME",
    "ColdStartMetric",
    "JoinResult",
    "KeyStats",
    "Metric",
    "RecordStore",
    "Report",
    "ReportLineError",
    "RunStats",
    "StatsKey",
    "build_stats",
    "find_report",
    "join_run",
    "merge_records",
    "parse_emf_cold_start",
    "parse_json_report",
    "parse_log_line",
    "parse_report_line",
    "read_records",
    "row_batches",
    "stats_of_store",
    "worker_stores",
]
