"""Test function: reports which process served it, can raise on request."""

import os

print("hello module initialised")


def handler(event, context):
    print("handling", event)
    if event.get("raise"):
        raise ValueError("raised on request")
    return {"pid": os.getpid(), "memory": context.memory_limit_in_mb, "echo": event}
