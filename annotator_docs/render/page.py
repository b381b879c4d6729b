"""One file's page: a compact header, then rows of (notes | code), then the takeaways. Pure: analysis in, page out.

The page is Markdown for any builder (front matter, one heading) whose bodies are HTML blocks made
from templates with autoescaping. Rows start at every note's first line (and, in Python, at every
definition); each row's code runs to the next row, so every source line appears exactly once, in
order. The rows themselves, the bulk of the page, stand in the Markdown as a lean placeholder that
holds one heading per note (what search indexes); builders swap the rows in at the end.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from markupsafe import Markup, escape

from ..findings import Finding
from ..layout import page_url, relative_url, sidecar_path
from ..models import (
    FileAnalysis,
    FileProgress,
    Language,
    ResolvedNote,
    Source,
    SourceModel,
    State,
    Status,
    SymbolKind,
)
from .links import SiteIndex
from .markdown import LinkContext, NoteRenderer
from .report import label, percent, status_word
from .templates import render

ROW_KINDS = frozenset(
    {
        SymbolKind.FUNCTION,
        SymbolKind.ASYNC_FUNCTION,
        SymbolKind.CLASS,
        SymbolKind.METHOD,
        SymbolKind.MAIN_GUARD,
        SymbolKind.CONDITIONAL_IMPORT,
    }
)
FOLD_FROM = 6  # lines of comments (a licence header) folded behind an expander
FOLD_IMPORTS_FROM = 10  # lines of imports folded behind an expander
_ANNOTATOR_STATE = {
    State.INTACT: "intact",
    State.MOVED: "moved: run annotator pin",
    State.CHANGED: "changed: review it, then annotator pin --accept",
    State.ORPHANED: "orphaned: its code was not found",
}
_READER_STATE = {
    State.MOVED: "The code under this note moved since the note was written; it is shown where the code is now.",
    State.CHANGED: "The code under this note has changed since the note was written: parts of it may be out of date.",
    State.ORPHANED: "The code this note described is no longer in the file.",
}
_TAG = re.compile(r"<[^>]+>")
_IMPORT = re.compile(r"^\s*(import\s|from\s\S+\s+import\s)")


def anchor_id(qualname: str) -> str:
    """HTML id for a symbol path: the path itself, whitespace made safe (``#GRPOConfig.beta``)."""
    return re.sub(r"\s+", "-", qualname.strip())


@dataclass(frozen=True, slots=True)
class PageInput:
    analysis: FileAnalysis
    progress: FileProgress
    source: Source
    index: SiteIndex
    code: tuple[str, ...]  # the highlighted lines, one HTML string per source line
    next_page: tuple[str, str] | None = None  # (title, page uri) on the reading path
    downloads: tuple[tuple[str, str], ...] = ()  # (label, site uri)
    problem: str = ""  # a build problem to show as a banner (e.g. a sidecar error during serve)
    search_code: bool = False  # put the code's text in the search index too
    overrides: tuple[str, ...] = ()  # template folders searched before annotator's own
    prefix: str = ""  # where the generated pages sit inside the docs ("annotated/" for generate --out docs/annotated)


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """A page as Markdown plus HTML blocks that stand in it as lean placeholders.

    Builders that run the plugin swap the blocks in after mkdocs has converted the Markdown and
    indexed it for search, so neither re-parses the highlighted code; ``inline()`` gives the
    self-contained Markdown that builders without plugins read.
    """

    markdown: str
    blocks: tuple[tuple[str, str], ...] = ()  # (placeholder, HTML)
    block_files: tuple[tuple[str, str, str], ...] = ()  # (placeholder, file holding the HTML, its sha256)
    findings: tuple[Finding, ...] = ()
    html_only: bool = False  # below its front matter the page is finished HTML: a builder may skip Markdown
    anchors: tuple[str, ...] = ()  # the symbols' ids, which only the swapped-in rows carry: for link checks before the swap

    def inline(self) -> str:
        return self.swap_blocks(self.markdown)

    def body(self) -> str:
        """The page below its front matter (which :func:`front_matter` wrote)."""
        if not self.markdown.startswith("---\n"):
            return self.markdown
        return self.markdown.split("\n---\n", 1)[-1].lstrip("\n")

    def swap_blocks(self, page_html: str) -> str:
        from ..cache import Cache

        for placeholder, block in self.blocks:
            page_html = page_html.replace(placeholder, block, 1)
        for placeholder, where, digest in self.block_files:
            page_html = page_html.replace(placeholder, Cache.read_blob(where, digest), 1)
        return page_html


def front_matter(title: str, description: str = "", hide: tuple[str, ...] = ()) -> str:
    """YAML front matter (Unicode kept as it is). Titles are escaped: themes put them in the navigation
    and the window title without escaping."""
    data: dict[str, object] = {"title": html.escape(title)}
    if description:
        data["description"] = html.escape(description[:200])
    if hide:
        data["hide"] = list(hide)
    return "---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000) + "---\n\n"


@dataclass
class _Notes:
    """Renders the notes of one page, collecting every finding their text produces."""

    page: PageInput
    renderer: NoteRenderer
    context: LinkContext
    findings: list[Finding] = field(default_factory=list)
    plain: dict[str, tuple[str, str]] = field(default_factory=dict)  # note id -> (heading, text) for search

    def prose(self, text: str, line: int = 1) -> Markup:
        result = self.renderer.render(text, self.context, sidecar_path(self.page.analysis.file), line)
        self.findings.extend(result.findings)
        for link in result.links:
            why = self.page.index.dead(link)
            if why:
                self.findings.append(
                    Finding(
                        "R002",
                        f"dead link `{link}`: {why}",
                        sidecar_path(self.page.analysis.file),
                        line,
                        hint="link a symbol path or a note id that exists (see the page's outline)",
                    )
                )
        return Markup(result.html)

    def view(self, note: ResolvedNote) -> dict[str, Any]:
        n, page = note.note, self.page
        parts = [
            {"label": heading, "html": self.prose(text, n.sidecar_line)}
            for heading, text in (("What", n.what), ("Why", n.why), ("How", n.how))
            if text.strip()
        ]
        if n.body.strip():
            parts.append({"label": "", "html": self.prose(n.body, n.sidecar_line)})
        title = Markup(self.renderer.inline(n.title, self.context)) if n.title else ""
        quote = f"“{n.quote}”" if n.quote else ""
        symbol_label = " › ".join(x for x in (n.symbol, n.section, quote) if x)
        span = (note.span.start, note.span.end) if note.span else None
        lines_label = ""
        upstream = None
        if note.span is not None:
            lines_label = f"L{note.span.start}" + (f"–{note.span.end}" if note.span.end != note.span.start else "")
            upstream = page.source.blob_url(page.analysis.file.path, note.span.start, note.span.end)
        located = page.analysis.model is not None and not note.is_file_level
        problem = ""
        if note.state is State.ORPHANED:
            problem = note.findings[0].format() if note.findings else note.reason or "anchor not found"
        heading = _TAG.sub("", str(title)) or n.section or n.symbol or "Note on the whole file"
        self.plain[note.note_id] = (
            html.unescape(heading),
            " ".join(html.unescape(_TAG.sub(" ", " ".join(str(p["html"]) for p in parts))).split()),
        )
        return {
            "id": note.note_id,
            "state": note.state.value,
            "span": span,
            "title": title,
            "symbol_label": symbol_label,
            "lines_label": lines_label,
            "upstream": upstream,
            "parts": parts,
            "badge": _ANNOTATOR_STATE[note.state] if located else "",
            "reader_warning": _READER_STATE.get(note.state, "") if located else "",
            "problem": problem,
            "candidates": [f"{c.qualname} ({c.score:.2f})" for c in note.candidates[:3]],
        }


def render_file_page(page: PageInput, renderer: NoteRenderer) -> RenderedPage:
    analysis, progress = page.analysis, page.progress
    file, sidecar, model = analysis.file, analysis.sidecar, analysis.model
    url = page_url(file, page.prefix)
    context = LinkContext(page_url=url, resolve=page.index.resolve_uri, key=page.index.digest)
    notes = _Notes(page, renderer, context)

    def is_placed(n: ResolvedNote) -> bool:
        return n.span is not None and n.state is not State.ORPHANED and model is not None

    placed = [n for n in analysis.notes if is_placed(n)]
    file_level = [n for n in analysis.notes if n.is_file_level]
    orphans = [n for n in analysis.notes if not is_placed(n) and not n.is_file_level]
    flow = sidecar.data_flow if sidecar else None
    values: dict[str, Any] = {
        "key": file.key,
        "path": file.path,
        "group": file.group,
        "title": progress.title,
        "language": model.language.value if model else "",
        "source_name": page.source.name,
        "ref": page.source.ref or "",
        "commit": page.source.commit[:12] if page.source.commit else "",
        "upstream": page.source.blob_url(file.path),
        "lead": notes.prose(_first_paragraph(sidecar.overview)) if sidecar and sidecar.overview else "",
        "line_count": model.line_count if model else "–",
        "note_count": progress.notes,
        "downloads": [{"label": text, "href": relative_url(url, page.prefix + uri)} for text, uri in page.downloads],
        "status": status_word(progress),
        "status_class": progress.status.value.replace(" ", "-"),
        "priority": progress.priority.value,
        "coverage": (
            f"{percent(progress.line_percent)} of lines annotated · {progress.annotated_symbols}/{progress.symbols} symbols"
            if progress.pulled
            else "coverage unknown: code not pulled"
        ),
        "gaps": _gaps(progress),
        "problem": page.problem,
        "findings": [f.format() for f in analysis.findings if f.code != "A021"][:50],
        "outline": _outline(analysis),
        "role": notes.prose(sidecar.role) if sidecar and sidecar.role else "",
        "innovations": [notes.prose(item) for item in sidecar.key_innovations] if sidecar else [],
        "flow": [
            (k, notes.prose(t))
            for k, t in (("Origin", flow.origin), ("Processing", flow.processing), ("Destination", flow.destination))
            if t
        ]
        if flow
        else [],
        "file_notes": [notes.view(n) for n in file_level],
        "orphans": [notes.view(n) for n in orphans],
        "takeaways": [notes.prose(t) for t in sidecar.takeaways] if sidecar else [],
        "next": {"title": page.next_page[0], "href": relative_url(url, page.prefix + page.next_page[1])}
        if page.next_page
        else None,
    }
    description = _TAG.sub("", str(values["lead"]))
    parts = [front_matter(progress.title, " ".join(html.unescape(description).split()), hide=("navigation", "toc"))]
    if model is None:  # the notes without their code: shown, never dropped
        # One row per note, each with its symbol's anchor: links to `#GRPOTrainer._compute_loss` from
        # other pages still land on the note that explains it (and no builder reports a missing anchor).
        seen: set[str] = set()
        pseudo_rows: list[dict[str, Any]] = []
        for note in (n for n in analysis.notes if not n.is_file_level):
            symbol = note.symbol or note.note.symbol  # without the code nothing is resolved: the path as written
            anchor = anchor_id(symbol) if symbol else ""
            pseudo_rows.append(
                {
                    "first": 1,
                    "last": 0,
                    "anchors": [anchor] if anchor and anchor not in seen else [],
                    "about": not pseudo_rows,
                    "segments": [],
                    "notes": [notes.view(note)],
                }
            )
            seen.add(anchor)
        if not pseudo_rows:
            pseudo_rows.append({"first": 1, "last": 0, "anchors": [], "about": True, "segments": [], "notes": []})
        missing = (
            '<div class="ann-not-pulled"><p><strong>Source not pulled.</strong> Run <code>annotator snapshot pull</code>'
            " to see the code beside these notes.</p></div>"
        )
        body = (
            render("page_header.html", page.overrides, page=values)
            + missing
            + render("page_rows.html", page.overrides, page=values, rows=pseudo_rows)
            + render("page_footer.html", page.overrides, page=values)
        )
        parts.append(_html_block(body))
        return RenderedPage("".join(parts), findings=tuple(notes.findings), html_only=True)
    rows = _rows(page, model, placed, notes)
    rows_html = render("page_rows.html", page.overrides, page=values, rows=rows)
    header = render("page_header.html", page.overrides, page=values)
    footer = render("page_footer.html", page.overrides, page=values)
    key = hashlib.sha256(rows_html.encode()).hexdigest()[:16]
    placeholder = f'<div class="ann-rows-index" data-ann-block="{key}">{_search_index(notes, page, model)}</div>'
    blocks = [(placeholder, rows_html)]
    header, outline = _outline_out(header, key)
    if outline is not None:
        blocks.append(outline)
    parts.append(_html_block(header))
    parts.append(placeholder + "\n\n")
    parts.append(_html_block(footer))
    symbols = tuple(dict.fromkeys(anchor_id(s.qualname) for s in model.symbols))
    return RenderedPage("".join(parts), tuple(blocks), findings=tuple(notes.findings), html_only=True, anchors=symbols)


def _outline_out(header: str, key: str) -> tuple[str, tuple[str, str] | None]:
    """The header with its outline (a link per symbol) as a placeholder, swapped in last like the
    rows: search would index every symbol name on the page's first section, and parsing it is a
    large share of a page. A header override without the outline keeps what it has."""
    start = header.find('<nav class="ann-outline"')
    end = header.find("</nav>", start)
    if start < 0 or end < 0:
        return header, None
    end += len("</nav>")
    placeholder = f'<div class="ann-outline-slot" data-ann-block="{key}-outline"></div>'
    return header[:start] + placeholder + header[end:], (placeholder, header[start:end])


_OPEN_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)((?:\s+[^\s=>]+(?:=\"[^\"]*\")?)*)\s*/?>")
_TAG_ATTRIBUTE = re.compile(r'\s([^\s=>]+)(?:="([^"]*)")?')


def anchor_ids(page_html: str) -> set[str]:
    """The ids a link can point at in HTML this module wrote (``id`` attributes, and ``name`` on
    ``<a>``), as mkdocs collects them from raw HTML: for a page handed to mkdocs without Markdown.
    Attribute values are always double-quoted here, which is what makes a pattern enough."""
    found = set()
    for tag in _OPEN_TAG.finditer(page_html):
        for name, value in _TAG_ATTRIBUTE.findall(tag.group(2)):
            if name.lower() == "id" or (name.lower() == "name" and tag.group(1).lower() == "a"):
                found.add(html.unescape(value))
    return found


def _html_block(text: str) -> str:
    body = "\n".join(line for line in text.split("\n") if line.strip())  # no blank line may end a raw HTML block early
    return f'<div class="ann-page-part">\n{body}\n</div>\n\n'


def _first_paragraph(text: str) -> str:
    return text.strip().split("\n\n", 1)[0]


def _gaps(progress: FileProgress) -> list[str]:
    if progress.status is Status.COMPLETE:
        return []
    items = [label(item) for item in progress.missing]
    if progress.uncovered:
        items.append(f"{len(progress.uncovered)} symbol(s) without a note")
    if progress.review:
        items.append(f"{len(progress.review)} note(s) need review")
    return items


def _outline(analysis: FileAnalysis) -> list[dict[str, Any]]:
    if analysis.model is None:
        return []
    noted = {n.symbol for n in analysis.notes if n.symbol and n.state is not State.ORPHANED}
    return [
        {
            "anchor": anchor_id(s.qualname),
            "label": s.qualname,
            # a long path wraps after a dot, not in the middle of a name
            "label_html": Markup(".<wbr>".join(escape(part) for part in s.qualname.split("."))),
            "depth": min(s.qualname.count("."), 3),
        }
        for s in analysis.model.symbols
        if s.qualname in noted
    ]


def _search_index(notes: _Notes, page: PageInput, model: SourceModel) -> str:
    """One heading per note, with the note's own anchor and its plain text: what search indexes.
    (The symbols' anchors are in the rows only: search parsed them on every page for nothing.)"""
    out = []
    for note_id, (heading, text) in notes.plain.items():
        out.append(f'<h3 id="note-{html.escape(note_id)}">{html.escape(heading)}</h3><p>{html.escape(text)}</p>')
    if page.search_code:  # one line of code tokens: search needs the words, not the layout
        out.append(f"<p>{html.escape(' '.join(' '.join(model.lines).split()))}</p>")
    return "".join(out)


def _rows(page: PageInput, model: SourceModel, placed: list[ResolvedNote], notes: _Notes) -> list[dict[str, Any]]:
    code = page.code
    if not code:
        return []
    starts = {1} | {n.span.start for n in placed if n.span}
    if model.language is Language.PYTHON:
        starts |= {s.span.start for s in model.symbols if s.kind in ROW_KINDS}
    ordered = sorted(x for x in starts if 1 <= x <= len(code))
    anchors: dict[int, list[str]] = {}
    for symbol in model.symbols:
        anchors.setdefault(symbol.span.start, []).append(anchor_id(symbol.qualname))
    ranges: dict[int, list[str]] = {}  # "#L10-L20" targets: JS marks the range, without JS (and for link checkers) line 10
    for note in placed:
        if note.span and note.span.end != note.span.start:
            ids = ranges.setdefault(note.span.start, [])
            if (range_id := f"L{note.span.start}-L{note.span.end}") not in ids:
                ids.append(range_id)
    by_start: dict[int, list[ResolvedNote]] = {}
    for note in sorted(placed, key=lambda n: (n.span.start, -n.span.end, n.note.index)):  # type: ignore[union-attr]
        by_start.setdefault(note.span.start, []).append(note)  # type: ignore[union-attr]
    rows = []
    for position, start in enumerate(ordered):
        end = ordered[position + 1] - 1 if position + 1 < len(ordered) else len(code)
        row_notes = [notes.view(n) for n in by_start.get(start, [])]
        segments = []
        for first, last, fold in _segments(model, start, end):
            lines = [
                _code_line(number, code[number - 1], ranges.get(number, ()), anchors.get(number, ()) if number != start else ())
                for number in range(first, last + 1)
            ]
            segments.append({"fold": fold, "first": first, "html": Markup("".join(lines))})
        rows.append(
            {
                "first": start,
                "last": end,
                "anchors": anchors.get(start, []),
                "notes": row_notes,
                "about": position == 0,
                "segments": segments,
            }
        )
    return rows


def _code_line(number: int, code: str, ranges: Iterable[str], anchors: Iterable[str]) -> str:
    """One source line of the code pane, rendered here rather than in the template: a page has
    thousands of lines, and a template loop per line costs more than the rest of the page. ``code``
    is Pygments' escaped HTML; the ids are escaped."""
    targets = "".join(f'<span class="ann-anchor" id="{escape(t)}"></span>' for t in (*ranges, *anchors))
    return f'<span class="ann-line" id="L{number}">{targets}<span class="ann-src">{code}</span></span>\n'


def _segments(model: SourceModel, start: int, end: int) -> list[tuple[int, int, str]]:
    """A row's lines as runs; a long run of comments (a licence header) or of imports is folded
    behind an expander. Python only: recipes and scripts are short and every line matters."""
    if model.language is not Language.PYTHON:
        return [(start, end, "")]
    kinds = [_line_kind(line) for line in model.lines[start - 1 : end]]
    out: list[tuple[int, int, str]] = []
    number = start
    while number <= end:
        kind = kinds[number - start]
        last = number
        if kind in ("comment", "import"):
            while last + 1 <= end and kinds[last + 1 - start] in (kind, "blank", "continued" if kind == "import" else kind):
                last += 1
            while last > number and kinds[last - start] == "blank":
                last -= 1
            length = last - number + 1
            if length >= (FOLD_FROM if kind == "comment" else FOLD_IMPORTS_FROM):
                text = model.lines[number - 1 : last]
                what = (
                    "licence header"
                    if kind == "comment" and any("licen" in t.lower() for t in text)
                    else ("comments" if kind == "comment" else "imports")
                )
                out.append((number, last, f"{length} lines of {what} (L{number}–{last})"))
                number = last + 1
                continue
        if out and not out[-1][2]:
            out[-1] = (out[-1][0], number, "")
        else:
            out.append((number, number, ""))
        number += 1
    return out


def _line_kind(line: str) -> str:
    stripped = line.strip()
    if not stripped:
        return "blank"
    if stripped.startswith("#"):
        return "comment"
    if _IMPORT.match(line):
        return "import"
    if line[:1] in (" ", "\t", ")"):
        return "continued"  # the inside of a parenthesised import, among others
    return "code"
