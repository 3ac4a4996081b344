"""bench/awsclient.py: the control-plane config retries throttles, for every client made with it."""

from __future__ import annotations

from bench import awsclient


def test_each_control_plane_client_gets_standard_retries():
    # botocore rewrites the retries dict it is given in place; each call hands it a fresh one.
    first, second = (
        awsclient.client("lambda", "http://127.0.0.1:1", "us-east-1", awsclient.control_plane_config())
        for _ in range(2)
    )
    for client in (first, second):
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 6}
