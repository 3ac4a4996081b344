"""Direct Lambda invokes, for plain Locust (web UI or headless).

    locust -f locustfiles/direct.py --web-host 127.0.0.1   # web UI on http://127.0.0.1:8089

With no --lambda-endpoint, each test start starts the bundled emulator (once) and deploys the
variants of bench.toml (or --lambench-config), as `lambench run` does; the web UI gets a Lambda
tab (bench/load/webui.py), and each start is a run with its own report. Against a function you
deployed yourself: --lambda-endpoint URL (checked before the test starts) or --lambda-endpoint aws.

Options (each also from its LAMBENCH_* environment variable): --lambda-function,
--lambda-variants, --lambda-endpoint, --lambda-payload, --lambench-reports, --lambench-config.
Every invoke is also written to <reports>/<run-id>/records.sqlite.

Open loop: ``--lambda-rps 20`` replays 20 invocations a second in total, Poisson arrivals, whatever
the latency (``--lambda-seed`` to replay the same arrivals). The users that carry them are sized
from the function's timeout, with -u as the floor; arrivals that found every user busy are
counted as late and reported at the end (bench/load/openloop.py).

    locust -f locustfiles/direct.py --headless -t 60s --lambda-rps 20 --lambda-endpoint http://127.0.0.1:9001
"""

import sys
from pathlib import Path

from locust import events

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from bench.load.plugin import register  # noqa: E402
from bench.load.users import LambdaUser  # noqa: E402

register(events)


class DirectInvoke(LambdaUser):
    """Invokes each variant in turn through the Lambda Invoke API."""
