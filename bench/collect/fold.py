"""Folding a batch of record rows into a RunStats: one dict lookup per row, numpy for the rest.

A batch is a sequence of rows (bench/collect/rows.py: tuples in ``bench.records.FIELDS``
order), such as the rows the collector has just handed to SQLite, or a chunk read back from it
(bench/collect/store.py's ``row_batches``). Each row gets its key's code, (variant, path, cold),
in one pass of dict lookups; counting and recording are then numpy over whole columns. Every
aggregate is a sum over records, so how rows are batched never changes the result.

What each key gets:
- the count of each status, and of each error type (over records that are not ``ok``), each
  init type and each configured memory size;
- the largest Max Memory Used;
- client latency of the ``ok`` records only (a throttle answered in 2 ms is not a fast
  invocation), duration, billed duration (with SnapStart's Billed Restore Duration added) and
  init duration of every record that has them (an error that ran is billed); and per (variant,
  path) the concurrency timeline of every record.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..records import FIELDS
from . import histograms as hdr
from .rows import Row

if TYPE_CHECKING:
    from .stats import KeyStats, RunStats

COLD_LABELS = {True: "cold", False: "warm", None: "unknown"}
MEASURED = ("duration_ms", "billed_ms", "init_ms")
# The fields a fold reads; a reader that has the choice (the store) fetches only these.
FOLD_FIELDS = (
    "variant",
    "path",
    "cold",
    "status",
    "error_type",
    "init_type",
    "memory_mb",
    "max_memory_mb",
    "client_ms",
    *MEASURED,
    "t_start_ns",
    "billed_restore_ms",
)


class Layout:
    """Where each field a fold reads sits in a row: full record rows, or rows of FOLD_FIELDS."""

    def __init__(self, fields: Sequence[str]) -> None:
        position = {name: index for index, name in enumerate(fields)}
        self.key_of = operator.itemgetter(position["variant"], position["path"], position["cold"])
        self.column_of: dict[str, Callable[[Row], Any]] = {
            name: operator.itemgetter(position[name]) for name in FOLD_FIELDS
        }


RECORD_ROWS = Layout(FIELDS)
FOLD_ROWS = Layout(FOLD_FIELDS)


class _Codes(dict):
    """Value -> 0, 1, 2 ... in order of first appearance; looking a value up gives it a code."""

    def __missing__(self, value: Any) -> int:
        code = self[value] = len(self)
        return code


def _codes(values: Iterable[Any], codes: _Codes, count: int) -> np.ndarray:
    return np.fromiter(map(codes.__getitem__, values), dtype=np.intp, count=count)


def fold_rows(stats: RunStats, rows: Sequence[Row], layout: Layout = RECORD_ROWS) -> None:
    """Fold a batch of rows (whole records, or FOLD_FIELDS with ``FOLD_ROWS``) into ``stats``."""
    if not rows:
        return
    columns = layout.column_of
    raw_keys = _Codes()
    key_code = _codes(map(layout.key_of, rows), raw_keys, len(rows))
    members = _members(key_code, len(raw_keys))
    # Rows read back from SQLite have cold as 0/1: equal to False/True as dict keys.
    key_stats = [stats.key_stats((variant, path, COLD_LABELS[cold])) for variant, path, cold in raw_keys]
    status_values = _Codes()
    status_code = _codes(map(columns["status"], rows), status_values, len(rows))
    _add_counts(status_code, status_values, key_code, key_stats, "statuses")
    ok = status_code == status_values.get("ok", -1)
    errors = np.flatnonzero(~ok)
    if errors.size:
        error_types = [columns["error_type"](rows[i]) for i in errors.tolist()]
        _count_by_key(error_types, key_code[errors], key_stats, "error_types")
    _count_by_key(list(map(columns["init_type"], rows)), key_code, key_stats, "init_types")
    _count_by_key(list(map(columns["memory_mb"], rows)), key_code, key_stats, "memory")
    _fold_max_memory(_float_column(rows, columns["max_memory_mb"]), members, key_stats)
    client_ms = _float_column(rows, columns["client_ms"])
    _fold_metric("client_ms", np.where(ok, client_ms, np.nan), members, key_stats)
    for name in MEASURED:
        values = _float_column(rows, columns[name])
        if name == "billed_ms":
            # A SnapStart restore's Billed Restore Duration is billed too: billed ms is all of it.
            values = values + np.nan_to_num(_float_column(rows, columns["billed_restore_ms"]))
        _fold_metric(name, values, members, key_stats)
    start = np.fromiter(map(columns["t_start_ns"], rows), dtype=np.int64, count=len(rows))
    for (variant, path, cold), rows_of_key in zip(raw_keys, members, strict=True):
        stats.timeline(variant, path).add(start[rows_of_key], client_ms[rows_of_key], cold=bool(cold))


def _members(key_code: np.ndarray, keys: int) -> list:
    """The rows of each key code, 0 .. keys - 1, as index arrays (or one slice for a single key)."""
    if keys == 1:
        return [slice(None)]
    order = np.argsort(key_code, kind="stable")
    return np.split(order, np.cumsum(np.bincount(key_code, minlength=keys))[:-1])


def _count_by_key(column: list[Any], key_code: np.ndarray, key_stats: list[KeyStats], counter: str) -> None:
    """Add each key's count of each value of one column into its ``counter`` dict."""
    values = _Codes()
    _add_counts(_codes(column, values, len(column)), values, key_code, key_stats, counter)


def _add_counts(
    code: np.ndarray, values: _Codes, key_code: np.ndarray, key_stats: list[KeyStats], counter: str
) -> None:
    """Per key, add how often each coded value occurs (None is left out: a value not known)."""
    width = len(values)
    counts = np.bincount(key_code * width + code, minlength=len(key_stats) * width)
    for stats_of_key, counts_of_key in zip(key_stats, counts.reshape(len(key_stats), width).tolist(), strict=True):
        target = getattr(stats_of_key, counter)
        for value, count in zip(values, counts_of_key, strict=True):
            if count and value is not None:
                target[value] = target.get(value, 0) + count


def _fold_max_memory(used: np.ndarray, members: list, key_stats: list[KeyStats]) -> None:
    for stats_of_key, rows_of_key in zip(key_stats, members, strict=True):
        values = used[rows_of_key]
        values = values[~np.isnan(values)]
        if values.size:
            stats_of_key.add_max_memory(int(values.max()), int(values.size))


def _float_column(rows: Sequence[Row], column: Callable[[Row], Any]) -> np.ndarray:
    """One numeric field of every row as float64; None becomes NaN (a figure the record does not have)."""
    return np.array(list(map(column, rows)), dtype=np.float64)


def _fold_metric(name: str, values_ms: np.ndarray, members: list, key_stats: list[KeyStats]) -> None:
    """Record one metric's present values into each key's histogram (µs computed once for all)."""
    present = ~np.isnan(values_ms)
    values_us = np.zeros(values_ms.size, dtype=np.int64)
    values_us[present] = hdr.ms_to_us(values_ms[present])
    for stats_of_key, rows_of_key in zip(key_stats, members, strict=True):
        values = values_us[rows_of_key][present[rows_of_key]]
        if values.size:
            stats_of_key.metric(name).record(values)
