"""Concurrency over time, per whole second, computed exactly from the records themselves.

An invocation is in flight over ``[t_start, t_start + client_ms)`` on the wall clock. From
those intervals, and nothing else, three series per second ``k`` (Unix seconds) follow:

- ``starts[k]``: invocations that started in ``[k, k+1)`` (the offered rate);
- ``in_flight[k]``: invocations in flight at the instant ``k`` (a sample each second);
- ``mean[k]``: invocations in flight averaged over ``[k, k+1)`` (busy time / 1 s, exact in ns).

All three are sums over records, so the order in which records arrive does not matter and
two timelines (two workers, two reports) add exactly. Each record costs O(1): the sample and
the fully covered seconds are kept as differences (+1 where an interval begins to count, -1
where it stops) and summed at read time. Memory grows with the run's length in seconds (four
int64 per second, in chunks of CHUNK_S seconds), never with the number of invocations.

The peak within a second is not kept: it needs every start and end in order, which no
bounded, mergeable summary gives exactly.
"""

from __future__ import annotations

import numpy as np

NS = 1_000_000_000
CHUNK_S = 4096
# series() writes one entry per second; past this span the records cannot be one run.
MAX_SERIES_S = 7 * 24 * 3600


class SecondSeries:
    """Integers indexed by Unix second, kept in fixed chunks of CHUNK_S seconds.

    Chunks bound the memory a stray timestamp can cost (one chunk, 32 KB), where one array
    spanning everything seen would grow with the distance between the furthest two seconds.
    """

    def __init__(self) -> None:
        self.chunks: dict[int, np.ndarray] = {}

    def add(self, seconds: np.ndarray, amounts: np.ndarray) -> None:
        """values[s] += amount for each pair (duplicates add up)."""
        if seconds.size == 0:
            return
        chunk_ids = seconds // CHUNK_S
        first, last = int(chunk_ids.min()), int(chunk_ids.max())
        if first == last:  # the usual case: a batch of records from a few seconds
            np.add.at(self._chunk(first), seconds - first * CHUNK_S, amounts)
            return
        for chunk_id in np.unique(chunk_ids).tolist():
            mask = chunk_ids == chunk_id
            np.add.at(self._chunk(chunk_id), seconds[mask] - chunk_id * CHUNK_S, amounts[mask])

    def _chunk(self, chunk_id: int) -> np.ndarray:
        chunk = self.chunks.get(chunk_id)
        if chunk is None:
            chunk = self.chunks[chunk_id] = np.zeros(CHUNK_S, dtype=np.int64)
        return chunk

    def merge(self, other: SecondSeries) -> None:
        for chunk_id, values in other.chunks.items():
            self._chunk(chunk_id)[:] += values

    def bounds(self) -> tuple[int, int] | None:
        """(first, last + 1) second of the chunks in use; None when empty."""
        if not self.chunks:
            return None
        return min(self.chunks) * CHUNK_S, (max(self.chunks) + 1) * CHUNK_S

    def dense(self, origin: int, end: int) -> np.ndarray:
        """values[origin:end] as one array (chunks outside the range are left out)."""
        out = np.zeros(end - origin, dtype=np.int64)
        for chunk_id, values in self.chunks.items():
            lo = chunk_id * CHUNK_S
            a, b = max(lo, origin), min(lo + CHUNK_S, end)
            if a < b:
                out[a - origin : b - origin] = values[a - lo : b - lo]
        return out

    def to_wire(self) -> list:
        # Only the non-zero stretch of each chunk: a report every few seconds stays small.
        wire = []
        for chunk_id, values in sorted(self.chunks.items()):
            nonzero = np.flatnonzero(values)
            if nonzero.size:
                a, b = int(nonzero[0]), int(nonzero[-1]) + 1
                wire.append([chunk_id * CHUNK_S + a, values[a:b].tolist()])
        return wire

    @classmethod
    def from_wire(cls, wire: list) -> SecondSeries:
        series = cls()
        for first, values in wire:
            values = np.asarray(values, dtype=np.int64)
            series.add(np.arange(first, first + values.size, dtype=np.int64), values)
        return series


class ConcurrencyTimeline:
    """Starts, cold starts, sampled in-flight count and mean concurrency per second for a set of records."""

    def __init__(self) -> None:
        self._starts = SecondSeries()
        self._cold = SecondSeries()  # invocations that started cold, by the second they started
        self._tick_diff = SecondSeries()  # +1 at the first sampled instant, -1 after the last
        self._full_diff = SecondSeries()  # +1 at the first fully covered second, -1 after the last
        self._partial_ns = SecondSeries()  # busy ns in the seconds an interval only partly covers

    def add(self, start_ns: np.ndarray, client_ms: np.ndarray, cold: bool = False) -> None:
        """Add invocations given their wall-clock starts (ns) and client latencies (ms); ``cold``:
        all of them started cold."""
        start = np.asarray(start_ns, dtype=np.int64)
        end = start + np.rint(np.asarray(client_ms, dtype=np.float64) * 1e6).astype(np.int64)
        one = np.ones(start.size, dtype=np.int64)
        first_second, last_second = start // NS, end // NS
        self._starts.add(first_second, one)
        if cold:
            self._cold.add(first_second, one)
        # Sampled instants k with start <= k*NS < end: from ceil(start) up to ceil(end) - 1.
        first_tick, after_tick = -(-start // NS), -(-end // NS)
        spans = first_tick < after_tick
        self._tick_diff.add(first_tick[spans], one[spans])
        self._tick_diff.add(after_tick[spans], -one[spans])
        self._add_busy(start, end, first_second, last_second)

    def _add_busy(self, start, end, first_second, last_second) -> None:
        same = first_second == last_second
        self._partial_ns.add(first_second[same], (end - start)[same])
        apart = ~same
        s, e, k0, k1 = start[apart], end[apart], first_second[apart], last_second[apart]
        self._partial_ns.add(k0, (k0 + 1) * NS - s)
        self._partial_ns.add(k1, e - k1 * NS)
        covers = k0 + 1 < k1
        self._full_diff.add(k0[covers] + 1, np.ones(int(covers.sum()), dtype=np.int64))
        self._full_diff.add(k1[covers], -np.ones(int(covers.sum()), dtype=np.int64))

    def merge(self, other: ConcurrencyTimeline) -> None:
        for name in ("_starts", "_cold", "_tick_diff", "_full_diff", "_partial_ns"):
            getattr(self, name).merge(getattr(other, name))

    def series(self) -> dict:
        """{'origin_s', 'starts', 'cold_starts', 'in_flight', 'mean'}: one entry per second from origin_s.

        The seconds run from the first start to the last end. Raises ValueError when that
        span is over MAX_SERIES_S (stray timestamps, not one run).
        """
        parts = (self._starts, self._tick_diff, self._full_diff, self._partial_ns)
        bounds = [b for b in (p.bounds() for p in parts) if b is not None]
        if not bounds:
            return {"origin_s": None, "starts": [], "cold_starts": [], "in_flight": [], "mean": []}
        origin, end = _data_extent(parts, min(b[0] for b in bounds), max(b[1] for b in bounds))
        if end - origin > MAX_SERIES_S:
            raise ValueError(
                f"records span {end - origin} s (more than {MAX_SERIES_S} s): their start times cannot be one run"
            )
        starts, ticks, full, partial = (p.dense(origin, end) for p in parts)
        cold = self._cold.dense(origin, end)
        in_flight = np.cumsum(ticks)
        busy_ns = np.cumsum(full) * NS + partial
        # Drop the trailing seconds where nothing starts or runs (an interval's closing -1).
        used = np.flatnonzero(starts | in_flight | busy_ns)
        stop = int(used[-1]) + 1 if used.size else 0
        return {
            "origin_s": origin,
            "starts": starts[:stop].tolist(),
            "cold_starts": cold[:stop].tolist(),
            "in_flight": in_flight[:stop].tolist(),
            "mean": (busy_ns[:stop] / NS).tolist(),
        }

    def to_wire(self) -> dict:
        return {
            "starts": self._starts.to_wire(),
            "cold": self._cold.to_wire(),
            "ticks": self._tick_diff.to_wire(),
            "full": self._full_diff.to_wire(),
            "partial_ns": self._partial_ns.to_wire(),
        }

    @classmethod
    def from_wire(cls, wire: dict) -> ConcurrencyTimeline:
        timeline = cls()
        timeline._starts = SecondSeries.from_wire(wire["starts"])
        timeline._cold = SecondSeries.from_wire(wire["cold"])
        timeline._tick_diff = SecondSeries.from_wire(wire["ticks"])
        timeline._full_diff = SecondSeries.from_wire(wire["full"])
        timeline._partial_ns = SecondSeries.from_wire(wire["partial_ns"])
        return timeline


def _data_extent(parts, origin: int, end: int) -> tuple[int, int]:
    """The seconds from the first to the last non-zero entry of any part."""
    firsts, lasts = [], []
    for part in parts:
        for chunk_id, values in part.chunks.items():
            nonzero = np.flatnonzero(values)
            if nonzero.size:
                firsts.append(chunk_id * CHUNK_S + int(nonzero[0]))
                lasts.append(chunk_id * CHUNK_S + int(nonzero[-1]) + 1)
    return (min(firsts), max(lasts)) if firsts else (origin, origin)
