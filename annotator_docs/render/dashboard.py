"""The progress dashboard: static HTML and SVG made at build time (no chart library, no CDN), grouped by source."""

from __future__ import annotations

import datetime as dt

from ..coverage import pending
from ..history import HistoryPoint
from ..layout import relative_url, url_of
from ..models import Lock, Priority, ProgressReport, Status
from .markdown import escape
from .page import front_matter
from .report import next_steps, percent, status_word

PAGE = "progress.md"


def _bar(value: float | None) -> str:
    if value is None:
        return "unknown"
    value = max(0.0, min(100.0, value))
    return (
        f'<span class="ann-bar" role="img" aria-label="{value:.0f}%">'
        f'<span class="ann-bar-fill" style="width:{value:.1f}%"></span></span> {value:.0f}%'
    )


def render_dashboard(report: ProgressReport, history: list[HistoryPoint], lock: Lock, prefix: str = "") -> str:
    here = url_of(prefix + PAGE)
    parts = [front_matter("Progress", "Annotation progress, derived from the sidecars and the code", hide=("toc",))]
    parts.append("# Progress\n\n")
    parts.append(
        "Everything on this page is derived from the sidecars and the pinned code on every build; "
        "nothing is kept by hand. The same figures: `annotator status` (`--json`).\n\n"
    )
    overview = [
        f'<p class="ann-big"><strong>{report.complete} of {len(report.files)}</strong> files complete · '
        f"{percent(report.line_coverage_percent, 1)} of lines annotated</p>"
    ]
    rows = []
    for priority in Priority:
        files = [f for f in report.files if f.priority is priority]
        if files:
            done = sum(1 for f in files if f.status is Status.COMPLETE)
            rows.append(f"<li><strong>{priority.value}</strong>: {done} of {len(files)} complete</li>")
    overview.append(f'<ul class="ann-priorities">{"".join(rows)}</ul>')
    parts.append('<div class="ann-dashboard-summary">\n' + "".join(overview) + "\n</div>\n\n")

    head = "".join(
        f"<th>{h}</th>" for h in ("File", "Status", "Priority", "Lines", "Line coverage", "Symbols", "Notes", "Review", "Missing")
    )
    for source in lock.sources:
        part = report.of_source(source.name)
        if not part.files:
            continue
        pin = f" at <code>{escape(source.ref or '')}</code>" if source.ref else ""
        commit = f" (<code>{escape(source.commit[:12])}</code>)" if source.commit else ""
        parts.append(f"## {escape(source.name)}\n\n")
        parts.append(
            f'<p class="ann-source-line">{escape(source.repository or source.local_path or "")}{pin}{commit}: '
            f"{part.complete} of {len(part.files)} files complete, "
            f"{percent(part.line_coverage_percent, 1)} of lines annotated</p>\n\n"
        )
        body = []
        for f in part.files:
            href = relative_url(here, f"{prefix}files/{f.key}.md")
            missing = ", ".join(escape(i.key) for i in f.missing) or "—"
            symbols = f"{_bar(f.symbol_percent)} ({f.annotated_symbols}/{f.symbols})" if f.pulled else "unknown"
            body.append(
                "<tr>"
                f'<td><a href="{escape(href)}">{escape(f.path)}</a></td>'
                f'<td><span class="ann-pill ann-status-{f.status.value.replace(" ", "-")}">{escape(status_word(f))}</span></td>'
                f"<td>{escape(f.priority.value)}</td><td>{f.lines if f.pulled else '–'}</td><td>{_bar(f.line_percent)}</td>"
                f"<td>{symbols}</td><td>{f.notes}</td><td>{len(f.review)}</td><td>{missing}</td>"
                "</tr>"
            )
        parts.append(
            f'<div class="ann-table">\n<table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>\n</div>\n\n'
        )

    parts.append("## Notes that need review\n\n")
    review = [(f, item) for f in report.files for item in f.review]
    if review:
        items = "".join(
            f'<li><a href="{escape(relative_url(here, f"{prefix}files/{f.key}.md#note-{note_id}"))}">'
            f"{escape(f.key)} · {escape(note_id)}</a>"
            f" — {escape(state.value)}: {escape(reason)}</li>"
            for f, (note_id, state, reason) in review
        )
        parts.append(f'<div class="ann-review">\n<ul>{items}</ul>\n</div>\n\n')
    else:
        parts.append("None: every note is anchored to the code it was written for.\n\n")

    parts.append("## Next steps\n\n")
    steps = next_steps(report) if pending(report) else []
    if steps:
        parts.append('<div class="ann-next">\n<ol>' + "".join(f"<li>{escape(step)}</li>" for step in steps) + "</ol>\n</div>\n\n")
    else:
        parts.append("Nothing left: every file is complete.\n\n")

    parts.append("## Coverage over time\n\n")
    parts.append(f'<div class="ann-chart">\n{burnup_svg(history)}\n</div>\n')
    return "".join(parts)


def burnup_svg(history: list[HistoryPoint], width: int = 640, height: int = 220) -> str:
    if not history:
        return "<p>No history yet: the chart starts with the first commit to <code>annotations/</code>.</p>"
    pad = 36
    first, last = history[0].timestamp, history[-1].timestamp
    span = max(1, last - first)

    def x(point: HistoryPoint) -> float:
        return pad + (width - 2 * pad) * ((point.timestamp - first) / span if len(history) > 1 else 1.0)

    def y(value: float) -> float:
        return height - pad - (height - 2 * pad) * value / 100.0

    points = " ".join(f"{x(p):.1f},{y(p.line_percent):.1f}" for p in history)
    dots = "".join(
        f'<circle cx="{x(p):.1f}" cy="{y(p.line_percent):.1f}" r="3"><title>{escape(p.commit[:8])}: '
        f"{p.line_percent}% of lines, {p.files_complete} files complete</title></circle>"
        for p in history
    )
    grid = "".join(
        f'<line x1="{pad}" x2="{width - pad}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="ann-grid"/>'
        f'<text x="{pad - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}%</text>'
        for v in (0, 25, 50, 75, 100)
    )

    def day(timestamp: int) -> str:
        return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")

    labels = (
        f'<text x="{pad}" y="{height - 8}">{day(first)}</text>'
        f'<text x="{width - pad}" y="{height - 8}" text-anchor="end">{day(last)}</text>'
    )
    return (
        f'<svg class="ann-burnup" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Line coverage over {len(history)} commits">{grid}'
        f'<polyline points="{points}" class="ann-line-series"/>{dots}{labels}</svg>'
    )
