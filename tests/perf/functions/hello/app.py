"""Hello world for tests/perf/fidelity.py: the smallest handler, as lambda-perf measures it."""


def handler(event, context):
    return {"ok": True}
