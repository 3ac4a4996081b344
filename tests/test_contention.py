"""Host contention, measured per invocation and kept out of Duration where that is sound (issue 15).

Each test drives the real emulator through boto3 and reads the emulator's own counters
(``/lambench/info``'s ``served``: µs totals over the metered invocations). Nothing here asserts a
wall-clock time: only ratios measured side by side in one test, with generous bounds, since the
host is shared with whatever else runs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FUNCTIONS

from bench.collect import find_report

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 3
PER_BATCH = 4


@contextlib.contextmanager
def busy_loops(count: int):
    """``count`` processes that only burn CPU: more runnable work than this host has cores."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.5)
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def served(emulator) -> dict:
    return emulator.info()["served"]


def report_of(response) -> object:
    log = base64.b64decode(response["LogResult"]).decode()
    report = find_report(log, response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])
    assert report is not None, log
    return report


def batch(emulator, client, name: str, qualifier: str, payload: dict) -> dict:
    """PER_BATCH sequential invokes; their REPORT Durations and the emulator's counters over them."""
    before = served(emulator)
    durations = []
    for _ in range(PER_BATCH):
        response = client.invoke(FunctionName=name, Qualifier=qualifier, Payload=json.dumps(payload), LogType="Tail")
        assert "FunctionError" not in response, response["Payload"].read()
        durations.append(report_of(response).duration_ms)
    after = served(emulator)
    delta = {key: after.get(key, 0) - before.get(key, 0) for key in after}
    assert delta["metered"] == PER_BATCH, delta
    return {"durations": durations, **delta}


def cores_busy_enough() -> int:
    # Two busy loops per core: the environment then gets at most a third of a core, whatever else runs.
    return 2 * len(os.sched_getaffinity(0))


def test_a_busy_loop_competitor_raises_the_run_queue_delay_but_not_the_duration(own_emulator):
    emulator, client, deploy = own_emulator("--cpu-mode", "dilation")
    spec, _ = deploy("contention", memory_mb=(1769,))
    payload = {"work": "spin", "n": 150_000}
    batch(emulator, client, spec.name, "mem-1769", payload)  # the cold start
    quiet, busy = [], []
    for _ in range(ROUNDS):  # interleaved, so drift on the host falls on both alike
        quiet.append(batch(emulator, client, spec.name, "mem-1769", payload))
        with busy_loops(cores_busy_enough()):
            busy.append(batch(emulator, client, spec.name, "mem-1769", payload))

    def total(batches, key):
        return sum(b[key] for b in batches)

    quiet_wait = total(quiet, "contention_us") / total(quiet, "wall_us")
    busy_wait = total(busy, "contention_us") / total(busy, "wall_us")
    # The competitor shows up in the measurement, as a share of the environment's own time...
    assert busy_wait > 0.2, (quiet_wait, busy_wait)
    assert busy_wait > quiet_wait, (quiet_wait, busy_wait)
    # ...the raw wall time grows with it, and the Duration reported leaves that wait out.
    raw_growth = total(busy, "raw_duration_us") / total(quiet, "raw_duration_us")
    duration_growth = statistics.median(d for b in busy for d in b["durations"]) / statistics.median(
        d for b in quiet for d in b["durations"]
    )
    assert raw_growth > duration_growth, (raw_growth, duration_growth)
    assert 0.5 < duration_growth < 1.6, (duration_growth, quiet, busy)
    # What the REPORT says is what the counters summed: reported Duration = wall - contention.
    for b in busy:
        assert abs(b["duration_us"] - (b["wall_us"] - b["contention_us"])) <= PER_BATCH * 2, b


def test_dilation_stretches_cpu_time_but_not_off_cpu_waiting(own_emulator):
    emulator, client, deploy = own_emulator("--cpu-mode", "dilation")
    spec, _ = deploy("contention", memory_mb=(128, 1769))
    cells = {}
    for work, payload in (("spin", {"work": "spin", "n": 20_000}), ("sleep", {"work": "sleep", "sleep_s": 0.05})):
        for mb in (128, 1769):
            batch(emulator, client, spec.name, f"mem-{mb}", payload)  # cold start / warm-up
        for mb in (128, 1769):
            cells[work, mb] = statistics.median(batch(emulator, client, spec.name, f"mem-{mb}", payload)["durations"])
    # CPU-bound work takes about 1769/128 = 13.8 times as long at 128 MB; sleeping takes as long.
    assert cells["spin", 128] / cells["spin", 1769] > 5, cells
    assert cells["sleep", 128] / cells["sleep", 1769] < 2, cells


def test_a_threaded_function_is_metered_over_all_its_threads(own_emulator):
    emulator, client, deploy = own_emulator("--cpu-mode", "dilation")
    spec, _ = deploy("contention", memory_mb=(1769,))
    batch(emulator, client, spec.name, "mem-1769", {"work": "threads", "n": 100_000})
    with busy_loops(cores_busy_enough()):
        threaded = batch(emulator, client, spec.name, "mem-1769", {"work": "threads", "n": 100_000})
    assert threaded["contention_us"] > 0, threaded
    assert threaded["cpu_us"] > 0, threaded


def test_a_function_that_closes_the_meter_still_answers_with_its_raw_duration(own_emulator):
    emulator, client, deploy = own_emulator("--cpu-mode", "dilation")
    spec, _ = deploy("contention", memory_mb=(1769,))
    before = served(emulator)
    response = client.invoke(
        FunctionName=spec.name, Qualifier="mem-1769", Payload=json.dumps({"work": "close_pipes"}), LogType="Tail"
    )
    assert json.loads(response["Payload"].read())["closed"] >= 1
    assert report_of(response).duration_ms >= 0
    again = client.invoke(FunctionName=spec.name, Qualifier="mem-1769", Payload=b"{}", LogType="Tail")
    assert "FunctionError" not in again
    after = served(emulator)
    # Neither invocation had a meter line to read: both kept the emulator's own clock.
    assert after["invocations"] - before.get("invocations", 0) == 2
    assert after.get("metered", 0) - before.get("metered", 0) == 0


def quota_allowed() -> bool:
    return os.geteuid() == 0 and (Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").exists() or Path(
        "/sys/fs/cgroup/cgroup.controllers").exists())  # fmt: skip


@pytest.mark.skipif(not quota_allowed(), reason="quota mode needs root with a cgroup v1 cpu or v2 cpu.max controller")
def test_quota_mode_tells_throttling_from_contention(own_emulator):
    emulator, client, deploy = own_emulator("--cpu-mode", "quota")
    spec, _ = deploy("contention", memory_mb=(128,))
    payload = {"work": "spin", "n": 20_000}
    batch(emulator, client, spec.name, "mem-128", payload)
    quiet = batch(emulator, client, spec.name, "mem-128", payload)
    # The quota's waiting is throttled time, not contention: the kernel counts both as run-queue
    # delay, and the emulator takes the group's throttled time out of it.
    assert quiet["throttled_us"] > 0.5 * quiet["run_queue_us"], quiet
    assert quiet["contention_us"] < quiet["throttled_us"], quiet
    with busy_loops(cores_busy_enough()):
        busy = batch(emulator, client, spec.name, "mem-128", payload)
    # Under contention at 128 MB the quota bound: no sound correction, so the wait is kept and flagged.
    assert busy.get("contended", 0) + busy.get("corrected", 0) >= 1, busy
    assert busy.get("corrected", 0) == 0, busy


def test_an_oversubscribed_run_prints_the_capacity_line(tmp_path):
    reports = tmp_path / "reports"
    config = tmp_path / "bench.toml"
    config.write_text(
        f"""[target]
kind = "local"
[function]
name = "contention-run"
source = "{FUNCTIONS / "contention"}"
handler = "app.handler"
[variants]
memory_mb = [1769, 3008]
[load]
users = 4
spawn_rate = 4
run_time_s = 6
payload = {{ work = "spin", n = 100000 }}
[report]
dir = "{reports}"
"""
    )
    command = [sys.executable, "-m", "bench", "run", "-c", str(config)]
    env = {**os.environ, "COLUMNS": "160"}
    # Four users on full cores, plus a competitor on every core: more than this host has.
    with busy_loops(len(os.sched_getaffinity(0))):
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("host capacity: oversubscribed")]
    assert len(lines) == 1, done.stdout
    line = lines[0]
    assert "waited for a CPU" in line and "fewer users (now 4)" in line, line
    assert "[load] rps" in line and "distributed Locust" in line, line
    assert "unstable" not in line
    run_dir = next(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
    assert json.loads((run_dir / "run.json").read_text())["host_capacity"] == line
    assert "oversubscribed" in (run_dir / "report.html").read_text()
