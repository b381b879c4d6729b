"""Stage 5: progress, derived (never set by hand) from the sidecars and the code.

A note covers a symbol when it is anchored to that symbol path, or when its span contains a
leaf symbol (a field, a constant, a YAML key). Functions, classes and methods need a note of
their own with what / why / how. See docs/reference/sidecar-format.md, "What complete means".
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import asdict, dataclass, field

from .anchors import ResolvedNote, State
from .model import CALLABLE_KINDS, COVERED_KINDS, Span, Symbol, SymbolKind
from .project import FileAnalysis, Project
from .sidecar import Sidecar

LONG_FUNCTION = 40  # lines; longer functions need step notes
_LEAF_KINDS = frozenset({SymbolKind.FIELD, SymbolKind.CONSTANT, SymbolKind.VARIABLE, SymbolKind.YAML_KEY, SymbolKind.YAML_ITEM,
                         SymbolKind.TEXT_SECTION})
_URLS = re.compile(r"\]\([^)]*\)|https?://\S+")
_WORDS = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’_-]*")
PRIORITY_ORDER = {"critical": 0, "high": 1, "normal": 2}


class Status(str, enum.Enum):
    NOT_STARTED = "not started"
    IN_PROGRESS = "in progress"
    COMPLETE = "complete"


def words(text: str) -> int:
    """Words a reader reads: link targets and bare URLs don't count."""
    text = _URLS.sub(" ", text or "")
    return len(_WORDS.findall(text))


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    key: str
    label: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FileProgress:
    path: str
    title: str
    group: str
    page: str  # site-relative URL of the file's page
    status: Status
    priority: str
    pulled: bool
    lines: int
    covered_lines: int
    symbols: int
    annotated_symbols: int
    notes: int
    states: dict[str, int]
    unpinned: int
    words: int
    checklist: tuple[ChecklistItem, ...]
    uncovered: tuple[str, ...]
    review: tuple[tuple[str, str, str], ...]  # (note id, state, message)

    @property
    def missing(self) -> list[ChecklistItem]:
        return [item for item in self.checklist if not item.ok]

    @property
    def line_percent(self) -> float:
        return 100.0 * self.covered_lines / self.lines if self.lines else 0.0

    @property
    def symbol_percent(self) -> float:
        return 100.0 * self.annotated_symbols / self.symbols if self.symbols else 100.0

    def as_dict(self) -> dict:
        data = asdict(self)
        data["status"] = self.status.value
        data["checklist"] = [asdict(item) for item in self.checklist]
        data["missing"] = [item.key for item in self.missing]
        data["review"] = [dict(note=n, state=s, message=m) for n, s, m in self.review]
        data["line_percent"] = round(self.line_percent, 1)
        data["symbol_percent"] = round(self.symbol_percent, 1)
        return data


@dataclass(frozen=True, slots=True)
class ProgressReport:
    files: tuple[FileProgress, ...]
    commit: str | None = None
    next_steps: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, files: tuple[FileProgress, ...], commit: str | None) -> ProgressReport:
        return cls(files=files, commit=commit, next_steps=tuple(next_steps(files)))

    @property
    def complete(self) -> int:
        return sum(1 for f in self.files if f.status is Status.COMPLETE)

    @property
    def line_coverage_percent(self) -> float:
        total = sum(f.lines for f in self.files)
        return 100.0 * sum(f.covered_lines for f in self.files) / total if total else 0.0

    def as_dict(self, file_dicts: list[dict] | None = None) -> dict:
        """``file_dicts`` lets a long-lived caller pass each file's (memoised) ``as_dict()``."""
        by_priority: dict[str, dict[str, int]] = {}
        for f in self.files:
            bucket = by_priority.setdefault(f.priority, {"files": 0, "complete": 0})
            bucket["files"] += 1
            bucket["complete"] += f.status is Status.COMPLETE
        return {
            "commit": self.commit,
            "files_total": len(self.files),
            "files_complete": self.complete,
            "by_priority": by_priority,
            "line_coverage_percent": round(self.line_coverage_percent, 1),
            "files": file_dicts if file_dicts is not None else [f.as_dict() for f in self.files],
            "next_steps": list(self.next_steps),
        }


def page_url(path: str) -> str:
    """Site-relative URL of a file's page (directory URLs, as mkdocs writes them)."""
    return f"files/{path}/"


def note_covers(note: ResolvedNote, symbol: Symbol) -> bool:
    if note.span is None or note.state is State.ORPHANED:
        return False
    whole_symbol = note.note.section is None and note.note.quote is None and note.symbol == symbol.path
    if whole_symbol:
        return True
    # A leaf is covered when the note spans its definition; comment lines above it don't count.
    return symbol.kind in _LEAF_KINDS and note.span.contains(Span(symbol.name_line, symbol.span.end))


def file_progress(analysis: FileAnalysis) -> FileProgress:
    locked, model, sidecar = analysis.locked, analysis.model, analysis.sidecar
    notes = [n for n in analysis.notes if n.note.text.strip()]
    states = {state.value: sum(1 for n in analysis.notes if n.state is state) for state in State}
    counted = [s for s in (model.symbols if model else ()) if s.kind in COVERED_KINDS]
    covered = [s for s in counted if any(note_covers(n, s) for n in notes)]
    covered_lines: set[int] = set()
    for note in notes:
        if note.span is not None:
            covered_lines.update(range(note.span.start, note.span.end + 1))
    checklist = tuple(_checklist(sidecar, notes, model.symbols if model else (), model.banners if model else ()))
    review = tuple(
        (n.note_id, n.state.value, n.findings[0].message if n.findings else f"code {n.state.value} since pinned")
        for n in analysis.notes
        if n.needs_review
    )
    has_text = bool(notes) or (sidecar is not None and any(
        (sidecar.overview, sidecar.role, sidecar.key_innovations, sidecar.takeaways)))
    pulled = model is not None
    if not has_text:
        status = Status.NOT_STARTED
    elif pulled and all(i.ok for i in checklist) and len(covered) == len(counted) and not review:
        status = Status.COMPLETE
    else:
        status = Status.IN_PROGRESS
    total_words = sum(words(n.note.text) for n in notes)
    if sidecar is not None:
        total_words += sum(words(t) for t in (sidecar.overview, sidecar.role, *sidecar.key_innovations, *sidecar.takeaways,
                                               sidecar.data_flow.origin, sidecar.data_flow.processing, sidecar.data_flow.destination))
    return FileProgress(
        path=locked.path,
        title=(sidecar.title if sidecar and sidecar.title else locked.title) or locked.path,
        group=locked.group,
        page=page_url(locked.path),
        status=status,
        priority=sidecar.priority if sidecar else "normal",
        pulled=pulled,
        lines=model.line_count if model else 0,
        covered_lines=len(covered_lines),
        symbols=len(counted),
        annotated_symbols=len(covered),
        notes=len(notes),
        states=states,
        unpinned=sum(1 for n in analysis.notes if not n.pinned and not n.is_file_level),
        words=total_words,
        checklist=checklist,
        uncovered=tuple(s.path for s in counted if s not in covered),
        review=review,
    )


def _checklist(sidecar: Sidecar | None, notes: list[ResolvedNote], symbols, banners) -> list[ChecklistItem]:
    s = sidecar
    flow = s.data_flow if s else None
    items = [
        ChecklistItem("overview", "Overview (40+ words)", bool(s) and words(s.overview) >= 40),
        ChecklistItem("role", "Role in the pipeline (20+ words)", bool(s) and words(s.role) >= 20),
        ChecklistItem("key_innovations", "Key innovations (2+)", bool(s) and sum(1 for k in s.key_innovations if words(k) >= 5) >= 2),
        ChecklistItem("data_flow", "Data flow: origin, processing, destination (10+ words each)",
                      bool(s) and all(words(part) >= 10 for part in (flow.origin, flow.processing, flow.destination))),
        ChecklistItem("takeaways", "Key takeaways (3-7)", bool(s) and 3 <= sum(1 for t in s.takeaways if words(t) >= 5) <= 7),
    ]
    callables = [sym for sym in symbols if sym.kind in CALLABLE_KINDS]
    lacking = [sym.path for sym in callables if not any(_has_what_why_how(n, sym) for n in notes)]
    items.append(ChecklistItem("what_why_how", "What / why / how for every function, class and method", not lacking,
                               ", ".join(lacking[:8]) + (" ..." if len(lacking) > 8 else "")))
    short_of_steps = []
    for sym in callables:
        if sym.kind is SymbolKind.CLASS or sym.span.lines < LONG_FUNCTION:
            continue
        own = [b for b in banners if b.owner == sym.path]
        inside = [n for n in notes if n.span is not None and _is_step(n, sym.span)]
        sections = {(n.note.section or "").lower() for n in inside}
        needed = max(1, math.floor(sym.span.lines / LONG_FUNCTION))
        if len(inside) < needed or any(b.title.lower() not in sections for b in own):
            short_of_steps.append(sym.path)
    items.append(ChecklistItem("step_notes", f"Step notes for functions of {LONG_FUNCTION}+ lines", not short_of_steps,
                               ", ".join(short_of_steps)))
    return items


def _has_what_why_how(note: ResolvedNote, symbol: Symbol) -> bool:
    n = note.note
    return (note.symbol == symbol.path and n.section is None and n.quote is None
            and all(words(t) >= 3 for t in (n.what, n.why, n.how)))


def _is_step(note: ResolvedNote, span: Span) -> bool:
    return span.contains(note.span) and note.span != span


def progress_report(project: Project) -> ProgressReport:
    return ProgressReport.of(tuple(file_progress(a) for a in project.analyse_all()), project.lock.commit)


def next_steps(files: tuple[FileProgress, ...]) -> list[str]:
    """What to do next: by priority, then by the size of the gap."""
    pending = [f for f in files if f.status is not Status.COMPLETE]
    pending.sort(key=lambda f: (PRIORITY_ORDER.get(f.priority, 3), -(f.lines - f.covered_lines), f.path))
    steps = []
    for f in pending:
        gaps = []
        if f.review:
            gaps.append(f"review {len(f.review)} note(s)")
        if f.uncovered:
            gaps.append(f"cover {len(f.uncovered)} symbol(s)")
        gaps += [item.label.split(" (")[0].lower() for item in f.missing]
        steps.append(f"{f.path} ({f.priority}): " + ("; ".join(gaps) if gaps else "start the notes"))
    return steps


def badge_json(report: ProgressReport) -> dict:
    """A shields.io endpoint: https://shields.io/badges/endpoint-badge"""
    done, total = report.complete, len(report.files)
    color = "brightgreen" if done == total else "yellow" if done else "lightgrey"
    return {"schemaVersion": 1, "label": "annotated", "message": f"{done} of {total} files", "color": color}
