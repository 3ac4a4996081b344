"""How the report pages write numbers and run facts: one place, so HTML and Markdown agree.

A missing figure is written as an em dash, never as 0, so "no data" cannot be read as a
measurement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

NO_DATA = "\u2014"


def fmt_ms(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:,.1f}"


def fmt_ms_short(value: float | None) -> str:
    """Milliseconds in at most 6 characters, for narrow columns: "301.5", then seconds: "1.05 s",
    "10.5 s", "105 s". A second and more is read faster as seconds than as "1,050.2"."""
    if value is None:
        return NO_DATA
    if round(value, 1) < 1000:
        return f"{value:.1f}"
    seconds = value / 1000
    if round(seconds, 2) < 10:
        return f"{seconds:.2f} s"
    if round(seconds, 1) < 100:
        return f"{seconds:.1f} s"
    return f"{seconds:,.0f} s"


def fmt_usd(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:,.4f}"


def fmt_money(value: float | None) -> str:
    """Dollars for a sentence: "$1,234", "$12.34", "$0.0542", "<$0.001" (signed when negative)."""
    if value is None:
        return NO_DATA
    sign, amount = ("-" if value < 0 else ""), abs(value)
    if amount >= 100:
        return f"{sign}${amount:,.0f}"
    if amount >= 1 or amount == 0:
        return f"{sign}${amount:,.2f}"
    if amount >= 0.001:
        return f"{sign}${amount:.4f}"
    return f"{sign}<$0.001"


def fmt_share(share: float | None) -> str:
    """A predicted share as a percentage with 2 significant digits where small: 68%, 1.5%,
    0.05%, 0.0006%; exactly 0 is "0%". (fmt_pct's one decimal would show 0.006% as 0.0%.)"""
    if share is None:
        return NO_DATA
    pct = share * 100
    if pct == 0:
        return "0%"
    if pct < 0.0001:
        return "<0.0001%"
    return f"{pct:.2g}%" if pct < 10 else f"{pct:.0f}%"


def fmt_count(value: float | None) -> str:
    """A large count for a sentence: "2,600", "10 million", "1.5 million"."""
    if value is None:
        return NO_DATA
    if value >= 1e6:
        millions = f"{value / 1e6:,.2f}".rstrip("0").rstrip(".")
        return f"{millions} million"
    return f"{value:,.0f}"


def fmt_int(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:,.0f}"


def fmt_mb(value: int | None) -> str:
    # Memory sizes are read as identifiers ("mem-1024"), so no thousands separator.
    return NO_DATA if value is None else str(value)


def fmt_fact(value: Any) -> str:
    """One run fact as text: mappings as ``key=value, ...``, lists joined, dates in ISO form."""
    if value is None or value == "":
        return "not recorded"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={fmt_fact(v)}" for k, v in value.items()) or "not recorded"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt_fact(v) for v in value) or "not recorded"
    return str(value)


def fmt_pct(value: float | None) -> str:
    """A proportion as a percentage: one decimal below 10%, none above."""
    if value is None:
        return NO_DATA
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


def fmt_interval(interval: Any, fmt: Callable[[float | None], str] = fmt_ms) -> str:
    """An interval as "[lo–hi]"; "no interval" when it could not be computed; "" when absent.

    ``interval`` is a bench.analysis.stats.Interval or None (no figure, or a version-1 file).
    """
    if interval is None:
        return ""
    if not interval.known:
        return "no interval"
    return f"[{fmt(interval.lo)}\u2013{fmt(interval.hi)}]"


def fmt_with_interval(value: float | None, interval: Any, fmt: Callable[[float | None], str] = fmt_ms) -> str:
    """A figure with its interval beside it, "123.4 [118.0–130.2]", for plain-text tables."""
    text = fmt(value)
    if value is None or interval is None:
        return text
    return f"{text} {fmt_interval(interval, fmt) if interval.known else '(no interval)'}"


def interval_title(interval: Any) -> str:
    """A tooltip naming how an interval was made, or why there is none."""
    if interval is None:
        return "no interval recorded"
    if not interval.known:
        return f"no interval: {interval.reason}"
    return f"{interval.confidence:.0%} interval, {interval.method}"


def cold_share_of_billed(v: Any) -> float | None:
    """The share of billed milliseconds spent in cold invocations (INIT included), from the
    warm and cold means and their n; None when either is unknown."""
    warm, cold = v.billed_ms_warm, v.billed_ms_cold
    if warm is None or cold is None or not (warm.n + cold.n):
        return None
    total = (warm.value or 0.0) * warm.n + (cold.value or 0.0) * cold.n
    return None if total == 0 else (cold.value or 0.0) * cold.n / total
