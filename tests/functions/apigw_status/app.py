"""Test function behind the API Gateway fronts: answers the HTTP status it is asked for, itself.

?status=418               that status, with a body of the function's own
?status=404&message=Not%20Found
                          that status with {"message": ...}: a body of the same shape as
                          API Gateway's own answers (only a REST API's header tells them apart)
?raise=1                  fails (API Gateway stands in for it: 502 REST, 500 HTTP API)
?sleep=S                  sleeps S seconds first (past the gateway's integration timeout)
"""

import json
import time


def handler(event, context):
    query = event.get("queryStringParameters") or {}
    if "sleep" in query:
        time.sleep(float(query["sleep"]))
    if query.get("raise"):
        raise RuntimeError("asked to raise")
    status = int(query.get("status", "200"))
    if "message" in query:
        body = {"message": query["message"]}
    else:
        body = {"answered_by": "function", "status": status, "request_id": context.aws_request_id}
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
