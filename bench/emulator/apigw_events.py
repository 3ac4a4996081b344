"""The events API Gateway sends a Lambda function, and how it maps the function's answer back.

HTTP API (payload format 2.0) and REST API (payload format 1.0, Lambda proxy), with the shapes
of shared/fixtures/aws/apigw-*-event.json. Each alias is a stage: the URL path after the API's
base is ``/{stage}/{proxy+}``. As on AWS, a 2.0 event's rawPath keeps the stage prefix of a named
stage, while a 1.0 event's ``path`` does not (its requestContext.path does).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from .registry import ACCOUNT, REGION

TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "+json",
    "+xml",
)
V1_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


@dataclass(frozen=True)
class GatewayRequest:
    """What the front received, independent of aiohttp."""

    method: str
    stage: str
    proxy: str  # the path after /{stage}/, without a leading slash
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    request_id: str
    api_id: str
    epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))


def api_id(function: str, kind: str) -> str:
    return hashlib.sha256(f"{function}/{kind}".encode()).hexdigest()[:10]


def _body(request: GatewayRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    content_type = next((v for k, v in request.headers if k.lower() == "content-type"), "")
    if any(t in content_type for t in TEXT_TYPES) or not content_type:
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode(), True


def _clf_time(epoch_ms: int) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000))


def _header(request: GatewayRequest, name: str, default: str = "") -> str:
    return next((v for k, v in request.headers if k.lower() == name), default)


def http_api_event(request: GatewayRequest) -> dict:
    """Payload format 2.0: lower-cased headers joined by commas, cookies apart, rawPath with stage."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        if name.lower() == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    raw_path = f"/{request.stage}/{request.proxy}"
    body, is_base64 = _body(request)
    event = {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": raw_path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": request.api_id,
            "domainName": f"{request.api_id}.execute-api.{REGION}.amazonaws.com",
            "domainPrefix": request.api_id,
            "http": {
                "method": request.method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": _header(request, "user-agent"),
            },
            "requestId": request.request_id,
            "routeKey": "ANY /{proxy+}",
            "stage": request.stage,
            "time": _clf_time(request.epoch_ms),
            "timeEpoch": request.epoch_ms,
        },
        "pathParameters": {"proxy": request.proxy},
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = cookies
    if request.query:
        params: dict[str, str] = {}
        for key, value in parse_qsl(request.query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    if body is not None:
        event["body"] = body
    return event


def rest_api_event(request: GatewayRequest, extended_id: str) -> dict:
    """Payload format 1.0 (REST Lambda proxy): every key present, null where there is nothing."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    pairs = parse_qsl(request.query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for key, value in pairs:
        multi_query.setdefault(key, []).append(value)
    path = f"/{request.proxy}"
    body, is_base64 = _body(request)
    identity_keys = (
        "accessKey",
        "accountId",
        "caller",
        "cognitoAuthenticationProvider",
        "cognitoAuthenticationType",
        "cognitoIdentityId",
        "cognitoIdentityPoolId",
        "principalOrgId",
        "user",
        "userArn",
        "clientCert",
    )
    identity: dict[str, str | None] = dict.fromkeys(identity_keys)
    identity.update({"sourceIp": request.source_ip, "userAgent": _header(request, "user-agent")})
    return {
        "version": "1.0",
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": request.api_id,
            "authorizer": {"claims": None, "scopes": None},
            "domainName": f"{request.api_id}.execute-api.{REGION}.amazonaws.com",
            "domainPrefix": request.api_id,
            "extendedRequestId": extended_id,
            "httpMethod": request.method,
            "identity": identity,
            "path": f"/{request.stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request.request_id,
            "requestTime": _clf_time(request.epoch_ms),
            "requestTimeEpoch": request.epoch_ms,
            "resourceId": None,
            "resourcePath": "/{proxy+}",
            "stage": request.stage,
        },
        "pathParameters": {"proxy": request.proxy},
        "stageVariables": None,
        "body": body,
        "isBase64Encoded": is_base64,
    }


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class MalformedResponse(ValueError):
    """The function's answer is not one API Gateway can map (a 502 on REST, a 500 on HTTP API)."""


def _proxy_response(answer: dict, allow_cookies: bool) -> GatewayResponse:
    status = answer.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status!r}")
    headers: list[tuple[str, str]] = []
    for name, value in (answer.get("headers") or {}).items():
        headers.append((str(name), str(value)))
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        if not isinstance(values, list):
            raise MalformedResponse(f"multiValueHeaders[{name}] is not a list")
        headers.extend((str(name), str(v)) for v in values)
    if allow_cookies:
        headers.extend(("Set-Cookie", str(c)) for c in answer.get("cookies") or [])
    body = answer.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResponse("body is not a string")
    data = (body or "").encode()
    if answer.get("isBase64Encoded"):
        data = base64.b64decode(data)
    return GatewayResponse(status, headers, data)


def map_rest_response(payload: bytes) -> GatewayResponse:
    """1.0: exactly the proxy shape, or API Gateway answers 502."""
    try:
        answer = json.loads(payload)
    except ValueError:
        raise MalformedResponse("not JSON") from None
    if not isinstance(answer, dict) or not set(answer) <= V1_RESPONSE_KEYS:
        raise MalformedResponse("not the Lambda proxy response shape")
    return _proxy_response(answer, allow_cookies=False)


def map_http_response(payload: bytes) -> GatewayResponse:
    """2.0: the proxy shape if statusCode is there; any other JSON is a 200 application/json."""
    try:
        answer = json.loads(payload)
    except ValueError:
        raise MalformedResponse("not JSON") from None
    if isinstance(answer, dict) and "statusCode" in answer:
        response = _proxy_response(answer, allow_cookies=True)
        if not any(k.lower() == "content-type" for k, _ in response.headers):
            response.headers.append(("Content-Type", "application/json"))
        return response
    return GatewayResponse(200, [("Content-Type", "application/json")], payload)
