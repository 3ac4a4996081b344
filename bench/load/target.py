"""What a plain ``locust -f`` run invokes, made ready each time a test starts, as ``lambench run`` does.

- ``--lambda-endpoint aws``: AWS's own endpoint; nothing deployed and nothing checked (as before).
- ``--lambda-endpoint URL``: that endpoint, where the user deployed. Each variant is looked up
  (GetFunctionConfiguration, one attempt, short timeouts), so that an endpoint that does not
  answer, or lacks the function, stops the start with one message that says what to do, instead
  of thousands of identical transport errors.
- empty: bench.toml (or ``--lambench-config``) decides, as for ``lambench run``. ``[target]`` local
  without an endpoint starts the bundled emulator (once per Locust process; :meth:`Targets.close`
  stops it when Locust quits). The variants are then deployed: a new version per memory size at
  each start, so each run starts cold, as each ``lambench run`` does. On AWS what was created is
  removed at quit.

Only a single process or a master prepares a target; workers take the result from the master's
options (bench/load/settings.py ``TARGET_OPTION``). botocore is imported inside the functions:
Locust (gevent) must patch sockets first, and it has by the time a test starts.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from .settings import DEFAULT_REPORTS, Resolved, check_payload, resolved_from_options, split_variants

logger = logging.getLogger(__name__)

_MEMORY_ALIAS = re.compile(r"^mem-(\d+)$")
PROBE_CONNECT_TIMEOUT_S = 3
PROBE_READ_TIMEOUT_S = 10


@dataclass(frozen=True)
class Target:
    """A prepared target: what to invoke, the run's facts about it, and the decision's settings."""

    resolved: Resolved
    info: dict[str, Any]
    traffic: Any = None  # bench.decide TrafficSettings from bench.toml; None: the defaults
    decision: Any = None


class Targets:
    """One Locust process's targets: the bundled emulator it started and what it deployed on AWS."""

    def __init__(self) -> None:
        self.emulator: Any = None  # bench.targets.local.LocalEmulator
        self._aws: list[tuple[Any, str]] = []  # (deployer, function) to remove at quit

    def prepare(self, options) -> Target:
        """Make the target the options name ready; UserError with the one message to show if not."""
        endpoint = (options.lambda_endpoint or "").strip()
        if endpoint:
            resolved = resolved_from_options(options)
            check_payload(resolved.payload)
            if endpoint != "aws":
                probe(resolved, options.lambda_region)
            where = "aws " + options.lambda_region if endpoint == "aws" else f"endpoint {endpoint}"
            facts = {
                "target": where,
                "endpoint": resolved.endpoint_url or f"AWS {options.lambda_region}",
                "region": options.lambda_region,  # whose prices the cost model uses
            }
            return Target(resolved, facts)
        return self._from_config(options)

    def _from_config(self, options) -> Target:
        from ..config import load_config

        path = Path(options.lambench_config or "bench.toml")
        if not path.is_file():
            raise UserError(
                f"no --lambda-endpoint and no {path} here: run Locust where bench.toml is (or give "
                "--lambench-config FILE) to start the bundled emulator and deploy its function, or give "
                "--lambda-endpoint URL of a running emulator or 'aws'"
            )
        config = load_config(path)
        spec = config.function_spec()
        if options.lambda_function:
            spec = dataclasses.replace(spec, name=options.lambda_function)
        memory = _memory_sizes(options.lambda_variants) or config.memory_mb
        endpoint = config.target.endpoint
        info: dict[str, Any] = {
            "config": str(path),
            "architecture": config.function.architecture,
            "region": config.target.region,
        }
        if config.target.kind == "local" and endpoint is None:
            endpoint = self._emulator(Path(options.lambench_reports or config.reports_dir or DEFAULT_REPORTS), info)
            info["runtime_note"] = (
                f"{config.function.runtime} ran on the local interpreter, CPython {info.pop('python')}"
            )
        else:
            from ..outputs import remote_target_facts  # here: outputs loads the analysis stack

            info.update(remote_target_facts(config.target.kind, endpoint, config.function.runtime))
        info["endpoint"] = endpoint or f"AWS {config.target.region}"
        variants = self._deploy(spec, memory, endpoint, config.target.region, config.target.kind == "aws")
        info["memory_by_variant"] = {v.name: v.memory_mb for v in variants}
        payload = options.lambda_payload or config.payload_bytes.decode()
        check_payload(payload)
        options.lambda_region = config.target.region
        resolved = Resolved(
            function_name=spec.name,
            variants=tuple(v.name for v in variants),
            endpoint_url=endpoint,
            payload=payload,
            reports=str(options.lambench_reports or config.reports_dir),
        )
        return Target(resolved, info, config.traffic, config.decision)

    def _emulator(self, reports: Path, info: dict[str, Any]) -> str:
        from ..targets.local import start_emulator

        if self.emulator is None or self.emulator.process.poll() is not None:
            logger.info("lambench: starting the bundled emulator on 127.0.0.1 ...")
            try:
                self.emulator = start_emulator(reports / "emulator.log")
            except RuntimeError as err:
                raise UserError(str(err)) from None
            logger.info("lambench: emulator at %s (log: %s)", self.emulator.url, reports / "emulator.log")
        found = self.emulator.info()
        info.update(
            target="local emulator (bundled)",
            cpu_mode=self.emulator.cpu_mode,
            memory_mode=found["memory_mode"],
            python=found["python"],
        )
        return str(self.emulator.url)

    def _deploy(self, spec, memory: tuple[int, ...], endpoint: str | None, region: str, on_aws: bool) -> list:
        from botocore.exceptions import BotoCoreError, ClientError

        from .. import awsclient
        from ..targets import DeployError, VariantDeployer

        deployer = VariantDeployer(awsclient.client("lambda", endpoint, region, awsclient.control_plane_config()))
        logger.info("lambench: deploying %s at %s", spec.name, ", ".join(f"{m} MB" for m in memory))
        try:
            variants = deployer.deploy_variants(spec, memory)
        except (BotoCoreError, ClientError, DeployError, ValueError) as err:
            raise UserError(f"deploying {spec.name} to {endpoint or 'AWS'} failed: {err}") from None
        finally:
            if on_aws:
                self._aws.append((deployer, spec.name))
        return variants

    def close(self) -> None:
        """Remove what was deployed on AWS, and stop the bundled emulator (its state dies with it)."""
        while self._aws:
            deployer, name = self._aws.pop()
            logger.info("lambench: teardown %s ...", name)
            deployer.teardown(name)
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None


def _memory_sizes(variants: str) -> tuple[int, ...]:
    """The memory sizes that --lambda-variants names (mem-<MB> only); () when it is empty."""
    names = split_variants(variants or "")
    sizes = []
    for name in names:
        match = _MEMORY_ALIAS.match(name)
        if match is None:
            raise UserError(
                f"--lambda-variants {name!r}: to deploy from bench.toml, name memory sizes as mem-<MB> "
                "(or give --lambda-endpoint of a function you deployed)"
            )
        sizes.append(int(match.group(1)))
    return tuple(sizes)


def probe(resolved: Resolved, region: str) -> None:
    """Check that the endpoint answers and has every variant, in one call per variant."""
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    from .. import awsclient

    config = Config(
        connect_timeout=PROBE_CONNECT_TIMEOUT_S,
        read_timeout=PROBE_READ_TIMEOUT_S,
        retries={"total_max_attempts": 1},
    )
    client = awsclient.client("lambda", resolved.endpoint_url, region, config)
    url = resolved.endpoint_url
    for variant in resolved.variants:
        try:
            client.get_function_configuration(FunctionName=resolved.function_name, Qualifier=variant)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise UserError(
                    f"{url} has no {resolved.function_name}:{variant}: deploy it (`lambench deploy --endpoint "
                    f"{url}`), fix --lambda-function/--lambda-variants, or leave --lambda-endpoint empty to "
                    "start the bundled emulator from bench.toml"
                ) from None
            raise UserError(f"{url} refused GetFunctionConfiguration for {resolved.function_name}: {err}") from None
        except (EndpointConnectionError, BotoCoreError) as err:
            raise UserError(
                f"nothing answers at --lambda-endpoint {url} ({type(err).__name__}): start an emulator there "
                "(`lambench emulator --port PORT`, then `lambench deploy --endpoint URL`), correct the URL, or "
                "leave --lambda-endpoint empty to start the bundled emulator from bench.toml"
            ) from None
