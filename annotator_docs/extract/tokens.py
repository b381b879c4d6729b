"""Code as syntax, blind to layout: what a fingerprint hashes (see :class:`~annotator_docs.models.Fingerprint`).

* ``python_layout`` (its ``tokens``) / ``yaml_tokens`` / ``text_tokens``: for each line, the tokens that start on it,
  joined by :data:`SEPARATOR` (a string token may hold spaces), without comments or indentation. A
  span's token stream is the same after its lines are re-wrapped, re-indented or re-commented.
* ``window_digest``: a hash of the syntax nodes a run of lines holds whole (arguments of a call,
  items of a list), so redundant parentheses inside it are not a change either.
* ``syntax_digest``: a hash of a Python statement's tree, which also ignores redundant parentheses
  and trailing commas. Fields that are empty or None are left out, so the digest does not change
  when a newer Python adds an always-empty field to a node.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import io
import json
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass

import yaml

_SKIPPED = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENDMARKER,
    tokenize.ENCODING,
}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12 splits f-strings into parts
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SEPARATOR = "\x1f"  # the unit separator: in no source token a reader would write


@dataclass(frozen=True, slots=True)
class PythonLayout:
    """What the tokenizer sees of a Python file's layout beside its tokens (one pass for both)."""

    tokens: tuple[str, ...]  # per line, its code tokens joined by SEPARATOR
    logical_lines: tuple[tuple[int, int], ...]  # logical lines over several physical lines: (first, last)
    decorated: tuple[tuple[int, int], ...]  # (first decorator line, definition line) of decorated definitions


class _LogicalLines:
    """Follows logical lines through the token stream: which span several lines, which are decorators."""

    def __init__(self) -> None:
        self.first = 0  # the line of the current logical line's first token (0: between logical lines)
        self.decorator = 0  # the first line of a run of decorators not yet followed by its definition
        self.spans: list[tuple[int, int]] = []
        self.decorated: list[tuple[int, int]] = []

    def token(self, line: int, string: str) -> None:
        if self.first:
            return
        self.first = line
        if string == "@":  # no statement starts with the operator: a decorator
            self.decorator = self.decorator or line
        elif self.decorator:
            self.decorated.append((self.decorator, line))
            self.decorator = 0

    def end(self, line: int) -> None:
        if self.first and line > self.first:
            self.spans.append((self.first, line))
        self.first = 0


def python_layout(text: str, line_count: int) -> PythonLayout:
    """Tokens per line and the logical-line layout; a file that does not tokenize reads as text
    tokens, and as one logical line over the whole file (nothing is known to be between statements)."""
    lines: list[list[str]] = [[] for _ in range(line_count)]
    logical = _LogicalLines()
    try:
        for line, string in _python_token_strings(text, logical):
            _add(lines, line, string)
    except (tokenize.TokenError, SyntaxError):
        whole = ((1, line_count + 1),) if line_count else ()
        return PythonLayout(text_tokens(tuple(text.split("\n")[:line_count])), whole, ())
    return PythonLayout(tuple(SEPARATOR.join(parts) for parts in lines), tuple(logical.spans), tuple(logical.decorated))


def fragment_tokens(text: str) -> list[str]:
    """The code tokens of a fragment (a note's quote), read as the file's are; tolerant: a quote is
    often an unfinished statement, and the tokens before an open bracket are what it needs."""
    tokens: list[str] = []
    with contextlib.suppress(tokenize.TokenError, SyntaxError):
        for _, string in _python_token_strings(text):
            tokens.append(string)  # one by one: what came before the error is kept
    return tokens


def _python_token_strings(text: str, logical: _LogicalLines | None = None) -> Iterator[tuple[int, str]]:
    """(line, token) for every code token: no comments or layout; an f-string is one token, exactly as
    written (as Python 3.11 reads it). Raises what ``tokenize`` raises, after the tokens before it.
    ``logical``, when given, follows the logical lines on the way."""
    source = text.split("\n")
    depth, start = 0, (0, 0)
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in _SKIPPED:
            if logical is not None and token.type == tokenize.NEWLINE:
                logical.end(token.start[0])
            continue
        if logical is not None:
            logical.token(token.start[0], token.string)
        if _FSTRING_START is not None and token.type == _FSTRING_START:
            depth += 1
            if depth == 1:
                start = token.start
            continue
        if depth:
            if token.type == _FSTRING_END:
                depth -= 1
                if depth == 0:
                    yield start[0], _slice(source, start, token.end)
            continue
        yield token.start[0], token.string


def yaml_tokens(text: str, line_count: int) -> tuple[str, ...]:
    """Scalars by value (so quoting style does not count), structure by token type, comments dropped."""
    lines: list[list[str]] = [[] for _ in range(line_count)]
    try:
        for token in yaml.scan(text, Loader=_Loader):
            if isinstance(token, (yaml.StreamStartToken, yaml.StreamEndToken)):
                continue
            value = token.value if isinstance(token, yaml.ScalarToken) else getattr(token, "id", type(token).__name__)
            _add(lines, token.start_mark.line + 1, str(value))
    except yaml.YAMLError:
        return text_tokens(tuple(text.split("\n")[:line_count]))
    return tuple(SEPARATOR.join(parts) for parts in lines)


def text_tokens(lines: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(SEPARATOR.join(line.split()) for line in lines)


def line_tokens(text: str) -> list[str]:
    return text.split(SEPARATOR) if text else []


def _add(lines: list[list[str]], number: int, text: str) -> None:
    if 1 <= number <= len(lines):
        lines[number - 1].append(text)


def _slice(source: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    if start[0] == end[0]:
        return source[start[0] - 1][start[1] : end[1]]
    middle = source[start[0] : end[0] - 1]
    return "\n".join([source[start[0] - 1][start[1] :], *middle, source[end[0] - 1][: end[1]]])


def syntax_digest(node: ast.AST, memo: dict[int, str] | None = None) -> str:
    """``memo`` (one per tree) keeps each statement's dump, so a class's digest reuses its methods'."""
    return hashlib.sha256(_dump(node, memo).encode("utf-8", "surrogatepass")).hexdigest()[:16]


_UNHASHED = frozenset(("ctx", "type_comment", "kind"))


def _dump(node: object, memo: dict[int, str] | None = None) -> str:
    if isinstance(node, ast.AST):
        if memo is not None and (known := memo.get(id(node))) is not None:
            return known
        fields = []
        for name in node._fields:
            value = getattr(node, name, None)  # as ast.iter_fields: a missing field is skipped
            if name in _UNHASHED or value is None or value == []:
                continue
            fields.append(f"{name}={_dump(value, memo)}")
        text = f"{type(node).__name__}({','.join(fields)})"
        if memo is not None and isinstance(node, ast.stmt):
            memo[id(node)] = text
        return text
    if isinstance(node, list):
        return "[" + ",".join([_dump(item, memo) for item in node]) + "]"
    return repr(node)


def data_digest(value: object) -> str:
    """A YAML key's value as canonical data (so quoting, flow style and comments do not count)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


_LEFTOVER = re.compile(r"^[\s,()\[\]{}:;\\]*(#.*)?$")


def window_digest(lines: tuple[str, ...], start: int, end: int) -> str | None:
    """A syntax digest of lines ``start..end`` of a Python file when they hold whole syntax nodes
    (statements, arguments, items), separated only by punctuation: then redundant parentheses and
    re-wrapping inside them are not changes. None when the lines cut a node in two."""
    tree = _parsed("\n".join(lines) + "\n")
    if tree is None:
        return None
    found: list[ast.AST] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            first, last = getattr(child, "lineno", None), getattr(child, "end_lineno", None)
            if first is None or last is None:
                visit(child)
            elif start <= first and last <= end:
                found.append(child)
            elif last >= start and first <= end:
                visit(child)

    visit(tree)
    if not found:
        return None
    covered: dict[int, list[tuple[int, int]]] = {}
    for node in found:
        for number in range(node.lineno, node.end_lineno + 1):  # type: ignore[attr-defined]
            width = len(lines[number - 1].encode("utf-8"))
            low = node.col_offset if number == node.lineno else 0  # type: ignore[attr-defined]
            high = node.end_col_offset if number == node.end_lineno else width  # type: ignore[attr-defined]
            covered.setdefault(number, []).append((low, high))
    for number in range(start, end + 1):
        raw = lines[number - 1].encode("utf-8")
        keep = bytearray(raw)
        for low, high in covered.get(number, []):
            keep[low:high] = b" " * (high - low)
        if not _LEFTOVER.match(keep.decode("utf-8", "replace")):
            return None
    return hashlib.sha256("|".join(_dump(node) for node in found).encode("utf-8", "surrogatepass")).hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def parse_python(text: str) -> ast.Module:
    """``ast.parse``, once per text for the stages that read the same file one after another (the
    extractor, the binding analysis, window digests). Callers never change the tree. Raises what
    ``ast.parse`` raises (a failure is not kept)."""
    return ast.parse(text)


def _parsed(text: str) -> ast.Module | None:
    try:
        return parse_python(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
