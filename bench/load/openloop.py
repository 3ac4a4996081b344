"""Open-loop load: invocations arrive at a given rate, as a Poisson process, whatever the latency.

A closed-loop user sends its next request when the previous answer is back, so a slow target
slows its own load down and its queueing never shows (coordinated omission). In open loop
(``[load] rps`` or ``--lambda-rps``) the arrivals are drawn in advance, on a clock of their own,
and the users only carry them.

**One stream per process, users as servers.** Each Locust process draws one stream of arrivals
with exponential gaps (``ArrivalSchedule``), so their count in any window is Poisson. A free user
claims the next arrival of the stream (its ``wait_time`` returns the time left until that
arrival's absolute due time), invokes at that time, and when the answer is back claims the next
unclaimed arrival. A slow answer therefore moves no arrival: the next ones stay on their times.
One stream of ``rps`` is the same Poisson process as ``U`` streams of ``rps / U``, one per user
(superposition), but with one stream an arrival waits only when *every* user is busy (a FIFO
queue with U servers), not whenever its own user is, and the seed fixes the arrival times
whatever the number of users and the order in which they spawn.

**Late arrivals.** An arrival claimed after its due time found every user busy: the load was not
open loop for it. Each is counted with how late it was, the first one is logged as it happens,
and the run prints the totals and keeps them in its facts (``open_loop``). Arrivals that fell due
before the stop but that no user started before it are counted as missed. The start lag (start time minus
due time, over every started arrival) says how punctual the load generator itself was.

**How many users.** Busy users of Poisson arrivals are Poisson in number, with mean rps x mean
latency (an M/G/infinity queue), and no more than with every invoke taking its whole bound, so
lambench takes the smallest U with P(Poisson(rps x bound) >= U) <= 0.1%, the bound being the
function's timeout plus a margin for the client and a cold start's init. An arrival then finds all
U users busy at most once in a thousand even if every invoke ran to its timeout; with real
latencies, far more rarely. ``[load] users`` (``-u``) is a floor; a process takes at most
``MAX_USERS``. An idle user is a sleeping greenlet: it costs no connection and no CPU.

**Distributed Locust.** Each worker draws its own stream at rps / W, W being the number of workers
when the test starts (the master puts it in the options it forwards to workers, as it does its
run id), seeded from the seed and the worker's index; the master adds up the workers' counts. The
share is fixed for the test: free users claim arrivals well ahead, so a rate that followed a
worker's users as they ramp up would lag by that many arrivals. A worker that joins mid-test (with
Locust's rebalancing) draws rps / W as well, on top.

Nothing here imports Locust (tests import this module without gevent's monkey-patching): the
environment and its runner come from the caller.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

# The most share of arrivals allowed to find every user busy, if every invoke took its bound.
LATE_SHARE = 1e-3
# Over the function's timeout: the client's own time and a cold start's init (INIT is limited to
# 10 s on Lambda and is not part of the timeout), as lambench run's stop timeout (timeout + 5) allows.
LATENCY_MARGIN_S = 5.0
# Users per Locust process at most: past this, spread the load over workers.
MAX_USERS = 10_000
# Open loop spawns its users quickly (they carry the load, they do not make it); Locust warns above 100/s.
SPAWN_RATE = 100.0
# Where the users find their process's open loop, and where a master tells workers how many they are.
OPEN_LOOP_ATTR = "lambench_open_loop"
WORKERS_OPTION = "lambench_workers"
_DUE_ATTR = "_lambench_due"


class ArrivalSchedule:
    """One Poisson stream of arrivals at ``rate`` per second, claimed in order by free users.

    ``clock`` is the monotonic clock the users sleep on (a fake one in tests). The stream starts
    at the first claim: its first arrival falls one exponential gap later.
    """

    def __init__(self, rate: float, seed: int | str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if not rate > 0:
            raise ValueError(f"arrival rate must be above 0, not {rate}")
        self.rate = rate
        self.clock = clock
        self._rng = random.Random(seed)
        self.origin: float | None = None
        self._next = 0.0  # the due time of the next unclaimed arrival
        # Due times of claims that were still ahead when made: those a stop may cut off.
        self._ahead: deque[float] = deque()
        self.claimed = 0
        self.late = 0
        self.late_total_s = 0.0
        self.late_max_s = 0.0
        self.started = 0
        self.lag_total_s = 0.0
        self.lag_max_s = 0.0
        self.closed_at: float | None = None
        self.due_by_close = 0

    def _gap(self) -> float:
        return self._rng.expovariate(self.rate)

    def claim(self) -> tuple[float, float]:
        """(due time, seconds to wait for it) of the next arrival, for a user that is free now.

        An arrival already due when claimed found no free user before now: it is late by the
        difference, and the user is to start it at once."""
        now = self.clock()
        if self.origin is None:
            self.origin = now
            self._next = now + self._gap()
        due = self._next
        self._next = due + self._gap()
        self.claimed += 1
        while self._ahead and self._ahead[0] <= now:
            self._ahead.popleft()
        late_s = now - due
        if late_s > 0:
            self.late += 1
            self.late_total_s += late_s
            self.late_max_s = max(self.late_max_s, late_s)
            return due, 0.0
        self._ahead.append(due)
        return due, -late_s

    def begin(self, due: float) -> None:
        """A user starts the arrival due at ``due``, now: count it and how far past its time."""
        lag = max(0.0, self.clock() - due)
        self.started += 1
        self.lag_total_s += lag
        self.lag_max_s = max(self.lag_max_s, lag)

    def close(self) -> int:
        """End the stream now; the number of arrivals that fell due from its start until now.

        Those claimed but still ahead are not due; those not yet claimed but past (every user was
        busy) are, and are drawn on from the same random sequence to count them."""
        now = self.clock()
        if self.closed_at is not None:
            return self.due_by_close
        self.closed_at = now
        if self.origin is None:
            return 0
        due = self.claimed - sum(1 for t in self._ahead if t > now)
        while self._next <= now:
            due += 1
            self._next += self._gap()
        self.due_by_close = due
        return due

    def counts(self) -> dict[str, Any]:
        """The stream's counts once closed: what a run reports (durations in ms, to the microsecond)."""
        window = (self.closed_at - self.origin) if self.closed_at is not None and self.origin is not None else 0.0
        return {
            "window_s": window,
            "arrivals": self.due_by_close,
            "started": self.started,
            "missed": max(0, self.due_by_close - self.started),
            "late": self.late,
            "late_max_ms": _ms(self.late_max_s),
            "late_mean_ms": _ms(self.late_total_s / self.late) if self.late else 0.0,
            "start_lag_max_ms": _ms(self.lag_max_s),
            "start_lag_mean_ms": _ms(self.lag_total_s / self.started) if self.started else 0.0,
        }


NO_COUNTS: dict[str, Any] = {
    "window_s": 0.0, "arrivals": 0, "started": 0, "missed": 0, "late": 0,
    "late_max_ms": 0.0, "late_mean_ms": 0.0, "start_lag_max_ms": 0.0, "start_lag_mean_ms": 0.0,
}  # fmt: skip


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


@dataclass(frozen=True)
class UserPlan:
    """How many users carry an open-loop rate, and why."""

    users: int
    needed: int | None  # by the rule; None when the latency bound is unknown
    rps: float
    latency_bound_s: float | None
    floor: int

    @property
    def rule(self) -> str:
        if self.latency_bound_s is None or self.needed is None:
            return f"{self.users} users, the floor: the function's timeout is unknown, so no rule applies"
        why = (
            f"the smallest U with P(Poisson({self.rps:g} x {self.latency_bound_s:g}) >= U) <= {LATE_SHARE:g}, so "
            f"that an arrival finds every user busy at most {LATE_SHARE:.1%} of the time even if every invoke "
            f"took {self.latency_bound_s:g} s"
        )
        if self.users == self.needed:
            return f"{self.users} users: {why}"
        kind = "capped" if self.users < self.needed else "the floor"
        return f"{self.users} users ({kind}; the rule asks {self.needed}: {why})"

    def spawn_rate(self, given: float | None) -> float:
        """Spawn the users within about a second, or faster if asked: they carry the load, and the
        arrivals do not wait for them to exist."""
        return max(given or 0.0, min(float(self.users), SPAWN_RATE))


def plan_users(rps: float, latency_bound_s: float | None, floor: int) -> UserPlan:
    """The users for ``rps`` arrivals per second whose invokes take at most ``latency_bound_s``.

    The smallest U with P(N >= U) <= LATE_SHARE for N ~ Poisson(rps x bound), at least ``floor``,
    at most MAX_USERS (a floor above it wins: it was asked for)."""
    floor = max(1, int(floor))
    if latency_bound_s is None:
        return UserPlan(floor, None, rps, None, floor)
    from scipy.stats import poisson

    # isf gives the smallest k with P(N > k) <= LATE_SHARE; U = k + 1 users are then all busy
    # (N >= U) with at most that probability, and U = k would not do.
    needed = int(poisson.isf(LATE_SHARE, rps * latency_bound_s)) + 1
    return UserPlan(max(floor, min(needed, MAX_USERS)), needed, rps, latency_bound_s, floor)


class OpenLoop:
    """A Locust process's open loop: the arrival stream of its current test, which its users claim.

    ``attach()`` puts it on the environment (where ``arrival_wait`` finds it) and follows the
    test: a stream starts with each test (settings read from ``environment.lambench``, where a
    worker has just put the master's) and closes when the test is stopping, before users stop.
    """

    def __init__(self, environment, *, worker: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.environment = environment
        self.worker = worker
        self.clock = clock
        self.rps: float | None = None
        self.seed: int | None = None
        self.schedule: ArrivalSchedule | None = None
        self.plan: UserPlan | None = None
        self._warned = False

    def attach(self) -> OpenLoop:
        setattr(self.environment, OPEN_LOOP_ATTR, self)
        self.environment.events.test_start.add_listener(self.on_test_start)
        self.environment.events.test_stopping.add_listener(self.on_test_stopping)
        return self

    @property
    def active(self) -> bool:
        return self.rps is not None

    def on_test_start(self, **_kwargs) -> None:
        settings = self.environment.lambench
        self.rps = settings.rps
        # A run without a seed gets one, recorded in its facts, so that it can be replayed.
        self.seed = settings.seed if settings.seed is not None else random.SystemRandom().randrange(2**32)
        self.schedule = None
        self._warned = False

    def on_test_stopping(self, **_kwargs) -> None:
        if self.schedule is not None:
            self.schedule.close()

    def share(self) -> float:
        """This process's share of the rate: 1, or on a worker, 1 / the workers the master started with."""
        workers = getattr(self.environment.parsed_options, WORKERS_OPTION, None) if self.worker else None
        return 1.0 / workers if workers and workers > 0 else 1.0

    def stream_seed(self) -> int | str | None:
        # Workers must not draw the same stream: each gets its own from the seed and its index.
        if self.worker:
            return f"{self.seed}/worker-{getattr(self.environment.runner, 'worker_index', 0)}"
        return self.seed

    def claim(self) -> tuple[float, float]:
        assert self.rps is not None, "claim() in closed loop"
        if self.schedule is None:
            self.schedule = ArrivalSchedule(self.rps * self.share(), self.stream_seed(), self.clock)
        late_before = self.schedule.late
        due, wait_s = self.schedule.claim()
        if self.schedule.late > late_before and not self._warned:
            self._warned = True
            logger.warning(
                "lambench: open loop: an arrival found every user busy (late by %.0f ms); late arrivals "
                "are counted and reported at the end",
                self.schedule.late_max_s * 1000.0,
            )
        return due, wait_s

    def begin(self, due: float) -> bool:
        """Whether the arrival due at ``due`` may start now: not once the test is stopping.

        A user that Locust's stop found waiting is killed, but the kill is queued: if the user's
        sleep ends first, it would start an invoke that the kill then cuts off mid-call,
        unrecorded. So an arrival that a user reaches after the stream closed is not started
        (it counts as missed); the user goes back to waiting, where the kill finds it."""
        if self.schedule is None or self.schedule.closed_at is not None:
            return False
        self.schedule.begin(due)
        return True

    def facts(self) -> dict[str, Any] | None:
        """The run's open-loop facts once the stream is closed (None in closed loop, or before)."""
        if self.rps is None:
            return None
        facts: dict[str, Any] = {"rps": self.rps, "seed": self.seed}
        if self.plan is not None:
            facts.update(users=self.plan.users, users_rule=self.plan.rule)
        if self.worker:
            facts.update(stream=self.stream_seed(), process_rps=self.rps * self.share())
        if self.schedule is None:  # no user claimed an arrival before the stop
            return {**facts, **NO_COUNTS}
        if self.schedule.closed_at is None:
            return None
        return {**facts, **self.schedule.counts()}


def arrival_wait(user) -> float:
    """The ``wait_time`` of lambench's users: none in closed loop; in open loop, the time left
    until the arrival this user claims, the next one of its process's stream."""
    open_loop = getattr(user.environment, OPEN_LOOP_ATTR, None)
    if open_loop is None or not open_loop.active:
        return 0.0
    due, wait_s = open_loop.claim()
    setattr(user, _DUE_ATTR, due)
    return wait_s


def wait_for_first_arrival(user) -> None:
    """``on_start`` of lambench's users: in open loop, even the first invoke waits for an arrival
    (Locust runs a task first, then waits). Through Locust's own wait, so a stop kills the wait."""
    open_loop = getattr(user.environment, OPEN_LOOP_ATTR, None)
    if open_loop is not None and open_loop.active:
        user.wait()


def begin_arrival(user) -> bool:
    """At the top of a task: whether to go ahead. In open loop, the claimed arrival starts now
    (counted once, with its start lag), unless the test is stopping (see OpenLoop.begin)."""
    due = getattr(user, _DUE_ATTR, None)
    if due is None:
        return True
    setattr(user, _DUE_ATTR, None)
    open_loop = getattr(user.environment, OPEN_LOOP_ATTR, None)
    return open_loop is None or open_loop.begin(due)


_SUMMED = ("arrivals", "started", "missed", "late")
# What the master keeps of each worker's own facts: its stream, so that a run can be replayed
# worker by worker, and its counts, so that a late or missing worker can be told apart.
_PER_WORKER = ("stream", "process_rps", "window_s", *_SUMMED)


def merge_facts(by_worker: Mapping[str, Mapping[str, Any]], **given: Any) -> dict[str, Any]:
    """One run's open-loop facts from its workers' (a master's view): counts added, maxima the
    largest, means weighted by their counts, each worker's stream and counts under ``per_worker``;
    ``given`` (rps, seed, users, ...) set on top."""
    parts = list(by_worker.values())
    merged: dict[str, Any] = {key: sum(int(p.get(key, 0)) for p in parts) for key in _SUMMED}
    merged["window_s"] = max((float(p.get("window_s", 0.0)) for p in parts), default=0.0)
    for key in ("late_max_ms", "start_lag_max_ms"):
        merged[key] = max((float(p.get(key, 0.0)) for p in parts), default=0.0)
    for mean, count in (("late_mean_ms", "late"), ("start_lag_mean_ms", "started")):
        total = sum(float(p.get(mean, 0.0)) * int(p.get(count, 0)) for p in parts)
        merged[mean] = round(total / merged[count], 3) if merged[count] else 0.0
    merged["workers"] = len(parts)
    merged["per_worker"] = {
        worker: {key: facts[key] for key in _PER_WORKER if key in facts} for worker, facts in sorted(by_worker.items())
    }
    return {**given, **merged}


def describe(facts: Mapping[str, Any]) -> str:
    """One line for the terminal: the rate, what arrived, and whether the loop stayed open."""
    arrivals, late, missed = facts.get("arrivals", 0), facts.get("late", 0), facts.get("missed", 0)
    line = (
        f"{arrivals} arrivals at {facts.get('rps'):g}/s over {facts.get('window_s', 0.0):.1f} s "
        f"(seed {facts.get('seed')}), {facts.get('users', '?')} users; "
    )
    if late:
        share = late / arrivals if arrivals else 0.0
        line += (
            f"{late} late ({share:.1%}, up to {facts.get('late_max_ms', 0.0):.0f} ms): they found every user "
            "busy, so the load was not open loop for them"
        )
    else:
        line += "none late"
    if missed:
        line += f"; {missed} due before the stop and not started"
    return line
