"""The runtime view: the only installed packages an execution environment's Python can import.

Lambda's Python runtime gives a function its own code (/var/task), its layers (/opt/python),
the runtime's packages (awslambdaric and boto3/botocore with their dependencies, in
/var/runtime) and the standard library; nothing else. The emulator's virtualenv holds much more
(jinja2, numpy, locust, lambench itself), and a function that forgot to vendor one of those must
fail with Runtime.ImportModuleError here as it does on AWS.

A view is a directory of symlinks to the files of a closed set of installed distributions,
found offline through importlib.metadata (each distribution's RECORD lists its files). It is
built once per set of distributions and versions, in a directory named after their hash, and
put on the environment's PYTHONPATH; the interpreter starts with -S, so the virtualenv's
site-packages never join sys.path.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# What Lambda's Python runtimes ship in /var/runtime (docs: lambda/latest/dg/lambda-python.html).
RUNTIME_DISTRIBUTIONS = ("awslambdaric", "boto3", "botocore")
# Powertools is not part of the runtime: on AWS it comes from its public layer, which the sample
# targets attach (targets/template.yaml). The emulator has no Layers API yet, so it models that
# one layer from the installed distribution, on the layer path after the function's own code.
POWERTOOLS_LAYER = ("aws-lambda-powertools",)
# A requirement string starts with the distribution name (PEP 508).
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class _Installed:
    """One installed distribution: its canonical name, version and import directory."""

    name: str
    version: str
    base: Path
    dist: metadata.Distribution


def _installed() -> dict[str, _Installed]:
    """Every distribution on this interpreter's path, by canonical name (the first one wins)."""
    found: dict[str, _Installed] = {}
    for dist in metadata.distributions():
        # Only the leading headers: the email parser behind dist.metadata is most of the cost.
        headers = dict(line.split(": ", 1) for line in _header_lines(dist.read_text("METADATA") or ""))
        if "Name" in headers:
            name = _canonical(headers["Name"])
            found.setdefault(name, _Installed(name, headers.get("Version", ""), Path(str(dist.locate_file(""))), dist))
    return found


def _header_lines(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        if not line:
            break
        if line.startswith(("Name: ", "Version: ")):
            lines.append(line)
    return lines


def _required_names(dist: metadata.Distribution) -> list[str]:
    """The names of what ``dist`` requires here: no extras, environment markers evaluated."""
    names = []
    for requirement in dist.requires or ():
        spec, _, marker = requirement.partition(";")
        if marker and not _marker_holds(marker.strip()):
            continue
        match = _NAME.match(spec.strip())
        if match:
            names.append(_canonical(match.group(1)))
    return names


def _marker_holds(marker: str) -> bool:
    # A requirement that only an extra brings in is not installed by the plain requirement.
    if "extra" in marker:
        return False
    try:
        from packaging.markers import Marker
    except ImportError:  # without packaging, keep it: a missing distribution is skipped anyway
        return True
    return bool(Marker(marker).evaluate())


def closure(roots: Iterable[str], installed: dict[str, _Installed]) -> list[_Installed]:
    """``roots`` and everything they require, as installed; requirements not installed are skipped."""
    seen: dict[str, _Installed] = {}
    todo = [_canonical(root) for root in roots]
    while todo:
        name = todo.pop()
        found = installed.get(name)
        if name in seen or found is None:
            continue
        seen[name] = found
        todo.extend(_required_names(found.dist))
    return [seen[name] for name in sorted(seen)]


def _files(dist: _Installed) -> list[tuple[str, ...]]:
    """The path parts, relative to the distribution's directory, of each file in its RECORD."""
    result = []
    for row in csv.reader((dist.dist.read_text("RECORD") or "").splitlines()):
        parts = tuple(row[0].split("/")) if row else ("",)
        # Scripts and data land outside the import directory ("../../bin/..."): not importable.
        if parts[0] not in ("..", "") and ".." not in parts:
            result.append(parts)
    return result


def _link_tree(members: list[_Installed], installed: dict[str, _Installed], dest: Path) -> None:
    """Symlink every file of ``members`` into ``dest``, a whole directory at once where only they own it.

    A directory shared with a distribution outside the view (a namespace package, the top-level
    __pycache__ of single-module distributions) becomes a real directory, linked entry by entry.
    """
    names = {member.name for member in members}
    files = {member.name: _files(member) for member in members}
    wanted = {(member.base, parts[0]) for member in members for parts in files[member.name]}
    # Which distributions have files under each entry, at any depth: only below the top-level
    # names the view links, which keeps this to the members' files and their neighbours'.
    owners: dict[tuple[Path, tuple[str, ...]], set[str]] = {}
    for dist in installed.values():
        for parts in files.get(dist.name) or _files(dist):
            if (dist.base, parts[0]) in wanted:
                for depth in range(1, len(parts) + 1):
                    owners.setdefault((dist.base, parts[:depth]), set()).add(dist.name)
    linked: set[tuple[str, ...]] = set()
    for member in members:
        for parts in files[member.name]:
            for depth in range(1, len(parts) + 1):
                prefix = parts[:depth]
                if prefix in linked:
                    break
                if owners[(member.base, prefix)] <= names or depth == len(parts):
                    target = member.base.joinpath(*prefix)
                    if target.exists():
                        link = dest.joinpath(*prefix)
                        if not link.parent.is_dir():
                            link.parent.mkdir(parents=True)
                            # Enterable by an environment's own uid (sandbox.py), whatever the umask.
                            for folder in (link.parent, *link.parent.relative_to(dest).parents):
                                (dest / folder).chmod(0o755)
                        os.symlink(target, link)
                        linked.add(prefix)
                    break


def _key(members: list[_Installed]) -> str:
    text = "\n".join(f"{m.name}=={m.version}@{m.base}" for m in members)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_view(
    roots: Iterable[str], cache_dir: Path, exclude: Iterable[str] = (), installed: dict[str, _Installed] | None = None
) -> Path:
    """The view directory of ``roots`` and their requirements (minus ``exclude``'s closure), built if missing.

    Built in a temporary directory and renamed into place, so that a concurrent builder or a
    crash never leaves a half-built view under the final name.
    """
    installed = installed if installed is not None else _installed()
    left_out = {dist.name for dist in closure(exclude, installed)}
    members = [dist for dist in closure(roots, installed) if dist.name not in left_out]
    dest = cache_dir / f"view-{_key(members)}"
    if dest.is_dir():
        return dest
    cache_dir.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=cache_dir))
    try:
        _link_tree(members, installed, building)
        building.chmod(0o755)
        os.rename(building, dest)
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
        if not dest.is_dir():
            raise
    return dest


@dataclass(frozen=True)
class Views:
    """What a Python environment imports from besides its code: layers first, then the runtime."""

    runtime: Path
    layers: tuple[Path, ...]


@functools.cache
def views_for(cache_dir: Path) -> Views:
    """The runtime view and the modelled Powertools layer, built under ``cache_dir`` once per process."""
    installed = _installed()
    runtime = build_view(RUNTIME_DISTRIBUTIONS, cache_dir, installed=installed)
    powertools = build_view(POWERTOOLS_LAYER, cache_dir, exclude=RUNTIME_DISTRIBUTIONS, installed=installed)
    return Views(runtime, (powertools,))
