"""Python source -> :class:`~annotator_docs.model.SourceModel`.

Structure and positions come from :mod:`ast`. What ``ast`` drops, the comments attached to each
statement (the leading comments of a symbol, the banner comments framing the steps of a long
function) and signatures as written, is read from the source lines between statements, under
libcst's rules for which comment belongs to which statement (a comment indented like the end of
the previous block is that block's footer, not the next statement's). libcst stays the parser of
record: a file the line reader cannot decide (a form feed, a line join next to the lines between
statements) is extracted with libcst, and the tests check that both readers agree on the
standard library and on generated sources. Reading lines instead of building a concrete syntax
tree makes a cold extraction about six times faster (see ``benchmarks/extract.py``).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from ..findings import Finding
from ..models import Banner, Import, Language, SourceModel, Span, Symbol, SymbolKind
from .modules import module_name_for
from .tokens import parse_python, python_layout, syntax_digest

_RULE = re.compile(r"^#[#=\-*~ ]*$")
_UPPER_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_SIGNATURE_LIMIT = 300
_OPENING = re.compile(r"^((?:async\s+)?def\s+\w+)\s*\(\s*")
_BLANK = " \t\f"

Leading = tuple["str | None", ...]  # the lines directly above a statement: comment text, or None when blank


def extract_python(path: str, lines: tuple[str, ...], sha256: str = "", reader: str = "lines") -> SourceModel:
    """Extract symbols, imports and banners; a file that does not parse yields its lines and a finding.

    ``reader`` is ``"lines"`` (the default; falls back to libcst for a file it cannot decide) or
    ``"libcst"`` (always the concrete syntax tree; the reference the tests compare against).
    """
    text = "\n".join(lines) + "\n"
    try:
        tree = parse_python(text)
    except SyntaxError as exc:
        return _unparsed(path, lines, sha256, exc.lineno or 1, (exc.offset or 1), exc.msg)
    except (RecursionError, MemoryError, ValueError) as exc:
        return _unparsed(path, lines, sha256, 1, 1, f"source too deeply nested or malformed ({exc.__class__.__name__})")

    collector = None
    if reader == "lines" and "\f" not in text:  # a form feed resets the tokenizer's columns: libcst decides
        collector = _collect(path, lines, tree, _LineTrivia(lines))
    if collector is None:
        try:
            collector = _collect(path, lines, tree, _CstTrivia.parse(text))
        except _CstSyntaxError as exc:
            return _unparsed(path, lines, sha256, exc.line, exc.column, exc.message)
        except (RecursionError, MemoryError, ValueError) as exc:
            return _unparsed(path, lines, sha256, 1, 1, f"source too deeply nested or malformed ({exc.__class__.__name__})")
        if collector is None:  # never expected; keep the page (every line) rather than fail the build
            return _unparsed(path, lines, sha256, 1, 1, "internal: could not align the syntax trees")
    is_package = path.endswith("__init__.py")
    layout = python_layout(text, len(lines))
    return SourceModel(
        path=path,
        language=Language.PYTHON,
        lines=lines,
        symbols=tuple(sorted(collector.symbols, key=lambda s: (s.span.start, s.span.end, s.qualname))),
        imports=tuple(_imports(tree, module_name_for(path), is_package)),
        banners=tuple(collector.banners),
        exports=tuple(_exports(tree, module_name_for(path))) if is_package else (),
        tokens=layout.tokens,
        statements=_long_statements(tree),
        logical_lines=layout.logical_lines,
        decorated=layout.decorated,
        sha256=sha256,
    )


def _unparsed(path: str, lines: tuple[str, ...], sha256: str, line: int, column: int, message: str) -> SourceModel:
    finding = Finding(
        "E101",
        f"source does not parse at line {max(1, line)}: {message}",
        path,
        max(1, line),
        max(1, column),
        hint="the page shows the lines as text; its notes cannot anchor until the file parses",
    )
    return SourceModel(path=path, language=Language.PYTHON, lines=lines, findings=(finding,), sha256=sha256)


class _Undecided(Exception):
    """The reader cannot tell which statement a line belongs to; another reader must decide."""


class TriviaReader(Protocol):
    """What the collector needs beside ``ast``: the comments above each statement and text as written.

    Two readers implement it: the line reader (fast, the default) and the libcst reader (the parser
    of record: it decides what the line reader cannot, and it is the tests' oracle). ``ref`` is the
    reader's own handle on a statement (None for the line reader, the CST node for libcst).
    """

    root: Any  # the module's block

    def pair(self, block: Any, body: Sequence[ast.stmt]) -> Iterator[tuple[Leading, ast.stmt, Any]]: ...

    def body_of(self, node: ast.AST, ref: Any) -> Any: ...

    def function_signature(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ref: Any) -> str: ...

    def class_signature(self, node: ast.ClassDef, ref: Any) -> str: ...

    def statement_line(self, node: ast.stmt, ref: Any) -> str: ...


def _collect(path: str, lines: tuple[str, ...], tree: ast.Module, trivia: TriviaReader) -> _Collector | None:
    """Walk the whole module with one reader; None when that reader cannot decide the file."""
    collector = _Collector(path, len(lines), trivia)
    try:
        collector.visit_body(trivia.root, tree.body, scope=(), context="module")
    except (_Undecided, RecursionError):
        return None
    return collector


class _Collector:
    """Walks the ``ast`` statements; ``trivia`` supplies what ``ast`` drops (comments, text as written)."""

    def __init__(self, path: str, line_count: int, trivia: TriviaReader) -> None:
        self.path = path
        self.line_count = line_count
        self.trivia = trivia
        self.symbols: list[Symbol] = []
        self.banners: list[Banner] = []
        self._paths: set[str] = set()
        self._dumps: dict[int, str] = {}  # statement dumps by id(node): the tree outlives the walk

    # -- walking ---------------------------------------------------------------------------
    def visit_body(self, block: Any, body: Sequence[ast.stmt], scope: tuple[str, ...], context: str) -> None:
        trivia = self.trivia
        for leading, node, ref in trivia.pair(block, body):
            start = _first_line(node) - _comment_run(leading)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(node, ref, start, scope, context)
            elif isinstance(node, ast.ClassDef):
                qual = (*scope, node.name)
                self._add(qual, SymbolKind.CLASS, start, node, trivia.class_signature(node, ref), ast.get_docstring(node) or "")
                self.visit_body(trivia.body_of(node, ref), node.body, qual, "class")
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                self._assignment(node, ref, start, scope, context)
            elif isinstance(node, ast.If) and context == "module":
                self._module_if(node, start)
            elif isinstance(node, ast.Try) and context == "module" and _imports_in(node.body):
                names = sorted(_bound_names(node.body))
                self._add(("try " + ", ".join(names[:3]),), SymbolKind.CONDITIONAL_IMPORT, start, node, "", "")

    def _function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, ref: Any, start: int, scope: tuple[str, ...], context: str
    ) -> None:
        qual = (*scope, node.name)
        if context == "class":
            kind = SymbolKind.METHOD
        elif context == "function":
            kind = SymbolKind.NESTED_FUNCTION
        else:
            kind = SymbolKind.ASYNC_FUNCTION if isinstance(node, ast.AsyncFunctionDef) else SymbolKind.FUNCTION
        signature = self.trivia.function_signature(node, ref)
        self._add(qual, kind, start, node, signature, ast.get_docstring(node) or "")
        block = self.trivia.body_of(node, ref)
        self.visit_body(block, node.body, qual, "function")
        self._banners(".".join(qual), block, node.body, _end_line(node))

    def _assignment(self, node: ast.Assign | ast.AnnAssign, ref: Any, start: int, scope: tuple[str, ...], context: str) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [n.id for t in targets for n in _target_names(t)]
        if context == "function":
            names = [n for n in names if _UPPER_NAME.match(n)]
            kind = SymbolKind.CONSTANT
        else:
            kind = SymbolKind.FIELD if context == "class" else SymbolKind.VARIABLE
        if not names:
            return
        signature = self.trivia.statement_line(node, ref)
        for name in names:
            qual = (*scope, name)
            if self._known(qual):
                continue  # a re-assignment keeps the first definition as the anchor
            self._add(qual, kind, start, node, signature, "")

    def _module_if(self, node: ast.If, start: int) -> None:
        if _is_main_guard(node.test):
            self._add(("__main__",), SymbolKind.MAIN_GUARD, start, node, 'if __name__ == "__main__":', "")
        elif _imports_in(node.body) or _imports_in(node.orelse):
            condition = " ".join(ast.unparse(node.test).split())
            self._add((f"if {condition}",), SymbolKind.CONDITIONAL_IMPORT, start, node, f"if {condition}:", "")

    def _banners(self, owner: str, block: Any, body: Sequence[ast.stmt], end_line: int) -> None:
        found: list[tuple[int, str]] = []
        for leading, node, _ in self.trivia.pair(block, body):
            first = _first_line(node) - len(leading)
            group: list[tuple[int, str]] = []
            for offset, comment in enumerate((*leading, None)):
                if comment is None:
                    banner = _banner_title(group)
                    if banner:
                        found.append((group[0][0], banner))
                    group = []
                else:
                    group.append((first + offset, comment))
        for index, (line, title) in enumerate(found):
            stop = found[index + 1][0] - 1 if index + 1 < len(found) else end_line
            self.banners.append(Banner(owner=owner, title=title, span=Span(line, stop)))

    # -- recording -------------------------------------------------------------------------
    def _known(self, qual: tuple[str, ...]) -> bool:
        return ".".join(qual) in self._paths

    def _add(self, qual: tuple[str, ...], kind: SymbolKind, start: int, node: ast.stmt, signature: str, docstring: str) -> None:
        path = ".".join(qual)
        if path in self._paths:
            return
        self._paths.add(path)
        end = min(node.end_lineno or node.lineno, self.line_count)
        self.symbols.append(
            Symbol(
                qualname=path,
                kind=kind,
                span=Span(max(1, start), max(end, start)),
                name_line=node.lineno,
                signature=signature[:_SIGNATURE_LIMIT],
                docstring=docstring,
                digest=syntax_digest(node, self._dumps),
            )
        )


# -- the line reader -------------------------------------------------------------------------
class _LineTrivia:
    """Comments and text as written, read from the lines around the ``ast`` positions.

    Which statement owns a comment follows libcst: comments above a statement are its leading
    lines, except that when the previous statement ends in an indented block, every line up to the
    last one indented like that block belongs to the block (its footer). At the top of a module
    the lines before the first statement are the module's header, not the statement's.
    """

    root = None  # the module's block: statements at the top have no parent

    def __init__(self, lines: tuple[str, ...]) -> None:
        self.lines = lines

    def body_of(self, node: ast.AST, ref: None) -> ast.AST:
        return node  # a block is named by the statement that owns it

    def pair(self, parent: ast.AST | None, body: Sequence[ast.stmt]) -> Iterator[tuple[Leading, ast.stmt, None]]:
        previous = None
        for node in body:
            yield self._leading(parent, previous, node), node, None
            previous = node

    def _leading(self, parent: ast.AST | None, previous: ast.stmt | None, node: ast.stmt) -> Leading:
        first = _first_line(node)
        if previous is None:
            if parent is None or not self._begins_line(node):
                return ()  # the module header, or a statement on its block's header line
            floor = _header_end(parent, node)  # lines of the header (a string in it may hold a `#` line) are never trivia
            top = first - 1
            while top > floor and self._is_trivia(top):
                top -= 1
            gap = range(top + 1, first)
        else:
            if first <= _end_line(previous):
                return ()  # after a semicolon on the same line
            gap = range(_end_line(previous) + 1, first)
            if not all(self._is_trivia(number) for number in gap):
                raise _Undecided  # e.g. a lone line continuation between statements
            indent = self._footer_indent(previous)
            if indent is not None:
                claimed = [number for number in gap if self.lines[number - 1].startswith(indent)]
                if claimed:
                    gap = range(claimed[-1] + 1, first)
        if gap and gap.start >= 2 and self.lines[gap.start - 2].rstrip(_BLANK).endswith("\\"):
            raise _Undecided  # a line join carries the first comment into the statement above
        return tuple(self._comment(number) for number in gap)

    def _is_trivia(self, number: int) -> bool:
        stripped = self.lines[number - 1].lstrip(_BLANK)
        return not stripped or stripped[0] == "#"

    def _comment(self, number: int) -> str | None:
        stripped = self.lines[number - 1].strip()
        return stripped if stripped.startswith("#") else None

    def _slice(self, number: int, start: int = 0, end: int | None = None) -> str:
        """Part of a line between two ``ast`` columns (which count UTF-8 bytes)."""
        line = self.lines[number - 1]
        if line.isascii():
            return line[start:end]
        return line.encode("utf-8")[start:end].decode("utf-8", errors="replace")

    def _begins_line(self, node: ast.stmt) -> bool:
        if getattr(node, "decorator_list", None):
            return True
        return not self._slice(node.lineno, 0, node.col_offset).strip(_BLANK)

    def _footer_indent(self, node: ast.stmt) -> str | None:
        """The indentation of the outermost block a compound statement ends with (the one whose
        footer reaches furthest); None when it ends on a header line."""
        if isinstance(node, ast.Match):  # the case clauses form a block of their own, with a footer
            first = node.cases[0].pattern.lineno
        else:
            block = self._last_block(node)
            if not block or not self._begins_line(block[0]):
                return None
            first = _first_line(block[0])
        line = self.lines[first - 1]
        indent = line[: len(line) - len(line.lstrip(_BLANK))]
        if not indent:
            raise _Undecided
        return indent

    def _last_block(self, node: ast.stmt) -> Sequence[ast.stmt] | None:
        if isinstance(node, ast.If):
            orelse = node.orelse
            if (
                len(orelse) == 1
                and isinstance(orelse[0], ast.If)
                and self._slice(orelse[0].lineno, orelse[0].col_offset).startswith("elif")
            ):
                return self._last_block(orelse[0])
            return orelse or node.body
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            return node.orelse or node.body
        if isinstance(node, _TRY):
            return node.finalbody or node.orelse or node.handlers[-1].body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.With, ast.AsyncWith)):
            return node.body
        return None

    # -- text as written ---------------------------------------------------------------------
    def _header(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        """A compound statement's header as written, from its keyword to (not including) its colon."""
        body = node.body[0]
        first_body_line = _first_line(body)
        if first_body_line == node.lineno:  # `def f(): return 1`
            return self._slice(node.lineno, node.col_offset, body.col_offset).rstrip(_BLANK).removesuffix(":")
        parts = [self._slice(node.lineno, node.col_offset), *self.lines[node.lineno : first_body_line - 1]]
        if not self._begins_line(body):  # `def f(a,\n      b): return 1`
            parts.append(self._slice(first_body_line, 0, body.col_offset))
        text = "\n".join(parts)
        if "#" in text:
            text = _without_comments(text)
        text = text.replace("\\\n", " ")  # explicit line joins
        return text.rstrip(_BLANK + "\n\\").removesuffix(":")

    def function_signature(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ref: None) -> str:
        # `def f(\n    a,` reads as `def f(a,`: no space between the name, its parenthesis and the first parameter
        return _OPENING.sub(r"\1(", " ".join(self._header(node).split()), count=1)

    def class_signature(self, node: ast.ClassDef, ref: None) -> str:
        bases = ", ".join(" ".join(self._segment(base).split()) for base in node.bases)
        return f"class {node.name}({bases})" if bases else f"class {node.name}"

    def statement_line(self, node: ast.stmt, ref: None) -> str:
        end = node.end_col_offset if node.end_lineno == node.lineno else None
        return self._slice(node.lineno, node.col_offset, end).strip()

    def _segment(self, node: ast.expr) -> str:
        if node.end_lineno == node.lineno:
            return self._slice(node.lineno, node.col_offset, node.end_col_offset)
        middle = self.lines[node.lineno : _end_line(node) - 1]
        last = self._slice(_end_line(node), 0, node.end_col_offset)
        return "\n".join([self._slice(node.lineno, node.col_offset), *middle, last])


_TRY = (ast.Try, ast.TryStar) if hasattr(ast, "TryStar") else (ast.Try,)
_BLOCK_FIELDS = ("body", "orelse", "handlers", "finalbody", "cases", "decorator_list")


def _header_end(parent: ast.AST, first_statement: ast.stmt) -> int:
    """The last line of the block header above ``first_statement`` that an expression reaches
    (a base class, a default value, a return annotation), or the header's own first line."""
    end = getattr(parent, "lineno", 0)
    limit = _first_line(first_statement)
    for name, value in ast.iter_fields(parent):
        if name in _BLOCK_FIELDS:
            continue
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST):
                for inner in ast.walk(child):
                    inner_end = getattr(inner, "end_lineno", None)
                    if inner_end is not None and inner_end < limit:
                        end = max(end, inner_end)
    return end


def _without_comments(text: str) -> str:
    """Drop comments from a statement header; ``#`` inside a string literal is not a comment."""
    lines = text.split("\n")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    for token in tokens:
        if token.type == tokenize.COMMENT:
            number, column = token.start
            lines[number - 1] = lines[number - 1][:column]
    return "\n".join(lines)


# -- the libcst reader (the reference; used for files the line reader cannot decide) --------
class _CstSyntaxError(Exception):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


class _CstTrivia:
    """Comments and text as written, from libcst's concrete syntax tree, walked in lockstep with ``ast``."""

    def __init__(self, module: Any) -> None:
        import libcst as cst

        self.cst = cst
        self.root = module
        self._empty = cst.Module(body=[])

    @classmethod
    def parse(cls, text: str) -> _CstTrivia:
        import libcst as cst

        try:
            return cls(cst.parse_module(text))
        except cst.ParserSyntaxError as exc:
            raise _CstSyntaxError(exc.raw_line, exc.raw_column + 1, exc.message) from None

    def body_of(self, node: ast.AST, ref: Any) -> Any:
        return ref.body

    def pair(self, block: Any, body: Sequence[ast.stmt]) -> Iterator[tuple[Leading, ast.stmt, Any]]:
        """Yield (leading lines, ast statement, CST statement) for each statement of a block."""
        cst = self.cst
        if isinstance(block, cst.SimpleStatementSuite):
            if len(block.body) != len(body):
                raise _Undecided
            yield from (((), node, small) for node, small in zip(body, block.body))
            return
        index = 0
        for statement in block.body:  # Module or IndentedBlock
            if isinstance(statement, cst.SimpleStatementLine):
                for position, small in enumerate(statement.body):
                    if index >= len(body):
                        raise _Undecided
                    yield (_texts(statement.leading_lines) if position == 0 else ()), body[index], small
                    index += 1
            else:
                if index >= len(body):
                    raise _Undecided
                yield _texts(statement.leading_lines), body[index], statement
                index += 1
        if index != len(body):
            raise _Undecided

    def function_signature(self, node: ast.AST, ref: Any) -> str:
        prefix = "async def " if ref.asynchronous else "def "
        params = self._empty.code_for_node(ref.params)
        returns = ""
        if ref.returns is not None:
            returns = " -> " + self._empty.code_for_node(ref.returns.annotation)
        return " ".join(f"{prefix}{ref.name.value}({params}){returns}".split())

    def class_signature(self, node: ast.AST, ref: Any) -> str:
        bases = ", ".join(" ".join(self._empty.code_for_node(arg.value).split()) for arg in ref.bases)
        return f"class {ref.name.value}({bases})" if bases else f"class {ref.name.value}"

    def statement_line(self, node: ast.AST, ref: Any) -> str:
        code = self._empty.code_for_node(ref).strip().removesuffix(";").strip()
        return code.splitlines()[0].strip() if code else ""


def _texts(leading: Sequence[Any]) -> Leading:
    return tuple(line.comment.value.strip() if line.comment else None for line in leading)


# -- helpers over ast ------------------------------------------------------------------------
def _first_line(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _end_line(node: ast.stmt | ast.expr) -> int:
    return node.end_lineno if node.end_lineno is not None else node.lineno


def _comment_run(leading: Leading) -> int:
    """Number of comment lines directly above a statement, with no blank line in between."""
    run = 0
    for comment in reversed(leading):
        if comment is None:
            break
        run += 1
    return run


def _banner_title(group: list[tuple[int, str]]) -> str:
    if len(group) < 2 or not any(_RULE.match(text) and len(text) >= 3 for _, text in group):
        return ""
    titles = [text.strip("#").strip() for _, text in group if not _RULE.match(text)]
    return " ".join(t for t in titles if t)


def _target_names(target: ast.expr) -> Iterator[ast.Name]:
    if isinstance(target, ast.Name):
        yield target
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_names(element)


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _imports_in(body: Sequence[ast.stmt]) -> bool:
    return any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in body)


def _bound_names(body: Sequence[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.Import):
            names.update((a.asname or a.name.split(".")[0]) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update((a.asname or a.name) for a in node.names)
    return names


def _long_statements(tree: ast.Module) -> tuple[tuple[int, int], ...]:
    """Simple statements that span several lines (a call wrapped over lines, a long dict): a quote of
    their first line selects all of them, so re-wrapping them is not a change."""
    found: set[tuple[int, int]] = set()
    for node in _statements(tree.body):
        if not hasattr(node, "body") and node.end_lineno and node.end_lineno > node.lineno:
            found.add((node.lineno, node.end_lineno))
    return tuple(sorted(found))


def _exports(tree: ast.Module, package: str) -> Iterator[tuple[str, str]]:
    """Names a package's ``__init__`` re-exports: ``from .x import A`` and the lazy-module form
    ``_import_structure = {"x": ["A", ...]}`` (transformers, TRL), as (name, defining module)."""
    for node in _statements(tree.body):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            for alias in node.names:
                if alias.name != "*":
                    yield alias.asname or alias.name, f"{package}.{node.module}"
        if not isinstance(node, (ast.Assign, ast.AnnAssign)):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(isinstance(t, ast.Name) and t.id == "_import_structure" for t in targets) and isinstance(node.value, ast.Dict):
            for key, value in zip(node.value.keys, node.value.values):
                if isinstance(key, ast.Constant) and isinstance(key.value, str) and isinstance(value, (ast.List, ast.Tuple)):
                    for item in value.elts:
                        if isinstance(item, ast.Constant) and isinstance(item.value, str):
                            yield item.value, f"{package}.{key.value}"


def _imports(tree: ast.Module, own_module: str, is_package: bool) -> Iterator[Import]:
    package = own_module if is_package else own_module.rpartition(".")[0]
    for node in _statements(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                module = alias.name if alias.asname else alias.name.split(".")[0]
                yield Import(bound_name=bound, module=module, name=None, line=node.lineno)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join([*base, module] if module else base)
            for alias in node.names:
                if alias.name == "*":
                    continue
                yield Import(bound_name=alias.asname or alias.name, module=module, name=alias.name, line=node.lineno)


def _statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones included, in ``ast.walk``'s breadth-first order, without
    visiting expressions (imports are statements; expressions are most of a tree)."""
    queue: deque[ast.AST] = deque(body)
    while queue:
        node = queue.popleft()
        if isinstance(node, ast.stmt):
            yield node
        for field in ("body", "handlers", "orelse", "finalbody", "cases"):
            inner = getattr(node, field, None)
            if inner and isinstance(inner, list):
                queue.extend(child for child in inner if isinstance(child, (ast.stmt, ast.ExceptHandler, ast.match_case)))
