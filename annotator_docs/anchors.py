"""Stage 4: resolve each note's anchor to a span and classify it.

Selectors, most specific last: symbol path (or YAML key path, or text section) -> banner
``section`` inside it -> ``quote`` (its first line; ``lines`` or ``end_quote`` for the end) ->
``line`` hint as a last resort. The fingerprint stored by ``annotator pin`` is compared with the
code the anchor finds now:

* intact   - found where it was, same code (``reformatted`` when only the layout changed);
* moved    - same code at other lines, under another symbol path, or in another file;
* changed  - found, but the code differs, or the quote's start is found and its extent no longer fits;
* orphaned - not found; kept, shown at file level, with the reason and the closest candidates.

Every state but intact carries a reason in words. A note is never dropped, a quote that matches
twice is an error rather than a guess, and a new note whose symbol does not exist is an error with
a "did you mean" list, never a move.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field

from .extract.tokens import fragment_tokens, line_tokens, window_digest
from .findings import Finding
from .models import Candidate, Fingerprint, Language, Note, ResolvedNote, Sidecar, SourceModel, Span, State, Symbol

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+|[^\sA-Za-z0-9_]+")


# -- fingerprints ---------------------------------------------------------------------------------
def normalise(line: str) -> str:
    return " ".join(line.split())


def span_tokens(model: SourceModel, span: Span) -> list[str]:
    """The span's tokens: blind to comments, indentation, line breaks and trailing commas."""
    if not model.tokens:
        return [word for line in model.lines[span.start - 1 : span.end] for word in line.split()]
    return _without_trailing_commas([t for line in model.tokens[span.start - 1 : span.end] for t in line_tokens(line)])


def token_stream(model: SourceModel, span: Span) -> str:
    return " ".join(span_tokens(model, span))


def token_window(model: SourceModel, start: int, count: int, limit: int) -> Span | None:
    """The span from ``start`` that holds the first ``count`` tokens (within ``limit``): where a window of
    code pinned by its line count ends now that its lines may be wrapped differently."""
    placed: list[tuple[str, int]] = []  # (token, line)
    for number in range(start, min(limit, model.line_count) + 1):
        placed += [(token, number) for token in line_tokens(model.tokens[number - 1])] if model.tokens else []
    kept = _without_trailing_commas([token for token, _ in placed])
    lines = [line for (_, line), keep in zip(placed, _keep_mask([t for t, _ in placed])) if keep]
    if len(kept) < count or count == 0:
        return None
    return Span(start, lines[count - 1])


def fingerprint(model: SourceModel, span: Span, symbol: Symbol | None = None, similar: bool = False) -> Fingerprint:
    """The ``t1`` fingerprint of a span: its syntax (the symbol's tree when the span is exactly a
    symbol, else its token stream, whose length is kept too) and the hash of its lines as written."""
    stream = span_tokens(model, span)
    if symbol is not None and symbol.span == span and symbol.digest:
        code = symbol.digest
    else:
        code = _window_code(model, span) or _hash(" ".join(stream))
    raw = _hash("\n".join(line.rstrip() for line in model.lines[span.start - 1 : span.end]))[:8]
    return Fingerprint("t1", code, raw, _simhash(" ".join(stream)) if similar else None, len(stream))


def _window_code(model: SourceModel, span: Span) -> str | None:
    return window_digest(model.lines, span.start, span.end) if model.language is Language.PYTHON else None


def legacy_hash(model: SourceModel, span: Span) -> str:
    """The first edition's hash (``l0``): whitespace-normalised lines, blank lines dropped."""
    lines = [text for text in (normalise(line) for line in model.lines[span.start - 1 : span.end]) if text]
    return _hash("\n".join(lines))


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _simhash(text: str) -> int:
    weights = [0] * 64
    tokens = _WORD.findall(text)
    for shingle in zip(tokens, tokens[1:], tokens[2:]) if len(tokens) >= 3 else [tuple(tokens)]:
        value = int.from_bytes(hashlib.blake2b(" ".join(shingle).encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if value >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def similarity(a: int, b: int) -> float:
    """1.0 for identical simhashes, 0.0 for opposite ones."""
    return 1 - bin(a ^ b).count("1") / 64


def same_code(pinned: Fingerprint, model: SourceModel, span: Span, symbol: Symbol | None) -> tuple[bool, bool]:
    """(same code, reformatted): compared by the scheme the note was pinned with."""
    if pinned.scheme == "l0":
        return legacy_hash(model, span) == pinned.code, False
    current = fingerprint(model, span, symbol)
    # a window pinned before its syntax digest existed carries the hash of its tokens
    same = current.code == pinned.code or (current.code != _hash(token_stream(model, span)) == pinned.code)
    return same, same and current.raw != pinned.raw


# -- ids ---------------------------------------------------------------------------------------------
def note_ids(sidecar: Sidecar) -> list[str]:
    """Stable ids from anchors, never from positions in the list (``#note-main``, ``#note-main-2``)."""
    ids: list[str] = []
    seen: dict[str, int] = {}
    for note in sidecar.notes:
        base = note.id or _slug(note.symbol or "", note.section or _short(note.quote or "")) or "file"
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def _short(quote: str) -> str:
    words = re.findall(r"[A-Za-z0-9_]+", quote)
    return "-".join(words[:4])


def _slug(*parts: str) -> str:
    text = "-".join(p for p in parts if p)
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-")[:60]


# -- resolution --------------------------------------------------------------------------------------
class _AnchorError(Exception):
    def __init__(self, code: str, message: str, hint: str = "", start: int | None = None, scope: Span | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint
        self.start, self.scope = start, scope  # set when the quote's start was found but its extent was not


@dataclass
class _Similar:
    """Simhashes of a model's symbols, computed only when a note is orphaned (once per file)."""

    model: SourceModel
    _values: dict[str, int] = field(default_factory=dict)

    def of(self, symbol: Symbol) -> int:
        if symbol.qualname not in self._values:
            self._values[symbol.qualname] = _simhash(token_stream(self.model, symbol.span))
        return self._values[symbol.qualname]


def resolve_sidecar(sidecar: Sidecar, model: SourceModel) -> tuple[ResolvedNote, ...]:
    similar = _Similar(model)
    return tuple(
        resolve_note(note, note_id, sidecar.sidecar_file, model, similar)
        for note, note_id in zip(sidecar.notes, note_ids(sidecar))
    )


def resolve_note(
    note: Note, note_id: str, sidecar_path: str, model: SourceModel, similar: _Similar | None = None
) -> ResolvedNote:
    if not note.has_anchor:
        return ResolvedNote(note, note_id, State.INTACT)
    if not model.parsed:
        problem = next(f for f in model.findings if f.is_error)
        return ResolvedNote(note, note_id, State.ORPHANED, reason=problem.message)  # one error on the file says it
    pinned = note.pinned
    try:
        span, symbol, warnings = _locate(note, model)
    except _AnchorError as problem:
        if problem.start is not None and problem.scope is not None and pinned is not None:
            # The quote's first line is there; only its end moved: the code changed under the note.
            end = problem.scope.end if problem.code == "A006" else problem.start
            finding = Finding(
                "A020",
                f"note `{note_id}` needs review: {problem.message}",
                sidecar_path,
                note.sidecar_line,
                hint="re-read the note against the code, fix `lines`/`end_quote`, then `annotator pin --accept`",
            )
            return ResolvedNote(
                note, note_id, State.CHANGED, Span(problem.start, end), note.symbol, reason=problem.message, findings=(finding,)
            )
        return _unlocated(note, note_id, sidecar_path, model, problem, similar or _Similar(model))
    findings = tuple(Finding(code, message, sidecar_path, note.sidecar_line, hint=hint) for code, message, hint in warnings)
    anchored = model.symbol(symbol) if symbol else None
    exact_symbol = anchored if anchored is not None and anchored.span == span else None
    if pinned is None:
        return ResolvedNote(note, note_id, State.INTACT, span, symbol, fingerprint(model, span, exact_symbol), findings=findings)
    same, reformatted = same_code(pinned, model, span, exact_symbol)
    if not same and pinned.scheme == "t1" and pinned.tokens and note.quote_length is not None and exact_symbol is None:
        # the window was pinned by its line count; re-wrapped lines move its end, not its code
        window = token_window(model, span.start, pinned.tokens, _scope_end(note, model))
        if window is not None and fingerprint(model, window).code == pinned.code:
            span, same, reformatted = window, True, True
    current = fingerprint(model, span, exact_symbol)
    if not same:
        reason = f"the code at lines {span.start}-{span.end} differs from the code the note was pinned to"
        return ResolvedNote(note, note_id, State.CHANGED, span, symbol, current, reason, findings=findings)
    if note.line_hint is not None and note.line_hint != span.start:
        return ResolvedNote(
            note,
            note_id,
            State.MOVED,
            span,
            symbol,
            current,
            f"moved from line {note.line_hint} to {span.start}",
            reformatted,
            findings=findings,
        )
    return ResolvedNote(
        note, note_id, State.INTACT, span, symbol, current, "reformatted" if reformatted else "", reformatted, findings=findings
    )


def _scope_end(note: Note, model: SourceModel) -> int:
    symbol = model.symbol(note.symbol) if note.symbol else None
    return symbol.span.end if symbol is not None else model.line_count


def _unlocated(
    note: Note, note_id: str, sidecar_path: str, model: SourceModel, problem: _AnchorError, similar: _Similar
) -> ResolvedNote:
    pinned = note.pinned
    if pinned is not None and problem.code == "A001":
        # The same code under another path (renamed, or moved into a class) is a move, not a loss.
        for symbol in model.symbols:
            if same_code(pinned, model, symbol.span, symbol)[0]:
                reason = f"`{note.symbol}` is now `{symbol.qualname}`"
                return ResolvedNote(
                    note, note_id, State.MOVED, symbol.span, symbol.qualname, fingerprint(model, symbol.span, symbol), reason
                )
    candidates = _candidates(note, model, similar) if pinned is not None or problem.code == "A001" else []
    hint = problem.hint
    if not hint and candidates:
        hint = "closest: " + ", ".join(f"`{c.qualname}` ({c.score:.2f})" for c in candidates[:3])
    reason = problem.message + (f"; closest: {candidates[0].qualname} ({candidates[0].score:.2f})" if candidates else "")
    finding = Finding(problem.code, problem.message, sidecar_path, note.sidecar_line, hint=hint)
    return ResolvedNote(note, note_id, State.ORPHANED, reason=reason, candidates=tuple(candidates), findings=(finding,))


def _locate(note: Note, model: SourceModel) -> tuple[Span, str | None, list[tuple[str, str, str]]]:
    warnings: list[tuple[str, str, str]] = []
    scope = Span(1, max(1, model.line_count))
    symbol_path = None
    if note.symbol is not None:
        symbol = model.symbol(note.symbol)
        if symbol is None:
            names = [s.qualname for s in model.symbols]
            close = difflib.get_close_matches(note.symbol, names, n=3, cutoff=0.6)
            hint = "did you mean " + " or ".join(f"`{c}`" for c in close) + "?" if close else ""
            raise _AnchorError("A001", f"symbol `{note.symbol}` not found in {model.path}", hint)
        scope, symbol_path = symbol.span, symbol.qualname
    if note.section is not None:
        owner = note.symbol
        banners = [b for b in model.banners if owner is None or b.owner == owner]
        matches = [b for b in banners if normalise(b.title).lower() == normalise(note.section).lower()]
        if not matches:
            titles = [b.title for b in banners]
            close = difflib.get_close_matches(note.section, titles, n=1, cutoff=0.5)
            hint = (
                f"did you mean `{close[0]}`?"
                if close
                else ("sections: " + ", ".join(titles) if titles else "this symbol has no banner sections")
            )
            raise _AnchorError("A002", f"no banner section `{note.section}`" + (f" in `{owner}`" if owner else ""), hint)
        if len(matches) > 1:
            raise _AnchorError(
                "A003", f"banner section `{note.section}` appears {len(matches)} times", "add `symbol` to choose one"
            )
        scope = matches[0].span
        symbol_path = symbol_path or matches[0].owner
    if note.quote is not None:
        return _quote_span(note, model, scope), symbol_path, warnings
    if note.line_hint is not None and note.symbol is None and note.section is None:
        warnings.append(("A010", "anchored by a line number only", "anchor by `symbol` or `quote` so the note survives edits"))
        start = min(note.line_hint, model.line_count)
        if start < 1:
            raise _AnchorError("A006", f"line {note.line_hint} is outside the file")
        return Span(start, start), None, warnings
    return scope, symbol_path, warnings


def _quote_span(note: Note, model: SourceModel, scope: Span) -> Span:
    assert note.quote is not None
    starts = quote_starts(model, scope, note.quote)
    where = f"lines {scope.start}-{scope.end}"
    if not starts:
        raise _AnchorError(
            "A004",
            f"quote `{note.quote}` not found in {where}",
            "copy the first line of the code; end with `...` to match a prefix",
        )
    if len(starts) > 1:
        listed = ", ".join(str(s) for s in starts[:5])
        raise _AnchorError(
            "A005",
            f"quote `{note.quote}` matches {len(starts)} lines ({listed})",
            "narrow it with `symbol` or `section`, or quote more of the line",
        )
    start = starts[0]
    if note.quote_length is not None:
        end = start + note.quote_length - 1
        if end > scope.end:
            raise _AnchorError(
                "A006",
                f"quote found at L{start} but `lines: {note.quote_length}` runs past the end of {where}",
                start=start,
                scope=scope,
            )
        return Span(start, end)
    if note.end_quote is not None:
        ends = quote_starts(model, Span(start, scope.end), note.end_quote, unique=False)
        if not ends:
            raise _AnchorError(
                "A007", f"quote found at L{start} but end quote `{note.end_quote}` missing after it", start=start, scope=scope
            )
        return Span(start, ends[0])
    for symbol in model.symbols:  # a quote on a definition line selects the definition
        if symbol.name_line == start and scope.contains(symbol.span) and symbol.span.start <= start:
            return symbol.span
    for first, last in model.statements:  # ... and on a statement's first line, the whole statement
        if first == start and last <= scope.end:
            return Span(start, last)
    return Span(start, start)


def quote_starts(model: SourceModel, scope: Span, quote: str, unique: bool = True) -> list[int]:
    """Lines where ``quote`` starts: first as written (whitespace-normalised), then, when that finds
    nothing, by tokens, so a quote still matches after its line is re-wrapped or loses redundant
    parentheses. ``...`` at the end matches a prefix."""
    wanted = normalise(quote)
    prefix = wanted.endswith("...")
    if prefix:
        wanted = wanted[:-3].rstrip()
    last = min(scope.end, model.line_count)
    hits = [
        n
        for n in range(scope.start, last + 1)
        if (line := normalise(model.lines[n - 1])) == wanted or (prefix and wanted and line.startswith(wanted))
    ]
    if hits or not model.tokens or not wanted:
        return hits
    quoted = _without_trailing_commas(_quote_tokens(wanted, model.language))
    for loose in (False, True):  # tokens as they are, then without parentheses
        needle = _strip_parens(quoted) if loose else quoted
        hits = [n for n in range(scope.start, last + 1) if _tokens_match(model, n, last, needle, prefix, loose)]
        if hits:
            return hits
    return []


def _tokens_match(model: SourceModel, start: int, last: int, needle: list[str], prefix: bool, loose: bool) -> bool:
    """Do the tokens from line ``start`` on begin with ``needle`` (ending at a line end, unless ``prefix``)?"""
    if not needle or not model.tokens[start - 1]:
        return False
    stream: list[tuple[str, bool]] = []  # (token, whether a line ends after it)
    for number in range(start, last + 1):
        line = line_tokens(model.tokens[number - 1])
        line = _strip_parens(line) if loose else line
        stream += [(token, position == len(line) - 1) for position, token in enumerate(line)]
        if len(stream) > len(needle) + 1:
            break
    tokens = _without_trailing_commas([t for t, _ in stream])
    ends = [end for (_, end), keep in zip(stream, _keep_mask([t for t, _ in stream])) if keep]
    if tokens[: len(needle)] != needle:
        return False
    return prefix or len(tokens) == len(needle) or ends[len(needle) - 1]


def _keep_mask(tokens: list[str]) -> list[bool]:
    """False for a trailing comma (one right before a closing bracket): adding or dropping it is layout."""
    return [not (t == "," and i + 1 < len(tokens) and tokens[i + 1] in (")", "]", "}")) for i, t in enumerate(tokens)]


def _without_trailing_commas(tokens: list[str]) -> list[str]:
    return [t for t, keep in zip(tokens, _keep_mask(tokens)) if keep]


def _strip_parens(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t not in ("(", ")")]


def _quote_tokens(text: str, language: Language) -> list[str]:
    return fragment_tokens(text) if language is Language.PYTHON else text.split()


def _candidates(note: Note, model: SourceModel, similar: _Similar) -> list[Candidate]:
    found: dict[str, Candidate] = {}
    if note.symbol:
        names = {s.qualname: s for s in model.symbols}
        tails = {s.qualname.rsplit(".", 1)[-1]: s for s in model.symbols}
        for match in difflib.get_close_matches(note.symbol, list(names), n=3, cutoff=0.5):
            score = round(difflib.SequenceMatcher(None, note.symbol, match).ratio(), 2)
            found[match] = Candidate(match, names[match].span, "name", score)
        for match in difflib.get_close_matches(note.symbol.rsplit(".", 1)[-1], list(tails), n=2, cutoff=0.6):
            symbol = tails[match]
            found.setdefault(symbol.qualname, Candidate(symbol.qualname, symbol.span, "name", 0.6))
    pinned = note.pinned
    if pinned is not None and pinned.similar:
        scored = sorted(
            ((similarity(pinned.similar, similar.of(s)), s) for s in model.symbols),
            key=lambda pair: (-pair[0], pair[1].span.start),
        )
        for score, symbol in scored[:3]:
            if score >= 0.75:
                current = found.get(symbol.qualname)
                if current is None or current.score < score:
                    found[symbol.qualname] = Candidate(symbol.qualname, symbol.span, "content", round(score, 2))
    return sorted(found.values(), key=lambda c: (-c.score, c.qualname))[:5]
