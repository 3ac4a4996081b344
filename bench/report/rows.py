"""What every table says about a row, decided once for HTML, Markdown, the terminal and CSV.

- **cheapest** means: the lowest cost per million as measured *on its own path* (ties to the
  smaller memory size), so a run through three paths has one cheapest row per path, and the cost
  chart marks the same rows. (summary.cheapest, the pooled ranking the Checks compare, can differ
  on a gateway path only by noise: the gateway's price is the same at every size.)
- **recommended** means: the decision stage's memory pick, on the path of the user's traffic.
- **infeasible** means: the decision stage excluded that variant on the traffic's path, and why.

Checks are folded: the same warning on many rows becomes one line per kind, naming the rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bench.analysis import RunSummary, VariantSummary
from bench.decide import Candidate, Recommendation

PATH_NAMES = {"direct": "Direct invoke", "apigw-http": "API Gateway HTTP API", "apigw-rest": "API Gateway REST API"}
SHORT_PATHS = {"direct": "direct", "apigw-http": "HTTP", "apigw-rest": "REST"}
_IN_PARENS = re.compile(r" \([^)]*\)")
_PERCENT = re.compile(r"\d[\d,.]*%")


@dataclass(frozen=True)
class Row:
    v: VariantSummary
    label: str  # "512 MB", or "512 MB REST" when paths vary; the variant's name when memory is unknown
    cheapest: bool
    recommended: bool
    candidate: Candidate | None = None  # the decision's figures for it (traffic path only)
    infeasible: str | None = None  # why the decision excluded it (traffic path only)


def size_label(v: VariantSummary) -> str:
    return f"{v.memory_mb} MB" if v.memory_mb is not None else v.variant


def row_label(v: VariantSummary, paths_vary: bool) -> str:
    return f"{size_label(v)} {SHORT_PATHS.get(v.path, v.path)}" if paths_vary else size_label(v)


def paths_vary(summary: RunSummary) -> bool:
    return len({v.path for v in summary.variants}) > 1


def cheapest_by_path(summary: RunSummary) -> dict[str, str]:
    """path -> the variant with the lowest measured cost per million on it (ok calls needed)."""
    best: dict[str, tuple[float, int, str]] = {}
    for v in summary.variants:
        if v.ok <= 0 or v.cost_per_million_usd is None or v.memory_mb is None:
            continue
        key = (v.cost_per_million_usd, v.memory_mb, v.variant)
        if v.path not in best or key < best[v.path]:
            best[v.path] = key
    return {path: key[2] for path, key in best.items()}


def traffic_path(recommendation: Recommendation | None) -> str | None:
    if recommendation is None:
        return None
    path = recommendation.traffic.get("path")
    return str(path) if path else "direct"


def decision_path(summary: RunSummary, recommendation: Recommendation | None) -> str | None:
    """The one path a single-path chart draws: the traffic's, else direct, else the first run."""
    paths = [v.path for v in summary.variants]
    wanted = traffic_path(recommendation)
    if wanted in paths:
        return wanted
    if "direct" in paths:
        return "direct"
    return paths[0] if paths else None


def table_rows(summary: RunSummary, recommendation: Recommendation | None = None) -> list[Row]:
    """One Row per variant and path, in the summary's order (memory, then path)."""
    cheapest = cheapest_by_path(summary)
    vary = paths_vary(summary)
    path = traffic_path(recommendation)
    pick = recommendation.memory.variant if recommendation is not None else None
    candidates = {c.variant: c for c in recommendation.candidates} if recommendation is not None else {}
    excluded = {i.variant: i.reason for i in recommendation.infeasible} if recommendation is not None else {}
    out = []
    for v in summary.variants:
        on_path = v.path == path
        out.append(
            Row(
                v=v,
                label=row_label(v, vary),
                cheapest=cheapest.get(v.path) == v.variant,
                recommended=on_path and pick == v.variant,
                candidate=candidates.get(v.variant) if on_path else None,
                infeasible=excluded.get(v.variant) if on_path else None,
            )
        )
    return out


def by_path(rows: Sequence[Row]) -> list[tuple[str, list[Row]]]:
    """Rows grouped by path, paths in their first-seen order."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.v.path, []).append(row)
    return list(groups.items())


@dataclass(frozen=True)
class FoldedWarning:
    """One kind of warning and every row that raised it, with its own figure where it has one."""

    kind: str  # the sentence with its numbers taken out ("... is N% of the mean")
    rows: tuple[tuple[str, str], ...]  # (row label, its percentage or "")
    sentences: tuple[str, ...]  # the full warnings, for a tooltip

    def text(self) -> str:
        named = ", ".join(f"{label} ({detail})" if detail else label for label, detail in self.rows)
        count = len(self.rows)
        return f"{self.kind}, in {count} row{'s' if count > 1 else ''}: {named}"


def fold_warnings(summary: RunSummary) -> list[FoldedWarning]:
    """The rows' stability warnings, one entry per kind, kinds in first-seen order."""
    vary = paths_vary(summary)
    kinds: dict[str, list[tuple[str, str, str]]] = {}
    for v in summary.variants:
        for warning in v.warnings:
            kind = _PERCENT.sub("N%", _IN_PARENS.sub("", warning))
            found = _PERCENT.search(_IN_PARENS.sub("", warning))
            label = row_label(v, vary)
            kinds.setdefault(kind, []).append((label, found.group(0) if found else "", f"{label}: {warning}"))
    return [
        FoldedWarning(kind, tuple((label, detail) for label, detail, _ in found), tuple(s for _, _, s in found))
        for kind, found in kinds.items()
    ]


def check_lines(summary: RunSummary) -> list[str]:
    """The checks as plain sentences, warnings marked "Warning:": the cheapest check, then one
    line per kind of stability warning."""
    lines = []
    check = summary.cheapest_check
    if check is not None:
        pooled = " (pooled over paths)" if paths_vary(summary) else ""
        lines.append((check.message if check.separated else f"Warning: {check.message}") + pooled)
    lines += [f"Warning: {folded.text()}" for folded in fold_warnings(summary)]
    return lines
