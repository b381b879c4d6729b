"""The data model: every value the stages pass along, in one place.

The pipeline reads in one direction: lock -> source models -> sidecars -> resolved notes -> progress
-> pages. Each arrow passes the frozen dataclasses below, so no stage can change what an earlier one
produced and any result can be cached by the hash of its inputs (:mod:`annotator_docs.cache` stores
them as plain JSON through :func:`to_data` / :func:`from_data`).

Conventions, stated once:

* Lines are 1-based and spans inclusive: ``Span(3, 5)`` covers lines 3, 4 and 5; columns are 1-based.
* ``path`` is always an upstream path inside a repository (``src/open_r1/grpo.py``). A file's
  ``key`` is its name in this project: the path for the first source, ``<source>/<path>`` for the
  others (``trl/trl/trainer/grpo_trainer.py``). ``qualname`` is a symbol's path inside its file
  (``GRPOScriptArguments.reward_funcs``, ``deepspeed_config.zero_stage``).
* ``lines`` is a file's text, one string per line; a count of lines is a ``length``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, Union

from .findings import Finding

# -- enumerations ---------------------------------------------------------------------------------


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
#: Kinds a note covers by spanning their definition (no note of their own needed).
LEAF_KINDS = frozenset(
    {
        SymbolKind.FIELD,
        SymbolKind.CONSTANT,
        SymbolKind.VARIABLE,
        SymbolKind.YAML_KEY,
        SymbolKind.YAML_ITEM,
        SymbolKind.TEXT_SECTION,
    }
)
#: Top-level names another file can import (go-to-definition targets).
IMPORTABLE_KINDS = frozenset({SymbolKind.FUNCTION, SymbolKind.ASYNC_FUNCTION, SymbolKind.CLASS, SymbolKind.VARIABLE})


class Language(str, enum.Enum):
    PYTHON = "python"
    YAML = "yaml"
    TEXT = "text"


class Priority(str, enum.Enum):
    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


class State(str, enum.Enum):
    INTACT = "intact"  # found, same code
    MOVED = "moved"  # same code at other lines, under another symbol path, or in another file
    CHANGED = "changed"  # found, but the code differs: needs review
    ORPHANED = "orphaned"  # not found: kept, shown with the reason and the closest candidates


class Status(str, enum.Enum):
    NOT_STARTED = "not started"
    IN_PROGRESS = "in progress"
    COMPLETE = "complete"
    UNKNOWN = "unknown"  # the code is not pulled: coverage cannot be measured


# -- the lock: which upstream bytes -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LockedFile:
    source: str  # the name of its source ("open-r1", "trl")
    path: str  # upstream path inside the source's repository
    key: str  # its name in this project: `path` for the first source, `<source>/<path>` for the others
    sha256: str | None  # None for local sources (nothing pinned)
    group: str = "Files"
    title: str = ""
    page: bool = True  # False: a reference file, pulled and read for links only (no page, no notes)


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    files: tuple[LockedFile, ...]
    snapshot_dir: str  # project-relative folder the files are pulled into
    repository: str | None = None  # "huggingface/trl" for pinned upstreams
    commit: str | None = None
    ref: str | None = None  # the tag or branch the commit stands for ("v0.18.0")
    local_path: str | None = None  # project-relative source tree for local sources (no download, no pin)
    exports: tuple[tuple[str, str], ...] = ()  # ("trl.GRPOTrainer", "trl/trainer/grpo_trainer.py#GRPOTrainer")

    @property
    def is_pinned(self) -> bool:
        return self.repository is not None

    def archive_url(self) -> str:
        return f"https://github.com/{self.repository}/archive/{self.commit}.tar.gz"

    def raw_url(self, path: str) -> str:
        return f"https://raw.githubusercontent.com/{self.repository}/{self.commit}/{path}"

    def blob_url(self, path: str, start: int | None = None, end: int | None = None) -> str | None:
        if not self.is_pinned:
            return None
        url = f"https://github.com/{self.repository}/blob/{self.commit}/{path}"
        if start is not None:
            url += f"#L{start}" + (f"-L{end}" if end is not None and end != start else "")
        return url


@dataclass(frozen=True, slots=True)
class Lock:
    lock_path: Path  # absolute; the project root is two levels up (<root>/source_snapshot/snapshot.lock)
    version: int
    sources: tuple[Source, ...]

    @property
    def project_root(self) -> Path:
        return self.lock_path.parent.parent

    @property
    def all_files(self) -> tuple[LockedFile, ...]:
        return tuple(f for source in self.sources for f in source.files)

    @property
    def files(self) -> tuple[LockedFile, ...]:
        """The files that get a page and notes, in lock order."""
        return tuple(f for f in self.all_files if f.page)

    def file(self, key: str) -> LockedFile | None:
        return next((f for f in self.all_files if f.key == key), None)

    def source(self, name: str) -> Source:
        return next(s for s in self.sources if s.name == name)

    def source_of(self, file: LockedFile) -> Source:
        return self.source(file.source)


# -- stage 2: what the extractor knows about a source file ----------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """Inclusive 1-based line range."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 1 or self.end < self.start:
            raise ValueError(f"invalid span {self.start}-{self.end}")

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def contains(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True, slots=True)
class Symbol:
    """A named piece of a source file that a note can anchor to."""

    qualname: str  # "main", "GRPOScriptArguments.reward_funcs", "deepspeed_config.zero_stage"
    kind: SymbolKind
    span: Span  # leading comments and decorators included
    name_line: int  # the line holding the definition keyword or the name itself
    signature: str = ""
    docstring: str = ""
    digest: str = ""  # hash of its syntax (Python: the tree; YAML: the data), blind to comments and layout


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

    owner: str  # qualname of the function holding it
    title: str
    span: Span  # from the banner's first line to the line before the next banner or the end of the body


@dataclass(frozen=True, slots=True)
class SourceModel:
    """What the extractor knows about one source file."""

    path: str
    language: Language
    lines: tuple[str, ...]  # the file's text without line endings
    symbols: tuple[Symbol, ...] = ()
    imports: tuple[Import, ...] = ()
    banners: tuple[Banner, ...] = ()
    exports: tuple[tuple[str, str], ...] = ()  # names a package __init__ re-exports: (name, from module)
    tokens: tuple[str, ...] = ()  # per line, its code tokens joined by one space (no comments, no layout)
    statements: tuple[tuple[int, int], ...] = ()  # simple statements over several lines: (first, last)
    # Python only, from the tokenizer: logical lines over several lines (brackets, strings, line
    # continuations), (first, last); and decorated definitions, (first decorator line, definition line)
    logical_lines: tuple[tuple[int, int], ...] = ()
    decorated: tuple[tuple[int, int], ...] = ()
    findings: tuple[Finding, ...] = ()
    sha256: str = ""
    _index: dict[str, Symbol] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {s.qualname: s for s in self.symbols})

    def symbol(self, qualname: str) -> Symbol | None:
        return self._index.get(qualname)

    @property
    def line_count(self) -> int:
        return len(self.lines)

    @property
    def parsed(self) -> bool:
        """False when the file did not parse or decode: its lines are shown, its notes cannot anchor."""
        return not any(f.is_error for f in self.findings)


# -- stage 3: the sidecar ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What ``annotator pin`` records about a note's code, to tell intact from changed later.

    ``t1`` (written since the second edition) hashes the code's syntax: the tree of whole
    statements, or the token stream of a partial span, so comments, re-wrapped lines, redundant
    parentheses and trailing commas are not changes; ``raw`` hashes the lines as written, which
    tells a reformat from no edit at all. ``l0`` (the first edition) hashed whitespace-normalised
    lines. ``similar`` is a 64-bit simhash of token trigrams that ranks an orphan's candidates.
    """

    scheme: str  # "t1" | "l0"
    code: str
    raw: str = ""
    similar: int | None = None
    tokens: int | None = None  # how many tokens the code has (finds a re-wrapped window's new end)

    @classmethod
    def parse(cls, text: str) -> Fingerprint:
        parts = text.split(":")
        if parts[0] == "t1" and len(parts) in (4, 5):
            return cls("t1", parts[1], parts[2], int(parts[3], 16), int(parts[4]) if len(parts) == 5 else None)
        if len(parts) == 2:
            return cls("l0", parts[0], "", int(parts[1], 16))
        raise ValueError(f"not a fingerprint: {text!r}")

    def __str__(self) -> str:
        similar = f"{self.similar or 0:016x}"
        if self.scheme != "t1":
            return f"{self.code}:{similar}"
        return f"t1:{self.code}:{self.raw}:{similar}" + (f":{self.tokens}" if self.tokens is not None else "")


@dataclass(frozen=True, slots=True)
class Note:
    index: int  # position in the sidecar's notes list
    sidecar_line: int  # where the note starts in its sidecar (for messages)
    symbol: str | None = None
    section: str | None = None
    quote: str | None = None
    quote_length: int | None = None  # the sidecar's `lines:` (how many lines a quote covers)
    end_quote: str | None = None
    line_hint: int | None = None  # the sidecar's `line:` (written by pin; tells a move)
    fingerprint: str | None = None
    id: str | None = None
    title: str = ""
    what: str = ""
    why: str = ""
    how: str = ""
    body: str = ""

    @property
    def text(self) -> str:
        return "\n\n".join(t for t in (self.what, self.why, self.how, self.body) if t.strip())

    @property
    def has_anchor(self) -> bool:
        return any(v is not None for v in (self.symbol, self.section, self.quote, self.line_hint))

    @property
    def pinned(self) -> Fingerprint | None:
        return Fingerprint.parse(self.fingerprint) if self.fingerprint else None


@dataclass(frozen=True, slots=True)
class DataFlow:
    origin: str = ""
    processing: str = ""
    destination: str = ""


@dataclass(frozen=True, slots=True)
class Sidecar:
    sidecar_file: str  # project-relative path of the sidecar, for messages
    source: str  # the upstream path it annotates (must match its place)
    title: str = ""
    priority: Priority = Priority.NORMAL
    overview: str = ""
    role: str = ""
    key_innovations: tuple[str, ...] = ()
    data_flow: DataFlow = DataFlow()
    takeaways: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class LoadResult:
    """A loaded sidecar, or None with the findings that say why it could not be loaded."""

    sidecar: Sidecar | None
    findings: tuple[Finding, ...] = ()


# -- stage 4: resolved anchors ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    qualname: str
    span: Span
    reason: str  # "name" | "content"
    score: float


@dataclass(frozen=True, slots=True)
class ResolvedNote:
    note: Note
    note_id: str
    state: State
    span: Span | None = None  # None for file-level and orphaned notes
    symbol: str | None = None  # the qualname the note is on now (may differ from note.symbol when moved)
    code: Fingerprint | None = None  # the code the anchor finds now (``similar`` only when needed)
    reason: str = ""  # why, in words, for every state but intact
    reformatted: bool = False  # same syntax, other layout (intact or moved)
    moved_to: tuple[str, str] | None = None  # (file key, qualname) when the code now lives in another file
    candidates: tuple[Candidate, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def is_file_level(self) -> bool:
        return not self.note.has_anchor

    @property
    def needs_review(self) -> bool:
        return self.state in (State.CHANGED, State.ORPHANED)


@dataclass(frozen=True, slots=True)
class FileAnalysis:
    """Stages 2-4 for one locked file: its model, its sidecar and every note resolved."""

    file: LockedFile
    model: SourceModel | None  # None when the source is not pulled
    sidecar: Sidecar | None  # None when absent or invalid
    sidecar_exists: bool
    notes: tuple[ResolvedNote, ...]
    findings: tuple[Finding, ...]  # loader, source, anchor and project findings


@dataclass(frozen=True, slots=True)
class ResolvedFile:
    """What resolving one file's notes produced, kept on disk: a warm start reads it back instead of
    resolving every note again (keyed by the file, its model and its sidecar)."""

    notes: tuple[ResolvedNote, ...]
    findings: tuple[Finding, ...]


# -- stage 5: progress (numbers; render/ words them) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    key: str  # "overview", "role", "key_innovations", "data_flow", "takeaways", "what_why_how", "step_notes"
    ok: bool
    detail: tuple[str, ...] = ()  # the symbols that fall short, when the item is about symbols


@dataclass(frozen=True, slots=True)
class FileProgress:
    key: str
    path: str
    source: str
    title: str
    group: str
    status: Status
    priority: Priority
    pulled: bool
    lines: int  # a count: the file's length (0 when not pulled)
    covered_lines: int
    symbols: int
    annotated_symbols: int
    notes: int
    states: tuple[tuple[State, int], ...]
    unpinned: int
    words: int
    checklist: tuple[ChecklistItem, ...]
    uncovered: tuple[str, ...]
    review: tuple[tuple[str, State, str], ...]  # (note id, state, reason)

    @property
    def missing(self) -> tuple[ChecklistItem, ...]:
        return tuple(item for item in self.checklist if not item.ok)

    @property
    def line_percent(self) -> float | None:
        return 100.0 * self.covered_lines / self.lines if self.lines else (None if not self.pulled else 0.0)

    @property
    def symbol_percent(self) -> float | None:
        if not self.pulled:
            return None
        return 100.0 * self.annotated_symbols / self.symbols if self.symbols else 100.0


@dataclass(frozen=True, slots=True)
class ProgressReport:
    files: tuple[FileProgress, ...]
    commits: tuple[tuple[str, str | None], ...] = ()  # (source name, pinned commit)

    @property
    def complete(self) -> int:
        return sum(1 for f in self.files if f.status is Status.COMPLETE)

    @property
    def pulled(self) -> bool:
        return all(f.pulled for f in self.files)

    @property
    def line_coverage_percent(self) -> float | None:
        """None when any file is not pulled: the figure would be a guess."""
        if not self.pulled:
            return None
        total = sum(f.lines for f in self.files)
        return 100.0 * sum(f.covered_lines for f in self.files) / total if total else 0.0

    def of_source(self, name: str) -> ProgressReport:
        return ProgressReport(tuple(f for f in self.files if f.source == name), tuple(c for c in self.commits if c[0] == name))


# -- plain data for the cache ---------------------------------------------------------------------------

T = TypeVar("T")


def to_data(value: Any) -> Any:
    """A model as JSON-ready data (dataclasses as dicts, enums by value, tuples as lists)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value
    if kind is tuple or kind is list:
        if _only_strings(value):  # lines and tokens: most of a model's bytes
            return list(value)
        return [to_data(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: to_data(getattr(value, name)) for name in _stored_fields(typing.cast(Any, kind))}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (str, int, float)):  # subclasses (a str enum is handled above)
        return value
    raise TypeError(f"cannot store {type(value).__name__}")


@functools.cache
def _stored_fields(cls: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if not f.name.startswith("_"))


def from_data(cls: type[T], data: Any) -> T:
    """The inverse of :func:`to_data`, driven by the dataclasses' type hints; raises on any mismatch."""
    return typing.cast(T, _decoder(typing.cast(Any, cls))(data))


@functools.cache  # one decoder per type hint, made once: decoding is a hot path of every warm build
def _decoder(hint: Any) -> typing.Callable[[Any], Any]:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        (inner_hint,) = [o for o in options if o is not type(None)]
        inner = _decoder(inner_hint)
        optional = type(None) in options
        return lambda data: None if data is None and optional else inner(data)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            if args[0] is str:
                return _strings
            item = _decoder(args[0])
            return lambda data: tuple([item(x) for x in _list(data)])
        parts = tuple(_decoder(a) for a in args)

        def fixed(data: Any) -> tuple[Any, ...]:
            if len(_list(data)) != len(parts):
                raise TypeError("wrong tuple length")
            return tuple([part(x) for part, x in zip(parts, data)])

        return fixed
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_decoder(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if hint is float:
        return _float
    if hint in (str, int, bool):
        return functools.partial(_exactly, hint)
    if hint is Path:
        return lambda data: Path(_exactly(str, data))
    raise TypeError(f"cannot decode {hint}")


def _dataclass_decoder(cls: type) -> typing.Callable[[Any], Any]:
    """A decoder written for ``cls`` and compiled once (as dataclasses write their ``__init__``): the
    generic walk cost a warm build of 100 files 0.12 s, most of it calls per field. Exact types
    (``str``, ``int``, ``bool``, optional or not) are checked inline; other fields call their decoder."""
    hints = _hints(cls)
    fields = [f.name for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")]
    namespace: dict[str, Any] = {"cls": cls, "dict": dict, "len": len, "KeyError": KeyError, "TypeError": TypeError}
    mismatch = f"expected the fields of {cls.__name__}"
    lines = [
        "def decode(data):",  # as many keys as fields, and every field found: the same keys
        f"    if type(data) is not dict or len(data) != {len(fields)}:",
        f"        raise TypeError({mismatch!r})",
        "    try:",
        *(f"        v{position} = data[{name!r}]" for position, name in enumerate(fields)),
        "    except KeyError:",
        f"        raise TypeError({mismatch!r}) from None",
    ]
    for position, name in enumerate(fields):
        hint, value = hints[name], f"v{position}"
        exact, optional = _exact_type(hint)
        if exact is not None:
            namespace[f"t{position}"] = exact
            allowed = f"type({value}) is not t{position}"
            if optional:
                allowed = f"{value} is not None and {allowed}"
            lines.append(f"    if {allowed}:")
            lines.append(f"        raise TypeError({f'{cls.__name__}.{name}: expected {exact.__name__}'!r})")
        else:
            namespace[f"d{position}"] = _decoder(hint)
            lines.append(f"    {value} = d{position}({value})")
    lines.append("    return cls(" + ", ".join(f"{name}=v{position}" for position, name in enumerate(fields)) + ")")
    exec("\n".join(lines), namespace)  # the source is made above from field names only
    return typing.cast(typing.Callable[[Any], Any], namespace["decode"])


def _exact_type(hint: Any) -> tuple[type | None, bool]:
    """(str, int or bool, whether None is allowed) when a field holds exactly that, else (None, False)."""
    if hint in (str, int, bool):
        return hint, False
    if typing.get_origin(hint) in (Union, types.UnionType):
        options = typing.get_args(hint)
        if len(options) == 2 and type(None) in options:
            (inner,) = [o for o in options if o is not type(None)]
            if inner in (str, int, bool):
                return inner, True
    return None, False


def _list(data: Any) -> list[Any]:
    if type(data) is not list:
        raise TypeError("expected a list")
    return data


def _strings(data: Any) -> tuple[str, ...]:
    if type(data) is not list or not _only_strings(data):
        raise TypeError("expected a list of strings")
    return tuple(data)


def _only_strings(items: list[Any] | tuple[Any, ...]) -> bool:
    # the types are gathered in C: a generator's test per item was most of decoding a model
    return set(map(type, items)) <= {str}


def _float(data: Any) -> float:
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return float(data)
    raise TypeError(f"expected float, found {type(data).__name__}")


def _exactly(hint: type, data: Any) -> Any:
    if type(data) is hint:
        return data
    raise TypeError(f"expected {hint}, found {type(data).__name__}")


@functools.cache  # resolving string annotations is slow; the models are a fixed set of classes
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)
