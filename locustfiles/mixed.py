"""Direct invokes and API Gateway calls together, interleaved in one run, for plain Locust.

    locust -f locustfiles/mixed.py --headless -u 6 -t 30s --lambda-endpoint http://127.0.0.1:9001

Users are split evenly between direct Invoke, HTTP API and REST API (Locust's weights), so
the report can set each path's latency beside the others at every memory size. With
``--lambda-rps`` the load is open loop, and all three paths carry the one Poisson stream.
"""

import sys
from pathlib import Path

from locust import events

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from bench.load.apigw_user import ApiGatewayUser  # noqa: E402
from bench.load.plugin import register  # noqa: E402
from bench.load.users import LambdaUser  # noqa: E402

register(events)


class DirectInvoke(LambdaUser):
    weight = 1


class HttpApi(ApiGatewayUser):
    kind = "http"
    weight = 1


class RestApi(ApiGatewayUser):
    kind = "rest"
    weight = 1
