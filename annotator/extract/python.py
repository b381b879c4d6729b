"""Python source -> :class:`~annotator.model.SourceModel`.

libcst is the parser of record for what only a concrete syntax tree keeps: the comments
attached to each statement (leading comments of a symbol, banner comments framing the steps
of a long function) and signatures exactly as written. Positions come from :mod:`ast`, walked
in lockstep with the CST. libcst's own ``PositionProvider`` would give the same lines, but it
costs about four times the bare parse and overflows the stack on very large literals; ``ast``
positions are nearly free (see ``benchmarks/extract.py``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence

import libcst as cst

from ..model import Banner, Finding, Import, SourceModel, Span, Symbol, SymbolKind
from .modules import module_name_for

_EMPTY_MODULE = cst.Module(body=[])
_RULE = re.compile(r"^#[#=\-*~ ]*$")
_UPPER_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_SIGNATURE_LIMIT = 300


def extract_python(path: str, lines: tuple[str, ...], sha256: str = "") -> SourceModel:
    """Extract symbols, imports and banners; a file that does not parse yields its lines and a finding."""
    text = "\n".join(lines) + "\n"
    try:
        tree = ast.parse(text, filename=path)
        module = cst.parse_module(text)
    except SyntaxError as exc:
        return _unparsed(path, lines, sha256, exc.lineno or 1, (exc.offset or 1), exc.msg)
    except cst.ParserSyntaxError as exc:
        return _unparsed(path, lines, sha256, exc.raw_line, exc.raw_column + 1, exc.message)
    except (RecursionError, MemoryError, ValueError) as exc:
        return _unparsed(path, lines, sha256, 1, 1, f"source too deeply nested or malformed ({exc.__class__.__name__})")

    collector = _Collector(path, len(lines))
    try:
        collector.visit_body(module, tree.body, scope=(), context="module")
    except (_Misaligned, RecursionError):
        # Never expected; keep the page (every line) rather than fail the build.
        return _unparsed(path, lines, sha256, 1, 1, "internal: could not align the syntax trees")
    return SourceModel(
        path=path,
        language="python",
        lines=lines,
        symbols=tuple(sorted(collector.symbols, key=lambda s: (s.span.start, s.span.end, s.path))),
        imports=tuple(_imports(tree, module_name_for(path), path.endswith("__init__.py"))),
        banners=tuple(collector.banners),
        sha256=sha256,
    )


def _unparsed(path: str, lines: tuple[str, ...], sha256: str, line: int, column: int, message: str) -> SourceModel:
    finding = Finding(
        code="E101",
        message=f"source does not parse: {message}",
        path=path,
        line=max(1, line),
        column=max(1, column),
        severity="warning",
        hint="the page shows the lines without symbols; notes can only anchor at file level",
    )
    return SourceModel(path=path, language="python", lines=lines, findings=(finding,), sha256=sha256)


class _Misaligned(Exception):
    pass


class _Collector:
    def __init__(self, path: str, line_count: int) -> None:
        self.path = path
        self.line_count = line_count
        self.symbols: list[Symbol] = []
        self.banners: list[Banner] = []
        self._paths: set[str] = set()

    # -- walking ---------------------------------------------------------------------------
    def visit_body(self, block: cst.CSTNode, body: Sequence[ast.stmt], scope: tuple[str, ...], context: str) -> None:
        for leading, node, cnode in _pair(block, body):
            start = _first_line(node) - _comment_run(leading)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(node, cnode, leading, start, scope, context)
            elif isinstance(node, ast.ClassDef):
                qual = (*scope, node.name)
                self._add(qual, SymbolKind.CLASS, start, node, _class_signature(cnode), ast.get_docstring(node) or "")
                self.visit_body(cnode.body, node.body, qual, "class")
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                self._assignment(node, cnode, start, scope, context)
            elif isinstance(node, ast.If) and context == "module":
                self._module_if(node, start)
            elif isinstance(node, ast.Try) and context == "module" and _imports_in(node.body):
                names = sorted(_bound_names(node.body))
                self._add(("try " + ", ".join(names[:3]),), SymbolKind.CONDITIONAL_IMPORT, start, node, "", "")

    def _function(self, node, cnode, leading, start: int, scope: tuple[str, ...], context: str) -> None:
        qual = (*scope, node.name)
        if context == "class":
            kind = SymbolKind.METHOD
        elif context == "function":
            kind = SymbolKind.NESTED_FUNCTION
        else:
            kind = SymbolKind.ASYNC_FUNCTION if isinstance(node, ast.AsyncFunctionDef) else SymbolKind.FUNCTION
        self._add(qual, kind, start, node, _function_signature(cnode), ast.get_docstring(node) or "")
        self.visit_body(cnode.body, node.body, qual, "function")
        self._banners(".".join(qual), cnode.body, node.body, node.end_lineno)

    def _assignment(self, node, cnode, start: int, scope: tuple[str, ...], context: str) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [n.id for t in targets for n in _target_names(t)]
        if context == "function":
            names = [n for n in names if _UPPER_NAME.match(n)]
            kind = SymbolKind.CONSTANT
        else:
            kind = SymbolKind.FIELD if context == "class" else SymbolKind.VARIABLE
        signature = _first_line_of(_EMPTY_MODULE.code_for_node(cnode))
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

    def _banners(self, owner: str, block: cst.CSTNode, body: Sequence[ast.stmt], end_line: int) -> None:
        found: list[tuple[int, str]] = []
        for leading, node, _ in _pair(block, body):
            first = _first_line(node) - len(leading)
            group: list[tuple[int, str]] = []
            for offset, empty_line in enumerate((*leading, None)):
                comment = empty_line.comment.value.strip() if empty_line is not None and empty_line.comment else None
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

    def _add(self, qual, kind: SymbolKind, start: int, node: ast.AST, signature: str, docstring: str) -> None:
        path = ".".join(qual)
        if path in self._paths:
            return
        self._paths.add(path)
        end = min(node.end_lineno or node.lineno, self.line_count)
        self.symbols.append(
            Symbol(
                path=path,
                kind=kind,
                span=Span(max(1, start), max(end, start)),
                name_line=node.lineno,
                signature=signature[:_SIGNATURE_LIMIT],
                docstring=docstring,
            )
        )


# -- helpers over the two trees ------------------------------------------------------------
def _pair(block: cst.CSTNode, body: Sequence[ast.stmt]) -> Iterator[tuple[Sequence[cst.EmptyLine], ast.stmt, cst.CSTNode]]:
    """Yield (leading lines, ast statement, CST statement) for each statement of a block."""
    if isinstance(block, cst.SimpleStatementSuite):
        if len(block.body) != len(body):
            raise _Misaligned
        yield from (((), node, small) for node, small in zip(body, block.body))
        return
    statements = block.body  # Module or IndentedBlock
    index = 0
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            for position, small in enumerate(statement.body):
                if index >= len(body):
                    raise _Misaligned
                yield (statement.leading_lines if position == 0 else ()), body[index], small
                index += 1
        else:
            if index >= len(body):
                raise _Misaligned
            yield statement.leading_lines, body[index], statement
            index += 1
    if index != len(body):
        raise _Misaligned


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", ())
    return min([node.lineno, *(d.lineno for d in decorators)])


def _comment_run(leading: Sequence[cst.EmptyLine]) -> int:
    """Number of comment lines directly above a statement, with no blank line in between."""
    run = 0
    for empty_line in reversed(leading):
        if empty_line.comment is None:
            break
        run += 1
    return run


def _banner_title(group: list[tuple[int, str]]) -> str:
    if len(group) < 2 or not any(_RULE.match(text) and len(text) >= 3 for _, text in group):
        return ""
    titles = [text.strip("#").strip() for _, text in group if not _RULE.match(text)]
    return " ".join(t for t in titles if t)


def _function_signature(cnode: cst.FunctionDef) -> str:
    prefix = "async def " if cnode.asynchronous else "def "
    params = _EMPTY_MODULE.code_for_node(cnode.params)
    returns = ""
    if cnode.returns is not None:
        returns = " -> " + _EMPTY_MODULE.code_for_node(cnode.returns.annotation)
    return " ".join(f"{prefix}{cnode.name.value}({params}){returns}".split())


def _class_signature(cnode: cst.ClassDef) -> str:
    bases = ", ".join(_EMPTY_MODULE.code_for_node(arg).rstrip(", ") for arg in cnode.bases)
    return f"class {cnode.name.value}({bases})" if bases else f"class {cnode.name.value}"


def _first_line_of(code: str) -> str:
    return code.strip().splitlines()[0] if code.strip() else ""


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


def _imports(tree: ast.Module, own_module: str, is_package: bool) -> Iterator[Import]:
    package = own_module if is_package else own_module.rpartition(".")[0]
    for node in ast.walk(tree):
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
