"""Functions, versions and aliases as the Lambda control plane keeps them, and their code on disk.

Plain data, no I/O besides unpacking code: the HTTP layer (control.py) turns requests into
calls here, and the invoke path resolves a name and qualifier to one frozen FunctionVersion.

Code is held to Lambda's limits before a byte of it is written: the zip's central directory
must declare at most 250 MB unzipped, and no entry may write more than it declared (a zip bomb
that lies about its sizes stops at the lie). Extraction runs in a worker thread, so other
functions' invokes go on meanwhile, and into a folder of its own that is renamed into place
only when complete: a zip that fails half-way leaves nothing behind, so it fails every time.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import io
import os
import random
import shutil
import time
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..awsfacts import UNZIPPED_LIMIT_BYTES, lambda_log_group
from .apierrors import conflict, invalid, not_found, unparsable

REGION = "us-east-1"
ACCOUNT = "123456789012"
LATEST = "$LATEST"
# The error's wording as AWS returns it ("Unzipped size must be smaller than 262144000 bytes").
UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."
COPY_CHUNK = 1024 * 1024
CODE_DIR_MODE = CODE_EXEC_MODE = 0o755
CODE_FILE_MODE = 0o644


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
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": lambda_log_group(self.name)},
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
            # The newest version still there (it may have been deleted): numbers are never reused.
            newest = self.versions[max(self.versions, key=int)]
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


def decode_zip(zip_b64: object) -> tuple[bytes, bytes]:
    """The zip's bytes and their SHA-256, from the base64 string the API carries."""
    if not isinstance(zip_b64, str):
        raise unparsable("ZipFile must be a base64-encoded string")
    try:
        data = base64.b64decode(zip_b64, validate=True)
    except (binascii.Error, ValueError):
        raise unparsable("ZipFile is not valid base64") from None
    return data, hashlib.sha256(data).digest()


def _member_path(root: Path, name: str) -> Path | None:
    """Where an entry goes: zipfile's own rule (no absolute paths, no '..'), so never outside root."""
    parts = [part for part in name.split("/") if part not in ("", ".", "..")]
    return root.joinpath(*parts) if parts else None


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> None:
    written = 0
    with archive.open(info) as source, open(path, "wb") as sink:
        while chunk := source.read(COPY_CHUNK):
            written += len(chunk)
            # zipfile stops at the declared size itself; this keeps the promise if it ever did not.
            if written > info.file_size:
                raise zipfile.BadZipFile(f"{info.filename} holds more than the {info.file_size} bytes it declares")
            sink.write(chunk)
    # Owned by the emulator (root, where environments run as uids of their own, sandbox.py) and
    # writable by it alone: readable by anyone, executable if the zip says so (a custom
    # runtime's bootstrap), whatever modes or umask the zip and the host bring.
    path.chmod(CODE_EXEC_MODE if (info.external_attr >> 16) & 0o111 else CODE_FILE_MODE)


def _extract(data: bytes, target: Path) -> None:
    """Check the declared unzipped size, then unzip into ``target`` (which must not exist yet)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        if sum(info.file_size for info in members) > UNZIPPED_LIMIT_BYTES:
            raise invalid(f"Unzipped size must be smaller than {UNZIPPED_LIMIT_BYTES} bytes")
        target.mkdir()
        for info in members:
            path = _member_path(target, info.filename)
            if path is None:
                continue
            if info.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            _copy_member(archive, info, path)
    for folder, _, _ in os.walk(target):
        os.chmod(folder, CODE_DIR_MODE)


# What a corrupt or hostile zip raises while it is read: bad headers or CRCs, truncated or
# corrupt deflate data, encrypted or unsupported entries, names the filesystem refuses.
UNZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError, OSError)


def _extract_into_place(data: bytes, target: Path) -> None:
    """Unzip into a folder of this call's own, then rename it to ``target``; on failure, remove it."""
    partial = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        _extract(data, partial)
        try:
            os.rename(partial, target)
        except OSError:
            if not target.is_dir():
                raise
            # The same zip, uploaded at the same time, was unpacked first: use that copy.
    except UNZIP_ERRORS:
        raise invalid(UNZIP_FAILED) from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)


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

    async def unpack(self, zip_b64: object) -> tuple[Path, str, int]:
        """The folder holding this zip's code, its CodeSha256 and its CodeSize (zipped bytes).

        Decoding, hashing and unzipping run in a worker thread: a 250 MB package takes seconds
        to write, and the event loop serves every other function meanwhile.
        """
        data, digest = await asyncio.to_thread(decode_zip, zip_b64)
        target = self.root / "code" / digest.hex()[:16]
        if not target.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(_extract_into_place, data, target)
        return target, base64.b64encode(digest).decode(), len(data)

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
