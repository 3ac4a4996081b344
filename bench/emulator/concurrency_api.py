"""The concurrency part of the Lambda API: reserved concurrency, provisioned concurrency, account settings."""

from __future__ import annotations

from aiohttp import web

from .concurrency import ConcurrencyGate
from .control import json_body
from .provisioned import ProvisionedConcurrency
from .registry import Registry, split_function_name


class ConcurrencyApi:
    def __init__(self, registry: Registry, gate: ConcurrencyGate, provisioned: ProvisionedConcurrency) -> None:
        self.registry = registry
        self.gate = gate
        self.provisioned = provisioned

    def routes(self) -> list[web.RouteDef]:
        reserved_put = "/2017-10-31/functions/{name}/concurrency"
        provisioned = "/2019-09-30/functions/{name}/provisioned-concurrency"
        return [
            web.put(reserved_put, self.put_reserved),
            web.delete(reserved_put, self.delete_reserved),
            web.get("/2019-09-30/functions/{name}/concurrency", self.get_reserved),
            web.put(provisioned, self.put_provisioned),
            web.get(provisioned, self.get_provisioned),
            web.delete(provisioned, self.delete_provisioned),
            web.get("/2016-08-19/account-settings", self.account_settings),
            web.get("/2016-08-19/account-settings/", self.account_settings),
        ]

    def _function(self, request: web.Request):
        name, qualifier = split_function_name(request.match_info["name"])
        return self.registry.get(name), request.query.get("Qualifier") or qualifier

    async def put_reserved(self, request: web.Request) -> web.Response:
        function, _ = self._function(request)
        value = (await json_body(request)).get("ReservedConcurrentExecutions")
        self.gate.set_reserved(function.name, value)  # type: ignore[arg-type]  # set_reserved refuses a non-int
        return web.json_response({"ReservedConcurrentExecutions": value})

    async def get_reserved(self, request: web.Request) -> web.Response:
        function, _ = self._function(request)
        value = self.gate.reserved.get(function.name)
        return web.json_response({} if value is None else {"ReservedConcurrentExecutions": value})

    async def delete_reserved(self, request: web.Request) -> web.Response:
        function, _ = self._function(request)
        self.gate.clear_reserved(function.name)
        return web.Response(status=204)

    async def put_provisioned(self, request: web.Request) -> web.Response:
        function, qualifier = self._function(request)
        requested = (await json_body(request)).get("ProvisionedConcurrentExecutions")
        config = await self.provisioned.put(function, qualifier, requested)  # type: ignore[arg-type]  # put checks it
        return web.json_response(config.describe(), status=202)

    async def get_provisioned(self, request: web.Request) -> web.Response:
        function, qualifier = self._function(request)
        if request.query.get("List") == "ALL":
            configs = [c.describe() for c in self.provisioned.list(function.name)]
            return web.json_response({"ProvisionedConcurrencyConfigs": configs})
        described = self.provisioned.get(function.name, qualifier).describe()
        described.pop("FunctionArn")
        return web.json_response(described)

    async def delete_provisioned(self, request: web.Request) -> web.Response:
        function, qualifier = self._function(request)
        await self.provisioned.delete(function.name, qualifier)
        return web.Response(status=204)

    async def account_settings(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "AccountLimit": {
                    "TotalCodeSize": 80530636800,
                    "CodeSizeUnzipped": 262144000,
                    "CodeSizeZipped": 52428800,
                    "ConcurrentExecutions": self.gate.account_limit,
                    "UnreservedConcurrentExecutions": self.gate.unreserved_limit,
                },
                "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": len(self.registry.functions)},
            }
        )
