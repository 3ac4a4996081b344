"""The first code a Python execution environment runs: awslambdaric, taught the token path.

The emulator's Runtime API address carries a per-environment token as a path
(AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT/TOKEN, see runtime_api.py). awslambdaric's native client
builds its URLs as http://{address}/2018-06-01/..., so the token rides along. Its Python side
(``call_rapid``, used to report an init error such as Runtime.ImportModuleError) hands the
address to http.client as host:port, which refuses a path: here it gets the same request with
the token in front of its path instead.

Run as a script (``python -s -S runtime_entry.py [SHIM] HANDLER``), so nothing of lambench is
importable by the function; its own folder is taken off sys.path at once. With SHIM (a script
path), that script runs next as __main__ with the handler as its only argument, and finds
sys.path[0] as a script does; without it, awslambdaric's own main runs.
"""

import os
import sys

sys.path.pop(0)

from awslambdaric import lambda_runtime_client as ric_client  # noqa: E402
from awslambdaric.lambda_runtime_marshaller import to_json  # noqa: E402


def call_rapid(self, http_method, endpoint, expected_http_code, payload=None, headers=None):
    """awslambdaric's BaseLambdaRuntimeClient.call_rapid, with the address's path before ``endpoint``."""
    import http.client  # lazily, as awslambdaric does: it pulls in ssl and hashlib

    address, _, prefix = self.lambda_runtime_address.partition("/")
    connection = http.client.HTTPConnection(address)
    body = None if http_method == "GET" else to_json(payload)
    connection.request(http_method, f"/{prefix}{endpoint}" if prefix else endpoint, body, headers or {})
    response = connection.getresponse()
    response_body = response.read()
    if response.status != expected_http_code:
        raise ric_client.LambdaRuntimeClientError(endpoint, response.status, response_body)


ric_client.BaseLambdaRuntimeClient.call_rapid = call_rapid

if __name__ == "__main__":
    if len(sys.argv) > 2:
        import runpy

        shim = sys.argv.pop(1)
        sys.argv[0] = shim
        # A script finds its own folder first on sys.path; the shim takes it off.
        sys.path.insert(0, os.path.dirname(os.path.abspath(shim)))
        runpy.run_path(shim, run_name="__main__")
    else:
        from awslambdaric import __main__ as ric_main

        ric_main.main(sys.argv)
