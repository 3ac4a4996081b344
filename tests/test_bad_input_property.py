"""Every bad input to `lambench` gets one line and exit 2, before anything starts (hypothesis).

A valid bench.toml is broken in one field at a time, with values drawn per field from what
that field must not be (a wrong type, out of range, a TOML date or nan, an unknown key, bytes
that are not UTF-8); bad command lines are drawn the same way. Each case runs the real CLI in a
subprocess and must end with exactly one `lambench: error:` line on stderr, exit 2, no
traceback, and no new folder under the reports dir. The cases are derandomized and bounded
(MAX_EXAMPLES each), so CI runs the same ones every time.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
MAX_EXAMPLES = 12  # each case is a process start (~1 s): enough to cover every field's kinds
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip

VALID = {
    "target": {"kind": "local", "region": "us-east-1"},
    "function": {
        "name": "lambench-prop",
        "source": str(REPO / "targets" / "cpu_bound"),
        "handler": "app.lambda_handler",
        "timeout_s": 30,
    },  # fmt: skip
    "variants": {"memory_mb": [128, 256]},
    "load": {"users": 1, "spawn_rate": 1, "run_time_s": 1, "payload": {}},
    "report": {"dir": "reports"},
}

# No NUL (no argv or path can hold one) and no lone surrogates (not encodable).
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
not_ints = st.one_of(texts, st.floats(allow_nan=True), st.booleans(), st.lists(st.integers(), max_size=2))
not_numbers = st.one_of(texts, st.booleans(), st.lists(st.integers(), max_size=2))
dates = st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1))
BAD_FIELDS = {
    ("target", "kind"): st.one_of(texts.filter(lambda t: t not in ("local", "aws")), st.integers()),
    ("target", "region"): st.one_of(st.text(alphabet="ABC _./!", min_size=1, max_size=10), st.integers()),
    ("target", "endpoint"): texts.filter(lambda t: t and not t.startswith(("http://", "https://"))),
    ("function", "name"): st.one_of(
        st.just(""),
        st.text(alphabet="[]/ :.!é", min_size=1, max_size=8),
        st.text(alphabet="ab", min_size=65, max_size=70),
    ),  # fmt: skip
    ("function", "source"): st.just("no/such/folder"),
    ("function", "handler"): st.text(alphabet="abc_ ", min_size=1, max_size=8),
    ("function", "timeout_s"): st.one_of(st.integers(max_value=0), st.integers(min_value=901), not_ints),
    ("function", "runtime"): texts.filter(lambda t: not t.startswith("python3.1")),
    ("variants", "memory_mb"): st.one_of(
        st.lists(st.integers(max_value=127), min_size=1, max_size=3),
        st.lists(st.integers(min_value=10241), min_size=1, max_size=3),
        st.just([]),
        texts,
    ),  # fmt: skip
    ("load", "users"): st.one_of(st.integers(max_value=0), st.integers(min_value=10_001), not_ints),
    ("load", "spawn_rate"): st.one_of(st.floats(max_value=0.05), not_numbers),
    ("load", "run_time_s"): st.one_of(
        st.floats(max_value=0.5), st.floats(min_value=86_401, allow_infinity=False), not_numbers
    ),  # fmt: skip
    ("load", "payload"): st.one_of(
        st.fixed_dictionaries({"x": st.sampled_from([math.nan, math.inf, -math.inf])}),
        st.fixed_dictionaries({"when": dates}),
        texts,
        st.integers(),
    ),  # fmt: skip
    ("load", "paths"): st.one_of(
        st.just([]), st.lists(texts.filter(lambda t: t not in ("direct",)), min_size=1, max_size=2)
    ),  # fmt: skip
    ("report", "dir"): st.just("a-file"),
    ("target", "unknown_key"): st.integers(),
    ("nonsense", "table"): st.integers(),
}


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string takes JSON's escapes
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def _toml(config: dict) -> str:
    return "".join(f"[{table}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in values.items()) + "\n"
                   for table, values in config.items())  # fmt: skip


def _refused(folder: Path, argv: list[str], config_bytes: bytes | None = None) -> None:
    (folder / "a-file").write_text("not a folder")
    if config_bytes is not None:
        (folder / "bench.toml").write_bytes(config_bytes)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMBENCH_")}
    result = subprocess.run([sys.executable, "-m", "bench", *argv], cwd=folder, env=env, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    where = f"argv {argv}, stdout {result.stdout[-500:]!r}, stderr {result.stderr[-1500:]!r}"
    assert result.returncode == 2, where
    assert result.stderr.startswith("lambench: error: ") and result.stderr.count("\n") == 1, where
    assert "Traceback" not in result.stdout + result.stderr, where
    assert not (folder / "reports").exists() or not any((folder / "reports").iterdir()), where


@settings(SETTINGS, max_examples=2 * len(BAD_FIELDS))  # about two per field
@given(st.sampled_from(sorted(BAD_FIELDS)).flatmap(lambda field: st.tuples(st.just(field), BAD_FIELDS[field])))
def test_a_bench_toml_broken_in_any_field_is_refused_in_one_line(tmp_path_factory, broken):
    (table, key), value = broken
    config = json.loads(json.dumps(VALID))
    config.setdefault(table, {})[key] = value
    _refused(tmp_path_factory.mktemp("bad"), ["run", "-c", "bench.toml"], _toml(config).encode())


@pytest.mark.parametrize("raw", [b"\xff\xfe[target]\n", b"[target\n", b"[load]\nusers = \n", b'a = "x"\na = "y"\n'])
def test_a_bench_toml_that_is_not_toml_is_refused_in_one_line(tmp_path, raw):
    _refused(tmp_path, ["run", "-c", "bench.toml"], raw)


bad_gate_specs = st.one_of(st.text(alphabet="ab_=.9-", max_size=12).filter(lambda t: "=" not in t or t.endswith("=")),
                           st.builds(lambda n, v: f"{n}={v}", st.sampled_from(["p95_ms", "p96_ms", "error_rate"]),
                                     st.sampled_from(["-1", "fast", "2", "nan"])))  # fmt: skip


@SETTINGS
@given(
    st.one_of(
        st.tuples(st.just("gate"), st.just("no-such-run")),
        st.tuples(st.just("gate"), st.just("."), st.just("--alpha"), st.sampled_from(["0", "0.5", "x", "-1"])),
        st.tuples(st.just("gate"), st.just("."), st.just("--gate"), bad_gate_specs),
        st.tuples(
            st.just("gate"), st.just("."), st.just("--inconclusive"), texts.filter(lambda t: t not in ("fail", "pass"))
        ),
        st.tuples(st.sampled_from(["run", "report", "gate", "baseline", "deploy"]), st.just("--no-such-flag")),
        st.tuples(st.just("report"), st.just("a-file")),
        st.tuples(st.just("baseline"), st.just("save"), st.just("no-such-run"), st.just("out.json")),
    )
)
def test_bad_command_lines_are_refused_in_one_line(tmp_path_factory, argv):
    _refused(tmp_path_factory.mktemp("bad"), list(argv))
