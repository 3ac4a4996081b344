"""The cold-start simulator checked against the emulator's real environments.

A small open-loop profile (Poisson bursts of a few requests a second, quiet gaps longer than
the idle timeout) is replayed against an emulator of this test's own with a 2 s idle timeout:
each arrival is sent at its time from a thread of its own, so none waits for another's
response. Cold starts are counted from each invoke's REPORT line (Init Duration present). The
simulator then replays the same send times with the durations the run measured, and its
predicted cold count must fall inside the measured count's 95% Wilson interval, first on
demand, then with the provisioned concurrency it recommends, which must cut cold starts.

Nothing here asserts a time: the emulator's own reaper runs once a second, so an environment is
reclaimed 2 to 3 s after its last use; the quiet gaps (5 s) are longer than both.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from bench.analysis.sample import Sample
from bench.analysis.stats import proportion_ci
from bench.collect import find_report
from bench.decide.provisioned import search_provisioned
from bench.decide.simulate import SimResult, simulate
from bench.decide.traffic import ArrivalProfile, arrival_times

IDLE_TIMEOUT_S = 2.0
BURST_S, QUIET_S, BURSTS, BURST_RPS = 4.0, 5.0, 4, 5.0
SLEEP_S = 0.4
BUDGET = 0.03
SEEDS = range(20)  # the prediction is the simulator's mean over these seeds


@dataclass
class Call:
    sent_s: float
    cold: bool
    duration_ms: float
    init_ms: float | None
    init_type: str


def _profile() -> ArrivalProfile:
    edges, rates = [0.0], []
    for _ in range(BURSTS):
        edges += [edges[-1] + BURST_S, edges[-1] + BURST_S + QUIET_S]
        rates += [BURST_RPS, 0.0]
    edges[-1] = 86_400.0  # the rest of the day is quiet
    return ArrivalProfile("bursty", tuple(edges), tuple(rates))


def _replay(client, name: str, qualifier: str, schedule: np.ndarray) -> list[Call]:
    """Send one invoke at each scheduled time (open loop), each from its own worker thread."""
    calls: list[Call] = []
    lock = threading.Lock()
    start = time.monotonic()

    def call() -> None:
        sent = time.monotonic() - start
        response = client.invoke(
            FunctionName=name, Qualifier=qualifier, LogType="Tail", Payload=json.dumps({"sleep_s": SLEEP_S})
        )
        response["Payload"].read()
        report = find_report(base64.b64decode(response["LogResult"]).decode())
        assert report is not None and "FunctionError" not in response
        init_type = response["ResponseMetadata"]["HTTPHeaders"]["x-lambench-initialization-type"]
        with lock:
            calls.append(Call(sent, report.cold, report.duration_ms, report.init_ms, init_type))

    with ThreadPoolExecutor(max_workers=48) as pool:
        futures = []
        for at in schedule:
            delay = start + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(call))
        for future in futures:
            future.result()
    return sorted(calls, key=lambda c: c.sent_s)


def _samples(calls: list[Call]) -> tuple[Sample, Sample, Sample]:
    warm = Sample.of([c.duration_ms for c in calls if not c.cold])
    cold = Sample.of([c.duration_ms for c in calls if c.cold])
    init = Sample.of([c.init_ms for c in calls if c.init_ms is not None])
    return warm, cold, init


def _predict(calls: list[Call], samples: tuple[Sample, Sample, Sample], provisioned: int) -> float:
    """The simulator's mean cold count over SEEDS, on the calls' own send times."""
    arrivals = np.array([c.sent_s for c in calls])
    colds = [
        simulate(arrivals, *samples, idle_timeout_s=IDLE_TIMEOUT_S, provisioned=provisioned, seed=seed).cold
        for seed in SEEDS
    ]
    return float(np.mean(colds))


def _wait_ready(client, name: str, qualifier: str) -> None:
    for _ in range(600):
        status = client.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)["Status"]
        if status != "IN_PROGRESS":
            assert status == "READY"
            return
        time.sleep(0.05)
    raise AssertionError("provisioned concurrency never became READY")


def _inside(predicted: float, measured: int, n: int) -> bool:
    interval = proportion_ci(measured, n)
    return interval.lo <= predicted / n <= interval.hi


def test_simulated_cold_starts_match_the_emulators_with_and_without_provisioned_concurrency(own_emulator):
    _, client, deploy = own_emulator("--idle-timeout", str(IDLE_TIMEOUT_S))
    spec, (variant,) = deploy("sleepy", memory_mb=(512,))
    schedule = arrival_times(_profile(), BURSTS * (BURST_S + QUIET_S) / 86_400, np.random.default_rng(8))

    on_demand = _replay(client, spec.name, variant.name, schedule)
    n0, measured0 = len(on_demand), sum(c.cold for c in on_demand)
    assert n0 == len(schedule) and measured0 >= 1 + BURSTS  # every burst starts cold

    # The recommended N, from the simulator on what the on-demand run measured.
    samples0 = _samples(on_demand)
    arrivals0 = np.array([c.sent_s for c in on_demand])

    def run(n: int) -> SimResult:
        return simulate(arrivals0, *samples0, idle_timeout_s=IDLE_TIMEOUT_S, provisioned=n)

    count, _ = search_provisioned(run, BUDGET)
    assert count > 0

    time.sleep(QUIET_S)  # let the on-demand environments go, as between bursts
    client.put_provisioned_concurrency_config(
        FunctionName=spec.name, Qualifier=variant.name, ProvisionedConcurrentExecutions=count
    )
    _wait_ready(client, spec.name, variant.name)
    provisioned = _replay(client, spec.name, variant.name, schedule)
    n1, measured1 = len(provisioned), sum(c.cold for c in provisioned)

    # Durations measured in the run: warm Duration of both replays, cold and init of both.
    samples = _samples(on_demand + provisioned)
    predicted0 = _predict(on_demand, samples, 0)
    predicted1 = _predict(provisioned, samples, count)
    served = sum(c.init_type == "provisioned-concurrency" for c in provisioned)
    summary = (
        f"on demand: measured {measured0}/{n0}, predicted {predicted0:.1f}; "
        f"N = {count}: measured {measured1}/{n1} ({served} served by PC), predicted {predicted1:.1f}"
    )
    print(summary)
    assert _inside(predicted0, measured0, n0), summary
    assert _inside(predicted1, measured1, n1), summary
    assert measured1 < measured0 and predicted1 < predicted0, summary
