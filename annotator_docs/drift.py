"""Resolve every note against another version of the upstream files (how the pin moves forward)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .anchors import ResolvedNote, State
from .extract import extract
from .model import SourceModel
from .project import FileAnalysis, Project, analyse_file


@dataclass(frozen=True, slots=True)
class DriftEntry:
    path: str
    note: ResolvedNote
    diff: str  # unified diff of the note's code, old -> new, for changed notes


def drift(project: Project, contents: dict[str, bytes]) -> list[DriftEntry]:
    entries: list[DriftEntry] = []
    for locked in project.lock.files:
        loaded = project.load_sidecar(locked.path)
        if loaded is None or loaded.sidecar is None:
            continue
        data = contents.get(locked.path)
        # A file gone upstream has no lines: every anchored note on it is orphaned.
        new_model = extract(locked.path, data) if data is not None else SourceModel(locked.path, "text", ())
        old = analyse_file(locked, project.model(locked.path), loaded)
        new = analyse_file(locked, new_model, loaded)
        for before, after in zip(old.notes, new.notes):
            entries.append(DriftEntry(locked.path, after, _diff(old, before, new, after)))
    return entries


def _diff(old: FileAnalysis, before: ResolvedNote, new: FileAnalysis, after: ResolvedNote) -> str:
    if after.state is not State.CHANGED or before.span is None or after.span is None or old.model is None:
        return ""
    a = old.model.lines[before.span.start - 1 : before.span.end]
    b = new.model.lines[after.span.start - 1 : after.span.end]
    return "\n".join(difflib.unified_diff(a, b, "pinned", "new", lineterm="", n=1))
