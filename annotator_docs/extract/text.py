"""Plain text (shell and Slurm scripts, INI, Dockerfiles) -> sections named by their comments.

A section starts at an unindented ``# title`` comment that begins a paragraph (the first line, or
a line after a blank one) and runs to the last non-blank line before the next section. Its symbol
path is the title, so a note anchors to ``symbol: "Parse command line arguments"`` and survives
lines moving above it; finer spans use ``quote``. Shebangs and directives written as comments
(``#!``, ``#SBATCH``: no space after the ``#``) never start a section.
"""

from __future__ import annotations

import hashlib
import re

from ..models import Language, SourceModel, Span, Symbol, SymbolKind
from .tokens import text_tokens

_TITLE = re.compile(r"^# +(\S.*?)\s*$")


def extract_text(path: str, lines: tuple[str, ...], sha256: str = "") -> SourceModel:
    starts: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        match = _TITLE.match(line)
        if match and (number == 1 or not lines[number - 2].strip()):
            starts.append((number, " ".join(match.group(1).split())))
    symbols: list[Symbol] = []
    seen: dict[str, int] = {}
    for position, (start, title) in enumerate(starts):
        end = starts[position + 1][0] - 1 if position + 1 < len(starts) else len(lines)
        while end > start and not lines[end - 1].strip():
            end -= 1
        seen[title] = seen.get(title, 0) + 1
        name = title if seen[title] == 1 else f"{title} ({seen[title]})"
        body = [" ".join(line.split()) for line in lines[start:end]]  # its code, not its title: a retitled section is a rename
        symbols.append(
            Symbol(
                qualname=name,
                kind=SymbolKind.TEXT_SECTION,
                span=Span(start, end),
                name_line=start,
                signature=lines[start - 1].strip()[:120],
                digest=hashlib.sha256("\n".join(t for t in body if t).encode()).hexdigest()[:16],
            )
        )
    return SourceModel(
        path=path, language=Language.TEXT, lines=lines, symbols=tuple(symbols), tokens=text_tokens(lines), sha256=sha256
    )
