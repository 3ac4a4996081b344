"""Assembles the emulator service and runs it until SIGINT, SIGTERM or SIGHUP, then removes every environment.

The service listens on 127.0.0.1 only. When ready it prints one line,
``lambench emulator listening on http://127.0.0.1:PORT cpu_mode=MODE``, which the CLI waits for.
Started with a parent pid (``--parent-pid``, as ``lambench run`` starts it), it also stops when
that process is gone, killed or not (lifeline.py). Stopping closes the listening socket first (the
invokes in flight get its shutdown timeout to finish), then kills the environments.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ..errors import UserError
from . import sandbox
from .apierrors import aws_errors
from .apigw import ApiGatewayFronts, GatewaySettings
from .cgroups import Cgroups
from .concurrency import SCALE_BURST, ConcurrencyGate
from .concurrency_api import ConcurrencyApi
from .control import ControlPlane
from .front import FrontDoor
from .invoke import InvokeApi, InvokeSettings
from .lifeline import ParentWatch
from .logs_api import LogsApi
from .logstore import LogStore
from .pool import EnvironmentPool, PoolSettings
from .provisioned import ProvisionedConcurrency
from .registry import Registry
from .runtime_api import RuntimeApi

HOST = "127.0.0.1"
# aiohttp's bound for handlers that read a whole body at once; the Invoke API and the code
# uploads read with limits of their own (apierrors.read_body), and a 413 is always AWS's typed one.
CLIENT_MAX_SIZE = 7 * 1024 * 1024
SHUTDOWN_TIMEOUT_S = 2.0  # what the invokes in flight get to finish when the emulator stops


@dataclass(frozen=True)
class EmulatorSettings:
    port: int = 0
    idle_timeout_s: float = 380.0
    max_lifetime_s: float = 4 * 3600.0
    account_concurrency: int = 1000
    scaling_burst: int | None = SCALE_BURST  # None: the scaling rate is not modelled
    init_timeout_s: float = 10.0
    cpu_mode: str = "dilation"  # auto | quota | dilation | none (dilation holds under load: README)
    memory_mode: str = "auto"  # auto | cgroup | watchdog | none
    invoke: InvokeSettings = InvokeSettings()
    gateway: GatewaySettings = GatewaySettings()
    parent_pid: int | None = None  # stop when this process exits (the lambench run that started us)
    env_cpus: tuple[int, ...] | None = None  # pin environments to these CPUs (None: anywhere)


def _choose(flag: str, requested: str, allowed: bool, enforced: str, fallback: str, needs: str) -> str:
    """auto: the kernel's enforcement where the host allows it, else the emulator's own fallback."""
    if requested == enforced and not allowed:
        raise UserError(f"{flag} {enforced}: this host allows none (needs root with {needs})")
    if requested == "auto":
        return enforced if allowed else fallback
    return requested


def choose_memory_mode(requested: str, cgroups: Cgroups) -> str:
    """cgroup (the memory controller), else watchdog (the emulator polls each environment's RSS)."""
    return _choose(
        "--memory-mode",
        requested,
        cgroups.memory is not None,
        "cgroup",
        "watchdog",
        "a cgroup v1 memory controller or cgroup v2 memory.max",
    )


def choose_cpu_mode(requested: str, cgroups: Cgroups) -> str:
    """quota (CFS quota), else dilation (each invocation stretched by its measured CPU time)."""
    return _choose(
        "--cpu-mode",
        requested,
        cgroups.cpu is not None,
        "quota",
        "dilation",
        "a cgroup v1 cpu controller or cgroup v2 cpu.max",
    )


class Emulator:
    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.state_dir = Path(tempfile.mkdtemp(prefix="lambench-emulator-"))
        self.cgroups = Cgroups.create(
            want_cpu=settings.cpu_mode in ("auto", "quota"), want_memory=settings.memory_mode in ("auto", "cgroup")
        )
        self.cpu_mode = choose_cpu_mode(settings.cpu_mode, self.cgroups)
        self.memory_mode = choose_memory_mode(settings.memory_mode, self.cgroups)
        self.logs = LogStore()
        self.registry = Registry(self.state_dir)
        self.runtime_api = RuntimeApi()
        self.gate = ConcurrencyGate(settings.account_concurrency, settings.scaling_burst)
        self.pool = EnvironmentPool(
            self.runtime_api,
            self.state_dir,
            self.logs,
            self.cgroups,
            self.gate,
            PoolSettings(
                self.cpu_mode,
                self.memory_mode,
                settings.idle_timeout_s,
                settings.max_lifetime_s,
                settings.init_timeout_s,
                env_cpus=settings.env_cpus,
            ),
        )
        self.provisioned = ProvisionedConcurrency(self.pool)
        self.invoke_api = InvokeApi(self.registry, self.pool, settings.invoke)
        self.app = web.Application(middlewares=[aws_errors(CLIENT_MAX_SIZE)], client_max_size=CLIENT_MAX_SIZE)
        # Invoke first: aiohttp tries the routes under one path prefix in the order they were added,
        # and the control plane's share Invoke's (/2015-03-31/functions/...). No other route matches
        # an Invoke path, so the order changes no answer, only how soon the busiest route is found.
        self.app.add_routes(self.invoke_api.routes())
        self.app.add_routes(ControlPlane(self.registry, self.pool, self.gate, self.provisioned).routes())
        self.app.add_routes(ConcurrencyApi(self.registry, self.gate, self.provisioned).routes())
        self.app.add_routes(LogsApi(self.logs).routes())
        self.app.add_routes(ApiGatewayFronts(self.registry, self.pool, self.logs, settings.gateway).routes())
        self.app.add_routes([web.get("/lambench/info", self.info)])
        self.runner = web.AppRunner(
            self.app, handler_cancellation=True, shutdown_timeout=SHUTDOWN_TIMEOUT_S, access_log=None
        )
        self.front: FrontDoor | None = None
        self.port = 0

    async def info(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "emulator": "lambench",
                "cpu_mode": self.cpu_mode,
                "memory_mode": self.memory_mode,
                "python": platform.python_version(),
                "executable": sys.executable,
                "environments": len(self.pool.environments()),
                "served": dict(self.pool.stats),
                # Decided at the first cold start: {"enabled", "reason"}, or None before it.
                "sandbox": sandbox.state(self.state_dir),
            }
        )

    async def start(self) -> int:
        await self.runner.setup()
        assert self.runner.server is not None, "set up above"
        # Invoke on its fast path; every other request, and every later one on its connection, by the app.
        self.front = FrontDoor(self.invoke_api, self.runner.server)
        self.port = await self.front.start(HOST, self.settings.port)
        return self.port

    async def reap_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            await self.pool.reap_idle()

    async def stop(self) -> None:
        # No new invokes first: an environment started after pool.close() would outlive it.
        if self.front is not None:
            await asyncio.gather(self.front.close(SHUTDOWN_TIMEOUT_S), self.runner.cleanup())
        else:
            await self.runner.cleanup()
        await self.invoke_api.close()
        await self.pool.close()
        await self.runtime_api.stop()
        self.cgroups.close()
        shutil.rmtree(self.state_dir, ignore_errors=True)


async def serve(settings: EmulatorSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watch = None  # held for as long as we serve: it owns the polling task
    if settings.parent_pid is not None:
        # Before any environment or cgroup exists: a parent already gone stops us at once.
        watch = ParentWatch(settings.parent_pid, stop.set)
        watch.start()
    else:
        loop.add_signal_handler(signal.SIGHUP, stop.set)  # the terminal it ran in was closed
    emulator = Emulator(settings)
    try:
        port = await emulator.start()
        print(f"lambench emulator listening on http://{HOST}:{port} cpu_mode={emulator.cpu_mode}", flush=True)
        reaper = asyncio.create_task(emulator.reap_forever())
        await stop.wait()
        reaper.cancel()
    finally:
        await emulator.stop()


def run(settings: EmulatorSettings) -> None:
    os.environ.pop("AWS_LAMBDA_RUNTIME_API", None)
    asyncio.run(serve(settings))
