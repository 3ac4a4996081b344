"""docs/ci/github-actions.yml's own commands, run as GitHub Actions would: first a push to main, then a pull request.

The test copies the repository's tracked files to a temporary folder (the checkout), points
its .venv at this one (what `make install` would build), and runs every `run:` step of the
workflow in order with bash -eo pipefail, GitHub's default shell, with GITHUB_REF and
GITHUB_STEP_SUMMARY set as Actions sets them. The run is shortened through $LAMBENCH_CONFIG
(bench.toml with 8 s of load and two sizes), which `lambench run` reads when no -c is given.

Not run here, because they are GitHub's own: the `uses:` steps (checkout, setup-python, the
cache that carries main's baseline to pull requests, the artifact upload). The test checks
that they are only those, and that the cache saves and restores the folder the commands write.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import yaml
from junitparser import Failure, JUnitXml

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / "docs" / "ci" / "github-actions.yml"
GITHUB_ACTIONS = {"actions/checkout@v4", "actions/setup-python@v5", "actions/cache/restore@v4",
                  "actions/cache/save@v4", "actions/upload-artifact@v4"}  # fmt: skip

SHORT_RUN = """
[load]
users = 2
spawn_rate = 2
run_time_s = 8
payload = { n = 20000 }

[variants]
memory_mb = [128, 1769]
"""


def _steps() -> list[dict]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert {"pull_request", "push"} <= set(workflow[True])  # YAML 1.1 reads the key `on` as true
    return workflow["jobs"]["gate"]["steps"]


def _checkout(folder: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, folder / name)  # mtimes kept: make sees the venv as up to date
    (folder / ".venv").symlink_to(REPO / ".venv")
    config = tomllib.loads((REPO / "bench.toml").read_text())
    assert "gates" in config, "the workflow gates on bench.toml's [gates]"
    short = tomllib.loads(SHORT_RUN)
    text = (REPO / "bench.toml").read_text()
    for table in short:  # replace the tables the short run changes, keep the rest (gates included)
        start = text.index(f"[{table}]")
        end = text.find("\n[", start + 1)
        text = (
            text[:start]
            + SHORT_RUN.split(f"[{table}]")[1].split("\n[")[0].strip().join([f"[{table}]\n", "\n"])
            + (text[end + 1 :] if end != -1 else "")
        )
    (folder / "ci.toml").write_text(text)


def _run_steps(folder: Path, ref: str, summary: Path) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "GITHUB_REF": ref, "GITHUB_STEP_SUMMARY": str(summary), "LAMBENCH_CONFIG": "ci.toml",
           "GITHUB_ACTIONS": "true"}  # fmt: skip
    done = []
    for step in _steps():
        if "run" not in step:
            continue
        result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=folder,
                                env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
        done.append(result)
        if result.returncode != 0:
            break  # as Actions does: a failed step ends the job's run steps
    return done


def test_the_workflow_uses_only_githubs_own_actions_and_caches_what_it_writes():
    steps = _steps()
    assert {s["uses"] for s in steps if "uses" in s} <= GITHUB_ACTIONS
    caches = [s for s in steps if s.get("uses", "").startswith("actions/cache/")]
    assert {s["with"]["path"] for s in caches} == {"baseline"}
    assert any("baseline save reports/latest baseline/baseline.json" in s.get("run", "") for s in steps)


def test_the_workflow_commands_run_on_main_then_gate_a_pull_request(tmp_path):
    _checkout(tmp_path)
    summary = tmp_path / "step-summary.md"
    main = _run_steps(tmp_path, "refs/heads/main", summary)
    log = "\n".join(r.stdout[-3000:] + r.stderr[-3000:] for r in main)
    assert [r.returncode for r in main] == [0, 0], log
    assert (tmp_path / "baseline" / "baseline.json").is_file()
    assert "regression" in (tmp_path / "reports" / "gates.md").read_text()  # skipped: main had no baseline yet
    pull = _run_steps(tmp_path, "refs/pull/1/merge", summary)
    log = "\n".join(r.stdout[-3000:] + r.stderr[-3000:] for r in pull)
    gate = pull[-1]
    assert gate.returncode in (0, 1), log  # a gate may fail on a busy machine; bad input (2) may not
    suite = next(iter(JUnitXml.fromfile(str(tmp_path / "reports" / "gates.xml"))))
    failed = [case for case in suite if any(isinstance(r, Failure) for r in case.result)]
    assert (gate.returncode == 1) == bool(failed), log
    assert "against" in gate.stdout and "p95_regression" in gate.stdout
    # The summary GitHub shows: main's run, then the pull request's, each appended.
    assert summary.read_text().count("### lambench gates:") == 2
