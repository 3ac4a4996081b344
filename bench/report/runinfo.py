"""The run's facts as the report shows them: a short context line at the top, the full list below.

The context line answers "measured where, when, under what load, with which versions, priced
how": the target (the AWS region, or the emulator with its CPU mode, since the emulator's CPU
share is modelled two ways), the run's start, its load, the versions of lambench and the
runtime, and whose prices the costs are in (the run's region's, or us-east-1's and why).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from bench.analysis import RunSummary

from .formatting import fmt_fact

# Run facts every report shows, "not recorded" when the caller lacks them, then the rest.
_SHOWN_ALWAYS = {"target", "function", "cpu_mode", "load"}
_FACT_ORDER = (
    ("run_id", "Run"),
    ("target", "Target"),
    ("endpoint", "Endpoint"),
    ("function", "Function"),
    ("runtime", "Runtime"),
    ("runtime_note", "Runtime note"),
    ("architecture", "Architecture"),
    ("cpu_mode", "CPU mode"),
    ("load", "Load"),
    ("started", "Started"),
    ("finished", "Finished"),
)


def run_facts(run_info: Mapping[str, Any], summary: RunSummary) -> list[tuple[str, str]]:
    """(label, text) pairs: the known facts in a fixed order, then any others the caller gave."""
    info = {"architecture": summary.architecture, **run_info}
    known = dict(_FACT_ORDER)
    facts = [(label, fmt_fact(info.get(key))) for key, label in _FACT_ORDER if key in info or key in _SHOWN_ALWAYS]
    extra = [(key.replace("_", " ").capitalize(), fmt_fact(value)) for key, value in info.items() if key not in known]
    return facts + extra


def _target(info: Mapping[str, Any]) -> str:
    target = str(info.get("target") or "not recorded")
    cpu_mode = fmt_fact(info.get("cpu_mode"))
    if target.lower().startswith("aws"):
        region = info.get("region") or str(info.get("endpoint") or "").removeprefix("AWS ").strip()
        return f"AWS, region {region}" if region else "AWS"
    return f"{target}, CPU mode {cpu_mode}"


def _when(value: object) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return value.strftime("%Y-%m-%d %H:%M")
    return fmt_fact(value)


def _load(info: Mapping[str, Any], summary: RunSummary) -> str:
    load = info.get("load")
    calls = f"{sum(v.invocations for v in summary.variants):,} calls"
    if not isinstance(load, Mapping):
        return f"{fmt_fact(load)}; {calls}"
    parts = []
    if load.get("rps"):
        parts.append(f"{load['rps']:g} requests/s (open loop)")
    elif load.get("users"):
        parts.append(f"{load['users']} users")
    seconds = load.get("run_time_s") or load.get("duration_s")
    if seconds:
        parts.append(f"{seconds:g} s")
    paths = load.get("paths")
    if paths:
        parts.append("paths " + ", ".join(map(str, paths)))
    parts.append(calls)
    return ", ".join(parts)


def _versions(info: Mapping[str, Any]) -> str:
    try:
        ours = metadata.version("lambench")
    except metadata.PackageNotFoundError:
        ours = "unknown"
    parts = [f"lambench {ours}"]
    runtime = info.get("runtime_note") or info.get("runtime")
    if runtime:
        parts.append(str(runtime))
    host = info.get("host")
    if isinstance(host, Mapping) and host.get("python"):
        parts.append(f"load generator on Python {host['python']}")
    return "; ".join(parts)


def context_facts(run_info: Mapping[str, Any], summary: RunSummary) -> list[tuple[str, str]]:
    """(label, text) for the top of the page: target, date, load, versions."""
    return (
        [
            ("Target", _target(run_info)),
            ("Run", f"{fmt_fact(run_info.get('run_id'))}, started {_when(run_info.get('started'))}"),
            ("Load", _load(run_info, summary)),
            ("Versions", _versions(run_info)),
            ("Prices", summary.prices_statement),
        ]
        + ([("Host", str(run_info["host_capacity"]))] if run_info.get("host_capacity") else [])
        + _unreached(run_info)
    )


def _unreached(run_info: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A path none of whose calls reached the function, at the top: its table rows hold errors only."""
    unreached = run_info.get("unreached")
    if not isinstance(unreached, Mapping) or not unreached:
        return []
    return [("Unreached", "; ".join(f"{path}: {text}" for path, text in unreached.items()))]
