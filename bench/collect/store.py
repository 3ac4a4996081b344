"""The SQLite record store: every InvocationRecord of a run, on disk within a second.

One append-only table, ``invocations``, whose columns are ``bench.records.FIELDS``
in order. Writers buffer records and flush them in one transaction at least once
a second, so an interrupted run keeps what it measured while a busy Locust
process does not pay for a commit per request.

The API Gateway log join (bench/collect/correlate.py) never rewrites a row: it writes what
it learnt from the REPORT lines into a second table, ``gateway_join``, keyed by the gateway's
request id, and every reader sees each record with those fields filled in (``COALESCE``).
Readers: :func:`row_batches` (chunks of row tuples of the fields asked, for the statistics:
memory independent of the number of records) and :func:`read_records` (InvocationRecord objects, for small stores).
"""

from __future__ import annotations

import sqlite3
import time
import types
import typing
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

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


def _column_definitions(fields: Sequence[str]) -> list[str]:
    hints = typing.get_type_hints(InvocationRecord)
    columns = []
    for name in fields:
        sql_type, nullable = _column_type(hints[name])
        columns.append(f"{name} {sql_type}" + ("" if nullable else " NOT NULL"))
    return columns


def create_table_sql() -> str:
    """The CREATE TABLE statement, derived from the record so the two cannot drift."""
    return f"CREATE TABLE IF NOT EXISTS {TABLE} ({', '.join(_column_definitions(FIELDS))})"


_INSERT_SQL = f"INSERT INTO {TABLE} ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})"

JOIN_TABLE = "gateway_join"
# The record fields a REPORT line fills in for an API Gateway call (Report.record_fields()).
JOINED_FIELDS = (
    "request_id", "cold", "init_ms", "duration_ms", "billed_ms", "max_memory_mb", "memory_mb", "billed_restore_ms",
)  # fmt: skip
# Fields added to the record since the first store format, each appended at the end of FIELDS:
# a store written before one of them reads it as NULL (not recorded), never refuses the file.
FIRST_FORMAT_FIELDS = 19
READ_CHUNK = 50_000
# Statuses of calls that reached no function: nothing to join them to.
NEVER_RAN = ("throttled", "client_error", "transport_error")


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


def _select_sql(conn: sqlite3.Connection, fields: Sequence[str] = FIELDS) -> str:
    """SELECT ``fields`` in order, the joined ones filled from the join table where it has them.

    A field that an older store (or join table) has no column for reads as NULL.
    """
    mine = _columns(conn, TABLE)
    joined = _columns(conn, JOIN_TABLE)
    columns = []
    for name in fields:
        own = f"i.{name}" if name in mine else "NULL"
        if name in JOINED_FIELDS and name in joined:
            columns.append(f"COALESCE({own}, j.{name})")
        else:
            columns.append(own)
    source = f"{TABLE} AS i"
    if joined:
        source += f" LEFT JOIN {JOIN_TABLE} AS j ON i.gateway_request_id = j.gateway_request_id"
    return f"SELECT {', '.join(columns)} FROM {source} ORDER BY i.rowid"


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    """The columns of a table of the store; empty when there is no such table."""
    return {row[1] for row in conn.execute(f"PRAGMA main.table_info({table})")}


def _connect_existing(path: str | Path) -> sqlite3.Connection:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no record store at {path}")
    conn = sqlite3.connect(path)
    try:
        check_columns(conn, path, reading=True)
    except (ValueError, sqlite3.DatabaseError):
        conn.close()
        raise
    return conn


def row_batches(path: str | Path, fields: Sequence[str] = FIELDS, size: int = READ_CHUNK) -> Iterator[list[Row]]:
    """The store's rows of ``fields`` (joined fields filled in), in lists of at most ``size``.

    Reading only the fields a reader needs matters: sqlite3 builds a Python object per value.
    """
    conn = _connect_existing(path)
    try:
        cursor = conn.execute(_select_sql(conn, fields))
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        conn.close()


def read_records(path: str | Path) -> list[InvocationRecord]:
    """All records in a store, in the order they were written, with the log join's results."""
    conn = _connect_existing(path)
    try:
        return [_record_of(row) for row in conn.execute(_select_sql(conn))]
    finally:
        conn.close()


def unjoined_gateway_calls(path: str | Path) -> dict[str, int]:
    """Gateway request id -> start (ns) of each API Gateway record the log join has not filled yet.

    Calls the gateway answered itself (its throttle, a missing route) or that never got an answer
    reached no function, so no REPORT line will ever join them: they are left out.
    """
    conn = _connect_existing(path)
    try:
        query = (
            f"SELECT gateway_request_id, t_start_ns FROM {TABLE} WHERE path != 'direct' "
            "AND gateway_request_id IS NOT NULL AND cold IS NULL "
            f"AND status NOT IN ({', '.join(repr(s) for s in NEVER_RAN)})"
        )
        if _columns(conn, JOIN_TABLE):
            query += f" AND gateway_request_id NOT IN (SELECT gateway_request_id FROM {JOIN_TABLE})"
        return dict(conn.execute(query))
    finally:
        conn.close()


def paths_that_reached_nothing(path: str | Path) -> dict[str, dict[tuple[str, str | None], int]]:
    """Each path none of whose calls reached the function -> its (status, error_type) counts.

    A path whose every call failed before any function ran (an API that cannot be reached, a
    wrong URL, a throttle throughout) has no latency, cost or cold-start figure: the run says so
    rather than show the other paths' figures as if it had been measured too.
    """
    conn = _connect_existing(path)
    try:
        rows = conn.execute(f"SELECT path, status, error_type, COUNT(*) FROM {TABLE} GROUP BY path, status, error_type")
        counts: dict[str, dict[tuple[str, str | None], int]] = {}
        for call_path, status, error_type, count in rows:
            counts.setdefault(call_path, {})[(status, error_type)] = count
    finally:
        conn.close()
    return {p: c for p, c in counts.items() if all(status in NEVER_RAN for status, _ in c)}


def write_joined(path: str | Path, joined: Iterable[tuple[str, dict[str, Any]]]) -> int:
    """Store the log join's results: (gateway request id, REPORT fields) pairs. Returns how many.

    All or nothing, and the invocations table is never touched: a failure loses no measured row.
    A request id joined again (a second join of the same run) is replaced, not doubled.
    """
    rows = [(gateway_id, *(fields.get(name) for name in JOINED_FIELDS)) for gateway_id, fields in joined]
    conn = _open(Path(path))
    try:
        with conn:
            columns = ", ".join(["gateway_request_id TEXT PRIMARY KEY", *_column_definitions(JOINED_FIELDS)])
            conn.execute(f"CREATE TABLE IF NOT EXISTS {JOIN_TABLE} ({columns})")
            conn.executemany(
                f"INSERT OR REPLACE INTO {JOIN_TABLE} (gateway_request_id, "
                f"{', '.join(JOINED_FIELDS)}) VALUES ({', '.join('?' * (1 + len(JOINED_FIELDS)))})",
                rows,
            )
    finally:
        conn.close()
    return len(rows)


def _open(path: Path) -> sqlite3.Connection:
    _add_plain_adapters()
    conn = sqlite3.connect(path, check_same_thread=False)
    # WAL lets the report or a live dashboard read while the run is writing.
    conn.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL survives a process crash; only power loss can drop the last commit.
    conn.execute("PRAGMA synchronous=NORMAL")
    with conn:
        conn.execute(create_table_sql())
    try:
        check_columns(conn, path)
    except ValueError:
        conn.close()
        raise
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
    if (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(type(None), _null)
    if (bool, sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(bool, int)


def check_columns(conn: sqlite3.Connection, path: str | Path, schema: str = "main", reading: bool = False) -> None:
    """Refuse a store (``schema``: main, or an attached one) whose table was made for another record.

    ``reading``: a store of an earlier format (its columns the first ones of FIELDS) is accepted.
    """
    found = tuple(row[1] for row in conn.execute(f"PRAGMA {schema}.table_info({TABLE})"))
    earlier = reading and FIRST_FORMAT_FIELDS <= len(found) < len(FIELDS) and found == FIELDS[: len(found)]
    if found != FIELDS and not earlier:
        raise ValueError(f"{path}: table {TABLE} has columns {found}, expected {FIELDS}")


def _record_of(row: tuple[Any, ...]) -> InvocationRecord:
    values = dict(zip(FIELDS, row, strict=True))
    if values["cold"] is not None:
        values["cold"] = bool(values["cold"])
    return InvocationRecord(**values)
