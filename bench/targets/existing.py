"""Memory variants of a user's own function, without touching its code (``--function ARN``).

As aws-lambda-power-tuning does: for each memory size, set the memory on $LATEST, wait, publish
a version (which freezes it) and point a temporary alias ``mem-<MB>`` at it. Then $LATEST's
configuration is put back exactly as it was, before the load starts, so the user's $LATEST is
changed only while the versions are published. Memory is the one field lambench changes; it is
journaled (bench/targets/journal.py) before the first change, as are the versions and aliases,
and teardown removes those and nothing else: a publish that changed nothing returns one of the
user's own versions, which carries the user's Description, not ours, and so is never deleted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.errors import UserError
from bench.targets.journal import Journal
from bench.targets.spec import validate_memory_sizes
from bench.targets.variants import WAITER_CONFIG, DeployError, Variant, alias_name

_ARN = re.compile(r"^arn:(aws[a-z-]*):lambda:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):function:([A-Za-z0-9_-]{1,64})$")

# What lambench changes on $LATEST, and so what it journals and puts back.
CHANGED_FIELDS = ("MemorySize",)


@dataclass(frozen=True)
class FunctionArn:
    """An unqualified Lambda function ARN, split."""

    arn: str
    partition: str
    region: str
    account: str
    name: str


def parse_function_arn(text: str, where: str = "--function") -> FunctionArn:
    """``arn:aws:lambda:REGION:ACCOUNT:function:NAME``, or a UserError naming ``where``."""
    match = _ARN.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise UserError(
            f"{where} = {text!r}: must be a function ARN, arn:aws:lambda:REGION:ACCOUNT:function:NAME "
            "(no version or alias)"
        )
    partition, region, account, name = match.groups()
    return FunctionArn(text.strip(), partition, region, account, name)


class ExistingFunction:
    """Publishes one version and one temporary alias per memory size on a function lambench did not create."""

    def __init__(
        self, lambda_client: Any, journal: Journal, version_tag: str, waiter_config: dict[str, int] | None = None
    ) -> None:
        self._client = lambda_client
        self._journal = journal
        self._tag = version_tag
        self._waiter_config = dict(waiter_config or WAITER_CONFIG)

    def deploy_variants(self, name: str, memory_sizes: Sequence[int]) -> list[Variant]:
        """Every size's version and alias; $LATEST is put back before this returns, or raises."""
        sizes = validate_memory_sizes(memory_sizes)
        latest = self._client.get_function_configuration(FunctionName=name, Qualifier="$LATEST")
        self._refuse_taken_aliases(name, sizes)
        before = {key: latest[key] for key in CHANGED_FIELDS}
        self._journal.write(op="change", kind="latest_config", function=name, before=before)
        try:
            return [self._variant(name, memory_mb) for memory_mb in sizes]
        finally:
            self._restore(name, before)

    def _refuse_taken_aliases(self, name: str, sizes: list[int]) -> None:
        # Checked before any change: an alias of the user's own is never moved, nor deleted later.
        taken: set[str] = set()
        for page in self._client.get_paginator("list_aliases").paginate(FunctionName=name):
            taken.update(alias["Name"] for alias in page["Aliases"])
        clash = [alias_name(mb) for mb in sizes if alias_name(mb) in taken]
        if clash:
            raise UserError(
                f"function {name}: already has alias {', '.join(clash)}; lambench's temporary aliases "
                "need these names (delete them, or leave those sizes out of variants.memory_mb)"
            )

    def _variant(self, name: str, memory_mb: int) -> Variant:
        self._wait(name)
        self._client.update_function_configuration(FunctionName=name, MemorySize=memory_mb)
        self._wait(name)
        description = f"lambench {self._tag} {alias_name(memory_mb)}"
        self._journal.create("version", function=name, description=description)
        published = self._client.publish_version(FunctionName=name, Description=description)
        version = str(published["Version"])
        self._journal.write(op="created", kind="version", function=name, description=description, version=version)
        if published.get("MemorySize") != memory_mb:
            raise DeployError(
                f"function {name}: version {version} froze {published.get('MemorySize')} MB, expected "
                f"{memory_mb} MB; was the function changed while lambench published it?"
            )
        self._journal.create("alias", function=name, name=alias_name(memory_mb))
        alias = self._client.create_alias(
            FunctionName=name, Name=alias_name(memory_mb), FunctionVersion=version,
            Description=f"lambench {self._tag}: temporary, removed when the run ends",
        )  # fmt: skip
        return Variant(name=alias_name(memory_mb), memory_mb=memory_mb, version=version, alias_arn=alias["AliasArn"])

    def _restore(self, name: str, before: dict[str, Any]) -> None:
        self._wait(name)
        self._client.update_function_configuration(FunctionName=name, **before)
        self._wait(name)
        self._journal.write(op="restored", kind="latest_config", function=name)

    def _wait(self, name: str) -> None:
        self._client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=self._waiter_config)
