"""The SQLite record store: schema, round trip, flush timing and durability on close."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.collect import store as store_module
from bench.collect.store import RecordStore, read_records
from bench.records import FIELDS, InvocationRecord

FULL = InvocationRecord(
    run_id="run-1", variant="mem-512", path="apigw-http", t_start_ns=1_714_560_000_123_456_789,
    client_ms=23.5, status="function_error", error_type="Runtime.ExitError", request_id="req-1",
    cold=True, init_ms=130.49, duration_ms=15.74, billed_ms=147, max_memory_mb=56,
    memory_mb=512, payload_bytes=120, response_bytes=4096, worker="worker-3",
)
WARM = InvocationRecord(
    run_id="run-1", variant="mem-512", path="direct", t_start_ns=2, client_ms=4.0,
    status="ok", request_id="req-2", cold=False, duration_ms=3.0, billed_ms=3,
    max_memory_mb=40, memory_mb=512,
)
UNKNOWN = InvocationRecord(
    run_id="run-1", variant="mem-128", path="apigw-rest", t_start_ns=3, client_ms=0.0,
    status="transport_error",
)


class FakeClock:
    """Stands in for time.monotonic so the 1 s flush rule is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(store_module.time, "monotonic", fake)
    return fake


def _count_on_disk(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COUNT(*) FROM invocations").fetchone()[0]
    finally:
        conn.close()


def test_table_columns_are_the_record_fields_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "records.sqlite"
    with RecordStore(path):
        pass
    conn = sqlite3.connect(path)
    try:
        columns = [(row[1], row[2]) for row in conn.execute("PRAGMA table_info(invocations)")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    assert tuple(name for name, _ in columns) == FIELDS
    types = dict(columns)
    assert types["run_id"] == "TEXT" and types["t_start_ns"] == "INTEGER"
    assert types["client_ms"] == "REAL" and types["cold"] == "INTEGER"
    assert mode == "wal"


def test_round_trip_every_field_and_none(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    with RecordStore(path) as store:
        for record in (FULL, WARM, UNKNOWN):
            store.add(record)
        assert store.count == 3
    assert read_records(path) == [FULL, WARM, UNKNOWN]


def test_cold_is_stored_as_integer_or_null(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    with RecordStore(path) as store:
        for record in (FULL, WARM, UNKNOWN):
            store.add(record)
    conn = sqlite3.connect(path)
    try:
        stored = [row[0] for row in conn.execute("SELECT cold FROM invocations ORDER BY rowid")]
    finally:
        conn.close()
    assert stored == [1, 0, None]


def test_maybe_flush_writes_once_a_second_has_passed(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "records.sqlite"
    store = RecordStore(path)
    try:
        store.add(FULL)
        clock.now += 0.5
        assert store.maybe_flush() is False
        assert _count_on_disk(path) == 0
        clock.now += 0.5
        assert store.maybe_flush() is True
        assert _count_on_disk(path) == 1
        store.add(WARM)
        assert store.maybe_flush() is False  # the interval restarts at each flush
        clock.now += 1.0
        assert store.maybe_flush() is True
        assert _count_on_disk(path) == 2
    finally:
        store.close()


def test_close_loses_nothing(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "records.sqlite"
    store = RecordStore(path)
    records = [WARM] * 250 + [FULL, UNKNOWN]
    for record in records:
        store.add(record)
    assert _count_on_disk(path) == 0
    store.close()
    store.close()  # a second close is harmless
    assert read_records(path) == records


def test_context_manager_flushes_on_error(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    with pytest.raises(KeyboardInterrupt):
        with RecordStore(path) as store:
            store.add(FULL)
            raise KeyboardInterrupt
    assert read_records(path) == [FULL]


def test_reopening_appends(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    with RecordStore(path) as store:
        store.add(FULL)
    with RecordStore(path) as store:
        store.add(WARM)
        assert store.count == 1
    assert read_records(path) == [FULL, WARM]


def test_add_after_close_raises(tmp_path: Path) -> None:
    store = RecordStore(tmp_path / "records.sqlite")
    store.close()
    with pytest.raises(ValueError, match="closed"):
        store.add(FULL)


def test_foreign_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invocations (run_id TEXT, something_else REAL)")
    conn.close()
    with pytest.raises(ValueError, match="expected"):
        RecordStore(path)


def test_read_records_of_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_records(tmp_path / "absent.sqlite")
    assert not (tmp_path / "absent.sqlite").exists()


def test_greenlets_share_one_store(tmp_path: Path) -> None:
    gevent = pytest.importorskip("gevent")
    path = tmp_path / "records.sqlite"
    store = RecordStore(path, flush_interval_s=0.0)  # flush on every call, the worst case

    def user(n: int) -> None:
        for i in range(n):
            store.add(WARM)
            store.maybe_flush()
            gevent.sleep(0)

    gevent.joinall([gevent.spawn(user, 50) for _ in range(8)], raise_error=True)
    store.close()
    assert store.count == 400
    assert len(read_records(path)) == 400
