"""CPU share and memory by memory size, as seen through boto3 and from inside the function.

Quota mode and the cgroup memory mode need the kernel's cgroups: their tests skip, naming what
is missing, where this host has no writable cgroup with that controller (the check below reads
the host itself, not the emulator's own detection, so a broken detection fails rather than
skips). test_cgroups_protocol.py covers the cgroup files on any host, v2 included.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
from pathlib import Path

import pytest
from conftest import invoke

from bench.collect import find_report

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_FILE = {"cpu": "cpu.cfs_quota_us", "memory": "memory.limit_in_bytes"}
# Work units of the probe's own loop (about 70 ns each here): INIT then spends ~0.1 s of CPU.
INIT_SPIN = 1_500_000


def _own_v2_cgroup(mount: Path) -> Path | None:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        if line.startswith("0::/"):
            return mount / line[len("0::/") :]
    return None


def host_has_cgroup(controller: str) -> bool:
    """Whether this process (and so an emulator it starts) may make cgroups with ``controller``."""
    v1 = CGROUP_ROOT / controller
    if (v1 / V1_FILE[controller]).exists():
        return os.access(v1, os.W_OK)
    for mount in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
        controllers = mount / "cgroup.controllers"
        if controllers.exists() and controller in controllers.read_text().split():
            own = _own_v2_cgroup(mount)
            return own is not None and os.access(own, os.W_OK)
    return False


needs_cpu_quota = pytest.mark.skipif(
    not host_has_cgroup("cpu"),
    reason="needs root (or a delegated cgroup) with a cgroup v1 cpu controller or cgroup v2 cpu (quota mode)",
)
needs_memory_cgroup = pytest.mark.skipif(
    not host_has_cgroup("memory"),
    reason="needs root (or a delegated cgroup) with a cgroup v1 memory controller or cgroup v2 memory "
    "(--memory-mode cgroup)",
)


def _call(client, name, payload=None, **kwargs):
    response, body = invoke(client, name, payload, LogType="Tail", **kwargs)
    return response, json.loads(body), find_report(base64.b64decode(response["LogResult"]).decode())


@needs_cpu_quota
def test_quota_mode_gives_each_environment_memory_over_1769_of_a_cpu(own_emulator):
    emulator, client, deploy = own_emulator("--cpu-mode", "quota")
    assert emulator.cpu_mode == "quota"
    spec, variants = deploy("probe", (128, 512, 1769, 3538))
    for variant in variants:
        _, body, _ = _call(client, spec.name, {}, Qualifier=variant.name)
        expected = max(1000, round(20_000 * variant.memory_mb / 1769)) / 20_000
        assert body["cpu_share"] == pytest.approx(expected, abs=1e-9), variant.name


# A megabyte apart, memory sizes get the same CPU share but versions of their own: every first
# call of each is a cold start. The small and full-core sizes are called in turn.
SMALL_MB, FULL_MB = (128, 129, 130), (1769, 1770, 1771)


def _median_stretches(own_emulator, mode):
    """Cold invokes at ~128 MB and at 1769 MB (a full core): {"small"/"full": (INIT's, the invoke's)}.

    A stretch is wall time over CPU time of one phase in one process: Init Duration over the CPU
    the process had used when INIT ended, Duration over the handler's CPU. About 1 for a phase
    that ran at full speed, about 1769/128 = 13.8 for one held to 128 MB's share of a core;
    other load on the host raises both sizes alike, so the tests compare the sizes' medians.
    """
    emulator, client, deploy = own_emulator("--cpu-mode", mode)
    assert emulator.cpu_mode == mode
    sizes = tuple(mb for pair in zip(SMALL_MB, FULL_MB, strict=True) for mb in pair)
    spec, variants = deploy("probe", sizes, environment={"PROBE_INIT_SPIN": str(INIT_SPIN)})
    stretches = {"small": [], "full": []}
    for variant in variants:
        _, body, report = _call(client, spec.name, {"spin": 200_000}, Qualifier=variant.name)
        assert report.cold
        if variant.memory_mb == 128:
            expected = 1447 / 20_000 if mode == "quota" else None  # 20,000 us x 128/1769, rounded
            assert body["cpu_share"] == pytest.approx(expected)
        stretches["small" if variant.memory_mb in SMALL_MB else "full"].append(
            (report.init_ms / (body["init_cpu_s"] * 1000), report.duration_ms / (body["cpu_s"] * 1000))
        )
    return {
        kind: (statistics.median(i for i, _ in found), statistics.median(d for _, d in found))
        for kind, found in stretches.items()
    }


def _assert_init_at_full_speed_and_the_invoke_held_to_the_share(stretches):
    (small_init, small_invoke), (full_init, full_invoke) = stretches["small"], stretches["full"]
    # Held to 128 MB's share, INIT would take ~14x its CPU time where 1769 MB's takes ~1x.
    assert small_init < 2 * full_init, (
        f"INIT took {small_init:.1f}x its CPU time at 128 MB, {full_init:.1f}x at 1769 MB"
    )
    assert small_invoke > 3 * full_invoke, (
        f"the invoke took {small_invoke:.1f}x its CPU time at 128 MB, {full_invoke:.1f}x at 1769 MB"
    )


@needs_cpu_quota
def test_quota_mode_leaves_init_unthrottled_and_throttles_the_invoke(own_emulator):
    _assert_init_at_full_speed_and_the_invoke_held_to_the_share(_median_stretches(own_emulator, "quota"))


def test_dilation_mode_leaves_init_unstretched_and_stretches_the_invoke(own_emulator):
    _assert_init_at_full_speed_and_the_invoke_held_to_the_share(_median_stretches(own_emulator, "dilation"))


def test_dilation_mode_stretches_cpu_time_to_the_share(own_emulator):
    emulator, client, deploy = own_emulator("--cpu-mode", "dilation")
    assert emulator.cpu_mode == "dilation"
    spec, variants = deploy("probe", (128, 1769))
    for variant in variants:
        _call(client, spec.name, {}, Qualifier=variant.name)  # warm
        _, body, report = _call(client, spec.name, {"spin": 200_000}, Qualifier=variant.name)
        assert body["cpu_share"] is None, "no quota in dilation mode"
        share = min(variant.memory_mb / 1769, 6)
        # The environment sleeps cpu x (1/share - 1) after the handler: never less.
        assert report.duration_ms >= body["cpu_s"] * 1000 / share * 0.999


def test_the_reported_mode_is_in_the_emulator_info(own_emulator):
    emulator, _, _ = own_emulator("--cpu-mode", "none", "--memory-mode", "watchdog")
    info = emulator.info()
    assert (info["cpu_mode"], info["memory_mode"]) == ("none", "watchdog")


@pytest.mark.parametrize("mode", [pytest.param("cgroup", marks=needs_memory_cgroup), "watchdog"])
def test_exceeding_memory_kills_the_environment_with_runtime_exit_error(own_emulator, mode):
    emulator, client, deploy = own_emulator("--memory-mode", mode)
    assert emulator.info()["memory_mode"] == mode
    spec, (variant,) = deploy("probe", (128,))
    _, first, _ = _call(client, spec.name, {}, Qualifier=variant.name)
    if mode == "cgroup":
        assert first["memory_limit_mb"] == 128, "the environment's own cgroup holds the limit"
    response, body, report = _call(client, spec.name, {"allocate_mb": 400}, Qualifier=variant.name)
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "signal: killed" in body["errorMessage"]
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "Status: error\tError Type: Runtime.OutOfMemory" in tail
    assert report.max_memory_used_mb == 128
    _, after, report = _call(client, spec.name, {}, Qualifier=variant.name)
    assert after["pid"] != first["pid"] and report.cold, "the killed environment was discarded"


def test_max_memory_used_is_the_environments_peak_rss(lambda_client, deploy):
    spec, (variant,) = deploy("probe", (512,))
    _, body, report = _call(lambda_client, spec.name, {"allocate_mb": 60}, Qualifier=variant.name)
    # Linux keeps RSS in per-CPU counters, so two reads of VmHWM can differ by a page batch
    # (seen here: 74,936 kB, then 74,700 kB after a free): allow 2 MB between them.
    assert abs(report.max_memory_used_mb - body["vm_hwm_kb"] / 1024) <= 2
    assert report.max_memory_used_mb >= 60


def test_each_environment_has_its_own_tmp(lambda_client, deploy):
    spec, variants = deploy("probe", (128, 256))
    tmpdirs = {_call(lambda_client, spec.name, {}, Qualifier=v.name)[1]["tmpdir"] for v in variants}
    # Where the emulator sandboxes environments (root), each has its own /tmp at /tmp itself, as
    # on Lambda; test_emulator_sandbox.py shows they are apart. Elsewhere each has its own TMPDIR.
    assert None not in tmpdirs and (len(tmpdirs) == 2 or tmpdirs == {"/tmp"})
