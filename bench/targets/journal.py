"""The journal of what a run (or deploy) creates on AWS, and the teardown that reads it.

Every resource is written to ``RUN_DIR/journal.jsonl`` (one JSON object a line, flushed and
fsynced) BEFORE the call that creates it, so that a process killed at any point leaves a
journal that names everything it may have created. ``lambench teardown RUN_DIR`` (and a run on
its way out, whether it finished, failed or was interrupted) removes exactly what the journal
lists and nothing else: a resource that is already gone is skipped, so teardown is idempotent
and survives someone else's deletions.

Lines (``op`` and ``kind``):
- ``target``: the first line, the region and each service's endpoint URL as the run resolved
  them (AWS_ENDPOINT_URL included), so that teardown talks to where the run went whatever its
  own environment says; ``account``: the account STS named, which teardown checks;
- ``create`` role / role_policy / function / log_group / version / alias / permission /
  http_api / rest_api: about to be created; a version is named by the unique Description it is
  published with, an API by its unique name (the number or id is unknown before the call;
  ``created`` lines add it once known, for the reader only: a publish that changed nothing
  returns an older version, not ours, with another Description). An API's integrations, routes,
  deployments and stages go with it, so they are not journaled one by one;
- ``abandon`` function: creation conflicted, the function is someone else's: never delete it;
- ``change`` latest_config: the fields of a user's $LATEST, as they were, before lambench
  changed them; ``restored`` latest_config once they are back;
- ``change`` alias: an alias that existed (a ``lambench deploy``'s, under the sample) and that
  the run pointed at its own version: the version it pointed at before (``before``); teardown
  points it back, before deleting the run's versions; ``restored`` alias once it is;
- ``change`` apigw_account: API Gateway's account-wide CloudWatch Logs role (REST API access
  logs need one) as it was (``before``) and as lambench set it (``after``); teardown puts it back
  only if it is still lambench's; ``restored`` apigw_account once it is;
- ``teardown``: everything listed above is gone.

Teardown's order: permissions (they name the APIs and aliases), APIs, API Gateway's account
setting (it names a role), aliases (created ones removed, changed ones pointed back), versions
(aliases point at them), $LATEST's configuration,
functions, log groups, role policies, roles (a role in use is deleted after its user).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from bench.errors import UserError
from bench.interrupts import holding_interrupts

JOURNAL_NAME = "journal.jsonl"
NOT_FOUND = {"ResourceNotFoundException", "NoSuchEntity", "NoSuchEntityException", "NotFoundException"}


class Journal:
    """Appends one line per intent; each line is on disk before the call it announces."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def start(cls, run_dir: Path, region: str, endpoints: dict[str, str]) -> Journal:
        journal = cls(run_dir / JOURNAL_NAME)
        if not journal.path.exists():
            journal.write(op="target", region=region, endpoints=endpoints)
        return journal

    def write(self, **entry: Any) -> None:
        line = json.dumps(entry, sort_keys=True) + "\n"
        # O_APPEND and one write per line: a line is whole or absent, even if we are killed mid-run.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def create(self, kind: str, **names: Any) -> None:
        self.write(op="create", kind=kind, **names)


@dataclass
class Plan:
    """What a journal says is ours, grouped in teardown's order."""

    region: str = "us-east-1"
    endpoints: dict[str, str] = field(default_factory=dict)
    account: str | None = None
    permissions: list[tuple[str, str, str]] = field(default_factory=list)  # (function, qualifier, sid)
    http_apis: list[str] = field(default_factory=list)  # unique names
    rest_apis: list[str] = field(default_factory=list)
    apigw_account: dict[str, str] | None = None  # {"before": role ARN or "", "after": ours}
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (function, alias)
    alias_changes: dict[tuple[str, str], str] = field(default_factory=dict)  # (function, alias) -> version before
    versions: list[tuple[str, str]] = field(default_factory=list)  # (function, description)
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)  # function -> fields before
    functions: list[str] = field(default_factory=list)
    log_groups: list[str] = field(default_factory=list)
    role_policies: list[tuple[str, str]] = field(default_factory=list)  # (role, policy ARN)
    roles: list[str] = field(default_factory=list)
    done: bool = False

    def empty(self) -> bool:
        return not any(
            (self.permissions, self.http_apis, self.rest_apis, self.apigw_account, self.aliases, self.alias_changes,
             self.versions, self.latest, self.functions, self.log_groups, self.role_policies, self.roles)
        )  # fmt: skip


def read_plan(path: Path) -> Plan:
    """The journal at ``path`` as a Plan; a line cut short by a kill is the last, and is skipped."""
    if not path.is_file():
        raise UserError(f"{path}: no journal here (give the run folder of an AWS run, e.g. reports/<run-id>)")
    plan = Plan()
    abandoned: set[str] = set()
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            entry = json.loads(text)
        except ValueError:
            continue  # only the last line can be torn (one write per line)
        if not isinstance(entry, dict):
            raise UserError(f"{path}:{number}: not a journal line")
        _apply(plan, entry, abandoned)
    plan.functions = [f for f in plan.functions if f not in abandoned]
    return plan


def _apply(plan: Plan, entry: dict[str, Any], abandoned: set[str]) -> None:
    op, kind = entry.get("op"), entry.get("kind")
    if op == "target":
        plan.region, plan.endpoints = entry["region"], dict(entry.get("endpoints") or {})
    elif op == "account":
        plan.account = entry["account"]
    elif op == "teardown":
        plan.done = True
    elif op == "abandon" and kind == "function":
        abandoned.add(entry["name"])
    elif op == "change" and kind == "latest_config":
        plan.latest.setdefault(entry["function"], entry["before"])  # the first one is the original
    elif op == "restored" and kind == "latest_config":
        plan.latest.pop(entry["function"], None)
    elif op == "change" and kind == "alias":
        plan.alias_changes.setdefault((entry["function"], entry["name"]), entry["before"])  # the first: the original
    elif op == "restored" and kind == "alias":
        plan.alias_changes.pop((entry["function"], entry["name"]), None)
    elif op == "change" and kind == "apigw_account":
        if plan.apigw_account is None:  # the first one is the original
            plan.apigw_account = {"before": entry["before"], "after": entry["after"]}
    elif op == "restored" and kind == "apigw_account":
        plan.apigw_account = None
    elif op == "create":
        plan.done = False
        _add_created(plan, kind, entry)


def _add_created(plan: Plan, kind: Any, entry: dict[str, Any]) -> None:
    targets: dict[str, tuple[list[Any], Any]] = {
        "permission": (plan.permissions, (entry.get("function"), entry.get("qualifier"), entry.get("statement_id"))),
        "http_api": (plan.http_apis, entry.get("name")),
        "rest_api": (plan.rest_apis, entry.get("name")),
        "alias": (plan.aliases, (entry.get("function"), entry.get("name"))),
        "version": (plan.versions, (entry.get("function"), entry.get("description"))),
        "function": (plan.functions, entry.get("name")),
        "log_group": (plan.log_groups, entry.get("name")),
        "role_policy": (plan.role_policies, (entry.get("role"), entry.get("policy_arn"))),
        "role": (plan.roles, entry.get("name")),
    }
    if kind not in targets:
        raise UserError(f"journal: unknown resource kind {kind!r} (written by a newer lambench?)")
    items, item = targets[kind]
    if item not in items:
        items.append(item)


@dataclass(frozen=True)
class Clients:
    """The control-plane clients teardown needs (made by bench/awsclient.py).

    The API Gateway clients are None for a journal with no APIs (a run's, or one written before
    lambench made APIs): such a journal names no endpoint for them.
    """

    lambda_: Any
    logs: Any
    iam: Any
    apigateway: Any = None  # REST APIs
    apigatewayv2: Any = None  # HTTP APIs


Report = Callable[[str], None]


def teardown(journal: Journal, clients: Clients, report: Report = lambda _line: None) -> Plan:
    """Remove what the journal lists, in a safe order; return the plan that was carried out.

    A second Ctrl-C while it runs is held off until it is done: half a teardown is what the
    journal is for, but a finished one is better.
    """
    plan = read_plan(journal.path)
    if plan.empty():
        return plan
    with holding_interrupts():
        _teardown_gateways(plan, clients, journal, report)
        for function, alias in plan.aliases:
            _delete(
                report, f"alias {function}:{alias}", clients.lambda_.delete_alias, FunctionName=function, Name=alias
            )
        for (function, alias), version in plan.alias_changes.items():
            _restore_alias(clients.lambda_, function, alias, version, report)
            journal.write(op="restored", kind="alias", function=function, name=alias)
        for function, description in plan.versions:
            for version in _versions_described(clients.lambda_, function, description):
                _delete(report, f"version {function}:{version}", clients.lambda_.delete_function,
                        FunctionName=function, Qualifier=version)  # fmt: skip
        for function, before in plan.latest.items():
            _restore_latest(clients.lambda_, function, before, report)
            journal.write(op="restored", kind="latest_config", function=function)
        for function in plan.functions:
            _delete(report, f"function {function}", clients.lambda_.delete_function, FunctionName=function)
        for group in plan.log_groups:
            _delete(report, f"log group {group}", clients.logs.delete_log_group, logGroupName=group)
        for role, policy in plan.role_policies:
            _delete(report, f"policy {policy} of role {role}", clients.iam.detach_role_policy,
                    RoleName=role, PolicyArn=policy)  # fmt: skip
        for role in plan.roles:
            _delete(report, f"role {role}", clients.iam.delete_role, RoleName=role)
        journal.write(op="teardown")
    return plan


def _teardown_gateways(plan: Plan, clients: Clients, journal: Journal, report: Report) -> None:
    for function, qualifier, sid in plan.permissions:
        _delete(report, f"permission {sid} of {function}:{qualifier}", clients.lambda_.remove_permission,
                FunctionName=function, Qualifier=qualifier, StatementId=sid)  # fmt: skip
    if (plan.http_apis or plan.rest_apis or plan.apigw_account) and clients.apigateway is None:
        raise UserError(f"{journal.path}: it lists API Gateway resources but names no API Gateway endpoint")
    for name in plan.http_apis:
        for api_id in _http_apis_named(clients.apigatewayv2, name):
            _delete(report, f"HTTP API {name} ({api_id}) and its stages", clients.apigatewayv2.delete_api,
                    ApiId=api_id)  # fmt: skip
    for name in plan.rest_apis:
        for api_id in _rest_apis_named(clients.apigateway, name):
            _delete(report, f"REST API {name} ({api_id}) and its stages", clients.apigateway.delete_rest_api,
                    restApiId=api_id)  # fmt: skip
    if plan.apigw_account is not None:
        _restore_apigw_account(clients.apigateway, plan.apigw_account, report)
        journal.write(op="restored", kind="apigw_account")


def _http_apis_named(apigatewayv2: Any, name: str) -> list[str]:
    found: list[str] = []
    token: str | None = None
    while True:  # botocore has no paginator for GetApis
        page = apigatewayv2.get_apis(**({"NextToken": token} if token else {}))
        found.extend(api["ApiId"] for api in page.get("Items", []) if api.get("Name") == name)
        token = page.get("NextToken")
        if not token:
            return found


def _rest_apis_named(apigateway: Any, name: str) -> list[str]:
    found: list[str] = []
    for page in apigateway.get_paginator("get_rest_apis").paginate():
        found.extend(api["id"] for api in page.get("items", []) if api.get("name") == name)
    return found


def _restore_apigw_account(apigateway: Any, change: dict[str, str], report: Report) -> None:
    current = apigateway.get_account().get("cloudwatchRoleArn") or ""
    if current != change["after"]:
        # Someone set another role since: it is theirs now, and putting ours back would undo it.
        report(f"kept: API Gateway's CloudWatch Logs role, changed since to {current or 'none'}")
        return
    patch = [{"op": "replace", "path": "/cloudwatchRoleArn", "value": change["before"]}]
    apigateway.update_account(patchOperations=patch)
    report(f"restored: API Gateway's CloudWatch Logs role ({change['before'] or 'none'})")


def _restore_alias(lambda_client: Any, function: str, alias: str, version: str, report: Report) -> None:
    try:
        lambda_client.update_alias(FunctionName=function, Name=alias, FunctionVersion=version)
    except ClientError as error:
        if _code(error) not in NOT_FOUND:
            raise
        report(f"already gone: alias {function}:{alias} (not pointed back)")
        return
    report(f"restored: alias {function}:{alias} -> version {version}")


def _versions_described(lambda_client: Any, function: str, description: str) -> list[str]:
    """The versions of ``function`` published with our unique Description (the number may be unjournaled)."""
    found: list[str] = []
    try:
        for page in lambda_client.get_paginator("list_versions_by_function").paginate(FunctionName=function):
            found.extend(v["Version"] for v in page["Versions"] if v.get("Description") == description)
    except ClientError as error:
        if _code(error) not in NOT_FOUND:
            raise
        return []
    return [v for v in found if v != "$LATEST"]


def _restore_latest(lambda_client: Any, function: str, before: dict[str, Any], report: Report) -> None:
    try:
        lambda_client.get_waiter("function_updated_v2").wait(FunctionName=function, WaiterConfig=WAITER)
        lambda_client.update_function_configuration(FunctionName=function, **before)
        lambda_client.get_waiter("function_updated_v2").wait(FunctionName=function, WaiterConfig=WAITER)
    except ClientError as error:
        if _code(error) not in NOT_FOUND:
            raise
        report(f"already gone: function {function} ($LATEST not restored)")
        return
    report(f"restored: $LATEST of {function} ({', '.join(f'{k}={v}' for k, v in sorted(before.items()))})")


WAITER = {"Delay": 1, "MaxAttempts": 300}


def _delete(report: Report, what: str, call: Callable[..., Any], **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except ClientError as error:
        if _code(error) not in NOT_FOUND:
            raise
        report(f"already gone: {what}")
        return
    report(f"removed: {what}")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def pending(run_dir: Path) -> bool:
    """True if ``run_dir`` has a journal whose resources are not all removed yet."""
    path = run_dir / JOURNAL_NAME
    if not path.is_file():
        return False
    plan = read_plan(path)
    return not plan.done and not plan.empty()
