"""Execution environments of all functions: reuse warm ones, start cold ones, keep provisioned ones.

Each invoke is first admitted by the concurrency gate (or throttled), then takes an idle
environment of its exact function version, provisioned ones first (as Lambda routes to
provisioned concurrency before spilling over), else an on-demand one, most recently used first;
failing that it starts a new one: a cold start. It writes START/END/REPORT and hands back
everything the Invoke API needs to answer.

An invocation runs as a task of its own, which the caller awaits but cannot cancel: when a
client gives up (a read timeout, a closed connection) aiohttp cancels the caller, and Lambda
finishes the invocation anyway. (A caller that never cancels, the front door, runs it in its own
task instead.) So it still writes END and REPORT (it is billed), its
environment goes back to the pool, and it holds its concurrency slot until the function ends.

Duration is free of host contention where that is sound (schedstat.duration_ms): the REPORT line
keeps AWS's format, and the raw wall time and the run-queue delay of every invocation are kept
beside it, in the Outcome and summed in ``stats`` (``/lambench/info``'s ``served``: µs totals of
raw and reported Duration, run-queue delay, contention and throttling, and how many invocations
were metered, corrected or left with contention in their Duration).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..awsfacts import vcpus_for
from . import logformat, schedstat
from .apierrors import LambdaApiError
from .cgroups import Cgroups
from .concurrency import ConcurrencyGate
from .environment import ExecutionEnvironment, InitFailure, Invocation, RuntimeAnswer
from .logstore import LogStore
from .registry import FunctionVersion
from .requestids import new_request_id
from .runtime_api import RuntimeApi

ON_DEMAND = "on-demand"
PROVISIONED = "provisioned-concurrency"

Key = tuple[str, str, str]
CLOSE_WAIT_S = 5.0  # how long close() waits for the invocations of the environments it killed


@dataclass
class Outcome:
    request_id: str
    version: str
    body: bytes
    function_error: bool
    error_type: str | None
    log_lines: list[str]
    cold: bool
    init_type: str
    raw_duration_ms: float | None = None  # the emulator's own clock, contention and all
    contention_ms: float | None = None  # waiting for a CPU the quota allowed (None: not measured)


def pinned_cpus(text: str | None) -> tuple[int, ...] | None:
    """The CPUs environments are pinned to, from --env-cpus ("1" or "2,3"), which lambench run gives
    when the host has cores to spare (bench/load/capacity.py); None: wherever the kernel likes."""
    if not text:
        return None
    try:
        cpus = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        return None
    return cpus if cpus and set(cpus) <= os.sched_getaffinity(0) else None


@dataclass(frozen=True)
class PoolSettings:
    cpu_mode: str = "none"  # quota | dilation | none
    memory_mode: str = "watchdog"  # cgroup | watchdog | none
    idle_timeout_s: float = 380.0
    max_lifetime_s: float = 4 * 3600.0
    init_timeout_s: float = 10.0
    env_cpus: tuple[int, ...] | None = None


class EnvironmentPool:
    def __init__(
        self,
        runtime_api: RuntimeApi,
        state_dir: Path,
        log_sink: LogStore,
        cgroups: Cgroups | None,
        gate: ConcurrencyGate,
        settings: PoolSettings,
    ) -> None:
        self.runtime_api = runtime_api
        self.state_dir = state_dir
        self.log_sink = log_sink
        self.cgroups = cgroups
        self.gate = gate
        self.settings = settings
        self._idle: dict[str, dict[Key, list[ExecutionEnvironment]]] = {
            ON_DEMAND: collections.defaultdict(list),
            PROVISIONED: collections.defaultdict(list),
        }
        self._ports: dict[str, int] = {}
        self._all: dict[str, ExecutionEnvironment] = {}
        self._running: set[asyncio.Task] = set()
        self._closing = False
        self.stats: collections.Counter = collections.Counter()
        self._loop: asyncio.AbstractEventLoop | None = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        # Kept once known: asking asyncio for the running loop costs a getpid(2), on every invoke.
        self._loop = asyncio.get_running_loop()
        return self._loop

    @staticmethod
    def key(version: FunctionVersion) -> Key:
        # The revision is part of the key: after an update, $LATEST's old environments never serve again.
        return version.name, version.version, version.revision_id

    def environments(self, name: str | None = None, init_type: str | None = None) -> list[ExecutionEnvironment]:
        return [
            e
            for e in self._all.values()
            if (name is None or e.version.name == name) and (init_type is None or e.init_type == init_type)
        ]

    # ---- invoke ---------------------------------------------------------------------------------
    async def invoke(
        self,
        version: FunctionVersion,
        payload: bytes,
        client_context: str | None = None,
        request_id: str | None = None,
        shield: bool = True,
    ) -> Outcome:
        """Admit and run one invocation. ``shield=False`` is for a caller whose task is never
        cancelled (the front door's): the invocation then runs in that task, which spares a task
        of its own and two loop turns per invoke (about 20 µs of the emulator's CPU)."""
        if self._closing:
            raise LambdaApiError(500, "ServiceException", "The emulator is stopping.")
        self.gate.admit(version.name)
        loop = self._loop or self._running_loop()
        invocation = self._invoke(version, payload, client_context, request_id or new_request_id())
        if not shield:
            caller = asyncio.current_task(loop)
            assert caller is not None, "called from a task"
            self._running.add(caller)
            try:
                return await invocation
            finally:
                self._running.discard(caller)
                self.gate.release(version.name)
        task = loop.create_task(invocation)
        self._running.add(task)
        task.add_done_callback(functools.partial(self._ended, version.name))
        # shield: cancelling the caller (its client went away) leaves the invocation running.
        return await asyncio.shield(task)

    def _ended(self, name: str, task: asyncio.Task) -> None:
        self._running.discard(task)
        self.gate.release(name)  # only now: the slot is held while the function runs
        error = None if task.cancelled() else task.exception()
        if error is not None and not isinstance(error, LambdaApiError):
            # Said here, for when no caller waits any more (asyncio would only say "never retrieved").
            print(f"lambench emulator: an invocation failed: {error!r}", file=sys.stderr, flush=True)

    async def _invoke(
        self, version: FunctionVersion, payload: bytes, client_context: str | None, request_id: str
    ) -> Outcome:
        env = self._take_idle(version)
        init_ms = None
        if env is None:
            self.gate.new_environment(version.name)
            env = self._new_environment(version, ON_DEMAND)
            try:
                init_ms = await self._start(env)
            except InitFailure as failure:
                await self._discard(env)
                return self._init_failed(version, request_id, failure)
        self.stats["invocations"] += 1
        self.stats["cold_starts"] += init_ms is not None
        self.stats[f"served_{env.init_type}"] += 1
        invocation = Invocation(
            request_id=request_id,
            payload=payload or b"{}",
            invoked_arn=version.arn,
            deadline_epoch_ms=int(time.time() * 1000 + version.timeout_s * 1000),
            client_context=client_context,
        )
        start = logformat.start_line(request_id, version.version)
        self.log_sink(version.name, env.log_stream, start)
        answer = await env.invoke(invocation, version.timeout_s)
        outcome = self._finish(env, invocation, answer, init_ms, start)
        if env.usable:
            self._idle[env.init_type][self.key(version)].append(env)
        else:
            await self._discard(env)
            if env.init_type == PROVISIONED and not self._closing:
                # Lambda replaces a lost provisioned environment to keep the configured count.
                asyncio.ensure_future(self.provision(version, 1))
        return outcome

    def _take_idle(self, version: FunctionVersion) -> ExecutionEnvironment | None:
        key = self.key(version)
        for kind in (PROVISIONED, ON_DEMAND):
            idle = self._idle[kind].get(key)
            while idle:
                env = idle.pop()
                if env.usable and env.alive:
                    return env
                asyncio.ensure_future(self._discard(env))
        return None

    def _new_environment(self, version: FunctionVersion, init_type: str) -> ExecutionEnvironment:
        env = ExecutionEnvironment(
            version,
            self.state_dir,
            self.log_sink,
            self.settings.cpu_mode,
            init_type,
            watchdog=self.settings.memory_mode == "watchdog",
            init_timeout_s=self.settings.init_timeout_s,
            cpus=self.settings.env_cpus,
        )
        if self.cgroups is not None:
            env.groups = self.cgroups.prepare(env.env_id, vcpus_for(version.memory_mb), version.memory_mb)
        return env

    async def _start(self, env: ExecutionEnvironment) -> float:
        self._all[env.env_id] = env
        port = await self.runtime_api.open(env)
        self._ports[env.env_id] = port
        self.log_sink(env.version.name, env.log_stream, logformat.init_start_line(env.version.runtime))
        return await env.start(port)

    def _finish(
        self,
        env: ExecutionEnvironment,
        inv: Invocation,
        answer: RuntimeAnswer | None,
        init_ms: float | None,
        start: str,
    ) -> Outcome:
        version = env.version
        t_sent = inv.t_sent if inv.t_sent is not None else inv.t_done
        raw_ms = max(0.0, (inv.t_done - t_sent) * 1000.0) if t_sent and inv.t_done else 0.0
        duration_ms, contention_ms = self._duration(env, inv, answer, raw_ms)
        lines = [*env.take_init_lines(), start, *inv.log_lines]
        status = error_type = None
        if answer is None:
            duration_ms = version.timeout_s * 1000.0
            lines.append(logformat.timeout_line(inv.request_id, version.timeout_s))
            status, error_type = "timeout", "Sandbox.Timedout"
            message = f"RequestId: {inv.request_id} Error: Task timed out after {version.timeout_s:.2f} seconds"
            answer = RuntimeAnswer(False, _json({"errorType": error_type, "errorMessage": message}), error_type)
        elif answer.error_type == "Runtime.ExitError":
            status, error_type = "error", "Runtime.OutOfMemory" if env.oom else "Runtime.ExitError"
        report = logformat.report_line(
            inv.request_id, duration_ms, version.memory_mb, env.max_memory_mb(), init_ms, status, error_type
        )
        tail = (logformat.end_line(inv.request_id), report)
        self.log_sink.lines(version.name, env.log_stream, tail)
        lines += tail
        return Outcome(
            inv.request_id,
            version.version,
            answer.body,
            not answer.ok,
            answer.error_type,
            lines,
            init_ms is not None,
            env.init_type,
            raw_ms,
            contention_ms,
        )

    def _duration(
        self, env: ExecutionEnvironment, inv: Invocation, answer: RuntimeAnswer | None, raw_ms: float
    ) -> tuple[float, float | None]:
        """Duration as reported, and the contention measured; ``stats`` keeps both beside the raw time."""
        reading = env.reading(inv)
        if reading is None or answer is None:  # no meter line (the runtime died), or a timeout
            return raw_ms, None
        duration_ms, free = schedstat.duration_ms(reading, env.cpu_mode, env.share)
        contention_ns = reading.contention_ns
        contention_ms = contention_ns / 1e6
        stats = self.stats
        stats["metered"] += 1
        stats["raw_duration_us"] += round(raw_ms * 1000)
        stats["wall_us"] += reading.wall_ns // 1000
        stats["duration_us"] += round(duration_ms * 1000)
        stats["cpu_us"] += reading.cpu_ns // 1000
        stats["run_queue_us"] += reading.run_delay_ns // 1000
        stats["throttled_us"] += reading.throttled_ns // 1000
        stats["contention_us"] += contention_ns // 1000
        if contention_ms > 0.0:
            # Left in: the quota bound and the host's contention interleave (schedstat.duration_ms).
            stats["corrected" if free else "contended"] += 1
        return duration_ms, contention_ms

    def _init_failed(self, version: FunctionVersion, request_id: str, failure: InitFailure) -> Outcome:
        report = logformat.report_line(
            request_id, 0.0, version.memory_mb, 0, failure.init_ms, "error", failure.error_type
        )
        self.log_sink(version.name, f"init-failure/{request_id}", report)
        return Outcome(
            request_id,
            version.version,
            failure.body,
            True,
            failure.error_type,
            failure.log_lines + [report],
            True,
            ON_DEMAND,
        )

    # ---- provisioned concurrency --------------------------------------------------------------
    async def provision(self, version: FunctionVersion, count: int) -> int:
        """Start ``count`` provisioned environments of ``version``; returns how many came up."""
        envs = [self._new_environment(version, PROVISIONED) for _ in range(count)]
        results = await asyncio.gather(*(self._start(env) for env in envs), return_exceptions=True)
        ready = 0
        for env, result in zip(envs, results, strict=True):
            if isinstance(result, BaseException):
                await self._discard(env)
            else:
                # Their init ran ahead of any invoke: the logs keep it, no invocation's tail does.
                env.take_init_lines()
                self._idle[PROVISIONED][self.key(version)].append(env)
                ready += 1
        return ready

    async def unprovision(self, version: FunctionVersion) -> None:
        for env in list(self._idle[PROVISIONED].pop(self.key(version), [])):
            await self._discard(env)

    def provisioned_count(self, version: FunctionVersion) -> int:
        key = self.key(version)
        return sum(1 for e in self._all.values() if e.init_type == PROVISIONED and self.key(e.version) == key)

    # ---- lifetime -------------------------------------------------------------------------------
    async def _discard(self, env: ExecutionEnvironment) -> None:
        self._all.pop(env.env_id, None)
        for pools in self._idle.values():
            idle = pools.get(self.key(env.version))
            if idle and env in idle:
                idle.remove(env)
        await env.close()
        port = self._ports.pop(env.env_id, None)
        if port is not None:
            await self.runtime_api.close_port(port)
        if self.cgroups is not None:
            self.cgroups.release(env.env_id)

    async def retire(self, name: str, keep: Callable[[FunctionVersion], bool] = lambda v: False) -> None:
        """Discard idle environments of ``name`` whose version should no longer serve."""
        for pools in self._idle.values():
            for idle in list(pools.values()):
                for env in list(idle):
                    if env.version.name == name and not keep(env.version):
                        await self._discard(env)

    async def reap_idle(self) -> int:
        """Reclaim on-demand environments idle too long or alive too long (provisioned ones stay)."""
        now = time.monotonic()
        stale = [
            env
            for idle in self._idle[ON_DEMAND].values()
            for env in idle
            if now - env.last_used > self.settings.idle_timeout_s or now - env.started_at > self.settings.max_lifetime_s
        ]
        for env in stale:
            await self._discard(env)
        self.stats["evicted"] += len(stale)
        return len(stale)

    async def close(self) -> None:
        """Kill every environment; the invocations they ran end (Runtime.ExitError) and are awaited."""
        self._closing = True
        await asyncio.gather(*(self._discard(env) for env in list(self._all.values())), return_exceptions=True)
        if self._running:
            await asyncio.wait(set(self._running), timeout=CLOSE_WAIT_S)
        # An invocation that was starting its environment when the others were killed.
        await asyncio.gather(*(self._discard(env) for env in list(self._all.values())), return_exceptions=True)


def _json(obj) -> bytes:
    return json.dumps(obj).encode()
