"""results.json: the machine-readable record of a run, versioned so old files stay readable.

Format history:
  1 - {"schema_version": 1, "run": {...caller's run facts...}, "architecture",
       "percentile_method", "variants": [VariantSummary.as_dict()...], "cheapest"}.
A figure with no data is null. A reader of a newer version refuses it rather than guess.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from bench.analysis.summary import RunSummary

SCHEMA_VERSION = 1
READABLE_VERSIONS = (1,)


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
    return {"schema_version": SCHEMA_VERSION, "run": dict(run_info), **summary.as_dict()}


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
    return Results(RunSummary.from_dict(data), dict(data["run"]), version)
