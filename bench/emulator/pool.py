"""Execution environments of all functions: reuse warm ones, start cold ones, enforce concurrency.

Each invoke takes an idle environment of its exact function version (most recently used
first, so that a steady load keeps the same warm set) or starts a new one; it writes the
START/END/REPORT lines and hands back everything the Invoke API needs to answer.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import logformat
from .apierrors import LambdaApiError
from .cgroups import CpuGroups
from .environment import ExecutionEnvironment, InitFailure, Invocation, RuntimeAnswer
from .registry import FunctionVersion
from .runtime_api import RuntimeApi

MB_PER_VCPU = 1769
MAX_VCPUS = 6


@dataclass
class Outcome:
    request_id: str
    version: str
    body: bytes
    function_error: bool
    error_type: str | None
    log_lines: list[str]
    cold: bool


class EnvironmentPool:
    def __init__(
        self,
        runtime_api: RuntimeApi,
        state_dir: Path,
        log_sink: Callable[[str, str, str], None],
        cpu_groups: CpuGroups | None,
        account_concurrency: int = 1000,
        idle_timeout_s: float = 380.0,
    ) -> None:
        self.runtime_api = runtime_api
        self.state_dir = state_dir
        self.log_sink = log_sink
        self.cpu_groups = cpu_groups
        self.account_concurrency = account_concurrency
        self.idle_timeout_s = idle_timeout_s
        self.in_flight = 0
        self._idle: dict[tuple[str, str, str], list[ExecutionEnvironment]] = collections.defaultdict(list)
        self._ports: dict[str, int] = {}
        self._all: dict[str, ExecutionEnvironment] = {}
        self.stats = collections.Counter()

    @staticmethod
    def _key(version: FunctionVersion) -> tuple[str, str, str]:
        # The revision is part of the key: after an update, $LATEST's old environments never serve again.
        return version.name, version.version, version.revision_id

    def environments(self, name: str | None = None) -> list[ExecutionEnvironment]:
        return [e for e in self._all.values() if name is None or e.version.name == name]

    # ---- invoke ---------------------------------------------------------------------------------
    async def invoke(self, version: FunctionVersion, payload: bytes, client_context: str | None = None) -> Outcome:
        if self.in_flight >= self.account_concurrency:
            raise LambdaApiError(429, "TooManyRequestsException", "Rate Exceeded.",
                                 Reason="ConcurrentInvocationLimitExceeded")
        self.in_flight += 1
        try:
            return await self._invoke(version, payload, client_context)
        finally:
            self.in_flight -= 1

    async def _invoke(self, version: FunctionVersion, payload: bytes, client_context: str | None) -> Outcome:
        request_id = str(uuid.uuid4())
        env = self._take_idle(version)
        init_ms = None
        if env is None:
            env = ExecutionEnvironment(version, self.state_dir, self.log_sink)
            try:
                init_ms = await self._start(env)
            except InitFailure as failure:
                await self._discard(env)
                return self._init_failed(version, request_id, failure)
        self.stats["invocations"] += 1
        self.stats["cold_starts"] += init_ms is not None
        invocation = Invocation(
            request_id=request_id, payload=payload or b"{}", invoked_arn=version.arn,
            deadline_epoch_ms=int(time.time() * 1000 + version.timeout_s * 1000),
            client_context=client_context,
        )
        start = logformat.start_line(request_id, version.version)
        self.log_sink(version.name, env.log_stream, start)
        answer = await env.invoke(invocation, version.timeout_s)
        outcome = self._finish(env, invocation, answer, init_ms, start)
        if env.usable:
            self._idle[self._key(version)].append(env)
        else:
            await self._discard(env)
        return outcome

    def _take_idle(self, version: FunctionVersion) -> ExecutionEnvironment | None:
        idle = self._idle.get(self._key(version))
        while idle:
            env = idle.pop()
            if env.usable and env.process.returncode is None:
                return env
            asyncio.ensure_future(self._discard(env))
        return None

    async def _start(self, env: ExecutionEnvironment) -> float:
        self._all[env.env_id] = env
        port = await self.runtime_api.open(env)
        self._ports[env.env_id] = port
        self.log_sink(env.version.name, env.log_stream, logformat.init_start_line(env.version.runtime))
        init_ms = await env.start(port)
        if self.cpu_groups is not None:
            # The quota applies from the first invoke on: Lambda's Python init is flat across
            # memory sizes (lambda-perf: 83.7 ms at 128 MB, 81.8 ms at 1024 MB), so INIT runs unthrottled.
            vcpus = min(env.version.memory_mb / MB_PER_VCPU, MAX_VCPUS)
            group = self.cpu_groups.limit(env.env_id, vcpus)
            self.cpu_groups.attach(group, env.process.pid)
        return init_ms

    def _finish(self, env: ExecutionEnvironment, inv: Invocation, answer: RuntimeAnswer | None,
                init_ms: float | None, start: str) -> Outcome:
        version = env.version
        t_sent = inv.t_sent if inv.t_sent is not None else inv.t_done
        duration_ms = max(0.0, (inv.t_done - t_sent) * 1000.0) if t_sent else 0.0
        lines = env.take_init_lines() + [start] + inv.log_lines
        status = error_type = None
        if answer is None:
            duration_ms = version.timeout_s * 1000.0
            lines.append(logformat.timeout_line(inv.request_id, version.timeout_s))
            status, error_type = "timeout", "Sandbox.Timedout"
            message = f"RequestId: {inv.request_id} Error: Task timed out after {version.timeout_s:.2f} seconds"
            answer = RuntimeAnswer(False, _json({"errorType": error_type, "errorMessage": message}), error_type)
        elif answer.error_type == "Runtime.ExitError":
            status, error_type = "error", "Runtime.ExitError"
        report = logformat.report_line(inv.request_id, duration_ms, version.memory_mb,
                                       env.max_memory_mb(), init_ms, status, error_type)
        tail = [logformat.end_line(inv.request_id), report]
        for line in tail:
            self.log_sink(version.name, env.log_stream, line)
        return Outcome(inv.request_id, version.version, answer.body, not answer.ok,
                       answer.error_type, lines + tail, init_ms is not None)

    def _init_failed(self, version: FunctionVersion, request_id: str, failure: InitFailure) -> Outcome:
        report = logformat.report_line(request_id, 0.0, version.memory_mb, 0, failure.init_ms,
                                       "error", failure.error_type)
        self.log_sink(version.name, f"init-failure/{request_id}", report)
        return Outcome(request_id, version.version, failure.body, True, failure.error_type,
                       failure.log_lines + [report], True)

    # ---- lifetime -------------------------------------------------------------------------------
    async def _discard(self, env: ExecutionEnvironment) -> None:
        self._all.pop(env.env_id, None)
        for idle in self._idle.values():
            if env in idle:
                idle.remove(env)
        await env.close()
        port = self._ports.pop(env.env_id, None)
        if port is not None:
            await self.runtime_api.close_port(port)
        if self.cpu_groups is not None:
            self.cpu_groups.release(env.env_id)

    async def retire(self, name: str, keep: Callable[[FunctionVersion], bool] = lambda v: False) -> None:
        """Discard idle environments of ``name`` whose version should no longer serve."""
        for key, idle in list(self._idle.items()):
            for env in list(idle):
                if env.version.name == name and not keep(env.version):
                    await self._discard(env)

    async def reap_idle(self) -> int:
        now = time.monotonic()
        stale = [env for idle in self._idle.values() for env in idle
                 if now - env.last_used > self.idle_timeout_s]
        for env in stale:
            await self._discard(env)
        return len(stale)

    async def close(self) -> None:
        await asyncio.gather(*(self._discard(env) for env in list(self._all.values())), return_exceptions=True)


def _json(obj) -> bytes:
    return json.dumps(obj).encode()
