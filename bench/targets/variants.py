"""Memory variants of one Lambda function: one published version and one ``mem-<MB>`` alias each.

This is the one boto3 code path for the bundled emulator, moto and real AWS; only the
client's ``endpoint_url`` differs. A variant is prepared by setting the memory on
$LATEST, waiting for the update, publishing a version (which freezes that memory) and
pointing the alias ``mem-<MB>`` at it. The deployer records what it created so that
teardown removes exactly that, and never a function that existed before.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from botocore.exceptions import ClientError

from bench import awsfacts
from bench.errors import UserError

DEFAULT_ROLE = "arn:aws:iam::123456789012:role/lambench-execution"
ALIAS_PREFIX = "mem-"

# Delay=1 suits both: the emulator and moto settle at once, AWS within a few seconds.
# 300 attempts is botocore's own ceiling for these waiters (about five minutes).
WAITER_CONFIG = {"Delay": 1, "MaxAttempts": 300}

# The DOS epoch: the earliest timestamp a zip entry can hold, so no build clock leaks in.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = frozenset({".pyc"})


class DeployError(Exception):
    """The service did something that leaves a variant unusable (not bad user input)."""


@dataclass(frozen=True)
class FunctionSpec:
    """What to deploy: a source folder and the configuration every variant shares."""

    name: str
    source: Path
    handler: str = "app.lambda_handler"
    runtime: str = "python3.12"
    architecture: str = "x86_64"
    timeout_s: int = 30
    environment: dict[str, str] = field(default_factory=dict)
    role: str = DEFAULT_ROLE

    def __post_init__(self) -> None:
        if not self.name:
            raise UserError("function name: must not be empty")
        if self.architecture not in awsfacts.ARCHITECTURES:
            allowed = ", ".join(awsfacts.ARCHITECTURES)
            raise UserError(f"architecture {self.architecture!r}: allowed values are {allowed}")
        _check_timeout(self.timeout_s)
        # Copies, so a caller that later mutates its dict cannot change a spec in flight.
        object.__setattr__(self, "source", Path(self.source))
        object.__setattr__(self, "environment", {str(k): str(v) for k, v in self.environment.items()})


@dataclass(frozen=True)
class Variant:
    """One deployed memory size: the alias to invoke and the version it froze."""

    name: str
    memory_mb: int
    version: str
    alias_arn: str


@dataclass
class Created:
    """What one deployer created for one function, so that teardown removes exactly that."""

    function: bool = False
    aliases: list[str] = field(default_factory=list)


def alias_name(memory_mb: int) -> str:
    """The alias lambench uses for a memory size: ``mem-512``."""
    return f"{ALIAS_PREFIX}{memory_mb}"


def validate_memory(memory_mb: Any) -> int:
    """Return ``memory_mb`` if Lambda accepts it; else raise UserError saying what is allowed."""
    lo, hi = awsfacts.MEMORY_MIN_MB, awsfacts.MEMORY_MAX_MB
    # bool is an int subclass; True would otherwise pass as 1 MB and fail below with a worse message.
    if isinstance(memory_mb, bool) or not isinstance(memory_mb, int):
        raise UserError(f"memory size {memory_mb!r}: must be a whole number of MB from {lo} to {hi}")
    if not lo <= memory_mb <= hi:
        raise UserError(f"memory size {memory_mb} MB: Lambda allows {lo} to {hi} MB in 1 MB steps")
    return memory_mb


def _check_timeout(timeout_s: Any) -> None:
    lo, hi = awsfacts.TIMEOUT_MIN_S, awsfacts.TIMEOUT_MAX_S
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int) or not lo <= timeout_s <= hi:
        raise UserError(f"timeout {timeout_s!r}: must be a whole number of seconds from {lo} to {hi}")


def _validate_sizes(memory_sizes: Iterable[Any]) -> list[int]:
    sizes = [validate_memory(m) for m in memory_sizes]
    if not sizes:
        raise UserError("memory sizes: give at least one")
    duplicates = sorted({m for m in sizes if sizes.count(m) > 1})
    if duplicates:
        raise UserError(f"memory sizes: each size may appear once; repeated: {duplicates}")
    return sizes


# ----------------------------------------------------------------------------- packaging


def _is_packaged(relative: Path) -> bool:
    if any(part in _SKIPPED_DIRS for part in relative.parts):
        return False
    return relative.suffix not in _SKIPPED_SUFFIXES


def _zip_entry(relative: Path, path: Path) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(relative.as_posix(), date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    # Fixed modes rather than the file's own, which depend on the checkout's umask.
    mode = 0o755 if os.access(path, os.X_OK) else 0o644
    info.external_attr = (0o100000 | mode) << 16
    info.create_system = 3  # Unix, so Lambda honours the mode bits on every host
    return info


def zip_folder(folder: Path) -> bytes:
    """Zip a function's source folder byte-for-byte reproducibly.

    Entries are sorted, timestamps fixed and __pycache__/*.pyc left out, so the same
    sources give the same CodeSha256 and an unchanged function is not re-uploaded.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"function source {str(folder)!r}: not a folder")
    files = sorted((p.relative_to(folder), p) for p in folder.rglob("*") if p.is_file())
    files = [(relative, path) for relative, path in files if _is_packaged(relative)]
    if not files:
        raise UserError(f"function source {str(folder)!r}: the folder has no files to deploy")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for relative, path in files:
            archive.writestr(_zip_entry(relative, path), path.read_bytes(), compresslevel=6)
    return buffer.getvalue()


def code_sha256(zip_bytes: bytes) -> str:
    """The CodeSha256 Lambda reports for a zip: base64 of its SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode("ascii")


# ----------------------------------------------------------------------------- client


def make_lambda_client(endpoint_url: str | None = None, region_name: str | None = None) -> Any:
    """A boto3 Lambda client; ``endpoint_url`` picks the emulator or moto, None means AWS."""
    from botocore.config import Config

    from .. import awsclient

    config = Config(retries={"mode": "standard", "max_attempts": 5})
    return awsclient.client("lambda", endpoint_url, region_name or "us-east-1", config)


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _is_not_found(error: ClientError) -> bool:
    return _error_code(error) == "ResourceNotFoundException"


# ----------------------------------------------------------------------------- deployer


class VariantDeployer:
    """Prepares and removes memory variants through one boto3 Lambda client."""

    def __init__(self, lambda_client: Any, waiter_config: dict[str, int] | None = None) -> None:
        self._client = lambda_client
        self._waiter_config = dict(waiter_config or WAITER_CONFIG)
        self._created: dict[str, Created] = {}

    def created_functions(self) -> list[str]:
        """The functions this deployer has touched (created, or given aliases), for teardown."""
        return list(self._created)

    def created(self, function_name: str) -> Created:
        """A copy of what this deployer created for ``function_name`` (to persist or inspect)."""
        record = self._created.get(function_name, Created())
        return Created(function=record.function, aliases=list(record.aliases))

    # -- function

    def ensure_function(self, spec: FunctionSpec) -> str:
        """Create the function from ``spec.source``, or bring an existing one up to date; return its ARN."""
        zip_bytes = zip_folder(spec.source)
        existing = self._get_function(spec.name)
        if existing is None:
            arn = self._create_function(spec, zip_bytes)
            if arn is not None:
                return arn
            existing = self._get_function(spec.name)  # lost a creation race: someone else's now
            if existing is None:
                raise DeployError(f"function {spec.name}: creation conflicted but the function is not there")
        return self._update_function(spec, zip_bytes, existing["Configuration"])

    def _get_function(self, name: str) -> dict[str, Any] | None:
        try:
            return self._client.get_function(FunctionName=name)
        except ClientError as error:
            if _is_not_found(error):
                return None
            raise

    def _create_function(self, spec: FunctionSpec, zip_bytes: bytes) -> str | None:
        try:
            response = self._client.create_function(
                FunctionName=spec.name,
                Code={"ZipFile": zip_bytes},
                Architectures=[spec.architecture],
                Publish=False,
                **self._shared_config(spec),
            )
        except ClientError as error:
            if _error_code(error) in ("ResourceConflictException", "ConflictException"):
                return None
            raise
        self._record(spec.name).function = True
        self._wait("function_active_v2", spec.name)
        return response["FunctionArn"]

    def _update_function(self, spec: FunctionSpec, zip_bytes: bytes, current: dict[str, Any]) -> str:
        # Uploading identical code still costs an update cycle on AWS; skip it when nothing changed.
        same_code = current.get("CodeSha256") == code_sha256(zip_bytes)
        same_arch = current.get("Architectures", ["x86_64"]) == [spec.architecture]
        if not (same_code and same_arch):
            self._wait("function_updated_v2", spec.name)
            self._client.update_function_code(
                FunctionName=spec.name, ZipFile=zip_bytes, Architectures=[spec.architecture]
            )
        self._wait("function_updated_v2", spec.name)
        response = self._client.update_function_configuration(
            FunctionName=spec.name, **self._shared_config(spec)
        )
        self._wait("function_updated_v2", spec.name)
        return response["FunctionArn"]

    @staticmethod
    def _shared_config(spec: FunctionSpec) -> dict[str, Any]:
        return {
            "Role": spec.role,
            "Handler": spec.handler,
            "Runtime": spec.runtime,
            "Timeout": spec.timeout_s,
            "Environment": {"Variables": dict(spec.environment)},
        }

    # -- variants

    def deploy_variant(self, spec: FunctionSpec, memory_mb: int) -> Variant:
        """Set the memory, publish a version that freezes it and point ``mem-<MB>`` at it."""
        validate_memory(memory_mb)
        self._client.update_function_configuration(
            FunctionName=spec.name,
            MemorySize=memory_mb,
            Timeout=spec.timeout_s,
            Environment={"Variables": dict(spec.environment)},
        )
        self._wait("function_updated_v2", spec.name)
        published = self._client.publish_version(
            FunctionName=spec.name, Description=f"lambench {alias_name(memory_mb)}"
        )
        _check_published(spec.name, published, memory_mb)
        version = published["Version"]
        alias_arn = self._point_alias(spec.name, alias_name(memory_mb), version)
        return Variant(name=alias_name(memory_mb), memory_mb=memory_mb, version=version, alias_arn=alias_arn)

    def deploy_variants(self, spec: FunctionSpec, memory_sizes: Iterable[int]) -> list[Variant]:
        """Create or update the function, then deploy each memory size in the given order.

        All sizes are checked before any change.
        """
        sizes = _validate_sizes(memory_sizes)
        self.ensure_function(spec)
        return [self.deploy_variant(spec, memory_mb) for memory_mb in sizes]

    def _point_alias(self, function_name: str, name: str, version: str) -> str:
        # Asking first rather than catching the create conflict: moto and AWS name that error differently.
        if self._alias_exists(function_name, name):
            response = self._client.update_alias(
                FunctionName=function_name, Name=name, FunctionVersion=version
            )
            return response["AliasArn"]
        response = self._client.create_alias(
            FunctionName=function_name,
            Name=name,
            FunctionVersion=version,
            Description="lambench memory variant",
        )
        record = self._record(function_name)
        if name not in record.aliases:
            record.aliases.append(name)
        return response["AliasArn"]

    def _alias_exists(self, function_name: str, name: str) -> bool:
        try:
            self._client.get_alias(FunctionName=function_name, Name=name)
        except ClientError as error:
            if _is_not_found(error):
                return False
            raise
        return True

    # -- teardown

    def teardown(self, function_name: str, created: Created | None = None) -> None:
        """Delete what was created: the aliases, then the function if it did not exist before.

        ``created`` defaults to this deployer's own record; pass a saved one to clean up
        after another process. Safe to call twice; anything already gone is skipped.
        """
        record = created if created is not None else self._created.get(function_name, Created())
        # Aliases go first, one by one, so a backend that keeps them past DeleteFunction is clean too.
        for name in record.aliases:
            self._delete_ignoring_missing(self._client.delete_alias, FunctionName=function_name, Name=name)
        if record.function:
            self._delete_ignoring_missing(self._client.delete_function, FunctionName=function_name)
        if created is None:
            self._created.pop(function_name, None)

    @staticmethod
    def _delete_ignoring_missing(call: Any, **kwargs: Any) -> None:
        try:
            call(**kwargs)
        except ClientError as error:
            if not _is_not_found(error):
                raise

    # -- helpers

    def _record(self, function_name: str) -> Created:
        return self._created.setdefault(function_name, Created())

    def _wait(self, waiter_name: str, function_name: str) -> None:
        waiter = self._client.get_waiter(waiter_name)
        waiter.wait(FunctionName=function_name, WaiterConfig=self._waiter_config)


def _check_published(function_name: str, published: dict[str, Any], memory_mb: int) -> None:
    # Someone else changing $LATEST between our update and the publish would freeze the wrong size.
    frozen = published.get("MemorySize")
    if frozen != memory_mb:
        raise DeployError(
            f"function {function_name}: version {published.get('Version')} froze {frozen} MB, "
            f"expected {memory_mb} MB; was the function changed while lambench deployed it?"
        )
