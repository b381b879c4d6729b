"""Progress in words: checklist labels, next steps, the JSON of `status --json` and progress.json, the badge.

:mod:`annotator_docs.coverage` computes the numbers; this is the one place that words them.
"""

from __future__ import annotations

from typing import Any

from ..coverage import CHECKLIST_KEYS, LONG_FUNCTION, pending
from ..layout import page_url
from ..models import ChecklistItem, FileProgress, LockedFile, ProgressReport, Status

LABELS = {
    "overview": "Overview (40+ words)",
    "role": "Role in the pipeline (20+ words)",
    "key_innovations": "Key innovations (2+)",
    "data_flow": "Data flow: origin, processing, destination (10+ words each)",
    "takeaways": "Key takeaways (3-7)",
    "what_why_how": "What / why / how for every function, class and method",
    "step_notes": f"Step notes for functions of {LONG_FUNCTION}+ lines",
}
SHORT = {
    "overview": "overview",
    "role": "role in the pipeline",
    "key_innovations": "key innovations",
    "data_flow": "data flow",
    "takeaways": "key takeaways",
    "what_why_how": "what / why / how",
    "step_notes": "step notes",
}
assert set(LABELS) == set(CHECKLIST_KEYS) == set(SHORT)


def label(item: ChecklistItem) -> str:
    return LABELS[item.key]


def percent(value: float | None, digits: int = 0) -> str:
    return "unknown" if value is None else f"{value:.{digits}f}%"


def status_word(progress: FileProgress) -> str:
    return "code not pulled" if progress.status is Status.UNKNOWN else progress.status.value


def next_steps(report: ProgressReport) -> list[str]:
    """What to do next: by priority, then by the size of the gap."""
    steps = []
    for f in pending(report):
        if f.status is Status.UNKNOWN:
            steps.append(f"{f.key} ({f.priority.value}): pull the code (`annotator snapshot pull`) to measure coverage")
            continue
        gaps = []
        if f.review:
            gaps.append(f"review {len(f.review)} note(s)")
        if f.uncovered:
            gaps.append(f"cover {len(f.uncovered)} symbol(s)")
        gaps += [SHORT[item.key] for item in f.missing]
        steps.append(f"{f.key} ({f.priority.value}): " + ("; ".join(gaps) if gaps else "start the notes"))
    return steps


def file_data(f: FileProgress, file: LockedFile | None = None) -> dict[str, Any]:
    line_percent, symbol_percent = f.line_percent, f.symbol_percent
    return {
        "key": f.key,
        "path": f.path,
        "source": f.source,
        "title": f.title,
        "group": f.group,
        "page": page_url(file) if file is not None else f"files/{f.key}/",
        "status": f.status.value,
        "priority": f.priority.value,
        "pulled": f.pulled,
        "lines": f.lines,
        "covered_lines": f.covered_lines,
        "line_percent": None if line_percent is None else round(line_percent, 1),
        "symbols": f.symbols,
        "annotated_symbols": f.annotated_symbols,
        "symbol_percent": None if symbol_percent is None else round(symbol_percent, 1),
        "notes": f.notes,
        "states": {state.value: count for state, count in f.states},
        "unpinned": f.unpinned,
        "words": f.words,
        "checklist": [{"key": i.key, "label": label(i), "ok": i.ok, "detail": list(i.detail)} for i in f.checklist],
        "missing": [i.key for i in f.missing],
        "uncovered": list(f.uncovered),
        "review": [{"note": n, "state": s.value, "reason": r} for n, s, r in f.review],
    }


def report_data(report: ProgressReport) -> dict[str, Any]:
    """The JSON of `annotator status --json` and of the site's progress.json (one shape, documented)."""
    by_priority: dict[str, dict[str, int]] = {}
    for f in report.files:
        bucket = by_priority.setdefault(f.priority.value, {"files": 0, "complete": 0})
        bucket["files"] += 1
        bucket["complete"] += f.status is Status.COMPLETE
    coverage = report.line_coverage_percent
    sources = []
    for name, commit in report.commits:
        part = report.of_source(name)
        part_coverage = part.line_coverage_percent
        sources.append(
            {
                "name": name,
                "commit": commit,
                "files_total": len(part.files),
                "files_complete": part.complete,
                "line_coverage_percent": None if part_coverage is None else round(part_coverage, 1),
            }
        )
    return {
        "format": 2,
        "sources": sources,
        "files_total": len(report.files),
        "files_complete": report.complete,
        "pulled": report.pulled,
        "by_priority": by_priority,
        "line_coverage_percent": None if coverage is None else round(coverage, 1),
        "files": [file_data(f) for f in report.files],
        "next_steps": next_steps(report),
    }


def badge_json(report: ProgressReport) -> dict[str, Any]:
    """A shields.io endpoint: https://shields.io/badges/endpoint-badge"""
    done, total = report.complete, len(report.files)
    if not report.pulled:
        return {"schemaVersion": 1, "label": "annotated", "message": "code not pulled", "color": "lightgrey"}
    color = "brightgreen" if done == total else "yellow" if done else "lightgrey"
    return {"schemaVersion": 1, "label": "annotated", "message": f"{done} of {total} files", "color": color}
