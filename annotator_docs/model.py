"""The plain data model shared by every stage of the pipeline.

Conventions (stated once, used everywhere):

* Lines are 1-based and spans are inclusive: ``Span(3, 5)`` covers lines 3, 4 and 5.
* Columns in findings are 1-based.
* Every model is a frozen dataclass holding tuples, so stages cannot mutate what an
  earlier stage produced and results can be cached by content hash.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class SymbolKind(str, enum.Enum):
    FUNCTION = "function"
    ASYNC_FUNCTION = "async_function"
    CLASS = "class"
    METHOD = "method"
    NESTED_FUNCTION = "nested_function"
    FIELD = "field"  # annotated or assigned name in a class body (dataclass fields among them)
    VARIABLE = "variable"  # assigned or annotated name at module level
    CONSTANT = "constant"  # UPPER_CASE name assigned at the top of a function body (registries)
    MAIN_GUARD = "main_guard"  # if __name__ == "__main__":
    CONDITIONAL_IMPORT = "conditional_import"  # if/try block whose body imports
    YAML_KEY = "yaml_key"
    YAML_ITEM = "yaml_item"  # an item of a YAML sequence, or a key under one
    TEXT_SECTION = "text_section"  # a comment-titled section of a plain-text file (shell, Slurm)


#: Kinds a complete annotation must cover (the coverage denominator).
COVERED_KINDS = frozenset(
    {
        SymbolKind.FUNCTION,
        SymbolKind.ASYNC_FUNCTION,
        SymbolKind.CLASS,
        SymbolKind.METHOD,
        SymbolKind.NESTED_FUNCTION,
        SymbolKind.FIELD,
        SymbolKind.YAML_KEY,
        SymbolKind.TEXT_SECTION,
    }
)

#: Kinds that need what / why / how in a complete annotation.
CALLABLE_KINDS = frozenset(
    {
        SymbolKind.FUNCTION,
        SymbolKind.ASYNC_FUNCTION,
        SymbolKind.CLASS,
        SymbolKind.METHOD,
        SymbolKind.NESTED_FUNCTION,
    }
)


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """Inclusive 1-based line range."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 1 or self.end < self.start:
            raise ValueError(f"invalid span {self.start}-{self.end}")

    @property
    def lines(self) -> int:
        return self.end - self.start + 1

    def contains(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True, slots=True)
class Symbol:
    """A named piece of a source file that a note can anchor to."""

    path: str  # qualified name inside the file: "main", "GRPOScriptArguments.reward_funcs"
    kind: SymbolKind
    span: Span  # leading comments and decorators included
    name_line: int  # the line holding the definition keyword or the name itself
    signature: str = ""
    docstring: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


@dataclass(frozen=True, slots=True)
class Import:
    """One name bound by an import statement."""

    bound_name: str  # the name visible in the file ("np", "get_dataset")
    module: str  # absolute module when resolvable ("open_r1.utils"); relative imports keep dots
    name: str | None  # imported attribute, None for "import x"
    line: int


@dataclass(frozen=True, slots=True)
class Banner:
    """A comment-framed step inside a function body, e.g. ``# Load tokenizer`` between ``####`` rules."""

    owner: str  # symbol path of the function holding it
    title: str
    span: Span  # from the banner's first line to the line before the next banner or the end of the body


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found by any stage; only the command line turns findings into exit codes."""

    code: str
    message: str
    path: str
    line: int = 1
    column: int = 1
    severity: str = "error"  # "error" | "warning"
    hint: str = ""

    def format(self) -> str:
        text = f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SourceModel:
    """What the extractor knows about one source file."""

    path: str  # upstream path, e.g. "src/open_r1/grpo.py"
    language: str  # "python" | "yaml" | "text"
    lines: tuple[str, ...]  # the file's lines without line endings
    symbols: tuple[Symbol, ...] = ()
    imports: tuple[Import, ...] = ()
    banners: tuple[Banner, ...] = ()
    findings: tuple[Finding, ...] = ()
    sha256: str = ""
    _index: dict[str, Symbol] = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {s.path: s for s in self.symbols})

    def symbol(self, path: str) -> Symbol | None:
        return self._index.get(path)

    @property
    def line_count(self) -> int:
        return len(self.lines)


def failing(findings, strict: bool) -> list[Finding]:
    """Errors always fail; with ``strict``, warnings (changed, moved, unpinned, not pulled) fail too."""
    return [f for f in findings if f.severity == "error" or strict]
