"""AWS-shaped error responses, so that boto3 raises the same exceptions as against AWS.

Also the one way a Lambda API handler reads a request body: :func:`read_body` holds it to the
operation's own limit and answers an oversized body with the typed 413 AWS sends, where aiohttp
alone would answer a text/plain 413 that boto3 cannot parse.
"""

from __future__ import annotations

import json
import re

from aiohttp import web
from aiohttp.typedefs import Middleware

# The Lambda API's paths start with their API version (/2015-03-31/functions, /2017-10-31/...);
# the Logs API (POST /) and the API Gateway fronts have error shapes of their own.
LAMBDA_API_PATH = re.compile(r"^/\d{4}-\d{2}-\d{2}/")
READ_CHUNK = 64 * 1024


class LambdaApiError(Exception):
    """An error the Lambda API returns: boto3 reads the type from x-amzn-ErrorType."""

    def __init__(self, status: int, error_type: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.extra = extra

    def body(self) -> bytes:
        return json.dumps({"Type": "User", "message": self.message, **self.extra}).encode()

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            body=self.body(),
            content_type="application/json",
            headers={"x-amzn-ErrorType": self.error_type},
        )


def not_found(what: str) -> LambdaApiError:
    return LambdaApiError(404, "ResourceNotFoundException", f"{what} not found")


def conflict(message: str) -> LambdaApiError:
    return LambdaApiError(409, "ResourceConflictException", message)


def invalid(message: str) -> LambdaApiError:
    return LambdaApiError(400, "InvalidParameterValueException", message)


def validation(where: str, constraint: str, value: str | None = None) -> LambdaApiError:
    """A value outside the API model's constraints, worded as AWS's request validation words it.

    AWS leaves the value out of the message where it may be secret (environment variables).
    """
    shown = f"Value '{value}' at" if value is not None else "Value at"
    message = f"1 validation error detected: {shown} '{where}' failed to satisfy constraint: {constraint}"
    return LambdaApiError(400, "ValidationException", message)


def unparsable(reason: str) -> LambdaApiError:
    """A body that is not the JSON the operation takes (Lambda: InvalidRequestContentException)."""
    return LambdaApiError(400, "InvalidRequestContentException", f"Could not parse request body into json: {reason}")


def too_large(limit: int, operation: str) -> LambdaApiError:
    # botocore models RequestTooLargeException, so boto3 raises a plain ClientError with this code,
    # exactly as against AWS.
    return LambdaApiError(
        413,
        "RequestEntityTooLargeException",
        f"Request must be smaller than {limit} bytes for the {operation} operation",
    )


async def read_body(request: web.Request, limit: int, operation: str) -> bytes:
    """The body, or the typed 413 once it passes ``limit``: never more than ``limit`` bytes in memory.

    A declared Content-Length over the limit is refused before a byte is read (aiohttp then
    drains the rest of the upload, so the client reads the answer instead of a reset).
    """
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit, operation)
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large(limit, operation)
        chunks.append(chunk)
    return b"".join(chunks)


def aws_errors(max_body: int) -> Middleware:
    """The middleware that answers every LambdaApiError, and aiohttp's own 413, as AWS would.

    ``max_body`` is the app's client_max_size, which a handler reading with request.json() or
    request.read() hits before any limit of its own.
    """

    @web.middleware
    async def middleware(request: web.Request, handler):
        try:
            return await handler(request)
        except LambdaApiError as err:
            return err.response()
        except web.HTTPRequestEntityTooLarge:
            if not LAMBDA_API_PATH.match(request.path):
                raise
            resource = request.match_info.route.resource
            where = resource.canonical if resource is not None else request.path
            return too_large(max_body, f"{request.method} {where}").response()

    return middleware
