"""A function that prints and returns as much as it is asked to: for the emulator's limit tests.

Event keys: "print" ([text, count]: one line of text repeated count times, after "marker"),
"return_bytes" (return a string of that many characters), "env" (return that variable's value).
"""

import os
import sys


def handler(event, context):
    if "print" in event:
        text, count = event["print"]
        # One line: the emulator must split it into CloudWatch-sized events.
        sys.stdout.write(event.get("marker", "") + text * count + "\n")
        sys.stdout.flush()
    if "return_bytes" in event:
        return "y" * event["return_bytes"]  # JSON-encoded: two bytes of quotes more
    if "env" in event:
        return {"value": os.environ.get(event["env"])}
    return {"ok": True}
