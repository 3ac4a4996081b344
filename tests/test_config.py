"""bench.toml validation: one line naming file, field and what is allowed; exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.config import load_config
from bench.errors import UserError

REPO = Path(__file__).resolve().parent.parent

GOOD = """
[target]
kind = "local"
[function]
name = "f"
source = "src"
handler = "app.handler"
[variants]
memory_mb = [128, 512, 1024]
[load]
users = 2
run_time_s = 5
payload = {n = 10}
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    path = tmp_path / "bench.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(UserError) as raised:
        load_config(write(tmp_path, text))
    return str(raised.value)


def test_a_good_file_loads_with_defaults(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.memory_mb == (128, 512, 1024)
    assert config.function.runtime == "python3.12" and config.function.architecture == "x86_64"
    assert config.function.source == tmp_path / "src"
    assert config.load.users == 2 and config.load.payload == {"n": 10}
    assert config.payload_bytes == b'{"n": 10}'
    assert config.target.endpoint is None
    assert config.reports_dir == tmp_path / "reports"


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "memory_mb = [128, 512, 1024]",
            "memory_mb = [128, 512, 64]",
            "variants.memory_mb[2] = 64: must be 128..10240",
        ),
        (
            "memory_mb = [128, 512, 1024]",
            "memory_mb = [128, 10241]",
            "variants.memory_mb[1] = 10241: must be 128..10240",
        ),
        (
            "memory_mb = [128, 512, 1024]",
            'memory_mb = [128, "512"]',
            'variants.memory_mb[1] = "512": must be 128..10240',
        ),
        ("memory_mb = [128, 512, 1024]", "memory_mb = [128, 128]", "must not repeat a memory size"),
        ("memory_mb = [128, 512, 1024]", "memory_mb = []", "must list at least one memory size"),
        ('kind = "local"', 'kind = "gcp"', 'target.kind = "gcp": must be one of local, aws'),
        ("users = 2", "users = 0", "load.users = 0: must be 1..10000"),
        ("users = 2", "users = 2.5", "load.users = 2.5: must be 1..10000"),
        ("run_time_s = 5", 'run_time_s = "5s"', 'load.run_time_s = "5s": must be 1..86400'),
        ('handler = "app.handler"', 'handler = "handler"', 'function.handler = "handler": must be module.function'),
        ('source = "src"', 'source = "nowhere"', 'function.source = "nowhere": must be a folder'),
        ("[load]", "[load]\nspeed = 3", "load.speed: unknown field"),
        ('name = "f"\n', "", "function.name is missing"),
    ],
)
def test_bad_values_name_the_field_and_what_is_allowed(tmp_path, old, new, expected):
    assert old in GOOD
    message = error_of(tmp_path, GOOD.replace(old, new, 1))
    assert message.startswith("bench.toml: ") or message.startswith(str(tmp_path))
    assert expected in message


def test_invalid_toml_and_missing_file(tmp_path):
    assert "not valid TOML" in error_of(tmp_path, "[function\n")
    with pytest.raises(UserError, match="no such file"):
        load_config(tmp_path / "absent.toml")


def test_the_cli_prints_one_line_and_exits_2(tmp_path):
    write(tmp_path, GOOD.replace("[128, 512, 1024]", "[128, 512, 64]"))
    result = subprocess.run(
        [sys.executable, "-m", "bench", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "lambench: error: bench.toml: variants.memory_mb[2] = 64: must be 128..10240"
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_the_shipped_bench_toml_is_valid():
    config = load_config(REPO / "bench.toml")
    assert config.memory_mb == (128, 512, 1024, 1769)
    assert config.target.kind == "local"


def test_paths_and_route_for_api_gateway_runs(tmp_path):
    config = load_config(
        write(tmp_path, GOOD.replace("[load]", '[load]\npaths = ["direct", "apigw-http"]\nroute = "/cpu?n=5"'))
    )
    assert config.load.paths == ("direct", "apigw-http") and config.load.route == "/cpu?n=5"
    assert 'load.paths[1] = "apigw": must be one of direct, apigw-http, apigw-rest' in error_of(
        tmp_path, GOOD.replace("[load]", '[load]\npaths = ["direct", "apigw"]')
    )
    assert 'load.route = "cpu": must start with /' in error_of(
        tmp_path, GOOD.replace("[load]", '[load]\nroute = "cpu"')
    )
