"""Calls through API Gateway only (HTTP API and REST API users), for plain Locust.

    lambench emulator --port 9001 &
    lambench deploy --endpoint http://127.0.0.1:9001
    locust -f locustfiles/apigw.py --headless -u 4 -t 30s --lambda-endpoint http://127.0.0.1:9001

With no --lambda-endpoint it starts the bundled emulator and deploys bench.toml's variants, as
locustfiles/direct.py does (its web UI has the same Lambda tab).

Each request is a Locust request named "http mem-<MB>" or "rest mem-<MB>". After the run the
records are joined to their REPORT lines through the logs (bench/collect/correlate.py).
Against AWS, give --apigw-http-url / --apigw-rest-url (the APIs' invoke URLs; one stage per alias).
"""

import sys
from pathlib import Path

from locust import events

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from bench.load.apigw_user import ApiGatewayUser  # noqa: E402
from bench.load.plugin import register  # noqa: E402

register(events)


class HttpApi(ApiGatewayUser):
    """HTTP API, payload format 2.0."""

    kind = "http"


class RestApi(ApiGatewayUser):
    """REST API, payload format 1.0 (Lambda proxy)."""

    kind = "rest"
