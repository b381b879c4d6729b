"""`annotator drift` in words and as JSON (schema: annotator_docs/schema/drift.schema.json)."""

from __future__ import annotations

from typing import Any

from ..drift import DriftReport
from ..findings import terminal_safe
from ..layout import ANNOTATIONS, SIDECAR_SUFFIX
from ..models import State

_ORDER = (State.CHANGED, State.ORPHANED, State.MOVED, State.INTACT)


def drift_text(report: DriftReport, everything: bool = False) -> str:
    """A summary per file and per state first; then what needs attention (or, with ``everything``, every note)."""
    counts, totals = report.counts(), report.totals()
    out = [
        f"drift of {report.source} against {terminal_safe(report.target)}: {len(report.entries)} notes: "
        + ", ".join(f"{totals[s.value]} {s.value}" for s in _ORDER)
        + f" ({totals['reformatted']} reformatted)"
    ]
    width = max((len(k) for k in counts), default=4)
    out.append(f"  {'file'.ljust(width)}  " + "  ".join(f"{s.value:>8}" for s in _ORDER))
    for key, row in counts.items():
        out.append(f"  {key.ljust(width)}  " + "  ".join(f"{row[s.value]:>8}" for s in _ORDER))
    for finding in report.file_findings:
        out.append(finding.format())
    shown = [e for e in report.entries if everything or e.note.state is not State.INTACT]
    if shown:
        out.append("")
    for entry in sorted(shown, key=lambda e: (_ORDER.index(e.note.state), e.key, e.note.note.sidecar_line)):
        note = entry.note
        where = f"{ANNOTATIONS}/{entry.key}{SIDECAR_SUFFIX}:{note.note.sidecar_line}"
        span = f"L{note.span.start}-{note.span.end}" if note.span else "-"
        before = f"L{entry.pinned_span[0]}-{entry.pinned_span[1]}" if entry.pinned_span else "-"
        detail = note.reason or ("reformatted" if note.reformatted else "")
        arrow = f"{before} -> {span}" if note.state in (State.MOVED, State.CHANGED) else span
        out.append(terminal_safe(f"{where}: {note.state.value:8} {note.note_id} ({arrow})" + (f": {detail}" if detail else "")))
        if entry.diff:
            out.extend("    " + terminal_safe(line) for line in entry.diff.split("\n"))
    if not shown:
        out.append("nothing needs attention")
    return "\n".join(out)


def drift_json(report: DriftReport) -> dict[str, Any]:
    return {
        "format": 2,
        "source": report.source,
        "target": report.target,
        "totals": report.totals(),
        "files": report.counts(),
        "file_findings": [f.as_dict() for f in report.file_findings],
        "notes": [
            {
                "file": e.key,
                "note": e.note.note_id,
                "state": e.note.state.value,
                "reason": e.note.reason,
                "reformatted": e.note.reformatted,
                "symbol": e.note.symbol,
                "pinned_span": list(e.pinned_span) if e.pinned_span else None,
                "span": [e.note.span.start, e.note.span.end] if e.note.span else None,
                "moved_to": {"file": e.note.moved_to[0], "symbol": e.note.moved_to[1]} if e.note.moved_to else None,
                "candidates": [{"symbol": c.qualname, "score": c.score, "reason": c.reason} for c in e.note.candidates],
                "diff": e.diff,
            }
            for e in report.entries
        ],
    }
