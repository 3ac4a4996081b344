"""The user's traffic as arrivals: an ArrivalProfile (rates over a day) and Poisson arrival times.

``arrival_profile`` turns ``[traffic]`` (bench/decide/settings.py) into an
:class:`ArrivalProfile`, a piecewise-constant arrival rate over one day (or over a trace's
whole days), repeated day after day; ``arrival_times`` draws Poisson arrivals from it for the
cold-start simulator (bench/decide/simulate.py).

The shapes, each keeping the month's requests exact (a month is DAYS_PER_MONTH days):

- **steady**: requests_per_month spread evenly, mean_rps all day.
- **peaked**: peak_rps for peak_hours_per_day, contiguous and centred on midday; the rest of
  the day at the rate that carries the rest of the day's requests.
- **bursty**: bursts_per_day bursts of burst_rps, each burst_s long, spread evenly (burst k
  centred at (k + 1/2) x 24 h / bursts_per_day). A burst *replaces* the rate under it (the
  settings call it a spike "from the base rate to burst_rps"), so the requests it carries are
  burst_rps x burst_s whatever it covers; the off-peak rate (the base rate without a peak) is
  what gives way, lowered so that the day still totals requests_per_month / DAYS_PER_MONTH.
  peak_rps stays what the user said. A burst wider than the room the rest of the day leaves is
  a ValueError naming the settings.
- **trace**: per-minute counts (``load_trace``: CloudWatch's Invocations metric, say) replayed
  as they are, each minute at count / 60 per second; a trace shorter than a day is repeated
  to fill the day, a longer one to fill its last day, so the profile is always whole days.

The profile keeps exact edges (in seconds), not only per-minute rates: a 45 s burst at
200/s stays a 45 s burst at 200/s rather than a minute at 150/s, which is what decides how
many environments it needs. ``ArrivalProfile.rates`` gives the per-minute view (for charts).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from bench.decide.settings import DAYS_PER_MONTH, SECONDS_PER_DAY, TrafficSettings

KINDS = ("steady", "peaked", "bursty", "trace")
MINUTES_PER_DAY = 1440


@dataclass(frozen=True)
class ArrivalProfile:
    """Arrival rate (requests/second) ``rps[i]`` on [``edges_s[i]``, ``edges_s[i + 1]``), over
    whole days starting at midnight, repeated for ever after the last edge."""

    kind: str  # steady | peaked | bursty | trace
    edges_s: tuple[float, ...]  # 0 first, a whole number of days last, strictly increasing
    rps: tuple[float, ...]  # one rate per segment, >= 0
    peak_window_s: tuple[float, float] | None = None  # the daily peak hours, for scheduled PC

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r}: must be one of {', '.join(KINDS)}")
        edges = np.asarray(self.edges_s, dtype=float)
        if len(self.rps) < 1 or len(edges) != len(self.rps) + 1:
            raise ValueError("edges_s must hold one more value than rps, and rps at least one")
        days = edges[-1] / SECONDS_PER_DAY
        if edges[0] != 0 or not np.all(np.diff(edges) > 0) or days < 1 or days != round(days):
            raise ValueError("edges_s must rise strictly from 0 to a whole number of days")
        rates = np.asarray(self.rps, dtype=float)
        if not np.all(np.isfinite(rates)) or np.any(rates < 0):
            raise ValueError("rps must be finite and >= 0")
        if not rates.any():
            raise ValueError("a profile with no requests: nothing to simulate")

    @property
    def period_s(self) -> float:
        return self.edges_s[-1]

    @property
    def days(self) -> int:
        """How many days the profile spans before it repeats (1 unless a trace is longer)."""
        return round(self.period_s / SECONDS_PER_DAY)

    @property
    def requests_per_day(self) -> float:
        return float(np.dot(np.diff(self.edges_s), self.rps)) / self.days

    @property
    def requests_per_month(self) -> float:
        return self.requests_per_day * DAYS_PER_MONTH

    @property
    def mean_rps(self) -> float:
        return self.requests_per_day / SECONDS_PER_DAY

    @property
    def peak_rps(self) -> float:
        return max(self.rps)

    @property
    def rates(self) -> np.ndarray:
        """Mean requests/second in each minute of the profile (1,440 a day)."""
        edges = np.asarray(self.edges_s)
        cumulative = np.concatenate([[0.0], np.cumsum(np.diff(edges) * self.rps)])
        minutes = np.arange(self.days * MINUTES_PER_DAY + 1) * 60.0
        # The cumulative count is piecewise linear between edges, so interpolation is exact.
        per_minute: np.ndarray = np.diff(np.interp(minutes, edges, cumulative)) / 60.0
        return per_minute


def arrival_times(
    profile: ArrivalProfile, days: float, rng: np.random.Generator, *, start_s: float = 0.0
) -> np.ndarray:
    """Sorted arrival times (seconds) of a Poisson process following ``profile`` on
    [``start_s``, ``days`` x 24 h); a negative ``start_s`` takes the end of the profile's cycle
    before 0 (the simulator's warm-up). Each segment's count is Poisson(rate x length) and its
    arrivals uniform within it: vectorised, never a loop per arrival."""
    end_s = days * SECONDS_PER_DAY
    if not end_s > start_s:
        raise ValueError("days must end after start_s")
    period = profile.period_s
    edges = np.asarray(profile.edges_s)
    first, last = math.floor(start_s / period), math.ceil(end_s / period)
    cycles = np.arange(first, last) * period
    lows = (cycles[:, None] + edges[None, :-1]).ravel()
    highs = (cycles[:, None] + edges[None, 1:]).ravel()
    rates = np.tile(np.asarray(profile.rps, dtype=float), len(cycles))
    lows, highs = np.maximum(lows, start_s), np.minimum(highs, end_s)
    keep = (highs > lows) & (rates > 0)
    lows, highs, rates = lows[keep], highs[keep], rates[keep]
    counts = rng.poisson(rates * (highs - lows))
    starts = np.repeat(lows, counts)
    times: np.ndarray = starts + rng.random(starts.size) * np.repeat(highs - lows, counts)
    times.sort()
    return times


def arrival_profile(settings: TrafficSettings) -> ArrivalProfile:
    """The profile ``[traffic]`` describes (see the module); a trace wins over the other keys.
    ValueError when the settings cannot make one (bursts carrying more than the day's requests)."""
    if settings.trace is not None:
        return trace_profile(load_trace(settings.trace))
    day = SECONDS_PER_DAY
    total = settings.requests_per_month / DAYS_PER_MONTH
    peak: tuple[float, float] | None = None
    if settings.peak_rps is not None:
        length = settings.peak_hours_per_day * 3600
        peak = ((day - length) / 2, (day + length) / 2)
    bursts: list[tuple[float, float]] = []
    if settings.bursts_per_day and settings.burst_rps is not None:
        count, width = settings.bursts_per_day, settings.burst_s
        if count * width >= day:
            raise ValueError(f"bursts_per_day x burst_s = {count * width:g} s: must be under a day")
        bursts = [((k + 0.5) * day / count - width / 2, (k + 0.5) * day / count + width / 2) for k in range(count)]
    cuts = {0.0, float(day)}
    for low, high in ([peak] if peak else []) + bursts:
        cuts.update((low, high))
    edges = np.array(sorted(cuts))
    mids = (edges[:-1] + edges[1:]) / 2
    lengths = np.diff(edges)
    in_burst = np.zeros(mids.size, dtype=bool)
    for low, high in bursts:
        in_burst |= (mids > low) & (mids < high)
    in_peak = np.zeros(mids.size, dtype=bool) if peak is None else (mids > peak[0]) & (mids < peak[1]) & ~in_burst
    rates = np.zeros(mids.size)
    rates[in_burst] = settings.burst_rps or 0.0
    rates[in_peak] = settings.peak_rps or 0.0
    base = ~in_burst & ~in_peak
    left = total - float(np.dot(lengths, rates))
    if left < -1e-9 * total:
        raise ValueError(
            f"bursts and peak carry {total - left:,.0f} requests a day, more than the "
            f"{total:,.0f} a day of requests_per_month: lower burst_rps, burst_s or bursts_per_day"
        )
    if base.any():
        rates[base] = max(left, 0.0) / lengths[base].sum()
    kind = "bursty" if bursts else "peaked" if peak else "steady"
    return ArrivalProfile(kind, tuple(float(e) for e in edges), tuple(float(r) for r in rates), peak)


def trace_profile(counts: list[float] | np.ndarray) -> ArrivalProfile:
    """A trace of per-minute counts as a profile: each minute at count / 60 per second, repeated
    to whole days (a short trace fills the day, a long one its last day)."""
    values = np.asarray(counts, dtype=float)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("a trace is a non-empty run of per-minute counts >= 0")
    if not values.any():
        raise ValueError("the trace has no requests: nothing to simulate")
    days = math.ceil(values.size / MINUTES_PER_DAY)
    filled = np.resize(values, days * MINUTES_PER_DAY)
    edges = tuple(float(e) for e in np.arange(filled.size + 1) * 60.0)
    return ArrivalProfile("trace", edges, tuple(float(v) for v in filled / 60.0))


def load_trace(path: Path) -> list[float]:
    """Per-minute counts from a CSV file: one 'count' or 'timestamp,count' column per row, an
    optional header row first.

    With timestamps (ISO 8601, as CloudWatch exports them, or epoch seconds) the rows are put
    in time order and the minutes with no row get 0: CloudWatch leaves out the datapoints of
    minutes with no invocations, and returns them newest first. Rows must then be whole minutes
    apart, each minute once. Without timestamps the rows are the minutes, in file order.
    ValueError naming the file and line of the first bad row.
    """
    where = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [
                (number, row) for number, row in enumerate(csv.reader(handle), start=1) if any(c.strip() for c in row)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"{where}: cannot read the trace ({err})") from None
    if rows and _number(rows[0][1][-1]) is None:
        rows = rows[1:]  # a header row: its count column is not a number
    if not rows:
        raise ValueError(f"{where}: no rows of per-minute counts")
    width = len(rows[0][1])
    stamps: list[float] = []
    counts: list[float] = []
    for number, row in rows:
        if len(row) != width or width not in (1, 2):
            raise ValueError(f"{where} line {number}: expected 'count' or 'timestamp,count' in every row, got {row}")
        count = _number(row[-1])
        if count is None or not math.isfinite(count) or count < 0:
            raise ValueError(f"{where} line {number}: count {row[-1].strip()!r} must be a number >= 0")
        counts.append(count)
        if width == 2:
            stamp = _timestamp(row[0])
            if stamp is None:
                raise ValueError(
                    f"{where} line {number}: timestamp {row[0].strip()!r} must be ISO 8601 or epoch seconds"
                )
            stamps.append(stamp)
    if width == 1:
        if not any(counts):
            raise ValueError(f"{where}: the trace has no requests")
        return counts
    return _by_minute(where, rows, stamps, counts)


def _by_minute(where: str, rows: list[tuple[int, list[str]]], stamps: list[float], counts: list[float]) -> list[float]:
    order = np.argsort(stamps, kind="stable")
    times = np.asarray(stamps)[order]
    steps = (times - times[0]) / 60.0
    for i, step in enumerate(steps):
        if step != round(step) or (i and step == steps[i - 1]):
            line = rows[int(order[i])][0]
            problem = (
                "repeats a minute" if i and step == steps[i - 1] else "is not a whole number of minutes after the first"
            )
            raise ValueError(f"{where} line {line}: timestamp {problem} (per-minute counts expected)")
    filled = np.zeros(int(round(steps[-1])) + 1)
    filled[np.round(steps).astype(int)] = np.asarray(counts)[order]
    if not filled.any():
        raise ValueError(f"{where}: the trace has no requests")
    return [float(v) for v in filled]


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def _timestamp(text: str) -> float | None:
    text = text.strip()
    epoch = _number(text)
    if epoch is not None:
        return epoch if math.isfinite(epoch) else None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # A naive timestamp is read as UTC, as CloudWatch writes them; only differences matter.
        return (parsed - datetime(1970, 1, 1)).total_seconds()
    return parsed.timestamp()
