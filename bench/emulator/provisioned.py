"""Provisioned concurrency configs: N environments of an alias's or version's code, initialised ahead.

Put answers at once with Status IN_PROGRESS; the environments start in the background and the
status turns READY (or FAILED, with the reason) when they are up, as on Lambda.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from .apierrors import LambdaApiError, invalid
from .pool import EnvironmentPool
from .registry import LATEST, Function, FunctionVersion, function_arn


def _timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime())


@dataclass
class ProvisionedConfig:
    function: str
    qualifier: str
    version: FunctionVersion
    requested: int
    allocated: int = 0
    status: str = "IN_PROGRESS"
    reason: str | None = None
    last_modified: str = field(default_factory=_timestamp)
    task: asyncio.Task | None = None

    def describe(self) -> dict:
        described = {
            "FunctionArn": function_arn(self.function, self.qualifier),
            "RequestedProvisionedConcurrentExecutions": self.requested,
            "AvailableProvisionedConcurrentExecutions": self.allocated,
            "AllocatedProvisionedConcurrentExecutions": self.allocated,
            "Status": self.status,
            "LastModified": self.last_modified,
        }
        if self.reason:
            described["StatusReason"] = self.reason
        return described


def not_configured(name: str, qualifier: str) -> LambdaApiError:
    return LambdaApiError(
        404,
        "ProvisionedConcurrencyConfigNotFoundException",
        f"No Provisioned Concurrency Config found for this function: {function_arn(name, qualifier)}",
    )


class ProvisionedConcurrency:
    def __init__(self, pool: EnvironmentPool) -> None:
        self.pool = pool
        self.configs: dict[tuple[str, str], ProvisionedConfig] = {}

    async def put(self, function: Function, qualifier: str | None, requested: int) -> ProvisionedConfig:
        if not qualifier or qualifier == LATEST:
            raise invalid("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
        if not isinstance(requested, int) or requested < 1:
            raise invalid(f"ProvisionedConcurrentExecutions {requested!r}: must be an integer >= 1")
        version = function.resolve(qualifier)
        await self.delete(function.name, qualifier, missing_ok=True)
        config = ProvisionedConfig(function.name, qualifier, version, requested)
        self.configs[(function.name, qualifier)] = config
        config.task = asyncio.ensure_future(self._allocate(config))
        return config

    async def _allocate(self, config: ProvisionedConfig) -> None:
        config.allocated = await self.pool.provision(config.version, config.requested)
        config.last_modified = _timestamp()
        if config.allocated == config.requested:
            config.status = "READY"
        else:
            config.status = "FAILED"
            config.reason = f"{config.requested - config.allocated} environments failed to initialise"

    def get(self, name: str, qualifier: str | None) -> ProvisionedConfig:
        config = self.configs.get((name, qualifier or ""))
        if config is None:
            raise not_configured(name, qualifier or "")
        return config

    def list(self, name: str) -> list[ProvisionedConfig]:
        return [c for (fn, _), c in self.configs.items() if fn == name]

    async def delete(self, name: str, qualifier: str | None, missing_ok: bool = False) -> None:
        config = self.configs.pop((name, qualifier or ""), None)
        if config is None:
            if missing_ok:
                return
            raise not_configured(name, qualifier or "")
        if config.task is not None and not config.task.done():
            config.task.cancel()
        await self.pool.unprovision(config.version)

    async def forget_function(self, name: str) -> None:
        for config in self.list(name):
            await self.delete(name, config.qualifier)
