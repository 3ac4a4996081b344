"""No-op handler for tests/perf/loadgen.py: the least work a warm invoke can do, so the load generator shows."""


def handler(event, context):
    return {}
