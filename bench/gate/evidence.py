"""What a gate reads: a run's figures and the samples behind them, from a run folder or a baseline file.

A run folder gives results.json (the figures and the recommendation) and summary.json's
"aggregates" (the collector's per-key HDR histograms and exact moments, bench/collect/stats.py's
wire format), or, failing that, records.sqlite folded again. A baseline file (``lambench
baseline save``) keeps exactly those two, results and aggregates, in one JSON document of a few
hundred kB at most, whatever the run's length: what a later regression test needs, and not the
records.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.analysis import RunSummary, VariantSummary
from bench.analysis.pricing import PER_CALL, prices_for
from bench.analysis.sample import Sample
from bench.collect import RECORDS_NAME, Metric, RunStats, stats_of_store
from bench.errors import UserError
from bench.report import SUMMARY_NAME, read_results_json, write_json_atomically

RESULTS_NAME = "results.json"
BASELINE_FORMAT = "lambench-baseline"
BASELINE_VERSION = 1


@dataclass(frozen=True)
class VariantEvidence:
    """One (variant, path) of a run: its figures, and the samples its intervals come from."""

    summary: VariantSummary
    client_ms: Sample  # successful calls, warm and cold
    billed_ms: Sample
    architecture: str  # prices its cost ...
    region: str | None = None  # ... in this region's prices (None: not recorded, us-east-1's)

    @property
    def prices_statement(self) -> str:
        """Whose prices its cost is in (bench/analysis/pricing.py)."""
        return prices_for(self.region).statement(self.architecture, [self.summary.path], PER_CALL)

    @property
    def throttled(self) -> int:
        return self.summary.errors_by_status.get("throttled", 0)


@dataclass(frozen=True)
class RunEvidence:
    source: str  # the folder or file it came from, for messages
    results: dict[str, Any]  # results.json as it was written
    summary: RunSummary
    stats: RunStats

    @property
    def run(self) -> Mapping[str, Any]:
        run = self.results.get("run")
        return run if isinstance(run, dict) else {}

    @property
    def function(self) -> str | None:
        name = self.run.get("function")
        return name if isinstance(name, str) else None

    @property
    def run_id(self) -> str:
        return str(self.run.get("run_id", self.source))

    def recommended(self) -> tuple[str | None, str, str]:
        """(variant, path, why): the recommended variant on the traffic's path; variant None when none was."""
        decided = self.results.get("recommendation")
        if not isinstance(decided, dict):
            return None, "direct", "this run made no recommendation"
        memory = decided.get("memory") or {}
        path = (decided.get("traffic") or {}).get("path", "direct")
        variant = memory.get("variant")
        if variant is None:
            return None, path, f"no size was recommended: {memory.get('reason', 'every size was infeasible')}"
        return variant, path, str(memory.get("reason", ""))

    def variants(self) -> dict[tuple[str, str], VariantEvidence]:
        """Every (variant, path) the run measured, in the summary's order."""
        metrics: dict[tuple[str, str], dict[str, list[Metric]]] = defaultdict(lambda: defaultdict(list))
        self.stats.flush()
        for key, key_stats in self.stats.keys.items():
            for name in ("client_ms", "billed_ms"):
                if name in key_stats.metrics:
                    metrics[(key.variant, key.path)][name].append(key_stats.metrics[name])
        out = {}
        for row in self.summary.variants:
            found = metrics.get((row.variant, row.path), {})
            out[(row.variant, row.path)] = VariantEvidence(
                row,
                Sample.from_metrics(found.get("client_ms", ())),
                Sample.from_metrics(found.get("billed_ms", ())),
                self.summary.architecture,
                self.summary.region,
            )
        return out


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise UserError(f"{path}: cannot be read as JSON ({err})") from None


def _summary(results: Any, where: Path) -> RunSummary:
    if not isinstance(results, dict) or "schema_version" not in results:
        raise UserError(f"{where}: not a lambench results.json")
    try:
        return RunSummary.from_dict(results)
    except (KeyError, TypeError, ValueError) as err:
        raise UserError(f"{where}: not a readable results.json ({type(err).__name__}: {err})") from None


def _stats(wire: Any, where: Path) -> RunStats:
    try:
        return RunStats.from_wire(wire)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise UserError(f"{where}: its aggregates cannot be read ({type(err).__name__}: {err})") from None


def load_run(run_dir: Path) -> RunEvidence:
    """A run folder's evidence; UserError (exit 2) when it is not one a gate can read."""
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: not a run folder (give reports/<run-id>)")
    results_path = run_dir / RESULTS_NAME
    if not results_path.is_file():
        hint = " (run `lambench report` on it first)" if (run_dir / RECORDS_NAME).is_file() else ""
        raise UserError(f"{run_dir}: no {RESULTS_NAME}{hint}")
    try:
        read_results_json(results_path)  # refuses a version this lambench cannot read
    except ValueError as err:
        raise UserError(str(err)) from None
    results = _json(results_path)
    summary = _summary(results, results_path)
    summary_path = run_dir / SUMMARY_NAME
    if summary_path.is_file():
        aggregates = _json(summary_path)
        stats = _stats(aggregates.get("aggregates") if isinstance(aggregates, dict) else None, summary_path)
    elif (run_dir / RECORDS_NAME).is_file():
        stats = stats_of_store(run_dir / RECORDS_NAME)
    else:
        raise UserError(f"{run_dir}: neither {SUMMARY_NAME} nor {RECORDS_NAME}: no samples to test")
    return RunEvidence(str(run_dir), results, summary, stats)


def load_baseline(path: Path) -> RunEvidence:
    """``--baseline``: a run folder, a baseline file, or a results.json with its run folder around it."""
    if path.is_dir():
        return load_run(path)
    if not path.is_file():
        raise UserError(f"--baseline {path}: no such file or folder (give a run folder or a baseline file)")
    document = _json(path)
    if isinstance(document, dict) and document.get("format") == BASELINE_FORMAT:
        if document.get("version") != BASELINE_VERSION:
            raise UserError(f"{path}: baseline version {document.get('version')!r}: this lambench reads 1")
        results = document.get("results")
        summary = _summary(results, path)  # refuses anything but a results.json's dict
        return RunEvidence(str(path), dict(results or {}), summary, _stats(document.get("aggregates"), path))
    if isinstance(document, dict) and "schema_version" in document and "run" in document:
        return load_run(path.parent)  # a results.json: its samples are in its folder
    raise UserError(f"{path}: neither a baseline file (lambench baseline save) nor a results.json")


def save_baseline(run_dir: Path, path: Path) -> Path:
    """Write what a later ``lambench gate --baseline`` needs from ``run_dir`` to ``path``."""
    evidence = load_run(run_dir)
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give the baseline file's path, e.g. {path / 'baseline.json'}")
    document = {
        "format": BASELINE_FORMAT,
        "version": BASELINE_VERSION,
        "saved": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "run_id": evidence.run_id,
        "function": evidence.function,
        "results": evidence.results,
        "aggregates": evidence.stats.to_wire(),
    }
    try:
        return write_json_atomically(document, path, indent=0)
    except OSError as err:
        raise UserError(f"{path}: cannot write the baseline ({err.strerror})") from None
