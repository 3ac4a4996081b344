"""One execution environment: a real OS process running the handler through awslambdaric.

The process talks to the emulator's Runtime API on a port of its own. Its cold start (process
start, runtime init, handler import) ends when it first asks for work (GET /next): that span is
the Init Duration. Each invoke then waits on three things at once, because a runtime that dies
mid-invoke sends nothing: the runtime's answer, the process's exit, and the deadline.

A Python environment meters each invocation from inside (runtime_entry.py) and writes one line
per invocation to a pipe of its own; the line is in the pipe before the answer is posted, so it is
read, without waiting, once the answer is in (schedstat.py says what it holds). A custom runtime
has no meter: its counters are read from outside, when the event leaves and when the answer comes.

Where the emulator runs as root, each environment runs in a sandbox (sandbox.py): a uid of its
own, its code read-only, a private /tmp at /tmp. Its preexec chain is then: the parent-death
signal, the cgroup join (which needs root), the CPUs, the sandbox, the parent-death signal again
(a change of uid clears it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..awsfacts import RESERVED_ENVIRONMENT_VARIABLES, vcpus_for
from . import runtime_view, sandbox, schedstat
from .cgroups import EnvironmentGroups
from .lifeline import die_with_parent
from .registry import FunctionVersion

# Starts awslambdaric with the token-carrying Runtime API address, the meter and the dilation.
RUNTIME_ENTRY = Path(__file__).with_name("runtime_entry.py")
WATCHDOG_INTERVAL_S = 0.02
INIT_TIMEOUT_S = 10.0  # Lambda's limit for the INIT phase of on-demand functions
STREAM_LIMIT = 8 * 1024 * 1024
# Reserved variables Lambda sets; a function's own Environment cannot override them.
RESERVED = RESERVED_ENVIRONMENT_VARIABLES
# Lambda's PATH without its own /var/lang/bin and /opt/bin: never the emulator's, whose virtualenv
# (or the interpreter's own bin) would hand a subprocess every package the emulator has.
LAMBDA_PATH = "/usr/local/bin:/usr/bin/:/bin"
# -S keeps site (and with it the virtualenv's site-packages) off sys.path; -s the user's own.
PYTHON_FLAGS = ("-s", "-S")


@dataclass
class Invocation:
    """One event on its way through an environment."""

    request_id: str
    payload: bytes
    invoked_arn: str
    deadline_epoch_ms: int
    client_context: str | None = None
    result: asyncio.Future | None = None
    log_lines: list[str] = field(default_factory=list)
    t_sent: float | None = None
    t_done: float | None = None
    # Custom runtimes only: counters read from outside (ns), when the event left and the answer came.
    outside: list[tuple[int, int, int, int]] = field(default_factory=list)


@dataclass
class RuntimeAnswer:
    ok: bool
    body: bytes
    error_type: str | None = None


class InitFailure(Exception):
    """The environment could not initialise: a bad handler, an import error, a crash in init."""

    def __init__(self, error_type: str, body: bytes, init_ms: float, log_lines: list[str]) -> None:
        super().__init__(error_type)
        self.error_type = error_type
        self.body = body
        self.init_ms = init_ms
        self.log_lines = log_lines


def _vm_kb(pid: int, name: str) -> int:
    # Read once as bytes and searched: this runs on every invoke (Max Memory Used).
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            text = status.read()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    at = text.find(name.encode())
    if at < 0:
        return 0
    return int(text[at + len(name) : text.index(b"\n", at)].split()[0])


def _vm_hwm_mb(pid: int) -> int:
    """Peak RSS (VmHWM) in MB: closer to Lambda's Max Memory Used than the cgroup's own counter."""
    return -(-_vm_kb(pid, "VmHWM:") // 1024)


def is_python(runtime: str) -> bool:
    return runtime.startswith("python")


class ExecutionEnvironment:
    def __init__(
        self,
        version: FunctionVersion,
        state_dir: Path,
        log_sink: Callable[[str, str, str], None],
        cpu_mode: str = "none",
        init_type: str = "on-demand",
        groups: EnvironmentGroups | None = None,
        watchdog: bool = False,
        init_timeout_s: float = INIT_TIMEOUT_S,
        cpus: tuple[int, ...] | None = None,
    ) -> None:
        self.cpus = cpus  # pinned to these CPUs (inherited by what it forks), or None
        self.watchdog = watchdog
        self.init_timeout_s = init_timeout_s
        self.version = version
        self.cpu_mode = cpu_mode
        self.init_type = init_type
        self.groups = groups
        self.oom = False
        self.env_id = uuid.uuid4().hex[:12]
        self.log_stream = time.strftime("%Y/%m/%d", time.gmtime()) + f"/[{version.version}]{self.env_id}"
        self.tmp_dir = state_dir / "env" / self.env_id / "tmp"
        self.state_dir = state_dir
        # The Runtime API answers only requests that carry this: another environment cannot
        # long-poll this one's port and take its events.
        self.runtime_token = secrets.token_urlsafe(24)
        self.views: runtime_view.Views | None = None
        self.confinement: sandbox.Confinement | None = None  # the sandbox, where it is in force
        self.layout: sandbox.Layout | None = None  # where the process finds its code, views and tmp
        self.process: asyncio.subprocess.Process | None = None
        self.current: Invocation | None = None
        self.init_lines: list[str] = []
        self.invocations = 0
        self.last_used = time.monotonic()
        self.started_at = time.monotonic()
        self.usable = True
        self._log_sink = log_sink
        self._queue: asyncio.Queue[Invocation] = asyncio.Queue(maxsize=1)
        self._ready: asyncio.Future | None = None
        self._init_error: asyncio.Future | None = None
        self._reader: asyncio.Task | None = None
        self._watchdog: asyncio.Task | None = None
        self._meter_fd: int | None = None  # the read end of the meter's pipe (Python runtimes)
        self._meter_lines = b""

    # ---- called by the Runtime API -------------------------------------------------------
    def runtime_ready(self) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(time.perf_counter())

    @property
    def _started(self) -> asyncio.subprocess.Process:
        """The environment's process; only asked for once start() has made it."""
        assert self.process is not None, "the environment has not started"
        return self.process

    async def next_invocation(self) -> Invocation:
        invocation = await self._queue.get()
        invocation.t_sent = time.perf_counter()
        if self._meter_fd is None:
            invocation.outside.append(self._outside_counters())
        return invocation

    def runtime_answer(self, request_id: str, answer: RuntimeAnswer) -> bool:
        current = self.current
        if current is None or current.request_id != request_id or current.result is None or current.result.done():
            return False
        current.t_done = time.perf_counter()
        if self._meter_fd is None and current.outside:
            current.outside.append(self._outside_counters())
        current.result.set_result(answer)
        return True

    # ---- the meter ---------------------------------------------------------------------------
    @property
    def cpu_stat(self) -> str | None:
        """The cgroup's cpu.stat while a quota holds this environment (its throttled time)."""
        if self.cpu_mode != "quota" or self.groups is None or self.groups.cpu is None:
            return None
        return str(self.groups.cpu / "cpu.stat")

    def _outside_counters(self) -> tuple[int, int, int, int]:
        cpu, delay = schedstat.process_counters(self._started.pid)
        return time.monotonic_ns(), cpu, delay, schedstat.throttled_ns(self.cpu_stat)

    def reading(self, invocation: Invocation) -> schedstat.Reading | None:
        """What the invocation's meter measured (None: the runtime died or has no meter)."""
        if self._meter_fd is None:
            if len(invocation.outside) == 2:
                return schedstat.Reading.between(*invocation.outside)
            return None
        with contextlib.suppress(BlockingIOError, OSError):
            while chunk := os.read(self._meter_fd, 65536):
                self._meter_lines += chunk
        complete, _, self._meter_lines = self._meter_lines.rpartition(b"\n")
        return schedstat.parse_meter(complete).get(invocation.request_id)

    def runtime_init_error(self, error_type: str, body: bytes) -> None:
        if self._init_error is not None and not self._init_error.done():
            self._init_error.set_result((error_type, body))

    # ---- lifecycle --------------------------------------------------------------------------
    def _process_env(self, runtime_port: int, meter_fd: int | None = None) -> dict[str, str]:
        """Lambda's variables and the function's own; nothing of the emulator's environment."""
        v = self.version
        seen = self.layout or sandbox.host_layout(v.code_dir, self.views, self.tmp_dir)
        code = str(seen.code)
        # A custom runtime (no view) brings its own runtime inside its code.
        runtime = [str(seen.runtime)] if seen.runtime else []
        layers = [str(layer) for layer in seen.layers]
        env = {
            # Lambda lets a function set these unreserved ones (PYTHONPATH is extended below).
            "PATH": LAMBDA_PATH,
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LD_LIBRARY_PATH": ":".join([code, f"{code}/lib", *runtime]),
        }
        env.update({k: val for k, val in v.environment.items() if k not in RESERVED})
        # Lambda's order (/var/task, /opt/python, /var/runtime): a vendored copy wins.
        python_path = [code, *filter(None, [env.get("PYTHONPATH")]), *layers, *runtime]
        env.update(
            {
                "PYTHONPATH": ":".join(python_path),
                "TMPDIR": str(seen.tmp),
                "LAMBDA_TASK_ROOT": code,
                "LAMBDA_RUNTIME_DIR": (runtime or [code])[0],
                "_HANDLER": v.handler,
                "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime_port}/{self.runtime_token}",
                "AWS_LAMBDA_FUNCTION_NAME": v.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(v.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": v.version,
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{v.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
                "AWS_LAMBDA_INITIALIZATION_TYPE": self.init_type,
                # Makes SIGINT work while awslambdaric is idle (EMULATOR-NOTES.md).
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{v.runtime}",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                # Lambda hands every function its role's credentials; these are placeholders.
                "AWS_ACCESS_KEY_ID": "ASIALAMBENCHLOCAL000",
                "AWS_SECRET_ACCESS_KEY": "lambench-local-secret",
                "AWS_SESSION_TOKEN": "lambench-local-session",
            }
        )
        if is_python(v.runtime):
            # Read and removed by runtime_entry.py before the function's code is imported.
            if meter_fd is not None:
                env["LAMBENCH_METER_FD"] = str(meter_fd)
            if self.cpu_mode == "dilation":
                env["LAMBENCH_CPU_SHARE"] = str(vcpus_for(v.memory_mb))
            if self.cpu_stat:
                env["LAMBENCH_CPU_STAT"] = self.cpu_stat
        return env

    def _command(self) -> list[str]:
        v = self.version
        if not is_python(v.runtime):
            return [str((self.layout.code if self.layout else v.code_dir) / "bootstrap")]
        return [sys.executable, *PYTHON_FLAGS, str(RUNTIME_ENTRY), v.handler]

    async def start(self, runtime_port: int) -> float:
        """Start the process and wait for its first /next. Returns Init Duration in ms."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._init_error = loop.create_future()
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        if is_python(self.version.runtime):
            # Built once per emulator (then a memo): before t0, so Init Duration never holds it.
            self.views = await asyncio.to_thread(runtime_view.views_for, self.state_dir / "runtime-views")
        # Prepared and probed once per emulator (also a memo); its uid claim and chown, per
        # environment, are file operations of microseconds.
        box = await asyncio.to_thread(sandbox.for_emulator, self.state_dir, RUNTIME_ENTRY)
        if box.enabled:
            self.confinement = box.confine(self.version.code_dir, self.tmp_dir, is_python(self.version.runtime))
            self.layout = self.confinement.layout
        meter_write = None
        if is_python(self.version.runtime):
            self._meter_fd, meter_write = os.pipe()
            os.set_blocking(self._meter_fd, False)
        t0 = time.perf_counter()
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self._command(),
                # The sandbox's own path for it: uvloop (libuv) enters cwd after the preexec hook.
                cwd=self.layout.code if self.layout else self.version.code_dir,
                env=self._process_env(runtime_port, meter_write),
                pass_fds=() if meter_write is None else (meter_write,),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                limit=STREAM_LIMIT,
                # Dies with the emulator (lifeline.py), joined to its cgroups and sandboxed before exec.
                preexec_fn=die_with_parent(os.getpid(), self._enter_limits),
            )
        except subprocess.SubprocessError:  # a step of the sandbox failed (it says which, in the log)
            raise InitFailure(
                "Runtime.Unknown", _error_body("Runtime.Unknown", "the execution environment could not start"), 0.0, []
            ) from None
        except OSError as err:  # a custom runtime without an executable bootstrap
            raise InitFailure(
                "Runtime.InvalidEntrypoint",
                _error_body("Runtime.InvalidEntrypoint", f"RequestId: Error: fork/exec {err.filename}: {err.strerror}"),
                0.0,
                [],
            ) from None
        finally:
            if meter_write is not None:
                os.close(meter_write)  # the environment holds the write end now
        self._reader = asyncio.create_task(self._read_output())
        if self.watchdog:
            self._watchdog = asyncio.create_task(self._watch_memory())
        exited = asyncio.ensure_future(self._started.wait())
        try:
            done, _ = await asyncio.wait(
                {self._ready, self._init_error, exited},
                timeout=self.init_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            exited.cancel()
        init_ms = (time.perf_counter() - t0) * 1000.0
        if self._ready in done:
            if self.groups is not None:
                # The quota applies from the first invoke on: Lambda's Python init is flat across
                # memory sizes (lambda-perf: 83.7 ms at 128 MB, 81.8 ms at 1024 MB).
                self.groups.throttle_cpu()
            return (self._ready.result() - t0) * 1000.0
        await self._drain_output()
        if self._init_error in done:
            error_type, body = self._init_error.result()
        elif not done:
            error_type, body = (
                "Sandbox.Timedout",
                _error_body("Sandbox.Timedout", f"INIT phase timed out after {self.init_timeout_s:.2f} seconds"),
            )
        else:
            error_type, body = (
                "Runtime.ExitError",
                _error_body(
                    "Runtime.ExitError", f"Runtime exited with error: {_exit_reason(self._started.returncode)}"
                ),
            )
            self._note_oom()
        self.kill()
        raise InitFailure(error_type, body, init_ms, self.take_init_lines())

    def _enter_limits(self) -> None:
        """Runs in the child before exec: its cgroups and its CPUs while still root, then its sandbox."""
        if self.groups is not None:
            self.groups.join()
        if self.cpus:
            os.sched_setaffinity(0, self.cpus)
        if self.confinement is not None:
            self.confinement.enter()

    async def invoke(self, invocation: Invocation, timeout_s: float) -> RuntimeAnswer | None:
        """Run one invocation. None means the deadline passed; the environment is then killed."""
        loop = asyncio.get_running_loop()
        invocation.result = loop.create_future()
        self.current = invocation
        self.invocations += 1
        self._queue.put_nowait(invocation)
        exited = asyncio.ensure_future(self._started.wait())
        try:
            done, _ = await asyncio.wait(
                {invocation.result, exited}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            exited.cancel()
        self.last_used = time.monotonic()
        if invocation.result.done():
            await self._drain_output()
            self.current = None
            return invocation.result.result()
        invocation.t_done = time.perf_counter()
        if not done:
            self.kill()
            await self._drain_output()
            self.current = None
            return None
        await self._drain_output()
        self.current = None
        self.usable = False
        self._note_oom()
        reason = _exit_reason(self._started.returncode)
        return RuntimeAnswer(
            False,
            _error_body(
                "Runtime.ExitError", f"RequestId: {invocation.request_id} Error: Runtime exited with error: {reason}"
            ),
            "Runtime.ExitError",
        )

    def max_memory_mb(self) -> int:
        if self.oom:
            return self.version.memory_mb
        return _vm_hwm_mb(self.process.pid) if self.process else 0

    def _note_oom(self) -> None:
        if self.groups is not None and self.groups.oom_killed():
            self.oom = True

    async def _watch_memory(self) -> None:
        """Where no memory cgroup is allowed: kill the environment once its RSS passes the limit."""
        limit_kb = self.version.memory_mb * 1024
        while self._started.returncode is None:
            if _vm_kb(self._started.pid, "VmRSS:") > limit_kb:
                self.oom = True
                self.kill()
                return
            await asyncio.sleep(WATCHDOG_INTERVAL_S)

    def take_init_lines(self) -> list[str]:
        lines, self.init_lines = self.init_lines, []
        return lines

    def kill(self) -> None:
        self.usable = False
        if self.process is not None:
            # The whole process group, even once the runtime itself has exited: what it forked
            # stays in its group. A child that left it (setsid, start_new_session) escapes this;
            # only the environment's cgroup catches it (cgroups.py), so without cgroups it lives on.
            # The group id cannot name another process meanwhile: a pgid is not reused while it has members.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    async def close(self) -> None:
        self.kill()
        if self.process is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.wait(), 5)
        for task in (self._reader, self._watchdog):
            if task is not None:
                task.cancel()
        if self._meter_fd is not None:
            os.close(self._meter_fd)
            self._meter_fd = None
        if self.confinement is not None:
            group = self.groups and (self.groups.memory or self.groups.cpu)
            self.confinement.release(group / "cgroup.procs" if group else None)
            self.confinement = None
            # Its /tmp goes with it, as on Lambda (it is owned by a uid that may serve again).
            await asyncio.to_thread(shutil.rmtree, self.tmp_dir.parent, True)

    # ---- output -------------------------------------------------------------------------------
    async def _read_output(self) -> None:
        stream = self._started.stdout
        assert stream is not None, "started with stdout=PIPE"
        while True:
            try:
                raw = await stream.readuntil(b"\n")
            except asyncio.IncompleteReadError as partial:
                if partial.partial:
                    self._log(partial.partial)
                return
            except asyncio.LimitOverrunError as err:
                raw = await stream.readexactly(err.consumed)
            self._log(raw)

    def _log(self, raw: bytes) -> None:
        # awslambdaric writes one record per line (inner newlines become \r): split on \n only.
        line = raw.decode("utf-8", "replace").rstrip("\n")
        if self.current is not None:
            self.current.log_lines.append(line)
        else:
            self.init_lines.append(line)
        self._log_sink(self.version.name, self.log_stream, line)

    async def _drain_output(self) -> None:
        # The runtime flushes stdout before it answers over HTTP, so what it printed is already
        # in the pipe: a few loop turns let the reader task attribute it to this invocation.
        for _ in range(4):
            await asyncio.sleep(0)


def _error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _exit_reason(returncode: int | None) -> str:
    if returncode is None:
        return "unknown"
    if returncode < 0:
        # Lambda's wording is Go's: "signal: killed", "signal: segmentation fault" (libc's names).
        name = signal.strsignal(-returncode) or str(-returncode)
        return f"signal: {name.lower()}"
    return f"exit status {returncode}"
