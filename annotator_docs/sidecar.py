"""Stage 3: the sidecar format. Bounded, safe loading into frozen models; every problem a Finding.

A sidecar is ``annotations/<upstream path>.yaml``. Loading refuses what YAML would otherwise
do silently (anchors and aliases, duplicate keys, huge or deeply nested documents) and
validates against the packaged JSON Schema (draft-07), reporting each problem at its
``path:line:col``. YAML 1.1 surprises (``no`` read as false) surface as schema errors with a hint.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema
import yaml

from .extract.yaml_keys import YAML_ONLY_BREAKS
from .findings import Finding, excerpt
from .models import DataFlow, LoadResult, Note, Priority, Sidecar

if TYPE_CHECKING:
    import jsonschema  # imported when a sidecar fails the fast check: most builds never need it

MAX_SIDECAR_BYTES = 1 << 20
MAX_DEPTH = 12
SCHEMA_MODELINE = "# yaml-language-server: $schema="
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")}
_PLAIN_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", list: "list", dict: "mapping"}


@cache
def schema() -> dict[str, Any]:
    text = resources.files("annotator_docs.schema").joinpath("sidecar.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def load_sidecar_file(file: Path, display_path: str) -> LoadResult:
    try:
        size = file.stat().st_size
    except OSError as exc:
        return _fail(display_path, 1, 1, "S001", f"cannot read sidecar: {exc.strerror}", "")
    if size > MAX_SIDECAR_BYTES:
        return _fail(
            display_path,
            1,
            1,
            "S002",
            f"sidecar is {size} bytes, over the {MAX_SIDECAR_BYTES} byte limit",
            "split the notes or shorten them",
        )
    return load_sidecar(file.read_bytes(), display_path)


def load_sidecar(data: bytes, display_path: str) -> LoadResult:
    """Parse and validate one sidecar's bytes. Never raises for bad input."""
    if len(data) > MAX_SIDECAR_BYTES:
        return _fail(
            display_path,
            1,
            1,
            "S002",
            f"sidecar is {len(data)} bytes, over the {MAX_SIDECAR_BYTES} byte limit",
            "split the notes or shorten them",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return _fail(display_path, line, column, "S003", "sidecar is not valid UTF-8", "save the file as UTF-8")
    text = text.removeprefix("\ufeff").translate(YAML_ONLY_BREAKS)
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return _fail(display_path, line, 1, "S003", "sidecar contains a NUL byte", "remove the control character")

    try:
        for event in yaml.parse(text, Loader=_Loader):
            anchor = getattr(event, "anchor", None)
            if (isinstance(event, yaml.AliasEvent) or anchor) and event.start_mark is not None:
                mark = event.start_mark
                return _fail(
                    display_path,
                    mark.line + 1,
                    mark.column + 1,
                    "S005",
                    f"YAML anchors and aliases are not allowed (`{'*' if isinstance(event, yaml.AliasEvent) else '&'}{anchor}`)",
                    "write the text out in full",
                )
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        where = exc.problem_mark or exc.context_mark
        line, column = (where.line + 1, where.column + 1) if where else (1, 1)
        return _fail(
            display_path,
            line,
            column,
            "S004",
            f"YAML syntax error: {exc.problem or exc.context}",
            "check indentation and quoting near this position",
        )
    except (yaml.YAMLError, RecursionError) as exc:
        return _fail(display_path, 1, 1, "S004", f"YAML cannot be read ({exc.__class__.__name__})", "simplify the document")
    if node is None:
        return _fail(display_path, 1, 1, "S006", "sidecar is empty", "start from `annotator init SOURCE`")

    problem = _check_structure(node, depth=0)
    if problem:
        return LoadResult(None, (Finding(path=display_path, **problem),))
    constructed = _construct(node, yaml.constructor.SafeConstructor())  # one per load: nothing outlives it
    if isinstance(constructed, Finding):
        return LoadResult(None, (dataclasses.replace(constructed, path=display_path),))
    data_tree = constructed

    findings = _schema_findings(data_tree, node, display_path)
    if findings:
        return LoadResult(None, tuple(findings))
    return LoadResult(_build(data_tree, node, display_path), ())


def _fail(path: str, line: int, column: int, code: str, message: str, hint: str) -> LoadResult:
    return LoadResult(None, (Finding(code=code, message=message, path=path, line=line, column=column, hint=hint),))


def _check_structure(node: yaml.Node, depth: int) -> dict[str, Any] | None:
    """Refuse deep nesting and duplicate keys (PyYAML would silently keep the last one)."""
    mark = node.start_mark
    if node.tag not in _PLAIN_TAGS:
        return {
            "code": "S012",
            "message": f"YAML tag `{node.tag}` is not allowed",
            "line": mark.line + 1,
            "column": mark.column + 1,
            "hint": "sidecars hold plain strings, numbers, lists and mappings",
        }
    if depth > MAX_DEPTH:
        return {
            "code": "S007",
            "message": f"nesting deeper than {MAX_DEPTH} levels",
            "line": mark.line + 1,
            "column": mark.column + 1,
            "hint": "sidecars are shallow: file sections and a list of notes",
        }
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                return {
                    "code": "S008",
                    "message": "mapping keys must be plain strings",
                    "line": key.start_mark.line + 1,
                    "column": key.start_mark.column + 1,
                    "hint": "",
                }
            if key.value in seen:
                return {
                    "code": "S009",
                    "message": f"duplicate key `{key.value}` (first at line {seen[key.value]})",
                    "line": key.start_mark.line + 1,
                    "column": key.start_mark.column + 1,
                    "hint": "merge the two entries; YAML would silently keep only the last one",
                }
            seen[key.value] = key.start_mark.line + 1
            problem = _check_structure(value, depth + 1)
            if problem:
                return problem
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            problem = _check_structure(item, depth + 1)
            if problem:
                return problem
    return None


def _construct(node: yaml.Node, constructor: yaml.constructor.SafeConstructor) -> Any:
    """Plain data from a checked node tree, scalars resolved as YAML 1.1 reads them, except the two
    readings that silently change a value: dates and base-60 numbers (`lines: 1:30` is 90)."""
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key, value in node.value:
            item = _construct(value, constructor)
            if isinstance(item, Finding):
                return item
            out[key.value] = item
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for child in node.value:
            item = _construct(child, constructor)
            if isinstance(item, Finding):
                return item
            items.append(item)
        return items
    mark = node.start_mark
    if node.tag.endswith(":timestamp"):
        return Finding(
            "S013", f"`{excerpt(node.value)}` is read as a date", "", mark.line + 1, mark.column + 1, hint="put it in quotes"
        )
    if node.tag.endswith((":int", ":float")) and ":" in node.value:
        return Finding(
            "S013",
            f"`{excerpt(node.value)}` is read as a base-60 number",
            "",
            mark.line + 1,
            mark.column + 1,
            hint="write the number plainly, or quote it if it is text",
        )
    try:
        return constructor.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        return Finding(
            "S004",
            f"YAML value cannot be read ({exc.__class__.__name__})",
            "",
            mark.line + 1,
            mark.column + 1,
            hint="quote the value",
        )


def _node_at(node: yaml.Node, path: list[Any]) -> yaml.Node:
    """The node at a JSON path (as jsonschema reports it), or the deepest one that exists."""
    for step in path:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == step), None)
            if match is None:
                return node
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            return node
    return node


@cache
def _validator() -> jsonschema.Draft7Validator:
    import jsonschema

    return jsonschema.Draft7Validator(schema())


@cache
def _is_valid() -> Any:
    """The schema compiled to Python once per process: ten times faster than jsonschema's walk (a
    cold build checks every sidecar); jsonschema stays the judge and explains what is wrong."""
    check = fastjsonschema.compile(schema())

    def is_valid(data: Any) -> bool:
        try:
            check(data)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return is_valid


def _schema_findings(data: Any, root: yaml.Node, display_path: str) -> list[Finding]:
    if _is_valid()(data):
        return []
    validator = _validator()
    findings = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(error.absolute_path)
        node = _node_at(root, path)
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path) or "the document"
        message, hint = _explain(error, node, where)
        if error.validator == "additionalProperties" and isinstance(node, yaml.MappingNode):
            extra = next((k for k, _ in node.value if k.value not in error.schema.get("properties", {})), None)
            if extra is not None:
                node = extra
        findings.append(
            Finding(
                code="S010",
                message=message,
                path=display_path,
                line=node.start_mark.line + 1,
                column=node.start_mark.column + 1,
                hint=hint,
            )
        )
    return findings


def _explain(error: jsonschema.ValidationError, node: yaml.Node, where: str) -> tuple[str, str]:
    """Our own words for a schema error, quoting at most a short excerpt of the offending value
    (jsonschema's messages repeat the whole value, which can be megabytes)."""
    kind, limit, value = error.validator, error.validator_value, error.instance
    properties: dict[str, Any] = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    if kind == "type":
        found = _PLAIN_TYPES.get(type(value), type(value).__name__)
        hint = ""
        if isinstance(value, bool) and isinstance(node, yaml.ScalarNode):
            hint = f"YAML 1.1 reads `{excerpt(node.value)}` as {str(value).lower()}; put it in quotes"
        elif isinstance(value, (int, float)) and isinstance(node, yaml.ScalarNode):
            hint = f"YAML reads `{excerpt(node.value)}` as a number; put it in quotes"
        return f"{where}: expected {limit}, found {found}", hint
    if kind == "additionalProperties":
        allowed = ", ".join(sorted(properties))
        extra = sorted(set(value) - set(properties)) if isinstance(value, dict) else []
        return f"{where}: unknown key `{excerpt(extra[0] if extra else '?')}`", f"allowed keys: {allowed}"
    if kind == "anyOf" and where.startswith(".notes"):
        return f"{where}: a note needs text in `body`, `what`, `why` or `how`", "add at least one of them"
    if kind == "enum":
        return f"{where}: `{excerpt(value)}` is not one of {', '.join(map(str, limit))}", ""  # type: ignore[arg-type]
    if kind == "pattern" and where == ".source":
        return f"{where}: must be a relative upstream path without `.` or `..` parts or control characters", ""
    if kind == "pattern" and isinstance(value, str) and any(ord(c) < 32 or ord(c) == 127 for c in value):
        return f"{where}: must be one line without control characters", "remove line breaks, tabs and escape codes"
    if kind == "pattern":
        return f"{where}: `{excerpt(value)}` is not in the expected form", ""
    if kind in ("maxLength", "minLength") and isinstance(value, str):
        return (
            f"{where}: {len(value)} characters; the limit is {'at most' if kind == 'maxLength' else 'at least'} {limit}",
            "split the note or shorten it" if kind == "maxLength" else "",
        )
    if kind in ("maxItems", "minItems") and isinstance(value, list):
        return f"{where}: {len(value)} items; the limit is {'at most' if kind == 'maxItems' else 'at least'} {limit}", ""
    if kind in ("minimum", "maximum"):
        return f"{where}: {excerpt(value)} is {'below' if kind == 'minimum' else 'above'} {limit}", ""
    if kind == "dependencies":
        return f"{where}: {excerpt(error.message, 120)}", "`lines` and `end_quote` end a `quote`"
    return f"{where}: {excerpt(error.message, 120)}", ""


def _build(data: dict[str, Any], root: yaml.Node, display_path: str) -> Sidecar:
    notes_node = _node_at(root, ["notes"])
    notes = []
    for index, raw in enumerate(data.get("notes") or []):
        node = notes_node.value[index] if isinstance(notes_node, yaml.SequenceNode) else root
        notes.append(
            Note(
                index=index,
                sidecar_line=node.start_mark.line + 1,
                symbol=raw.get("symbol"),
                section=raw.get("section"),
                quote=raw.get("quote"),
                quote_length=raw.get("lines"),
                end_quote=raw.get("end_quote"),
                line_hint=raw.get("line"),
                fingerprint=raw.get("fingerprint"),
                id=raw.get("id"),
                title=raw.get("title", ""),
                what=raw.get("what", ""),
                why=raw.get("why", ""),
                how=raw.get("how", ""),
                body=raw.get("body", ""),
            )
        )
    flow = data.get("data_flow") or {}
    return Sidecar(
        sidecar_file=display_path,
        source=data["source"],
        title=data.get("title", ""),
        priority=Priority(data.get("priority", "normal")),
        overview=data.get("overview", ""),
        role=data.get("role", ""),
        key_innovations=tuple(data.get("key_innovations") or ()),
        data_flow=DataFlow(**{k: flow.get(k, "") for k in ("origin", "processing", "destination")}),
        takeaways=tuple(data.get("takeaways") or ()),
        notes=tuple(notes),
    )
