"""The Locust side of tests/perf/loadgen.py: one kind of user, measured over a window, then quit.

    LOADGEN_KIND=fast|boto3|fast+store  LOADGEN_OUT=r.json  locust -f loadgen_locustfile.py --headless ... LambdaInvokes
    LOADGEN_KIND=fasthttp               LOADGEN_OUT=r.json  locust -f loadgen_locustfile.py --headless ... PlainPosts

The user invokes the function LAMBENCH_FUNCTION:LAMBENCH_QUALIFIER at LAMBENCH_ENDPOINT back to
back. After LOADGEN_WARMUP_S seconds (users spawned, connections open, the target warm) it counts
requests, this process's CPU time, the CPU time of the processes in LOADGEN_SERVER_PIDS (and
their descendants) and each core's busy time for LOADGEN_SECONDS, writes them to LOADGEN_OUT and
stops Locust.

``fast+store`` is the fast client with lambench's record collector writing records.sqlite, as
``lambench run`` and locustfiles/direct.py do; the other LambdaUser kinds fire the request event
with the record but keep nothing, as the FastHttpUser keeps nothing.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import gevent
from locust import FastHttpUser, constant, events, task

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.collect.listener import RecordCollector  # noqa: E402
from bench.collect.store import RecordStore  # noqa: E402
from bench.load.settings import LoadSettings, new_run_id  # noqa: E402
from bench.load.users import LambdaUser  # noqa: E402

KIND = os.environ["LOADGEN_KIND"]
ENDPOINT = os.environ["LAMBENCH_ENDPOINT"]
FUNCTION = os.environ["LAMBENCH_FUNCTION"]
QUALIFIER = os.environ["LAMBENCH_QUALIFIER"]
PAYLOAD = os.environ.get("LAMBENCH_PAYLOAD", "{}").encode()
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class LambdaInvokes(LambdaUser):
    """LambdaUser as lambench ships it; the client comes from the settings (fast or boto3)."""


class PlainPosts(FastHttpUser):
    """The same request bytes to the same endpoint, unsigned (the emulator checks no signature)."""

    host = ENDPOINT
    wait_time = constant(0)
    path = f"/2015-03-31/functions/{FUNCTION}/invocations?Qualifier={QUALIFIER}"

    @task
    def post(self) -> None:
        self.client.post(self.path, data=PAYLOAD, headers={"X-Amz-Log-Type": "Tail"}, name="post")


def _settings(client: str) -> LoadSettings:
    run_id = new_run_id()
    return LoadSettings(
        function_name=FUNCTION,
        variants=(QUALIFIER,),
        endpoint_url=ENDPOINT,
        region="us-east-1",
        payload=PAYLOAD,
        run_id=run_id,
        records_path=Path(tempfile.mkdtemp(prefix="loadgen-")) / "records.sqlite",
        client=client,
    )


def server_cpu_s(pids: list[int]) -> float:
    """CPU seconds of the given processes and all their descendants, from /proc."""
    parents, cpu = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            parents[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    wanted, frontier = set(pids), list(pids)
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in wanted]
        wanted.update(children)
        frontier.extend(children)
    return sum(cpu.get(pid, 0.0) for pid in wanted)


def busy_s() -> dict[str, float]:
    """CPU seconds spent busy (not idle, not waiting for I/O), from /proc/stat: "cpu" (all cores), "cpu0", ..."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if not line.startswith("cpu"):
            break
        name, *values = line.split()
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in values[:8])
        out[name] = (user + nice + system + irq + softirq + steal) / CLOCK_TICKS
    return out


def snapshot(environment, server_pids: list[int]) -> dict:
    total = environment.stats.total
    return {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "wall_s": time.perf_counter(),
        "cpu_s": time.process_time(),
        "server_cpu_s": server_cpu_s(server_pids),
        **{f"busy_s:{name}": seconds for name, seconds in busy_s().items()},
    }


def measure(environment) -> None:
    server_pids = [int(p) for p in os.environ.get("LOADGEN_SERVER_PIDS", "").split(",") if p]
    gevent.sleep(float(os.environ["LOADGEN_WARMUP_S"]))
    start = snapshot(environment, server_pids)
    gevent.sleep(float(os.environ["LOADGEN_SECONDS"]))
    end = snapshot(environment, server_pids)
    result = {key: end[key] - start[key] for key in start}
    result["errors"] = {str(k): v.occurrences for k, v in environment.stats.errors.items()}
    Path(os.environ["LOADGEN_OUT"]).write_text(json.dumps(result))
    environment.runner.quit()


@events.init.add_listener
def _init(environment, **_kwargs) -> None:
    # The user class is chosen on the command line: PlainPosts for fasthttp, LambdaInvokes otherwise.
    if KIND != "fasthttp":
        environment.lambench = _settings("boto3" if KIND == "boto3" else "fast")
        if KIND == "fast+store":
            collector = RecordCollector(RecordStore(environment.lambench.records_path)).attach(environment.events)
            events.quit.add_listener(lambda **_kw: collector.close())
    gevent.spawn(measure, environment)
