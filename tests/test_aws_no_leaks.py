"""No credential reaches what a run writes or prints: an emulator run and an AWS (moto) run.

Both run with distinctive fake credentials in the environment (an access key id, a secret and a
session token), then every file under the run's folder (records, report, run.json, journal,
the emulator's log) and the run's stdout and stderr are searched for each of them, and for the
marks of a SigV4 signature (its algorithm name, ``Credential=``, ``Signature=``). The signatures
themselves differ per request and are unknown to the test; those marks precede any of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from aws_moto import CREDENTIAL_NAMES, REPO, aws_env, config_text, lambench, moto_server

KEY_ID = "AKIALEAKCANARY7Q2Z9X"
SECRET = "leakcanarySecret/4f9a1c7e2b8d6f0a3c5e7g9i1k3m5o"
TOKEN = "LeakCanarySessionToken+b64//Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0"
MARKS = ("AWS4-HMAC-SHA256", "Credential=", "Signature=", "X-Amz-Security-Token")
CANARIES = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN}

LOCAL = f"""
[function]
name = "leak-check"
source = "{REPO / "targets" / "cpu_bound"}"
handler = "app.lambda_handler"
[variants]
memory_mb = [128]
[load]
users = 2
spawn_rate = 2
run_time_s = 3
payload = {{ n = 2000 }}
[report]
dir = "REPORTS"
"""


def leaks(folder: Path, *outputs: str) -> list[str]:
    found = []
    texts = [(f"output {i}", text.encode()) for i, text in enumerate(outputs)]
    texts += [(str(p), p.read_bytes()) for p in folder.rglob("*") if p.is_file()]
    assert len(texts) > 5, "the run wrote its files"
    for where, data in texts:
        for needle in (KEY_ID, SECRET, TOKEN, *MARKS):
            if needle.encode() in data:
                found.append(f"{needle} in {where}")
    return found


def test_an_emulator_run_writes_and_prints_no_credential(tmp_path):
    (tmp_path / "bench.toml").write_text(LOCAL.replace("REPORTS", str(tmp_path / "reports")))
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_NAMES} | CANARIES | {"COLUMNS": "160"}
    result = subprocess.run([sys.executable, "-m", "bench", "run"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert leaks(tmp_path / "reports", result.stdout, result.stderr) == []


def test_an_aws_run_writes_and_prints_no_credential(tmp_path):
    with moto_server() as url:
        (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports", client="fast"))
        env = aws_env(url) | CANARIES
        result = lambench(["run", "--yes"], env, tmp_path)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        run_dir = next(p for p in (tmp_path / "reports").iterdir() if not p.is_symlink())
        again = lambench(["teardown", str(run_dir)], env, tmp_path)
        refused = lambench(["run"], env, tmp_path)  # an error message too
    assert refused.returncode == 2
    assert (run_dir / "journal.jsonl").is_file()
    outputs = (result.stdout, result.stderr, again.stdout, again.stderr, refused.stdout, refused.stderr)
    assert leaks(tmp_path / "reports", *outputs) == []
