"""Anchor resolution and the four states, on small sources we write here."""

from __future__ import annotations

import textwrap

from annotator_docs.anchors import fingerprint, resolve_note, similarity
from annotator_docs.extract import extract
from annotator_docs.models import Fingerprint, Note, Span, State

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


def edited(text: str, old: str, new: str) -> str:
    assert old in text, f"{old!r} is not in the source"
    return text.replace(old, new)


def note(**fields) -> Note:
    return Note(index=0, sidecar_line=fields.pop("sidecar_line", 1), body="x", **fields)


def pinned(text: str = ORIGINAL, **fields) -> Note:
    """A note as `annotator pin` leaves it: fingerprint and line hint of what it resolves to now."""
    model = model_of(text)
    probe = resolve_note(note(**fields), "n", "s.yaml", model)
    assert probe.span is not None and probe.state is State.INTACT
    symbol = model.symbol(probe.symbol) if probe.symbol else None
    exact = symbol if symbol is not None and symbol.span == probe.span else None
    return note(**fields, fingerprint=str(fingerprint(model, probe.span, exact, similar=True)), line_hint=probe.span.start)


def resolve(n: Note, text: str):
    return resolve_note(n, "n", "annotations/pkg/m.py.yaml", model_of(text))


def test_unchanged_code_is_intact():
    result = resolve(pinned(symbol="score"), ORIGINAL)
    assert result.state is State.INTACT and not result.reformatted and result.reason == ""


def test_symbol_moved_twenty_lines_down_is_moved_and_says_from_where():
    shifted = edited(ORIGINAL, "import os\n", "import os\n" + "\n" * 20)
    result = resolve(pinned(symbol="score"), shifted)
    assert result.state is State.MOVED and result.span == Span(30, 34)
    assert result.reason == "moved from line 10 to 30"


def test_symbol_moved_into_a_class_is_moved_under_its_new_path():
    body = "def score(values):\n    total = 0\n    for value in values:\n        total += value\n    return total\n"
    indented = "class Stats:\n" + textwrap.indent(body, "    ")
    result = resolve(pinned(symbol="score"), edited(ORIGINAL, body, indented))
    assert result.state is State.MOVED and result.symbol == "Stats.score"
    assert result.reason == "`score` is now `Stats.score`"


def test_edited_body_is_changed():
    result = resolve(pinned(symbol="score"), edited(ORIGINAL, "total += value", "total += value * 2"))
    assert result.state is State.CHANGED and result.span == Span(10, 14)
    assert "differs from the code the note was pinned to" in result.reason


def test_reformatting_is_intact_and_flagged():
    reformatted = edited(
        ORIGINAL, "def score(values):\n    total = 0\n", "def score(\n    values,\n):\n    # running sum\n    total = (0)\n"
    )
    result = resolve(pinned(symbol="score"), reformatted)
    assert result.state is State.INTACT and result.reformatted and result.reason == "reformatted"


def test_a_rewrapped_quote_still_matches():
    source = "def f(model, data):\n    trainer = Trainer(model=model, data=data)\n    return trainer\n"
    rewrapped = edited(
        source, "trainer = Trainer(model=model, data=data)", "trainer = Trainer(\n        model=model,\n        data=data,\n    )"
    )
    pin = pinned(source, symbol="f", quote="trainer = Trainer(model=model, data=data)")
    result = resolve(pin, rewrapped)
    assert result.span is not None and result.span.start == 2 and result.state is State.INTACT


def test_a_quote_still_matches_when_redundant_parentheses_go():
    source = "def f(d, s):\n    ev = (d[s] if s else None)\n    return ev\n"
    result = resolve(
        note(symbol="f", quote="ev = (d[s] if s else None)"), edited(source, "(d[s] if s else None)", "d[s] if s else None")
    )
    assert result.span == Span(2, 2)


def test_quote_whose_extent_no_longer_fits_is_changed_with_a_reason():
    pin = pinned(symbol="score", quote="for value in values:", quote_length=3)
    shorter = edited(ORIGINAL, "        total += value\n    return total\n", "        total += value\n")
    result = resolve(pin, shorter)
    assert result.state is State.CHANGED and result.span is not None and result.span.start == 12
    assert result.reason == "quote found at L12 but `lines: 3` runs past the end of lines 10-13"
    assert result.findings[0].code == "A020"


def test_end_quote_gone_is_changed_with_a_reason():
    pin = pinned(symbol="load", quote="with open(path) as handle:", end_quote="return handle.read()")
    result = resolve(pin, edited(ORIGINAL, "return handle.read()", "return handle.read(100)"))
    assert result.state is State.CHANGED
    assert result.reason == "quote found at L6 but end quote `return handle.read()` missing after it"


def test_renamed_symbol_is_orphaned_with_the_new_name_as_candidate_and_a_reason():
    result = resolve(
        pinned(symbol="score"), edited(ORIGINAL, "total += value", "total -= value").replace("def score", "def total_score")
    )
    assert result.state is State.ORPHANED and result.span is None
    assert result.candidates[0].qualname == "total_score"
    assert result.reason.startswith("symbol `score` not found in pkg/m.py; closest: total_score (")
    assert "total_score" in result.findings[0].hint


def test_deleted_symbol_is_orphaned_and_kept():
    result = resolve(pinned(symbol="score"), ORIGINAL[: ORIGINAL.index("\n\ndef score")] + "\n")
    assert result.state is State.ORPHANED and result.findings[0].code == "A001"
    assert result.note.body == "x"  # never dropped


def test_a_typo_in_a_new_note_is_an_error_with_suggestions_never_a_move():
    result = resolve(note(symbol="lod", sidecar_line=7), ORIGINAL)
    assert result.state is State.ORPHANED and result.moved_to is None
    finding = result.findings[0]
    assert finding.is_error and finding.hint == "did you mean `load`?" and finding.line == 7


def test_a_source_that_does_not_parse_orphans_its_notes_without_a_finding_each():
    broken = ORIGINAL + "\ndef broken(:\n"
    result = resolve(pinned(symbol="score"), broken)
    assert result.state is State.ORPHANED and result.findings == ()
    assert result.reason.startswith("source does not parse at line 16")


def test_quote_narrows_inside_a_symbol():
    assert resolve(note(symbol="score", quote="for value in values:", quote_length=2), ORIGINAL).span == Span(12, 13)


def test_quote_with_end_quote():
    n = note(symbol="load", quote="with open(path) as handle:", end_quote="return handle.read()")
    assert resolve(n, ORIGINAL).span == Span(6, 7)


def test_prefix_quote():
    assert resolve(note(quote="with open(..."), ORIGINAL).span == Span(6, 6)


def test_ambiguous_quote_is_an_error_not_a_guess():
    twice = ORIGINAL + "\n\ndef again(values):\n    total = 0\n    return total\n"
    result = resolve(note(quote="total = 0", sidecar_line=3), twice)
    assert result.state is State.ORPHANED
    finding = result.findings[0]
    assert finding.code == "A005" and "matches 2 lines (11, 18)" in finding.message
    assert "narrow it with `symbol`" in finding.hint


def test_quote_not_found():
    assert resolve(note(symbol="score", quote="return 42"), ORIGINAL).findings[0].code == "A004"


def test_unknown_section_lists_close_titles():
    source = "def main():\n    ####\n    # Load model\n    ####\n    x = 1\n"
    result = resolve(note(symbol="main", section="Load modle"), source)
    assert result.findings[0].code == "A002" and result.findings[0].hint == "did you mean `Load model`?"


def test_lines_past_the_scope_of_a_new_note_is_an_error():
    result = resolve(note(symbol="load", quote="def load(path):", quote_length=40), ORIGINAL)
    assert result.state is State.ORPHANED and result.findings[0].code == "A006"


def test_line_only_anchor_resolves_with_a_warning():
    result = resolve(note(line_hint=11), ORIGINAL)
    assert result.span == Span(11, 11) and result.findings[0].code == "A010" and not result.findings[0].is_error


def test_first_edition_fingerprints_still_decide_intact_and_changed():
    legacy = note(symbol="score", fingerprint="d9d0b5c8e7a2f4e1:0000000000000000", line_hint=10)
    assert resolve(legacy, ORIGINAL).state is State.CHANGED  # a hash that is not this code's
    from annotator_docs.anchors import legacy_hash

    model = model_of(ORIGINAL)
    right = note(symbol="score", fingerprint=f"{legacy_hash(model, Span(10, 14))}:0000000000000000", line_hint=10)
    assert resolve(right, ORIGINAL).state is State.INTACT


def test_fingerprint_text_round_trips():
    model = model_of(ORIGINAL)
    value = fingerprint(model, Span(10, 14), model.symbol("score"), similar=True)
    assert Fingerprint.parse(str(value)) == value and str(value).startswith("t1:")


def test_similarity_is_high_for_a_rename_and_low_for_other_code():
    model = model_of(ORIGINAL)
    before = fingerprint(model, model.symbol("score").span, similar=True).similar
    renamed = model_of(ORIGINAL.replace("def score", "def total_score"))
    after = fingerprint(renamed, renamed.symbol("total_score").span, similar=True).similar
    other = fingerprint(model, model.symbol("load").span, similar=True).similar
    assert before is not None and after is not None and other is not None
    assert similarity(before, after) >= 0.75 > similarity(before, other)


def test_a_window_of_lines_keeps_its_code_when_the_lines_are_rewrapped():
    source = "def f(p):\n    a = 1\n    b = g(p, x=1)\n    c = 3\n    return c\n"
    pin = pinned(source, symbol="f", quote="a = 1", quote_length=2)
    rewrapped = edited(source, "    b = g(p, x=1)\n", "    b = g(\n        p,\n        x=1,\n    )\n")
    result = resolve(pin, rewrapped)
    assert result.state is State.INTACT and result.reformatted and result.span == Span(2, 6)


def test_a_quote_with_a_spaced_string_still_matches_when_rewrapped():
    source = 'def f():\n    parser = Parser(description="two words", prog="x")\n'
    rewrapped = edited(
        source, 'Parser(description="two words", prog="x")', 'Parser(\n        description="two words",\n        prog="x",\n    )'
    )
    result = resolve(note(symbol="f", quote='parser = Parser(description="two words", prog="x")'), rewrapped)
    assert result.span is not None and result.span.start == 2
