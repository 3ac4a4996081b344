"""The one way lambench makes a boto3 client: AWS, moto and the emulator differ only by endpoint_url.

botocore refuses to sign without credentials, and a fresh machine pointed at the local emulator
has none; the emulator checks no signatures, so placeholder credentials are used there only.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

PLACEHOLDER_CREDENTIALS = {"aws_access_key_id": "lambench", "aws_secret_access_key": "lambench"}


def is_local(endpoint_url: str | None) -> bool:
    return endpoint_url is not None and ("//127." in endpoint_url or "//localhost" in endpoint_url)


def control_plane_config() -> Config:
    """The config for deploy and teardown clients (VariantDeployer's).

    Their calls are few and a run depends on each, while AWS throttles the Lambda control plane
    per account: standard mode backs off and retries throttles and 5xx, here up to 5 times.
    A new Config each call because botocore rewrites a client's retries dict in place.
    """
    return Config(retries={"mode": "standard", "max_attempts": 5})


def client(service: str, endpoint_url: str | None, region: str, config: Config | None = None) -> Any:
    session = boto3.session.Session()
    credentials = {}
    if is_local(endpoint_url) and session.get_credentials() is None:
        credentials = PLACEHOLDER_CREDENTIALS
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config, **credentials)
