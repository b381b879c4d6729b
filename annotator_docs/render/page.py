"""One file's page: header sections, then rows of (notes | code). Pure: analysis in, Markdown out.

The page is Markdown for mkdocs (front matter, section headings for the table of contents) whose
bodies are pre-rendered HTML blocks, so no builder re-highlights the code or re-reads note text.
Rows start at every note's first line and every definition; each row's code runs to the next row,
so every source line appears exactly once, in order.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from ..anchors import ResolvedNote, State
from ..coverage import FileProgress, Status
from ..lock import Lock
from ..model import SourceModel, SymbolKind
from ..project import FileAnalysis
from .code import highlight_lines
from .links import SymbolIndex, resolver_for
from .markdown import LinkContext, escape, render_markdown

_ROW_KINDS = {
    SymbolKind.FUNCTION, SymbolKind.ASYNC_FUNCTION, SymbolKind.CLASS, SymbolKind.METHOD,
    SymbolKind.MAIN_GUARD, SymbolKind.CONDITIONAL_IMPORT, SymbolKind.TEXT_SECTION,
}
_STATE_LABEL = {
    State.INTACT: "intact",
    State.MOVED: "moved: run annotator pin",
    State.CHANGED: "code changed since this note was written: review it",
    State.ORPHANED: "orphaned: its code was not found",
}


def anchor_id(symbol_path: str) -> str:
    """HTML id for a symbol path: the path itself, whitespace made safe (``#GRPOConfig.beta``)."""
    return re.sub(r"\s+", "-", symbol_path.strip())


@dataclass(frozen=True, slots=True)
class PageInput:
    analysis: FileAnalysis
    progress: FileProgress
    lock: Lock
    index: SymbolIndex
    locked_paths: frozenset[str]
    problem: str = ""  # a build problem to show as a banner (e.g. a sidecar error during serve)
    search_code: bool = False  # put the code's text in the search index too


def front_matter(title: str, description: str = "", hide: tuple[str, ...] = ()) -> str:
    data: dict[str, object] = {"title": escape(title)}
    if description:
        data["description"] = escape(description)[:200]
    if hide:
        data["hide"] = list(hide)
    return "---\n" + "".join(f"{key}: {json.dumps(value)}\n" for key, value in data.items()) + "---\n\n"


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """A page as Markdown plus HTML blocks that stand in it as lean placeholders.

    Builders that run the plugin swap the blocks in after mkdocs has converted the Markdown and
    indexed it for search, so neither re-parses the highlighted code; ``inline()`` gives the
    self-contained Markdown that builders without plugins read.
    """

    markdown: str
    blocks: tuple[tuple[str, str], ...] = ()  # (placeholder, HTML)
    block_files: tuple[tuple[str, str], ...] = ()  # (placeholder, path of a file holding the HTML)

    def _all_blocks(self):
        yield from self.blocks
        for placeholder, path in self.block_files:
            with open(path, encoding="utf-8") as handle:
                yield placeholder, handle.read()

    def inline(self) -> str:
        return self.swap_blocks(self.markdown)

    def swap_blocks(self, html_page: str) -> str:
        for placeholder, block in self._all_blocks():
            html_page = html_page.replace(placeholder, block, 1)
        return html_page


_TAG = re.compile(r"<[^>]+>")


def _search_text(notes: list[ResolvedNote], rendered: list[str]) -> str:
    """What search indexes for the rows: symbol names and the notes' text, as plain paragraphs."""
    paragraphs = []
    for note, html_text in zip(notes, rendered):
        label = " › ".join(x for x in (note.note.symbol, note.note.section) if x)
        text = " ".join(_TAG.sub(" ", html_text).split())
        paragraphs.append(f"<p>{escape(label)}: {text}</p>" if label else f"<p>{text}</p>")
    return "".join(paragraphs)


def render_file_page(page: PageInput) -> RenderedPage:
    analysis, progress = page.analysis, page.progress
    context = LinkContext(page_url=progress.page, locked_paths=page.locked_paths)
    sidecar = analysis.sidecar
    title = progress.title
    parts = [front_matter(title, sidecar.overview.split("\n")[0] if sidecar else "")]
    parts.append(f'<h1 class="ann-title">{escape(title)}</h1>\n\n')
    parts.append(_meta(page) + "\n\n")
    if page.problem:
        parts.append(_block("ann-error", f"<strong>This page has a problem.</strong> <code>{escape(page.problem)}</code>"))
    if analysis.findings:
        parts.append(_findings_panel(analysis))
    if sidecar is not None:
        parts.append(_header_sections(sidecar, context))
    file_level = [n for n in analysis.notes if n.is_file_level]
    orphaned = [n for n in analysis.notes if n.state is State.ORPHANED]
    if file_level:
        parts.append("## Notes on the whole file\n\n")
        parts.append(_block("ann-file-notes", "".join(_note_html(n, context, page) for n in file_level)))
    if orphaned:
        parts.append("## Notes that lost their code\n\n")
        parts.append(_block("ann-orphans", "".join(_note_html(n, context, page) for n in orphaned)))
    parts.append("## Code and notes\n\n")
    if analysis.model is None:
        parts.append(_block("ann-not-pulled",
                            "<p><strong>Source not pulled.</strong> Run <code>annotator snapshot pull</code> "
                            "to see the code beside these notes.</p>"
                            + "".join(_note_html(n, context, page) for n in analysis.notes if not n.is_file_level)))
        return RenderedPage("".join(parts))
    rows_html, notes, notes_html = _rows(page, analysis.model, context)
    key = hashlib.sha256(rows_html.encode()).hexdigest()[:16]
    indexed = _search_text(notes, notes_html)
    if page.search_code:  # one line of code tokens: search needs the words, not the layout
        indexed += f"<p>{escape(' '.join(' '.join(analysis.model.lines).split()))}</p>"
    placeholder = f'<div class="ann-rows-index" data-ann-block="{key}">{indexed}</div>'
    parts.append(placeholder + "\n\n")
    return RenderedPage("".join(parts), ((placeholder, rows_html),))


def _block(css: str, inner: str) -> str:
    return f'<div class="{css}" markdown="0">\n{inner}\n</div>\n\n'


def _meta(page: PageInput) -> str:
    progress, lock = page.progress, page.lock
    path = page.analysis.path
    upstream = lock.blob_url(path)
    source = f'<a href="{escape(upstream)}">{escape(path)}</a>' if upstream else escape(path)
    commit = f' at <code>{escape(lock.commit[:12])}</code>' if lock.commit else ""
    crumbs = f'<nav class="ann-crumbs" aria-label="Breadcrumb">{escape(progress.group)} › <code>{source}</code>{commit}</nav>'
    status = progress.status.value
    gaps = progress.missing
    gap_text = ""
    if progress.status is not Status.COMPLETE:
        items = [escape(item.label) for item in gaps]
        if progress.uncovered:
            items.append(f"{len(progress.uncovered)} symbol(s) without a note")
        if progress.review:
            items.append(f"{len(progress.review)} note(s) need review")
        if items:
            gap_text = '<ul class="ann-gaps">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
    figures = (
        f'<span class="ann-pill ann-status-{status.replace(" ", "-")}">{escape(status)}</span> '
        f'<span class="ann-pill">{escape(progress.priority)}</span> '
        f"<span>{progress.lines} lines · {progress.line_percent:.0f}% of lines annotated · "
        f"{progress.annotated_symbols}/{progress.symbols} symbols · {progress.notes} notes</span>"
    )
    return f'<div class="ann-meta" markdown="0">\n{crumbs}\n<div class="ann-progress">{figures}</div>{gap_text}\n</div>'


def _findings_panel(analysis: FileAnalysis) -> str:
    shown = [f for f in analysis.findings if f.code not in ("A021",)]
    if not shown:
        return ""
    items = "".join(f"<li><code>{escape(f.format())}</code></li>" for f in shown[:50])
    return _block("ann-findings", f"<p><strong>Findings</strong> (<code>annotator check</code>):</p><ul>{items}</ul>")


def _header_sections(sidecar, context: LinkContext) -> str:
    out = []

    def section(heading: str, css: str, body: str) -> None:
        if body:
            out.append(f"## {heading}\n\n" + _block(f"ann-prose {css}", body))

    section("Overview", "ann-overview", render_markdown(sidecar.overview, context))
    section("Role in the pipeline", "ann-role", render_markdown(sidecar.role, context))
    if sidecar.key_innovations:
        items = "".join(f"<li>{render_markdown(item, context)}</li>" for item in sidecar.key_innovations)
        section("Key innovations", "ann-innovations", f"<ul>{items}</ul>")
    flow = sidecar.data_flow
    if any((flow.origin, flow.processing, flow.destination)):
        cells = "".join(
            f'<div class="ann-flow-step"><p class="ann-label">{label}</p>{render_markdown(text, context)}</div>'
            for label, text in (("Origin", flow.origin), ("Processing", flow.processing), ("Destination", flow.destination))
        )
        section("Data flow", "ann-flow", cells)
    if sidecar.takeaways:
        items = "".join(f"<li>{render_markdown(item, context)}</li>" for item in sidecar.takeaways)
        section("Key takeaways", "ann-takeaways", f"<ol>{items}</ol>")
    return "".join(out)


def _note_html(note: ResolvedNote, context: LinkContext, page: PageInput) -> str:
    n = note.note
    css = f"ann-note ann-state-{note.state.value}"
    span_attr = f' data-ann-span="{note.span.start}-{note.span.end}"' if note.span else ""
    head = []
    if n.symbol or n.section or n.quote:
        label = " › ".join(escape(x) for x in (n.symbol, n.section) if x) or "quote"
        head.append(f'<code class="ann-sym">{label}</code>')
    if note.span is not None:
        url = page.lock.blob_url(page.analysis.path, note.span.start, note.span.end)
        lines = f"L{note.span.start}" + (f"–{note.span.end}" if note.span.end != note.span.start else "")
        link = f'<a class="ann-lines" href="#L{note.span.start}">{lines}</a>'
        if url:
            link += f' <a class="ann-upstream" href="{escape(url)}" title="these lines upstream, at the pinned commit">upstream ↗</a>'
        head.append(link)
    if not note.is_file_level and page.analysis.model is not None:
        head.append(f'<span class="ann-badge ann-badge-{note.state.value}" title="anchor state">'
                    f'{escape(_STATE_LABEL[note.state])}</span>')
    body = []
    if n.title:
        body.append(f'<p class="ann-note-title">{escape(n.title)}</p>')
    for label, text in (("What", n.what), ("Why", n.why), ("How", n.how)):
        if text.strip():
            body.append(f'<div class="ann-part"><p class="ann-label">{label}</p>{render_markdown(text, context)}</div>')
    if n.body.strip():
        body.append(render_markdown(n.body, context))
    if note.state is State.ORPHANED:
        problem = note.findings[0].format() if note.findings else "anchor not found"
        candidates = ", ".join(f"<code>{escape(c.symbol)}</code> ({escape(c.reason)})" for c in note.candidates[:3])
        body.append(f'<p class="ann-warning">{escape(problem)}' + (f"<br>Closest: {candidates}" if candidates else "") + "</p>")
    tabindex = ' tabindex="0"' if note.span else ""
    return (f'<div class="{css}" id="note-{escape(note.note_id)}"{span_attr}{tabindex}>'
            f'<div class="ann-note-head">{" ".join(head)}</div>{"".join(body)}</div>\n')


_HIGHLIGHTED: dict[tuple, list[str]] = {}


def _highlighted(page: PageInput, model: SourceModel, context: LinkContext) -> list[str]:
    """Highlighting depends on the code and the link targets, not on the notes: an edited sidecar
    re-renders its page without re-highlighting the code."""
    key = (model.path, model.sha256, page.index.digest(), context, page.lock.commit)
    if key not in _HIGHLIGHTED:
        resolver = resolver_for(model, page.index, context, page.lock) if model.language == "python" else None
        while len(_HIGHLIGHTED) >= 16:  # the pages being edited, not the whole site: memory stays flat
            _HIGHLIGHTED.pop(next(iter(_HIGHLIGHTED)))
        _HIGHLIGHTED[key] = highlight_lines(model.lines, model.language, resolver, model.path)
    return _HIGHLIGHTED[key]


def _rows(page: PageInput, model: SourceModel, context: LinkContext) -> tuple[str, list[ResolvedNote], list[str]]:
    code = _highlighted(page, model, context)
    if not code:
        return _block("ann-empty", "<p>This file is empty.</p>"), [], []
    placed = [n for n in page.analysis.notes if n.span is not None and n.state is not State.ORPHANED]
    starts = {1} | {n.span.start for n in placed}
    starts |= {s.span.start for s in model.symbols if s.kind in _ROW_KINDS}
    starts |= {s.span.start for s in model.symbols if s.kind is SymbolKind.YAML_KEY and "." not in s.path}
    starts = sorted(x for x in starts if 1 <= x <= len(code))
    anchors: dict[int, list[str]] = {}
    for symbol in model.symbols:
        anchors.setdefault(symbol.span.start, []).append(anchor_id(symbol.path))
    by_start: dict[int, list[ResolvedNote]] = {}
    for note in sorted(placed, key=lambda n: (n.span.start, -n.span.end, n.note.index)):
        by_start.setdefault(note.span.start, []).append(note)

    rows = []
    indexed_notes: list[ResolvedNote] = []
    indexed_html: list[str] = []
    for position, start in enumerate(starts):
        end = starts[position + 1] - 1 if position + 1 < len(starts) else len(code)
        notes = by_start.get(start, [])
        rendered = [_note_html(n, context, page) for n in notes]
        indexed_notes += notes
        indexed_html += rendered
        notes_html = "".join(rendered)
        lines_html = []
        for number in range(start, end + 1):
            ids = "".join(f'<span class="ann-anchor" id="{escape(a)}"></span>' for a in anchors.get(number, ()))
            lines_html.append(
                f'<span class="ann-line" id="L{number}">{ids}<a class="ann-ln" href="#L{number}">{number}</a>'
                f'<span class="ann-src">{code[number - 1]}</span></span>'
            )
        css = "ann-row" + ("" if notes else " ann-row-bare")
        rows.append(
            f'<div class="{css}" data-ann-first="{start}" data-ann-last="{end}">'
            f'<div class="ann-notes">{notes_html}</div>'
            f'<section class="ann-code" data-search-exclude><div class="highlight"><pre><code>'
            + "\n".join(lines_html)
            + "</code></pre></div></section></div>"
        )
    html_rows = f'<div class="ann-rows" data-ann-source="{escape(page.analysis.path)}">\n' + "\n".join(rows) + "\n</div>"
    return html_rows, indexed_notes, indexed_html
