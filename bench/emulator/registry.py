"""Functions, versions and aliases as the Lambda control plane keeps them.

Plain data, no I/O besides unpacking code: the HTTP layer (control.py) turns requests into
calls here, and the invoke path resolves a name and qualifier to one frozen FunctionVersion.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import random
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .apierrors import conflict, invalid, not_found

REGION = "us-east-1"
ACCOUNT = "123456789012"
LATEST = "$LATEST"


def function_arn(name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def split_function_name(raw: str) -> tuple[str, str | None]:
    """FunctionName may be a name, name:qualifier, a full ARN or a partial ARN."""
    if raw.startswith("arn:"):
        parts = raw.split(":")
        if len(parts) < 7:
            raise invalid(f"FunctionName {raw!r} is not a function ARN")
        return parts[6], (parts[7] if len(parts) > 7 else None)
    name, _, qualifier = raw.partition(":")
    return name, (qualifier or None)


def _timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())


@dataclass(frozen=True)
class FunctionVersion:
    """One frozen configuration of a function: $LATEST as it is now, or a published version."""

    name: str
    version: str
    runtime: str
    handler: str
    role: str
    memory_mb: int
    timeout_s: int
    environment: dict[str, str]
    architecture: str
    code_dir: Path
    code_sha256: str
    code_size: int
    description: str = ""
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    last_modified: str = field(default_factory=_timestamp)

    @property
    def arn(self) -> str:
        return function_arn(self.name, self.version if self.version != LATEST else None)

    def same_deployment(self, other: FunctionVersion) -> bool:
        """Whether publishing would change nothing (AWS then returns the existing version)."""
        keys = ("runtime", "handler", "memory_mb", "timeout_s", "environment", "architecture", "code_sha256")
        return all(getattr(self, k) == getattr(other, k) for k in keys)

    def describe(self) -> dict:
        """The FunctionConfiguration shape of the Lambda API."""
        return {
            "FunctionName": self.name,
            "FunctionArn": function_arn(self.name, self.version),
            "Runtime": self.runtime,
            "Role": self.role,
            "Handler": self.handler,
            "CodeSize": self.code_size,
            "Description": self.description,
            "Timeout": self.timeout_s,
            "MemorySize": self.memory_mb,
            "LastModified": self.last_modified,
            "CodeSha256": self.code_sha256,
            "Version": self.version,
            "Environment": {"Variables": dict(self.environment)},
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": self.revision_id,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": [self.architecture],
            "EphemeralStorage": {"Size": 512},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{self.name}"},
        }


@dataclass
class Alias:
    name: str
    function_version: str
    description: str = ""
    # RoutingConfig.AdditionalVersionWeights: another version and the share of traffic it gets.
    additional_weights: dict[str, float] = field(default_factory=dict)
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def pick_version(self, rng: random.Random) -> str:
        draw = rng.random()
        for version, weight in self.additional_weights.items():
            if draw < weight:
                return version
            draw -= weight
        return self.function_version

    def describe(self, function_name: str) -> dict:
        described: dict[str, Any] = {
            "AliasArn": function_arn(function_name, self.name),
            "Name": self.name,
            "FunctionVersion": self.function_version,
            "Description": self.description,
            "RevisionId": self.revision_id,
        }
        if self.additional_weights:
            described["RoutingConfig"] = {"AdditionalVersionWeights": dict(self.additional_weights)}
        return described


@dataclass
class Function:
    latest: FunctionVersion
    versions: dict[str, FunctionVersion] = field(default_factory=dict)
    aliases: dict[str, Alias] = field(default_factory=dict)
    next_version: int = 1

    @property
    def name(self) -> str:
        return self.latest.name

    def version(self, number: str) -> FunctionVersion:
        if number == LATEST:
            return self.latest
        if number in self.versions:
            return self.versions[number]
        raise not_found(f"Function not found: {function_arn(self.name, number)}")

    def resolve(self, qualifier: str | None) -> FunctionVersion:
        """The version a qualifier names (an alias's primary version)."""
        if qualifier in self.aliases:
            return self.version(self.aliases[qualifier].function_version)
        return self.version(qualifier or LATEST)

    def route(self, qualifier: str | None, rng: random.Random) -> FunctionVersion:
        """The version an invoke runs: a weighted alias splits traffic between two versions."""
        if qualifier in self.aliases:
            return self.version(self.aliases[qualifier].pick_version(rng))
        return self.resolve(qualifier)

    def publish(self, description: str = "") -> FunctionVersion:
        if self.versions:
            newest = self.versions[str(self.next_version - 1)]
            if newest.same_deployment(self.latest):
                return newest
        version = dataclasses.replace(
            self.latest,
            version=str(self.next_version),
            description=description or self.latest.description,
            revision_id=str(uuid.uuid4()),
            last_modified=_timestamp(),
        )
        self.versions[version.version] = version
        self.next_version += 1
        return version


def _extract(data: bytes, target: Path) -> None:
    """Unzip keeping each file's Unix mode: a custom runtime's bootstrap must stay executable."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            path = Path(archive.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                path.chmod(mode)


class Registry:
    """All functions of this emulator. Code is unpacked once per distinct zip under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.functions: dict[str, Function] = {}

    def get(self, name: str) -> Function:
        try:
            return self.functions[name]
        except KeyError:
            raise not_found(f"Function not found: {function_arn(name)}") from None

    def unpack(self, zip_b64: str) -> tuple[Path, str, int]:
        data = base64.b64decode(zip_b64)
        digest = hashlib.sha256(data).digest()
        sha = base64.b64encode(digest).decode()
        target = self.root / "code" / digest.hex()[:16]
        if not target.exists():
            try:
                _extract(data, target)
            except zipfile.BadZipFile:
                raise invalid(
                    "Could not unzip uploaded file. Please check your file, then try to upload again."
                ) from None
        return target, sha, len(data)

    def create(self, version: FunctionVersion) -> Function:
        if version.name in self.functions:
            raise conflict(f"Function already exist: {version.name}")
        function = Function(latest=version)
        self.functions[version.name] = function
        return function

    def delete(self, name: str) -> Function:
        function = self.get(name)
        del self.functions[name]
        return function
