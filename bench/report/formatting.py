"""How the report pages write numbers and run facts: one place, so HTML and Markdown agree.

A missing figure is written as an em dash, never as 0, so "no data" cannot be read as a
measurement.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

NO_DATA = "\u2014"


def fmt_ms(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:,.1f}"


def fmt_usd(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:,.4f}"


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
