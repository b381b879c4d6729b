"""Stages 2-4 joined for one file, and the one step that looks across files: following code that
moved to another file of the same source. Pure: models and loaded sidecars in, analyses out."""

from __future__ import annotations

import dataclasses

from .anchors import fingerprint, note_ids, resolve_sidecar, same_code
from .findings import Finding
from .layout import sidecar_path
from .models import FileAnalysis, LoadResult, LockedFile, ResolvedNote, SourceModel, State, Symbol


def analyse_file(file: LockedFile, model: SourceModel | None, loaded: LoadResult | None) -> FileAnalysis:
    display = sidecar_path(file)
    findings: list[Finding] = []
    sidecar = None
    if loaded is not None:
        findings.extend(loaded.findings)
        sidecar = loaded.sidecar
    if sidecar is not None and sidecar.source != file.path:
        findings.append(
            Finding(
                "S020",
                f"`source: {sidecar.source}` does not match this sidecar's place",
                display,
                hint=f"use `source: {file.path}`",
            )
        )
    if model is None:
        findings.append(Finding("E001", f"source `{file.key}` is not pulled", file.key, hint="run `annotator snapshot pull`"))
        # Notes keep their text without code to resolve against; they are shown, never dropped.
        unresolved = (
            tuple(ResolvedNote(n, i, State.INTACT, reason="source not pulled") for n, i in zip(sidecar.notes, note_ids(sidecar)))
            if sidecar
            else ()
        )
        return FileAnalysis(file, None, sidecar, loaded is not None, unresolved, tuple(findings))
    findings.extend(dataclasses.replace(f, path=file.key) for f in model.findings)
    notes: tuple[ResolvedNote, ...] = ()
    if sidecar is not None:
        notes = resolve_sidecar(sidecar, model)
        for note in notes:
            findings.extend(note.findings)
            findings.extend(_state_findings(note, display))
    return FileAnalysis(file, model, sidecar, loaded is not None, notes, tuple(findings))


def _state_findings(note: ResolvedNote, display: str) -> list[Finding]:
    line = note.note.sidecar_line
    if note.state is State.CHANGED and not any(f.code == "A020" for f in note.findings):
        return [
            Finding(
                "A020",
                f"note `{note.note_id}` needs review: {note.reason}",
                display,
                line,
                hint="re-read the note against the code, then `annotator pin --accept " + note.note_id + "`",
            )
        ]
    if note.state is State.MOVED and note.moved_to is None:
        return [
            Finding(
                "A022",
                f"note `{note.note_id}` moved: {note.reason}",
                display,
                line,
                hint="run `annotator pin` to record the new place",
            )
        ]
    if note.note.pinned is None and note.state is not State.ORPHANED and not note.is_file_level:
        return [Finding("A021", f"note `{note.note_id}` has no fingerprint", display, line, hint="run `annotator pin`")]
    return []


def follow_moves(analyses: list[FileAnalysis]) -> list[FileAnalysis]:
    """Orphaned notes whose code (same name, same syntax) now lives in another file of the same source
    become ``moved`` with ``moved_to``; the finding says which sidecar to move the note into. Costs nothing
    unless a note is orphaned."""
    orphans = [(a, n) for a in analyses for n in a.notes if n.state is State.ORPHANED and n.note.pinned and n.note.symbol]
    if not orphans:
        return analyses
    replaced: dict[str, FileAnalysis] = {}
    for analysis, note in orphans:
        target = _find_elsewhere(note, analysis, analyses)
        if target is None:
            continue
        other, symbol = target
        current = replaced.get(analysis.file.key, analysis)
        reason = f"moved to {other.file.key}:{symbol.qualname}"
        moved = dataclasses.replace(
            note,
            state=State.MOVED,
            span=None,
            symbol=symbol.qualname,
            reason=reason,
            moved_to=(other.file.key, symbol.qualname),
            candidates=(),
            findings=(),
            code=fingerprint(other.model, symbol.span, symbol) if other.model else None,
        )
        finding = Finding(
            "A024",
            f"note `{note.note_id}` {reason}",
            sidecar_path(analysis.file),
            note.note.sidecar_line,
            hint=f"move the note into {sidecar_path(other.file)} (its `symbol` stays `{symbol.qualname}`); then `annotator pin`",
        )
        notes = tuple(moved if n is note else n for n in current.notes)
        findings = (*tuple(f for f in current.findings if f not in note.findings), finding)
        replaced[analysis.file.key] = dataclasses.replace(current, notes=notes, findings=findings)
    return [replaced.get(a.file.key, a) for a in analyses]


def _find_elsewhere(
    note: ResolvedNote, analysis: FileAnalysis, analyses: list[FileAnalysis]
) -> tuple[FileAnalysis, Symbol] | None:
    """The one other file of the same source that holds the same name with the same code, if it is
    the only one: boilerplate (``logger = logging.getLogger(__name__)``) in several files is no move."""
    pinned = note.note.pinned
    assert pinned is not None and note.note.symbol is not None
    tail = note.note.symbol.rsplit(".", 1)[-1]
    found = []
    for other in analyses:
        if other is analysis or other.model is None or other.file.source != analysis.file.source:
            continue
        for symbol in other.model.symbols:
            if symbol.qualname.rsplit(".", 1)[-1] == tail and same_code(pinned, other.model, symbol.span, symbol)[0]:
                found.append((other, symbol))
    return found[0] if len(found) == 1 else None
