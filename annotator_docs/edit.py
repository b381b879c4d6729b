"""Write access to sidecars: ``init`` scaffolds one, ``pin`` records anchors in place.

``pin`` edits the text line by line at the positions YAML reports, so comments, key order,
quoting and every word of prose stay exactly as the annotator wrote them. Review is explicit:
``pin`` records new notes, moves and reformat-only changes by itself, but a note whose code
*changed* keeps its old fingerprint (and stays "needs review") until it is accepted by name or
with ``--accept all``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .anchors import fingerprint
from .extract.yaml_keys import YAML_ONLY_BREAKS
from .findings import fail
from .layout import sidecar_path
from .models import CALLABLE_KINDS, COVERED_KINDS, Banner, FileAnalysis, LockedFile, ResolvedNote, SourceModel, State, SymbolKind
from .paths import write_atomic
from .sidecar import SCHEMA_MODELINE

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # the line breaks YAML counts
ACCEPT_ALL = "all"


# -- init -----------------------------------------------------------------------------------------
def scaffold(model: SourceModel, schema_ref: str, priority: str = "normal") -> str:
    """A sidecar listing every symbol to cover, with empty note slots."""
    out = [
        f"{SCHEMA_MODELINE}{schema_ref}",
        f"source: {json.dumps(model.path)}",
        f"priority: {priority}",
        'overview: ""',
        'role: ""',
        "key_innovations: []",
        "data_flow:",
        '  origin: ""',
        '  processing: ""',
        '  destination: ""',
        "takeaways: []",
        "notes:",
    ]
    banners_by_owner: dict[str, list[Banner]] = {}
    for banner in model.banners:
        banners_by_owner.setdefault(banner.owner, []).append(banner)
    for symbol in model.symbols:
        if symbol.kind not in COVERED_KINDS:
            continue
        if symbol.kind is SymbolKind.YAML_KEY and "." in symbol.qualname:
            continue  # a note on a key covers the keys under it
        out.append(f"  - symbol: {json.dumps(symbol.qualname)}")
        if symbol.kind in CALLABLE_KINDS:
            out += ['    what: ""', '    why: ""', '    how: ""']
        else:
            out.append('    body: ""')
        for banner in banners_by_owner.get(symbol.qualname, []):
            out += [f"  - symbol: {json.dumps(symbol.qualname)}", f"    section: {json.dumps(banner.title)}", '    body: ""']
    if out[-1] == "notes:":
        out[-1] = "notes: []"
    return "\n".join(out) + "\n"


def schema_reference(project_root: Path, annotations_dir: Path, sidecar_file: Path) -> str:
    """Relative path from a sidecar to the JSON Schema, for the editor modeline."""
    packaged = Path(__file__).parent / "schema" / "sidecar.schema.json"
    if packaged.resolve().is_relative_to(project_root.resolve()):
        target = packaged.resolve()
    else:  # an installed annotator: keep a copy beside the sidecars
        target = annotations_dir / "sidecar.schema.json"
        write_atomic(target, packaged.read_bytes())
    return Path(os.path.relpath(target, sidecar_file.parent.resolve())).as_posix()


def write_scaffold(target: Path, text: str) -> None:
    if target.exists():
        fail("C002", f"{target} already exists; init never overwrites a sidecar")
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("x", encoding="utf-8") as handle:  # "x": never overwrite, even in a race
        handle.write(text)


# -- pin --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PinChange:
    note_id: str
    line: int
    what: str
    applied: bool = True  # False: reported, not written (a changed note nobody accepted)


def pin_text(text: str, analysis: FileAnalysis, accept: frozenset[str] = frozenset()) -> tuple[str, list[PinChange]]:
    """Record fingerprints, line hints and renamed symbol paths; returns the new text and the changes."""
    assert analysis.model is not None
    # Compose what the loader sees (same length, so marks and columns agree) but edit the original.
    root = yaml.compose(text.translate(YAML_ONLY_BREAKS), Loader=_Loader)
    notes_node = next((v for k, v in root.value if k.value == "notes"), None) if isinstance(root, yaml.MappingNode) else None
    if not isinstance(notes_node, yaml.SequenceNode):
        return text, []
    lines = _LINE.findall(text)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    edits: list[tuple[int, str, str, int, int]] = []  # (line index, kind, text, col start, col end)
    changes: list[PinChange] = []
    display = sidecar_path(analysis.file)
    for resolved, node in zip(analysis.notes, notes_node.value):
        if resolved.state is State.ORPHANED or resolved.is_file_level or resolved.span is None:
            continue
        if resolved.state is State.CHANGED and not (ACCEPT_ALL in accept or resolved.note_id in accept):
            changes.append(
                PinChange(
                    resolved.note_id,
                    node.start_mark.line + 1,
                    "left as it is: its code changed (review it, then `pin --accept " + resolved.note_id + "`)",
                    applied=False,
                )
            )
            continue
        wanted = _wanted(resolved, analysis)
        keys = {k.value: (k, v) for k, v in node.value}
        present = [keys[k] for k in ("symbol", "section", "quote", "lines", "end_quote", "line") if k in keys]
        anchor_key = max(present, key=lambda pair: pair[1].end_mark.line, default=None)
        for key, value_text in wanted.items():
            if key in keys:
                _, value_node = keys[key]
                current = value_node.value if isinstance(value_node, yaml.ScalarNode) else None
                if current is not None and (json.dumps(current) == value_text or current == value_text):
                    continue
                if value_node.start_mark.line != value_node.end_mark.line:
                    fail("C002", f"`{key}` must be on one line for pin", path=display, line=value_node.start_mark.line + 1)
                edits.append(
                    (value_node.start_mark.line, "replace", value_text, value_node.start_mark.column, value_node.end_mark.column)
                )
            else:
                if anchor_key is None or anchor_key[1].start_mark.line != anchor_key[1].end_mark.line:
                    fail(
                        "C002",
                        f"cannot place `{key}`; put `symbol` or `quote` on one line",
                        path=display,
                        line=node.start_mark.line + 1,
                    )
                indent = " " * anchor_key[0].start_mark.column
                edits.append((anchor_key[1].end_mark.line, "insert", f"{indent}{key}: {value_text}", 0, 0))
            changes.append(PinChange(resolved.note_id, node.start_mark.line + 1, f"{key} -> {value_text}"))
    for index, kind, value, start, end in sorted(edits, key=lambda e: (e[0], e[1] == "insert"), reverse=True):
        if kind == "replace":
            line = lines[index]
            lines[index] = line[:start] + value + line[end:]
        else:
            lines.insert(index + 1, value + newline)
    return "".join(lines), changes


def _wanted(resolved: ResolvedNote, analysis: FileAnalysis) -> dict[str, str]:
    model = analysis.model
    assert model is not None and resolved.span is not None
    symbol = model.symbol(resolved.symbol) if resolved.symbol else None
    exact = symbol if symbol is not None and symbol.span == resolved.span else None
    wanted = {
        "fingerprint": json.dumps(str(fingerprint(model, resolved.span, exact, similar=True))),
        "line": str(resolved.span.start),
    }
    if resolved.symbol and resolved.note.symbol and resolved.symbol != resolved.note.symbol:
        wanted["symbol"] = json.dumps(resolved.symbol)
    return wanted


def accepted_code(analysis: FileAnalysis, note: ResolvedNote, limit: int = 12) -> str:
    """The code a note will describe once accepted (what `pin --accept` shows before writing)."""
    assert analysis.model is not None and note.span is not None
    lines = analysis.model.lines[note.span.start - 1 : note.span.end]
    shown = [f"    {note.span.start + i:5d} | {line}" for i, line in enumerate(lines[:limit])]
    if len(lines) > limit:
        shown.append(f"          | … {len(lines) - limit} more line(s)")
    return "\n".join(shown)


def pin_sidecar(text: str, analysis: FileAnalysis, accept: frozenset[str] = frozenset()) -> tuple[str, list[PinChange]]:
    """``pin_text`` with the checks a caller needs first (code pulled, sidecar valid)."""
    file: LockedFile = analysis.file
    if analysis.model is None:
        fail("C002", f"source `{file.key}` is not pulled", hint="run `annotator snapshot pull`")
    if analysis.sidecar is None:
        fail("C002", f"{sidecar_path(file)} has errors", hint="fix them (`annotator check`) before pinning")
    return pin_text(text, analysis, accept)
