"""Headless CI performance gates: fail a change that makes a function slower or dearer, and never for noise.

settings (the ``[gates]`` table and ``--gate``) -> evidence (a run folder or a baseline file:
figures and the samples behind them) -> evaluate (pass, fail or inconclusive, on intervals and
tests) -> output (the log's table, JUnit XML, Markdown). ``lambench gate`` and ``lambench run
--gate`` are its doors (bench/cli.py, via :func:`run_gates`).

Only the settings load eagerly: bench/config.py reads ``[gates]`` from here, and reading
bench.toml must not wait for scipy. The rest loads on first use.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from bench.gate.settings import Gate, GateOptions, GateSettings, parse_gate_option, parse_gates_table

if TYPE_CHECKING:
    from bench.gate.evidence import RunEvidence, load_baseline, load_run, save_baseline
    from bench.gate.output import junit_xml, markdown
    from bench.gate.run import GateRequest, run_gates
    from bench.gate.verdicts import FAIL, INCONCLUSIVE, PASS, SKIPPED, GateReport, GateResult, evaluate

_LAZY = {
    "bench.gate.verdicts": ("FAIL", "INCONCLUSIVE", "PASS", "SKIPPED", "GateReport", "GateResult", "evaluate"),
    "bench.gate.evidence": ("RunEvidence", "load_baseline", "load_run", "save_baseline"),
    "bench.gate.output": ("junit_xml", "markdown"),
    "bench.gate.run": ("GateRequest", "run_gates"),
}

__all__ = [
    "FAIL",
    "INCONCLUSIVE",
    "PASS",
    "SKIPPED",
    "Gate",
    "GateOptions",
    "GateReport",
    "GateRequest",
    "GateResult",
    "GateSettings",
    "RunEvidence",
    "evaluate",
    "junit_xml",
    "load_baseline",
    "load_run",
    "markdown",
    "parse_gate_option",
    "parse_gates_table",
    "run_gates",
    "save_baseline",
]


def __getattr__(name: str) -> Any:
    for module, names in _LAZY.items():
        if name in names:
            return getattr(import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
