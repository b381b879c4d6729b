"""Which names in a Python file are the same binding: scope-aware, from ``ast`` (not textual).

``binding_ids(text)`` maps the position ``(line, column)`` of every name token (a use, an
assignment, a parameter, a ``def``/``class`` name, an imported name) to an id shared by every
occurrence of the same binding: ``x`` in one function and ``x`` in another are different; a
``global x`` inside a function is the module's ``x``; names used in a nested function resolve
to the enclosing function's binding (class bodies are skipped, as Python does). Columns count
characters. The code pane puts the id on each token, so a click lights up the uses of *that* binding.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_DEF_NAME = re.compile(r"(?:async\s+)?(?:def|class)\s+([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class _Scope:
    kind: str  # "module" | "class" | "function" | "comprehension"
    parent: _Scope | None
    bound: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)


def binding_ids(text: str) -> dict[tuple[int, int], int]:
    from ..extract.tokens import parse_python  # the extractor's parse of the same text, when it just ran

    try:
        tree = parse_python(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    lines = text.split("\n")
    collector = _Collector(lines)
    try:
        collector.collect(tree)
        return collector.resolve()
    except RecursionError:
        return {}


class _Collector:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.occurrences: list[tuple[int, int, str, _Scope]] = []  # (line, column, name, scope it occurs in)
        self.module = _Scope("module", None)

    # -- pass 1: scopes and what each binds ------------------------------------------------------------
    def collect(self, tree: ast.Module) -> None:
        self._body(tree.body, self.module)

    def _body(self, statements: list[ast.stmt], scope: _Scope) -> None:
        for statement in statements:
            self._node(statement, scope)

    def _node(self, node: ast.AST, scope: _Scope) -> None:
        handler = _HANDLERS.get(type(node))  # by exact type: ast's node classes have no subclasses
        if handler is None:
            self._children(node, scope)
        else:
            handler(self, node, scope)

    def _children(self, node: ast.AST, scope: _Scope) -> None:
        """As ``ast.iter_child_nodes``, without visiting nodes that hold no names (constants,
        contexts, operators): most of a tree."""
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST) and type(item) not in _NAMELESS:
                        self._node(item, scope)
            elif isinstance(value, ast.AST) and type(value) not in _NAMELESS:
                self._node(value, scope)

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, scope: _Scope) -> None:
        for decorator in node.decorator_list:
            self._node(decorator, scope)
        self._bind_def_name(node, scope)
        if isinstance(node, ast.ClassDef):
            for base in [*node.bases, *node.keywords]:
                self._node(base, scope)
            inner = _Scope("class", scope)
            self._body(node.body, inner)
        else:
            self._arguments_defaults(node.args, scope)
            if node.returns is not None:
                self._node(node.returns, scope)
            inner = _Scope("function", scope)
            self._arguments(node.args, inner)
            self._body(node.body, inner)

    def _lambda(self, node: ast.Lambda, scope: _Scope) -> None:
        self._arguments_defaults(node.args, scope)
        inner = _Scope("function", scope)
        self._arguments(node.args, inner)
        self._node(node.body, inner)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp, scope: _Scope) -> None:
        inner = _Scope("comprehension", scope)
        for index, generator in enumerate(node.generators):
            self._node(generator.iter, scope if index == 0 else inner)  # the first iterable runs outside
            self._node(generator.target, inner)
            for condition in generator.ifs:
                self._node(condition, inner)
        for part in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
            self._node(part, inner)

    def _global(self, node: ast.Global, scope: _Scope) -> None:
        scope.globals.update(node.names)

    def _nonlocal(self, node: ast.Nonlocal, scope: _Scope) -> None:
        scope.nonlocals.update(node.names)

    def _import(self, node: ast.Import | ast.ImportFrom, scope: _Scope) -> None:
        for alias in node.names:
            if alias.name == "*":
                continue
            bound = alias.asname or alias.name.split(".")[0]
            scope.bound.add(bound)
            position = self._alias_position(alias, bound)
            if position:
                self.occurrences.append((*position, bound, scope))

    def _name(self, node: ast.Name, scope: _Scope) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            target = scope
            if isinstance(node.ctx, ast.Store) and scope.kind == "comprehension" and self._in_walrus:
                target = _enclosing_function_or_module(scope)
            target.bound.add(node.id)
        self.occurrences.append((node.lineno, self._column(node.lineno, node.col_offset), node.id, scope))

    def _walrus(self, node: ast.NamedExpr, scope: _Scope) -> None:
        self._in_walrus = True
        self._node(node.target, scope)
        self._in_walrus = False
        self._node(node.value, scope)

    def _named_then_children(self, node: ast.ExceptHandler | ast.MatchAs | ast.MatchStar, scope: _Scope) -> None:
        if node.name:
            scope.bound.add(node.name)
        self._children(node, scope)

    _in_walrus = False

    def _arguments(self, args: ast.arguments, scope: _Scope) -> None:
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, *(a for a in (args.vararg, args.kwarg) if a)]:
            scope.bound.add(arg.arg)
            self.occurrences.append((arg.lineno, self._column(arg.lineno, arg.col_offset), arg.arg, scope))
            if arg.annotation is not None:
                self._node(arg.annotation, scope.parent or scope)

    def _arguments_defaults(self, args: ast.arguments, scope: _Scope) -> None:
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self._node(default, scope)

    def _bind_def_name(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, scope: _Scope) -> None:
        scope.bound.add(node.name)
        line = self.lines[node.lineno - 1] if node.lineno - 1 < len(self.lines) else ""
        match = _DEF_NAME.search(line, self._column(node.lineno, node.col_offset))
        if match and match.group(1) == node.name:
            self.occurrences.append((node.lineno, match.start(1), node.name, scope))

    def _alias_position(self, alias: ast.alias, bound: str) -> tuple[int, int] | None:
        line_number = getattr(alias, "lineno", None)
        if line_number is None:
            return None
        line = self.lines[line_number - 1]
        start = self._column(line_number, alias.col_offset)
        found = re.compile(rf"\b{re.escape(bound)}\b").search(line, start)
        return (line_number, found.start()) if found else None

    def _column(self, line_number: int, byte_offset: int) -> int:
        line = self.lines[line_number - 1] if 0 < line_number <= len(self.lines) else ""
        return byte_offset if line.isascii() else len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace"))

    # -- pass 2: each occurrence to the scope that binds it --------------------------------------------------
    def resolve(self) -> dict[tuple[int, int], int]:
        ids: dict[tuple[int, str], int] = {}
        out: dict[tuple[int, int], int] = {}
        for line, column, name, scope in self.occurrences:
            owner = _owner(name, scope, self.module)
            key = (id(owner) if owner is not None else 0, name)
            out[(line, column)] = ids.setdefault(key, len(ids) + 1)
        return out


_HANDLERS: dict[type, Callable[[_Collector, Any, _Scope], None]] = {
    ast.FunctionDef: _Collector._definition,
    ast.AsyncFunctionDef: _Collector._definition,
    ast.ClassDef: _Collector._definition,
    ast.Lambda: _Collector._lambda,
    ast.ListComp: _Collector._comprehension,
    ast.SetComp: _Collector._comprehension,
    ast.GeneratorExp: _Collector._comprehension,
    ast.DictComp: _Collector._comprehension,
    ast.Global: _Collector._global,
    ast.Nonlocal: _Collector._nonlocal,
    ast.Import: _Collector._import,
    ast.ImportFrom: _Collector._import,
    ast.Name: _Collector._name,
    ast.NamedExpr: _Collector._walrus,
    ast.ExceptHandler: _Collector._named_then_children,
    ast.MatchAs: _Collector._named_then_children,
    ast.MatchStar: _Collector._named_then_children,
}
#: Nodes with no names below them: skipping them changes nothing and saves most of the walk.
_NAMELESS = frozenset(
    {ast.Constant, ast.Load, ast.Store, ast.Del}
    | {cls for base in (ast.operator, ast.unaryop, ast.cmpop, ast.boolop) for cls in base.__subclasses__()}
)


def _enclosing_function_or_module(scope: _Scope) -> _Scope:
    current: _Scope | None = scope
    while current is not None and current.kind == "comprehension":
        current = current.parent
    return current or scope


def _owner(name: str, scope: _Scope, module: _Scope) -> _Scope | None:
    """The scope whose binding ``name`` refers to in ``scope`` (None: a builtin or an unknown global)."""
    if name in scope.globals:
        return module
    current: _Scope | None = scope
    first = True
    while current is not None:
        if current.kind == "class" and not first:
            current = current.parent  # class bodies do not enclose the functions inside them
            continue
        if name in current.nonlocals and first:
            first = False
            current = current.parent
            continue
        if name in current.bound:
            return current
        first = False
        current = current.parent
    return module if name in module.bound else None
