"""Write access to sidecars: ``init`` scaffolds one, ``pin`` records anchors in place.

``pin`` edits the text line by line at the positions YAML reports, so comments, key order,
quoting and every word of prose stay exactly as the annotator wrote them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .anchors import State, span_fingerprint
from .errors import AnnotatorError
from .extract.yaml_keys import YAML_ONLY_BREAKS
from .model import CALLABLE_KINDS, COVERED_KINDS, SourceModel, SymbolKind
from .project import FileAnalysis, Project, write_atomic
from .sidecar import SCHEMA_MODELINE

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # the line breaks YAML counts


# -- init -----------------------------------------------------------------------------------
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
    banners_by_owner: dict[str, list] = {}
    for banner in model.banners:
        banners_by_owner.setdefault(banner.owner, []).append(banner)
    for symbol in model.symbols:
        if symbol.kind not in COVERED_KINDS:
            continue
        if symbol.kind is SymbolKind.YAML_KEY and "." in symbol.path:
            continue  # a note on a key covers the keys under it
        out.append(f"  - symbol: {json.dumps(symbol.path)}")
        if symbol.kind in CALLABLE_KINDS:
            out += ['    what: ""', '    why: ""', '    how: ""']
        else:
            out.append('    body: ""')
        for banner in banners_by_owner.get(symbol.path, []):
            out += [f"  - symbol: {json.dumps(symbol.path)}", f"    section: {json.dumps(banner.title)}", '    body: ""']
    if out[-1] == "notes:":
        out[-1] = "notes: []"
    return "\n".join(out) + "\n"


def schema_reference(project: Project, sidecar_file: Path) -> str:
    """Relative path from a sidecar to the JSON Schema, for the editor modeline."""
    packaged = Path(__file__).parent / "schema" / "sidecar.schema.json"
    if packaged.resolve().is_relative_to(project.root.resolve()):
        target = packaged.resolve()
    else:
        target = project.annotations_dir / "sidecar.schema.json"
        write_atomic(target, packaged.read_bytes())
    return Path(os.path.relpath(target, sidecar_file.parent.resolve())).as_posix()


def init_sidecar(project: Project, path: str, priority: str = "normal") -> Path:
    if project.lock.file(path) is None:
        raise AnnotatorError(f"`{path}` is not in the snapshot lock; add it to {project.lock.lock_path.name} first")
    model = project.model(path)
    if model is None:
        raise AnnotatorError(f"source `{path}` is not pulled; run `annotator snapshot pull`")
    target = project.sidecar_file(path)
    if target.exists():
        raise AnnotatorError(f"{target.relative_to(project.root)} already exists; init never overwrites a sidecar")
    target.parent.mkdir(parents=True, exist_ok=True)
    text = scaffold(model, schema_reference(project, target), priority)
    with target.open("x", encoding="utf-8") as handle:  # "x": never overwrite, even in a race
        handle.write(text)
    return target


# -- pin ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PinChange:
    note_id: str
    line: int
    what: str


def pin_text(text: str, analysis: FileAnalysis) -> tuple[str, list[PinChange]]:
    """Record fingerprint, line hint and moved symbol paths; returns the new text and the changes."""
    # Compose what the loader sees (same length, so marks and columns agree) but edit the original.
    root = yaml.compose(text.translate(YAML_ONLY_BREAKS), Loader=_Loader)
    notes_node = next((v for k, v in root.value if k.value == "notes"), None) if isinstance(root, yaml.MappingNode) else None
    if not isinstance(notes_node, yaml.SequenceNode):
        return text, []
    lines = _LINE.findall(text)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    edits: list[tuple[int, str, str | None, int, int]] = []  # (line index, kind, text, col start, col end)
    changes: list[PinChange] = []
    for resolved, node in zip(analysis.notes, notes_node.value):
        if resolved.state is State.ORPHANED or resolved.is_file_level or resolved.span is None:
            continue
        wanted = {"fingerprint": json.dumps(span_fingerprint(analysis.model, resolved.span)), "line": str(resolved.span.start)}
        if resolved.symbol and resolved.note.symbol and resolved.symbol != resolved.note.symbol:
            wanted["symbol"] = json.dumps(resolved.symbol)
        keys = {k.value: (k, v) for k, v in node.value}
        present = [keys[k] for k in ("symbol", "section", "quote", "lines", "end_quote", "line") if k in keys]
        anchor_key = max(present, key=lambda pair: pair[1].end_mark.line, default=None)
        for key, value_text in wanted.items():
            if key in keys:
                key_node, value_node = keys[key]
                current = value_node.value if isinstance(value_node, yaml.ScalarNode) else None
                if current is not None and json.dumps(current) == value_text or current == value_text:
                    continue
                if value_node.start_mark.line != value_node.end_mark.line:
                    raise AnnotatorError(f"{analysis.sidecar_path}:{value_node.start_mark.line + 1}: `{key}` must be on one line for pin")
                edits.append((value_node.start_mark.line, "replace", value_text, value_node.start_mark.column, value_node.end_mark.column))
            else:
                if anchor_key is None or anchor_key[1].start_mark.line != anchor_key[1].end_mark.line:
                    raise AnnotatorError(f"{analysis.sidecar_path}:{node.start_mark.line + 1}: cannot place `{key}`; put `symbol` or `quote` on one line")
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


def pin_file(project: Project, path: str, dry_run: bool = False) -> list[PinChange]:
    analysis = project.analyse(path)
    if analysis.model is None:
        raise AnnotatorError(f"source `{path}` is not pulled; run `annotator snapshot pull`")
    if analysis.sidecar is None:
        if analysis.sidecar_exists:
            raise AnnotatorError(f"{analysis.sidecar_path} has errors; fix them (`annotator check`) before pinning")
        return []
    file = project.sidecar_file(path)
    text = file.read_bytes().decode("utf-8-sig")
    new_text, changes = pin_text(text, analysis)
    if changes and not dry_run:
        write_atomic(file, new_text.encode("utf-8"))
    return changes
