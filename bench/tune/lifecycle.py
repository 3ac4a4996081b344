"""What tuning changes on the function, and how it is put back: versions and $LATEST's configuration.

Like APLT (utils.js createPowerConfiguration), each memory size is a published version: set
the memory on $LATEST, wait for the update, publish. onlyColdStarts needs a fresh execution
environment per sample, which only a new version gives; APLT forces one by changing the
function's Description. The emulator (like AWS for a publish with nothing changed) returns the
existing version when only the Description differs, so a marker environment variable
(``LAMBENCH_TUNE_SAMPLE``) is the configuration change here, on every target alike.

Versions are invoked by number: no aliases are needed, so none are left behind. ``restore``
deletes every version this session published (never one that existed before: a publish
that changes nothing returns an old version, which is not ours) and puts $LATEST's memory
and environment back. It runs on success, failure and Ctrl-C (``TuneSession`` is a context
manager) and is safe to call twice; a second Ctrl-C during it is held off until it is done.
autoOptimize is APLT's optimizer (optimizer.js): it runs after the restore, and what it sets
($LATEST's memory, and the autoOptimizeAlias with its version) is meant to stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from bench.interrupts import holding_interrupts

MARKER = "LAMBENCH_TUNE_SAMPLE"
WAITER = {"Delay": 1, "MaxAttempts": 300}


def arn_region(arn: object) -> str | None:
    """The region field of an ARN (arn:PARTITION:SERVICE:REGION:...); None when there is none."""
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[3] if len(parts) > 3 and parts[0] == "arn" and parts[3] else None


@dataclass
class Snapshot:
    """$LATEST before tuning: what restore puts back, and the versions that are not ours."""

    memory_mb: int
    environment: dict[str, str]
    versions: set[str]
    architecture: str = "x86_64"
    region: str | None = None  # from the function's ARN (arn:aws:lambda:REGION:...): whose prices


@dataclass
class TuneSession:
    """Publishes one version per memory size (or per sample) and removes them all afterwards."""

    client: Any
    function: str
    snapshot: Snapshot | None = None
    created: list[str] = field(default_factory=list)
    changed: bool = False

    def __enter__(self) -> TuneSession:
        self.snapshot = self._take_snapshot()
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def _take_snapshot(self) -> Snapshot:
        config = self.client.get_function_configuration(FunctionName=self.function, Qualifier="$LATEST")
        environment = dict((config.get("Environment") or {}).get("Variables") or {})
        return Snapshot(
            memory_mb=int(config["MemorySize"]),
            environment=environment,
            versions=set(self.list_versions()),
            architecture=(config.get("Architectures") or ["x86_64"])[0],
            region=arn_region(config.get("FunctionArn")),
        )

    def list_versions(self) -> list[str]:
        versions: list[str] = []
        for page in self.client.get_paginator("list_versions_by_function").paginate(FunctionName=self.function):
            versions.extend(v["Version"] for v in page["Versions"])
        return versions

    def publish(self, memory_mb: int, marker: str | None = None) -> str:
        """A version with ``memory_mb`` (and, with ``marker``, a fresh one for a cold start); its number."""
        assert self.snapshot is not None, "use TuneSession as a context manager"
        environment = dict(self.snapshot.environment)
        if marker is not None:
            environment[MARKER] = marker
        self._wait()
        self.changed = True
        self.client.update_function_configuration(
            FunctionName=self.function, MemorySize=memory_mb, Environment={"Variables": environment}
        )
        self._wait()
        published = self.client.publish_version(FunctionName=self.function, Description=f"lambench tune {memory_mb} MB")
        version = str(published["Version"])
        if version not in self.snapshot.versions and version not in self.created:
            self.created.append(version)
        if int(published.get("MemorySize", memory_mb)) != memory_mb:
            raise RuntimeError(
                f"{self.function}: version {version} froze {published.get('MemorySize')} MB, not {memory_mb} MB; "
                "was the function changed while lambench tuned it?"
            )
        return version

    def retire(self, version: str) -> None:
        """Delete a version of ours now (a cold sample's: its environment goes with it)."""
        if version in self.created:
            self._delete_version(version)
            self.created.remove(version)

    def restore(self) -> None:
        """Delete our versions and put $LATEST's memory and environment back (idempotent)."""
        with holding_interrupts():
            for version in list(self.created):
                self._delete_version(version)
                self.created.remove(version)
            if self.changed and self.snapshot is not None:
                self._wait()
                self.client.update_function_configuration(
                    FunctionName=self.function,
                    MemorySize=self.snapshot.memory_mb,
                    Environment={"Variables": self.snapshot.environment},
                )
                self._wait()
                self.changed = False

    def auto_optimize(self, memory_mb: int, alias: str | None) -> str | None:
        """APLT's optimizer: $LATEST gets ``memory_mb``; with ``alias``, a version of it is published and
        the alias (created or updated) points there. Returns that version. Not undone: it is the point."""
        self._wait()
        self.client.update_function_configuration(FunctionName=self.function, MemorySize=memory_mb)
        self._wait()
        if self.snapshot is not None:
            self.snapshot.memory_mb = memory_mb  # a later restore must not undo it
        if alias is None:
            return None
        version = str(self.client.publish_version(FunctionName=self.function)["Version"])
        try:
            self.client.update_alias(FunctionName=self.function, Name=alias, FunctionVersion=version)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            self.client.create_alias(FunctionName=self.function, Name=alias, FunctionVersion=version)
        return version

    def _delete_version(self, version: str) -> None:
        try:
            self.client.delete_function(FunctionName=self.function, Qualifier=version)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise

    def _wait(self) -> None:
        self.client.get_waiter("function_updated_v2").wait(FunctionName=self.function, WaiterConfig=WAITER)
