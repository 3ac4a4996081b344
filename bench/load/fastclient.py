"""A fast Lambda Invoke client: boto3's request, signed with botocore's SigV4, sent over geventhttpclient.

boto3's ``invoke`` spends about 450 µs of CPU per call here (serialisation, its event system,
urllib3), so a boto3 LambdaUser saturates a core at about 2k invokes/s. This client puts the very
request on the wire that boto3 does for Invoke (method, path, query, body, signed headers), but
botocore works out each distinct request's canonical form only once; what is left per call is the
date, one SHA-256 of the canonical request and one HMAC.

It answers with the raw reply (status, lower-cased headers, body); bench/load/invoker.py turns that
into a record, from this client or from boto3 alike. It uses geventhttpclient's connection pool
(keep-alive; a dead idle connection is replaced before use) and its response parser, but writes the
request itself: the one request it sends is fixed in shape, and HTTPClient's generic header merging
and validation cost about a fifth of the call. It does not go through Locust's FastHttpSession,
which fires a request event of its own for every request: lambench fires exactly one per invoke,
the one carrying the record.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import botocore
import botocore.session
import gevent.ssl
import locust  # noqa: F401  (gevent patches sockets before botocore and urllib3 load)
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import NoCredentialsError
from botocore.utils import percent_encode
from geventhttpclient import __version__ as GEVENTHTTPCLIENT_VERSION
from geventhttpclient.connectionpool import ConnectionPool, SSLConnectionPool
from geventhttpclient.response import HTTPParseError, HTTPSocketPoolResponse

from .. import awsclient

SERVICE = "lambda"
INVOKE_PATH = "/2015-03-31/functions/{}/invocations"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"  # botocore's SIGV4_TIMESTAMP
USER_AGENT = f"lambench-fastclient geventhttpclient/{GEVENTHTTPCLIENT_VERSION} Botocore/{botocore.__version__}"
# boto3 (urllib3) asks for an uncompressed answer; so do we, so that the server does the same work.
BASE_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
DEFAULT_PORTS = {"http": 80, "https": 443}
# Distinct requests whose canonical form is kept; a caller that varies the payload every call
# would otherwise grow the cache without bound.
MAX_TEMPLATES = 256
_DATE_PLACEHOLDER = "00000000T000000Z"


@dataclass(frozen=True, slots=True)
class InvokeReply:
    """One Invoke answer as it came off the wire, whichever client fetched it.

    ``headers`` has lower-cased names, repeated headers joined with ", " (as urllib3 and so
    botocore see them).
    """

    status: int
    headers: Mapping[str, str]
    body: bytes


class TransportError(Exception):
    """No HTTP answer at all. ``error_type`` is botocore's name for the same failure."""

    def __init__(self, error_type: str, detail: str = "") -> None:
        super().__init__(f"{error_type}: {detail}" if detail else error_type)
        self.error_type = error_type


def lambda_endpoint(endpoint_url: str | None, region: str) -> str:
    """The endpoint boto3 would use: the given URL, else AWS's own Lambda endpoint for the region."""
    if endpoint_url:
        return endpoint_url
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://lambda.{region}.{suffix}"


def resolve_credentials(endpoint_url: str | None):
    """botocore's credential chain; the placeholder of bench/awsclient.py for a local emulator without any.

    Returns botocore's Credentials object itself (refreshable ones included), so that temporary
    credentials are refreshed by botocore as they near their expiry.
    """
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None and awsclient.is_local(endpoint_url):
        placeholder = awsclient.PLACEHOLDER_CREDENTIALS
        return Credentials(placeholder["aws_access_key_id"], placeholder["aws_secret_access_key"])
    if credentials is None:
        raise NoCredentialsError()
    return credentials


def invoke_target(function_name: str, qualifier: str | None, base_path: str = "") -> str:
    """Path and query of an Invoke request, encoded as botocore encodes them (rest-json, uri label)."""
    path = base_path.rstrip("/") + INVOKE_PATH.format(percent_encode(function_name))
    return path if qualifier is None else f"{path}?Qualifier={percent_encode(qualifier)}"


def invoke_headers(
    log_type: str | None = None, invocation_type: str | None = None, client_context: str | None = None
) -> dict[str, str]:
    """The Invoke parameters that travel as headers; like boto3, only those given are sent.

    boto3 sends no Content-Type for Invoke (its payload is a raw blob), so neither do we.
    """
    headers = {}
    if invocation_type is not None:
        headers["X-Amz-Invocation-Type"] = invocation_type
    if log_type is not None:
        headers["X-Amz-Log-Type"] = log_type
    if client_context is not None:
        headers["X-Amz-Client-Context"] = client_context
    for name, value in headers.items():
        # The request is written by hand: a line break in a value would forge headers.
        if "\r" in value or "\n" in value:
            raise ValueError(f"{name}: a header value cannot hold a line break")
    return headers


def host_header(url: str) -> str:
    """The Host value botocore signs and urllib3 sends: no port when it is the scheme's default."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


@dataclass(frozen=True, slots=True)
class _Template:
    """The canonical request of one distinct Invoke, split around its only changing part: the date."""

    canonical_head: str
    canonical_tail: str
    signed_headers: str
    headers: dict[str, str]  # what is sent besides the date and the signature


class InvokeSigner:
    """SigV4 for Invoke requests. botocore's SigV4Auth canonicalises each distinct request once;
    every call is then signed afresh with its own date (SigV4 dates have one-second resolution).
    """

    def __init__(self, credentials, region: str) -> None:
        self._credentials = credentials
        self._region = region
        self._scope_tail = f"{region}/{SERVICE}/aws4_request"
        self._frozen: Any = None  # the credentials the caches below were built for (botocore, untyped)
        self._templates: dict[tuple, _Template] = {}
        self._day_key: tuple[str, bytes] = ("", b"")
        self._second = -1
        self._amz_date = ""

    def sign(self, url: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """Every header to send for a POST of ``body`` to ``url``: ``headers``, Host, the date, the signature."""
        # Refreshable credentials refresh themselves here, as they do inside botocore's own signer.
        frozen = self._credentials.get_frozen_credentials()
        if frozen != self._frozen:
            self._frozen, self._templates, self._day_key = frozen, {}, ("", b"")
        template = self._template(url, headers, body)
        amz_date = self._now()
        day = amz_date[:8]
        canonical = template.canonical_head + amz_date + template.canonical_tail
        string_to_sign = (
            f"AWS4-HMAC-SHA256\n{amz_date}\n{day}/{self._scope_tail}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        )
        signature = hmac.new(self._signing_key(day), string_to_sign.encode(), hashlib.sha256).hexdigest()
        return {
            **template.headers,
            "X-Amz-Date": amz_date,
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential={frozen.access_key}/{day}/{self._scope_tail}, "
                f"SignedHeaders={template.signed_headers}, Signature={signature}"
            ),
        }

    def _template(self, url: str, headers: dict[str, str], body: bytes) -> _Template:
        key = (url, tuple(headers.items()), body)
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) >= MAX_TEMPLATES:
                self._templates.clear()
            template = self._templates[key] = self._canonicalise(url, headers, body)
        return template

    def _canonicalise(self, url: str, headers: dict[str, str], body: bytes) -> _Template:
        # Exactly the headers botocore's add_auth would have on the request when it signs.
        signed = {"Host": host_header(url), **headers, "X-Amz-Date": _DATE_PLACEHOLDER}
        if self._frozen.token:
            signed["X-Amz-Security-Token"] = self._frozen.token
        request = AWSRequest(method="POST", url=url, headers=signed, data=body)
        auth = SigV4Auth(self._frozen, SERVICE, self._region)
        canonical = auth.canonical_request(request)
        # Canonical header lines are newline-separated and nothing else in the canonical request
        # holds a raw newline, so the date line is found exactly once.
        head, found, tail = canonical.partition(f"\nx-amz-date:{_DATE_PLACEHOLDER}\n")
        if not found:
            raise ValueError("botocore's canonical request has no x-amz-date line")
        sent = {name: value for name, value in signed.items() if name != "X-Amz-Date"}
        return _Template(head + "\nx-amz-date:", "\n" + tail, auth.signed_headers(auth.headers_to_sign(request)), sent)

    def _signing_key(self, day: str) -> bytes:
        # The SigV4 key chain depends only on the secret and the day: derive it once a day.
        if self._day_key[0] != day:
            key = ("AWS4" + self._frozen.secret_key).encode()
            for part in (day, self._region, SERVICE, "aws4_request"):
                key = hmac.digest(key, part.encode(), "sha256")
            self._day_key = (day, key)
        return self._day_key[1]

    def _now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second, self._amz_date = second, time.strftime(AMZ_DATE_FORMAT, time.gmtime(second))
        return self._amz_date


class FastLambdaClient:
    """Invoke over keep-alive connections from one pool (connections open lazily, one per call in flight)."""

    def __init__(
        self,
        endpoint_url: str | None,
        region: str,
        credentials=None,
        pool_size: int = 10,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 930.0,
    ) -> None:
        self.endpoint = lambda_endpoint(endpoint_url, region)
        parts = urlsplit(self.endpoint)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._base_path = parts.path
        self._signer = InvokeSigner(credentials or resolve_credentials(endpoint_url), region)
        self._head_tail = "".join(f"{name}: {value}\r\n" for name, value in BASE_HEADERS.items())
        # read_timeout_s: the longest Lambda timeout (900 s), plus margin.
        self._pool = connection_pool(self.endpoint, pool_size, connect_timeout_s, read_timeout_s, ca_bundle())

    def invoke(
        self,
        function_name: str,
        qualifier: str | None = None,
        payload: bytes = b"",
        *,
        log_type: str | None = None,
        invocation_type: str | None = None,
        client_context: str | None = None,
    ) -> InvokeReply:
        """One Invoke, with boto3's parameters (the same ones boto3 would send as headers).

        Raises TransportError when no HTTP answer came back.
        """
        target = invoke_target(function_name, qualifier, self._base_path)
        headers = self._signer.sign(
            self._origin + target, invoke_headers(log_type, invocation_type, client_context), payload
        )
        try:
            response = self._exchange(target, headers, payload)
            body = response.read()
        except (OSError, HTTPParseError) as err:
            raise TransportError(botocore_error_name(err), str(err)) from err
        return InvokeReply(
            response.status_code, {name.lower(): value for name, value in response.info().itermerged()}, body
        )

    def _exchange(self, target: str, headers: dict[str, str], body: bytes) -> HTTPSocketPoolResponse:
        head = (
            f"POST {target} HTTP/1.1\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            + f"{self._head_tail}Content-Length: {len(body)}\r\n\r\n"
        )
        sock = self._pool.get_socket()
        try:
            # One write: a request split in two would wait on Nagle and delayed ACKs.
            sock.sendall(head.encode("latin-1") + body)
        except BaseException:
            self._pool.release_socket(sock)  # also when the user's greenlet is killed mid-send
            raise
        # The response hands the connection back to the pool once read, or closes it on error.
        return HTTPSocketPoolResponse(sock, self._pool, method="POST")

    def close(self) -> None:
        self._pool.close()


def ca_bundle() -> str | None:
    """The CA bundle botocore would verify TLS with (AWS_CA_BUNDLE, or ca_bundle in the AWS config), if any."""
    return botocore.session.get_session().get_config_variable("ca_bundle")


def connection_pool(
    endpoint: str, size: int, connect_timeout_s: float, read_timeout_s: float, ca_certs: str | None = None
) -> ConnectionPool:
    """geventhttpclient's keep-alive pool for the endpoint; for https, certificates and host name verified."""
    parts = urlsplit(endpoint)
    if parts.hostname is None:
        raise ValueError(f"endpoint {endpoint!r}: no host name")
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    options: dict[str, Any] = {"size": size, "connection_timeout": connect_timeout_s, "network_timeout": read_timeout_s}
    if parts.scheme == "https":
        return SSLConnectionPool(
            parts.hostname,
            port,
            parts.hostname,
            port,
            ssl_context_factory=gevent.ssl.create_default_context,
            ssl_options={"ca_certs": ca_certs} if ca_certs else None,
            **options,
        )
    return ConnectionPool(parts.hostname, port, parts.hostname, port, **options)


def botocore_error_name(err: BaseException) -> str:
    """botocore's exception name for the same transport failure, so records read alike from both clients."""
    connecting = _raised_while_connecting(err)
    if isinstance(err, ssl.SSLError):
        return "SSLError"
    if isinstance(err, TimeoutError):
        return "ConnectTimeoutError" if connecting else "ReadTimeoutError"
    if connecting:
        return "EndpointConnectionError"
    if isinstance(err, (ConnectionError, HTTPParseError)):
        return "ConnectionClosedError"
    return type(err).__name__


def _raised_while_connecting(err: BaseException) -> bool:
    # geventhttpclient raises connect and read failures from the same request() call; only the
    # traceback tells whether the pool was opening a connection (botocore names the two apart).
    return any(frame.f_code.co_name == "_create_socket" for frame, _ in traceback.walk_tb(err.__traceback__))
