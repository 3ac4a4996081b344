"""The cold-start simulator: the user's arrivals against a pool of Lambda execution environments.

Given arrival times and the measured distributions of one memory size (warm Duration, cold
Duration and Init Duration, as :class:`~bench.analysis.sample.Sample`), it replays Lambda's
(and the emulator's, bench/emulator/pool.py) rules and counts the requests that found no idle
environment, which are the cold starts:

- **Provisioned concurrency first.** N provisioned environments are always initialised and never
  reclaimed; a request goes to one of them while fewer than N are busy (optionally only inside
  a daily window: PC scheduled for the peak hours). A request they serve is warm.
- **Else an idle on-demand environment, most recently used first.** One that has been idle longer
  than ``idle_timeout_s`` is gone (the emulator reaps ``now - last_used > idle_timeout``).
- **Else a new environment: a cold start**, busy for Init Duration + Duration; a warm request
  keeps its environment busy for Duration. Durations are drawn by inverse CDF over the samples'
  buckets from a seeded generator, one warm and one cold draw per request, so runs with
  different N see the same arrivals and the same draws (common random numbers: the curve of
  cold share against N is not blurred by sampling noise).

Speed: busy on-demand environments are a heap of finish times; idle ones a deque ordered by when
they became idle, so the most recent is at the right (reused first) and the stalest at the left
(reclaimed first), since environments go idle in finish order and leave it from the right. Each
arrival costs O(log n), and everything per request outside the loop (draws, percentiles, peak
concurrency) is vectorised: a day at 60/s (5.2 M arrivals) takes a few seconds.

``simulate_profile`` decides how long to simulate: whole days of the profile until the run holds
at least MIN_REQUESTS requests (sparse traffic needs months of days for a cold count worth the
name), at most MAX_DAYS, and at least the profile's own cycle, unless a long, busy trace would
pass MAX_REQUESTS (memory grows by about 80 bytes an arrival): then as many of its first whole
days as hold MAX_REQUESTS, and at least one. Before time 0 it runs a warm-up of
the cycle's last WARMUP_TIMEOUTS idle timeouts, not counted, so that midnight starts with the
pool the day before left rather than with none.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from bench.analysis.sample import Sample
from bench.analysis.stats import Interval, proportion_ci
from bench.decide.settings import SECONDS_PER_DAY
from bench.decide.traffic import ArrivalProfile, arrival_times

MIN_REQUESTS = 200_000
MAX_DAYS = 1_000
MAX_REQUESTS = 10_000_000
WARMUP_TIMEOUTS = 2
# Arrivals are handled in chunks so that the per-request Python lists stay small.
_CHUNK = 1 << 20
_EXPAND = 1 << 22


@dataclass(frozen=True)
class SimResult:
    """What one simulation counted. Times in ms; shares of all (counted) requests."""

    provisioned: int  # N, the provisioned environments
    requests: int
    cold: int  # requests that found no idle environment
    cold_share: float
    cold_share_ci: Interval  # Wilson 95% interval of cold / requests
    served_by_pc: int  # requests served by provisioned environments (all warm)
    peak_concurrency: int  # most requests in flight at once (at any arrival)
    pc_utilisation: float | None  # busy time of PC environments / (N x time enabled); None for N = 0
    p99_service_ms: float | None  # Init + Duration for cold, Duration for warm; nearest rank
    mean_billed_ms_on_demand: float | None  # ceil(init + duration) cold, ceil(duration) warm
    mean_billed_ms_provisioned: float | None  # ceil(duration): no INIT for PC
    simulated_s: float  # counted time: the arrivals' window
    idle_timeout_s: float

    @property
    def on_demand(self) -> int:
        return self.requests - self.served_by_pc

    @property
    def provisioned_share(self) -> float:
        return self.served_by_pc / self.requests if self.requests else 0.0


def draw(sample: Sample, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` values drawn from ``sample`` by inverse CDF over its distinct values (buckets)."""
    return _Draws(sample)(size, rng)


class _Draws:
    """Inverse-CDF draws from one sample. Up to _EXPAND values it indexes the expanded sample
    with uniform integers (a gather, several times faster than a binary search per draw);
    above, it searches the cumulative counts."""

    def __init__(self, sample: Sample) -> None:
        if not sample.n:
            raise ValueError("cannot draw from an empty sample")
        self.n = sample.n
        values = np.asarray(sample.values, dtype=float)
        self.expanded = np.repeat(values, sample.counts) if sample.n <= _EXPAND else None
        self.values, self.cumulative = values, np.cumsum(sample.counts)

    def __call__(self, size: int, rng: np.random.Generator) -> np.ndarray:
        if self.expanded is not None:
            return self.expanded[rng.integers(0, self.n, size)]
        index = np.searchsorted(self.cumulative, rng.integers(0, self.n, size), side="right")
        return self.values[index]


def simulate(
    arrivals: np.ndarray,
    warm: Sample,
    cold: Sample,
    init: Sample,
    *,
    idle_timeout_s: float,
    provisioned: int = 0,
    seed: int = 0,
    count_from_s: float = -math.inf,
    span_s: float | None = None,
    pc_window_s: tuple[float, float] | None = None,
    period_s: float = SECONDS_PER_DAY,
) -> SimResult:
    """Replay sorted ``arrivals`` (seconds) against the pool; count only those at or after
    ``count_from_s`` (earlier ones warm the pool up). ``span_s``: the counted time, for PC
    utilisation (default: first to last counted arrival). ``pc_window_s``: PC enabled only
    while the time of day (modulo ``period_s``) is in [start, end), as when it is scheduled.

    ``cold`` may be empty (no cold Duration measured apart): cold requests then draw ``warm``.
    ValueError when ``warm`` or ``init`` is empty, or arrivals are not sorted.
    """
    if not warm.n or not init.n:
        raise ValueError("the simulation needs measured warm durations and init durations")
    if provisioned < 0 or not idle_timeout_s >= 0:
        raise ValueError("provisioned must be >= 0 and idle_timeout_s >= 0")
    times = np.asarray(arrivals, dtype=float)
    if times.size and np.any(np.diff(times) < 0):
        raise ValueError("arrivals must be sorted")
    draw_warm, draw_cold, draw_init = _Draws(warm), _Draws(cold if cold.n else warm), _Draws(init)
    rng = np.random.default_rng(seed)
    service = np.empty(times.size)
    is_cold = np.zeros(times.size, dtype=bool)
    by_pc = np.zeros(times.size, dtype=bool)
    busy: list[float] = []  # finish times of busy on-demand environments (a heap)
    idle: deque[float] = deque()  # when each idle on-demand environment went idle, oldest left
    pc_busy: list[float] = []  # finish times of busy provisioned environments (a heap)
    for low in range(0, times.size, _CHUNK):
        high = min(low + _CHUNK, times.size)
        warm_ms = draw_warm(high - low, rng)
        cold_ms = draw_cold(high - low, rng) + draw_init(high - low, rng)
        enabled = None
        if provisioned and pc_window_s is not None:
            phase = np.mod(times[low:high], period_s)
            enabled = ((phase >= pc_window_s[0]) & (phase < pc_window_s[1])).tolist()
        colds, pcs = _run(
            times[low:high].tolist(),
            (warm_ms / 1000.0).tolist(),
            (cold_ms / 1000.0).tolist(),
            enabled,
            provisioned,
            idle_timeout_s,
            busy,
            idle,
            pc_busy,
        )
        service[low:high] = warm_ms
        chunk_cold = np.asarray(colds, dtype=np.int64)
        service[low + chunk_cold] = cold_ms[chunk_cold]
        is_cold[low + chunk_cold] = True
        by_pc[low + np.asarray(pcs, dtype=np.int64)] = True
    window = (pc_window_s, period_s)
    return _result(times, service, is_cold, by_pc, provisioned, idle_timeout_s, count_from_s, span_s, window)


def _run(
    times: list[float],
    warm_s: list[float],
    cold_s: list[float],
    enabled: list[bool] | None,
    provisioned: int,
    idle_timeout: float,
    busy: list[float],
    idle: deque[float],
    pc_busy: list[float],
) -> tuple[list[int], list[int]]:
    """The event loop over one chunk: the indexes of cold requests and of those PC served.
    Pool state (busy, idle, pc_busy) carries over between chunks."""
    push, pop = heapq.heappush, heapq.heappop
    colds: list[int] = []
    pcs: list[int] = []
    for i, t in enumerate(times):
        if provisioned and (enabled is None or enabled[i]):
            while pc_busy and pc_busy[0] <= t:
                pop(pc_busy)
            if len(pc_busy) < provisioned:
                push(pc_busy, t + warm_s[i])
                pcs.append(i)
                continue
        # Environments that finished by now go idle in finish order; the last to finish is the
        # most recently used, so it serves this request unless it has been idle too long.
        if busy and busy[0] <= t:
            finished = pop(busy)
            while busy and busy[0] <= t:
                idle.append(finished)
                finished = pop(busy)
            if t - finished <= idle_timeout:
                push(busy, t + warm_s[i])
                continue
            idle.clear()  # the most recent is too old, so every idle one is
        while idle and t - idle[0] > idle_timeout:
            idle.popleft()
        if idle:
            idle.pop()
            push(busy, t + warm_s[i])
        else:
            push(busy, t + cold_s[i])
            colds.append(i)
    return colds, pcs


def _result(
    times: np.ndarray,
    service_ms: np.ndarray,
    is_cold: np.ndarray,
    by_pc: np.ndarray,
    provisioned: int,
    idle_timeout_s: float,
    count_from_s: float,
    span_s: float | None,
    window: tuple[tuple[float, float] | None, float],
) -> SimResult:
    counted = times >= count_from_s
    first = int(np.argmax(counted)) if counted.any() else times.size
    # Requests in flight at arrival i: those that arrived by then and have not finished.
    ends = np.sort(times + service_ms / 1000.0)
    in_flight = np.arange(1, times.size + 1) - np.searchsorted(ends, times, side="right")
    times, service_ms, is_cold, by_pc, in_flight = (a[first:] for a in (times, service_ms, is_cold, by_pc, in_flight))
    n, n_cold, n_pc = int(times.size), int(is_cold.sum()), int(by_pc.sum())
    span = span_s if span_s is not None else float(times[-1] - times[0]) if n else 0.0
    pc_window_s, period_s = window
    utilisation = None
    if provisioned and span > 0:
        enabled_share = 1.0 if pc_window_s is None else (pc_window_s[1] - pc_window_s[0]) / period_s
        utilisation = float(service_ms[by_pc].sum()) / 1000.0 / (provisioned * span * enabled_share)
    on_demand = ~by_pc
    return SimResult(
        provisioned=provisioned,
        requests=n,
        cold=n_cold,
        cold_share=n_cold / n if n else 0.0,
        cold_share_ci=proportion_ci(n_cold, n),
        served_by_pc=n_pc,
        peak_concurrency=int(in_flight.max()) if n else 0,
        pc_utilisation=utilisation,
        p99_service_ms=_percentile(service_ms, 99.0),
        mean_billed_ms_on_demand=float(np.ceil(service_ms[on_demand]).mean()) if on_demand.any() else None,
        mean_billed_ms_provisioned=float(np.ceil(service_ms[by_pc]).mean()) if n_pc else None,
        simulated_s=span,
        idle_timeout_s=idle_timeout_s,
    )


def _percentile(values: np.ndarray, p: float) -> float | None:
    """The nearest-rank percentile of bench.analysis.sample's rule, without building a Sample."""
    if not values.size:
        return None
    rank = max(int(p * values.size / 100 + 0.5), 1)
    return float(np.partition(values, rank - 1)[rank - 1])


def simulation_days(profile: ArrivalProfile) -> int:
    """Whole days to simulate (see the module): enough for MIN_REQUESTS, at most MAX_DAYS, whole
    cycles of the profile, unless that passes MAX_REQUESTS."""
    per_day = profile.requests_per_day
    days = max(profile.days, min(MAX_DAYS, math.ceil(MIN_REQUESTS / per_day)))
    days = math.ceil(days / profile.days) * profile.days
    if days > 1 and days * per_day > MAX_REQUESTS:
        days = max(1, math.floor(MAX_REQUESTS / per_day))
    return days


def profile_arrivals(profile: ArrivalProfile, idle_timeout_s: float, seed: int = 0) -> tuple[np.ndarray, float]:
    """The arrivals ``simulate_profile`` replays, and the time from which it counts them (0):
    simulation_days(profile) days, after a warm-up of WARMUP_TIMEOUTS idle timeouts."""
    rng = np.random.default_rng(seed)
    warmup = min(WARMUP_TIMEOUTS * idle_timeout_s, profile.period_s)
    return arrival_times(profile, simulation_days(profile), rng, start_s=-warmup), 0.0


@dataclass(frozen=True, eq=False)
class Replay:
    """One traffic profile's arrivals, drawn once (``replay_of``) and simulated at any size or N.

    Drawing a busy day's arrivals costs about as much as simulating them, and every size and every
    provisioned count of one decision replays the very same arrivals: so they are drawn once.
    """

    arrivals: np.ndarray
    count_from_s: float
    span_s: float
    idle_timeout_s: float

    def simulate(
        self,
        warm: Sample,
        cold: Sample,
        init: Sample,
        *,
        provisioned: int = 0,
        seed: int = 0,
        pc_window_s: tuple[float, float] | None = None,
    ) -> SimResult:
        return simulate(
            self.arrivals,
            warm,
            cold,
            init,
            idle_timeout_s=self.idle_timeout_s,
            provisioned=provisioned,
            seed=seed,
            count_from_s=self.count_from_s,
            span_s=self.span_s,
            pc_window_s=pc_window_s,
        )


def replay_of(profile: ArrivalProfile, idle_timeout_s: float, seed: int = 0) -> Replay:
    """The arrivals ``simulate_profile`` replays (``profile_arrivals``), ready to simulate."""
    arrivals, count_from = profile_arrivals(profile, idle_timeout_s, seed)
    return Replay(arrivals, count_from, simulation_days(profile) * SECONDS_PER_DAY, idle_timeout_s)


def simulate_profile(
    profile: ArrivalProfile,
    warm: Sample,
    cold: Sample,
    init: Sample,
    *,
    idle_timeout_s: float,
    provisioned: int = 0,
    seed: int = 0,
    pc_window_s: tuple[float, float] | None = None,
) -> SimResult:
    """``simulate`` on the arrivals of ``profile`` (``profile_arrivals``), counted from time 0."""
    return replay_of(profile, idle_timeout_s, seed).simulate(
        warm, cold, init, provisioned=provisioned, seed=seed, pc_window_s=pc_window_s
    )
