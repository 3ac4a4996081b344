"""The one way lambench makes a boto3 client: AWS, moto and the emulator differ only by endpoint.

The endpoint is the explicit one (bench.toml's ``target.endpoint``, ``--endpoint``, the started
emulator's URL) when there is one. Otherwise it is left to botocore, which since 1.31 reads
boto3's standard ``AWS_ENDPOINT_URL_<SERVICE>`` (e.g. ``AWS_ENDPOINT_URL_LAMBDA``), then
``AWS_ENDPOINT_URL``, then the config file's ``endpoint_url`` (and ignores all of them under
``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS``), then AWS's own endpoint. So ``endpoint_url=None`` must
reach botocore as None: passing anything else would override what the user configured, which is
how ``kind = "aws"`` runs unchanged against moto's server or LocalStack.

botocore refuses to sign without credentials, and a fresh machine pointed at the local emulator
has none; the emulator checks no signatures, so placeholder credentials are used there only.

``LAMBENCH_AWS_CALL_LOG=FILE`` appends ``service:Operation`` for every call any of these clients
makes (botocore's before-call event): what the IAM policy of docs/aws.md must allow.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import MetadataRetrievalError

PLACEHOLDER_CREDENTIALS = {"aws_access_key_id": "lambench", "aws_secret_access_key": "lambench"}
CALL_LOG_ENV = "LAMBENCH_AWS_CALL_LOG"

# Where the credentials can come from, for the one line a run without any prints.
CREDENTIALS_HELP = (
    "no AWS credentials found: set AWS_PROFILE (after `aws configure` or `aws sso login`), or "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)"
)

# The instance metadata endpoint is the chain's last resort. Off EC2 it may black-hole packets:
# one attempt with botocore's shortest timeout (1 s: it takes whole seconds), and no fallback to
# IMDSv1 after the IMDSv2 token request failed, keep a run without credentials from hanging there
# (otherwise 2 s per session, more if a config file raised them). IMDSv2 is on every instance type.
METADATA_TIMEOUT_S = 1
METADATA_ATTEMPTS = 1


def is_local(endpoint_url: str | None) -> bool:
    return endpoint_url is not None and ("//127." in endpoint_url or "//localhost" in endpoint_url)


def control_plane_config() -> Config:
    """The config for deploy and teardown clients (VariantDeployer's).

    Their calls are few and a run depends on each, while AWS throttles the Lambda control plane
    per account: standard mode backs off and retries throttles and 5xx, here up to 5 times.
    A new Config each call because botocore rewrites a client's retries dict in place.
    """
    return Config(retries={"mode": "standard", "max_attempts": 5})


def session() -> boto3.session.Session:
    """A boto3 session whose credential chain cannot hang on the instance metadata endpoint."""
    made = boto3.session.Session()
    core = made._session  # boto3 exposes no setter for these two; botocore's session has one
    core.set_config_variable("metadata_service_timeout", METADATA_TIMEOUT_S)
    core.set_config_variable("metadata_service_num_attempts", METADATA_ATTEMPTS)
    core.set_config_variable("ec2_metadata_v1_disabled", True)
    return made


def client(service: str, endpoint_url: str | None, region: str, config: Config | None = None) -> Any:
    """A boto3 client for ``service``; ``endpoint_url=None`` lets botocore resolve the endpoint."""
    made = session()
    credentials: dict[str, str] = {}
    if is_local(resolved_endpoint(service, endpoint_url, region)) and _credentials(made) is None:
        credentials = PLACEHOLDER_CREDENTIALS
    made_client = made.client(service, region_name=region, endpoint_url=endpoint_url, config=config, **credentials)
    _log_calls(made_client)
    return made_client


def _credentials(made: boto3.session.Session) -> Any:
    """The chain's credentials, or None; an instance metadata endpoint that does not answer is None too."""
    try:
        return made.get_credentials()
    except MetadataRetrievalError:
        return None


def resolved_endpoint(service: str, endpoint_url: str | None, region: str) -> str:
    """The URL a client of ``service`` sends to: the explicit one, else what botocore resolved.

    For code that speaks the wire itself (the load's fast Invoke client), so that it goes where
    boto3 would, AWS_ENDPOINT_URL_<SERVICE> included.
    """
    if endpoint_url:
        return endpoint_url
    # Unsigned: resolving an endpoint needs no credentials, and looking for them can take seconds.
    unsigned = Config(signature_version=UNSIGNED)
    return str(session().client(service, region_name=region, config=unsigned).meta.endpoint_url)


def _log_calls(made_client: Any) -> None:
    path = os.environ.get(CALL_LOG_ENV)
    if not path:
        return

    def record(model: Any, **_kwargs: Any) -> None:
        # Only the operation's name: never its parameters, which may hold secrets.
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{model.service_model.signing_name}:{model.name}\n")

    made_client.meta.events.register("before-call", record)
