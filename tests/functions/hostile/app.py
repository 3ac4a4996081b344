"""Hostile test function: looks around its execution environment and attacks its neighbours.

Event "look": answers with what it can see (sys.path, its environment variables, the installed
distributions it can find, where boto3 comes from). Event {"steal": "127.0.0.1:PORT"}: tries to
take another environment's next event from that Runtime API port, without its token, with its
own token, and with a made-up one, and to forge an answer; it answers with each HTTP status.
"""

import importlib.metadata
import os
import sys
import urllib.error
import urllib.request

RUNTIME = "2018-06-01/runtime"


def _status(url, data=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError as err:  # a long-poll that was let through waits for an event: that is a theft
        return f"no answer: {err}"


def look():
    import boto3

    return {
        "sys_path": sys.path,
        "environ": dict(os.environ),
        "distributions": sorted({d.metadata["Name"].lower() for d in importlib.metadata.distributions()}),
        "boto3_file": boto3.__file__,
        "executable_is_site_free": sys.flags.no_site == 1,
    }


def steal(target):
    own_token = os.environ["AWS_LAMBDA_RUNTIME_API"].split("/", 1)[1]
    base = f"http://{target}"
    return {
        "no_token": _status(f"{base}/{RUNTIME}/invocation/next"),
        "own_token": _status(f"{base}/{own_token}/{RUNTIME}/invocation/next"),
        "made_up_token": _status(f"{base}/{'A' * len(own_token)}/{RUNTIME}/invocation/next"),
        "forged_answer": _status(f"{base}/{own_token}/{RUNTIME}/invocation/any/response", b'{"forged": true}'),
    }


def handler(event, context):
    if "steal" in event:
        return steal(event["steal"])
    return look()
