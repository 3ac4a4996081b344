"""Assembles the emulator service and runs it until SIGINT or SIGTERM, then removes every environment.

The service listens on 127.0.0.1 only. When ready it prints one line,
``lambench emulator listening on http://127.0.0.1:PORT cpu_mode=MODE``, which the CLI waits for.
"""

from __future__ import annotations

import asyncio
import collections
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ..errors import UserError
from .apierrors import aws_errors
from .cgroups import CpuGroups
from .control import ControlPlane
from .invoke import InvokeApi
from .pool import EnvironmentPool
from .registry import Registry
from .runtime_api import RuntimeApi

HOST = "127.0.0.1"
LOG_EVENTS_KEPT = 200_000


@dataclass(frozen=True)
class EmulatorSettings:
    port: int = 0
    idle_timeout_s: float = 380.0
    account_concurrency: int = 1000
    cpu_mode: str = "auto"  # auto | quota | none


class LogStore:
    """Every log line of every function, kept for log queries (the CloudWatch Logs subset)."""

    def __init__(self) -> None:
        self.events: dict[str, collections.deque] = collections.defaultdict(
            lambda: collections.deque(maxlen=LOG_EVENTS_KEPT))

    def __call__(self, function: str, stream: str, message: str) -> None:
        self.events[function].append((int(time.time() * 1000), stream, message))


class Emulator:
    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.state_dir = Path(tempfile.mkdtemp(prefix="lambench-emulator-"))
        self.cpu_groups = None if settings.cpu_mode == "none" else CpuGroups.create()
        if settings.cpu_mode == "quota" and self.cpu_groups is None:
            raise UserError("--cpu-mode quota: this host allows no CPU quota "
                            "(needs root with a cgroup v1 cpu controller or cgroup v2 cpu.max)")
        self.cpu_mode = "quota" if self.cpu_groups is not None else "none"
        self.logs = LogStore()
        self.registry = Registry(self.state_dir)
        self.runtime_api = RuntimeApi()
        self.pool = EnvironmentPool(self.runtime_api, self.state_dir, self.logs, self.cpu_groups,
                                    settings.account_concurrency, settings.idle_timeout_s)
        self.invoke_api = InvokeApi(self.registry, self.pool)
        self.app = web.Application(middlewares=[aws_errors], client_max_size=7 * 1024 * 1024)
        self.app.add_routes(ControlPlane(self.registry, self.pool).routes())
        self.app.add_routes(self.invoke_api.routes())
        self.app.add_routes([web.get("/lambench/info", self.info)])
        self.runner = web.AppRunner(self.app, handler_cancellation=True, shutdown_timeout=2.0, access_log=None)
        self.port = 0

    async def info(self, request: web.Request) -> web.Response:
        return web.json_response({
            "emulator": "lambench", "cpu_mode": self.cpu_mode,
            "python": platform.python_version(), "executable": sys.executable,
            "environments": len(self.pool.environments()),
            "served": dict(self.pool.stats),
        })

    async def start(self) -> int:
        await self.runtime_api.start()
        await self.runner.setup()
        site = web.TCPSite(self.runner, HOST, self.settings.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self.port

    async def reap_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            await self.pool.reap_idle()

    async def stop(self) -> None:
        await self.invoke_api.close()
        await self.pool.close()
        await self.runner.cleanup()
        await self.runtime_api.stop()
        if self.cpu_groups is not None:
            self.cpu_groups.close()
        shutil.rmtree(self.state_dir, ignore_errors=True)


async def serve(settings: EmulatorSettings) -> None:
    emulator = Emulator(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
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
