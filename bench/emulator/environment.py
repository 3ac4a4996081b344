"""One execution environment: a real OS process running the handler through awslambdaric.

The process talks to the emulator's Runtime API on a port of its own. Its cold start (process
start, runtime init, handler import) ends when it first asks for work (GET /next): that span is
the Init Duration. Each invoke then waits for the first of three things, because a runtime that
dies mid-invoke sends nothing: the runtime's answer, the process's exit, and the deadline. All
three settle one future (the exit and the deadline by callbacks), so that a warm invoke costs one
await and no task of its own.

Its output (stdout and stderr, one pipe) is split into lines as it arrives (launch.Output) and each
line is attributed to the invocation in progress. The runtime flushes what it printed before it
posts its answer, so the loop sees that output no later than the answer.

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
import collections
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..awsfacts import vcpus_for
from . import launch, runtime_view, sandbox, schedstat
from .cgroups import EnvironmentGroups
from .launch import RUNTIME_ENTRY, is_python
from .lifeline import die_with_parent
from .registry import FunctionVersion

WATCHDOG_INTERVAL_S = 0.02
INIT_TIMEOUT_S = 10.0  # Lambda's limit for the INIT phase of on-demand functions
# What settles an invocation's future when no answer came.
EXITED = "exited"
TIMED_OUT = "timed out"


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


def _vm_kb(status_fd: int | None, name: bytes) -> int:
    """A field of /proc/PID/status, in kB, from a descriptor kept open (this runs on every invoke:
    Max Memory Used); procfs makes the text afresh on every read from offset 0."""
    if status_fd is None:
        return 0
    try:
        text = os.pread(status_fd, 4096, 0)
    except OSError:  # the process is gone (ESRCH)
        return 0
    at = text.find(name)
    if at < 0:
        return 0
    return int(text[at + len(name) : text.index(b"\n", at)].split()[0])


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
        self.share = vcpus_for(version.memory_mb)  # the CPU share Lambda gives its memory size
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
        self.process: asyncio.SubprocessTransport | None = None
        self.pid = 0
        self.current: Invocation | None = None
        self.init_lines: list[str] = []
        self.invocations = 0
        self.last_used = time.monotonic()
        self.started_at = time.monotonic()
        self.usable = True
        self._log_sink = log_sink
        self._log_group = version.name
        self._queued: Invocation | None = None  # an event no /next has taken yet
        self._polls: collections.deque[Callable[[Invocation], None]] = collections.deque()  # /next waiting
        self._ready: asyncio.Future | None = None
        self._init_error: asyncio.Future | None = None
        self._exit: asyncio.Future | None = None  # done when the process has exited
        self._watchdog: asyncio.Task | None = None
        self._meter_fd: int | None = None  # the read end of the meter's pipe (Python runtimes)
        self._meter_lines = b""
        self._status_fd: int | None = None  # /proc/PID/status, open for the process's life
        # Kept from start(): asking asyncio for the running loop costs a getpid(2), on every invoke.
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---- called by the Runtime API -------------------------------------------------------
    def runtime_ready(self) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(time.perf_counter())

    @property
    def alive(self) -> bool:
        return self._exit is not None and not self._exit.done()

    def wait_next(self, deliver: Callable[[Invocation], None]) -> None:
        """A runtime's /next: ``deliver`` gets the next event, at once if one is queued."""
        self.runtime_ready()
        queued = self._queued
        if queued is None:
            self._polls.append(deliver)
        else:
            self._queued = None
            self._hand_over(queued, deliver)

    def stop_waiting(self, deliver: Callable[[Invocation], None]) -> None:
        """The /next's connection is gone: it takes no event (a dead runtime's poll swallows none)."""
        with contextlib.suppress(ValueError):
            self._polls.remove(deliver)

    def _post(self, invocation: Invocation) -> None:
        if self._polls:
            self._hand_over(invocation, self._polls.popleft())
        else:
            self._queued = invocation

    def _hand_over(self, invocation: Invocation, deliver: Callable[[Invocation], None]) -> None:
        invocation.t_sent = time.perf_counter()
        if self._meter_fd is None:
            invocation.outside.append(self._outside_counters())
        deliver(invocation)

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
        cpu, delay = schedstat.process_counters(self.pid)
        return time.monotonic_ns(), cpu, delay, schedstat.throttled_ns(self.cpu_stat)

    def reading(self, invocation: Invocation) -> schedstat.Reading | None:
        """What the invocation's meter measured (None: the runtime died or has no meter)."""
        if self._meter_fd is None:
            if len(invocation.outside) == 2:
                return schedstat.Reading.between(*invocation.outside)
            return None
        # One read is all a warm invoke needs: the line was written before the answer was posted.
        try:
            while len(chunk := os.read(self._meter_fd, 65536)) == 65536:
                self._meter_lines += chunk
            self._meter_lines += chunk
        except OSError:  # BlockingIOError among them: nothing more to read
            pass
        complete, _, self._meter_lines = self._meter_lines.rpartition(b"\n")
        return schedstat.find_reading(complete, invocation.request_id)

    def runtime_init_error(self, error_type: str, body: bytes) -> None:
        if self._init_error is not None and not self._init_error.done():
            self._init_error.set_result((error_type, body))

    # ---- lifecycle --------------------------------------------------------------------------
    def _process_env(self, runtime_port: int, meter_fd: int | None = None) -> dict[str, str]:
        seen = self.layout or sandbox.host_layout(self.version.code_dir, self.views, self.tmp_dir)
        return launch.variables(
            self.version,
            seen,
            f"127.0.0.1:{runtime_port}/{self.runtime_token}",
            self.log_stream,
            self.init_type,
            meter_fd,
            self.cpu_mode,
            self.cpu_stat,
        )

    async def start(self, runtime_port: int) -> float:
        """Start the process and wait for its first /next. Returns Init Duration in ms."""
        self._loop = loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._init_error = loop.create_future()
        self._exit = loop.create_future()
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
            code = self.layout.code if self.layout else self.version.code_dir
            self.process, _ = await loop.subprocess_exec(
                lambda: launch.Output(self._log, self._exited),
                *launch.command(self.version, code),
                # The sandbox's own path for it: uvloop (libuv) enters cwd after the preexec hook.
                cwd=code,
                env=self._process_env(runtime_port, meter_write),
                pass_fds=() if meter_write is None else (meter_write,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
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
        self.pid = self.process.get_pid()
        with contextlib.suppress(OSError):
            self._status_fd = os.open(f"/proc/{self.pid}/status", os.O_RDONLY | os.O_CLOEXEC)
        if self.watchdog:
            self._watchdog = asyncio.create_task(self._watch_memory())
        done, _ = await asyncio.wait(
            {self._ready, self._init_error, self._exit},
            timeout=self.init_timeout_s,
            return_when=asyncio.FIRST_COMPLETED,
        )
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
                _error_body("Runtime.ExitError", f"Runtime exited with error: {_exit_reason(self.returncode)}"),
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

    @property
    def returncode(self) -> int | None:
        return self.process.get_returncode() if self.process is not None else None

    def _exited(self) -> None:
        if self._exit is not None and not self._exit.done():
            self._exit.set_result(None)
        current = self.current
        if current is not None and current.result is not None and not current.result.done():
            current.result.set_result(EXITED)

    async def invoke(self, invocation: Invocation, timeout_s: float) -> RuntimeAnswer | None:
        """Run one invocation. None means the deadline passed; the environment is then killed."""
        loop = self._loop or asyncio.get_running_loop()
        result = invocation.result = loop.create_future()
        self.current = invocation
        self.invocations += 1
        if not self.alive:
            result.set_result(EXITED)
        deadline = loop.call_later(timeout_s, _settle, result, TIMED_OUT)
        self._post(invocation)
        try:
            answer = await result
        finally:
            deadline.cancel()
        self.last_used = time.monotonic()
        if isinstance(answer, RuntimeAnswer):
            # Its output is in already (module docstring): no loop turn is needed to attribute it.
            self.current = None
            return answer
        if self._queued is invocation:
            self._queued = None
        invocation.t_done = time.perf_counter()
        if answer == TIMED_OUT:
            self.kill()
            await self._drain_output()
            self.current = None
            return None
        await self._drain_output()
        self.current = None
        self.usable = False
        self._note_oom()
        reason = _exit_reason(self.returncode)
        return RuntimeAnswer(
            False,
            _error_body(
                "Runtime.ExitError", f"RequestId: {invocation.request_id} Error: Runtime exited with error: {reason}"
            ),
            "Runtime.ExitError",
        )

    def max_memory_mb(self) -> int:
        """Peak RSS (VmHWM) in MB: closer to Lambda's Max Memory Used than the cgroup's own counter."""
        if self.oom:
            return self.version.memory_mb
        return -(-_vm_kb(self._status_fd, b"VmHWM:") // 1024)

    def _note_oom(self) -> None:
        if self.groups is not None and self.groups.oom_killed():
            self.oom = True

    async def _watch_memory(self) -> None:
        """Where no memory cgroup is allowed: kill the environment once its RSS passes the limit."""
        limit_kb = self.version.memory_mb * 1024
        while self.alive:
            if _vm_kb(self._status_fd, b"VmRSS:") > limit_kb:
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
                os.killpg(self.pid, signal.SIGKILL)

    async def close(self) -> None:
        self.kill()
        if self._exit is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._exit), 5)
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.process is not None:
            self.process.close()
        for fd in (self._meter_fd, self._status_fd):
            if fd is not None:
                os.close(fd)
        self._meter_fd = self._status_fd = None
        if self.confinement is not None:
            group = self.groups and (self.groups.memory or self.groups.cpu)
            self.confinement.release(group / "cgroup.procs" if group else None)
            self.confinement = None
            # Its /tmp goes with it, as on Lambda (it is owned by a uid that may serve again).
            await asyncio.to_thread(shutil.rmtree, self.tmp_dir.parent, True)

    # ---- output -------------------------------------------------------------------------------
    def _log(self, raw: bytes) -> None:
        # awslambdaric writes one record per line (inner newlines become \r): split on \n only.
        line = raw.decode("utf-8", "replace")
        if self.current is not None:
            self.current.log_lines.append(line)
        else:
            self.init_lines.append(line)
        self._log_sink(self._log_group, self.log_stream, line)

    async def _drain_output(self) -> None:
        # A runtime that died or timed out may have printed its last lines after the loop's last
        # look at the pipe: a few loop turns let them in and attribute them to this invocation.
        for _ in range(4):
            await asyncio.sleep(0)


def _settle(result: asyncio.Future, outcome: object) -> None:
    if not result.done():
        result.set_result(outcome)


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
