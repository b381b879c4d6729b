"""CodeTour export: one ``.tour`` per locked file, and a "Start here" tour along a reading path.

`CodeTour <https://github.com/microsoft/codetour>`_ plays tours in VS Code from JSON files in a
repository's ``.tours/`` folder. A file's tour starts with its header (overview, role, key
innovations, data flow, takeaways, file-level notes) and then has one step per anchored note, in
line order. Each step names ``file`` (the upstream path in its repository), ``line`` (1-based:
the note's first line at the pinned commit) and ``pattern`` (CodeTour's own form,
``^[^\\S\\n]*`` and the escaped line, extended over the next lines until its first match is there);
the tour's ``ref`` is the source's commit. CodeTour uses ``line`` and falls back to ``pattern``
only when ``line`` is absent, so a step still finds its code after the lines move; rerunning the
export after ``annotator pin`` writes the new lines.

Descriptions are the notes' Markdown, made safe for CodeTour, which renders them as *trusted*
Markdown: links to anything but http(s), mailto, this site, other tours and files of the same
repository keep their text and lose their target (a ``command:`` link would run a VS Code
command), a line starting with ``>>`` (CodeTour's "run in terminal" form) is escaped, and
admonitions become block quotes. References to notes become links to their tour step.

The tours validate against :data:`SCHEMA` (``annotator_docs/schema/codetour.schema.json``,
written from CodeTour's ``schema.json`` and README).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..findings import fail
from ..layout import page_uri, url_of
from ..models import FileAnalysis, Lock, LockedFile, ResolvedNote, Sidecar, State

if TYPE_CHECKING:
    from ..engine import Engine
    from ..project import Project
from .annotated_source import (
    _CODE_SPAN,
    _LINK,
    _REMOTE,
    analyses_of,
    anchor_label,
    clean,
    exportable,
    locked_file,
    write_outputs,
)

SCHEMA_URL = "https://aka.ms/codetour-schema"
MANIFEST = ".annotator-codetour.json"
START_TITLE = "Start here"
PATTERN_LINES = 12  # a pattern grows over at most this many lines to match only its own place
_SAFE_SCHEMES = ("http:", "https:", "mailto:")


@cache
def schema() -> dict[str, Any]:
    """The vendored JSON Schema of CodeTour's ``.tour`` files."""
    loaded: dict[str, Any] = json.loads(
        resources.files("annotator_docs.schema").joinpath("codetour.schema.json").read_text("utf-8")
    )
    return loaded


def validate(tour: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``tour`` is a valid CodeTour file."""
    import jsonschema

    validator_class = jsonschema.validators.validator_for(schema())
    validator_class(schema()).validate(tour)


# -- patterns -----------------------------------------------------------------------------------------
_JS_SPECIAL = re.compile(r"[.*+?^${}()|[\]\\]")


def js_escape(text: str) -> str:
    """``text`` as a literal in a JavaScript (and Python) regular expression, as CodeTour's recorder escapes it."""
    return _JS_SPECIAL.sub(lambda m: "\\" + m.group(), text)


def line_pattern(lines: tuple[str, ...], line: int) -> str:
    """A regex (multiline mode) that matches ``line``: CodeTour's recorder form for the line, extended
    over the following lines (up to :data:`PATTERN_LINES`) until its first match starts on ``line``.
    When no such extension exists (long runs of identical lines), the one-line form."""
    stripped = [text.strip() for text in lines]

    def unique(count: int) -> bool:
        chunk = stripped[line - 1 : line - 1 + count]
        return not any(stripped[i : i + count] == chunk for i in range(line - 1))  # no earlier match

    count = 1
    while not unique(count) and count < PATTERN_LINES and line - 1 + count < len(lines):
        count += 1
    if not unique(count):
        count = 1
    parts = [r"[^\S\n]*" + js_escape(text) + r"[^\S\n]*" for text in stripped[line - 1 : line - 1 + count]]
    return "^" + r"\n".join(parts) + "$"


# -- links ------------------------------------------------------------------------------------------------
@dataclass
class _TourIndex:
    """What references in descriptions can point at: each file's tour and the step of each note."""

    lock: Lock
    site_url: str
    titles: dict[str, str] = field(default_factory=dict)  # file key -> tour title
    steps: dict[tuple[str, str], int] = field(default_factory=dict)  # (file key, fragment) -> 1-based step
    spans: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (file key, fragment) -> lines

    def site(self, uri: str) -> str:
        return self.site_url.rstrip("/") + "/" + url_of(uri)


def _link_target(target: str, here: LockedFile, index: _TourIndex) -> tuple[str, str] | None:
    """Where a link of a note goes in a tour: ``("url", url)``, ``("tour", "Title#N")`` or None (text only)."""
    target = target.strip()
    if target.startswith("site:"):
        return ("url", index.site(target[5:])) if index.site_url else None
    if target.startswith("#"):
        return _file_target(here, target[1:], here, index)
    if _REMOTE.match(target) or target.startswith("//"):
        return ("url", target) if target.lower().startswith(_SAFE_SCHEMES) else None
    path, _, fragment = target.partition("#")
    found = locked_file(index.lock, path)
    if found is not None:
        return _file_target(found, fragment, here, index)
    if index.site_url and target and not target.startswith("/"):
        return ("url", index.site(target))  # a page of the site, written relative to it
    return None


def _file_target(file: LockedFile, fragment: str, here: LockedFile, index: _TourIndex) -> tuple[str, str] | None:
    same_source = file.source == here.source
    step = index.steps.get((file.key, fragment)) if fragment else None
    if same_source and file.key in index.titles and (step is not None or not fragment):
        if file.key == here.key:
            return ("tour", f"#{step}") if step is not None else None
        return ("tour", index.titles[file.key] + (f"#{step}" if step is not None else ""))
    if index.site_url:
        return ("url", index.site(page_uri(file, fragment)))
    if same_source:
        return ("url", f"./{file.path}")
    span = index.spans.get((file.key, fragment))
    url = index.lock.source_of(file).blob_url(file.path, *(span or (None, None)))
    return ("url", url) if url else None


def tour_markdown(text: str, here: LockedFile, index: _TourIndex) -> str:
    """A note's Markdown as a safe CodeTour description (see the module docstring)."""
    lines = _admonitions_as_quotes(clean(text).split("\n"))
    out: list[str] = []
    prose: list[str] = []
    fence: str | None = None

    def flush() -> None:
        if prose:
            out.extend(_rewrite_links("\n".join(prose), here, index).split("\n"))
            prose.clear()

    for line in lines:
        marker = re.match(r"^[ >]*(`{3,}|~{3,})", line)
        if fence is None and marker:
            flush()
            fence = marker.group(1)
            out.append(line)
        elif fence is not None:
            if re.match(rf"^[ >]*{re.escape(fence[0])}{{{len(fence)},}}[ ]*$", line):
                fence = None
            out.append(" " + line if line.startswith(">>") else line)
        else:
            prose.append("\\" + line if line.startswith(">>") else line)
    flush()
    return "\n".join(out).strip("\n")


def _rewrite_links(text: str, here: LockedFile, index: _TourIndex) -> str:
    spans: list[str] = []

    def mask(m: re.Match[str]) -> str:
        spans.append(m.group())
        return f"\ue001{len(spans) - 1}\ue002"

    text = _CODE_SPAN.sub(mask, text)

    def link(m: re.Match[str]) -> str:
        image, label, target = m.group(1), m.group(2), m.group(3)
        where = _link_target(target, here, index)
        if where is None:
            return label
        kind, value = where
        if kind == "tour":
            return f"[{label}][{value}]" if not image else label
        return f"{image}[{label}]({value})"

    text = _LINK.sub(link, text)
    text = re.sub(
        r"<([A-Za-z][A-Za-z0-9+.-]*:[^\s<>]*)>",
        lambda m: m.group() if m.group(1).lower().startswith(_SAFE_SCHEMES) else f"`{m.group(1)}`",
        text,
    )
    text = re.sub(
        r"(?m)^[ ]{0,3}\[[^\]\n]+\]:[ \t]*<?(\S+?)>?(?:[ \t].*)?$",
        lambda m: m.group() if m.group(1).lower().startswith(_SAFE_SCHEMES) else "",
        text,
    )
    return re.sub("\ue001(\\d+)\ue002", lambda m: spans[int(m.group(1))], text)


def _admonitions_as_quotes(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = re.match(r'^([ ]*)(?:!!!|\?\?\?\+?)[ ]+([\w-]+)(?:[ ]+"([^"]*)")?[ ]*$', lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        base = len(match.group(1))
        kind = match.group(2).capitalize()
        title = match.group(3)
        out.append(" " * base + f"> **{kind}{': ' + title if title else ''}**")
        out.append(" " * base + ">")
        i += 1
        body = []
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip(" ")) >= base + 4):
            body.append(lines[i][base + 4 :])
            i += 1
        while body and not body[-1].strip():
            body.pop()
        out.extend((" " * base + f"> {line}").rstrip() for line in _admonitions_as_quotes(body))
        if i < len(lines):
            out.append("")
    return out


# -- descriptions ---------------------------------------------------------------------------------------------
def _labelled(label: str, text: str, here: LockedFile, index: _TourIndex) -> str:
    body = tour_markdown(text, here, index)
    first = body.lstrip().split("\n", 1)[0]
    if re.match(r"^\s*([-*+]|\d+[.)]|```|~~~|\||>|#|\$\$)", first) or not first:
        return f"**{label}**\n\n{body}"
    return f"**{label}.** {body.lstrip()}"


def note_description(note: ResolvedNote, here: LockedFile, index: _TourIndex, *, placed: bool = True) -> str:
    parts = []
    if note.state is State.CHANGED:
        parts.append(f"> **Needs review:** the code changed since this note was pinned ({clean(note.reason)}).")
    if not placed:
        label = anchor_label(note)
        parts.append(
            f"*Anchored to {label}; not placed: {clean(note.reason) or note.state.value}.*"
            if label
            else f"*Not placed: {clean(note.reason) or note.state.value}.*"
        )
    for label, text in (("What", note.note.what), ("Why", note.note.why), ("How", note.note.how)):
        if text.strip():
            parts.append(_labelled(label, text, here, index))
    if note.note.body.strip():
        parts.append(tour_markdown(note.note.body, here, index))
    if index.site_url:
        parts.append(f"[On the site]({index.site(page_uri(here, 'note-' + note.note_id))})")
    return "\n\n".join(parts)


def _items(items: tuple[str, ...], here: LockedFile, index: _TourIndex, numbered: bool) -> str:
    out = []
    for number, item in enumerate((i for i in items if i.strip()), start=1):
        marker = f"{number}." if numbered else "-"
        lines = tour_markdown(item, here, index).split("\n")
        pad = " " * (len(marker) + 1)
        out.append("\n".join([f"{marker} {lines[0]}", *[(pad + line).rstrip() for line in lines[1:]]]))
    return "\n".join(out)


def header_description(analysis: FileAnalysis, lock: Lock, index: _TourIndex, unplaced: list[ResolvedNote]) -> str:
    file, sidecar = analysis.file, analysis.sidecar
    source = lock.source_of(file)
    where = f"`{file.path}` in {source.repository}" if source.repository else f"`{file.path}` ({source.name})"
    if source.commit:
        where += f" at `{source.commit[:12]}`" + (f" ({clean(source.ref)})" if source.ref else "")
    parts = [where]
    if index.site_url:
        parts[0] += f" · [annotated page]({index.site(page_uri(file))})"
    orphaned = [n for n in unplaced if n.state is State.ORPHANED]
    if orphaned:
        parts.append(
            f"> **{len(orphaned)} orphaned note(s):** their code was not found in this version of the file; "
            "they are shown here, unplaced."
        )
    if sidecar is None:
        parts.append("*No notes yet.*")
    else:
        parts.extend(_sidecar_sections(sidecar, file, index))
    for heading, notes in (
        ("Orphaned notes", orphaned),
        ("Notes placed elsewhere", [n for n in unplaced if all(n is not o for o in orphaned)]),
        ("File-level notes", [n for n in analysis.notes if n.is_file_level]),
    ):
        if notes:
            parts.append(f"### {heading}")
            for note in notes:
                title = clean(note.note.title) or anchor_label(note) or "Note"
                parts.append(f"#### {title}\n\n" + note_description(note, file, index, placed=heading == "File-level notes"))
    return "\n\n".join(parts)


def _sidecar_sections(sidecar: Sidecar, file: LockedFile, index: _TourIndex) -> list[str]:
    parts = []
    if sidecar.overview.strip():
        parts.append("### Overview\n\n" + tour_markdown(sidecar.overview, file, index))
    if sidecar.role.strip():
        parts.append("### Role in the pipeline\n\n" + tour_markdown(sidecar.role, file, index))
    if any(i.strip() for i in sidecar.key_innovations):
        parts.append("### Key innovations\n\n" + _items(sidecar.key_innovations, file, index, numbered=False))
    flow = [
        _labelled(label, text, file, index)
        for label, text in (
            ("Origin", sidecar.data_flow.origin),
            ("Processing", sidecar.data_flow.processing),
            ("Destination", sidecar.data_flow.destination),
        )
        if text.strip()
    ]
    if flow:
        parts.append("### Data flow\n\n" + "\n\n".join(flow))
    if any(t.strip() for t in sidecar.takeaways):
        parts.append("### Key takeaways\n\n" + _items(sidecar.takeaways, file, index, numbered=True))
    return parts


# -- tours ---------------------------------------------------------------------------------------------------------
def _short_title(file: LockedFile, sidecar: Sidecar | None) -> str:
    return file.title or (sidecar.title if sidecar and sidecar.title else "") or file.key


def tour_title(file: LockedFile, sidecar: Sidecar | None) -> str:
    """A file's tour title: unique (it holds the key) and free of what CodeTour's tour links cannot hold."""
    short = _short_title(file, sidecar)
    title = short if short == file.key else f"{short} ({file.key})"
    return re.sub(r"[\[\]#]", "", " ".join(clean(title).split()))


def _placed(analysis: FileAnalysis) -> tuple[list[ResolvedNote], list[ResolvedNote]]:
    anchored = [n for n in analysis.notes if not n.is_file_level]
    placeable = [n for n in anchored if n.span is not None and n.state is not State.ORPHANED and n.moved_to is None]
    if analysis.model is None or not analysis.model.parsed:
        placeable = []
    placeable.sort(key=lambda n: (n.span.start, n.note.index))  # type: ignore[union-attr]
    chosen = {id(n) for n in placeable}  # by identity: comparing notes field by field costs O(n²)
    return placeable, [n for n in anchored if id(n) not in chosen]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-") or "file"


def _step(file: LockedFile, lines: tuple[str, ...], line: int, title: str, description: str) -> dict[str, Any]:
    step: dict[str, Any] = {"file": file.path, "title": title, "description": description}
    if lines:
        step["line"] = line
        step["pattern"] = line_pattern(lines, line)
    return step


def build_tours(
    analyses: list[FileAnalysis], lock: Lock, reading_path: list[str], site_url: str = ""
) -> dict[str, dict[str, Any]]:
    """Every tour, by file name (``00-start-here.tour``, ``01-<slug>.tour``, ...): a pure function of
    the analyses, the lock, the reading path (file keys; empty: the lock's order) and the site URL."""
    by_key = {a.file.key: a for a in analyses}
    path = list(reading_path) or [a.file.key for a in analyses]
    for key in path:
        if key not in by_key:
            fail(
                "C001",
                f"reading path: `{key}` is not a locked file with a page",
                hint="give file keys, as `annotator status` lists them",
            )
    if len(set(path)) != len(path):
        fail("C001", "reading path: a file appears twice")
    index = _TourIndex(lock, site_url)
    placements = {}
    for analysis in analyses:
        index.titles[analysis.file.key] = tour_title(analysis.file, analysis.sidecar)
        placed, unplaced = _placed(analysis)
        placements[analysis.file.key] = (placed, unplaced)
        for number, note in enumerate(placed, start=2):  # step 1 is the file's header
            assert note.span is not None
            index.steps.setdefault((analysis.file.key, f"note-{note.note_id}"), number)
            index.spans[(analysis.file.key, f"note-{note.note_id}")] = (note.span.start, note.span.end)
            symbol = note.symbol or note.note.symbol
            if symbol and not note.note.section and not note.note.quote:
                index.steps.setdefault((analysis.file.key, symbol), number)
        if analysis.model is not None:
            for defined in analysis.model.symbols:
                index.spans.setdefault((analysis.file.key, defined.qualname), (defined.span.start, defined.span.end))
    width = max(2, len(str(len(analyses))))
    following = {key: path[i + 1] for i, key in enumerate(path[:-1])}
    tours: dict[str, dict[str, Any]] = {}
    for number, analysis in enumerate(analyses, start=1):
        file = analysis.file
        placed, unplaced = placements[file.key]
        lines = analysis.model.lines if analysis.model is not None else ()
        source = lock.source_of(file)
        steps = [_step(file, lines, 1, "About this file", header_description(analysis, lock, index, unplaced))]
        for note in placed:
            assert note.span is not None
            title = clean(note.note.title) or anchor_label(note) or "Note"
            steps.append(_step(file, lines, note.span.start, " ".join(title.split()), note_description(note, file, index)))
        tour: dict[str, Any] = {
            "$schema": SCHEMA_URL,
            "title": index.titles[file.key],
            "description": f"The annotated notes of {file.path}, one step per note, top to bottom.",
        }
        if source.commit:
            tour["ref"] = source.commit
        if file.key in following:
            tour["nextTour"] = index.titles[following[file.key]]
        tour["steps"] = steps
        tours[f"{number:0{width}d}-{_slug(_short_title(file, analysis.sidecar))}.tour"] = tour
    tours = {f"{0:0{width}d}-start-here.tour": _start_tour(path, by_key, lock, index), **tours}
    for tour in tours.values():
        validate(tour)
    return tours


def _start_tour(path: list[str], by_key: dict[str, FileAnalysis], lock: Lock, index: _TourIndex) -> dict[str, Any]:
    home = by_key[path[0]].file.source
    home_source = lock.source(home)
    steps = []
    for number, key in enumerate(path, start=1):
        analysis = by_key[key]
        file, sidecar = analysis.file, analysis.sidecar
        lines = analysis.model.lines if analysis.model is not None else ()
        parts = [f"`{file.path}`" + (f" in {lock.source_of(file).repository}" if file.source != home else "")]
        if sidecar is not None and sidecar.overview.strip():
            parts.append(tour_markdown(sidecar.overview, file, index))
        if sidecar is not None and sidecar.role.strip():
            parts.append("**Role in the pipeline.** " + tour_markdown(sidecar.role, file, index).lstrip())
        more = [f"[Take this file's tour][{index.titles[key]}]"]
        if index.site_url:
            more.append(f"[read its page]({index.site(page_uri(file))})")
        parts.append(" · ".join(more))
        title = f"{number}. " + " ".join(clean(_short_title(file, sidecar)).split())
        step = _step(file, lines, 1, title, "\n\n".join(parts))
        source = lock.source_of(file)
        if file.source != home and source.is_pinned:  # another repository: no path in this workspace names it
            step = {("uri" if k == "file" else k): (source.blob_url(file.path) if k == "file" else v) for k, v in step.items()}
        steps.append(step)
    tour: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "title": START_TITLE,
        "description": f"A reading path through {len(path)} annotated files; each step leads to the file's own tour.",
        "isPrimary": True,
    }
    if home_source.commit:
        tour["ref"] = home_source.commit
    tour["nextTour"] = index.titles[path[0]]
    tour["steps"] = steps
    return tour


def tour_bytes(tour: dict[str, Any]) -> bytes:
    return (json.dumps(tour, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def export_codetour(
    project: Project,
    out_dir: Path,
    reading_path: list[str],
    allow_orphans: bool = False,
    *,
    site_url: str = "",
    engine: Engine | None = None,
) -> list[Path]:
    """Write ``<out_dir>/<NN>-<slug>.tour`` for every locked file and ``<out_dir>/00-start-here.tour``
    along ``reading_path`` (file keys; empty: the lock's order); returns the paths written, the
    Start here tour first. Refuses (``C002``) like :func:`export_annotated_source`; ``C001`` for a
    reading path naming a file that is not locked with a page. With ``site_url``, links to the
    site become absolute URLs and each step links its note's page."""
    analyses = exportable(analyses_of(project, engine), allow_orphans)
    tours = build_tours(analyses, project.lock, reading_path, site_url)
    return write_outputs(
        out_dir, project.root, {name: tour_bytes(t) for name, t in tours.items()}, MANIFEST, "annotator export (CodeTour)"
    )
