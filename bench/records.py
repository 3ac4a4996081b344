"""The InvocationRecord: one row per invocation, the contract between the stages.

Load produces records, collect stores and aggregates them, analysis reads them.
The fields and their meaning are those of DESIGN.md's table; the record is frozen
and validated when it is built, so a bad row fails at the edge that made it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

PATHS = ("direct", "apigw-http", "apigw-rest")
STATUSES = ("ok", "function_error", "throttled", "timeout", "client_error", "transport_error")
# The key under which a load user hands its InvocationRecord to collect, in Locust's request event context.
CONTEXT_KEY = "lambench_record"


@dataclass(frozen=True, slots=True)
class InvocationRecord:
    run_id: str
    variant: str
    path: str
    t_start_ns: int
    client_ms: float
    status: str
    error_type: str | None = None
    request_id: str | None = None
    cold: bool | None = None
    init_ms: float | None = None
    duration_ms: float | None = None
    billed_ms: int | None = None
    max_memory_mb: int | None = None
    memory_mb: int | None = None
    payload_bytes: int = 0
    response_bytes: int = 0
    worker: str = "local"
    # on-demand | provisioned-concurrency, where the target says (the emulator does; AWS does not)
    init_type: str | None = None
    # API Gateway's own request id (apigw-requestid / x-amzn-RequestId): the key of the log join
    gateway_request_id: str | None = None
    # SnapStart: the REPORT line's Billed Restore Duration, billed on top of Billed Duration
    billed_restore_ms: int | None = None

    def __post_init__(self) -> None:
        if self.path not in PATHS:
            raise ValueError(f"path {self.path!r}: must be one of {', '.join(PATHS)}")
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r}: must be one of {', '.join(STATUSES)}")
        if self.client_ms < 0:
            raise ValueError(f"client_ms {self.client_ms}: must be >= 0")
        if self.cold is False and self.init_ms is not None:
            raise ValueError("a warm invocation cannot carry init_ms")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(InvocationRecord))
