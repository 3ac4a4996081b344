"""variants.csv: one row per variant and path with every figure, for spreadsheets and scripts.

Plain CSV (RFC 4180, a header row, comma-separated, UTF-8). The columns are the same whatever the
run, so a script can rely on them: a figure with no data is an empty cell (never 0), a figure's
interval is ``<name>_lo``/``<name>_hi`` (empty when it could not be computed), booleans are
``true``/``false``, and numbers keep their full precision. The ``traffic_*`` columns are the
decision stage's figures for the user's traffic, on the rows of the traffic's path, when the
report has a recommendation; ``usd_per_million_*`` split the measured cost by component
(bench/report/components.py).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from bench.analysis import Figure, Interval, Percentiles, RunSummary, VariantSummary
from bench.decide import Recommendation
from bench.records import STATUSES

from .components import COMPONENTS, split_measured
from .rows import Row, table_rows

_PERCENTILE_FIELDS = ("client_ms", "duration_ms", "client_ms_warm", "client_ms_cold", "duration_ms_warm",
                      "duration_ms_cold")  # fmt: skip
_FIGURE_FIELDS = ("billed_ms_mean", "billed_ms_warm", "billed_ms_cold", "init_ms_mean")
_ERROR_STATUSES = tuple(s for s in STATUSES if s != "ok")
_TRAFFIC = ("traffic_usd_per_month", "traffic_usd_per_million", "traffic_predicted_cold_share", "traffic_latency_ms",
            "traffic_latency_upper_ms", "traffic_duration_trimmed_mean_ms")  # fmt: skip


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _bounds(name: str, interval: Interval | None) -> Iterator[tuple[str, object]]:
    known = interval is not None and interval.known
    yield f"{name}_lo", interval.lo if known and interval is not None else None
    yield f"{name}_hi", interval.hi if known and interval is not None else None


def _percentiles(name: str, stat: Percentiles | None) -> Iterator[tuple[str, object]]:
    yield f"{name}_n", stat.n if stat is not None else None
    for q in ("p50", "p95", "p99"):
        yield f"{name}_{q}", getattr(stat, q) if stat is not None else None
        yield from _bounds(f"{name}_{q}", stat.interval(q) if stat is not None else None)


def _figure(name: str, figure: Figure | None) -> Iterator[tuple[str, object]]:
    yield f"{name}_n", figure.n if figure is not None else None
    yield name, figure.value if figure is not None else None
    yield from _bounds(name, figure.ci if figure is not None else None)


def _cells(row: Row, summary: RunSummary, with_decision: bool) -> Iterator[tuple[str, object]]:
    v = row.v
    yield from (("variant", v.variant), ("memory_mb", v.memory_mb), ("path", v.path),
                ("invocations", v.invocations), ("ok", v.ok), ("errors", v.errors))  # fmt: skip
    for status in _ERROR_STATUSES:
        yield f"errors_{status}", v.errors_by_status.get(status, 0)
    yield from (("cold_starts", v.cold_starts), ("cold_known", v.cold_known))
    yield from _figure("cold_rate", v.cold_rate)
    yield "provisioned_served", v.provisioned_served
    for name in _PERCENTILE_FIELDS:
        yield from _percentiles(name, getattr(v, name))
    for name in _FIGURE_FIELDS:
        yield from _figure(name, getattr(v, name))
    yield from (("max_memory_used_mb", v.max_memory_used_mb.value), ("max_memory_used_n", v.max_memory_used_mb.n))
    yield "cost_per_million_usd", v.cost_per_million_usd
    yield from _bounds("cost_per_million_usd", v.cost_per_million_ci)
    split = split_measured(v, summary.architecture, summary.region)
    for field, _, _ in COMPONENTS[:4]:  # as measured there is no provisioned-concurrency charge
        yield f"usd_per_million_{field}", getattr(split, field) if split is not None else None
    yield "cheapest_on_path", row.cheapest
    yield "recommended", row.recommended if with_decision else None
    yield "infeasible_reason", row.infeasible
    c = row.candidate
    figures = (
        (c.monthly_usd, c.usd_per_invocation * 1e6, c.predicted_cold_share, c.latency_ms, c.latency_upper_ms,
         c.duration_ms) if c is not None else (None,) * len(_TRAFFIC)
    )  # fmt: skip
    yield from zip(_TRAFFIC, figures, strict=True)
    yield "warnings", " | ".join(v.warnings)


def variants_rows(summary: RunSummary, recommendation: Recommendation | None = None) -> list[dict[str, str]]:
    """The CSV's rows as {column: text}, columns in the file's order."""
    return [
        {name: _value(value) for name, value in _cells(row, summary, recommendation is not None)}
        for row in table_rows(summary, recommendation)
    ]


def write_variants_csv(
    summary: RunSummary, path: str | os.PathLike[str], recommendation: Recommendation | None = None
) -> Path:
    """Write variants.csv (creating its folder; written beside its name, then renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = variants_rows(summary, recommendation)
    header = list(rows[0]) if rows else [name for name, _ in _cells_header(summary)]
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def _cells_header(summary: RunSummary) -> Iterator[tuple[str, object]]:
    """The column names for a run with no rows: those of an empty variant, so they cannot drift."""
    empty = VariantSummary("", "direct", None, 0, 0, 0, {}, {}, None, 0, Percentiles(0), Percentiles(0), Figure(0),
                           Figure(0), Figure(0), None)  # fmt: skip
    return _cells(Row(empty, "", False, False), summary, False)
