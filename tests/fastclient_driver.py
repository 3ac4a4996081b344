"""Drives the fast Lambda client and the boto3 one, for tests/test_fastclient.py, in a process of its own.

Importing Locust monkey-patches the process with gevent, so the tests run this script with
sys.executable instead of importing bench.load: ``python fastclient_driver.py SPEC_JSON``. It prints
one JSON document on stdout. SPEC's "mode" is one of:

- ``records``: LambdaInvoker with each client in turn, for each case's payload (and function or
  qualifier, where the case names its own); prints the records.
  A case with a "blocker" first starts that invoke in the background (through the fast client)
  and waits "blocker_delay_s", so that the invokes measured meanwhile meet a busy function.
- ``requests``: raw invokes with boto3's parameters, through each client in turn (for a capture
  server that keeps the requests); prints the replies' statuses.
- ``refreshing``: invokes through the fast client with refreshable credentials that botocore
  refreshes before every call; prints the access keys it handed out.
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gevent
import locust  # noqa: F401  (gevent patches sockets before botocore loads)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from botocore.credentials import RefreshableCredentials  # noqa: E402

from bench.load.fastclient import FastLambdaClient  # noqa: E402
from bench.load.invoker import LambdaInvoker, make_invoke_client  # noqa: E402
from bench.load.settings import LoadSettings  # noqa: E402


class RecordingEvent:
    """Stands in for Locust's request event: keeps what was fired."""

    def __init__(self) -> None:
        self.fired: list[dict] = []

    def fire(self, **kwargs) -> None:
        self.fired.append(kwargs)


def settings_for(spec: dict, client: str, payload: str) -> LoadSettings:
    return LoadSettings(
        function_name=spec["function"],
        variants=(spec.get("qualifier") or "unused",),
        endpoint_url=spec["endpoint"],
        region="us-east-1",
        payload=payload.encode(),
        run_id="parity",
        records_path=Path("unused.sqlite"),
        client=client,
    )


def invoke_once(spec: dict, client: str, payload: str) -> dict:
    settings = settings_for(spec, client, payload)
    event = RecordingEvent()
    record = LambdaInvoker(make_invoke_client(settings, pool_size=4), event, settings).invoke(spec.get("qualifier"))
    (fired,) = event.fired
    return {**record.as_dict(), "locust_exception": str(fired["exception"]) if fired["exception"] else None}


def records_mode(spec: dict) -> dict:
    out = {}
    for case in spec["cases"]:
        target = {**spec, **{k: case[k] for k in ("function", "qualifier") if k in case}}
        blocker = None
        if case.get("blocker"):
            blocker = gevent.spawn(invoke_once, target, "fast", case["blocker"])
            gevent.sleep(case.get("blocker_delay_s", 0.5))
        out[case["name"]] = {client: invoke_once(target, client, case["payload"]) for client in spec["clients"]}
        if blocker is not None:
            out[case["name"]]["blocker"] = blocker.get()
    return out


def requests_mode(spec: dict) -> dict:
    settings = settings_for(spec, "boto3", "{}")
    clients = {"fast": FastLambdaClient(spec["endpoint"], "us-east-1"), "boto3": make_invoke_client(settings, 4)}
    statuses = []
    for case in spec["cases"]:
        for name in spec["clients"]:
            reply = clients[name].invoke(
                case["function"],
                case.get("qualifier"),
                base64.b64decode(case["payload_b64"]),
                log_type=case.get("log_type"),
                invocation_type=case.get("invocation_type"),
                client_context=case.get("client_context"),
            )
            statuses.append({"client": name, "status": reply.status})
    return {"replies": statuses}


def refreshing_mode(spec: dict) -> dict:
    issued: list[str] = []

    def refresh() -> dict:
        # Expiring within botocore's advisory window (15 min), so the next use refreshes again.
        n = len(issued) + 1
        issued.append(f"AKIDREFRESH{n}")
        expiry = datetime.now(UTC) + timedelta(minutes=5)
        return {
            "access_key": issued[-1],
            "secret_key": f"secret-{n}",
            "token": f"token-{n}",
            "expiry_time": expiry.isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(refresh(), refresh, "lambench-test")
    client = FastLambdaClient(spec["endpoint"], "us-east-1", credentials=credentials)
    for _ in range(spec["calls"]):
        client.invoke(spec["function"], None, b"{}", log_type="Tail")
    return {"issued": issued}


MODES = {"records": records_mode, "requests": requests_mode, "refreshing": refreshing_mode}

if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    json.dump(MODES[spec["mode"]](spec), sys.stdout)
