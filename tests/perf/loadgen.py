"""Load-generator benchmark: invokes/s and CPU per call of LambdaUser's clients beside a plain FastHttpUser.

    .venv/bin/python tests/perf/loadgen.py [--rounds 5] [--seconds 5] [--warmup 3] [--users 32]

Each row is one kind of Locust user driving a warm no-op function (tests/perf/functions/noop at
1769 MB, one full core's share) back to back:

- LambdaUser, fast client (bench/load/fastclient.py: botocore SigV4 over geventhttpclient);
- LambdaUser, boto3 client;
- LambdaUser, fast client, with lambench's record collector writing records.sqlite (what
  ``lambench run`` does on top);
- FastHttpUser POSTing the same request bytes to the same endpoint, unsigned: the floor.

Each row is one Locust process pinned to one core, the server pinned to the other (when this
machine has two), run back to back, the order rotated every round; figures are medians over the
rounds. Two targets: the real emulator, and a canned server (a bare asyncio responder in its own
process) replaying the emulator's exact answer, which shows what the clients can do when the
emulator's own work is out of the way.

CPU µs per call is the Locust process's CPU time over the calls it made in the measured window: the
figure that holds whichever side is the bottleneck, and whatever else the machine runs (at a rate
capped by the server it also carries the client's fixed costs, so it reads higher there). Each row
says what bound its rate: the client if it ran flat out (>= 85% of its core), else the server if
its core was full (>= 85% busy) with the server its main user, else the client's core if other
work filled it (this machine may be running other work; the notes quantify it). Where the server
bound it, the rate is the server's ceiling, not the client's. Nothing here is asserted; it prints
one Markdown table and notes.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

LOCUSTFILE = Path(__file__).resolve().parent / "loadgen_locustfile.py"
FUNCTION_SOURCE = Path(__file__).resolve().parent / "functions" / "noop"
FUNCTION_NAME = "loadgen-noop"
MEMORY_MB = 1769
KINDS = {  # kind -> (row label, Locust user class)
    "fast": ("LambdaUser, fast client", "LambdaInvokes"),
    "boto3": ("LambdaUser, boto3 client", "LambdaInvokes"),
    "fast+store": ("LambdaUser, fast client + records.sqlite", "LambdaInvokes"),
    "fasthttp": ("FastHttpUser, same bytes (floor)", "PlainPosts"),
}
CORE_FULL = 0.85  # a core this busy sets the rate of the side pinned to it
# ... if the server itself is that core's main user: a light server is not held back by a full core.
SERVER_SHARE = 0.5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- cores


@dataclass(frozen=True)
class Cores:
    client: set[int] | None
    server: set[int] | None

    @property
    def note(self) -> str:
        if self.client is None:
            return "one core only: client and server were not pinned apart"
        return f"client pinned to core {min(self.client)}, server to core {min(self.server)}"


def choose_cores() -> Cores:
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return Cores(None, None)
    return Cores({available[0]}, {available[1]})


def pin_process(pid: int, cores: set[int] | None) -> None:
    # Every thread: sched_setaffinity on a pid moves only its main thread, and children inherit
    # the mask of the thread that starts them.
    if cores is None:
        return
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            os.sched_setaffinity(int(task.name), cores)


def pinned(cores: set[int] | None):
    return None if cores is None else (lambda: os.sched_setaffinity(0, cores))


# ---------------------------------------------------------------- targets


@dataclass
class Target:
    name: str
    url: str
    qualifier: str
    pid: int


def deploy_noop(url: str) -> str:
    from bench import awsclient
    from bench.targets import FunctionSpec, VariantDeployer

    deployer = VariantDeployer(awsclient.client("lambda", url, "us-east-1", awsclient.control_plane_config()))
    spec = FunctionSpec(name=FUNCTION_NAME, source=FUNCTION_SOURCE, handler="app.handler")
    (variant,) = deployer.deploy_variants(spec, (MEMORY_MB,))
    return variant.name


def warm(url: str, qualifier: str, users: int) -> None:
    """As many warm environments as there will be users, so that no measured window pays a cold start."""
    from botocore.config import Config

    from bench import awsclient

    client = awsclient.client(
        "lambda", url, "us-east-1", Config(max_pool_connections=users, retries={"total_max_attempts": 1})
    )
    with concurrent.futures.ThreadPoolExecutor(users) as pool:
        for _ in range(3):
            list(
                pool.map(
                    lambda _i: client.invoke(
                        FunctionName=FUNCTION_NAME, Qualifier=qualifier, LogType="Tail", Payload=b"{}"
                    ),
                    range(users),
                )
            )


def captured_answer(url: str, qualifier: str) -> bytes:
    """The emulator's raw answer to the benchmark's request, as bytes to replay."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request(
        "POST",
        f"/2015-03-31/functions/{FUNCTION_NAME}/invocations?Qualifier={qualifier}",
        body=b"{}",
        headers={"X-Amz-Log-Type": "Tail"},
    )
    response = connection.getresponse()
    body = response.read()
    connection.close()
    skip = {"content-length", "date", "server", "connection", "transfer-encoding", "keep-alive"}
    head = [f"HTTP/1.1 {response.status} {response.reason}"]
    head += [f"{name}: {value}" for name, value in response.getheaders() if name.lower() not in skip]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def start_canned(answer: bytes, cores: set[int] | None, workdir: Path) -> tuple[subprocess.Popen, str]:
    answer_path = workdir / "answer.bin"
    answer_path.write_bytes(answer)
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-canned", str(answer_path)],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=pinned(cores),
    )
    line = process.stdout.readline()
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
    if not match:
        process.kill()
        raise RuntimeError(f"the canned server did not start: {line!r}")
    return process, match.group(1)


# ---------------------------------------------------------------- the canned server (its own process)


class CannedAnswer(asyncio.Protocol):
    """Answers every complete request on a keep-alive connection with the same bytes."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.buffer = b""
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", self.buffer[:end])
            length = int(match.group(1)) if match else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(self.answer)


async def serve_canned(answer: bytes) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: CannedAnswer(answer), "127.0.0.1", 0)
    print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


# ---------------------------------------------------------------- one measured Locust process


@dataclass
class Sample:
    rate: float  # calls per second of wall-clock time
    cpu_us: float  # the Locust process's CPU time per call
    client_busy: float  # the Locust process's CPU time over wall time (1.0 = one core)
    server_busy: float  # the server's (and its children's) CPU time over wall time
    others_busy: float  # everything else this machine ran meanwhile, in cores
    client_core: float  # how busy the client's core was, whoever used it (1.0 = fully)
    server_core: float  # how busy the server's core was, whoever used it
    failures: int

    @property
    def bound_by(self) -> str:
        """What capped the rate: the client flat out, else a full server, else other work on the client's core."""
        if self.client_busy >= CORE_FULL:
            return "client"
        if self.server_core >= CORE_FULL and self.server_busy >= SERVER_SHARE:
            return "server"
        if self.client_core >= CORE_FULL:
            return "client core (shared)"
        return "neither (round trips)"


def run_locust(kind: str, target: Target, args, cores: Cores, workdir: Path) -> Sample:
    """One Locust process of one kind against one target; its measured window as a Sample."""
    out = workdir / f"{target.name}-{kind}.json"
    out.unlink(missing_ok=True)
    env = {
        **os.environ,
        "LOADGEN_KIND": kind,
        "LOADGEN_OUT": str(out),
        "LOADGEN_WARMUP_S": str(args.warmup),
        "LOADGEN_SECONDS": str(args.seconds),
        "LOADGEN_SERVER_PIDS": str(target.pid),
        "LAMBENCH_ENDPOINT": target.url,
        "LAMBENCH_FUNCTION": FUNCTION_NAME,
        "LAMBENCH_QUALIFIER": target.qualifier,
        "LAMBENCH_PAYLOAD": "{}",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(args.users),
        "-r",
        str(args.users),
        "-t",
        f"{int(args.warmup + args.seconds + 60)}s",
        "--only-summary",
        "--stop-timeout",
        "5",
        "--loglevel",
        "WARNING",
        KINDS[kind][1],
    ]
    result = subprocess.run(
        command, env=env, cwd=workdir, capture_output=True, text=True, timeout=300, preexec_fn=pinned(cores.client)
    )
    if not out.exists():
        raise RuntimeError(f"{kind} on {target.name}: no result (exit {result.returncode})\n{result.stderr[-2000:]}")
    figures = json.loads(out.read_text())
    calls = max(figures["requests"], 1)
    wall = figures["wall_s"]
    others = figures["busy_s:cpu"] - figures["cpu_s"] - figures["server_cpu_s"]
    return Sample(
        rate=figures["requests"] / wall,
        cpu_us=figures["cpu_s"] / calls * 1e6,
        client_busy=figures["cpu_s"] / wall,
        server_busy=figures["server_cpu_s"] / wall,
        others_busy=max(others, 0.0) / wall,
        client_core=core_busy(figures, cores.client) / wall,
        server_core=core_busy(figures, cores.server) / wall,
        failures=figures["failures"],
    )


def core_busy(figures: dict, core: set[int] | None) -> float:
    # Unpinned, both sides share every core: the machine's mean busy share stands for either.
    if core is None:
        return figures["busy_s:cpu"] / os.cpu_count()
    return figures[f"busy_s:cpu{min(core)}"]


def measure(targets: list[Target], args, cores: Cores, workdir: Path) -> dict[tuple[str, str], list[Sample]]:
    samples: dict[tuple[str, str], list[Sample]] = {}
    kinds = list(KINDS)
    for round_no in range(args.rounds):
        order = kinds[round_no % len(kinds) :] + kinds[: round_no % len(kinds)]
        for target in targets:
            for kind in order:
                sample = run_locust(kind, target, args, cores, workdir)
                samples.setdefault((target.name, kind), []).append(sample)
                log(
                    f"round {round_no + 1}/{args.rounds} {target.name:8} {kind:10} {sample.rate:8.0f}/s "
                    f"{sample.cpu_us:6.0f} µs/call  "
                    f"client {sample.client_busy:4.0%} of core {sample.client_core:4.0%}  "
                    f"server {sample.server_busy:4.0%} of core {sample.server_core:4.0%}  "
                    f"others {sample.others_busy:4.0%}  failures {sample.failures}"
                )
    return samples


# ---------------------------------------------------------------- report


def medians(samples: list[Sample]) -> Sample:
    return Sample(*(statistics.median(getattr(s, f.name) for s in samples) for f in fields(Sample)))


def table(targets: list[Target], samples: dict) -> list[str]:
    lines = [
        "| target | user / client | invokes/s | CPU µs/call | client core: ours / all "
        "| server core: server / all | rate bound by | rate ÷ FastHttpUser | rate ÷ boto3 "
        "| CPU per call: FastHttpUser ÷ this | CPU per call: boto3 ÷ this |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for target in targets:
        m = {kind: medians(samples[(target.name, kind)]) for kind in KINDS}
        floor, boto = m["fasthttp"], m["boto3"]
        for kind, (label, _cls) in KINDS.items():
            s = m[kind]
            lines.append(
                f"| {target.name} | {label} | {s.rate:,.0f} | {s.cpu_us:,.0f} "
                f"| {s.client_busy:.0%} / {s.client_core:.0%} | {s.server_busy:.0%} / {s.server_core:.0%} "
                f"| {s.bound_by} | {s.rate / floor.rate:.2f} | {s.rate / boto.rate:.2f} "
                f"| {floor.cpu_us / s.cpu_us:.2f} | {boto.cpu_us / s.cpu_us:.2f} |"
            )
    return lines


def target_notes(target: Target, m: dict[str, Sample]) -> list[str]:
    out = []
    bound = [KINDS[k][0] for k, s in m.items() if s.bound_by == "server"]
    if bound:
        out.append(
            f"- {target.name}: the server was the bottleneck for {'; '.join(bound)} (its core full; the "
            "client used a fraction of its own): "
            "those rates are the server's ceiling, not the client's. Compare their CPU per call instead; "
            "at a capped rate it also carries the client's fixed costs (timers, idle wake-ups)."
        )
    else:
        out.append(f"- {target.name}: the server was not the bottleneck for any row (its core never full).")
    shared = [KINDS[k][0] for k, s in m.items() if s.bound_by == "client core (shared)"]
    if shared:
        out.append(
            f"- {target.name}: other processes helped fill the client's core for {'; '.join(shared)}: "
            "rates there are below the client's own ceiling."
        )
    fast, floor, boto = m["fast"], m["fasthttp"], m["boto3"]
    out.append(
        f"- goals on {target.name}: fast ÷ FastHttpUser = {fast.rate / floor.rate:.2f} by rate, "
        f"{floor.cpu_us / fast.cpu_us:.2f} by CPU per call (goal >= 0.6); fast ÷ boto3 = "
        f"{fast.rate / boto.rate:.2f} by rate, {boto.cpu_us / fast.cpu_us:.2f} by CPU per call (goal >= 4)."
    )
    return out


def notes(targets: list[Target], samples: dict, cores: Cores, args) -> list[str]:
    every = [s for group in samples.values() for s in group]
    out = [
        f"- {args.rounds} rounds x {args.seconds:g} s measured per row (after {args.warmup:g} s of warm-up), "
        f"{args.users} users, medians; {cores.note}; no-op function at {MEMORY_MB} MB, warm.",
        f"- other processes on this machine used {statistics.median(s.others_busy for s in every):.2f} of a core "
        f"(median over windows; max {max(s.others_busy for s in every):.2f}) while measuring; they take from "
        "the rates more than from CPU per call.",
    ]
    failures = sum(s.failures for s in every)
    if failures:
        out.append(f"- {failures} requests failed over all windows (see stderr).")
    for target in targets:
        out += target_notes(target, {kind: medians(samples[(target.name, kind)]) for kind in KINDS})
    return out


# ---------------------------------------------------------------- main


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured window per row and round")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before the window opens")
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--serve-canned", metavar="ANSWER", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.serve_canned:
        asyncio.run(serve_canned(Path(args.serve_canned).read_bytes()))
        return
    from bench.targets.local import start_emulator

    cores = choose_cores()
    workdir = Path(tempfile.mkdtemp(prefix="lambench-loadgen-"))
    log(f"loadgen: {cores.note}; work in {workdir}")
    with start_emulator(workdir / "emulator.log") as emulator:
        pin_process(emulator.process.pid, cores.server)
        qualifier = deploy_noop(emulator.url)
        warm(emulator.url, qualifier, args.users)
        canned, canned_url = start_canned(captured_answer(emulator.url, qualifier), cores.server, workdir)
        try:
            targets = [
                Target("emulator", emulator.url, qualifier, emulator.process.pid),
                Target("canned", canned_url, qualifier, canned.pid),
            ]
            samples = measure(targets, args, cores, workdir)
        finally:
            canned.terminate()
            canned.wait()
    print("\n".join(table(targets, samples)))
    print()
    print("\n".join(notes(targets, samples, cores, args)))


if __name__ == "__main__":
    main()
