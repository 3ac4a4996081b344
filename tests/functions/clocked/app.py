"""Test function: sleeps event["sleep_s"] and logs when it began and ended (host clock, ns).

From those two lines a test can tell how many invocations ran at once, whatever the callers saw.
"""

import time


def handler(event, context):
    print(f"began {context.aws_request_id} {time.time_ns()}")
    time.sleep(float(event.get("sleep_s", 0)))
    print(f"ended {context.aws_request_id} {time.time_ns()}")
    return {"slept": event.get("sleep_s", 0)}
