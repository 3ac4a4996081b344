"""Parse Lambda REPORT lines: what the platform measured for one invocation.

Lambda writes one REPORT line per invocation, either as TAB-separated text
(``REPORT RequestId: …\\tDuration: 15.74 ms\\t…``) or, for functions with the
JSON log format, as a ``platform.report`` JSON object. Both parse to the same
:class:`Report`, which is where an InvocationRecord gets its server-side
figures (cold, init, duration, billed, memory) — and, for API Gateway calls,
the only way to learn whether the call started cold.

Powertools' Metrics also logs a cold start itself, as a CloudWatch Embedded Metric Format
(EMF) line: a JSON object with an ``_aws`` block and a ``ColdStart`` metric, dimensioned by
``function_name`` and ``service``. :func:`parse_emf_cold_start` reads those lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

_TEXT_PREFIX = "REPORT RequestId:"
_JSON_TYPE = "platform.report"

# Text-format keys → (Report field, converter). Keys not listed here (Status,
# Error Type, whatever AWS adds next) are ignored rather than rejected, so a new
# platform field does not break a running benchmark.
_TEXT_FIELDS: dict[str, tuple[str, type]] = {
    "RequestId": ("request_id", str),
    "Duration": ("duration_ms", float),
    "Billed Duration": ("billed_ms", int),
    "Memory Size": ("memory_mb", int),
    "Max Memory Used": ("max_memory_used_mb", int),
    "Init Duration": ("init_ms", float),
    "Restore Duration": ("restore_ms", float),
    "Billed Restore Duration": ("billed_restore_ms", int),
}

# JSON-format metric names → (Report field, converter).
_JSON_METRICS: dict[str, tuple[str, type]] = {
    "durationMs": ("duration_ms", float),
    "billedDurationMs": ("billed_ms", int),
    "memorySizeMB": ("memory_mb", int),
    "maxMemoryUsedMB": ("max_memory_used_mb", int),
    "initDurationMs": ("init_ms", float),
    "restoreDurationMs": ("restore_ms", float),
    "billedRestoreDurationMs": ("billed_restore_ms", int),
}

_REQUIRED = ("request_id", "duration_ms", "billed_ms", "memory_mb", "max_memory_used_mb")


class ReportLineError(ValueError):
    """A line that claims to be a REPORT line but lacks a required field or has a bad value."""


@dataclass(frozen=True, slots=True)
class Report:
    """The platform's own figures for one invocation, as its REPORT line gives them."""

    request_id: str
    duration_ms: float
    billed_ms: int
    memory_mb: int
    max_memory_used_mb: int
    init_ms: float | None = None
    restore_ms: float | None = None
    billed_restore_ms: int | None = None

    @property
    def cold(self) -> bool:
        """True when the invocation paid for a new environment (init or SnapStart restore)."""
        return self.init_ms is not None or self.restore_ms is not None

    def record_fields(self) -> dict[str, Any]:
        """The InvocationRecord fields this report fills, keyed by their record names."""
        return {
            "request_id": self.request_id,
            "cold": self.cold,
            "init_ms": self.init_ms,
            "duration_ms": self.duration_ms,
            "billed_ms": self.billed_ms,
            "max_memory_mb": self.max_memory_used_mb,
            "memory_mb": self.memory_mb,
            "billed_restore_ms": self.billed_restore_ms,
        }


class ColdStartMetric(NamedTuple):
    """Powertools' ColdStart metric from one EMF log line."""

    function_name: str | None
    service: str | None
    cold_start: float  # the metric's value: 1.0 for one cold start
    timestamp_ms: int  # _aws.Timestamp, milliseconds since the epoch


def parse_emf_cold_start(line: str) -> ColdStartMetric | None:
    """Parse a Powertools EMF line carrying the ColdStart metric; None for any other line.

    Raises ReportLineError when an EMF ColdStart line has no timestamp or a non-numeric value.
    """
    document = _load_json_object(line.strip()) if line.lstrip().startswith("{") else None
    if document is None or not isinstance(document.get("_aws"), dict) or "ColdStart" not in document:
        return None
    raw = document["ColdStart"]
    # Powertools v2+ writes a list of values ([1.0]); older EMF writers a bare number.
    values = raw if isinstance(raw, list) else [raw]
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ReportLineError(f"ColdStart: cannot read {raw!r} in {line.strip()!r}")
    timestamp = document["_aws"].get("Timestamp")
    if not isinstance(timestamp, (int, float)) or isinstance(timestamp, bool):
        raise ReportLineError(f"EMF line without _aws.Timestamp: {line.strip()!r}")
    return ColdStartMetric(document.get("function_name"), document.get("service"), float(sum(values)), int(timestamp))


def parse_report_line(line: str) -> Report | None:
    """Parse a text-format REPORT line; None when the line is not one.

    Raises ReportLineError when the line starts like a REPORT line but cannot be read.
    """
    if not line.startswith(_TEXT_PREFIX):
        return None
    values: dict[str, Any] = {}
    # Strip each part: real lines carry a trailing TAB, and older ones "ms \t".
    for part in line[len("REPORT ") :].split("\t"):
        key, sep, raw = part.strip().partition(":")
        if not sep or key not in _TEXT_FIELDS:
            continue
        name, convert = _TEXT_FIELDS[key]
        values[name] = _convert(name, _first_token(raw), convert, line)
    return _build(values, line)


def parse_json_report(line: str) -> Report | None:
    """Parse a JSON-format ``platform.report`` log line; None when the line is not one."""
    event = _load_json_object(line)
    if event is None or event.get("type") != _JSON_TYPE:
        return None
    record = event.get("record")
    metrics = record.get("metrics") if isinstance(record, dict) else None
    if not isinstance(metrics, dict):
        raise ReportLineError(f"platform.report without record.metrics: {line.strip()!r}")
    assert isinstance(record, dict)  # metrics came from it
    values: dict[str, Any] = {"request_id": record.get("requestId")}
    for key, (name, convert) in _JSON_METRICS.items():
        if metrics.get(key) is not None:
            values[name] = _convert(name, metrics[key], convert, line)
    return _build(values, line)


def parse_log_line(line: str) -> Report | None:
    """Parse a REPORT line in either log format; None when the line is not one."""
    text = line.strip()
    if text.startswith("{"):
        return parse_json_report(text)
    return parse_report_line(text)


def find_report(log_text: str, request_id: str | None = None) -> Report | None:
    """Find the REPORT line in a log tail (e.g. the decoded X-Amz-Log-Result).

    With ``request_id``, only that invocation's report counts; without it, the last
    report in the tail wins, because a tail ends with its own invocation's REPORT.
    Lines are split on "\\n" only: a carriage return is function output, not a line end.
    """
    for line in reversed(log_text.split("\n")):
        report = parse_log_line(line)
        if report is not None and (request_id is None or report.request_id == request_id):
            return report
    return None


def _first_token(raw: str) -> str:
    """The number in a value like ' 15.74 ms ' (the unit is implied by the key)."""
    tokens = raw.split()
    return tokens[0] if tokens else ""


def _convert(name: str, raw: Any, convert: type, line: str) -> Any:
    try:
        if convert is int:
            return _as_int(raw)
        return convert(raw)
    except (TypeError, ValueError):
        raise ReportLineError(f"{name}: cannot read {raw!r} in {line.strip()!r}") from None


def _as_int(raw: Any) -> int:
    # JSON metrics may arrive as 147.0; a whole float is fine, a fraction is not.
    number = float(raw)
    if not number.is_integer():
        raise ValueError(raw)
    return int(number)


def _load_json_object(line: str) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None  # function output that merely starts with "{"
    return event if isinstance(event, dict) else None


def _build(values: dict[str, Any], line: str) -> Report:
    missing = [name for name in _REQUIRED if values.get(name) in (None, "")]
    if missing:
        raise ReportLineError(f"REPORT line without {', '.join(missing)}: {line.strip()!r}")
    return Report(**values)
