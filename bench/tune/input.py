"""aws-lambda-power-tuning's execution input, read and checked: the drop-in half of ``lambench tune``.

Every field APLT documents (README-EXECUTE.md, "State machine input") is accepted with APLT's
meaning and defaults, read from its source (alexcasalboni/aws-lambda-power-tuning 4.4.0, commit
262ecc2: lambda/initializer.js, executor.js, analyzer.js, utils.js). ``payloadS3`` is refused
(no S3 here), and so is any field APLT does not know: a typo must not pass silently. A bad value
is one UserError naming the file, the field and what is allowed, where APLT would clamp or
coerce quietly (balancedWeight, discardTopBottom) or fail deep in a state machine.

``generate_payloads`` is APLT's: ``num`` payloads, a weighted list filled in order by weight.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.awsfacts import MEMORY_MAX_MB, MEMORY_MIN_MB
from bench.errors import UserError

# template.yml's PowerValues default, used when the input gives none (initializer.js:70-76).
DEFAULT_POWER_VALUES = (128, 256, 512, 1024, 1536, 3008)
DEFAULT_DISCARD = 0.2  # executor.js:111
MAX_DISCARD = 0.4  # executor.js:120
MIN_NUM = 5  # initializer.js:89
STRATEGIES = ("cost", "speed", "balanced")
# A function name or its unqualified ARN (APLT tunes $LATEST; the aliases are its own).
_NAME = r"[a-zA-Z0-9_-]{1,64}"
_ARN = re.compile(rf"arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{{12}}):function:({_NAME})")
_ALIAS = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}")

FIELDS = (
    "lambdaARN", "num", "powerValues", "payload", "payloadS3", "parallelInvocation", "strategy",
    "balancedWeight", "autoOptimize", "autoOptimizeAlias", "dryRun", "preProcessorARN", "postProcessorARN",
    "discardTopBottom", "sleepBetweenRunsMs", "disablePayloadLogs", "includeOutputResults", "onlyColdStarts",
    "allowedExceptions",
)  # fmt: skip


@dataclass(frozen=True)
class TuneInput:
    """One APLT execution input, checked. ``payload`` is as given (None when absent)."""

    lambda_arn: str
    num: int
    power_values: tuple[int, ...]
    payload: Any = None
    parallel: bool = False
    strategy: str = "cost"
    balanced_weight: float = 0.5
    auto_optimize: bool = False
    auto_optimize_alias: str | None = None
    dry_run: bool = False
    pre_processor_arn: str | None = None
    post_processor_arn: str | None = None
    discard_top_bottom: float = DEFAULT_DISCARD
    sleep_between_runs_ms: int = 0
    disable_payload_logs: bool = False
    include_output_results: bool = False
    only_cold_starts: bool = False
    allowed_exceptions: tuple[str, ...] = ()

    @property
    def function_name(self) -> str:
        """The function's name, from the name or its ARN."""
        match = _ARN.fullmatch(self.lambda_arn)
        return match.group(3) if match else self.lambda_arn

    @property
    def region(self) -> str | None:
        """The ARN's region; None for a bare name."""
        match = _ARN.fullmatch(self.lambda_arn)
        return match.group(1) if match else None

    @property
    def discard(self) -> float:
        """The trimmed mean's cut: APLT keeps every invocation when each is a cold start (executor.js:115)."""
        return 0.0 if self.only_cold_starts else self.discard_top_bottom


class _Checker:
    """Reads one field at a time and turns a bad one into one line: 'FILE: FIELD = VALUE: RULE'."""

    def __init__(self, raw: dict[str, Any], where: str) -> None:
        self.raw, self.where = raw, where

    def fail(self, name: str, rule: str) -> UserError:
        shown = json.dumps(self.raw.get(name))
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return UserError(f"{self.where}: {name} = {shown}: {rule}")

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, "must be true or false")
        return value

    def text(self, name: str, pattern: re.Pattern[str] | None = None, rule: str = "") -> str | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value or (pattern is not None and not pattern.fullmatch(value)):
            raise self.fail(name, rule or "must be a non-empty string")
        return value

    def number(self, name: str, low: float, high: float, default: float) -> float:
        value = self.raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(name, f"must be a number from {low:g} to {high:g}")
        if not low <= value <= high:
            raise self.fail(name, f"must be from {low:g} to {high:g}")
        return float(value)


def parse_input(raw: Any, where: str = "input") -> TuneInput:
    """Check an APLT execution input (a parsed JSON object) and return it as a TuneInput."""
    if not isinstance(raw, dict):
        raise UserError(f"{where}: must be a JSON object with APLT's fields (lambdaARN, num, ...)")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise UserError(f"{where}: {unknown[0]}: not a field of aws-lambda-power-tuning's input "
                        f"(known: {', '.join(FIELDS)})")  # fmt: skip
    c = _Checker(raw, where)
    if raw.get("payloadS3") is not None:
        raise c.fail("payloadS3", "not supported: lambench reads no S3; put the payload in the input's payload field")
    arn = raw.get("lambdaARN")
    if not isinstance(arn, str) or not (re.fullmatch(_NAME, arn) or _ARN.fullmatch(arn)):
        raise c.fail("lambdaARN", "required: a function name or its unqualified ARN, "
                     "arn:aws:lambda:REGION:ACCOUNT:function:NAME")  # fmt: skip
    num = _num(c)
    strategy = raw.get("strategy", "cost")
    if strategy not in STRATEGIES:
        raise c.fail("strategy", "must be one of " + ", ".join(STRATEGIES))
    sleep_ms = raw.get("sleepBetweenRunsMs", 0)
    if isinstance(sleep_ms, bool) or not isinstance(sleep_ms, int) or sleep_ms < 0:
        raise c.fail("sleepBetweenRunsMs", "must be a whole number of milliseconds >= 0")
    allowed = raw.get("allowedExceptions", [])
    if not isinstance(allowed, list) or not all(isinstance(e, str) and e for e in allowed):
        raise c.fail("allowedExceptions", 'must be a list of error types, e.g. ["HandledError"]')
    parsed = TuneInput(
        lambda_arn=arn,
        num=num,
        power_values=_power_values(c),
        payload=raw.get("payload"),
        parallel=c.boolean("parallelInvocation"),
        strategy=strategy,
        balanced_weight=c.number("balancedWeight", 0.0, 1.0, 0.5),
        auto_optimize=c.boolean("autoOptimize"),
        auto_optimize_alias=c.text(
            "autoOptimizeAlias", _ALIAS, "must be an alias name: 1-128 of a-z, A-Z, 0-9, - and _, not all digits"
        ),
        dry_run=c.boolean("dryRun"),
        pre_processor_arn=c.text("preProcessorARN"),
        post_processor_arn=c.text("postProcessorARN"),
        discard_top_bottom=c.number("discardTopBottom", 0.0, MAX_DISCARD, DEFAULT_DISCARD),
        sleep_between_runs_ms=sleep_ms,
        disable_payload_logs=c.boolean("disablePayloadLogs"),
        include_output_results=c.boolean("includeOutputResults"),
        only_cold_starts=c.boolean("onlyColdStarts"),
        allowed_exceptions=tuple(allowed),
    )
    try:
        generate_payloads(parsed.num, parsed.payload)
    except ValueError as err:
        raise c.fail("payload", str(err)) from None
    return parsed


def _num(c: _Checker) -> int:
    # APLT parses num with parseInt (initializer.js:62), so "10" is accepted as 10.
    value = c.raw.get("num")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_NUM:
        raise c.fail("num", f"required: a whole number of invocations per size, at least {MIN_NUM}")
    return value


def _power_values(c: _Checker) -> tuple[int, ...]:
    value = c.raw.get("powerValues")
    if value == "ALL":
        return all_power_values()
    if value is None or value == []:
        return DEFAULT_POWER_VALUES
    rule = f'must be "ALL" or a list of distinct whole MB from {MEMORY_MIN_MB} to {MEMORY_MAX_MB}'
    if not isinstance(value, list):
        raise c.fail("powerValues", rule)
    sizes = []
    for item in value:
        # APLT's list may come from a comma-separated template parameter: numeric strings count.
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int) or not MEMORY_MIN_MB <= item <= MEMORY_MAX_MB:
            raise c.fail("powerValues", rule)
        sizes.append(item)
    if len(set(sizes)) != len(sizes):
        raise c.fail("powerValues", rule)
    return tuple(sizes)


def all_power_values() -> tuple[int, ...]:
    """APLT's "ALL": 128 to 3008 MB in steps of 64 (utils.js:69-76)."""
    return tuple(range(128, 3008 + 1, 64))


def is_weighted(payload: Any) -> bool:
    """APLT's test (utils.js:492-500): a non-empty list whose items all have a truthy weight and payload."""
    return (
        isinstance(payload, list)
        and bool(payload)
        and all(isinstance(p, dict) and _truthy(p.get("weight")) and _truthy(p.get("payload")) for p in payload)
    )


def _truthy(value: Any) -> bool:
    # JavaScript's truthiness for JSON values: {} and [] are truthy, 0 and "" are not.
    return value is not None and value is not False and value != 0 and value != ""


def convert_payload(payload: Any) -> bytes:
    """The bytes APLT sends (utils.js:503-530): a string that is already JSON as is, else JSON.stringify;
    no payload at all is an empty body."""
    if payload is None:
        return b""
    if isinstance(payload, str):
        try:
            json.loads(payload)
        except ValueError:
            pass
        else:
            return payload.encode()
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def generate_payloads(num: int, payload: Any) -> list[bytes]:
    """APLT's ``generatePayloads`` (utils.js:447-489): ``num`` payloads; a weighted list gives
    floor(weight x num / total) of each in order, the last filling what is left."""
    if not is_weighted(payload):
        return [convert_payload(payload)] * num
    items: Sequence[dict[str, Any]] = payload
    if num < len(items):
        raise ValueError(f"{len(items)} weighted payloads need num >= {len(items)}; num is {num}")
    weights = [item["weight"] for item in items]
    if not all(isinstance(w, (int, float)) and not isinstance(w, bool) and w > 0 for w in weights):
        raise ValueError("each weighted payload needs a weight > 0")
    total = sum(weights)
    out: list[bytes] = []
    for i, item in enumerate(items):
        how_many = math.floor(item["weight"] * num / total)
        if how_many < 1:
            raise ValueError(f"weight {item['weight']} of {total} gives no invocation at num = {num}: raise num")
        if i == len(items) - 1:
            how_many = num - len(out)
        out.extend([convert_payload(item["payload"])] * how_many)
    return out
