"""Open-loop load (bench/load/openloop.py): Poisson arrivals at a rate, carried by enough users.

The schedule is tested on its own with a fake clock and fixed seeds, so every assertion is exact or
statistical with a fixed draw, never about wall-clock time: arrivals fall at the drawn exponential
gaps, a slow answer makes counted late arrivals without moving the later ones, the users together
start ``rps`` arrivals per second, lateness is that of a FIFO queue with U servers, and the user
rule keeps lateness near its 0.1% even when every invoke takes its whole bound. Then plain
``locust -f locustfiles/direct.py --lambda-rps`` and run_load (lambench run's door), each as a
process of its own, against the real emulator: what they record is the stream the seed draws.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import conftest
import pytest
from scipy.stats import poisson

from bench.collect import read_records
from bench.errors import UserError
from bench.load.openloop import (
    LATE_SHARE,
    LATENCY_MARGIN_S,
    MAX_USERS,
    OPEN_LOOP_ATTR,
    WORKERS_OPTION,
    ArrivalSchedule,
    OpenLoop,
    arrival_wait,
    begin_arrival,
    describe,
    merge_facts,
    plan_users,
    wait_for_first_arrival,
)
from bench.load.settings import LoadSettings

REPO = Path(__file__).resolve().parent.parent


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def expected_dues(seed, rate: float, origin: float, n: int) -> list[float]:
    """The first n due times a stream of this seed and rate must give: origin, then the gaps
    random.Random(seed).expovariate(rate) draws, added in the same order."""
    rng = random.Random(seed)
    return list(itertools.accumulate((rng.expovariate(rate) for _ in range(n)), initial=origin))[1:]


def fifo_queue(dues: list[float], service: list[float], users: int, spawned: float):
    """Reference: a FIFO queue with ``users`` servers, all free at ``spawned``. Each arrival goes to
    the server free first; returns (claim time, start time) per arrival."""
    free = [spawned] * users
    out = []
    for due, s in zip(dues, service, strict=False):
        claimed = heapq.heappop(free)
        start = max(due, claimed)
        heapq.heappush(free, start + s)
        out.append((claimed, start))
    return out


@dataclass
class Simulation:
    """Locust's loop for U users sharing one ArrivalSchedule, in simulated time.

    Every user spawns at the clock's start and claims an arrival (its on_start waits for it); at
    that arrival's due time (or at once, if late) it begins it, is busy for ``service[k]`` seconds
    (k, the arrival's index), then claims again. At ``until`` the test stops: users still waiting
    are killed, busy ones finish without claiming, and the stream is closed."""

    schedule: ArrivalSchedule
    clock: FakeClock
    users: int
    service: list[float]
    until: float
    claims: list[tuple[float, float]] = field(default_factory=list)  # (claim time, due) by arrival index

    def run(self) -> None:
        sequence = itertools.count()  # ties at one time keep their order: user spawn order
        events = [(self.clock.now, next(sequence), "free", 0.0, -1) for _ in range(self.users)]
        heapq.heapify(events)
        while events and events[0][0] <= self.until:
            t, _, kind, due, k = heapq.heappop(events)
            self.clock.now = t
            if kind == "free":
                due, wait_s = self.schedule.claim()
                k = len(self.claims)
                self.claims.append((t, due))
                assert wait_s == max(0.0, due - t)
                # It sleeps until the due time (or not at all): the start is that time itself.
                heapq.heappush(events, (max(due, t), next(sequence), "start", due, k))
            else:
                self.schedule.begin(due)
                heapq.heappush(events, (t + self.service[k], next(sequence), "free", 0.0, -1))
        self.clock.now = self.until
        self.schedule.close()


# --- the schedule on its own, fake clock, fixed seeds ---------------------------------------


def test_arrivals_fall_exactly_at_the_drawn_exponential_gaps():
    clock = FakeClock(250.0)
    schedule = ArrivalSchedule(5.0, seed=7, clock=clock)
    dues = []
    for _ in range(300):
        due, wait_s = schedule.claim()
        assert wait_s == due - clock.now, "wait until the arrival's absolute due time"
        dues.append(due)
        clock.now = due  # the user wakes at its arrival and answers at once
        schedule.begin(due)
    assert dues == expected_dues(7, 5.0, 250.0, 300)
    assert (schedule.claimed, schedule.started, schedule.late) == (300, 300, 0)
    assert schedule.lag_max_s == 0.0


def test_a_slow_answer_makes_counted_late_arrivals_and_the_later_ones_keep_their_times():
    clock = FakeClock(0.0)
    schedule = ArrivalSchedule(2.0, seed=11, clock=clock)
    want = expected_dues(11, 2.0, 0.0, 8)
    dues = []
    for _ in range(3):  # arrivals 1..3 on time, each answered at once
        due, _wait = schedule.claim()
        clock.now = due
        dues.append(due)
    # The answer to arrival 3 comes back halfway between arrivals 5 and 6: 4 and 5 found the only
    # user busy.
    clock.now = want[4] + (want[5] - want[4]) / 2
    late_by = [clock.now - want[3], clock.now - want[4]]
    for _ in range(2):
        due, wait_s = schedule.claim()
        assert wait_s == 0.0, "a late arrival starts at once"
        dues.append(due)
    assert schedule.late == 2
    assert schedule.late_max_s == max(late_by)
    assert schedule.late_total_s == pytest.approx(sum(late_by), rel=1e-12)
    for _ in range(3):  # arrivals 6..8: back on their own times, not shifted by the delay
        due, wait_s = schedule.claim()
        assert wait_s == due - clock.now > 0
        clock.now = due
        dues.append(due)
    assert dues == want
    assert schedule.late == 2


def test_users_together_start_rps_arrivals_per_second():
    rps, window = 20.0, 3000.0
    svc = random.Random(5)
    service = [svc.expovariate(1 / 0.05) for _ in range(80_000)]  # 50 ms on average
    clock = FakeClock(0.0)
    sim = Simulation(ArrivalSchedule(rps, seed=3, clock=clock), clock, users=8, service=service, until=window)
    sim.run()
    low, high = poisson.interval(0.999, rps * window)
    assert low <= sim.schedule.due_by_close <= high
    assert low <= sim.schedule.started <= high
    assert sim.schedule.due_by_close == sum(1 for d in expected_dues(3, rps, 0.0, 80_000) if d <= window)


def test_the_seed_fixes_the_arrivals_whatever_the_number_of_users():
    svc = random.Random(9)
    service = [svc.uniform(0.0, 0.3) for _ in range(5000)]
    dues = {}
    for users in (2, 5, 40):
        clock = FakeClock(0.0)
        sim = Simulation(ArrivalSchedule(10.0, seed=21, clock=clock), clock, users, service, until=300.0)
        sim.run()
        dues[users] = [due for _claimed, due in sim.claims if due <= 300.0]
    assert dues[2] == dues[5] == dues[40] == [d for d in expected_dues(21, 10.0, 0.0, 5000) if d <= 300.0]


def test_late_arrivals_are_those_of_a_fifo_queue_with_one_server_per_user():
    rps, users, until = 10.0, 2, 400.0
    svc = random.Random(4)
    service = [svc.expovariate(1 / 0.16) for _ in range(6000)]  # 80% busy: lateness is common
    clock = FakeClock(0.0)
    sim = Simulation(ArrivalSchedule(rps, seed=8, clock=clock), clock, users, service, until)
    sim.run()
    dues = expected_dues(8, rps, 0.0, 6000)
    reference = fifo_queue(dues, service, users, spawned=0.0)
    # Every claim the simulation made is the reference's, at the same time, for the same arrival.
    assert (
        sim.claims
        == [(claimed, due) for (claimed, _start), due in zip(reference, dues, strict=False)][: len(sim.claims)]
    )
    made = reference[: len(sim.claims)]
    late = [claimed - due for (claimed, _start), due in zip(made, dues, strict=False) if claimed > due]
    s = sim.schedule
    assert s.late == len(late) > 50
    assert s.late_max_s == max(late)
    assert s.late_total_s == pytest.approx(sum(late), rel=1e-9)
    due_by_stop = sum(1 for d in dues if d <= until)
    started = sum(1 for _claimed, start in reference if start <= until)
    assert (s.due_by_close, s.started) == (due_by_stop, started)
    counts = s.counts()
    assert counts["missed"] == due_by_stop - started
    assert counts["arrivals"] == counts["started"] + counts["missed"]


def test_the_user_rule_keeps_lateness_near_its_bound_when_every_invoke_takes_the_whole_bound():
    rps, bound = 10.0, 3.0
    plan = plan_users(rps, bound, floor=1)
    clock = FakeClock(0.0)
    sim = Simulation(ArrivalSchedule(rps, seed=17, clock=clock), clock, plan.users, [bound] * 60_000, until=5000.0)
    sim.run()
    assert sim.schedule.late / sim.schedule.due_by_close < 2 * LATE_SHARE
    # and a few users fewer than the rule's would not do: lateness is then markedly more common
    clock = FakeClock(0.0)
    fewer = plan.users - 6
    sim = Simulation(ArrivalSchedule(rps, seed=17, clock=clock), clock, fewer, [bound] * 60_000, until=5000.0)
    sim.run()
    assert sim.schedule.late / sim.schedule.due_by_close > 2 * LATE_SHARE


@pytest.mark.parametrize("rps, bound", [(0.01, 3.0), (1.0, 1.0), (20.0, 35.0), (200.0, 0.5)])
def test_the_user_rule_is_the_smallest_count_within_the_late_share(rps, bound):
    plan = plan_users(rps, bound, floor=1)
    mean = rps * bound
    users = plan.needed
    assert plan.users == users
    assert poisson.sf(users - 1, mean) <= LATE_SHARE, "P(all users busy) within the share"
    assert users == 1 or poisson.sf(users - 2, mean) > LATE_SHARE, "one fewer would not be"


def test_the_user_rule_honours_the_floor_and_the_cap_and_says_so():
    assert plan_users(1.0, 0.1, floor=50).users == 50
    assert "(the floor; the rule asks 3:" in plan_users(1.0, 0.1, floor=50).rule
    capped = plan_users(1000.0, 900.0, floor=4)
    assert capped.users == MAX_USERS and capped.needed > MAX_USERS and "capped" in capped.rule
    unknown = plan_users(20.0, None, floor=3)
    assert (unknown.users, unknown.needed) == (3, None) and "unknown" in unknown.rule
    assert plan_users(20.0, 35.0, floor=1).spawn_rate(None) == 100.0
    small = plan_users(1.0, 1.0, floor=3)
    assert small.users == 6 and small.spawn_rate(1.0) == 6.0, "all users in the first second"
    assert small.spawn_rate(500.0) == 500.0, "a faster spawn rate asked for stays"


# --- the Locust side: wait_time, on_start and task hooks, with fakes -----------------------


class FakeEvents:
    def __init__(self) -> None:
        self.listeners: dict[str, list] = {}

    def __getattr__(self, name: str):
        hook = SimpleNamespace(add_listener=lambda f: self.listeners.setdefault(name, []).append(f))
        return hook

    def fire(self, name: str, **kwargs) -> None:
        for listener in self.listeners.get(name, []):
            listener(**kwargs)


def settings(**overrides) -> LoadSettings:
    base = dict(
        function_name="f",
        variants=("mem-128",),
        endpoint_url="http://127.0.0.1:1",
        region="us-east-1",
        payload=b"{}",
        run_id="r",
        records_path=Path("unused.sqlite"),
    )
    return LoadSettings(**{**base, **overrides})


def fake_environment(rps=None, seed=None, workers=None, worker_index=0):
    options = SimpleNamespace()
    if workers is not None:
        setattr(options, WORKERS_OPTION, workers)
    return SimpleNamespace(
        lambench=settings(rps=rps, seed=seed),
        events=FakeEvents(),
        parsed_options=options,
        runner=SimpleNamespace(worker_index=worker_index),
    )


class FakeUser:
    """What the hooks use of a Locust user: its environment, and wait() calling its wait_time."""

    def __init__(self, environment) -> None:
        self.environment = environment
        self.slept: list[float] = []

    def wait(self) -> None:
        self.slept.append(arrival_wait(self))


def test_closed_loop_users_never_wait():
    user = FakeUser(SimpleNamespace())
    assert arrival_wait(user) == 0.0
    wait_for_first_arrival(user)
    begin_arrival(user)
    assert user.slept == []
    environment = fake_environment(rps=None)
    OpenLoop(environment).attach()
    environment.events.fire("test_start")
    user = FakeUser(environment)
    wait_for_first_arrival(user)
    assert (arrival_wait(user), user.slept, getattr(environment, OPEN_LOOP_ATTR).facts()) == (0.0, [], None)


def test_open_loop_users_wait_for_their_arrivals_and_each_start_counts_once():
    clock = FakeClock(50.0)
    environment = fake_environment(rps=4.0, seed=3)
    open_loop = OpenLoop(environment, clock=clock).attach()
    environment.events.fire("test_start")
    user = FakeUser(environment)
    wait_for_first_arrival(user)  # on_start: even the first invoke waits for an arrival
    want = expected_dues(3, 4.0, 50.0, 2)
    assert user.slept == [want[0] - 50.0]
    lag = (want[1] - want[0]) / 4  # woke late: a start lag, not a late arrival (the user was free)
    clock.now = want[0] + lag
    assert begin_arrival(user) is True
    begin_arrival(user)  # a second call without a new claim counts nothing
    assert open_loop.facts() is None, "no facts before the stream is closed"
    user.wait()
    environment.events.fire("test_stopping")
    facts = open_loop.facts()
    assert (facts["rps"], facts["seed"], facts["started"], facts["late"]) == (4.0, 3, 1, 0)
    assert facts["start_lag_max_ms"] == pytest.approx(lag * 1000.0, abs=1e-3)
    assert facts["arrivals"] == sum(1 for d in want if d <= clock.now)


def test_an_arrival_a_user_reaches_after_the_stop_is_not_started_but_missed():
    clock = FakeClock(0.0)
    environment = fake_environment(rps=2.0, seed=13)
    open_loop = OpenLoop(environment, clock=clock).attach()
    environment.events.fire("test_start")
    user = FakeUser(environment)
    wait_for_first_arrival(user)
    (due,) = expected_dues(13, 2.0, 0.0, 1)
    clock.now = due
    environment.events.fire("test_stopping")  # Locust's stop, just before this user wakes
    assert begin_arrival(user) is False, "no invoke once the test is stopping: a kill is on its way"
    facts = open_loop.facts()
    assert (facts["arrivals"], facts["started"], facts["missed"]) == (1, 0, 1)
    assert begin_arrival(FakeUser(SimpleNamespace())) is True, "closed loop: always go ahead"


def test_a_run_without_a_seed_records_the_one_it_drew_and_that_seed_replays_it():
    clock = FakeClock(0.0)
    environment = fake_environment(rps=7.0, seed=None)
    open_loop = OpenLoop(environment, clock=clock).attach()
    environment.events.fire("test_start")
    dues = [open_loop.claim()[0] for _ in range(20)]
    clock.now = dues[-1]
    environment.events.fire("test_stopping")
    seed = open_loop.facts()["seed"]
    assert isinstance(seed, int)
    assert dues == expected_dues(seed, 7.0, 0.0, 20)


def test_a_worker_takes_its_share_of_the_rate_and_a_stream_of_its_own():
    def first_dues(worker_index: int, workers: int | None) -> tuple[float, list[float]]:
        clock = FakeClock(0.0)
        env = fake_environment(rps=30.0, seed=5, workers=workers, worker_index=worker_index)
        open_loop = OpenLoop(env, worker=True, clock=clock).attach()
        env.events.fire("test_start")
        return open_loop.share(), [open_loop.claim()[0] for _ in range(5)]

    share, dues = first_dues(0, 4)
    assert share == 0.25
    assert dues == expected_dues("5/worker-0", 30.0 / 4, 0.0, 5)
    assert first_dues(0, 4)[1] == dues, "the same worker index replays its stream"
    assert first_dues(1, 4)[1] == expected_dues("5/worker-1", 30.0 / 4, 0.0, 5) != dues
    assert first_dues(0, None)[0] == 1.0, "a worker not told how many workers there are takes the whole rate"


def test_a_masters_facts_add_up_its_workers():
    by_worker = {
        "w1": {"stream": "1/worker-1", "process_rps": 7.5, "arrivals": 52, "started": 50, "missed": 2, "late": 1,
               "late_max_ms": 80.0, "late_mean_ms": 80.0, "start_lag_max_ms": 9.0, "start_lag_mean_ms": 4.0,
               "window_s": 10.5, "rps": 15.0, "seed": 1},
        "w0": {"stream": "1/worker-0", "process_rps": 7.5, "arrivals": 100, "started": 100, "missed": 0, "late": 4,
               "late_max_ms": 30.0, "late_mean_ms": 10.0, "start_lag_max_ms": 5.0, "start_lag_mean_ms": 1.0,
               "window_s": 10.0, "rps": 15.0, "seed": 1},
    }  # fmt: skip
    merged = merge_facts(by_worker, rps=15.0, seed=1, users=40)
    assert merged == {
        "rps": 15.0, "seed": 1, "users": 40, "arrivals": 152, "started": 150, "missed": 2, "late": 5,
        "window_s": 10.5, "late_max_ms": 80.0, "start_lag_max_ms": 9.0,
        "late_mean_ms": 24.0, "start_lag_mean_ms": 2.0, "workers": 2,
        "per_worker": {
            "w0": {"stream": "1/worker-0", "process_rps": 7.5, "window_s": 10.0, "arrivals": 100, "started": 100,
                   "missed": 0, "late": 4},
            "w1": {"stream": "1/worker-1", "process_rps": 7.5, "window_s": 10.5, "arrivals": 52, "started": 50,
                   "missed": 2, "late": 1},
        },
    }  # fmt: skip


def test_the_terminal_line_says_whether_the_loop_stayed_open():
    base = {"rps": 20.0, "seed": 9, "users": 48, "window_s": 60.0, "arrivals": 1200, "started": 1200, "missed": 0}
    assert describe({**base, "late": 0}) == "1200 arrivals at 20/s over 60.0 s (seed 9), 48 users; none late"
    line = describe({**base, "late": 12, "late_max_ms": 830.0, "started": 1197, "missed": 3})
    assert "12 late (1.0%, up to 830 ms)" in line and "not open loop" in line
    assert line.endswith("; 3 due before the stop and not started")


@pytest.mark.parametrize("rps", [0.0, -1.0, float("nan"), float("inf")])
def test_a_rate_that_is_not_a_positive_number_is_a_user_error(rps):
    with pytest.raises(UserError, match="--lambda-rps"):
        settings(rps=rps)


# --- real runs against the emulator ---------------------------------------------------------

RATE, SEED, SECONDS, TIMEOUT_S = 10.0, 1234, 6, 10


def check_run(facts: dict, records, floor: int, timeout_s: float) -> None:
    """What a real open-loop run must show: its facts are the seed's stream over its window, every
    arrival it started is one record, and a fast function left no arrival late."""
    assert (facts["rps"], facts["seed"]) == (RATE, SEED)
    assert facts["users"] == plan_users(RATE, timeout_s + LATENCY_MARGIN_S, floor).users
    window = facts["window_s"]
    # The arrivals are those the seed draws, up to the stop...
    assert facts["arrivals"] == sum(1 for d in expected_dues(SEED, RATE, 0.0, 10_000) if d <= window)
    # ...so their count is a Poisson count for the rate over the window.
    low, high = poisson.interval(0.999, RATE * window)
    assert low <= facts["arrivals"] <= high
    assert len(records) == facts["started"]
    assert facts["started"] + facts["missed"] == facts["arrivals"]
    assert facts["late"] == 0, "a 10 ms function with the rule's users: no arrival found them all busy"
    assert all(r.status == "ok" for r in records)


def test_plain_locust_with_lambda_rps_replays_the_seeds_arrivals(emulator, deploy, tmp_path):
    spec, (variant,) = deploy("hello", (128,), timeout_s=TIMEOUT_S)
    result = conftest.run_locust(
        "direct.py", emulator.url, spec.name, variant.name, tmp_path,
        "--lambda-rps", str(RATE), "--lambda-seed", str(SEED), users=2, seconds=SECONDS,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    facts = json.loads((run_dir / "results.json").read_text())["run"]["open_loop"]
    check_run(facts, read_records(run_dir / "records.sqlite"), floor=2, timeout_s=TIMEOUT_S)
    assert "open loop:" in result.stderr and "none late" in result.stderr


RUN_LOAD = """
import json, sys
from pathlib import Path
import locust  # gevent patches sockets first, as in lambench run
from bench.load.headless import run_load
from bench.load.settings import LoadSettings
endpoint, function, variant, folder, rate, seed, seconds, stop_timeout = sys.argv[1:]
settings = LoadSettings(function_name=function, variants=(variant,), endpoint_url=endpoint, region="us-east-1",
    payload=b"{}", run_id="openloop", records_path=Path(folder) / "records.sqlite", rps=float(rate), seed=int(seed))
result = run_load(settings, 3, 1.0, float(seconds), float(stop_timeout))
print(json.dumps({"records": result.records, "open_loop": result.open_loop}))
"""


def test_run_load_in_open_loop_records_the_seeds_arrivals(emulator, deploy, tmp_path):
    spec, (variant,) = deploy("hello", (128,), timeout_s=TIMEOUT_S)
    stop_timeout = TIMEOUT_S + LATENCY_MARGIN_S  # as lambench run passes it: the timeout plus 5 s
    args = [emulator.url, spec.name, variant.name, str(tmp_path), str(RATE), str(SEED), "4", str(stop_timeout)]
    result = subprocess.run(
        [sys.executable, "-c", RUN_LOAD, *args], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    records = read_records(tmp_path / "records.sqlite")
    assert out["records"] == len(records)
    check_run(out["open_loop"], records, floor=3, timeout_s=TIMEOUT_S)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_distributed_workers_share_the_rate_and_the_master_adds_up_their_facts(own_emulator, tmp_path):
    emulator, _client, deploy = own_emulator()  # its own: the served count is this run's alone
    spec, (variant,) = deploy("hello", (128,), timeout_s=TIMEOUT_S)
    port = free_port()
    locustfile = str(REPO / "locustfiles" / "direct.py")

    def locust(*args: str, log: str) -> subprocess.Popen:
        with open(tmp_path / log, "w") as out:
            command = [sys.executable, "-m", "locust", "-f", locustfile, *args]
            return subprocess.Popen(command, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)

    master = locust(
        "--master", "--headless", "--expect-workers", "2", "-u", "2", "-t", f"{SECONDS}s", "--only-summary",
        "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--stop-timeout", "30",
        "--lambda-endpoint", emulator.url, "--lambda-function", spec.name, "--lambda-variants", variant.name,
        "--lambench-reports", str(tmp_path), "--lambda-rps", str(RATE), "--lambda-seed", str(SEED),
        log="master.log",
    )  # fmt: skip
    # The workers are given no lambda options: the rate, the seed and their share come from the master.
    workers = [
        locust("--worker", "--master-host", "127.0.0.1", "--master-port", str(port), log=f"worker-{i}.log")
        for i in range(2)
    ]
    try:
        master.wait(timeout=180)
        for worker in workers:
            worker.wait(timeout=60)
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
                process.wait()
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(tmp_path.glob("*.log")))
    assert (master.returncode, [w.returncode for w in workers]) == (0, [0, 0]), logs
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    facts = json.loads((run_dir / "results.json").read_text())["run"]["open_loop"]
    records = read_records(run_dir / "records.sqlite")
    assert (facts["rps"], facts["seed"], facts["workers"]) == (RATE, SEED, 2), logs
    assert facts["users"] == plan_users(RATE, TIMEOUT_S + LATENCY_MARGIN_S, 2).users
    assert len(records) == facts["started"] == emulator.info()["served"]["invocations"]
    assert facts["started"] + facts["missed"] == facts["arrivals"]
    assert facts["late"] == 0
    assert len({r.worker for r in records}) == 2
    # Each worker drew its own stream from the master's seed, at half the rate: exactly its arrivals.
    streams = sorted(w["stream"] for w in facts["per_worker"].values())
    assert streams == [f"{SEED}/worker-0", f"{SEED}/worker-1"], logs
    for worker in facts["per_worker"].values():
        assert worker["process_rps"] == RATE / 2
        dues = expected_dues(worker["stream"], RATE / 2, 0.0, 10_000)
        assert worker["arrivals"] == sum(1 for d in dues if d <= worker["window_s"])
    # Two streams at half the rate each make one Poisson count at the whole rate.
    low, high = poisson.interval(0.999, RATE * facts["window_s"])
    assert low <= facts["arrivals"] <= high, logs
