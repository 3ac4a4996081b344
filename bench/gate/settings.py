"""What a CI gate checks: the ``[gates]`` table of bench.toml, or ``--gate`` on the command line.

    [gates]
    alpha = 0.01                  # the significance level of every gate's interval or test
    inconclusive = "fail"         # what a gate that cannot decide does: fail (default) or pass
    error_rate = 0.01             # a gate at the top applies to every variant (each path)
    p95_regression = 0.10         # against --baseline: p95 worse by more than 10%, significantly

    [gates.recommended]           # the variant the decision recommends, on [traffic].path
    p95_ms = 300

    [gates.mem-512]               # one variant, by its name
    max_memory_used_ratio = 0.9

On the command line, ``--gate p95_ms=300``, ``--gate recommended.p95_ms=300`` or
``--gate mem-512.p99_ms=500`` add a gate or replace the file's. The rules live here, once:
bench/config.py reads the table from a file and names the file and field in any error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from bench.errors import UserError

ALPHA = 0.01
EVERY = "*"  # the target of a gate set at the top of [gates]: every variant
RECOMMENDED = "recommended"
INCONCLUSIVE_CHOICES = ("fail", "pass")

# Absolute gates: a threshold the measured figure must not exceed.
ABSOLUTE = {
    "p95_ms": "p95 of client latency, ms (successful calls)",
    "p99_ms": "p99 of client latency, ms (successful calls)",
    "error_rate": "share of calls that failed (any status but ok, throttles included)",
    "throttle_rate": "share of calls throttled (429)",
    "cold_start_rate": "share of calls that started cold",
    "usd_per_million": "cost per million calls, USD",
    "max_memory_used_ratio": "largest Max Memory Used / configured memory",
}
# Regression gates: the tolerated worsening against the baseline run.
REGRESSION = {
    "p95_regression": "p95 worse by more than this share (0.10 = 10%), significantly",
    "p99_regression": "p99 worse by more than this share, significantly",
    "usd_per_million_regression": "cost per million dearer by more than this share, significantly",
    "error_rate_regression": "error rate up by more than this many rate points (0.01 = 1 point), significantly",
}
GATES = {**ABSOLUTE, **REGRESSION}
OPTIONS = ("alpha", "inconclusive")
_RATES = ("error_rate", "throttle_rate", "cold_start_rate")
_VARIANT = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, order=True)
class Gate:
    """One gate: ``name`` (a key of GATES) on ``target`` (EVERY, RECOMMENDED or a variant name)."""

    target: str
    name: str
    threshold: float

    @property
    def regression(self) -> bool:
        return self.name in REGRESSION

    @property
    def label(self) -> str:
        return self.name if self.target == EVERY else f"{self.target}.{self.name}"


@dataclass(frozen=True)
class GateSettings:
    gates: tuple[Gate, ...] = ()
    alpha: float = ALPHA
    inconclusive: str = "fail"
    source: str = ""  # where the gates came from, for messages: "bench.toml", "--gate"

    def with_gates(self, extra: tuple[Gate, ...]) -> GateSettings:
        """These settings with ``extra`` added; an extra gate replaces one of the same target and name."""
        replaced = {(g.target, g.name) for g in extra}
        kept = tuple(g for g in self.gates if (g.target, g.name) not in replaced)
        return GateSettings(tuple(sorted(kept + extra)), self.alpha, self.inconclusive, self.source)


def threshold_problem(name: str, value: Any) -> str | None:
    """What is allowed for a gate's threshold, or None when ``value`` is allowed."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "must be a number"
    if name in _RATES and not 0 <= value <= 1:
        return "must be a share, 0..1"
    if name == "max_memory_used_ratio" and not 0 < value <= 1:
        return "must be a share of the configured memory, above 0 and at most 1"
    if value < 0:
        return "must be >= 0"
    if name in ("p95_ms", "p99_ms") and value == 0:
        return "must be > 0"
    return None


def target_problem(target: str) -> str | None:
    if target in (EVERY, RECOMMENDED) or _VARIANT.match(target):
        return None
    return "must be recommended or a variant name, e.g. mem-512"


def alpha_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 0.5:
        return "must be a number between 0 and 0.5 (exclusive), e.g. 0.01"
    return None


def _unknown_gate(where: str, name: str) -> UserError:
    return UserError(f"{where}: {name}: unknown gate; known: {', '.join(GATES)}")


def parse_gates_table(table: Any, where: str) -> GateSettings:
    """The GateSettings of a ``[gates]`` table; ``where`` names the file in errors (``bench.toml``)."""
    if not isinstance(table, dict):
        raise UserError(f"{where}: gates: must be a table")
    alpha = table.get("alpha", ALPHA)
    if problem := alpha_problem(alpha):
        raise UserError(f"{where}: gates.alpha = {alpha!r}: {problem}")
    inconclusive = table.get("inconclusive", "fail")
    if inconclusive not in INCONCLUSIVE_CHOICES:
        raise UserError(f"{where}: gates.inconclusive = {inconclusive!r}: must be fail or pass")
    gates: list[Gate] = []
    for key, value in table.items():
        if key in OPTIONS:
            continue
        if isinstance(value, dict):
            if problem := target_problem(key):
                raise UserError(f"{where}: gates.{key}: {problem}")
            gates += (_gate(where, f"gates.{key}.{name}", key, name, v) for name, v in value.items())
        else:
            gates.append(_gate(where, f"gates.{key}", EVERY, key, value))
    return GateSettings(tuple(sorted(gates)), float(alpha), inconclusive, where)


def _gate(where: str, field_name: str, target: str, name: str, value: Any) -> Gate:
    if name not in GATES:
        raise _unknown_gate(where, field_name)
    if problem := threshold_problem(name, value):
        raise UserError(f"{where}: {field_name} = {value!r}: {problem}")
    return Gate(target, name, float(value))


def parse_gate_option(text: str) -> Gate:
    """One ``--gate [TARGET.]NAME=THRESHOLD``, e.g. ``recommended.p95_ms=300``."""
    where = f"--gate {text}"
    spec, sep, value_text = text.partition("=")
    if not sep:
        raise UserError(f"{where}: must be [TARGET.]NAME=THRESHOLD, e.g. recommended.p95_ms=300")
    target, dot, name = spec.strip().rpartition(".")
    target = target if dot else EVERY
    if problem := target_problem(target):
        raise UserError(f"{where}: {target}: {problem}")
    try:
        value = float(value_text)
    except ValueError:
        raise UserError(f"{where}: {value_text!r}: must be a number") from None
    return _gate("--gate", name, target, name, value)


@dataclass(frozen=True)
class GateOptions:
    """The gate-related command-line options, applied over the file's settings."""

    gates: tuple[Gate, ...] = ()
    alpha: float | None = None
    inconclusive: str | None = None

    def applied_to(self, settings: GateSettings) -> GateSettings:
        merged = settings.with_gates(self.gates)
        return GateSettings(
            merged.gates,
            settings.alpha if self.alpha is None else self.alpha,
            self.inconclusive or settings.inconclusive,
            settings.source or ("--gate" if self.gates else ""),
        )
