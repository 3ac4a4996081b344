"""A caller that gives up does not cut the invocation short (issue 13, item 3).

Lambda finishes an invocation whether or not its caller waits. So must the emulator: after 30
client read timeouts against a slow function, each invocation still ran to its end, wrote its
END and REPORT lines (it is billed), gave its environment back to the pool, and held its
concurrency slot until the function ended, so the limit was never exceeded. The callers are
real boto3 clients with a short read timeout and no retries; what ran at once is read from the
function's own log lines, through the emulator's CloudWatch Logs API.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from proc_helpers import eventually

from bench import awsclient
from bench.collect import parse_report_line

LIMIT = 4  # --account-concurrency
TIMEOUTS = 30
SLEEP_S = 1.0
READ_TIMEOUT_S = 0.3  # well inside SLEEP_S: every admitted call times out on the client side
DEADLINE_S = 120.0


def _impatient_calls(client, name: str, qualifier: str) -> tuple[int, int, int]:
    """Invoke until TIMEOUTS admitted calls have timed out; returns (timeouts, throttles, answered)."""
    lock = threading.Lock()
    counts = {"claimed": 0, "timeouts": 0, "throttles": 0, "answered": 0}
    payload = json.dumps({"sleep_s": SLEEP_S})

    def caller() -> None:
        while True:
            with lock:  # a ticket per admitted call, so that exactly TIMEOUTS run
                if counts["claimed"] >= TIMEOUTS:
                    return
                counts["claimed"] += 1
            try:
                client.invoke(FunctionName=name, Qualifier=qualifier, Payload=payload)
                outcome = "answered"
            except ReadTimeoutError:
                outcome = "timeouts"
            except ClientError as err:
                assert err.response["Error"]["Code"] == "TooManyRequestsException", err
                outcome = "throttles"
            with lock:
                counts[outcome] += 1
                if outcome == "throttles":
                    counts["claimed"] -= 1  # never ran: the ticket goes back
            if outcome == "throttles":
                time.sleep(0.05)

    with ThreadPoolExecutor(2 * LIMIT) as pool:
        for future in [pool.submit(caller) for _ in range(2 * LIMIT)]:
            future.result()
    return counts["timeouts"], counts["throttles"], counts["answered"]


def _events(logs, group: str, pattern: str) -> list[dict]:
    found, token = [], None
    while True:
        page = logs.filter_log_events(
            logGroupName=group, filterPattern=pattern, **({"nextToken": token} if token else {})
        )
        found += page["events"]
        token = page.get("nextToken")
        if token is None:
            return found


def _peak_overlap(began: dict[str, int], ended: dict[str, int]) -> int:
    edges = sorted([(t, 1) for t in began.values()] + [(t, -1) for t in ended.values()], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in edges:  # at a tie, an end counts before a start
        running += step
        peak = max(peak, running)
    return peak


def test_client_timeouts_leave_each_invocation_to_finish_logged_billed_and_within_the_limit(own_emulator):
    emulator, _, deploy = own_emulator("--account-concurrency", str(LIMIT))
    spec, (variant,) = deploy("clocked", timeout_s=30)
    config = Config(read_timeout=READ_TIMEOUT_S, retries={"total_max_attempts": 1}, max_pool_connections=2 * LIMIT)
    impatient = awsclient.client("lambda", emulator.url, "us-east-1", config)
    timeouts, throttles, answered = _impatient_calls(impatient, spec.name, variant.name)
    assert (timeouts, answered) == (TIMEOUTS, 0)
    assert throttles > 0, "the callers never filled the limit: the test proves nothing about it"

    logs = awsclient.client("logs", emulator.url, "us-east-1", Config(retries={"total_max_attempts": 1}))
    group = f"/aws/lambda/{spec.name}"
    # Each invocation ends in its own time, its caller long gone: wait for all of them.
    assert eventually(lambda: len(_events(logs, group, '"REPORT RequestId"')) >= TIMEOUTS, DEADLINE_S)
    reports = [parse_report_line(e["message"]) for e in _events(logs, group, '"REPORT RequestId"')]
    assert len(reports) == TIMEOUTS and len({r.request_id for r in reports}) == TIMEOUTS
    # Billed for the whole sleep, not for the moment the caller left.
    assert all(r.duration_ms >= SLEEP_S * 1000 for r in reports), [r.duration_ms for r in reports]
    ends = _events(logs, group, '"END RequestId"')
    assert {e["message"].split()[-1] for e in ends} == {r.request_id for r in reports}

    lines = [e["message"].split() for e in _events(logs, group, "?began ?ended")]
    began = {words[1]: int(words[2]) for words in lines if words[0] == "began"}
    ended = {words[1]: int(words[2]) for words in lines if words[0] == "ended"}
    assert set(began) == set(ended) == {r.request_id for r in reports}, "a handler was cut off"
    assert _peak_overlap(began, ended) <= LIMIT

    # The environments went back to the pool: no more of them than could ever run at once.
    info = emulator.info()
    assert info["environments"] <= LIMIT, info
    assert info["served"]["cold_starts"] <= LIMIT, info
