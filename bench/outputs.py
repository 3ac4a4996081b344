"""A run's outputs, made one way whatever the door: records -> aggregates -> figures -> files.

``lambench run``, a plain ``locust -f`` run (single process or master) and ``lambench report
RUN_DIR`` all end here, after the API Gateway log join (bench/collect/correlate.py) when there
was one:

    records.sqlite --stats_of_store--> RunStats --summarize--> RunSummary --decide--> Recommendation
        --> results.json, summary.json, report.html, summary.md, variants.csv

or, on a Locust master whose workers' records are on other machines, from the merged
aggregates the workers reported. run.json holds the run's facts from its start, so a run that
was interrupted or killed can be reported again with ``lambench report``. Its "region" names
whose prices the costs are in; a run folder from before run.json recorded one is priced at
us-east-1's, and its report says so.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .analysis import RunSummary, summarize
from .collect import RECORDS_NAME, RunStats, merge_records, stats_of_store, worker_stores
from .decide import DecisionSettings, Recommendation, TrafficSettings, decide, no_decision
from .errors import UserError
from .report import (
    render_html,
    render_markdown,
    write_json_atomically,
    write_results_json,
    write_summary_json,
    write_variants_csv,
)

RUN_INFO_NAME = "run.json"
RESULTS_NAME = "results.json"
REPORT_NAME = "report.html"
MARKDOWN_NAME = "summary.md"
CSV_NAME = "variants.csv"
DEFAULT_ARCHITECTURE = "x86_64"


@dataclass(frozen=True)
class Outputs:
    run_dir: Path
    report_html: Path
    results_json: Path
    summary_json: Path
    records_sqlite: Path | None
    summary: RunSummary
    recommendation: Recommendation
    markdown: Path
    csv: Path


def remote_target_facts(kind: str, endpoint: str | None, runtime: str) -> dict[str, str]:
    """run.json's facts of a target that is not the bundled emulator: AWS, or an endpoint given."""
    return {
        "target": "aws" if kind == "aws" else f"endpoint {endpoint}",
        "cpu_mode": "aws" if kind == "aws" else "unknown",
        "runtime_note": runtime,
    }


def write_run_info(run_dir: Path, info: Mapping[str, Any]) -> Path:
    """Keep the run's facts beside its records (atomically), from the moment it starts."""
    return write_json_atomically(info, Path(run_dir) / RUN_INFO_NAME)


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """The facts of a run folder: run.json, else the "run" of an earlier results.json, else none."""
    for name, key in ((RUN_INFO_NAME, None), (RESULTS_NAME, "run")):
        path = Path(run_dir) / name
        if not path.is_file():
            continue
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise UserError(f"{path}: not valid JSON ({err})") from None
        if key is not None and isinstance(found, dict):
            found = found.get(key)
        if isinstance(found, dict):
            return found
    return {"run_id": Path(run_dir).name}


def run_region(info: Mapping[str, Any]) -> str | None:
    """The region a run's facts record (run.json's "region"); None when they record none."""
    region = info.get("region")
    return region if isinstance(region, str) and region else None


def outputs_from_stats(
    run_dir: Path,
    stats: RunStats,
    info: Mapping[str, Any],
    *,
    records: Path | None = None,
    collection: Mapping[str, Any] | None = None,
    traffic: TrafficSettings | None = None,
    decision: DecisionSettings | None = None,
) -> Outputs:
    """Summarise ``stats``, decide for the traffic, and write every output into ``run_dir``.

    Without ``traffic`` and ``decision``, their documented defaults apply.
    """
    run_dir = Path(run_dir)
    facts = {"architecture": DEFAULT_ARCHITECTURE, **info, "records": stats.records}
    architecture = facts["architecture"]
    summary = summarize(
        stats,
        architecture=architecture,
        memory_by_variant=facts.get("memory_by_variant") or {},
        region=run_region(facts),
    )
    decision = decision or DecisionSettings()
    if summary.variants:
        recommendation = decide(summary, stats, traffic or TrafficSettings(), decision, architecture)
    else:
        recommendation = no_decision("no invocation was recorded, so there is nothing to decide from", decision)
    results = write_results_json(summary, facts, run_dir / RESULTS_NAME, recommendation)
    summary_json = write_summary_json(stats, summary, str(facts.get("run_id", run_dir.name)), run_dir, collection)
    html = render_html(summary, facts, run_dir / REPORT_NAME, recommendation)
    markdown = run_dir / MARKDOWN_NAME
    markdown.write_text(render_markdown(summary, recommendation, run_info=facts), encoding="utf-8")
    csv = write_variants_csv(summary, run_dir / CSV_NAME, recommendation)
    return Outputs(run_dir, html, results, summary_json, records, summary, recommendation, markdown, csv)


def outputs_from_store(
    run_dir: Path,
    info: Mapping[str, Any] | None = None,
    *,
    collection: Mapping[str, Any] | None = None,
    traffic: TrafficSettings | None = None,
    decision: DecisionSettings | None = None,
) -> Outputs:
    """The outputs of a run folder's records.sqlite (merged first from worker stores, if any)."""
    run_dir = Path(run_dir)
    if worker_stores(run_dir):
        merge_records(run_dir)
    records = run_dir / RECORDS_NAME
    if not records.is_file():
        raise UserError(f"{run_dir}: no {RECORDS_NAME} (and no records-*.sqlite of workers) to report on")
    facts = dict(info if info is not None else read_run_info(run_dir))
    try:
        stats = stats_of_store(records)
    except (sqlite3.DatabaseError, ValueError) as err:
        # A corrupt file, another program's SQLite, or a store of another record: one line, exit 2.
        raise UserError(f"{records}: not a lambench record store ({err})") from None
    return outputs_from_stats(
        run_dir, stats, facts, records=records, collection=collection, traffic=traffic, decision=decision
    )
