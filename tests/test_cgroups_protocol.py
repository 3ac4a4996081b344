"""bench/emulator/cgroups.py against fake cgroup v1 and v2 trees (tests/fake_cgroups.py).

These tests run the real cgroups.py code, unprivileged and on any host, against a directory
tree that creates and refuses files as the kernel does: which groups it makes, the files and
values it writes (CPU quota, memory limit, no swap), the order the cgroup v2 protocol needs
(controllers enabled in every subtree_control from the root down before a group has cpu.max or
memory.max; processes moved out of a cgroup before it enables controllers), joining a spawned
process, the OOM count, and removal. They check the file protocol only: whether a kernel then
throttles, limits and kills is not exercised here, and this project's machine, being cgroup
v1, never exercises it for v2 (the quota and memory tests in test_emulator_resources.py do
exercise v1's enforcement, as root).
"""

from __future__ import annotations

import errno
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_cgroups import FakeV1Kernel, FakeV2Kernel

from bench.emulator.cgroups import LEAF, CgroupFiles, Cgroups

PID = os.getpid()
MB = 1024 * 1024
SHARE_128 = 128 / 1769
QUOTA_128 = 1447  # 20,000 us x 128/1769 = 1,447.1 us, rounded
PROBE = Path(__file__).parent / "functions" / "probe" / "app.py"


def _proc(tmp_path: Path, *lines: str) -> Path:
    """A stand-in for /proc/self/cgroup."""
    path = tmp_path / f"proc-cgroup-{len(list(tmp_path.glob('proc-cgroup-*')))}"
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def _read(path: Path) -> str:
    return path.read_text().strip()


def _words(path: Path) -> set[str]:
    return set(path.read_text().split())


def _spawn_joined(kernel, groups, born_in: tuple[Path, ...]) -> int:
    """Start a real child that joins its groups before exec, as environment.py does."""

    def fork_then_join():
        for group in born_in:  # what fork does: the child starts in its parent's cgroups
            kernel.add(os.getpid(), group)
        groups.join()

    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        preexec_fn=fork_then_join,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(child.stdout)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def v1(tmp_path):
    kernel = FakeV1Kernel(tmp_path / "cgroup")
    yield kernel
    assert kernel.unexplained_files() == [], "cgroups.py created files the kernel never would"


@pytest.fixture
def v2(tmp_path):
    kernel = FakeV2Kernel(tmp_path / "cgroup")
    yield kernel
    assert kernel.unexplained_files() == [], "cgroups.py created files the kernel never would"


def _v1_cgroups(kernel: FakeV1Kernel, tmp_path: Path, **kwargs) -> Cgroups:
    return Cgroups.create(
        root=kernel.root, proc_cgroup=_proc(tmp_path, "1:cpu:/", "4:memory:/", "0::/"), fs=kernel, **kwargs
    )


def _v2_cgroups(kernel: FakeV2Kernel, tmp_path: Path, own: str, **kwargs) -> Cgroups:
    return Cgroups.create(root=kernel.root, proc_cgroup=_proc(tmp_path, f"0::{own}"), fs=kernel, **kwargs)


# ---- the file that every change goes through ---------------------------------------------------------


def test_a_missing_control_file_is_an_error_not_a_new_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        CgroupFiles().write(tmp_path / "cpu.max", "1447 20000")
    assert not (tmp_path / "cpu.max").exists()


# ---- cgroup v1 ---------------------------------------------------------------------------------------


def test_v1_environment_gets_a_group_in_each_hierarchy_unthrottled_until_init_ends(v1, tmp_path):
    cgroups = _v1_cgroups(v1, tmp_path)
    assert (cgroups.cpu.flavour, cgroups.memory.flavour) == ("v1", "v1")
    groups = cgroups.prepare("env1", SHARE_128, 128)
    cpu, memory = v1.root / f"cpu/lambench-{PID}/env1", v1.root / f"memory/lambench-{PID}/env1"
    assert (groups.cpu, groups.memory) == (cpu, memory)
    assert (_read(cpu / "cpu.cfs_period_us"), _read(cpu / "cpu.cfs_quota_us")) == ("20000", "-1")
    assert _read(memory / "memory.limit_in_bytes") == str(128 * MB)
    assert _read(memory / "memory.memsw.limit_in_bytes") == str(128 * MB), "no swap on top of the limit"
    assert _read(memory / "memory.swappiness") == "0"
    groups.throttle_cpu()
    assert _read(cpu / "cpu.cfs_quota_us") == str(QUOTA_128)
    assert _read(cpu / "cpu.cfs_period_us") == "20000"


@pytest.mark.parametrize(("vcpus", "quota"), [(0.01, 1000), (1.0, 20_000), (6.0, 120_000)])
def test_v1_quota_is_the_share_of_the_period_and_never_below_the_kernels_minimum(v1, tmp_path, vcpus, quota):
    groups = _v1_cgroups(v1, tmp_path).prepare("env1", vcpus, 128)
    groups.throttle_cpu()
    assert _read(groups.cpu / "cpu.cfs_quota_us") == str(quota)


def test_v1_without_swap_accounting_sets_the_memory_limit_alone(tmp_path):
    kernel = FakeV1Kernel(tmp_path / "cgroup", swap_accounting=False)
    groups = _v1_cgroups(kernel, tmp_path).prepare("env1", SHARE_128, 256)
    assert _read(groups.memory / "memory.limit_in_bytes") == str(256 * MB)
    assert not (groups.memory / "memory.memsw.limit_in_bytes").exists()
    assert kernel.unexplained_files() == []


def test_v1_a_spawned_process_joins_both_groups_before_exec(v1, tmp_path):
    groups = _v1_cgroups(v1, tmp_path).prepare("env1", SHARE_128, 128)
    pid = _spawn_joined(v1, groups, (v1.root / "cpu", v1.root / "memory"))
    assert v1.procs(groups.cpu) == [pid] and v1.procs(groups.memory) == [pid]
    assert pid not in v1.procs(v1.root / "cpu") + v1.procs(v1.root / "memory")


def test_v1_only_the_wanted_controllers_get_groups(v1, tmp_path):
    cgroups = _v1_cgroups(v1, tmp_path, want_cpu=False)
    assert cgroups.cpu is None and cgroups.memory is not None
    assert not list((v1.root / "cpu").glob("lambench-*"))
    assert cgroups.prepare("env1", SHARE_128, 128).cpu is None


# ---- cgroup v2 ---------------------------------------------------------------------------------------


def test_v2_the_fake_kernel_refuses_what_the_protocol_forbids(v2):
    """The fake's rules are what the tests below rely on: check that they bite."""
    v2.mkdir(v2.root / "busy")
    v2.add(4242, v2.root / "busy")
    with pytest.raises(OSError) as refused:
        v2.write(v2.root / "busy" / "cgroup.subtree_control", "+cpu")
    assert refused.value.errno == errno.ENOENT, "the root has not enabled cpu for its children"
    v2.write(v2.root / "cgroup.subtree_control", "+cpu")
    with pytest.raises(OSError) as refused:
        v2.write(v2.root / "busy" / "cgroup.subtree_control", "+cpu")
    assert refused.value.errno == errno.EBUSY, "no internal processes"
    with pytest.raises(OSError) as refused:
        v2.write(v2.root / "busy" / "cpu.max", "999 20000")
    assert refused.value.errno == errno.EINVAL, "the quota is at least 1 ms"
    v2.mkdir(v2.root / "late")
    assert (v2.root / "late" / "cpu.max").exists() and not (v2.root / "late" / "memory.max").exists()


def test_v2_in_the_root_cgroup_enables_cpu_and_memory_down_to_the_environment(v2, tmp_path):
    v2.add(PID, v2.root)
    v2.add(4242, v2.root)
    cgroups = _v2_cgroups(v2, tmp_path, "/")
    assert cgroups.cpu is cgroups.memory and cgroups.cpu.flavour == "v2"
    assert {"cpu", "memory"} <= _words(v2.root / "cgroup.subtree_control")
    assert not (v2.root / LEAF).exists(), "the real root may hold processes: nothing moves"
    assert v2.procs(v2.root) == [PID, 4242]
    base = v2.root / f"lambench-{PID}"
    assert _words(base / "cgroup.subtree_control") == {"cpu", "memory"}
    groups = cgroups.prepare("env1", SHARE_128, 128)
    env = base / "env1"
    assert groups.cpu == groups.memory == env
    assert _read(env / "cpu.max") == "max 20000"
    assert _read(env / "memory.max") == str(128 * MB)
    assert _read(env / "memory.swap.max") == "0"
    groups.throttle_cpu()
    assert _read(env / "cpu.max") == f"{QUOTA_128} 20000"


def test_v2_a_populated_cgroup_moves_every_process_into_a_leaf_before_enabling(v2, tmp_path):
    ci = v2.root / "ci"
    v2.mkdir(ci)
    v2.add(PID, ci)
    v2.add(4242, ci)
    cgroups = _v2_cgroups(v2, tmp_path, "/ci")
    assert cgroups.cpu is not None and cgroups.memory is not None
    assert v2.procs(ci) == [] and sorted(v2.procs(ci / LEAF)) == sorted([PID, 4242])
    assert not v2.enabled(ci / LEAF), "the leaf sets no limit of its own"
    moved = v2.log.index(("write", f"ci/{LEAF}/cgroup.procs", "4242"))
    enabled = v2.log.index(("write", "ci/cgroup.subtree_control", "+cpu"))
    assert moved < enabled
    groups = cgroups.prepare("env1", SHARE_128, 128)
    assert groups.cpu == ci / f"lambench-{PID}" / "env1"
    assert _read(groups.cpu / "cpu.max") == "max 20000"


def test_v2_every_ancestor_from_the_root_enables_the_controllers_in_order(v2, tmp_path):
    for path in ("a", "a/b", "a/b/c"):
        v2.mkdir(v2.root / path)
    v2.add(PID, v2.root / "a/b/c")
    groups = _v2_cgroups(v2, tmp_path, "/a/b/c").prepare("env1", SHARE_128, 128)
    enables = [path for op, path, value in v2.log if op == "write" and value == "+cpu"]
    assert enables == [
        "cgroup.subtree_control",
        "a/cgroup.subtree_control",
        "a/b/cgroup.subtree_control",
        "a/b/c/cgroup.subtree_control",
        f"a/b/c/lambench-{PID}/cgroup.subtree_control",
    ]
    assert _words(groups.cpu / "cgroup.controllers") == {"cpu", "memory"}
    assert _read(groups.cpu / "cpu.max") == "max 20000"


def test_v2_an_ancestor_with_processes_of_its_own_makes_cgroups_unavailable(v2, tmp_path):
    v2.mkdir(v2.root / "a")
    v2.add(4242, v2.root / "a")
    v2.mkdir(v2.root / "a/b")
    v2.add(PID, v2.root / "a/b")
    cgroups = _v2_cgroups(v2, tmp_path, "/a/b")
    assert cgroups.cpu is None and cgroups.memory is None
    assert v2.procs(v2.root / "a") == [4242], "processes above the emulator's cgroup are not ours to move"
    assert not list(v2.root.rglob(f"lambench-{PID}"))


def test_v2_a_controller_the_hierarchy_does_not_offer_is_left_out(tmp_path):
    kernel = FakeV2Kernel(tmp_path / "cgroup", controllers=("memory", "pids"), swap_accounting=False)
    kernel.add(PID, kernel.root)
    cgroups = _v2_cgroups(kernel, tmp_path, "/")
    assert cgroups.cpu is None and cgroups.memory.flavour == "v2"
    groups = cgroups.prepare("env1", SHARE_128, 128)
    assert groups.cpu is None and _read(groups.memory / "memory.max") == str(128 * MB)
    assert not list(kernel.root.rglob("cpu.max"))
    assert kernel.unexplained_files() == []


def test_v2_an_emulator_started_from_the_leaf_uses_the_cgroup_above_it(v2, tmp_path):
    ci = v2.root / "ci"
    v2.mkdir(ci)
    v2.add(PID, ci)
    _v2_cgroups(v2, tmp_path, "/ci").close()
    # The first emulator moved everything, its parent included, into the leaf.
    cgroups = _v2_cgroups(v2, tmp_path, f"/ci/{LEAF}")
    assert cgroups.prepare("env1", SHARE_128, 128).cpu == ci / f"lambench-{PID}" / "env1"
    assert not (ci / LEAF / LEAF).exists()


def test_v2_a_spawned_process_joins_its_one_group_before_exec(v2, tmp_path):
    v2.add(PID, v2.root)
    groups = _v2_cgroups(v2, tmp_path, "/").prepare("env1", SHARE_128, 128)
    pid = _spawn_joined(v2, groups, (v2.root,))
    assert v2.procs(groups.cpu) == [pid] and pid not in v2.procs(v2.root)


def test_v2_release_and_close_remove_the_emulators_groups_and_keep_the_leaf(v2, tmp_path):
    ci = v2.root / "ci"
    v2.mkdir(ci)
    v2.add(PID, ci)
    cgroups = _v2_cgroups(v2, tmp_path, "/ci")
    cgroups.prepare("env1", SHARE_128, 128)
    cgroups.prepare("env2", SHARE_128, 128)
    cgroups.release("env1")
    base = ci / f"lambench-{PID}"
    assert not (base / "env1").exists() and (base / "env2").exists()
    cgroups.close()
    assert not base.exists()
    assert v2.procs(ci / LEAF) == [PID], "the leaf holds processes: it stays"


# ---- both ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_stale_groups_of_dead_emulators_are_swept_and_live_ones_kept(tmp_path, version):
    kernel = FakeV1Kernel(tmp_path / "cgroup") if version == "v1" else FakeV2Kernel(tmp_path / "cgroup")
    parent = kernel.root / "cpu" if version == "v1" else kernel.root
    if version == "v2":
        kernel.add(PID, kernel.root)
        kernel.write(kernel.root / "cgroup.subtree_control", "+cpu")
    dead, live = parent / f"lambench-{_dead_pid()}", parent / f"lambench-{os.getppid()}"
    for group in (dead, dead / "old-env", live):
        kernel.mkdir(group)
    cgroups = _v1_cgroups(kernel, tmp_path) if version == "v1" else _v2_cgroups(kernel, tmp_path, "/")
    assert cgroups.cpu is not None
    assert not dead.exists() and live.exists()


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_oom_killed_reads_the_kernels_oom_kill_count(tmp_path, version):
    kernel = FakeV1Kernel(tmp_path / "cgroup") if version == "v1" else FakeV2Kernel(tmp_path / "cgroup")
    if version == "v2":
        kernel.add(PID, kernel.root)
    cgroups = _v1_cgroups(kernel, tmp_path) if version == "v1" else _v2_cgroups(kernel, tmp_path, "/")
    groups = cgroups.prepare("env1", SHARE_128, 128)
    assert groups.oom_killed() is False
    kernel.oom_kill(groups.memory)
    assert groups.oom_killed() is True


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_probe_function_reads_the_quota_and_limit_the_emulator_wrote(tmp_path, version):
    spec = importlib.util.spec_from_file_location(f"probe_app_{version}", PROBE)
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    kernel = FakeV1Kernel(tmp_path / "cgroup") if version == "v1" else FakeV2Kernel(tmp_path / "cgroup")
    if version == "v2":
        kernel.add(PID, kernel.root)
    cgroups = _v1_cgroups(kernel, tmp_path) if version == "v1" else _v2_cgroups(kernel, tmp_path, "/")
    groups = cgroups.prepare("env1", SHARE_128, 128)
    env = f"/lambench-{PID}/env1"
    lines = ("4:memory:" + env, "1:cpu:" + env, "0::/") if version == "v1" else ("0::" + env,)
    dirs = probe.cgroup_dirs(str(_proc(tmp_path, *lines)), str(kernel.root))
    assert probe.cgroup_cpu_share(dirs) is None, "INIT runs without a quota"
    assert probe.cgroup_memory_limit_mb(dirs) == 128
    groups.throttle_cpu()
    assert probe.cgroup_cpu_share(dirs) == QUOTA_128 / 20_000
