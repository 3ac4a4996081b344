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
A figure with no data is null. A reader of a newer version refuses it rather than guess.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from bench.analysis.paths import compare_paths
from bench.analysis.summary import RunSummary

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)


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


def results_dict(summary: RunSummary, run_info: Mapping[str, Any]) -> dict[str, Any]:
    """The results.json document as a dict, schema_version first."""
    paths = [row.as_dict() for row in compare_paths(summary)]
    return {"schema_version": SCHEMA_VERSION, "run": dict(run_info), **summary.as_dict(), "paths": paths}


def write_results_json(
    summary: RunSummary, run_info: Mapping[str, Any], path: str | os.PathLike
) -> Path:
    """Write results.json (creating its folder) and return its path.

    The file is written beside its final name and renamed into place, so a run interrupted
    mid-write leaves the previous file or the new one, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        results_dict(summary, run_info), indent=2, allow_nan=False, default=_json_default
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


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
        raise ValueError(f"{path}: not a readable results.json (schema_version {version}): "
                         f"{type(error).__name__}: {error}") from None
