"""`annotator status` as an aligned, optionally coloured table, grouped by source."""

from __future__ import annotations

from ..findings import terminal_safe
from ..models import ProgressReport, Status
from .report import next_steps, percent, status_word

_COLORS = {Status.COMPLETE: "32", Status.IN_PROGRESS: "33", Status.NOT_STARTED: "90", Status.UNKNOWN: "90"}


def status_table(report: ProgressReport, color: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    header = ("file", "status", "priority", "lines", "covered", "symbols", "notes", "review", "missing")
    out: list[str] = []
    for name, commit in report.commits:
        part = report.of_source(name)
        if not part.files:
            continue
        rows = [
            (
                terminal_safe(f.key),
                status_word(f),
                f.priority.value,
                str(f.lines) if f.pulled else "-",
                percent(f.line_percent) if f.pulled else "-",
                f"{f.annotated_symbols}/{f.symbols}" if f.pulled else "-",
                str(f.notes),
                str(len(f.review)),
                ", ".join(i.key for i in f.missing) or "-",
            )
            for f in part.files
        ]
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
        if out:
            out.append("")
        pin = f" @ {commit[:12]}" if commit else ""
        out.append(
            f"{name}{pin}: {part.complete} of {len(part.files)} complete; line coverage {percent(part.line_coverage_percent, 1)}"
        )
        out.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
        for f, row in zip(part.files, rows):
            cells = [c.ljust(w) if i != 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
            cells[1] = paint(cells[1], _COLORS[f.status])
            out.append("  ".join(cells).rstrip())
    out.append("")
    if report.pulled:
        out.append(
            f"{report.complete} of {len(report.files)} files complete; line coverage {percent(report.line_coverage_percent, 1)}"
        )
    else:
        out.append(
            f"{report.complete} of {len(report.files)} files complete; code not pulled: coverage unknown "
            "(run `annotator snapshot pull`)"
        )
    steps = next_steps(report)
    if steps:
        out.append("next: " + terminal_safe(steps[0]))
    return "\n".join(out)
