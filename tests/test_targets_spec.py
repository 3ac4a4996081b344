"""bench/targets/spec.py: FunctionSpec and Lambda's rules, which bench.toml is judged by too."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bench.config import parse_config
from bench.errors import UserError
from bench.targets import FunctionSpec, validate_memory

SOURCE = Path(__file__).resolve().parents[1] / "targets" / "cpu_bound"


def test_memory_bounds_are_inclusive():
    assert validate_memory(128) == 128 and validate_memory(10240) == 10240


@pytest.mark.parametrize("bad", [127, 10241, 512.0, "512", True, None])
def test_memory_outside_lambda_limits_names_the_field_and_range(bad):
    with pytest.raises(UserError) as raised:
        validate_memory(bad)
    assert str(raised.value) == f"memory_mb = {bad!r}: must be 128..10240"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"architecture": "x86"}, "architecture = 'x86': must be one of x86_64, arm64"),
        ({"timeout_s": 901}, "timeout_s = 901: must be 1..900"),
        ({"timeout_s": 0}, "timeout_s = 0: must be 1..900"),
        ({"timeout_s": True}, "timeout_s = True: must be 1..900"),
        ({"name": ""}, "name = '': must be 1 to 64 letters, digits, hyphens or underscores"),
    ],
)
def test_spec_is_validated(kwargs, message):
    fields = {"name": "f", "source": SOURCE, **kwargs}
    with pytest.raises(UserError) as raised:
        FunctionSpec(**fields)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("architecture", '"x86"', 'function.architecture = "x86": must be one of x86_64, arm64'),
        ("timeout_s", "901", "function.timeout_s = 901: must be 1..900"),
        ("timeout_s", '"30"', 'function.timeout_s = "30": must be 1..900'),
        ("name", '""', 'function.name = "": must be 1 to 64 letters, digits, hyphens or underscores'),
    ],
)
def test_bench_toml_is_judged_by_the_same_rules(field, value, expected):
    text = (
        f'[function]\nname = "f"\nsource = "."\nhandler = "app.handler"\n{field} = {value}\n'
        "[variants]\nmemory_mb = [128]\n"
    )
    raw = tomllib.loads(text.replace('name = "f"\n', "", 1) if field == "name" else text)
    with pytest.raises(UserError) as raised:
        parse_config(raw, SOURCE / "bench.toml", "bench.toml")
    assert str(raised.value) == f"bench.toml: {expected}"
