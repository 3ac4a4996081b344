"""The control-plane subset of the Lambda API: functions, configuration, versions, aliases.

Handlers validate, delegate to the registry and return AWS's JSON shapes, so that boto3 (and
its waiters) work unchanged against this emulator. Validation follows Lambda's: a function name,
handler or environment that Lambda refuses is refused here with AWS's error, rather than
accepted and failing every later invoke.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from typing import Any

from aiohttp import web

from ..awsfacts import (
    ARCHITECTURES,
    ENVIRONMENT_LIMIT_BYTES,
    FUNCTION_NAME_MAX,
    MEMORY_DEFAULT_MB,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    RESERVED_ENVIRONMENT_VARIABLES,
    TIMEOUT_DEFAULT_S,
    TIMEOUT_MAX_S,
    TIMEOUT_MIN_S,
)
from .apierrors import conflict, invalid, not_found, read_body, unparsable, validation
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
# Request size limits as AWS states them in its 413s. A direct upload's zip is 50 MB, which is
# this much once base64-encoded in the JSON body; a configuration update is small.
CODE_REQUEST_LIMIT = 69_905_067
CONFIGURATION_REQUEST_LIMIT = 5120
OTHER_REQUEST_LIMIT = 6 * 1024 * 1024  # the emulator's own bound for the small control-plane bodies

# CreateFunction's FunctionName (API reference): a name, or an ARN ending in one; the name
# itself is 1-64 characters of [a-zA-Z0-9-_] (FACTS.md).
CREATE_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)"
)
CREATE_NAME = re.compile(CREATE_NAME_PATTERN)
NAME_INPUT_MAX = 140
HANDLER_PATTERN = r"[^\s]+"
HANDLER_MAX = 128
DESCRIPTION_MAX = 256
# Environment variables (docs: lambda/latest/dg/configuration-envvars.html): names match this,
# the variables object stored as compact JSON is at most ENVIRONMENT_LIMIT_BYTES; awsfacts.py
# names Lambda's own (RESERVED_ENVIRONMENT_VARIABLES).
ENV_NAME_PATTERN = "[a-zA-Z]([a-zA-Z0-9_])+"
ENV_NAME = re.compile(ENV_NAME_PATTERN)
ENV_REFUSED = (
    "Lambda was unable to configure your environment variables because the environment variables you have provided"
)


def _memory(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not MEMORY_MIN_MB <= value <= MEMORY_MAX_MB:
        raise invalid(f"MemorySize {value!r}: must be an integer from {MEMORY_MIN_MB} to {MEMORY_MAX_MB}")
    return value


def _timeout(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not TIMEOUT_MIN_S <= value <= TIMEOUT_MAX_S:
        raise invalid(f"Timeout {value!r}: must be an integer from {TIMEOUT_MIN_S} to {TIMEOUT_MAX_S}")
    return value


def _function_name(value: object) -> str:
    """The name CreateFunction creates, from a name or an ARN."""
    if not isinstance(value, str) or not value:
        raise invalid("FunctionName is required")
    if len(value) > NAME_INPUT_MAX:
        raise validation("functionName", f"Member must have length less than or equal to {NAME_INPUT_MAX}", value)
    match = CREATE_NAME.fullmatch(value)
    if match is None:
        pattern = f"Member must satisfy regular expression pattern: {CREATE_NAME_PATTERN}"
        raise validation("functionName", pattern, value)
    name = match.groups()[-1]  # the pattern's last group is the name itself
    if len(name) > FUNCTION_NAME_MAX:
        # Lambda answers this one as InvalidParameterValueException, with the validation wording.
        raise invalid(
            f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: "
            f"Member must have length less than or equal to {FUNCTION_NAME_MAX}"
        )
    return name


def _handler(value: object) -> str:
    if not isinstance(value, str):
        raise unparsable("Handler must be a string")
    if len(value) > HANDLER_MAX:
        raise validation("handler", f"Member must have length less than or equal to {HANDLER_MAX}", value)
    if not re.fullmatch(HANDLER_PATTERN, value):
        raise validation("handler", f"Member must satisfy regular expression pattern: {HANDLER_PATTERN}", value)
    if "\0" in value:
        # The pattern lets NUL through, but no process can be started with it in its argv.
        raise invalid("Handler must not contain a NUL character")
    return value


def _description(value: object) -> str:
    if not isinstance(value, str):
        raise unparsable("Description must be a string")
    if len(value) > DESCRIPTION_MAX:
        raise validation("description", f"Member must have length less than or equal to {DESCRIPTION_MAX}", value)
    return value


def _environment(value: object) -> dict[str, str]:
    """Environment.Variables, checked as Lambda checks them: names, reserved names, 4 KB."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise unparsable("Environment must be an object")
    variables = value.get("Variables") or {}
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise unparsable("Environment.Variables must be an object of strings")
    if not all(ENV_NAME.fullmatch(name) for name in variables):
        raise validation(
            "environment.variables",
            f"Map keys must satisfy constraint: [Member must satisfy regular expression pattern: {ENV_NAME_PATTERN}]",
        )
    reserved = sorted(RESERVED_ENVIRONMENT_VARIABLES.intersection(variables))
    if reserved:
        raise invalid(
            f"{ENV_REFUSED} contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {', '.join(reserved)}"
        )
    measured = len(json.dumps(variables, separators=(",", ":"), ensure_ascii=False).encode())
    if measured > ENVIRONMENT_LIMIT_BYTES:
        # AWS quotes the measured string itself; its values may be secrets, so only its size here.
        raise invalid(f"{ENV_REFUSED} exceeded the 4KB limit. String measured: {measured} bytes")
    with_nul = sorted(name for name, text in variables.items() if "\0" in text)
    if with_nul:
        # No process can carry NUL in its environment; the emulator refuses it up front.
        raise invalid(f"{ENV_REFUSED} contain a NUL character in: {', '.join(with_nul)}")
    return dict(variables)


def _zip_file(code: object) -> str:
    if not isinstance(code, dict):
        raise unparsable("Code must be an object")
    zip_file = code.get("ZipFile")
    if zip_file is None:
        raise invalid("Code.ZipFile is required: this emulator takes ZIP packages only")
    if not isinstance(zip_file, str):
        raise unparsable("Code.ZipFile must be a base64-encoded string")
    return zip_file


async def json_body(request: web.Request, limit: int = OTHER_REQUEST_LIMIT, operation: str = "") -> dict:
    """The request's JSON object, read up to the operation's size limit."""
    raw = await read_body(request, limit, operation or request.match_info.route.name or request.path)
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise unparsable(str(err)) from None
    if not isinstance(body, dict):
        raise unparsable("the request body must be a JSON object")
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
        body = await json_body(request, CODE_REQUEST_LIMIT, "CreateFunction")
        name = _function_name(body.get("FunctionName"))
        runtime = body.get("Runtime", "")
        if runtime not in RUNTIMES:
            raise invalid(f"Runtime {runtime!r}: this emulator runs {', '.join(RUNTIMES)}")
        architectures = body.get("Architectures") or ["x86_64"]
        if len(architectures) != 1 or architectures[0] not in ARCHITECTURES:
            raise invalid(f"Architectures {architectures!r}: must be one of {ARCHITECTURES}")
        zip_file = _zip_file(body.get("Code"))
        handler = _handler(body["Handler"]) if "Handler" in body else ""
        memory_mb = _memory(body.get("MemorySize", MEMORY_DEFAULT_MB))
        timeout_s = _timeout(body.get("Timeout", TIMEOUT_DEFAULT_S))
        environment = _environment(body.get("Environment"))
        description = _description(body.get("Description", ""))
        if name in self.registry.functions:
            # Before the code is unpacked: a name taken is refused without writing a byte.
            raise conflict(f"Function already exist: {name}")
        code_dir, sha, size = await self.registry.unpack(zip_file)
        version = FunctionVersion(
            name=name,
            version=LATEST,
            runtime=runtime,
            handler=handler,
            role=body.get("Role", ""),
            memory_mb=memory_mb,
            timeout_s=timeout_s,
            environment=environment,
            architecture=architectures[0],
            code_dir=code_dir,
            code_sha256=sha,
            code_size=size,
            description=description,
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
        body = await json_body(request, CONFIGURATION_REQUEST_LIMIT, "UpdateFunctionConfiguration")
        changes: dict[str, Any] = {}
        if "MemorySize" in body:
            changes["memory_mb"] = _memory(body["MemorySize"])
        if "Timeout" in body:
            changes["timeout_s"] = _timeout(body["Timeout"])
        if "Environment" in body:
            changes["environment"] = _environment(body["Environment"])
        if "Handler" in body:
            changes["handler"] = _handler(body["Handler"])
        if "Description" in body:
            changes["description"] = _description(body["Description"])
        if "Role" in body:
            changes["role"] = body["Role"]
        if "Runtime" in body:
            if body["Runtime"] not in RUNTIMES:
                raise invalid(f"Runtime {body['Runtime']!r}: this emulator runs {', '.join(RUNTIMES)}")
            changes["runtime"] = body["Runtime"]
        return await self._replace_latest(function, changes)

    async def update_code(self, request: web.Request) -> web.Response:
        function, _ = self._function(request)
        body = await json_body(request, CODE_REQUEST_LIMIT, "UpdateFunctionCode")
        if body.get("ZipFile") is None:
            raise invalid("ZipFile is required: this emulator takes ZIP packages only")
        code_dir, sha, size = await self.registry.unpack(body["ZipFile"])
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
