"""YAML source -> key paths with spans (``a.b.c``, ``a[0]``), leading comment lines included."""

from __future__ import annotations

import yaml

from ..findings import Finding
from ..models import Language, SourceModel, Span, Symbol, SymbolKind
from .tokens import data_digest, yaml_tokens

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAML_ONLY_BREAKS = {0x85: " ", 0x2028: " ", 0x2029: " "}


def extract_yaml(path: str, lines: tuple[str, ...], sha256: str = "") -> SourceModel:
    # YAML also breaks lines at NEL, LS and PS; we don't, so blank them to keep line numbers aligned.
    text = ("\n".join(lines) + "\n").translate(YAML_ONLY_BREAKS)
    try:
        documents = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return _unparsed(path, lines, sha256, line, column, str(exc.problem or exc))
    except (yaml.YAMLError, RecursionError) as exc:
        return _unparsed(path, lines, sha256, 1, 1, exc.__class__.__name__)

    symbols: dict[str, Symbol] = {}
    walker = _Walker(lines, symbols)
    for document in documents:
        if document is not None:
            walker.walk(document, prefix="", in_sequence=False)
    ordered = sorted(symbols.values(), key=lambda s: (s.span.start, s.span.end, s.qualname))
    return SourceModel(
        path=path,
        language=Language.YAML,
        lines=lines,
        symbols=tuple(ordered),
        tokens=yaml_tokens(text, len(lines)),
        sha256=sha256,
    )


def _unparsed(path: str, lines: tuple[str, ...], sha256: str, line: int, column: int, message: str) -> SourceModel:
    finding = Finding(
        "E102",
        f"YAML source does not parse at line {line}: {message}",
        path,
        line,
        column,
        hint="the page shows the lines as text; its notes cannot anchor until the file parses",
    )
    return SourceModel(path=path, language=Language.YAML, lines=lines, findings=(finding,), sha256=sha256)


class _Walker:
    def __init__(self, lines: tuple[str, ...], symbols: dict[str, Symbol]) -> None:
        self.lines = lines
        self.symbols = symbols
        self.constructor = yaml.constructor.SafeConstructor()  # one per file: nothing outlives the extraction

    def walk(self, node: yaml.Node, prefix: str, in_sequence: bool) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
                path = f"{prefix}.{key}" if prefix else key
                self._add(path, key_node, value_node, in_sequence)
                self.walk(value_node, path, in_sequence)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                path = f"{prefix}[{index}]"
                self._add(path, item, item, True)
                self.walk(item, path, True)

    def _add(self, path: str, first: yaml.Node, last: yaml.Node, in_sequence: bool) -> None:
        if path in self.symbols:
            return
        start = min(first.start_mark.line + 1, max(1, len(self.lines)))
        end = last.end_mark.line + (1 if last.end_mark.column > 0 else 0)
        end = max(start, min(end, len(self.lines)))
        while end > start and _is_blank_or_comment(self.lines[end - 1]):
            end -= 1
        top = start
        while top > 1 and self.lines[top - 2].strip().startswith("#"):
            top -= 1
        kind = SymbolKind.YAML_ITEM if in_sequence else SymbolKind.YAML_KEY
        signature = self.lines[start - 1].strip()[:120]
        try:
            value = self.constructor.construct_object(last, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError):
            value = self.lines[start - 1 : end]
        self.symbols[path] = Symbol(
            qualname=path,
            kind=kind,
            span=Span(top, end),
            name_line=start,
            signature=signature,
            digest=data_digest([path.rsplit(".", 1)[-1], value]),
        )


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")
