"""Sidecar loading: every malformed input is a finding with path:line:col and a hint, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from annotator_docs.sidecar import MAX_SIDECAR_BYTES, load_sidecar

GOOD = b'source: "a.py"\nnotes:\n  - symbol: main\n    body: "hello"\n'


def only_finding(data: bytes):
    result = load_sidecar(data, "annotations/a.py.yaml")
    assert result.sidecar is None
    assert len(result.findings) >= 1
    return result.findings[0]


def test_a_good_sidecar_loads():
    result = load_sidecar(GOOD, "annotations/a.py.yaml")
    assert result.findings == ()
    assert result.sidecar.notes[0].symbol == "main" and result.sidecar.notes[0].sidecar_line == 3


@pytest.mark.parametrize(
    "data, code, line, column, message",
    [
        (b"", "S006", 1, 1, "sidecar is empty"),
        (b'source: "a.py"\nnotes: [\n', "S004", 3, 1, "YAML syntax error"),
        (b'source: &s "a.py"\ntitle: *s\n', "S005", 1, 9, "anchors and aliases are not allowed"),
        (b'source: "a.py"\nsource: "b.py"\n', "S009", 2, 1, "duplicate key `source` (first at line 1)"),
        (
            b'source: "a.py"\nnotes:\n  - symbol: main\n    body: no\n',
            "S010",
            4,
            11,
            ".notes[0].body: expected string, found boolean",
        ),
        (b'source: "a.py"\ntitel: "x"\n', "S010", 2, 1, "the document: unknown key `titel`"),
        (b'source: "../etc/passwd"\n', "S010", 1, 9, "relative upstream path"),
        (b'source: "a.py"\npriority: urgent\n', "S010", 2, 11, ".priority: `urgent` is not one of critical, high, normal"),
        (b'source: "a.py"\nnotes:\n  - symbol: main\n', "S010", 3, 5, "a note needs text"),
        (b'source: "a.py"\n? [a, b]\n: 1\n', "S008", 2, 3, "mapping keys must be plain strings"),
        (b"source: 'caf\xe9'\n", "S003", 1, 13, "not valid UTF-8"),
        (b'source: "a.py"\x00\n', "S003", 1, 1, "NUL byte"),
    ],
    ids=[
        "empty",
        "syntax",
        "alias",
        "duplicate",
        "yaml11-no",
        "unknown-key",
        "dotdot-source",
        "enum",
        "empty-note",
        "complex-key",
        "latin1",
        "nul",
    ],
)
def test_loader_errors_name_position_and_problem(data, code, line, column, message):
    finding = only_finding(data)
    assert (finding.code, finding.line, finding.column) == (code, line, column)
    assert message in finding.message
    assert finding.format().startswith(f"annotations/a.py.yaml:{line}:{column}: {code} ")


def test_yaml_11_boolean_gets_a_quoting_hint():
    finding = only_finding(b'source: "a.py"\nnotes:\n  - symbol: main\n    body: no\n')
    assert finding.hint == "YAML 1.1 reads `no` as false; put it in quotes"


def test_oversized_sidecar_is_refused_before_parsing():
    finding = only_finding(b"#" * (MAX_SIDECAR_BYTES + 1))
    assert finding.code == "S002" and "limit" in finding.message


def test_alias_bomb_is_refused_without_expanding():
    bomb = b'source: "a.py"\na: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nd: [*c,*c]\n'
    assert only_finding(bomb).code == "S005"


def test_deep_nesting_is_refused():
    finding = only_finding(b'source: "a.py"\nnotes: ' + b"[" * 50 + b"]" * 50 + b"\n")
    assert finding.code == "S007" and "nesting deeper" in finding.message


def test_very_deep_nesting_does_not_crash():
    assert only_finding(b"a: " + b"[" * 100_000 + b"]" * 100_000 + b"\n").code in ("S004", "S007")


def test_bom_and_crlf_are_accepted():
    result = load_sidecar(b"\xef\xbb\xbf" + GOOD.replace(b"\n", b"\r\n"), "annotations/a.py.yaml")
    assert result.findings == () and result.sidecar.notes[0].body == "hello"


@pytest.mark.parametrize(
    "data",
    [b"source: !!python/object:os.system a.py\n", b"source: a.py\nx: !!binary aGk=\n", b"source: a.py\n=: x\n"],
    ids=["python-tag", "binary", "value-key"],
)
def test_explicit_tags_are_refused(data):
    finding = only_finding(data)
    assert finding.code in ("S012", "S010") and finding.line >= 1


def test_yaml_only_line_breaks_keep_positions_aligned():
    result = load_sidecar(b'source: "a.py"\ntitle: "x\xc2\x85y"\npriority: urgent\n', "annotations/a.py.yaml")
    assert result.findings[0].line == 3


@pytest.mark.parametrize(
    "value, message", [("2026-12-01", "is read as a date"), ("1:30", "is read as a base-60 number")], ids=["date", "sexagesimal"]
)
def test_yaml_11_dates_and_base_60_numbers_are_refused_where_they_stand(value, message):
    data = f'source: "a.py"\nnotes:\n  - quote: "x"\n    lines: {value}\n    body: "y"\n'.encode()
    finding = only_finding(data)
    assert (finding.code, finding.line, finding.column) == ("S013", 4, 12) and message in finding.message


def test_a_schema_error_quotes_only_a_short_excerpt_of_a_huge_value():
    huge = "x" * 30_000
    finding = only_finding(f'source: "a.py"\nnotes:\n  - symbol: main\n    body: "{huge}"\n'.encode())
    assert finding.code == "S010" and "30000 characters; the limit is at most 20000" in finding.message
    assert len(finding.format()) < 300


@pytest.mark.parametrize("field", ["source", "symbol", "quote", "section", "end_quote"])
def test_anchor_fields_and_source_refuse_control_characters(field):
    value = json.dumps("a\x1b[31mb\x07")
    extra = "quote: q\n    " if field == "end_quote" else ""
    data = (
        f"source: {value}\n" if field == "source" else f'source: "a.py"\nnotes:\n  - {extra}{field}: {value}\n    body: "x"\n'
    ).encode()
    finding = only_finding(data)
    assert finding.code == "S010" and ("control characters" in finding.message or ".source" in finding.message)
    assert "\x1b" not in finding.format()


def test_loading_one_sidecar_many_times_keeps_memory_flat():
    import gc
    import tracemalloc

    data = GOOD * 1
    load_sidecar(data, "annotations/a.py.yaml")
    gc.collect()
    tracemalloc.start()
    for _ in range(50):
        load_sidecar(data, "annotations/a.py.yaml")
    gc.collect()
    first, _ = tracemalloc.get_traced_memory()
    for _ in range(500):
        load_sidecar(data, "annotations/a.py.yaml")
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert after - first < 50_000, f"{after - first} bytes more after 500 more loads"


def _mutations(document):
    """Every value replaced by each wrong kind of value, and an unknown key in every mapping."""
    wrong = [None, 0, 1.5, True, "", "x\x00y", "a" * 300, [], ["x"], {}, {"k": "v"}]

    def walk(node, path):
        yield path
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in children:
            yield from walk(child, (*path, key))

    def replaced(node, path, value):
        if not path:
            return value
        copy = dict(node) if isinstance(node, dict) else list(node)
        copy[path[0]] = replaced(node[path[0]], path[1:], value)
        return copy

    def get(node, path):
        for step in path:
            node = node[step]
        return node

    for path in walk(document, ()):
        for value in wrong:
            yield replaced(document, path, value)
        if isinstance(get(document, path), dict):
            yield replaced(document, path, {**get(document, path), "unknown_key": "x"})
        if isinstance(get(document, path), dict):
            for key in get(document, path):
                node = dict(get(document, path))
                del node[key]
                yield replaced(document, path, node)


def test_the_compiled_schema_and_jsonschema_agree_on_every_mutation_of_real_sidecars():
    """The fast check decides most loads alone: it must say "valid" exactly when jsonschema does."""
    from annotator_docs.sidecar import _is_valid, _validator

    repository = Path(__file__).resolve().parents[1]
    sidecars = [p for p in (repository / "annotations").rglob("*.yaml") if not p.name.startswith("_")]
    smallest = sorted(sidecars, key=lambda p: p.stat().st_size)[:2]
    documents = [yaml.safe_load(p.read_text("utf-8")) for p in smallest]
    assert documents
    checked = invalid = 0
    for document in documents:
        for mutated in _mutations(document):
            expected = _validator().is_valid(mutated)
            assert _is_valid()(mutated) is expected, mutated
            checked += 1
            invalid += not expected
    assert checked > 500 and invalid > checked // 4  # the mutations reach the schema's rules
