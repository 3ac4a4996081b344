"""The SQLite record store: schema, round trip, flush timing and durability on close."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.collect import store as store_module
from bench.collect.store import RecordStore, read_records
from bench.records import FIELDS, InvocationRecord

FULL = InvocationRecord(
    run_id="run-1",
    variant="mem-512",
    path="apigw-http",
    t_start_ns=1_714_560_000_123_456_789,
    client_ms=23.5,
    status="function_error",
    error_type="Runtime.ExitError",
    request_id="req-1",
    cold=True,
    init_ms=130.49,
    duration_ms=15.74,
    billed_ms=147,
    max_memory_mb=56,
    memory_mb=512,
    payload_bytes=120,
    response_bytes=4096,
    worker="worker-3",
)
WARM = InvocationRecord(
    run_id="run-1",
    variant="mem-512",
    path="direct",
    t_start_ns=2,
    client_ms=4.0,
    status="ok",
    request_id="req-2",
    cold=False,
    duration_ms=3.0,
    billed_ms=3,
    max_memory_mb=40,
    memory_mb=512,
)
UNKNOWN = InvocationRecord(
    run_id="run-1",
    variant="mem-128",
    path="apigw-rest",
    t_start_ns=3,
    client_ms=0.0,
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
    with pytest.raises(KeyboardInterrupt), RecordStore(path) as store:
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
        for _ in range(n):
            store.add(WARM)
            store.maybe_flush()
            gevent.sleep(0)

    gevent.joinall([gevent.spawn(user, 50) for _ in range(8)], raise_error=True)
    store.close()
    assert store.count == 400
    assert len(read_records(path)) == 400


def test_add_rows_buffers_rows_like_add(tmp_path: Path, clock: FakeClock) -> None:
    from bench.collect.rows import row_of

    path = tmp_path / "records.sqlite"
    with RecordStore(path) as store:
        store.add(FULL)
        store.add_rows([row_of(WARM), row_of(UNKNOWN)])
        store.add_rows(iter([]))
        assert store.count == 3 and _count_on_disk(path) == 0
    assert read_records(path) == [FULL, WARM, UNKNOWN]
    with pytest.raises(ValueError, match="closed"):
        store.add_rows([row_of(FULL)])


def test_adapters_registered_by_others_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The store registers sqlite3 adapters for None and bool (speed only); never over another's.
    # monkeypatch restores sqlite3's own registry (a per-process dict) after the test.
    theirs = str
    monkeypatch.setitem(sqlite3.adapters, (bool, sqlite3.PrepareProtocol), theirs)
    monkeypatch.delitem(sqlite3.adapters, (type(None), sqlite3.PrepareProtocol), raising=False)
    with RecordStore(tmp_path / "records.sqlite"):
        pass
    assert sqlite3.adapters[(bool, sqlite3.PrepareProtocol)] is theirs
    assert (type(None), sqlite3.PrepareProtocol) in sqlite3.adapters


# --- the collector: one row per record, to the store and the statistics --------------------


def _collector(path: Path, **kwargs):
    pytest.importorskip("gevent")
    from bench.collect.listener import RecordCollector

    return RecordCollector(RecordStore(path), **kwargs)


def _request(collector, record: InvocationRecord) -> None:
    from bench.collect.listener import CONTEXT_KEY

    collector.on_request(context={CONTEXT_KEY: record})


def test_collector_writes_within_a_second_and_counts_every_record_once(tmp_path: Path, clock: FakeClock) -> None:
    from bench.collect import build_stats

    path = tmp_path / "records.sqlite"
    collector = _collector(path)
    _request(collector, FULL)
    clock.now += 0.5
    _request(collector, WARM)
    collector.on_request(context={})  # no record: ignored
    assert _count_on_disk(path) == 0 and collector.stats.records == 0
    clock.now += 0.5
    _request(collector, UNKNOWN)  # a second after the last flush: all three go
    assert _count_on_disk(path) == 3
    assert collector.stats == build_stats(read_records(path))
    _request(collector, WARM)
    collector.close()
    records = read_records(path)
    assert records == [FULL, WARM, UNKNOWN, WARM]
    assert collector.store.count == 4
    assert collector.stats == build_stats(records)


def test_collector_flushes_at_max_buffered_and_deltas_add_up(tmp_path: Path, clock: FakeClock) -> None:
    from bench.collect import RunStats, build_stats

    path = tmp_path / "records.sqlite"
    collector = _collector(path, max_buffered=3)
    for record in (FULL, WARM):
        _request(collector, record)
    assert _count_on_disk(path) == 0
    _request(collector, UNKNOWN)
    assert _count_on_disk(path) == 3, "MAX_BUFFERED rows wait: flushed whatever the clock says"
    _request(collector, WARM)
    first = collector.take_stats()  # takes the unflushed record too, and writes it
    assert first.records == 4 and _count_on_disk(path) == 4
    for record in (FULL, UNKNOWN):
        _request(collector, record)
    collector.close()
    merged = RunStats()
    for delta in (first, collector.stats):
        merged.merge(RunStats.from_wire(delta.to_wire()))
    assert merged == build_stats(read_records(path))
    assert merged.records == 6


def test_collector_timer_flushes_when_requests_stop(tmp_path: Path) -> None:
    gevent = pytest.importorskip("gevent")

    class Events:
        class request:  # noqa: N801 - stands in for Locust's EventHook
            listeners: list = []

            @classmethod
            def add_listener(cls, listener):
                cls.listeners.append(listener)

            @classmethod
            def remove_listener(cls, listener):
                cls.listeners.remove(listener)

    path = tmp_path / "records.sqlite"
    collector = _collector(path, flush_interval_s=0.05).attach(Events)
    _request(collector, FULL)
    gevent.sleep(0.2)
    assert _count_on_disk(path) == 1
    collector.close()
    assert Events.request.listeners == []


# ---- the API Gateway join: written beside the records, applied by every reader ----

GATEWAY = InvocationRecord(
    run_id="run-1",
    variant="mem-512",
    path="apigw-http",
    t_start_ns=5,
    client_ms=30.0,
    status="ok",
    gateway_request_id="gw-1",
)
GATEWAY_UNMATCHED = InvocationRecord(
    run_id="run-1",
    variant="mem-512",
    path="apigw-rest",
    t_start_ns=6,
    client_ms=31.0,
    status="ok",
    gateway_request_id="gw-2",
)
REPORT_FIELDS = {
    "request_id": "lambda-1",
    "cold": True,
    "init_ms": 120.0,
    "duration_ms": 10.0,
    "billed_ms": 131,
    "max_memory_mb": 50,
    "memory_mb": 512,
}


def test_the_join_fills_readers_and_never_touches_the_rows(tmp_path: Path) -> None:
    from bench.collect import stats_of_store
    from bench.collect.stats import StatsKey
    from bench.collect.store import unjoined_gateway_calls, write_joined

    path = tmp_path / "records.sqlite"
    with RecordStore(path) as store:
        for record in (WARM, GATEWAY, GATEWAY_UNMATCHED):
            store.add(record)
    assert unjoined_gateway_calls(path) == {"gw-1": 5, "gw-2": 6}
    assert write_joined(path, [("gw-1", REPORT_FIELDS)]) == 1
    joined = read_records(path)
    assert joined[0] == WARM and joined[2] == GATEWAY_UNMATCHED
    assert joined[1] == InvocationRecord(**{**GATEWAY.as_dict(), **REPORT_FIELDS})
    # The invocations table is as the collector wrote it: append-only.
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT cold, billed_ms FROM invocations WHERE gateway_request_id = 'gw-1'").fetchone() == (
        None,
        None,
    )
    conn.close()
    assert unjoined_gateway_calls(path) == {"gw-2": 6}, "a second join asks only for what is left"
    # Joining again replaces rather than doubles, and the statistics see the joined fields.
    write_joined(path, [("gw-1", REPORT_FIELDS)])
    stats = stats_of_store(path)
    cold = stats.keys[StatsKey("mem-512", "apigw-http", "cold")]
    assert cold.records == 1 and cold.metrics["billed_ms"].sum_us == 131_000
    assert stats.keys[StatsKey("mem-512", "apigw-rest", "unknown")].records == 1
    assert stats.records == 3


def test_statistics_read_from_the_store_equal_the_collectors(tmp_path: Path) -> None:
    from bench.collect import build_stats, stats_of_store

    path = tmp_path / "records.sqlite"
    records = [FULL, WARM, UNKNOWN] * 7
    with RecordStore(path) as store:
        for record in records:
            store.add(record)
    assert stats_of_store(path) == build_stats(records)


def test_a_store_of_the_first_format_reads_with_later_fields_unrecorded(tmp_path: Path) -> None:
    from bench.collect import stats_of_store
    from bench.collect.store import FIRST_FORMAT_FIELDS, _column_definitions

    path = tmp_path / "records.sqlite"
    old_fields = FIELDS[:FIRST_FORMAT_FIELDS]
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(f"CREATE TABLE invocations ({', '.join(_column_definitions(old_fields))})")
        values = [getattr(WARM, name) for name in old_fields]
        conn.execute(f"INSERT INTO invocations VALUES ({', '.join('?' * len(old_fields))})", values)
    conn.close()
    assert read_records(path) == [WARM], "billed_restore_ms reads as None: not recorded"
    assert stats_of_store(path).records == 1
    with pytest.raises(ValueError, match="expected"):
        RecordStore(path)  # appending to it would mix two formats
