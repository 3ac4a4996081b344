"""The control-plane subset of the Lambda API: functions, configuration, versions, aliases.

Handlers validate, delegate to the registry and return AWS's JSON shapes, so that boto3 (and
its waiters) work unchanged against this emulator.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from aiohttp import web

from ..awsfacts import (
    ARCHITECTURES,
    MEMORY_DEFAULT_MB,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    TIMEOUT_DEFAULT_S,
    TIMEOUT_MAX_S,
    TIMEOUT_MIN_S,
)
from .apierrors import conflict, invalid, not_found
from .registry import LATEST, Alias, FunctionVersion, Registry, function_arn, split_function_name

API = "/2015-03-31/functions"
# python3.x runs on the emulator's own interpreter; provided.* runs the folder's executable `bootstrap`.
RUNTIMES = (
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "provided.al2023",
    "provided.al2",
)


def _memory(value) -> int:
    if not isinstance(value, int) or not MEMORY_MIN_MB <= value <= MEMORY_MAX_MB:
        raise invalid(f"MemorySize {value!r}: must be an integer from {MEMORY_MIN_MB} to {MEMORY_MAX_MB}")
    return value


def _timeout(value) -> int:
    if not isinstance(value, int) or not TIMEOUT_MIN_S <= value <= TIMEOUT_MAX_S:
        raise invalid(f"Timeout {value!r}: must be an integer from {TIMEOUT_MIN_S} to {TIMEOUT_MAX_S}")
    return value


async def json_body(request: web.Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise invalid("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    return body


class ControlPlane:
    def __init__(self, registry: Registry, pool, gate, provisioned) -> None:
        self.registry = registry
        self.pool = pool
        self.gate = gate
        self.provisioned = provisioned

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(API, self.create_function),
            web.get(API, self.list_functions),
            web.get(API + "/", self.list_functions),
            web.get(API + "/{name}", self.get_function),
            web.delete(API + "/{name}", self.delete_function),
            web.get(API + "/{name}/configuration", self.get_configuration),
            web.put(API + "/{name}/configuration", self.update_configuration),
            web.put(API + "/{name}/code", self.update_code),
            web.post(API + "/{name}/versions", self.publish_version),
            web.get(API + "/{name}/versions", self.list_versions),
            web.post(API + "/{name}/aliases", self.create_alias),
            web.get(API + "/{name}/aliases", self.list_aliases),
            web.get(API + "/{name}/aliases/{alias}", self.get_alias),
            web.put(API + "/{name}/aliases/{alias}", self.update_alias),
            web.delete(API + "/{name}/aliases/{alias}", self.delete_alias),
        ]

    def _function(self, request: web.Request):
        name, qualifier = split_function_name(request.match_info["name"])
        return self.registry.get(name), request.query.get("Qualifier") or qualifier

    async def create_function(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        name = body.get("FunctionName")
        if not name or not isinstance(name, str):
            raise invalid("FunctionName is required")
        runtime = body.get("Runtime", "")
        if runtime not in RUNTIMES:
            raise invalid(f"Runtime {runtime!r}: this emulator runs {', '.join(RUNTIMES)}")
        architectures = body.get("Architectures") or ["x86_64"]
        if len(architectures) != 1 or architectures[0] not in ARCHITECTURES:
            raise invalid(f"Architectures {architectures!r}: must be one of {ARCHITECTURES}")
        zip_file = (body.get("Code") or {}).get("ZipFile")
        if not zip_file:
            raise invalid("Code.ZipFile is required: this emulator takes ZIP packages only")
        code_dir, sha, size = self.registry.unpack(zip_file)
        version = FunctionVersion(
            name=name,
            version=LATEST,
            runtime=runtime,
            handler=body.get("Handler", ""),
            role=body.get("Role", ""),
            memory_mb=_memory(body.get("MemorySize", MEMORY_DEFAULT_MB)),
            timeout_s=_timeout(body.get("Timeout", TIMEOUT_DEFAULT_S)),
            environment=dict((body.get("Environment") or {}).get("Variables") or {}),
            architecture=architectures[0],
            code_dir=code_dir,
            code_sha256=sha,
            code_size=size,
            description=body.get("Description", ""),
        )
        self.registry.create(version)
        function = self.registry.functions[name]
        if body.get("Publish"):
            function.publish()
        return web.json_response(version.describe(), status=201)

    async def list_functions(self, request: web.Request) -> web.Response:
        configs = [f.latest.describe() for f in self.registry.functions.values()]
        return web.json_response({"Functions": configs})

    async def get_function(self, request: web.Request) -> web.Response:
        function, qualifier = self._function(request)
        version = function.resolve(qualifier)
        return web.json_response(
            {
                "Configuration": version.describe(),
                "Code": {"RepositoryType": "S3", "Location": f"file://{version.code_dir}"},
            }
        )

    async def delete_function(self, request: web.Request) -> web.Response:
        function, qualifier = self._function(request)
        name = function.latest.name
        if qualifier and qualifier != LATEST:
            if qualifier not in function.versions:
                raise not_found(f"Function not found: {function_arn(name, qualifier)}")
            if any(a.function_version == qualifier for a in function.aliases.values()):
                raise conflict("Unable to delete version because the following aliases reference it")
            del function.versions[qualifier]
            await self.pool.retire(name, keep=lambda v: v.version != qualifier)
        else:
            await self.provisioned.forget_function(name)
            self.registry.delete(name)
            self.gate.forget(name)
            await self.pool.retire(name)
        return web.Response(status=204)

    async def get_configuration(self, request: web.Request) -> web.Response:
        function, qualifier = self._function(request)
        return web.json_response(function.resolve(qualifier).describe())

    async def update_configuration(self, request: web.Request) -> web.Response:
        function, _ = self._function(request)
        body = await json_body(request)
        changes: dict[str, Any] = {}
        if "MemorySize" in body:
            changes["memory_mb"] = _memory(body["MemorySize"])
        if "Timeout" in body:
            changes["timeout_s"] = _timeout(body["Timeout"])
        if "Environment" in body:
            changes["environment"] = dict((body["Environment"] or {}).get("Variables") or {})
        for field, key in (("handler", "Handler"), ("description", "Description"), ("role", "Role")):
            if key in body:
                changes[field] = body[key]
        if "Runtime" in body:
            if body["Runtime"] not in RUNTIMES:
                raise invalid(f"Runtime {body['Runtime']!r}: this emulator runs {', '.join(RUNTIMES)}")
            changes["runtime"] = body["Runtime"]
        return await self._replace_latest(function, changes)

    async def update_code(self, request: web.Request) -> web.Response:
        function, _ = self._function(request)
        body = await json_body(request)
        if not body.get("ZipFile"):
            raise invalid("ZipFile is required: this emulator takes ZIP packages only")
        code_dir, sha, size = self.registry.unpack(body["ZipFile"])
        response = await self._replace_latest(function, {"code_dir": code_dir, "code_sha256": sha, "code_size": size})
        if body.get("Publish"):
            function.publish()
        return response

    async def _replace_latest(self, function, changes: dict) -> web.Response:
        function.latest = dataclasses.replace(function.latest, revision_id=str(uuid.uuid4()), **changes)
        name, revision = function.latest.name, function.latest.revision_id
        # Like Lambda, an update retires $LATEST's warm environments: the next invoke is cold.
        await self.pool.retire(name, keep=lambda v: v.version != LATEST or v.revision_id == revision)
        return web.json_response(function.latest.describe())

    async def publish_version(self, request: web.Request) -> web.Response:
        function, _ = self._function(request)
        body = await json_body(request) if request.can_read_body else {}
        expected = body.get("CodeSha256")
        if expected and expected != function.latest.code_sha256:
            raise invalid("CodeSha256 does not match the function's current code")
        return web.json_response(function.publish(body.get("Description", "")).describe(), status=201)

    async def list_versions(self, request: web.Request) -> web.Response:
        function, _ = self._function(request)
        versions = [function.latest.describe()] + [v.describe() for v in function.versions.values()]
        return web.json_response({"Versions": versions})

    def _check_version(self, function, version: str) -> str:
        if version != LATEST and version not in function.versions:
            raise not_found(f"Function not found: {function_arn(function.latest.name, version)}")
        return version

    def _weights(self, function, routing: dict | None) -> dict[str, float]:
        weights = dict((routing or {}).get("AdditionalVersionWeights") or {})
        for version, weight in weights.items():
            self._check_version(function, str(version))
            if not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
                raise invalid(f"AdditionalVersionWeights[{version}] = {weight!r}: must be 0.0..1.0")
        if len(weights) > 1:
            raise invalid("AdditionalVersionWeights: at most one additional version")
        return {str(v): float(w) for v, w in weights.items()}

    async def create_alias(self, request: web.Request) -> web.Response:
        function, _ = self._function(request)
        body = await json_body(request)
        name = body.get("Name")
        if not name:
            raise invalid("Name is required")
        if name in function.aliases:
            raise conflict(f"Alias already exists: {function_arn(function.latest.name, name)}")
        alias = Alias(
            name,
            self._check_version(function, str(body.get("FunctionVersion", ""))),
            body.get("Description", ""),
            self._weights(function, body.get("RoutingConfig")),
        )
        function.aliases[name] = alias
        return web.json_response(alias.describe(function.latest.name), status=201)

    def _alias(self, request: web.Request):
        function, _ = self._function(request)
        name = request.match_info["alias"]
        if name not in function.aliases:
            raise not_found(f"Alias not found: {function_arn(function.latest.name, name)}")
        return function, function.aliases[name]

    async def get_alias(self, request: web.Request) -> web.Response:
        function, alias = self._alias(request)
        return web.json_response(alias.describe(function.latest.name))

    async def list_aliases(self, request: web.Request) -> web.Response:
        function, _ = self._function(request)
        return web.json_response({"Aliases": [a.describe(function.latest.name) for a in function.aliases.values()]})

    async def update_alias(self, request: web.Request) -> web.Response:
        function, alias = self._alias(request)
        body = await json_body(request)
        if "FunctionVersion" in body:
            previous = alias.function_version
            alias.function_version = self._check_version(function, str(body["FunctionVersion"]))
            config = self.provisioned.configs.get((function.name, alias.name))
            if config is not None and previous != alias.function_version:
                # Lambda re-provisions an alias's concurrency on the version it now points at.
                await self.provisioned.put(function, alias.name, config.requested)
        if "Description" in body:
            alias.description = body["Description"]
        if "RoutingConfig" in body:
            alias.additional_weights = self._weights(function, body["RoutingConfig"])
        alias.revision_id = str(uuid.uuid4())
        return web.json_response(alias.describe(function.latest.name))

    async def delete_alias(self, request: web.Request) -> web.Response:
        function, alias = self._alias(request)
        del function.aliases[alias.name]
        return web.Response(status=204)
