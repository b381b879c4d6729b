"""Resolve every note of one source against another version of its files (how a pin moves forward).

The report says, per file and per state, what would happen if the pin moved: which notes stay
intact (reformatted or not), which moved (and from where to where, across files too), which
changed (with a short diff of the code under them) and which lost their code (with the reason).
A file gone upstream, or one that no longer parses, is one finding on that file.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass

from .analysis import analyse_file, follow_moves
from .extract import extract
from .findings import Finding
from .models import FileAnalysis, LoadResult, ResolvedNote, State

MAX_DIFF_LINES = 14


@dataclass(frozen=True, slots=True)
class DriftEntry:
    key: str  # the file's key
    note: ResolvedNote  # resolved against the other version
    pinned_span: tuple[int, int] | None  # where it is at the current pin
    diff: str  # a short unified diff of the note's code, pinned -> other, for changed notes


@dataclass(frozen=True, slots=True)
class DriftReport:
    source: str
    target: str  # the commit or folder compared with
    entries: tuple[DriftEntry, ...]
    file_findings: tuple[Finding, ...]  # deleted or unparsable files

    def counts(self) -> dict[str, dict[str, int]]:
        """Per file key, the number of notes in each state (the summary printed first)."""
        table: dict[str, dict[str, int]] = {}
        for entry in self.entries:
            row = table.setdefault(entry.key, {state.value: 0 for state in State})
            row[entry.note.state.value] += 1
        return table

    def totals(self) -> dict[str, int]:
        totals = {state.value: 0 for state in State}
        for entry in self.entries:
            totals[entry.note.state.value] += 1
        totals["reformatted"] = sum(1 for e in self.entries if e.note.reformatted)
        return totals

    @property
    def needs_review(self) -> list[DriftEntry]:
        return [e for e in self.entries if e.note.needs_review]


def drift(current: list[FileAnalysis], source: str, target: str, contents: dict[str, bytes]) -> DriftReport:
    """``current`` are the analyses at the pin; ``contents`` the other version's bytes by upstream path."""
    mine = [a for a in current if a.file.source == source and a.sidecar is not None]
    others: list[FileAnalysis] = []
    findings: list[Finding] = []
    for analysis in mine:
        data = contents.get(analysis.file.path)
        if data is None:
            findings.append(
                Finding(
                    "E104",
                    f"`{analysis.file.path}` is gone at {target}",
                    analysis.file.key,
                    hint="drop it from the lock, or follow its notes to where the code went",
                )
            )
            others.append(_gone(analysis, target))
            continue
        model = extract(analysis.file.path, data)
        new = analyse_file(analysis.file, model, LoadResult(analysis.sidecar))
        findings.extend(f for f in new.findings if f.code in ("E101", "E102", "E103"))
        others.append(new)
    others = follow_moves(others)
    entries = []
    for old, new in zip(mine, others):
        for before, after in zip(old.notes, new.notes):
            span = (before.span.start, before.span.end) if before.span else None
            entries.append(DriftEntry(old.file.key, after, span, _diff(old, before, new, after)))
    return DriftReport(source, target, tuple(entries), tuple(findings))


def _gone(analysis: FileAnalysis, target: str) -> FileAnalysis:
    """Every note of a file that is gone is orphaned, file-level notes included: none is "intact"."""
    reason = f"file deleted upstream at {target}"
    notes = tuple(
        dataclasses.replace(n, state=State.ORPHANED, span=None, code=None, reason=reason, findings=()) for n in analysis.notes
    )
    return dataclasses.replace(analysis, model=None, notes=notes, findings=())


def _diff(old: FileAnalysis, before: ResolvedNote, new: FileAnalysis, after: ResolvedNote) -> str:
    if after.state is not State.CHANGED or before.span is None or after.span is None or old.model is None or new.model is None:
        return ""
    a = old.model.lines[before.span.start - 1 : before.span.end]
    b = new.model.lines[after.span.start - 1 : after.span.end]
    lines = list(difflib.unified_diff(a, b, f"L{before.span.start}", f"L{after.span.start}", lineterm="", n=1))[2:]
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"… {len(lines) - MAX_DIFF_LINES} more diff line(s)"]
    return "\n".join(lines)
