"""Highlight a source once with Pygments, as one HTML string per line, with cross-file links.

Lines are produced by splitting token values at newlines, so a multi-line string or comment is
closed and reopened on every line and each line stands alone in the page. The count of lines out
always equals the count in (the every-line-once invariant starts here).
"""

from __future__ import annotations

import html
from collections.abc import Callable

from pygments.lexer import Lexer
from pygments.lexers import PythonLexer, TextLexer, YamlLexer
from pygments.token import STANDARD_TYPES, Name, _TokenType

LinkResolver = Callable[[str, int], "str | None"]  # (name, line) -> href or None


def _lexer(language: str) -> Lexer:
    options = {"stripnl": False, "stripall": False, "ensurenl": False, "tabsize": 0}
    if language == "python":
        return PythonLexer(**options)
    if language == "yaml":
        return YamlLexer(**options)
    return TextLexer(**options)


def _css_class(ttype: _TokenType) -> str:
    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    return STANDARD_TYPES.get(ttype, "")


def highlight_lines(lines: tuple[str, ...], language: str, resolve: LinkResolver | None = None) -> list[str]:
    """One HTML string per source line."""
    if not lines:
        return []
    text = "\n".join(lines)
    out: list[list[str]] = [[]]
    previous_value = ""
    for ttype, value in _lexer(language).get_tokens(text):
        css = _css_class(ttype)
        pieces = value.split("\n")
        for index, piece in enumerate(pieces):
            if index:
                out.append([])
            if not piece:
                continue
            escaped = html.escape(piece, quote=False)
            href = None
            if resolve is not None and ttype in Name and ttype not in (Name.Attribute,) and previous_value != ".":
                href = resolve(piece, len(out))
            if href:
                escaped = f'<a class="ann-ref" href="{html.escape(href)}">{escaped}</a>'
            out[-1].append(f'<span class="{css}">{escaped}</span>' if css else escaped)
        if value.strip():
            previous_value = value.strip()
    rendered = ["".join(parts) for parts in out]
    # A lexer may drop or add a trailing newline; the page must show exactly the source's lines.
    if len(rendered) > len(lines):
        rendered = rendered[: len(lines)]
    while len(rendered) < len(lines):
        rendered.append(html.escape(lines[len(rendered)], quote=False))
    return rendered

