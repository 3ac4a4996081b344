"""Test function: sleeps for event["sleep_s"] seconds, so invocations overlap or time out."""

import os
import time


def handler(event, context):
    time.sleep(float(event.get("sleep_s", 0)))
    return {"pid": os.getpid()}
