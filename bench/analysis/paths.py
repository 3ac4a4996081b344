"""Direct Invoke beside API Gateway, per memory size: what the gateway adds, and what the join missed.

Reads the per-(variant, path) summaries only. The gateway's added latency is the difference of
the two paths' client percentiles at the same memory size, measured in the same interleaved
run; an API Gateway record whose log join failed has no cold flag and is counted as unmatched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .model import RunSummary, VariantSummary

GATEWAY_PATHS = ("apigw-http", "apigw-rest")


@dataclass(frozen=True)
class PathComparison:
    variant: str
    memory_mb: int | None
    path: str
    invocations: int
    matched: int  # records the log join gave a cold/warm flag
    direct_p50_ms: float | None
    direct_p95_ms: float | None
    gateway_p50_ms: float | None
    gateway_p95_ms: float | None

    @property
    def unmatched(self) -> int:
        return self.invocations - self.matched

    @property
    def added_p50_ms(self) -> float | None:
        return _minus(self.gateway_p50_ms, self.direct_p50_ms)

    @property
    def added_p95_ms(self) -> float | None:
        return _minus(self.gateway_p95_ms, self.direct_p95_ms)

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "unmatched": self.unmatched,
            "added_p50_ms": self.added_p50_ms,
            "added_p95_ms": self.added_p95_ms,
        }


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def compare_paths(summary: RunSummary) -> list[PathComparison]:
    by_key: dict[tuple[str, str], VariantSummary] = {(v.variant, v.path): v for v in summary.variants}
    rows = []
    for v in summary.variants:
        if v.path not in GATEWAY_PATHS:
            continue
        direct = by_key.get((v.variant, "direct"))
        rows.append(
            PathComparison(
                variant=v.variant,
                memory_mb=v.memory_mb,
                path=v.path,
                invocations=v.invocations,
                matched=v.cold_known,
                direct_p50_ms=direct.client_ms.p50 if direct else None,
                direct_p95_ms=direct.client_ms.p95 if direct else None,
                gateway_p50_ms=v.client_ms.p50,
                gateway_p95_ms=v.client_ms.p95,
            )
        )
    return rows
