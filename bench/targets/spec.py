"""What to deploy (FunctionSpec), and the one home of Lambda's rules for its settings.

Each rule answers with what is allowed ("must be 128..10240") or None, so that its two
callers can name the value their own way: FunctionSpec and the deployer say
``memory_mb[1] = 64: must be 128..10240`` to Python callers, and bench/config.py says
``bench.toml: variants.memory_mb[1] = 64: ...``. The limits are bench/awsfacts.py's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import awsfacts
from bench.errors import UserError

# Moto's (and the AWS docs') example account; on AWS, FunctionSpec.role must name a real role.
DEFAULT_ROLE = "arn:aws:iam::123456789012:role/lambench-execution"


def _is_whole(value: Any) -> bool:
    # bool is an int subclass: True would otherwise pass as 1.
    return isinstance(value, int) and not isinstance(value, bool)


# Lambda's CreateFunction FunctionName, as a plain name (an ARN names an existing function).
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# A region code: us-east-1, us-gov-west-1, ap-southeast-4, cn-north-1, eu-isoe-west-1.
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")


def name_problem(name: Any) -> str | None:
    """None if ``name`` can name a new function; else what is allowed."""
    if isinstance(name, str) and _FUNCTION_NAME.match(name):
        return None
    return "must be 1 to 64 letters, digits, hyphens or underscores"


def region_problem(region: Any) -> str | None:
    """None if ``region`` is shaped like an AWS region code; else what is allowed."""
    if isinstance(region, str) and _REGION.match(region):
        return None
    return "must be an AWS region code, e.g. us-east-1"


def memory_problem(memory_mb: Any) -> str | None:
    """None if Lambda accepts this memory size (whole MB); else what it allows."""
    lo, hi = awsfacts.MEMORY_MIN_MB, awsfacts.MEMORY_MAX_MB
    return None if _is_whole(memory_mb) and lo <= memory_mb <= hi else f"must be {lo}..{hi}"


def timeout_problem(timeout_s: Any) -> str | None:
    """None if Lambda accepts this timeout (whole seconds); else what it allows."""
    lo, hi = awsfacts.TIMEOUT_MIN_S, awsfacts.TIMEOUT_MAX_S
    return None if _is_whole(timeout_s) and lo <= timeout_s <= hi else f"must be {lo}..{hi}"


def architecture_problem(architecture: Any) -> str | None:
    """None if Lambda has this instruction set; else the ones it has."""
    if architecture in awsfacts.ARCHITECTURES:
        return None
    return "must be one of " + ", ".join(awsfacts.ARCHITECTURES)


@dataclass(frozen=True)
class SizesProblem:
    """The first thing wrong with a list of memory sizes; ``index`` is None when it is the list itself."""

    index: int | None
    value: Any
    allowed: str


def memory_sizes_problem(sizes: Sequence[Any]) -> SizesProblem | None:
    """None if every size is one Lambda accepts and none repeats (an alias each); else the first problem."""
    if not sizes:
        return SizesProblem(None, sizes, "must list at least one memory size")
    for index, size in enumerate(sizes):
        problem = memory_problem(size)
        if problem:
            return SizesProblem(index, size, problem)
    if len(set(sizes)) != len(sizes):
        return SizesProblem(None, sizes, "must not repeat a memory size")
    return None


def _invalid(field_name: str, value: Any, allowed: str) -> UserError:
    # repr, not bench.toml's spelling: these values come from Python callers.
    return UserError(f"{field_name} = {value!r}: {allowed}")


def validate_memory(memory_mb: Any) -> int:
    """Return ``memory_mb`` if Lambda accepts it; else raise UserError saying what is allowed."""
    problem = memory_problem(memory_mb)
    if problem:
        raise _invalid("memory_mb", memory_mb, problem)
    return int(memory_mb)


def validate_memory_sizes(sizes: Sequence[Any]) -> list[int]:
    """Return the sizes as a list if all are deployable together; else raise UserError."""
    sizes = list(sizes)
    problem = memory_sizes_problem(sizes)
    if problem:
        where = "memory_mb" if problem.index is None else f"memory_mb[{problem.index}]"
        raise _invalid(where, problem.value, problem.allowed)
    return sizes


@dataclass(frozen=True)
class FunctionSpec:
    """What to deploy: a source folder and the configuration every variant shares."""

    name: str
    source: Path
    handler: str = "app.lambda_handler"
    runtime: str = "python3.12"
    architecture: str = "x86_64"
    timeout_s: int = 30
    environment: dict[str, str] = field(default_factory=dict)
    role: str = DEFAULT_ROLE

    def __post_init__(self) -> None:
        for field_name, rule in (
            ("name", name_problem),
            ("architecture", architecture_problem),
            ("timeout_s", timeout_problem),
        ):
            value = getattr(self, field_name)
            problem = rule(value)
            if problem:
                raise _invalid(field_name, value, problem)
        # Copies, so a caller that later mutates its dict cannot change a spec in flight.
        object.__setattr__(self, "source", Path(self.source))
        object.__setattr__(self, "environment", {str(k): str(v) for k, v in self.environment.items()})
