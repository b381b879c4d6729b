"""Highlight a source once with Pygments (its lexers sped up, see :mod:`.fast_lexer`),
as one HTML string per line, with cross-file links.

Lines are produced by splitting token values at newlines, so a multi-line string or comment is
closed and reopened on every line and each line stands alone in the page. The count of lines out
always equals the count in (the every-line-once invariant starts here).
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from typing import Any

from pygments.lexer import Lexer
from pygments.lexers import BashLexer, PythonLexer, TextLexer, YamlLexer, get_lexer_for_filename
from pygments.token import STANDARD_TYPES, Name, _TokenType
from pygments.util import ClassNotFound

from .fast_lexer import accelerated

LinkResolver = Callable[[str, int], "str | None"]  # (name, line) -> href or None


def _lexer(language: str, path: str = "") -> Lexer:
    options: dict[str, Any] = {"stripnl": False, "stripall": False, "ensurenl": False, "tabsize": 0}
    lexer: Lexer
    if language == "python":
        lexer = PythonLexer(**options)
    elif language == "yaml":
        lexer = YamlLexer(**options)
    elif path.endswith((".slurm", ".sh", ".bash")):  # job scripts are shell scripts
        lexer = BashLexer(**options)
    else:
        try:
            lexer = get_lexer_for_filename(path, None, **options) if path else TextLexer(**options)
        except ClassNotFound:
            lexer = TextLexer(**options)
    return accelerated(lexer)


@functools.cache  # token types are a fixed set
def _css_class(ttype: _TokenType) -> str:
    parent: _TokenType | None = ttype
    while parent is not None and parent not in STANDARD_TYPES:
        parent = parent.parent
    return STANDARD_TYPES.get(parent, "") if parent is not None else ""


@functools.cache
def _linkable(ttype: _TokenType) -> bool:
    return ttype in Name and ttype is not Name.Attribute  # type: ignore[comparison-overlap]  # _TokenType.__contains__


@functools.cache
def _kind(ttype: _TokenType) -> tuple[str, bool]:
    return _css_class(ttype), _linkable(ttype)


def _escape(text: str) -> str:
    if "&" in text or "<" in text or ">" in text:
        return html.escape(text, quote=False)
    return text


def highlight_lines(
    lines: tuple[str, ...],
    language: str,
    resolve: LinkResolver | None = None,
    path: str = "",
    bindings: dict[tuple[int, int], int] | None = None,
) -> list[str]:
    """One HTML string per source line. ``bindings`` maps a name's (line, column) to its binding id
    (see :mod:`annotator_docs.render.bindings`); those names carry it as ``data-b``."""
    if not lines:
        return []
    text = "\n".join(lines)
    out: list[list[str]] = [[]]
    line = out[0]
    column = 0
    previous_value = ""
    for ttype, value in _lexer(language, path).get_tokens(text):
        if not value:
            continue
        css, linkable = _kind(ttype)
        link = linkable and resolve is not None and previous_value != "."
        for index, piece in enumerate(value.split("\n") if "\n" in value else (value,)):
            if index:
                line = []
                out.append(line)
                column = 0
            if not piece:
                continue
            escaped = _escape(piece)
            if link and resolve is not None:
                href = resolve(piece, len(out))
                if href:
                    escaped = f'<a class="ann-ref" href="{html.escape(href)}">{escaped}</a>'
            binding = bindings.get((len(out), column)) if linkable and bindings else None
            if binding is not None:
                escaped = f'<span class="{css}" data-b="{binding}">{escaped}</span>'
            elif css:
                escaped = f'<span class="{css}">{escaped}</span>'
            line.append(escaped)
            column += len(piece)
        if not value.isspace():
            previous_value = value.strip()
    rendered = ["".join(parts) for parts in out]
    # A lexer may drop or add a trailing newline; the page must show exactly the source's lines.
    if len(rendered) > len(lines):
        rendered = rendered[: len(lines)]
    while len(rendered) < len(lines):
        rendered.append(html.escape(lines[len(rendered)], quote=False))
    return rendered
