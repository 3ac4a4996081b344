"""AWS-shaped error responses, so that boto3 raises the same exceptions as against AWS."""

from __future__ import annotations

import json

from aiohttp import web


class LambdaApiError(Exception):
    """An error the Lambda API returns: boto3 reads the type from x-amzn-ErrorType."""

    def __init__(self, status: int, error_type: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.extra = extra

    def response(self) -> web.Response:
        body = {"Type": "User", "message": self.message, **self.extra}
        return web.Response(
            status=self.status,
            body=json.dumps(body).encode(),
            content_type="application/json",
            headers={"x-amzn-ErrorType": self.error_type},
        )


def not_found(what: str) -> LambdaApiError:
    return LambdaApiError(404, "ResourceNotFoundException", f"{what} not found")


def conflict(message: str) -> LambdaApiError:
    return LambdaApiError(409, "ResourceConflictException", message)


def invalid(message: str) -> LambdaApiError:
    return LambdaApiError(400, "InvalidParameterValueException", message)


@web.middleware
async def aws_errors(request: web.Request, handler):
    try:
        return await handler(request)
    except LambdaApiError as err:
        return err.response()
