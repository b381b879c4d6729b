"""Stage 4: resolve each note's anchor to a span and classify it.

Selectors, most specific last: symbol path (or YAML key path) -> banner ``section`` inside it ->
``quote`` (first line, whitespace-normalised; ``lines`` or ``end_quote`` for the end) -> ``line``
hint as a last resort. The fingerprint stored by ``annotator pin`` is compared with the code the
anchor finds now:

* intact   - found where it was, same code;
* moved    - same code, found at other lines or under another symbol path (``pin`` updates it);
* changed  - found, but the code differs; the note needs review;
* orphaned - not found; kept, shown at file level, with the closest candidates.

A note is never dropped. A quote that matches twice is an error, not a guess.
"""

from __future__ import annotations

import difflib
import enum
import hashlib
import re
from dataclasses import dataclass

from .model import Finding, SourceModel, Span
from .sidecar import Note, Sidecar

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+|[^\sA-Za-z0-9_]+")


class State(str, enum.Enum):
    INTACT = "intact"
    MOVED = "moved"
    CHANGED = "changed"
    ORPHANED = "orphaned"


@dataclass(frozen=True, slots=True)
class Candidate:
    symbol: str
    span: Span
    reason: str  # "name" | "content"
    score: float


@dataclass(frozen=True, slots=True)
class ResolvedNote:
    note: Note
    note_id: str
    state: State
    span: Span | None  # None for file-level and orphaned notes
    symbol: str | None  # the symbol path the note is on now (may differ from note.symbol when moved)
    code_hash: str | None  # exact half of the fingerprint of the code the anchor finds now
    candidates: tuple[Candidate, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def pinned(self) -> bool:
        return self.note.fingerprint is not None

    @property
    def needs_review(self) -> bool:
        return self.state in (State.CHANGED, State.ORPHANED)

    @property
    def is_file_level(self) -> bool:
        return not self.note.has_anchor


# -- fingerprints ---------------------------------------------------------------------------
def normalise(line: str) -> str:
    return " ".join(line.split())


def _normalised(lines) -> list[str]:
    return [text for text in (normalise(line) for line in lines) if text]


def exact_hash(lines: tuple[str, ...] | list[str]) -> str:
    """The exact half of a fingerprint: decides intact versus changed (cheap; every build)."""
    return hashlib.sha256("\n".join(_normalised(lines)).encode()).hexdigest()[:16]


def fingerprint(lines: tuple[str, ...] | list[str]) -> str:
    """``exact:similarity`` - sha256 and a 64-bit simhash of the whitespace-normalised code.

    The similarity half is only computed when it is needed: by ``pin``, and to rank the
    candidates of an orphaned note.
    """
    return f"{exact_hash(lines)}:{_simhash(_normalised(lines)):016x}"


def _simhash(lines: list[str]) -> int:
    weights = [0] * 64
    tokens = _WORD.findall("\n".join(lines))
    for shingle in zip(tokens, tokens[1:], tokens[2:]) if len(tokens) >= 3 else [tuple(tokens)]:
        value = int.from_bytes(hashlib.blake2b(" ".join(shingle).encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if value >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def similarity(a: str, b: str) -> float:
    """1.0 for identical simhash halves, 0.0 for opposite ones."""
    x, y = int(a.split(":")[1], 16), int(b.split(":")[1], 16)
    return 1 - bin(x ^ y).count("1") / 64


def span_fingerprint(model: SourceModel, span: Span) -> str:
    return fingerprint(model.lines[span.start - 1 : span.end])


def span_hash(model: SourceModel, span: Span) -> str:
    return exact_hash(model.lines[span.start - 1 : span.end])


# -- resolution -----------------------------------------------------------------------------
class _AnchorError(Exception):
    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def note_ids(sidecar: Sidecar) -> list[str]:
    """Stable ids from anchors, never from positions in the list (``#note-main``, ``#note-main-2``)."""
    ids, seen = [], {}
    for note in sidecar.notes:
        base = note.id or _slug(note.symbol or "", note.section or _short(note.quote or "")) or "file"
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def _short(quote: str) -> str:
    """The first few words of a quote, for a readable id."""
    words = re.findall(r"[A-Za-z0-9_]+", quote)
    return "-".join(words[:4])


def _slug(*parts: str) -> str:
    text = "-".join(p for p in parts if p)
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-")[:60]


def resolve_sidecar(sidecar: Sidecar, model: SourceModel) -> tuple[ResolvedNote, ...]:
    return tuple(resolve_note(note, note_id, sidecar.path, model) for note, note_id in zip(sidecar.notes, note_ids(sidecar)))


def resolve_note(note: Note, note_id: str, sidecar_path: str, model: SourceModel) -> ResolvedNote:
    if not note.has_anchor:
        return ResolvedNote(note, note_id, State.INTACT, None, None, None)
    try:
        span, symbol, warnings = _locate(note, model)
    except _AnchorError as problem:
        return _unlocated(note, note_id, sidecar_path, model, problem)
    current = span_hash(model, span)
    findings = tuple(Finding(code=c, message=m, path=sidecar_path, line=note.line, hint=h, severity="warning") for c, m, h in warnings)
    if note.fingerprint is None:
        return ResolvedNote(note, note_id, State.INTACT, span, symbol, current, findings=findings)
    if current != note.fingerprint.split(":")[0]:
        return ResolvedNote(note, note_id, State.CHANGED, span, symbol, current, findings=findings)
    moved = note.line_hint is not None and note.line_hint != span.start
    return ResolvedNote(note, note_id, State.MOVED if moved else State.INTACT, span, symbol, current, findings=findings)


def _unlocated(note: Note, note_id: str, sidecar_path: str, model: SourceModel, problem: _AnchorError) -> ResolvedNote:
    # Same code under another path (moved within the file, e.g. into a class) is a move, not a loss.
    if note.fingerprint and problem.code == "A001":
        exact = note.fingerprint.split(":")[0]
        for symbol in model.symbols:
            here = span_hash(model, symbol.span)
            if here == exact:
                return ResolvedNote(note, note_id, State.MOVED, symbol.span, symbol.path, here)
    candidates = _candidates(note, model)
    hint = problem.hint
    if not hint and candidates:
        hint = "closest: " + ", ".join(f"`{c.symbol}` ({c.reason})" for c in candidates[:3])
    finding = Finding(code=problem.code, message=problem.message, path=sidecar_path, line=note.line, hint=hint)
    return ResolvedNote(note, note_id, State.ORPHANED, None, None, None, tuple(candidates), (finding,))


def _locate(note: Note, model: SourceModel) -> tuple[Span, str | None, list[tuple[str, str, str]]]:
    warnings: list[tuple[str, str, str]] = []
    scope = Span(1, max(1, model.line_count))
    symbol_path = None
    if note.symbol is not None:
        symbol = model.symbol(note.symbol)
        if symbol is None:
            names = [s.path for s in model.symbols]
            close = difflib.get_close_matches(note.symbol, names, n=1, cutoff=0.6)
            hint = f"did you mean `{close[0]}`?" if close else ""
            raise _AnchorError("A001", f"unknown symbol `{note.symbol}` in {model.path}", hint)
        scope, symbol_path = symbol.span, symbol.path
    if note.section is not None:
        owner = note.symbol
        banners = [b for b in model.banners if owner is None or b.owner == owner]
        matches = [b for b in banners if normalise(b.title).lower() == normalise(note.section).lower()]
        if not matches:
            titles = [b.title for b in banners]
            close = difflib.get_close_matches(note.section, titles, n=1, cutoff=0.5)
            hint = f"did you mean `{close[0]}`?" if close else ("sections: " + ", ".join(titles) if titles else "this symbol has no banner sections")
            raise _AnchorError("A002", f"no banner section `{note.section}`" + (f" in `{owner}`" if owner else ""), hint)
        if len(matches) > 1:
            raise _AnchorError("A003", f"banner section `{note.section}` appears {len(matches)} times", "add `symbol` to choose one")
        scope = matches[0].span
        symbol_path = symbol_path or matches[0].owner
    if note.quote is not None:
        return (_quote_span(note, model, scope), symbol_path, warnings)
    if note.line_hint is not None and note.symbol is None and note.section is None:
        warnings.append(("A010", "anchored by a line number only", "anchor by `symbol` or `quote` so the note survives edits"))
        start = min(note.line_hint, model.line_count)
        if start < 1:
            raise _AnchorError("A006", f"line {note.line_hint} is outside the file")
        return Span(start, start), None, warnings
    return scope, symbol_path, warnings


def _quote_span(note: Note, model: SourceModel, scope: Span) -> Span:
    starts = _matching_lines(model, scope, note.quote)
    where = f"lines {scope.start}-{scope.end}"
    if not starts:
        raise _AnchorError("A004", f"quote `{note.quote}` not found in {where}", "copy the first line of the code; end with `...` to match a prefix")
    if len(starts) > 1:
        listed = ", ".join(str(s) for s in starts[:5])
        raise _AnchorError("A005", f"quote `{note.quote}` matches {len(starts)} lines ({listed})",
                           "narrow it with `symbol` or `section`, or quote more of the line")
    start = starts[0]
    if note.lines is not None:
        end = start + note.lines - 1
        if end > scope.end:
            raise _AnchorError("A006", f"`lines: {note.lines}` runs past the end of {where}")
        return Span(start, end)
    if note.end_quote is not None:
        ends = _matching_lines(model, Span(start, scope.end), note.end_quote)
        if not ends:
            raise _AnchorError("A007", f"end_quote `{note.end_quote}` not found after line {start}")
        return Span(start, ends[0])
    for symbol in model.symbols:  # a quote on a definition line selects the definition
        if symbol.name_line == start and scope.contains(symbol.span) and symbol.span.start <= start:
            return symbol.span
    return Span(start, start)


def _matching_lines(model: SourceModel, scope: Span, quote: str) -> list[int]:
    wanted = normalise(quote)
    prefix = wanted.endswith("...")
    if prefix:
        wanted = wanted[:-3].rstrip()
    hits = []
    for number in range(scope.start, min(scope.end, model.line_count) + 1):
        line = normalise(model.lines[number - 1])
        if line == wanted or (prefix and wanted and line.startswith(wanted)):
            hits.append(number)
    return hits


def _candidates(note: Note, model: SourceModel) -> list[Candidate]:
    found: dict[str, Candidate] = {}
    if note.symbol:
        names = {s.path: s for s in model.symbols}
        tails = {s.path.rsplit(".", 1)[-1]: s for s in model.symbols}
        for match in difflib.get_close_matches(note.symbol, list(names), n=3, cutoff=0.5):
            found[match] = Candidate(match, names[match].span, "name", difflib.SequenceMatcher(None, note.symbol, match).ratio())
        for match in difflib.get_close_matches(note.symbol.rsplit(".", 1)[-1], list(tails), n=2, cutoff=0.6):
            symbol = tails[match]
            found.setdefault(symbol.path, Candidate(symbol.path, symbol.span, "name", 0.6))
    if note.fingerprint:
        scored = sorted(
            ((similarity(note.fingerprint, span_fingerprint(model, s.span)), s) for s in model.symbols),
            key=lambda pair: (-pair[0], pair[1].span.start),
        )
        for score, symbol in scored[:3]:
            if score >= 0.75:
                current = found.get(symbol.path)
                if current is None or current.score < score:
                    found[symbol.path] = Candidate(symbol.path, symbol.span, "content", round(score, 2))
    return sorted(found.values(), key=lambda c: (-c.score, c.symbol))[:5]
