"""The AWS side of ``lambench run``: confirm, journal, deploy, and tear down on the way out.

On ``kind = "aws"`` a run first asks STS whose account it is in, prints the account, region and
endpoint and what it will create, and asks for a yes (``--yes`` answers it; without a terminal
and without ``--yes`` it refuses, so that a CI job never hangs on a prompt). Everything it then
creates is journaled (bench/targets/journal.py) and removed when the run ends, however it ends.

Two kinds of function:
- the sample of bench.toml's [function]: created if missing, with an execution role created
  for the run (only Lambda's basic logging policy) unless ``[function] role`` names one or the
  function exists already (its own role is kept: deleting a role in use would break it);
- the user's own (``--function ARN`` or ``[function] arn``): bench/targets/existing.py.

With ``[load] paths`` through API Gateway, the sample gets an HTTP API and/or a REST API in front
of its variants for the run, made as ``lambench deploy --target aws`` makes them
(bench/targets/gateways.py), listed in the confirmation, journaled and removed with the rest; a
user's function is called through the user's own APIs, named by URL and never changed
(bench/targets/apiplan.py).

The emulator's state dies with it, so a local run journals nothing.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import ClientError

from bench import awsclient
from bench.awsfacts import apigw_access_log_group, lambda_log_group
from bench.errors import UserError
from bench.targets.apiplan import API_NAMES, ApiPlan, Apis, execute_api_id
from bench.targets.existing import ExistingFunction, parse_function_arn
from bench.targets.journal import Clients, Journal, teardown
from bench.targets.spec import DEFAULT_ROLE, FunctionSpec
from bench.targets.variants import Variant, VariantDeployer, alias_name

BASIC_EXECUTION_POLICY = "policy/service-role/AWSLambdaBasicExecutionRole"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
SERVICES = ("lambda", "logs", "iam", "sts")
# `lambench deploy --target aws`, and a run whose paths go through API Gateway, add the APIs in
# front (bench/targets/gateways.py).
GATEWAY_SERVICES = ("apigateway", "apigatewayv2")


@dataclass(frozen=True)
class AwsRunOptions:
    """The run flags that concern AWS (``--yes``, ``--function``, ``--apigw-*``), and the APIs the
    run's gateway paths call (bench/targets/apiplan.py; bench/run.py resolves them)."""

    yes: bool = False
    function_arn: str | None = None
    given_apis: Apis = Apis()  # the --apigw-* flags
    apis: ApiPlan = ApiPlan()


@dataclass(frozen=True)
class Deployed:
    """What the load needs: the function, its variants, where the invokes go, and the APIs in front."""

    function_name: str
    variants: list[Variant]
    load_endpoint: str | None  # the Lambda endpoint for the load; None: AWS's own for the region
    region: str
    facts: dict[str, Any]  # for run.json: account, function ARN, what was journaled
    apis: Apis = Apis()  # the gateway paths' APIs, created for the run or the user's own


def endpoints_for(endpoint: str | None, region: str, services: tuple[str, ...] = SERVICES) -> dict[str, str]:
    """Each service's URL, resolved once: the journal keeps them so teardown goes where the run went."""
    return {service: awsclient.resolved_endpoint(service, endpoint, region) for service in services}


def clients_for(endpoints: dict[str, str], region: str) -> Clients:
    def make(service: str) -> Any:
        return awsclient.client(service, endpoints[service], region, awsclient.control_plane_config())

    gateways = {s: make(s) for s in GATEWAY_SERVICES if s in endpoints}
    return Clients(lambda_=make("lambda"), logs=make("logs"), iam=make("iam"), **gateways)


def deploy_for_run(
    spec: FunctionSpec,
    memory_mb: tuple[int, ...],
    target: Any,
    run_dir: Path,
    run_id: str,
    console: Any,
    stack: ExitStack,
    options: AwsRunOptions,
    stdin: TextIO | None = None,
) -> Deployed:
    """Confirm, journal and deploy on AWS; the teardown is registered on ``stack`` before anything is created."""
    arn = parse_function_arn(options.function_arn) if options.function_arn else None
    region = arn.region if arn else target.region
    # The journal names the API Gateway endpoints only when there are APIs to remove through them.
    endpoints = endpoints_for(target.endpoint, region, SERVICES + GATEWAY_SERVICES if options.apis.create else SERVICES)
    sts = awsclient.client("sts", endpoints["sts"], region)
    identity = sts.get_caller_identity()  # the first signed call: no credentials fails here, at once
    account = str(identity["Account"])
    if arn and arn.account != account:
        raise UserError(f"--function {arn.arn}: account {arn.account}, but the credentials are account {account}")
    clients = clients_for(endpoints, region)
    existing = _existing_config(clients.lambda_, arn.name if arn else spec.name)
    role_plan = _role_plan(arn.name if arn else spec.name, spec, existing, arn is not None, run_id)
    plan = _plan_lines(spec, memory_mb, arn, existing, role_plan, run_dir)
    plan[-1:-1] = _api_lines(options.apis, arn.name if arn else spec.name)
    _confirm(plan, identity, region, endpoints, options, console, stdin)
    journal = Journal.start(run_dir, region, endpoints)
    journal.write(op="account", account=account)
    stack.callback(_teardown, journal, clients, console)
    facts: dict[str, Any] = {"account": account, "region": region, "journal": str(journal.path)}
    if arn is not None:
        console.print(f"[bold]deploy[/] {arn.name}: a version and alias per size, then $LATEST put back ...")
        variants = ExistingFunction(clients.lambda_, journal, run_id).deploy_variants(arn.name, memory_mb)
        facts["function_arn"] = arn.arn
        name = arn.name
    else:
        variants = deploy_sample(clients, journal, spec, memory_mb, role_plan, identity, run_id, console)
        name = spec.name
    apis = _apis_for_run(options.apis, name, variants, clients, journal, identity, region, run_id, console)
    if options.apis.kinds:
        facts["apis"] = {**{k: v for k, v in asdict(apis).items() if v}, "created": bool(options.apis.create)}
    return Deployed(name, variants, endpoints["lambda"], region, facts, apis)


def _api_lines(plan: ApiPlan, function_name: str) -> list[str]:
    """The confirmation's lines about the APIs: those the run creates, or the user's it calls."""
    from bench.targets.gateways import plan_lines  # here: gateways.py imports this module

    if plan.create:
        return plan_lines(plan.create, function_name)
    given = plan.given
    urls = [f"{API_NAMES[k]} {given.url(k)}" for k in plan.kinds]
    if not urls:
        return []
    group = given.access_log_group or apigw_access_log_group(function_name)
    scopes = [
        f"API {execute_api_id(given.url(k) or '') or '* (any of the account: a custom domain)'}" for k in plan.kinds
    ]
    return [
        f"a permission on each alias for {' and '.join(scopes)} to invoke it",
        f"(nothing on your APIs: calls through {', '.join(urls)}; access logs read from {group})",
    ]


def _apis_for_run(plan: ApiPlan, name: str, variants: list[Variant], clients: Clients, journal: Journal,
                  identity: dict[str, Any], region: str, run_id: str, console: Any) -> Apis:  # fmt: skip
    """The APIs the gateway paths call: created now (journaled) in front of the variants, or the user's."""
    if not plan.kinds:
        return plan.given
    from bench.targets.gateways import GatewayDeployer, Where  # here: gateways.py imports this module

    partition = str(identity.get("Arn", "arn:aws:")).split(":")[1] or "aws"
    where = Where(str(identity["Account"]), region, partition)
    deployer = GatewayDeployer(clients, journal, where, run_id, console)
    if plan.create:
        function_arn = variants[0].alias_arn.rsplit(":", 1)[0]
        made = deployer.deploy(name, function_arn, variants, plan.create)
        return Apis(made.http_url, made.rest_url, made.access_log_group)
    given = plan.given
    for kind in plan.kinds:
        # The user's API may invoke the run's aliases only through a permission on each (apiplan.py).
        deployer.permit(name, variants, execute_api_id(given.url(kind) or "") or "*", kind)
    return replace(given, access_log_group=given.access_log_group or apigw_access_log_group(name))


def _existing_config(lambda_client: Any, name: str) -> dict[str, Any] | None:
    try:
        return lambda_client.get_function_configuration(FunctionName=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


def _role_plan(
    name: str, spec: FunctionSpec, existing: dict[str, Any] | None, user_function: bool, run_id: str
) -> str | None:
    """The name of the execution role the run will create, or None if it needs none."""
    if user_function and existing is None:
        raise UserError(f"--function: function {name} not found")
    if user_function or existing is not None or spec.role != DEFAULT_ROLE:
        return None
    return f"lambench-{run_id}"


def _plan_lines(spec: FunctionSpec, memory_mb: tuple[int, ...], arn: Any, existing: Any, role: str | None,
                run_dir: Path) -> list[str]:  # fmt: skip
    aliases = ", ".join(alias_name(m) for m in memory_mb)
    if arn is not None:
        return [
            f"on your function {arn.name}: {len(memory_mb)} versions and temporary aliases {aliases}",
            f"  ($LATEST's MemorySize {existing['MemorySize']} is changed to publish them, then put back)",
            f"and removes them when the run ends (journal: {run_dir / 'journal.jsonl'})",
        ]
    lines = []
    if role:
        lines.append(f"role {role} (AWSLambdaBasicExecutionRole only)")
    if existing is None:
        lines.append(f"function {spec.name} and its log group {lambda_log_group(spec.name)}")
    else:
        lines.append(f"(function {spec.name} exists: its code and settings are updated and it is kept)")
    lines.append(f"{len(memory_mb)} versions and aliases {aliases}")
    return lines + [f"and removes what it created when the run ends (journal: {run_dir / 'journal.jsonl'})"]


def _confirm(plan: list[str], identity: dict[str, Any], region: str, endpoints: dict[str, str],
             options: AwsRunOptions, console: Any, stdin: TextIO | None) -> None:  # fmt: skip
    console.print(f"[bold]AWS[/] account {identity['Account']} as {identity.get('Arn', '?')}, region {region}, "
                  f"endpoint {endpoints['lambda']}", markup=True, highlight=False, soft_wrap=True)  # fmt: skip
    console.print("lambench will create:", highlight=False)
    for line in plan:
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    if options.yes:
        return
    stdin = stdin if stdin is not None else sys.stdin
    if not stdin.isatty():
        raise UserError(
            f"a run against AWS account {identity['Account']} needs confirmation and stdin is not a terminal: "
            "pass --yes"
        )
    console.print("Proceed? [y/N] ", end="", markup=False)
    answer = stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise UserError("not confirmed: nothing was created")


def deploy_sample(
    clients: Clients, journal: Journal, spec: FunctionSpec, memory_mb: tuple[int, ...], role_plan: str | None,
    identity: dict[str, Any], version_tag: str, console: Any,
) -> list[Variant]:  # fmt: skip
    """The sample's execution role (when the plan makes one), then its variants: for a run and a deploy alike."""
    role = _ensure_role(clients.iam, journal, role_plan, identity, console) if role_plan else None
    deploy_spec = replace(spec, role=role) if role else spec
    deployer = VariantDeployer(clients.lambda_, journal=journal, logs_client=clients.logs, version_tag=version_tag)
    console.print(f"[bold]deploy[/] {spec.name} at {', '.join(f'{m} MB' for m in memory_mb)} ...")
    return deployer.deploy_variants(deploy_spec, memory_mb)


def _ensure_role(iam: Any, journal: Journal, name: str, identity: dict[str, Any], console: Any) -> str:
    partition = str(identity.get("Arn", "arn:aws:")).split(":")[1] or "aws"
    policy = f"arn:{partition}:iam::aws:{BASIC_EXECUTION_POLICY}"
    console.print(f"[bold]role[/] {name} ...")
    journal.create("role", name=name)
    role = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
        Description="lambench: the sample function's execution role for one run; removed when it ends",
    )  # fmt: skip
    journal.create("role_policy", role=name, policy_arn=policy)
    iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    return str(role["Role"]["Arn"])


def _teardown(journal: Journal, clients: Clients, console: Any) -> None:
    console.print("[bold]teardown[/] removing what the run created ...")
    teardown(journal, clients, lambda line: console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True))


def teardown_run_dir(run_dir: Path, out: Any = print) -> int:
    """``lambench teardown RUN_DIR``: finish (or repeat) a run's teardown from its journal."""
    from bench.targets.journal import JOURNAL_NAME, read_plan

    journal = Journal(run_dir / JOURNAL_NAME)
    plan = read_plan(journal.path)
    if plan.done or plan.empty():
        out(f"teardown: nothing left to remove ({journal.path})")
        return 0
    endpoints = plan.endpoints
    if not set(SERVICES) <= set(endpoints):
        raise UserError(f"{journal.path}: no endpoints in its first line (not written by lambench run?)")
    account = awsclient.client("sts", endpoints["sts"], plan.region).get_caller_identity()["Account"]
    if plan.account and account != plan.account:
        raise UserError(f"{journal.path}: the run was in account {plan.account}, these credentials are {account}")
    teardown(journal, clients_for(endpoints, plan.region), out)
    out(f"teardown: done ({journal.path})")
    return 0
