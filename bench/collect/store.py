"""The SQLite record store: every InvocationRecord of a run, on disk within a second.

One append-only table, ``invocations``, whose columns are ``bench.records.FIELDS``
in order. Writers buffer records and flush them in one transaction at least once
a second, so an interrupted run keeps what it measured while a busy Locust
process does not pay for a commit per request. Analysis reads the rows back
with :func:`read_records`.
"""

from __future__ import annotations

import sqlite3
import time
import types
import typing
from pathlib import Path
from typing import Any, Iterable

from bench.records import FIELDS, InvocationRecord

from .rows import Row, row_of

TABLE = "invocations"
FLUSH_INTERVAL_S = 1.0

_SQL_TYPES = {str: "TEXT", int: "INTEGER", float: "REAL", bool: "INTEGER"}


def _column_type(annotation: Any) -> tuple[str, bool]:
    """(SQL type, nullable) for one InvocationRecord field annotation."""
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else ()
    nullable = type(None) in args
    base = next((a for a in args if a is not type(None)), annotation)
    return _SQL_TYPES[base], nullable


def create_table_sql() -> str:
    """The CREATE TABLE statement, derived from the record so the two cannot drift."""
    hints = typing.get_type_hints(InvocationRecord)
    columns = []
    for name in FIELDS:
        sql_type, nullable = _column_type(hints[name])
        columns.append(f"{name} {sql_type}" + ("" if nullable else " NOT NULL"))
    return f"CREATE TABLE IF NOT EXISTS {TABLE} ({', '.join(columns)})"


_INSERT_SQL = f"INSERT INTO {TABLE} ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})"
_SELECT_SQL = f"SELECT {', '.join(FIELDS)} FROM {TABLE} ORDER BY rowid"


class RecordStore:
    """Buffered, append-only writer of InvocationRecords to one SQLite file.

    Meant for one process's gevent greenlets: a single connection and no threads.
    SQLite calls never yield to gevent, so a flush cannot interleave with an add.
    """

    def __init__(self, path: str | Path, flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._flush_interval_s = flush_interval_s
        self._buffer: list[Row] = []
        self._count = 0
        self._conn: sqlite3.Connection | None = _open(self.path)
        self._last_flush = time.monotonic()

    @property
    def flush_interval_s(self) -> float:
        """The longest a buffered record waits for disk when ``maybe_flush`` is called often enough."""
        return self._flush_interval_s

    @property
    def count(self) -> int:
        """How many records were added through this store (flushed or not)."""
        return self._count

    def add(self, record: InvocationRecord) -> None:
        """Buffer one record; it reaches disk on the next flush."""
        if self._conn is None:
            raise ValueError(f"record store {self.path} is closed")
        self._buffer.append(row_of(record))
        self._count += 1

    def add_rows(self, rows: Iterable[Row]) -> None:
        """Buffer records already turned into rows (``rows.row_of``), as the collector does."""
        if self._conn is None:
            raise ValueError(f"record store {self.path} is closed")
        before = len(self._buffer)
        self._buffer.extend(rows)
        self._count += len(self._buffer) - before

    def flush(self) -> None:
        """Write the buffered records in one transaction."""
        self._last_flush = time.monotonic()
        if not self._buffer or self._conn is None:
            return
        rows, self._buffer = self._buffer, []
        try:
            with self._conn:
                self._conn.executemany(_INSERT_SQL, rows)
        except sqlite3.Error:
            # Keep the rows so a later flush (or close) can still save them.
            self._buffer = rows + self._buffer
            raise

    def maybe_flush(self) -> bool:
        """Flush if the interval has passed since the last flush; True when it did."""
        if time.monotonic() - self._last_flush < self._flush_interval_s:
            return False
        self.flush()
        return True

    def close(self) -> None:
        """Flush what is buffered and close the file. Safe to call twice."""
        if self._conn is None:
            return
        try:
            self.flush()
        finally:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Flush even when the run failed: a partial run is still measured data.
        self.close()


def read_records(path: str | Path) -> list[InvocationRecord]:
    """All records in a store, in the order they were written."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no record store at {path}")
    conn = sqlite3.connect(path)
    try:
        return [_record_of(row) for row in conn.execute(_SELECT_SQL)]
    finally:
        conn.close()


def rewrite_records(path: str | Path, records: list[InvocationRecord]) -> None:
    """Replace a store's rows with ``records`` in one transaction (after a log join filled them in).

    All or nothing: a failure leaves the store as it was, so no measured row is ever lost.
    """
    conn = _open(Path(path))
    try:
        with conn:
            conn.execute(f"DELETE FROM {TABLE}")
            conn.executemany(_INSERT_SQL, map(row_of, records))
    finally:
        conn.close()


def _open(path: Path) -> sqlite3.Connection:
    _add_plain_adapters()
    conn = sqlite3.connect(path, check_same_thread=False)
    # WAL lets the report or a live dashboard read while the run is writing.
    conn.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL survives a process crash; only power loss can drop the last commit.
    conn.execute("PRAGMA synchronous=NORMAL")
    with conn:
        conn.execute(create_table_sql())
    _check_columns(conn, path)
    return conn


def _null(_value: None) -> None:
    return None


def _add_plain_adapters() -> None:
    """Let sqlite3 bind None and bool the quick way; the stored values stay the same.

    sqlite3 binds int, float and str directly. For any other value, None and bool included, it
    first looks for a registered adapter and, finding none, asks its PrepareProtocol type for
    ``__adapt__``, which raises an AttributeError that it then discards: about 0.3 µs per value
    (0.1 µs with an adapter), and a typical row has four such values (cold, and error_type,
    init_ms and gateway_request_id when empty): 3.6 -> 2.9 µs per row in executemany.
    Registering the conversion that happens anyway (None -> NULL, a bool -> its int, 0 or 1)
    skips that. sqlite3's adapters are per process: this adds them where none is registered, and
    never replaces another's. Done when a store opens, not at import.
    """
    for kind, adapter in ((type(None), _null), (bool, int)):
        if (kind, sqlite3.PrepareProtocol) not in sqlite3.adapters:
            sqlite3.register_adapter(kind, adapter)


def _check_columns(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse to append to a file whose table was made for a different record."""
    found = tuple(row[1] for row in conn.execute(f"PRAGMA table_info({TABLE})"))
    if found != FIELDS:
        conn.close()
        raise ValueError(f"{path}: table {TABLE} has columns {found}, expected {FIELDS}")


def _record_of(row: tuple[Any, ...]) -> InvocationRecord:
    values = dict(zip(FIELDS, row))
    if values["cold"] is not None:
        values["cold"] = bool(values["cold"])
    return InvocationRecord(**values)
