"""bench.toml: read with tomllib, validated into a frozen BenchConfig.

Every problem is reported as one line that names the file, the field and what is allowed,
e.g. ``bench.toml: variants.memory_mb[2] = 64: must be 128..10240``. Lambda's own rules
(memory, timeout, architecture, function name) live once, in bench/targets/spec.py; this
module applies them and names the file and field. [target] and [function] are read by
bench/targetconfig.py.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .awsfacts import SYNC_PAYLOAD_LIMIT_BYTES
from .decide.settings import (
    DAYS_PER_MONTH,
    SECONDS_PER_DAY,
    SLO_PERCENTILES,
    STRATEGIES,
    DecisionSettings,
    TrafficSettings,
)
from .errors import UserError
from .gate.settings import GateSettings, parse_gates_table
from .targetconfig import (  # noqa: F401  (re-exported: where readers of bench.toml found them)
    PYTHON_RUNTIMES,
    TARGET_KINDS,
    FunctionConfig,
    TargetConfig,
    parse_function,
    parse_target,
)
from .targets import FunctionSpec, memory_sizes_problem

LOAD_PATHS = ("direct", "apigw-http", "apigw-rest")


@dataclass(frozen=True)
class LoadConfig:
    users: int = 8
    spawn_rate: float = 8.0
    run_time_s: float = 60.0
    payload: dict[str, Any] = field(default_factory=dict)
    paths: tuple[str, ...] = ("direct",)  # direct Invoke and/or API Gateway (HTTP API, REST API)
    route: str = "/"  # the path after /<stage> for API Gateway calls, query string included
    client: str = "fast"  # what sends direct invokes: fast (SigV4 over geventhttpclient) or boto3
    # Open loop: invocations started per second in all (Poisson arrivals), whatever the answers;
    # None: closed loop, each user invokes again as soon as it has its answer.
    rps: float | None = None
    seed: int | None = None  # the open loop's arrivals: the same seed replays the same arrival times


@dataclass(frozen=True)
class BenchConfig:
    path: Path
    target: TargetConfig
    function: FunctionConfig
    memory_mb: tuple[int, ...]
    load: LoadConfig
    reports_dir: Path
    traffic: TrafficSettings = field(default_factory=TrafficSettings)
    decision: DecisionSettings = field(default_factory=DecisionSettings)
    gates: GateSettings = field(default_factory=GateSettings)

    @property
    def payload_bytes(self) -> bytes:
        return json.dumps(self.load.payload).encode()

    def function_spec(self) -> FunctionSpec:
        """What bench/targets deploys: the [function] table as a FunctionSpec."""
        f = self.function
        return FunctionSpec(
            name=f.name,
            source=f.source,
            handler=f.handler,
            runtime=f.runtime,
            architecture=f.architecture,
            timeout_s=f.timeout_s,
            environment=dict(f.environment),
            **({"role": f.role} if f.role else {}),
        )


class _Section:
    """Reads one table of the file, naming ``file: table.key`` in every error."""

    def __init__(self, where: str, prefix: str, data: Any) -> None:
        self.where, self.prefix = where, prefix
        if not isinstance(data, dict):
            raise self.error(prefix, data, "must be a table")
        self.data = data

    def error(self, key: str, value: Any, allowed: str) -> UserError:
        return UserError(f"{self.where}: {key} = {_show(value)}: {allowed}")

    def name(self, key: str) -> str:
        return f"{self.prefix}.{key}"

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., allowed: str = "") -> Any:
        if key not in self.data:
            if default is ...:
                raise UserError(f"{self.where}: {self.name(key)} is missing: {allowed or 'required'}")
            return default
        value = self.data[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and bool not in _tuple(kind))
        if not ok:
            raise self.error(self.name(key), value, allowed or f"must be {_kind_name(kind)}")
        return value

    def checked(self, key: str, rule: Callable[[Any], str | None], default: Any = ...) -> Any:
        """The value at ``key``, judged by ``rule``, which answers with what is allowed or None."""
        if key not in self.data and default is ...:
            raise UserError(f"{self.where}: {self.name(key)} is missing: required")
        value = self.data.get(key, default)
        problem = rule(value)
        if problem:
            raise self.error(self.name(key), value, problem)
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any = ...) -> str:
        allowed = "must be one of " + ", ".join(choices)
        value = self.get(key, str, default, allowed)
        if value not in choices:
            raise self.error(self.name(key), value, allowed)
        return value

    def number(self, key: str, low: float, high: float, default: Any, kind: type | tuple = (int, float)) -> Any:
        allowed = f"must be {low:g}..{high:g}"
        value = self.get(key, kind, default, allowed)
        if not low <= value <= high:
            raise self.error(self.name(key), value, allowed)
        return value

    def unknown(self, known: set[str]) -> None:
        for key in self.data:
            if key not in known:
                raise UserError(f"{self.where}: {self.name(key)}: unknown field; known: {', '.join(sorted(known))}")


def _tuple(kind) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        dict: "a table",
        list: "a list",
        bool: "true or false",
    }
    return " or ".join(names.get(k, k.__name__) for k in _tuple(kind))


def _show(value: Any) -> str:
    return (
        json.dumps(value)
        if isinstance(value, str)
        else repr(value)
        if not isinstance(value, bool)
        else str(value).lower()
    )


def _where(path: Path) -> str:
    return path.name if path.parent.resolve() == Path.cwd().resolve() else str(path)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{_where(path)}: no such file (write one, or pass -c/--config FILE)") from None
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{_where(path)}: not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise UserError(f"{_where(path)}: not UTF-8 text (a TOML file must be UTF-8)") from None
    except IsADirectoryError:
        raise UserError(f"{_where(path)}: is a folder (give the benchmark file, e.g. bench.toml)") from None
    except OSError as err:
        raise UserError(f"{_where(path)}: cannot be read ({err.strerror})") from None


def load_config(path: Path) -> BenchConfig:
    return parse_config(_read_toml(path), path, _where(path))


TABLES = ("decision", "function", "gates", "load", "report", "target", "traffic", "variants")


def parse_config(raw: dict, path: Path, where: str) -> BenchConfig:
    top = _Section(where, "", raw)
    _known_tables(raw, where)
    base = path.parent
    traffic, decision = _decision_tables(top, base)
    return BenchConfig(
        path=path,
        target=parse_target(_Section(where, "target", top.get("target", dict, {}))),
        function=parse_function(_Section(where, "function", top.get("function", dict)), base),
        memory_mb=_variants(_Section(where, "variants", top.get("variants", dict))),
        load=_load(_Section(where, "load", top.get("load", dict, {}))),
        reports_dir=_reports_dir(_Section(where, "report", top.get("report", dict, {})), base),
        traffic=traffic,
        decision=decision,
        gates=_gates(raw, where),
    )


def _gates(raw: dict, where: str) -> GateSettings:
    return parse_gates_table(raw["gates"], where) if "gates" in raw else GateSettings(source=where)


def _reports_dir(s: _Section, base: Path) -> Path:
    s.unknown({"dir"})
    folder = base / s.get("dir", str, "reports")
    # The nearest existing ancestor must be a folder, or the run could not write its records.
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise s.error(s.name("dir"), s.data.get("dir", "reports"), f"must be a folder ({existing} is a file)")
    return folder


def load_gates_config(path: Path) -> GateSettings:
    """[gates] of a file that may hold only that table (or a whole bench.toml)."""
    raw = _read_toml(path)
    where = _where(path)
    _known_tables(raw, where)
    return _gates(raw, where)


def load_decision_config(path: Path) -> tuple[TrafficSettings, DecisionSettings]:
    """[traffic] and [decision] of a file that may hold only those (or a whole bench.toml)."""
    raw = _read_toml(path)
    where = _where(path)
    _known_tables(raw, where)
    return _decision_tables(_Section(where, "", raw), path.parent)


def _known_tables(raw: dict, where: str) -> None:
    for key in raw:
        if key not in TABLES:
            raise UserError(f"{where}: {key}: unknown table; known: {', '.join(TABLES)}")


def _decision_tables(top: _Section, base: Path) -> tuple[TrafficSettings, DecisionSettings]:
    where = top.where
    return (
        _traffic(_Section(where, "traffic", top.get("traffic", dict, {})), base),
        _decision(_Section(where, "decision", top.get("decision", dict, {}))),
    )


def _traffic(s: _Section, base: Path) -> TrafficSettings:
    s.unknown({"requests_per_month", "mean_rps", "peak_rps", "peak_hours_per_day", "path", "bursts_per_day",
               "burst_rps", "burst_s", "trace"})  # fmt: skip
    given = [key for key in ("requests_per_month", "mean_rps", "trace") if key in s.data]
    if len(given) > 1:
        raise s.error(s.name(given[1]), s.data[given[1]], f"give one of requests_per_month, mean_rps, trace, "
                      f"not both {given[0]} and {given[1]}")  # fmt: skip
    trace = None
    if "trace" in s.data:
        trace = base / s.get("trace", str)
        if not trace.is_file():
            raise s.error(s.name("trace"), s.data["trace"], f"must be a CSV file of per-minute counts (no file at "
                          f"{trace})")  # fmt: skip
    kwargs: dict[str, Any] = {}
    if "mean_rps" in s.data:
        kwargs["requests_per_month"] = s.get("mean_rps", (int, float)) * SECONDS_PER_DAY * DAYS_PER_MONTH
    elif "requests_per_month" in s.data:
        kwargs["requests_per_month"] = float(s.get("requests_per_month", (int, float)))
    for key in ("peak_rps", "peak_hours_per_day", "burst_rps", "burst_s"):
        if key in s.data:
            kwargs[key] = float(s.get(key, (int, float)))
    if "bursts_per_day" in s.data:
        kwargs["bursts_per_day"] = s.get("bursts_per_day", int)
    if "path" in s.data:
        kwargs["path"] = s.choice("path", LOAD_PATHS)
    return _settled(s, TrafficSettings(trace=trace, **kwargs), {"requests_per_month": "mean_rps"})


def _decision(s: _Section) -> DecisionSettings:
    s.unknown({"strategy", "balanced_weight", "slo_percentile", "slo_ms", "cold_start_budget", "max_error_rate",
               "idle_timeout_s"})  # fmt: skip
    slo_ms = s.get("slo_ms", (int, float), None)
    kwargs: dict[str, Any] = {
        "strategy": s.choice("strategy", STRATEGIES, "slo" if slo_ms is not None else "cost"),
        "slo_ms": None if slo_ms is None else float(slo_ms),
        "slo_percentile": s.get("slo_percentile", int, 95, "must be one of " + ", ".join(map(str, SLO_PERCENTILES))),
    }
    for key in ("balanced_weight", "cold_start_budget", "max_error_rate", "idle_timeout_s"):
        if key in s.data:
            kwargs[key] = float(s.get(key, (int, float)))
    return _settled(s, DecisionSettings(**kwargs), {})


def _settled(s: _Section, settings: Any, aliases: dict[str, str]) -> Any:
    """The settings if their own rules hold (bench/decide/settings.py); else the first problem, named."""
    for name, value, allowed in settings.problems():
        key = name if name in s.data else aliases.get(name, name)
        if key not in s.data and value is None:
            raise UserError(f"{s.where}: {s.name(key)} is missing: {allowed}")
        raise s.error(s.name(key), s.data.get(key, value), allowed)
    return settings


def _variants(s: _Section) -> tuple[int, ...]:
    s.unknown({"memory_mb"})
    sizes = s.get("memory_mb", list, allowed="must be a list of memory sizes in MB, e.g. [128, 512, 1024]")
    problem = memory_sizes_problem(sizes)
    if problem:
        index = "" if problem.index is None else f"[{problem.index}]"
        raise s.error(s.name("memory_mb") + index, problem.value, problem.allowed)
    return tuple(sizes)


def _payload(s: _Section) -> dict[str, Any]:
    """[load].payload: JSON values only (TOML also has dates and nan), within Lambda's 6 MB for a sync invoke."""
    payload = s.get("payload", dict, {})
    try:
        size = len(json.dumps(payload, allow_nan=False).encode())
    except (TypeError, ValueError):
        raise s.error(s.name("payload"), payload, "must hold JSON values only: no dates or times, nan or inf") from None
    if size > SYNC_PAYLOAD_LIMIT_BYTES:
        raise UserError(f"{s.where}: {s.name('payload')}: {size:,} bytes as JSON: must be at most "
                        f"{SYNC_PAYLOAD_LIMIT_BYTES:,} (Lambda's limit for a synchronous invoke)")  # fmt: skip
    return payload


def _load(s: _Section) -> LoadConfig:
    s.unknown({"users", "spawn_rate", "run_time_s", "payload", "paths", "route", "client", "rps", "seed"})
    paths = s.get("paths", list, ["direct"], "a list of " + ", ".join(LOAD_PATHS))
    for i, path in enumerate(paths):
        if path not in LOAD_PATHS:
            raise s.error(f"load.paths[{i}]", path, "must be one of " + ", ".join(LOAD_PATHS))
    if not paths or len(set(paths)) != len(paths):
        raise s.error(s.name("paths"), paths, "must list each path once, at least one")
    route = s.get("route", str, "/")
    if not route.startswith("/"):
        raise s.error(s.name("route"), route, "must start with /, e.g. /?n=20000")
    users = s.number("users", 1, 10_000, 8, int)
    if users < len(paths):
        raise s.error(s.name("users"), users, f"must be at least one per path ({len(paths)})")
    return LoadConfig(
        users=users,
        spawn_rate=s.number("spawn_rate", 0.1, 10_000, 8.0),
        run_time_s=s.number("run_time_s", 1, 86_400, 60.0),
        payload=_payload(s),
        paths=tuple(paths),
        route=route,
        client=s.choice("client", ("fast", "boto3"), "fast"),
        rps=None if "rps" not in s.data else float(s.number("rps", 0.01, 100_000, None)),
        seed=s.get("seed", int, None, "must be an integer"),
    )
