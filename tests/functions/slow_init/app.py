"""Test function whose module takes 30 s to import: its INIT phase overruns any init timeout."""

import time

time.sleep(30)


def handler(event, context):
    return {}
