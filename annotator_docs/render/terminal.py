"""`annotator status` as an aligned, optionally coloured table."""

from __future__ import annotations

from ..coverage import ProgressReport, Status

_COLORS = {Status.COMPLETE: "32", Status.IN_PROGRESS: "33", Status.NOT_STARTED: "90"}


def status_table(report: ProgressReport, color: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    header = ("file", "status", "priority", "lines", "covered", "symbols", "notes", "review", "missing")
    rows = []
    for f in report.files:
        rows.append((
            f.path, f.status.value, f.priority, str(f.lines), f"{f.line_percent:.0f}%",
            f"{f.annotated_symbols}/{f.symbols}", str(f.notes), str(len(f.review)),
            ", ".join(i.key for i in f.missing) or "-",
        ))
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    for f, row in zip(report.files, rows):
        cells = [c.ljust(w) if i != 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        cells[1] = paint(cells[1], _COLORS[f.status])
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines.append(f"{report.complete} of {len(report.files)} files complete; line coverage {report.line_coverage_percent:.1f}%")
    if report.next_steps:
        lines.append("next: " + report.next_steps[0])
    return "\n".join(lines)
