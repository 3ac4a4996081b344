"""The emulator process removes every environment (processes and CPU groups) when it stops."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bench.targets import FunctionSpec, VariantDeployer, make_lambda_client
from bench.targets.local import start_emulator

FUNCTIONS = Path(__file__).parent / "functions"


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def test_sigterm_stops_every_environment_process(tmp_path):
    emulator = start_emulator(tmp_path / "emulator.log")
    try:
        client = make_lambda_client(emulator.url, "us-east-1")
        spec = FunctionSpec(name="hello", source=FUNCTIONS / "hello", handler="app.handler")
        variants = VariantDeployer(client).deploy_variants(spec, (128, 512))
        pids = {json.loads(client.invoke(FunctionName="hello", Qualifier=v.name)["Payload"].read())["pid"]
                for v in variants}
        assert pids <= _children(emulator.process.pid)
        assert emulator.info()["environments"] == 2
    finally:
        emulator.stop()
    assert emulator.process.returncode == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    if emulator.cpu_mode == "quota":
        assert not list(Path("/sys/fs/cgroup/cpu").glob(f"lambench-{emulator.process.pid}"))
