"""The progress dashboard: static HTML and SVG made at build time (no chart library, no CDN)."""

from __future__ import annotations

import datetime as dt

from ..coverage import PRIORITY_ORDER, ProgressReport, Status
from ..history import HistoryPoint
from .markdown import LinkContext, escape
from .page import front_matter

PAGE_URL = "progress/"


def _bar(percent: float) -> str:
    percent = max(0.0, min(100.0, percent))
    return (f'<span class="ann-bar" role="img" aria-label="{percent:.0f}%">'
            f'<span class="ann-bar-fill" style="width:{percent:.1f}%"></span></span> {percent:.0f}%')


def render_dashboard(report: ProgressReport, history: list[HistoryPoint]) -> str:
    context = LinkContext(page_url=PAGE_URL)
    parts = [front_matter("Progress", "Annotation progress, derived from the sidecars and the code", hide=("toc",))]
    parts.append("# Progress\n\n")
    parts.append("Everything on this page is derived from the sidecars and the pinned code on every build; "
                 "nothing is kept by hand. The same figures: `annotator status` (`--json`).\n\n")
    total = len(report.files)
    overview = [f'<p class="ann-big"><strong>{report.complete} of {total}</strong> files complete · '
                f"{report.line_coverage_percent:.1f}% of lines annotated</p>"]
    by_priority = []
    for priority in sorted({f.priority for f in report.files}, key=lambda p: PRIORITY_ORDER.get(p, 9)):
        files = [f for f in report.files if f.priority == priority]
        done = sum(1 for f in files if f.status is Status.COMPLETE)
        by_priority.append(f"<li><strong>{escape(priority)}</strong>: {done} of {len(files)} complete</li>")
    overview.append(f'<ul class="ann-priorities">{"".join(by_priority)}</ul>')
    parts.append('<div class="ann-dashboard-summary" markdown="0">\n' + "".join(overview) + "\n</div>\n\n")

    parts.append("## Files\n\n")
    head = "".join(f"<th>{h}</th>" for h in ("File", "Status", "Priority", "Lines", "Line coverage", "Symbols",
                                               "Notes", "Review", "Missing"))
    rows = []
    for f in report.files:
        href = context.to_site(f"files/{f.path}.md")
        missing = ", ".join(escape(i.key) for i in f.missing) or "—"
        rows.append(
            "<tr>"
            f'<td><a href="{escape(href)}">{escape(f.path)}</a></td>'
            f'<td><span class="ann-pill ann-status-{f.status.value.replace(" ", "-")}">{escape(f.status.value)}</span></td>'
            f"<td>{escape(f.priority)}</td><td>{f.lines}</td><td>{_bar(f.line_percent)}</td>"
            f"<td>{_bar(f.symbol_percent)} ({f.annotated_symbols}/{f.symbols})</td>"
            f"<td>{f.notes}</td><td>{len(f.review)}</td><td>{missing}</td>"
            "</tr>"
        )
    parts.append(f'<div class="ann-table" markdown="0">\n<table><thead><tr>{head}</tr></thead>'
                 f'<tbody>{"".join(rows)}</tbody></table>\n</div>\n\n')

    parts.append("## Notes that need review\n\n")
    review = [(f, item) for f in report.files for item in f.review]
    if review:
        items = "".join(
            f'<li><a href="{escape(context.to_site(f"files/{f.path}.md#note-{note_id}"))}">{escape(f.path)} · {escape(note_id)}</a>'
            f" — {escape(state)}: {escape(message)}</li>"
            for f, (note_id, state, message) in review
        )
        parts.append(f'<div class="ann-review" markdown="0">\n<ul>{items}</ul>\n</div>\n\n')
    else:
        parts.append("None: every note is anchored to the code it was written for.\n\n")

    parts.append("## Next steps\n\n")
    if report.next_steps:
        items = "".join(f"<li>{escape(step)}</li>" for step in report.next_steps)
        parts.append(f'<div class="ann-next" markdown="0">\n<ol>{items}</ol>\n</div>\n\n')
    else:
        parts.append("Nothing left: every file is complete.\n\n")

    parts.append("## Coverage over time\n\n")
    parts.append(f'<div class="ann-chart" markdown="0">\n{burnup_svg(history)}\n</div>\n')
    return "".join(parts)


def burnup_svg(history: list[HistoryPoint], width: int = 640, height: int = 220) -> str:
    if len(history) < 1:
        return "<p>No history yet: the chart starts with the first commit to <code>annotations/</code>.</p>"
    pad = 36
    first, last = history[0].timestamp, history[-1].timestamp
    span = max(1, last - first)

    def x(point: HistoryPoint) -> float:
        return pad + (width - 2 * pad) * ((point.timestamp - first) / span if len(history) > 1 else 1.0)

    def y(percent: float) -> float:
        return height - pad - (height - 2 * pad) * percent / 100.0

    points = " ".join(f"{x(p):.1f},{y(p.line_percent):.1f}" for p in history)
    dots = "".join(
        f'<circle cx="{x(p):.1f}" cy="{y(p.line_percent):.1f}" r="3"><title>{escape(p.commit[:8])}: '
        f'{p.line_percent}% of lines, {p.files_complete} files complete</title></circle>' for p in history
    )
    grid = "".join(
        f'<line x1="{pad}" x2="{width - pad}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="ann-grid"/>'
        f'<text x="{pad - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}%</text>' for v in (0, 25, 50, 75, 100)
    )
    day = lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d")  # noqa: E731
    labels = (f'<text x="{pad}" y="{height - 8}">{day(first)}</text>'
              f'<text x="{width - pad}" y="{height - 8}" text-anchor="end">{day(last)}</text>')
    return (f'<svg class="ann-burnup" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="Line coverage over {len(history)} commits">{grid}'
            f'<polyline points="{points}" class="ann-line-series"/>{dots}{labels}</svg>')
