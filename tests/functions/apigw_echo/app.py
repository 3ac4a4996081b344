"""Test function behind the API Gateway fronts: echoes its event, or misbehaves on request (?mode=...)."""

import base64
import json
import time


def handler(event, context):
    query = event.get("queryStringParameters") or {}
    mode = query.get("mode", "echo")
    if mode == "raise":
        raise RuntimeError("asked to raise")
    if mode == "sleep":
        time.sleep(float(query.get("s", "3")))
    if mode == "malformed":
        return {"statusCode": 200, "body": "ok", "unexpected": True}
    if mode == "bad_status":
        return {"statusCode": "two hundred", "body": "ok"}
    if mode == "plain":
        return {"hello": "world"}
    if mode == "binary":
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": base64.b64encode(bytes(range(256))).decode(),
            "isBase64Encoded": True,
        }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "body": json.dumps({"event": event, "request_id": context.aws_request_id}),
    }
