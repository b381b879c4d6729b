"""Stage 5: progress, derived (never set by hand) from the sidecars and the code. Numbers only;
:mod:`annotator_docs.render.report` puts them into words.

A note covers a symbol when it is anchored to that symbol path, or when its span contains a leaf
symbol (a field, a constant, a YAML key, a text section). Functions, classes and methods need a
note of their own with what / why / how. See docs/reference/sidecar-format.md, "What complete means".
"""

from __future__ import annotations

import math
import re

from .models import (
    CALLABLE_KINDS,
    COVERED_KINDS,
    LEAF_KINDS,
    Banner,
    ChecklistItem,
    FileAnalysis,
    FileProgress,
    Lock,
    Priority,
    ProgressReport,
    ResolvedNote,
    Sidecar,
    Span,
    State,
    Status,
    Symbol,
    SymbolKind,
)

LONG_FUNCTION = 40  # lines; longer functions need step notes
#: The derived checklist, in the order the guide gives it (labels live in render/report.py).
CHECKLIST_KEYS = ("overview", "role", "key_innovations", "data_flow", "takeaways", "what_why_how", "step_notes")
_URLS = re.compile(r"\]\([^)]*\)|https?://\S+")
_WORDS = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’_-]*")


def words(text: str) -> int:
    """Words a reader reads: link targets and bare URLs don't count."""
    return len(_WORDS.findall(_URLS.sub(" ", text or "")))


def note_covers(note: ResolvedNote, symbol: Symbol) -> bool:
    if note.span is None or note.state is State.ORPHANED:
        return False
    if note.note.section is None and note.note.quote is None and note.symbol == symbol.qualname:
        return True
    # A leaf is covered when the note spans its definition; comment lines above it don't count.
    return symbol.kind in LEAF_KINDS and note.span.contains(Span(symbol.name_line, symbol.span.end))


def file_progress(analysis: FileAnalysis) -> FileProgress:
    file, model, sidecar = analysis.file, analysis.model, analysis.sidecar
    notes = [n for n in analysis.notes if n.note.text.strip()]
    symbols = model.symbols if model else ()
    counted = [s for s in symbols if s.kind in COVERED_KINDS]
    covered = [s for s in counted if any(note_covers(n, s) for n in notes)]
    covered_lines: set[int] = set()
    for note in notes:
        if note.span is not None:
            covered_lines.update(range(note.span.start, note.span.end + 1))
    checklist = tuple(_checklist(sidecar, notes, symbols, model.banners if model else ()))
    review = tuple((n.note_id, n.state, n.reason) for n in analysis.notes if n.needs_review)
    has_text = bool(notes) or (
        sidecar is not None and any((sidecar.overview, sidecar.role, sidecar.key_innovations, sidecar.takeaways))
    )
    if not has_text:
        status = Status.NOT_STARTED
    elif model is None:
        status = Status.UNKNOWN  # the checklist needs the code: never call a file complete (or not) blind
    elif all(i.ok for i in checklist) and len(covered) == len(counted) and not review:
        status = Status.COMPLETE
    else:
        status = Status.IN_PROGRESS
    total = sum(words(n.note.text) for n in notes)
    if sidecar is not None:
        flow = sidecar.data_flow
        total += sum(
            words(t)
            for t in (
                sidecar.overview,
                sidecar.role,
                *sidecar.key_innovations,
                *sidecar.takeaways,
                flow.origin,
                flow.processing,
                flow.destination,
            )
        )
    return FileProgress(
        key=file.key,
        path=file.path,
        source=file.source,
        title=(sidecar.title if sidecar and sidecar.title else file.title) or file.path,
        group=file.group,
        status=status,
        priority=sidecar.priority if sidecar else Priority.NORMAL,
        pulled=model is not None,
        lines=model.line_count if model else 0,
        covered_lines=len(covered_lines),
        symbols=len(counted),
        annotated_symbols=len(covered),
        notes=len(notes),
        states=tuple((state, sum(1 for n in analysis.notes if n.state is state)) for state in State),
        unpinned=sum(1 for n in analysis.notes if n.note.pinned is None and not n.is_file_level),
        words=total,
        checklist=checklist,
        uncovered=tuple(s.qualname for s in counted if s not in covered),
        review=review,
    )


def _checklist(
    sidecar: Sidecar | None, notes: list[ResolvedNote], symbols: tuple[Symbol, ...], banners: tuple[Banner, ...]
) -> list[ChecklistItem]:
    s = sidecar
    items = [
        ChecklistItem("overview", s is not None and words(s.overview) >= 40),
        ChecklistItem("role", s is not None and words(s.role) >= 20),
        ChecklistItem("key_innovations", s is not None and sum(1 for k in s.key_innovations if words(k) >= 5) >= 2),
        ChecklistItem(
            "data_flow",
            s is not None
            and all(words(part) >= 10 for part in (s.data_flow.origin, s.data_flow.processing, s.data_flow.destination)),
        ),
        ChecklistItem("takeaways", s is not None and 3 <= sum(1 for t in s.takeaways if words(t) >= 5) <= 7),
    ]
    callables = [sym for sym in symbols if sym.kind in CALLABLE_KINDS]
    lacking = tuple(sym.qualname for sym in callables if not any(_has_what_why_how(n, sym) for n in notes))
    items.append(ChecklistItem("what_why_how", not lacking, lacking))
    short_of_steps = []
    for sym in callables:
        if sym.kind is SymbolKind.CLASS or sym.span.length < LONG_FUNCTION:
            continue
        own = [b for b in banners if b.owner == sym.qualname]
        inside = [n for n in notes if n.span is not None and _is_step(n, sym.span)]
        sections = {(n.note.section or "").lower() for n in inside}
        needed = max(1, math.floor(sym.span.length / LONG_FUNCTION))
        if len(inside) < needed or any(b.title.lower() not in sections for b in own):
            short_of_steps.append(sym.qualname)
    items.append(ChecklistItem("step_notes", not short_of_steps, tuple(short_of_steps)))
    return items


def _has_what_why_how(note: ResolvedNote, symbol: Symbol) -> bool:
    n = note.note
    return (
        note.symbol == symbol.qualname
        and n.section is None
        and n.quote is None
        and all(words(t) >= 3 for t in (n.what, n.why, n.how))
    )


def _is_step(note: ResolvedNote, span: Span) -> bool:
    return note.span is not None and span.contains(note.span) and note.span != span


def progress_report(files: list[FileProgress], lock: Lock) -> ProgressReport:
    return ProgressReport(tuple(files), tuple((s.name, s.commit) for s in lock.sources))


def pending(report: ProgressReport) -> list[FileProgress]:
    """Files not complete, in the order to work on them: priority, then the size of the gap."""
    files = [f for f in report.files if f.status is not Status.COMPLETE]
    return sorted(files, key=lambda f: (f.priority.rank, -(f.lines - f.covered_lines), f.key))
