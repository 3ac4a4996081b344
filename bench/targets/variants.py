"""Memory variants of one Lambda function: one published version and one ``mem-<MB>`` alias each.

This is the one boto3 code path for the bundled emulator, moto and real AWS; only the
client's ``endpoint_url`` differs (bench/awsclient.py makes it). A variant is prepared by
setting the memory on $LATEST, waiting for the update, publishing a version (which freezes
that memory) and pointing the alias ``mem-<MB>`` at it. The deployer records what it
created so that teardown removes exactly that, and never a function that existed before.
Given a Journal (bench/targets/journal.py), it also writes each resource there before the call
that creates it, so that ``lambench teardown`` can finish the job after a crash.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from bench.awsfacts import lambda_log_group
from bench.targets.journal import Journal
from bench.targets.package import code_sha256, zip_folder
from bench.targets.spec import FunctionSpec, validate_memory, validate_memory_sizes

ALIAS_PREFIX = "mem-"

# Delay=1 suits both: the emulator and moto settle at once, AWS within a few seconds.
# 300 attempts is botocore's own ceiling for these waiters (about five minutes).
WAITER_CONFIG = {"Delay": 1, "MaxAttempts": 300}
# How long a new execution role may take to reach Lambda: AWS documents "a few seconds"; 60 s here.
ROLE_READY_ATTEMPTS = 30
ROLE_READY_DELAY_S = 2.0


class DeployError(Exception):
    """The service did something that leaves a variant unusable (not bad user input)."""


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


def _log_group_exists(logs_client: Any, name: str) -> bool:
    groups = logs_client.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return any(group["logGroupName"] == name for group in groups)


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _is_not_found(error: ClientError) -> bool:
    return _error_code(error) == "ResourceNotFoundException"


class VariantDeployer:
    """Prepares and removes memory variants through one boto3 Lambda control-plane client.

    Make the client with ``awsclient.client("lambda", endpoint, region, awsclient.control_plane_config())``.
    """

    def __init__(
        self,
        lambda_client: Any,
        waiter_config: dict[str, int] | None = None,
        journal: Journal | None = None,
        logs_client: Any = None,
        version_tag: str = "",
    ) -> None:
        """``logs_client``: with a journal, the function's log group is journaled when this deployer
        creates the function and the group does not exist yet (invokes create it; it outlives the
        function). ``version_tag`` goes into each published version's Description (a run id):
        unique, so that teardown can find a version whose number it never learnt."""
        self._client = lambda_client
        self._waiter_config = dict(waiter_config or WAITER_CONFIG)
        self._created: dict[str, Created] = {}
        self._journal = journal
        self._logs = logs_client
        self._version_tag = version_tag

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
        if self._journal is not None:
            self._journal.create("function", name=spec.name)
            group = lambda_log_group(spec.name)
            if self._logs is not None and not _log_group_exists(self._logs, group):
                self._journal.create("log_group", name=group)
        try:
            response = self._create_when_role_is_ready(
                FunctionName=spec.name,
                Code={"ZipFile": zip_bytes},
                Architectures=[spec.architecture],
                Publish=False,
                **self._shared_config(spec),
            )
        except ClientError as error:
            if _error_code(error) in ("ResourceConflictException", "ConflictException"):
                if self._journal is not None:  # someone else's function now: never delete it
                    self._journal.write(op="abandon", kind="function", name=spec.name)
                return None
            raise
        self._record(spec.name).function = True
        self._wait("function_active_v2", spec.name)
        return response["FunctionArn"]

    def _create_when_role_is_ready(self, **kwargs: Any) -> dict[str, Any]:
        # A role created a moment ago is not yet visible to Lambda (IAM is eventually consistent):
        # CreateFunction says it "cannot be assumed" for some seconds. Retry that, and only that.
        for _attempt in range(ROLE_READY_ATTEMPTS - 1):
            try:
                return self._client.create_function(**kwargs)
            except ClientError as error:
                message = str(error.response.get("Error", {}).get("Message", ""))
                if _error_code(error) != "InvalidParameterValueException" or "assume" not in message:
                    raise
            time.sleep(ROLE_READY_DELAY_S)
        return self._client.create_function(**kwargs)

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
        response = self._client.update_function_configuration(FunctionName=spec.name, **self._shared_config(spec))
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
        description = " ".join(filter(None, ("lambench", self._version_tag, alias_name(memory_mb))))
        if self._journal is not None:
            self._journal.create("version", function=spec.name, description=description)
        published = self._client.publish_version(FunctionName=spec.name, Description=description)
        version = published["Version"]
        if self._journal is not None:
            self._journal.write(op="created", kind="version", function=spec.name, description=description,
                                version=version)  # fmt: skip
        _check_published(spec.name, published, memory_mb)
        alias_arn = self._point_alias(spec.name, alias_name(memory_mb), version)
        return Variant(name=alias_name(memory_mb), memory_mb=memory_mb, version=version, alias_arn=alias_arn)

    def deploy_variants(self, spec: FunctionSpec, memory_sizes: Sequence[int]) -> list[Variant]:
        """Create or update the function, then deploy each memory size in the given order.

        All sizes are checked before any change.
        """
        sizes = validate_memory_sizes(memory_sizes)
        self.ensure_function(spec)
        return [self.deploy_variant(spec, memory_mb) for memory_mb in sizes]

    def _point_alias(self, function_name: str, name: str, version: str) -> str:
        # Asking first rather than catching the create conflict: moto and AWS name that error differently.
        existing = self._alias(function_name, name)
        if existing is not None:
            if self._journal is not None:
                # Someone's alias (a `lambench deploy`'s): put back at teardown, before the version it
                # now points at is deleted (Lambda keeps a version an alias points at).
                self._journal.write(op="change", kind="alias", function=function_name, name=name,
                                    before=existing["FunctionVersion"])  # fmt: skip
            response = self._client.update_alias(FunctionName=function_name, Name=name, FunctionVersion=version)
            return response["AliasArn"]
        if self._journal is not None:
            self._journal.create("alias", function=function_name, name=name)
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

    def _alias(self, function_name: str, name: str) -> dict[str, Any] | None:
        try:
            return self._client.get_alias(FunctionName=function_name, Name=name)
        except ClientError as error:
            if _is_not_found(error):
                return None
            raise

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
