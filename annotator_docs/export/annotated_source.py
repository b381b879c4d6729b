"""Annotated source: the upstream file with every note written into it as comments.

``annotate_file(analysis, lock)`` is a pure function of one resolved :class:`FileAnalysis`:

* a header at the top in the structure of a complete annotation (title, overview, role in the
  pipeline, key innovations, data flow, key takeaways, file-level notes), with orphaned notes (and
  notes whose code moved to another file) in a clearly marked block before it;
* every anchored note as a comment block right above the statement it is anchored to, indented
  like it: above the whole statement (never inside brackets, a multi-line string, a YAML block
  scalar, a shell here-document or quoted string, nor after a line continuation), above the
  first decorator of a decorated definition, and after a shebang or an encoding declaration.

Every line the export adds starts with :data:`MARK` (``#|``) after its indentation, so
:func:`strip_annotations` gives the upstream lines back. The code is never changed: Python compiles
to the same code (line numbers aside), YAML loads to the same data, a text file has the same lines
once the added lines are removed. The Python and YAML results are checked before they are returned,
by the compiler and the YAML loader rather than the tokenizer the placement rules come from; a note
that cannot be placed without changing the code (none at the pinned commits) goes to the top block.

Notes are Markdown; :func:`reflow` turns them into plain text for comments (wrapped at about 88
columns; lists, code spans, TeX, Mermaid and tables kept readable; links as ``[text](url)``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import textwrap
import types
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..findings import fail
from ..layout import page_uri, sidecar_path, url_of
from ..models import FileAnalysis, Language, Lock, LockedFile, ResolvedNote, Sidecar, SourceModel, State
from ..paths import safe_join, writable_dir, write_atomic

if TYPE_CHECKING:
    from ..engine import Engine
    from ..project import Project

MARK = "#|"
WIDTH = 88
MIN_WIDTH = 48
TABLE_WIDTH = 80
MAX_DEPTH = 24  # nesting of lists, quotes and admonitions that the reflow follows (the renderer's limit)
MANIFEST = ".annotator-annotated-source.json"
_RULE = "=" * (WIDTH - len(MARK) - 1)

# -- which analyses can be exported (shared with the CodeTour export) ---------------------------------


def exportable(analyses: Iterable[FileAnalysis], allow_orphans: bool) -> list[FileAnalysis]:
    """The analyses, or a ``C002`` error naming every file that cannot be exported and why: a source
    not pulled, a sidecar that does not load, notes that are orphaned (unless ``allow_orphans``)."""
    analyses = list(analyses)
    for analysis in analyses:
        if analysis.model is None:
            fail(
                "C002",
                f"cannot export {analysis.file.key}: the source is not pulled",
                path=analysis.file.key,
                hint="run `annotator snapshot pull`",
            )
        if analysis.sidecar is None and analysis.sidecar_exists:
            fail(
                "C002",
                f"cannot export {analysis.file.key}: its sidecar does not load, so its notes would be lost",
                path=sidecar_path(analysis.file),
                hint="`annotator check` says why",
            )
    if allow_orphans:
        return analyses
    refused = [(a, [n for n in a.notes if n.state is State.ORPHANED]) for a in analyses]
    refused = [(a, orphans) for a, orphans in refused if orphans]
    if refused:
        parts = []
        for analysis, orphans in refused:
            listed = ", ".join(f"`{n.note_id}` ({n.reason})" if n.reason else f"`{n.note_id}`" for n in orphans)
            parts.append(f"{analysis.file.key} has {len(orphans)} orphaned note(s): {listed}")
        first = refused[0][0]
        fail(
            "C002",
            "refusing to export: " + "; ".join(parts),
            path=sidecar_path(first.file),
            line=refused[0][1][0].note.sidecar_line,
            hint="re-anchor them (`annotator check` lists the closest candidates), or export with allow_orphans",
        )
    return analyses


def analyses_of(project: Project, engine: Engine | None = None) -> list[FileAnalysis]:
    """Every locked file's resolved analysis: the same code path as the pages (``Engine.analyses``)."""
    from ..engine import Engine

    return (engine if engine is not None else Engine(project)).analyses()


# -- plain-text reflow of Markdown --------------------------------------------------------------------

#: Characters that end a line for Python, YAML (NEL, LS, PS) or a terminal; note text must not carry them
#: into a comment, where the rest of the line would become code.
_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_PROTECT = "\ue000"  # a space that must not break a line (inside code spans, math, short links)
_SLOT = "\ue001"  # opens a placeholder for an inline atom
_SLOT_END = "\ue002"  # (and \ue003 marks a table's link footnote)


def clean(text: str) -> str:
    """Note text made safe for a comment line: every line break is ``\\n``; control, bidi and
    private-use-marker characters are shown escaped; tabs become spaces."""
    text = _BREAKS.sub("\n", text).replace("\t", "    ")
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)
    return re.sub("[\ue000-\ue003]", "\ufffd", text)


_FENCE = re.compile(r"^(?P<indent>[ ]*)(?P<fence>`{3,}|~{3,})[ ]*(?P<info>[^`\s]*)[^`]*$")
_HEADING = re.compile(r"^[ ]{0,3}(#{1,6})[ ]+(.*?)[ ]*#*[ ]*$")
_RULE_LINE = re.compile(r"^[ ]{0,3}([-*_])([ ]*\1){2,}[ ]*$")
_ITEM = re.compile(r"^(?P<indent>[ ]*)(?P<marker>[-*+]|\d{1,9}[.)])(?:(?P<space>[ ]+)(?P<text>.*)|$)")
_ADMONITION = re.compile(r'^(?P<indent>[ ]*)(?:!!!|\?\?\?\+?)[ ]+(?P<kind>[\w-]+)(?:[ ]+"(?P<title>[^"]*)")?[ ]*$')
_TABLE_RULE = re.compile(r"^[ ]*\|?[ ]*:?-+:?[ ]*(\|[ ]*:?-+:?[ ]*)*\|?[ ]*$")
_QUOTE = re.compile(r"^[ ]{0,3}>[ ]?")


@dataclass(frozen=True, slots=True)
class _Block:
    kind: str  # para | heading | code | math | table | list | quote | admonition | rule
    text: str = ""
    lines: tuple[str, ...] = ()
    info: str = ""
    items: tuple[tuple[_Block, ...], ...] = ()
    markers: tuple[str, ...] = ()
    loose: bool = False
    children: tuple[_Block, ...] = ()


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _starts_block(line: str) -> bool:
    stripped = line.strip()
    return bool(_FENCE.match(line) or _HEADING.match(line) or _ADMONITION.match(line) or stripped.startswith("$$"))


def _parse(lines: list[str], in_item: bool = False, depth: int = 0) -> list[_Block]:
    """Markdown blocks as Python-Markdown reads them; inside a list item a list marker also ends a
    paragraph (a nested list). Past :data:`MAX_DEPTH` levels of nesting the rest is one paragraph."""
    if depth > MAX_DEPTH:
        return [_Block("para", text=" ".join(line.strip() for line in lines if line.strip()))]
    blocks: list[_Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            indent, mark = len(fence.group("indent")), fence.group("fence")
            body, i = [], i + 1
            while i < len(lines) and not re.match(rf"^[ ]*{re.escape(mark[0])}{{{len(mark)},}}[ ]*$", lines[i]):
                body.append(lines[i][min(indent, _indent_of(lines[i])) :])
                i += 1
            blocks.append(_Block("code", lines=tuple(body), info=fence.group("info").lower()))
            i += 1
            continue
        if line.strip().startswith("$$"):
            body = [line.strip()]
            closed = len(line.strip()) > 2 and line.strip().endswith("$$")
            i += 1
            while not closed and i < len(lines):
                body.append(lines[i].strip())
                closed = lines[i].strip().endswith("$$")
                i += 1
            blocks.append(_Block("math", lines=tuple(body)))
            continue
        admonition = _ADMONITION.match(line)
        if admonition:
            base = len(admonition.group("indent"))
            body, i = [], i + 1
            while i < len(lines) and (not lines[i].strip() or _indent_of(lines[i]) >= base + 4):
                body.append(lines[i][base + 4 :])
                i += 1
            kind = admonition.group("kind").capitalize()
            title = admonition.group("title")
            heading = f"{kind}: {title}" if title else f"{kind}:"
            blocks.append(_Block("admonition", text=heading, children=tuple(_parse(body, depth=depth + 1))))
            continue
        heading_match = _HEADING.match(line)
        if heading_match:
            blocks.append(_Block("heading", text=heading_match.group(2)))
            i += 1
            continue
        if _RULE_LINE.match(line):
            blocks.append(_Block("rule"))
            i += 1
            continue
        if "|" in line and i + 1 < len(lines) and "-" in lines[i + 1] and _TABLE_RULE.match(lines[i + 1]):
            rows = [line]
            i += 2
            while i < len(lines) and lines[i].strip() and "|" in lines[i]:
                rows.append(lines[i])
                i += 1
            blocks.append(_Block("table", lines=tuple(rows)))
            continue
        if _QUOTE.match(line):
            body = []
            while i < len(lines) and lines[i].strip() and (_QUOTE.match(lines[i]) or not _starts_block(lines[i])):
                body.append(_QUOTE.sub("", lines[i], count=1))
                i += 1
            blocks.append(_Block("quote", children=tuple(_parse(body, depth=depth + 1))))
            continue
        item = _ITEM.match(line)
        if item and not (item.group("marker")[0].isdigit() and item.group("text") is None):
            block, i = _parse_list(lines, i, depth)
            blocks.append(block)
            continue
        body = [line.strip()]
        i += 1
        while i < len(lines) and lines[i].strip() and not _starts_block(lines[i]) and not (in_item and _ITEM.match(lines[i])):
            body.append(lines[i].strip())
            i += 1
        blocks.append(_Block("para", text=" ".join(body)))
    return blocks


def _parse_list(lines: list[str], i: int, depth: int) -> tuple[_Block, int]:
    first = _ITEM.match(lines[i])
    assert first is not None
    base = len(first.group("indent"))
    ordered = first.group("marker")[0].isdigit()
    items: list[tuple[_Block, ...]] = []
    markers: list[str] = []
    loose = False
    number = int(first.group("marker")[:-1]) if ordered else 0
    while i < len(lines):
        item = _ITEM.match(lines[i])
        if not item or len(item.group("indent")) != base or item.group("marker")[0].isdigit() != ordered:
            break
        space = len(item.group("space") or " ")
        content = base + len(item.group("marker")) + (space if space <= 4 else 1)
        body = [item.group("text") or ""]
        i += 1
        while i < len(lines):
            line = lines[i]
            if not line.strip():
                body.append("")
                i += 1
                continue
            if _indent_of(line) > base:
                body.append(line[min(content, _indent_of(line)) :])
                i += 1
                continue
            if body[-1].strip() and not _ITEM.match(line) and not _starts_block(line):  # a lazy continuation
                body.append(line.strip())
                i += 1
                continue
            break
        while body and not body[-1].strip():
            body.pop()
            sibling = _ITEM.match(lines[i]) if i < len(lines) else None
            if sibling and len(sibling.group("indent")) == base and sibling.group("marker")[0].isdigit() == ordered:
                loose = True
        items.append(tuple(_parse(body, in_item=True, depth=depth + 1)))
        markers.append(f"{number}." if ordered else "-")
        number += 1
    return _Block("list", items=tuple(items), markers=tuple(markers), loose=loose), i


# inline Markdown --------------------------------------------------------------------------------------
_SPAN = 1000  # the longest inline construct looked for: bounds every pattern's work to linear in the text


def _bounded(pattern: str) -> re.Pattern[str]:
    """``pattern`` with ``SPAN`` standing for :data:`_SPAN` (the repeat bound of its lazy parts)."""
    return re.compile(pattern.replace("SPAN", str(_SPAN)), re.S)


_CODE_SPAN = _bounded(r"(?<!`)(`+)(?!`)(.{1,SPAN}?)(?<!`)\1(?!`)")
_MATH_INLINE = _bounded(r"(?<![\\$])\$(?=[^\s$])(.{1,SPAN}?)(?<=[^\s\\])\$(?!\d)|\\\((.{1,SPAN}?)\\\)")
_LINK = _bounded(r"(!?)\[((?:[^\[\]]|\[[^\[\]]{0,SPAN}\]){0,SPAN})\]\(\s*<?([^)\s>]{0,SPAN})>?(?:\s+\"[^\"]{0,SPAN}\")?\s*\)")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^\s<>]+)>")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_EMPHASIS = (
    _bounded(r"(?<![\w*\\])\*\*(?=[^\s*])(.{1,SPAN}?)(?<=[^\s*\\])\*\*(?![\w*])"),
    _bounded(r"(?<![\w_\\])__(?=[^\s_])(.{1,SPAN}?)(?<=[^\s_\\])__(?![\w_])"),
    _bounded(r"(?<![\w*\\])\*(?=[^\s*])(.{1,SPAN}?)(?<=[^\s*\\])\*(?![\w*])"),
    _bounded(r"(?<![\w_\\])_(?=[^\s_])(.{1,SPAN}?)(?<=[^\s_\\])_(?![\w_])"),
    _bounded(r"(?<![~\\])~~(?=\S)(.{1,SPAN}?)(?<=\S)~~"),
)
_KEEP_WHOLE = 40  # code spans and math up to this length never break across lines


def _slots(text: str, atoms: list[str]) -> str:
    return re.sub(f"{_SLOT}(\\d+){_SLOT_END}", lambda m: _slots(atoms[int(m.group(1))], atoms), text)


def inline(text: str, link: Callable[[str], str]) -> str:
    """One paragraph's inline Markdown as plain text: code spans and TeX as written, links as
    ``[text](url)`` (``url`` through ``link``), emphasis markers and backslash escapes dropped.
    Spaces that should not break a line (short code spans and math) are :data:`_PROTECT`."""
    atoms: list[str] = []

    def keep(value: str) -> str:
        atoms.append(value)
        return f"{_SLOT}{len(atoms) - 1}{_SLOT_END}"

    def protect(value: str) -> str:
        value = " ".join(value.split())
        return keep(value.replace(" ", _PROTECT) if len(value) <= _KEEP_WHOLE else value)

    text = _CODE_SPAN.sub(lambda m: protect(m.group(1) + m.group(2) + m.group(1)), text)
    text = _MATH_INLINE.sub(lambda m: protect(m.group(0)), text)

    def linked(m: re.Match[str]) -> str:
        label = _plain(m.group(2))
        target = link(m.group(3))
        if m.group(1):
            label = f"image: {label}" if label else "image"
        if not target:
            return label
        return f"[{label}]({keep(target)})" if label and label != target else keep(target)

    text = _LINK.sub(linked, text)
    text = _AUTOLINK.sub(lambda m: keep(m.group(1)), text)
    text = _plain(text)
    return _slots(text, atoms)


def _plain(text: str) -> str:
    for pattern in _EMPHASIS:
        previous = None
        while previous != text:
            previous, text = text, pattern.sub(r"\1", text)
    return _ESCAPE.sub(r"\1", text)


def _wrap(text: str, width: int) -> list[str]:
    lines = textwrap.wrap(" ".join(text.split(" ")), width=max(width, 20), break_long_words=False, break_on_hyphens=False) or [""]
    return [line.replace(_PROTECT, " ") for line in lines]


def _render(blocks: list[_Block] | tuple[_Block, ...], width: int, link: Callable[[str], str], tight: bool = False) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if out and not tight:
            out.append("")
        out.extend(_render_block(block, width, link))
    return out


def _render_block(block: _Block, width: int, link: Callable[[str], str]) -> list[str]:
    kind = block.kind
    if kind == "para":
        return _wrap(inline(block.text, link), width)
    if kind == "heading":
        text = inline(block.text, link).replace(_PROTECT, " ")
        return [text, "-" * min(len(text), width)]
    if kind == "rule":
        return ["-" * 8]
    if kind == "code":
        body = [("    " + line).rstrip() for line in block.lines]
        if block.info == "mermaid":
            return ["Mermaid diagram:", *body]
        return body or ["    "]
    if kind == "math":
        return ["    " + line if line else "" for line in block.lines]
    if kind == "table":
        return _table(block.lines, TABLE_WIDTH, link)  # one width everywhere: a table reads the same at any depth
    if kind == "quote":
        return [f"> {line}".rstrip() for line in _render(block.children, width - 2, link)]
    if kind == "admonition":
        return [
            *_wrap(inline(block.text, link), width),
            *[f"  {line}".rstrip() for line in _render(block.children, width - 2, link)],
        ]
    if kind == "list":
        out: list[str] = []
        hang = max(len(m) for m in block.markers) + 1
        for marker, item in zip(block.markers, block.items, strict=True):
            if out and block.loose:
                out.append("")
            lines = _render(item, width - hang, link, tight=not block.loose) or [""]
            out.append(f"{marker:<{hang}}{lines[0]}".rstrip())
            out.extend((" " * hang + line).rstrip() for line in lines[1:])
        return out
    raise AssertionError(kind)


def _table(rows: tuple[str, ...], width: int, link: Callable[[str], str]) -> list[str]:
    """A Markdown table as aligned plain text. Links in cells become ``text [n]`` with the targets
    listed under the table; a table wider than ``width`` wraps its widest columns' cells."""
    targets: list[str] = []

    def footnote(target: str) -> str:
        target = link(target)
        if target and target not in targets:
            targets.append(target)
        return f"\ue003{targets.index(target) + 1}" if target else ""

    def cells(row: str) -> list[str]:
        row = row.strip()
        row = row[1:] if row.startswith("|") else row
        row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
        parts = re.split(r"(?<!\\)\|", row)
        out = []
        for part in parts:
            text = inline(part.strip().replace("\\|", "|"), footnote)
            text = re.sub(r"\[([^\]]*)\]\(\ue003(\d+)\)", r"\1 [\2]", text)
            out.append(re.sub(r"\ue003(\d+)", r"[\1]", text))
        return out

    table = [cells(row) for row in rows]
    columns = max(len(row) for row in table)
    table = [row + [""] * (columns - len(row)) for row in table]
    natural = [max(len(row[c]) for row in table) for c in range(columns)]
    available = width - 3 * (columns - 1)
    widths = list(natural)
    if sum(natural) > available:  # give every column its fair share, the narrow ones first
        remaining, left = available, columns
        for c in sorted(range(columns), key=lambda c: natural[c]):
            widths[c] = max(min(natural[c], remaining // left), 8)
            remaining -= widths[c]
            left -= 1
    wrapped = [[_wrap(cell, widths[c]) if cell else [""] for c, cell in enumerate(row)] for row in table]
    widths = [max(len(line) for row in wrapped for line in row[c]) for c in range(columns)]
    rule = "-+-".join("-" * w for w in widths)
    multiline = any(len(cell) > 1 for row in wrapped for cell in row)
    out: list[str] = []
    for number, row in enumerate(wrapped):
        if number == 1 or (number > 1 and multiline):
            out.append(rule)
        for depth in range(max(len(cell) for cell in row)):
            parts = [(cell[depth] if depth < len(cell) else "").ljust(w) for cell, w in zip(row, widths, strict=True)]
            out.append(" | ".join(parts).replace(_PROTECT, " ").rstrip())
    if targets:
        out.append("")
        out.extend(f"[{number}] {target}" for number, target in enumerate(targets, start=1))
    return out


def reflow(markdown: str, width: int = WIDTH, link: Callable[[str], str] | None = None) -> list[str]:
    """A note's Markdown as plain-text lines no wider than ``width`` where words allow (code blocks,
    tables and long URLs may be wider). ``link`` maps each link target (default: unchanged)."""
    lines = clean(markdown).split("\n")
    return _render(_parse(lines), width, link or (lambda target: target))


# -- links ----------------------------------------------------------------------------------------------
_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def locked_file(lock: Lock, path: str) -> LockedFile | None:
    """The locked file (with a page) a reference names: by key, or by upstream path when unique."""
    keyed = lock.file(path)
    if keyed is not None and keyed.page:
        return keyed
    matches = [f for f in lock.files if f.path == path]
    return matches[0] if len(matches) == 1 else None


def site_link(target: str, lock: Lock, file: LockedFile, site_url: str) -> str:
    """Where a link of a note points from a plain-text export: with ``site_url``, site pages
    (``site:glossary.md#x``), references to locked files (``src/open_r1/rewards.py#get_reward_funcs``)
    and in-page fragments (``#note-x``) become absolute URLs; without it, references stay
    ``path#symbol`` (an in-page fragment gains this file's key)."""
    base = site_url.rstrip("/") + "/" if site_url else ""
    if target.startswith("site:"):
        return base + url_of(target[5:]) if base else target
    if target.startswith("#"):
        return base + url_of(page_uri(file, target[1:])) if base else f"{file.key}{target}"
    if _REMOTE.match(target) or target.startswith("/"):
        return target
    path, _, fragment = target.partition("#")
    found = locked_file(lock, path)
    if found is None:
        return target
    return base + url_of(page_uri(found, fragment)) if base else target


# -- where a comment can go -------------------------------------------------------------------------------
_COOKIE = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")
_SHELL_SUFFIXES = (".sh", ".bash", ".zsh", ".ksh", ".slurm", ".sbatch", ".pbs")
_SHELL_SHEBANG = re.compile(r"^#!.*\b(ba|z|k|da)?sh\b")
YAML_ONLY_BREAKS = {0x85: " ", 0x2028: " ", 0x2029: " "}  # as the YAML extractor: keep line numbers aligned
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def first_free_line(model: SourceModel) -> int:
    """The first line a comment may go above: after a shebang and a Python encoding declaration."""
    lines, first = model.lines, 1
    if lines and lines[0].startswith("#!"):
        first = 2
    if model.language is Language.PYTHON:
        for index in (0, 1):
            if index < len(lines) and _COOKIE.match(lines[index]) and index + 1 >= first:
                first = index + 2
    return first


def boundaries(model: SourceModel) -> list[bool]:
    """``safe[k]``: whether a comment line may go between line ``k`` and line ``k + 1`` (``k = 0``:
    before the first line) without changing what the file means."""
    n = len(model.lines)
    if model.language is Language.PYTHON:
        return _python_boundaries(model)
    if model.language is Language.YAML:
        return _yaml_boundaries(model.lines)
    if model.path.lower().endswith(_SHELL_SUFFIXES) or (n and _SHELL_SHEBANG.match(model.lines[0])):
        return _shell_boundaries(model.lines)
    return _continuation_boundaries(model.lines)


def _python_boundaries(model: SourceModel) -> list[bool]:
    """Safe after every line that ends a logical line (the extractor's tokenizer pass knows which
    lines continue into the next: open brackets, multi-line strings, line continuations)."""
    safe = [True] * (len(model.lines) + 1)
    for first, last in model.logical_lines:
        for line in range(first, min(last, len(model.lines) + 1)):
            safe[line] = False
    return safe


def _yaml_boundaries(lines: tuple[str, ...]) -> list[bool]:
    n = len(lines)
    safe = [True] * (n + 1)
    text = ("\n".join(lines) + "\n").translate(YAML_ONLY_BREAKS)
    try:
        documents = list(yaml.compose_all(text, Loader=_YamlLoader))
    except (yaml.YAMLError, RecursionError):
        return [True] + [False] * n
    stack: list[yaml.Node] = [d for d in documents if d is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            stack.extend(part for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        interior = isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False)
        if interior:
            first = node.start_mark.line  # 0-based
            last = node.end_mark.line if node.end_mark.column > 0 else node.end_mark.line - 1
            for k in range(first + 1, min(last, n - 1) + 1):  # the boundaries after 1-based lines first+1 .. last
                safe[k] = False
    return safe


def _continuation_boundaries(lines: tuple[str, ...]) -> list[bool]:
    safe = [True] * (len(lines) + 1)
    for number, line in enumerate(lines, start=1):
        if line.endswith("\\"):
            safe[number] = False
    return safe


_HEREDOC = re.compile(r"<<(-?)[ \t]*(?:'([^']*)'|\"([^\"]*)\"|\\?([A-Za-z_][A-Za-z0-9_]*))")


def _shell_boundaries(lines: tuple[str, ...]) -> list[bool]:
    """A small shell lexer: a boundary is safe outside quotes, ``$(...)``, ``${...}``, backquotes,
    parentheses and here-documents, and not after a line that ends with a backslash."""
    safe = [False] * (len(lines) + 1)
    safe[0] = True
    stack: list[str] = []  # "'", '"', "`", "$(", "(", "${"
    heredocs: list[tuple[str, bool]] = []  # pending: (delimiter, strip tabs)
    current: tuple[str, bool] | None = None
    for number, line in enumerate(lines, start=1):
        if current is not None:
            if (line.lstrip("\t") if current[1] else line) == current[0]:
                current = heredocs.pop(0) if heredocs else None
            safe[number] = current is None and not stack
            continue
        continued = False
        i = 0
        while i < len(line):
            char = line[i]
            top = stack[-1] if stack else ""
            if top == "'":
                if char == "'":
                    stack.pop()
                i += 1
                continue
            if char == "\\":
                if i == len(line) - 1:
                    continued = True
                i += 2
                continue
            if top == '"':
                if char == '"':
                    stack.pop()
                elif line.startswith("$(", i) or line.startswith("${", i):
                    stack.append(line[i : i + 2])
                    i += 1
                elif char == "`":
                    stack.append("`")
                i += 1
                continue
            if top == "`":
                if char == "`":
                    stack.pop()
                i += 1
                continue
            # code: the top level, $( ), ( ) or ${ }
            if char == "#" and (i == 0 or line[i - 1] in " \t;&|()") and top != "${":
                break  # a comment: the rest of the line
            if char in "'\"`":
                stack.append(char)
            elif line.startswith("$(", i) or line.startswith("${", i):
                stack.append(line[i : i + 2])
                i += 1
            elif char == "(":
                stack.append("(")
            elif (char == ")" and top in ("$(", "(")) or (char == "}" and top == "${"):
                stack.pop()
            elif line.startswith("<<<", i):  # a here-string: one word, no body
                i += 3
                continue
            elif line.startswith("<<", i):
                match = _HEREDOC.match(line, i)
                if match:
                    delimiter = next(g for g in match.groups()[1:] if g is not None)
                    heredocs.append((delimiter, match.group(1) == "-"))
                    i = match.end()
                    continue
            i += 1
        if heredocs and current is None:
            current = heredocs.pop(0)
        safe[number] = not continued and not stack and current is None
    return safe


def insertion_line(start: int, safe: list[bool], first_free: int, decorated: list[tuple[int, int]]) -> int:
    """The line a note anchored at ``start`` goes above: the start of the statement holding it."""
    line = max(start, first_free)
    for first, definition in decorated:
        if first < line <= definition:
            line = first
    while line > first_free and not safe[line - 1]:
        line -= 1
    return line


def _indentation(lines: tuple[str, ...], line: int, language: Language) -> str:
    """The indentation of the statement a comment goes above: its first line that is code (not blank,
    not a comment), else the first non-blank line. Spaces (and tabs outside YAML) only."""
    first = code = None
    for text in lines[line - 1 :]:
        if text.strip():
            first = first if first is not None else text
            if not text.lstrip().startswith("#"):
                code = text
                break
    code = code if code is not None else first or ""
    allowed = " " if language is Language.YAML else " \t"
    return code[: len(code) - len(code.lstrip(allowed))]


# -- the comment blocks -------------------------------------------------------------------------------------


def _comment(lines: Iterable[str], indent: str = "") -> list[str]:
    """Comment lines, one per line of ``lines``: whatever a line holds, no line break reaches the output
    uncommented (the last guard against note text that would turn into code)."""
    out = []
    for line in lines:
        for part in clean(line).split("\n"):
            out.append(f"{indent}{MARK} {part}".rstrip() if part.strip() else f"{indent}{MARK}")
    return out


def anchor_label(resolved: ResolvedNote) -> str:
    """What a note is anchored to, in words: ``main > Load tokenizer``, ``main, `for step in ...```."""
    note = resolved.note
    parts = []
    symbol = resolved.symbol or note.symbol
    if symbol:
        parts.append(symbol)
    if note.section:
        parts[-1:] = [f"{parts[-1]} > {note.section}"] if parts else [note.section]
    if note.quote:
        quote = note.quote if len(note.quote) <= 60 else note.quote[:57] + "..."
        parts.append(f"`{quote}`")
    if not parts and note.line_hint is not None:
        parts.append(f"line {note.line_hint}")
    return " ".join(clean(", ".join(parts)).split())


def _fields(resolved: ResolvedNote) -> list[tuple[str, str]]:
    note = resolved.note
    return [
        (label, text)
        for label, text in (("What", note.what), ("Why", note.why), ("How", note.how), ("", note.body))
        if text.strip()
    ]


def _labelled(label: str, text: str, width: int, link: Callable[[str], str]) -> list[str]:
    """A field's text with its label leading the first paragraph (or on a line of its own)."""
    if not label:
        return reflow(text, width, link)
    first = clean(text).lstrip("\n").split("\n", 1)[0]
    if first.strip() and not (_starts_block(first) or _ITEM.match(first) or _QUOTE.match(first) or "|" in first):
        return reflow(f"{label}: {text.lstrip()}", width, link)
    return [f"{label}:", *reflow(text, width, link)]


def note_lines(resolved: ResolvedNote, width: int, link: Callable[[str], str], placed: bool = True) -> list[str]:
    note = resolved.note
    title = " ".join(clean(note.title).split()) or anchor_label(resolved) or "File-level note"
    head = f"---- {title} "
    lines = [head + "-" * max(4, width - len(head))]
    where = []
    if not resolved.is_file_level:
        label = anchor_label(resolved)
        if placed and resolved.span is not None:
            span = resolved.span
            lines_text = f"line {span.start}" if span.length == 1 else f"lines {span.start}-{span.end}"
            where.append(f"on {label}, upstream {lines_text}" if label and label != title else f"upstream {lines_text}")
        elif label:
            where.append(f"anchored to {label}")
    where.append(f"(note-{clean(resolved.note_id)})")
    lines.extend(textwrap.wrap(" ".join(where), width, break_long_words=False, break_on_hyphens=False))
    if resolved.state is State.CHANGED:
        lines.extend(
            textwrap.wrap(
                f"NEEDS REVIEW: the code changed since the note was pinned ({clean(resolved.reason)})",
                width,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    elif not placed and resolved.reason:
        lines.extend(
            textwrap.wrap(f"Why it is here: {clean(resolved.reason)}", width, break_long_words=False, break_on_hyphens=False)
        )
    for label, text in _fields(resolved):
        lines.append("")
        lines.extend(_labelled(label, text, width, link))
    return lines


def _section(title: str, body: list[str]) -> list[str]:
    return ["", title.upper(), "-" * len(title), *body] if body else []


def _list(items: Iterable[str], width: int, link: Callable[[str], str], numbered: bool) -> list[str]:
    out: list[str] = []
    items = [i for i in items if i.strip()]
    hang = len(f"{len(items)}.") + 1 if numbered else 2
    for number, item in enumerate(items, start=1):
        lines = reflow(item, width - hang, link) or [""]
        marker = f"{number}." if numbered else "-"
        out.append(f"{marker:<{hang}}{lines[0]}".rstrip())
        out.extend((" " * hang + line).rstrip() for line in lines[1:])
    return out


def header_lines(
    analysis: FileAnalysis, lock: Lock, unplaced: list[ResolvedNote], width: int, link: Callable[[str], str]
) -> list[str]:
    """The top block: fixed first lines (no contributor text can land where Python reads an encoding
    declaration), the title and where the code comes from, unplaced notes, then the file sections."""
    file, sidecar = analysis.file, analysis.sidecar
    source = lock.source_of(file)
    lines = [_RULE, 'Annotated by annotator. The upstream code is unchanged; the lines starting "#|" are notes.']
    title = " ".join(clean(sidecar.title if sidecar and sidecar.title else file.title or file.key).split())
    lines += [""]
    if title != file.key:
        lines += textwrap.wrap(title, width, break_long_words=False, break_on_hyphens=False)
    origin = f"{file.path} in {source.repository}" if source.repository else f"{file.path}, from the local source {source.name}"
    if source.commit:
        origin += f" at {source.commit}" + (f" ({source.ref})" if source.ref else "")
    lines += textwrap.wrap(origin, width, break_long_words=False, break_on_hyphens=False)
    notes = f"Notes: {sidecar_path(file)}" + (f", priority {sidecar.priority.value}" if sidecar else " (none yet)")
    lines += textwrap.wrap(notes, width, break_long_words=False, break_on_hyphens=False)
    orphaned = [n for n in unplaced if n.state is State.ORPHANED]
    elsewhere = [n for n in unplaced if n.state is not State.ORPHANED]
    if orphaned:
        lines += [
            "",
            "!" * width,
            *textwrap.wrap(
                f"!!! ORPHANED NOTES ({len(orphaned)}): their code was not found in this version of the "
                "file, so they are shown here, unplaced. Re-anchor them (`annotator check` lists the "
                "closest candidates).",
                width,
                break_long_words=False,
                break_on_hyphens=False,
            ),
            "!" * width,
        ]
        for note in orphaned:
            lines += ["", *note_lines(note, width, link, placed=False)]
        lines += ["", "!" * width]
    if elsewhere:
        lines += [
            "",
            *textwrap.wrap(
                f"NOT PLACED ({len(elsewhere)}): notes whose code is not in this file, or that "
                "could not be placed without changing the code.",
                width,
                break_long_words=False,
                break_on_hyphens=False,
            ),
        ]
        for note in elsewhere:
            lines += ["", *note_lines(note, width, link, placed=False)]
    if sidecar is not None:
        lines += _sidecar_sections(sidecar, width, link)
    file_level = [n for n in analysis.notes if n.is_file_level]
    if file_level:
        lines += _section("File-level notes", [line for n in file_level for line in ["", *note_lines(n, width, link)]][1:])
    lines += ["", _RULE]
    return lines


def _sidecar_sections(sidecar: Sidecar, width: int, link: Callable[[str], str]) -> list[str]:
    flow: list[str] = []
    for label, text in (
        ("Origin", sidecar.data_flow.origin),
        ("Processing", sidecar.data_flow.processing),
        ("Destination", sidecar.data_flow.destination),
    ):
        if text.strip():
            flow += ([""] if flow else []) + _labelled(label, text, width, link)
    return [
        *_section("Overview", reflow(sidecar.overview, width, link) if sidecar.overview.strip() else []),
        *_section("Role in the pipeline", reflow(sidecar.role, width, link) if sidecar.role.strip() else []),
        *_section("Key innovations", _list(sidecar.key_innovations, width, link, numbered=False)),
        *_section("Data flow", flow),
        *_section("Key takeaways", _list(sidecar.takeaways, width, link, numbered=True)),
    ]


# -- the export of one file -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnnotatedSource:
    text: str
    placed: int  # notes written above their code
    unplaced: int  # notes in the top block (orphaned, moved to another file, or not placeable)
    file_level: int


def annotate_file(analysis: FileAnalysis, lock: Lock, site_url: str = "") -> AnnotatedSource:
    """One file's annotated source (deterministic: the same analysis gives the same bytes)."""
    model = analysis.model
    if model is None:
        fail(
            "C002",
            f"cannot export {analysis.file.key}: the source is not pulled",
            path=analysis.file.key,
            hint="run `annotator snapshot pull`",
        )
    link = lambda target: site_link(target, lock, analysis.file, site_url)  # noqa: E731
    lines = model.lines
    first = first_free_line(model)
    safe = boundaries(model)
    decorated = list(model.decorated)
    anchored = [n for n in analysis.notes if not n.is_file_level]
    placeable = [n for n in anchored if n.span is not None and n.state is not State.ORPHANED and n.moved_to is None]
    chosen = {id(n) for n in placeable}  # by identity: comparing notes field by field costs O(n²)
    unplaced = [n for n in anchored if id(n) not in chosen]
    if not model.parsed:  # no trustworthy statement boundaries: everything at the top
        unplaced, placeable = anchored, []
    placeable.sort(key=lambda n: (n.span.start, n.note.index))  # type: ignore[union-attr]
    groups: dict[int, list[ResolvedNote]] = {}
    for note in placeable:
        assert note.span is not None
        groups.setdefault(insertion_line(note.span.start, safe, first, decorated), []).append(note)

    def assemble(groups: dict[int, list[ResolvedNote]], unplaced: list[ResolvedNote]) -> str:
        header = _comment(header_lines(analysis, lock, unplaced, WIDTH - len(MARK) - 1, link))
        blocks = {}
        for at, notes in groups.items():
            indent = _indentation(lines, at, model.language)
            width = max(MIN_WIDTH, WIDTH - len(indent.expandtabs()) - len(MARK) - 1)
            blocks[at] = [c for note in notes for c in _comment(note_lines(note, width, link), indent)]
        out: list[str] = []
        for number, line in enumerate(lines, start=1):
            if number == first:
                out.extend(header)
            out.extend(blocks.get(number, ()))
            out.append(line)
        if first > len(lines):
            out.extend(header)
        out.extend(blocks.get(len(lines) + 1, ()))
        return "\n".join(out) + "\n"

    text = assemble(groups, unplaced)
    if not equivalent(model, text):  # a placement rule missed a case: move the notes that break the code
        kept: dict[int, list[ResolvedNote]] = {}
        for line, notes in sorted(groups.items()):
            if equivalent(model, assemble({**kept, line: notes}, unplaced)):
                kept[line] = notes
            else:
                unplaced = unplaced + [_unplaceable(n) for n in notes]
        groups = kept
        text = assemble(groups, unplaced)
        if not equivalent(model, text):
            groups, unplaced = {}, anchored
            text = assemble(groups, [_unplaceable(n) if n.state is not State.ORPHANED else n for n in anchored])
    placed = sum(len(notes) for notes in groups.values())
    return AnnotatedSource(text, placed, len(anchored) - placed, len(analysis.notes) - len(anchored))


def _unplaceable(note: ResolvedNote) -> ResolvedNote:
    reason = "a comment above its code would change what the code means"
    return dataclasses.replace(note, reason=reason)


def equivalent(model: SourceModel, text: str) -> bool:
    """Whether ``text`` means what the upstream file means: the same compiled Python code (line
    numbers aside), the same YAML data, the same lines once the added ones are removed. A source
    that does not parse compares by its lines."""
    upstream = "\n".join(model.lines) + "\n"
    if model.language is Language.PYTHON and model.parsed:
        try:
            return _bytecode(text) == _upstream_bytecode(upstream)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    if model.language is Language.YAML and model.parsed:
        try:
            return repr(list(yaml.load_all(text, Loader=_YamlLoader))) == repr(list(yaml.load_all(upstream, Loader=_YamlLoader)))
        except (yaml.YAMLError, RecursionError):
            return False
    return strip_annotations(text) == upstream


def _bytecode(text: str) -> tuple[object, ...]:
    """What a Python file does, without where: its compiled code, line numbers left out. The compiler
    is the judge (not the tokenizer the placement rules came from), and it is faster than dumping trees."""
    with warnings.catch_warnings():  # the compiler's warnings about upstream code are not ours to print
        warnings.simplefilter("ignore")
        return _code_shape(compile(text, "<annotated source>", "exec", dont_inherit=True, optimize=0))


@functools.lru_cache(maxsize=4)
def _upstream_bytecode(upstream: str) -> tuple[object, ...]:
    """The upstream half of the comparison, once per file (a placement retry compares again)."""
    return _bytecode(upstream)


def _code_shape(code: types.CodeType) -> tuple[object, ...]:
    consts = tuple(_code_shape(c) if isinstance(c, types.CodeType) else (type(c), c) for c in code.co_consts)
    return (
        code.co_code,
        consts,
        code.co_names,
        code.co_varnames,
        code.co_freevars,
        code.co_cellvars,
        code.co_qualname,
        code.co_flags,
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_exceptiontable,
    )


def strip_annotations(text: str) -> str:
    """An export without the lines it added (every line whose first non-blank characters are ``#|``)."""
    kept = [line for line in text.split("\n") if not line.lstrip().startswith(MARK)]
    return "\n".join(kept)


# -- the command's entry point ----------------------------------------------------------------------------------


def write_outputs(out_dir: Path, project_root: Path, wanted: dict[str, bytes], manifest: str, written_by: str) -> list[Path]:
    """Write ``wanted`` (relative path -> bytes) under ``out_dir`` atomically, refusing (``O001``) to
    replace a file this export did not write before (its manifest lists those), and removing the
    files it wrote before that are no longer wanted. Returns every wanted path, in order."""
    out_dir = writable_dir(out_dir if out_dir.is_absolute() else Path.cwd() / out_dir, project_root, what="export folder")
    targets = {relative: safe_join(out_dir, relative, what="export path", code="P004") for relative in wanted}
    previous = _manifest(out_dir / manifest)
    for relative, target in targets.items():
        if target.exists() and relative not in previous and target.read_bytes() != wanted[relative]:
            fail(
                "O001",
                f"{target} exists and was not written by {written_by}; refusing to overwrite it",
                hint="move it, or export into another folder",
            )
    for relative in sorted(wanted):
        write_atomic(targets[relative], wanted[relative])
    for relative in sorted(previous - set(wanted)):
        try:
            stale = safe_join(out_dir, relative, what="export path", code="P004")
        except Exception:  # a manifest entry that leaves the folder is ignored, never followed
            continue
        if stale.is_file() and not stale.is_symlink():
            stale.unlink()
    write_atomic(out_dir / manifest, (json.dumps({"written_by": written_by, "files": sorted(wanted)}, indent=1) + "\n").encode())
    return [targets[relative] for relative in wanted]


def _manifest(path: Path) -> set[str]:
    try:
        files = json.loads(path.read_text("utf-8")).get("files", [])
        return {f for f in files if isinstance(f, str) and ".." not in f.split("/") and not f.startswith("/")}
    except (OSError, ValueError, AttributeError):
        return set()


def export_annotated_source(
    project: Project, out_dir: Path, allow_orphans: bool = False, site_url: str = "", *, engine: Engine | None = None
) -> list[Path]:
    """Write every locked file's annotated source to ``<out_dir>/<key>``; returns the paths written
    (in lock order). Refuses (``C002``) when a file is not pulled, a sidecar does not load, or notes
    are orphaned and ``allow_orphans`` is not set; nothing is written then."""
    analyses = exportable(analyses_of(project, engine), allow_orphans)
    wanted = {a.file.key: annotate_file(a, project.lock, site_url).text.encode("utf-8") for a in analyses}
    return write_outputs(out_dir, project.root, wanted, MANIFEST, "annotator export (annotated source)")
