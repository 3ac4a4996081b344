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
    return bool(endpoint_url) and ("//127." in endpoint_url or "//localhost" in endpoint_url)


def client(service: str, endpoint_url: str | None, region: str, config: Config | None = None) -> Any:
    session = boto3.session.Session()
    credentials = {}
    if is_local(endpoint_url) and session.get_credentials() is None:
        credentials = PLACEHOLDER_CREDENTIALS
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config, **credentials)
