"""Anchor resolution and the four states, on small sources we write here."""

from __future__ import annotations

import textwrap

from annotator_docs.anchors import State, fingerprint, resolve_note, similarity, span_fingerprint
from annotator_docs.extract import extract
from annotator_docs.model import Span
from annotator_docs.sidecar import Note

ORIGINAL = textwrap.dedent('''\
    import os


    def load(path):
        """Read a file."""
        with open(path) as handle:
            return handle.read()


    def score(values):
        total = 0
        for value in values:
            total += value
        return total
''')


def model_of(text: str):
    return extract("pkg/m.py", text.encode())


def pinned(symbol: str, text: str = ORIGINAL, **extra) -> Note:
    model = model_of(text)
    probe = resolve_note(Note(index=0, line=1, symbol=symbol, body="x", **extra), "n", "s.yaml", model)
    return Note(index=0, line=1, symbol=symbol, body="x", fingerprint=span_fingerprint(model, probe.span),
                line_hint=probe.span.start, **extra)


def resolve(note: Note, text: str):
    return resolve_note(note, "n", "annotations/pkg/m.py.yaml", model_of(text))


def test_unchanged_code_is_intact():
    assert resolve(pinned("score"), ORIGINAL).state is State.INTACT


def test_symbol_moved_twenty_lines_down_is_moved():
    shifted = ORIGINAL.replace("import os\n", "import os\n" + "\n" * 20)
    result = resolve(pinned("score"), shifted)
    assert result.state is State.MOVED and result.span == Span(30, 34)


def test_symbol_moved_into_a_class_is_moved_under_its_new_path():
    moved = ORIGINAL.replace("def score(values):", "class Stats:\n    def score(values):")
    moved = moved.replace("\n    total = 0", "\n        total = 0").replace("\n    for value", "\n        for value")
    moved = moved.replace("\n        total += value", "\n            total += value").replace("\n    return total", "\n        return total")
    result = resolve(pinned("score"), moved)
    assert result.state is State.MOVED and result.symbol == "Stats.score"


def test_edited_body_is_changed():
    edited = ORIGINAL.replace("total += value", "total += value * 2")
    result = resolve(pinned("score"), edited)
    assert result.state is State.CHANGED and result.span == Span(10, 14)


def test_renamed_symbol_is_orphaned_with_the_new_name_as_candidate():
    renamed = ORIGINAL.replace("def score(values):", "def total_score(values):")
    result = resolve(pinned("score"), renamed)
    assert result.state is State.ORPHANED and result.span is None
    assert result.candidates[0].symbol == "total_score"
    assert "unknown symbol `score`" in result.findings[0].message
    assert "total_score" in result.findings[0].hint


def test_deleted_symbol_is_orphaned_with_a_suggestion():
    deleted = ORIGINAL[: ORIGINAL.index("\n\ndef score")] + "\n"
    result = resolve(pinned("score"), deleted)
    assert result.state is State.ORPHANED
    assert result.findings[0].code == "A001"
    assert result.note.body == "x"  # never dropped


def test_did_you_mean_for_a_typo():
    result = resolve(Note(index=0, line=7, symbol="lod", body="x"), ORIGINAL)
    assert result.findings[0].hint == "did you mean `load`?"
    assert result.findings[0].line == 7


def test_quote_narrows_inside_a_symbol():
    note = Note(index=0, line=1, symbol="score", quote="for value in values:", lines=2, body="x")
    assert resolve(note, ORIGINAL).span == Span(12, 13)


def test_quote_with_end_quote():
    note = Note(index=0, line=1, symbol="load", quote="with open(path) as handle:", end_quote="return handle.read()", body="x")
    assert resolve(note, ORIGINAL).span == Span(6, 7)


def test_prefix_quote():
    note = Note(index=0, line=1, quote="with open(...", body="x")
    assert resolve(note, ORIGINAL).span == Span(6, 6)


def test_ambiguous_quote_is_an_error_not_a_guess():
    twice = ORIGINAL + "\n\ndef again(values):\n    total = 0\n    return total\n"
    result = resolve(Note(index=0, line=3, quote="total = 0", body="x"), twice)
    assert result.state is State.ORPHANED
    finding = result.findings[0]
    assert finding.code == "A005" and "matches 2 lines (11, 18)" in finding.message
    assert "narrow it with `symbol`" in finding.hint


def test_quote_not_found():
    result = resolve(Note(index=0, line=1, symbol="score", quote="return 42", body="x"), ORIGINAL)
    assert result.findings[0].code == "A004"


def test_unknown_section_lists_close_titles():
    source = "def main():\n    ####\n    # Load model\n    ####\n    x = 1\n"
    result = resolve(Note(index=0, line=1, symbol="main", section="Load modle", body="x"), source)
    assert result.findings[0].code == "A002" and result.findings[0].hint == "did you mean `Load model`?"


def test_lines_past_the_scope():
    result = resolve(Note(index=0, line=1, symbol="load", quote="def load(path):", lines=40, body="x"), ORIGINAL)
    assert result.findings[0].code == "A006"


def test_line_only_anchor_resolves_with_a_warning():
    result = resolve(Note(index=0, line=1, line_hint=11, body="x"), ORIGINAL)
    assert result.span == Span(11, 11) and result.findings[0].code == "A010"


def test_fingerprint_ignores_indentation_and_blank_lines():
    assert fingerprint(["def f():", "    return 1"]) == fingerprint(["  def f():", "", "        return 1"])
    assert fingerprint(["a = 1"]).split(":")[0] != fingerprint(["a = 2"]).split(":")[0]


def test_similarity_is_high_for_a_rename_and_low_for_other_code():
    model = model_of(ORIGINAL)
    before = span_fingerprint(model, model.symbol("score").span)
    renamed = model_of(ORIGINAL.replace("def score", "def total_score"))
    assert similarity(before, span_fingerprint(renamed, renamed.symbol("total_score").span)) >= 0.75
    assert similarity(before, span_fingerprint(model, model.symbol("load").span)) < 0.75
