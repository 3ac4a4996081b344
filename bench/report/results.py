"""results.json: the machine-readable record of a run, versioned so old files stay readable.

Format history:
  1 - {"schema_version": 1, "run": {...caller's run facts...}, "architecture",
       "percentile_method", "variants": [VariantSummary.as_dict()...], "cheapest"}.
       A variant: counts, cold_starts/cold_known, client_ms and duration_ms as
       {n, p50, p95, p99}, billed_ms_mean/init_ms_mean/max_memory_used_mb as {n, value},
       cost_per_million_usd.
  2 - Every figure carries its interval. Adds "confidence" (0.95) and "cheapest_check"
       ({cheapest, runner_up, comparison, separated, message}, null with fewer than two
       ranked variants). Percentiles gain p50_ci/p95_ci/p99_ci and figures gain "ci", each
       {lo, hi, method, confidence, reason} (lo/hi null and reason set when n is too small),
       or null when the figure has no data. A variant gains cost_per_million_ci, cold_rate
       (a figure, Wilson interval), provisioned_served/init_type_known, client_ms_warm/_cold
       and duration_ms_warm/_cold (percentiles), billed_ms_warm/_cold (figures) and
       warnings (pyperf-style stability checks). Version 1 files read with all of these
       null (not recorded), never zero.
       "paths" (added in place, still version 2): one row per API Gateway variant, with the
       direct path's and the gateway's client p50/p95 at the same memory size, the gateway's
       added latency, and how many of its records the log join matched (cold known) or not.
  3 - One aggregation path: every figure comes from the collector's histograms and exact
       moments. Percentiles follow one rule, named in "percentile_method" (nearest rank,
       HdrHistogram's, 3 significant digits; version 2 used numpy's linear interpolation).
       Client latency counts ok invocations only (version 2 counted every status).
       Adds "concurrency": per variant and path, per-second starts, cold starts, in-flight
       samples and mean concurrency, with their maxima; and "cdfs": client-latency curves per
       variant, path and warm/cold (the percentile at 102 levels); and "recommendation": the
       decision for the user's traffic (bench/decide/model.py; null when none was made). Versions
       1 and 2 read with none of these.
       "region" and "prices" (added in place, still version 3): the region whose prices the costs
       are in (null: the run recorded none, so us-east-1's) and the sentence that says whose they
       are, naming any figure at us-east-1's (bench/analysis/pricing.py). A file without them was
       priced at us-east-1's and reads with region null.
A figure with no data is null. A reader of a newer version refuses it rather than guess.

summary.json (beside it; not versioned with it) holds the run's mergeable aggregates: per
(variant, path, cold) key the counts and the figures of each metric, the encoded HDR histograms
and exact moments ("aggregates", bench/collect/stats.py's wire format), and the concurrency.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from bench.analysis import PERCENTILE_RULE, RunSummary, compare_paths, key_summary
from bench.collect import RunStats
from bench.collect import histograms as hdr
from bench.decide import Recommendation

SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
SUMMARY_NAME = "summary.json"
SUMMARY_SCHEMA_VERSION = 2


class Results(NamedTuple):
    summary: RunSummary
    run: dict[str, Any]
    schema_version: int


def _json_default(value: Any) -> Any:
    # Run facts come from callers as they hold them: datetimes, paths, read-only mappings.
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"run fact of type {type(value).__name__} cannot be written to JSON")


def results_dict(
    summary: RunSummary, run_info: Mapping[str, Any], recommendation: Recommendation | None = None
) -> dict[str, Any]:
    """The results.json document as a dict, schema_version first."""
    paths = [row.as_dict() for row in compare_paths(summary)]
    decided = None if recommendation is None else recommendation.as_dict()
    return {"schema_version": SCHEMA_VERSION, "run": dict(run_info), **summary.as_dict(), "paths": paths,
            "recommendation": decided}  # fmt: skip


def write_results_json(
    summary: RunSummary,
    run_info: Mapping[str, Any],
    path: str | os.PathLike,
    recommendation: Recommendation | None = None,
) -> Path:
    """Write results.json (creating its folder) and return its path.

    The file is written beside its final name and renamed into place, so a run interrupted
    mid-write leaves the previous file or the new one, never half of one.
    """
    return write_json_atomically(results_dict(summary, run_info, recommendation), path)


def write_json_atomically(document: Mapping[str, Any], path: str | os.PathLike, indent: int = 2) -> Path:
    """Write JSON beside its final name and rename it into place (creating the folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=indent, allow_nan=False, default=_json_default)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def summary_dict(
    stats: RunStats, summary: RunSummary, run_id: str, collection: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The summary.json document: the aggregates, their figures per key, and the concurrency."""
    statuses: dict[str, int] = {}
    for key_stats in stats.keys.values():
        for status, count in key_stats.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "run_id": run_id,
        "unit": "ms",
        "percentile_rule": PERCENTILE_RULE,
        "histogram": {
            "unit": hdr.UNIT,
            "lowest": hdr.LOWEST_US,
            "highest": hdr.HIGHEST_US,
            "significant_digits": hdr.SIGNIFICANT_DIGITS,
            "encoding": "HdrHistogram V2, base64",
        },
        "records": sum(statuses.values()),
        "statuses": statuses,
        "keys": key_summary(stats),
        "concurrency": [c.as_dict() for c in summary.concurrency],
        **dict(collection or {}),
        "aggregates": stats.to_wire(),
    }


def write_summary_json(
    stats: RunStats,
    summary: RunSummary,
    run_id: str,
    folder: str | os.PathLike,
    collection: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``<folder>/summary.json`` (atomically); return its path."""
    return write_json_atomically(
        summary_dict(stats, summary, run_id, collection), Path(folder) / SUMMARY_NAME, indent=1
    )


def read_results_json(path: str | os.PathLike) -> Results:
    """Read a results.json of any readable version; ValueError for one this version cannot read."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version not in READABLE_VERSIONS:
        readable = ", ".join(map(str, READABLE_VERSIONS))
        raise ValueError(f"{path}: schema_version {version!r}: this lambench reads {readable}")
    try:
        return Results(RunSummary.from_dict(data), dict(data["run"]), version)
    except (KeyError, TypeError) as error:
        raise ValueError(
            f"{path}: not a readable results.json (schema_version {version}): {type(error).__name__}: {error}"
        ) from None
