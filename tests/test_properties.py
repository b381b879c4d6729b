"""Property tests: every line once for generated sources, resolution never crashes, any note text is safe."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotator_docs.analysis import analyse_file
from annotator_docs.anchors import resolve_note
from annotator_docs.coverage import file_progress
from annotator_docs.extract import extract
from annotator_docs.models import Lock, LockedFile, Note, Source
from annotator_docs.render.code import highlight_lines
from annotator_docs.render.links import SiteIndex
from annotator_docs.render.markdown import MAX_NOTE_CHARS, NoteRenderer
from annotator_docs.render.page import PageInput, render_file_page
from annotator_docs.sidecar import load_sidecar

from .html_tools import code_lines, dangers

_LINE_PARTS = st.sampled_from(
    [
        "def f(x):",
        "    return x",
        "class C:",
        "    a: int = 1",
        "    def m(self):",
        "        pass",
        "# comment",
        "    ##########",
        "    # Load model",
        '"""doc',
        'string"""',
        "x = '''a",
        "b'''",
        "if __name__ == '__main__':",
        "    main()",
        "",
        "    ",
        "\t",
        "@decorator",
        "async def g():",
        "import os",
        "from . import y",
        "z = [",
        "  1,",
        "]",
        "café = 'ü'",
        "x = 1  # trailing",
        "    if x:",
        "lambda: (yield)",
        "\x0c",
        "a = b = c",
        "(",
        "def broken(:",
    ]
)
SOURCES = st.lists(_LINE_PARTS, max_size=40).map(lambda lines: "\n".join(lines))
NEWLINES = st.sampled_from(["\n", "\r\n", "\r"])
FILE = LockedFile("local", "pkg/m.py", "pkg/m.py", None)
LOCK = Lock(Path("/p/source_snapshot/snapshot.lock"), 1, (Source("local", (FILE,), "src", local_path="src"),))
RENDERER = NoteRenderer()


def page_for(source_bytes: bytes, sidecar=None):
    model = extract("pkg/m.py", source_bytes)
    analysis = analyse_file(FILE, model, sidecar)
    index = SiteIndex.build(LOCK, {FILE.key: model}, {})
    code = tuple(highlight_lines(model.lines, model.language.value, None, model.path))
    page = render_file_page(PageInput(analysis, file_progress(analysis), LOCK.sources[0], index, code), RENDERER)
    return model, page


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SOURCES, NEWLINES, st.booleans())
def test_every_generated_line_appears_once_in_order(source, newline, final_newline):
    data = (source.replace("\n", newline) + (newline if final_newline else "")).encode()
    model, page = page_for(data)
    page = page.inline()
    lines = code_lines(page)
    assert [i for i, _ in lines] == [f"L{n}" for n in range(1, len(model.lines) + 1)]
    assert [t for _, t in lines] == list(model.lines)


@settings(max_examples=150, deadline=None)
@given(
    SOURCES,
    st.one_of(st.none(), st.sampled_from(["f", "C", "C.m", "C.a", "g", "x", "__main__", "f.x"])),
    st.one_of(st.none(), st.text(max_size=20)),
    st.one_of(st.none(), st.integers(1, 50)),
    st.one_of(st.none(), st.sampled_from(["Load model", "nope"])),
)
def test_resolution_never_crashes(source, symbol, quote, lines, section):
    model = extract("pkg/m.py", source.encode())
    note = Note(
        index=0,
        sidecar_line=1,
        symbol=symbol,
        quote=quote or None,
        quote_length=lines if quote else None,
        section=section,
        body="x",
    )
    resolved = resolve_note(note, "n", "s.yaml", model)
    if resolved.span is not None:
        assert 1 <= resolved.span.start <= resolved.span.end <= max(1, model.line_count)


_HOSTILE_BITS = st.sampled_from(
    [
        "<script>",
        "</script>",
        "<img src=x onerror=alert(1)>",
        "javascript:",
        "[a](",
        ")",
        "{: onclick=x }",
        "<svg onload=x>",
        "$",
        "$$",
        "```",
        "mermaid",
        "\n",
        "<div id=__config>",
        "&#x6a;avascript:",
        '"',
        "'",
        "<a href=",
        ">",
        "!!! note",
        "    ",
        "--8<--",
        "<style>",
        "<iframe>",
        "data:text/html,",
        "<",
        "&",
        "|a|b|\n|-|-|\n",
        "**",
        "\\",
        "<math>",
        "`",
    ]
)
NOTE_TEXT = st.lists(st.one_of(_HOSTILE_BITS, st.text(max_size=8)), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(NOTE_TEXT)
def test_any_note_text_renders_to_sanitized_html(text):
    assert dangers(RENDERER.render(text).html) == []


# -- rendering is bounded: work grows at most linearly with the size of adversarial text ------------
_UNITS = st.sampled_from(
    [
        "[",
        "]",
        "[a](",
        "![",
        "*",
        "_",
        "**a",
        "_a",
        "`",
        "<",
        "<a ",
        "&",
        "\\",
        "$",
        "> ",
        "- ",
        "1. ",
        "    - ",
        "~",
        "~~",
        "|",
        "[a]",
        "]",
        "(",
        "{",
        "#",
        "\n",
        " ",
        "a",
        "[x]: y\n",
        "<!--",
        "*a*",
        "```",
    ]
)


def _calls(text: str) -> int:
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        if event == "call":
            calls += 1

    NoteRenderer().render(text)  # once unmeasured: imports and compiled patterns are one-off costs
    renderer = NoteRenderer()  # a fresh memo: each size is rendered for real
    sys.setprofile(count)
    try:
        renderer.render(text)
    finally:
        sys.setprofile(None)
    return calls


@settings(max_examples=int(__import__("os").environ.get("ANNOTATOR_RENDER_EXAMPLES", 15)), deadline=None)
@given(st.lists(_UNITS, min_size=1, max_size=4), st.integers(1_000, MAX_NOTE_CHARS // 8))
def test_rendering_work_grows_at_most_linearly(units, size):
    unit = "".join(units)

    repeats = max(1, size // len(unit))  # whole units: both texts end the same way
    # linear work doubles with the size; allow constant costs and a generous margin, never a square
    assert _calls(unit * 4 * repeats) <= 3 * _calls(unit * 2 * repeats) + 5_000, unit


def test_the_fuzzers_tilde_note_renders_in_linear_work():
    # found by fuzz/run.py: a lone `~` was a subscript delimiter tried against every later one
    assert _calls("> ]~" * 400) <= 3 * _calls("> ]~" * 200) + 5_000


def test_the_first_editions_quadratic_note_is_refused_at_once():
    text = "[" * 19_990
    assert _calls(text) < 2_000  # refused by the bounds check before Markdown sees it
    result = NoteRenderer().render(text, where="annotations/x.yaml", line=4)
    assert [f.code for f in result.findings] == ["M002"] and "could not render" in result.html


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_sidecar_loader_never_raises(data):
    result = load_sidecar(data, "annotations/x.yaml")
    assert (result.sidecar is None) == bool(result.findings)


# -- the extractor's line reader agrees with libcst on generated, valid programs -------------------
_SIMPLE = st.sampled_from(
    [
        "x = 1",
        "NAME: int = 2",
        "A, B = 1, 2",
        "pass",
        "print(1); Z = 3",
        "s = '''a\n# no\n'''",
        "call(\n    1,\n)",
        "import os",
        "return 1",
    ]
)
_HEADERS = st.sampled_from(
    [
        "def f{n}(a,\n        b=1):",
        "async def g{n}():",
        "class C{n}(Base):",
        "if x:",
        "for i in y:",
        "while x:",
        "with m:",
        "@dec\ndef h{n}():",
        "try:",
        "match v:",
        "if y: pass\nelse:",
    ]
)
_TRIVIA = st.lists(
    st.sampled_from(
        ["", "  ", "# c", "  # c", "    # c", "        # c", "\t# c", "##########", "# Title", "    ##########", "    # Step"]
    ),
    max_size=3,
)


@st.composite
def _block(draw, depth: int = 0, count: int = 0) -> list[str]:
    """A list of statements (each a list of lines without the block's indentation), trivia between them."""
    lines: list[str] = []
    for index in range(draw(st.integers(1, 3))):
        lines += draw(_TRIVIA)  # trivia keeps its generated indentation at every depth
        if depth < 3 and draw(st.booleans()):
            header = draw(_HEADERS).format(n=f"{depth}{index}{count}")
            lines += header.split("\n")
            if header == "match v:":  # a match holds case clauses, each with a block
                lines += _indent(
                    [
                        "case 1:",
                        *_indent(draw(_block(depth + 1, index))),
                        *draw(_TRIVIA),
                        "case _:",
                        *_indent(draw(_block(depth + 1, index))),
                    ]
                )
            else:
                lines += _indent(draw(_block(depth + 1, index)))
            if header == "try:":
                ending = draw(st.sampled_from([["finally:"], ["except E:"], ["except E:", "else:"]]))
                for clause in ending:
                    lines += [*draw(_TRIVIA), clause, *_indent(draw(_block(depth + 1, index)))]
            elif header == "if x:" and draw(st.booleans()):
                lines += ["elif z:", *_indent(draw(_block(depth + 1, index))), "else:", *_indent(draw(_block(depth + 1, index)))]
        else:
            lines += draw(_SIMPLE).split("\n")
    return lines


def _indent(lines: list[str]) -> list[str]:
    """Indent code lines one level; trivia lines (blank or comment) keep their generated indentation."""
    return [line if not line.strip() or line.lstrip().startswith("#") else "    " + line for line in lines]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_block())
def test_line_reader_agrees_with_libcst(lines):
    import ast

    from annotator_docs.extract import decode_lines
    from annotator_docs.extract.python import extract_python

    source = "\n".join(lines) + "\n"
    ast.parse(source)  # the generator only writes valid programs
    decoded, _ = decode_lines(source.encode())
    reference = extract_python("m.py", decoded, reader="libcst")
    fast = extract_python("m.py", decoded, reader="lines")

    def comparable(model):
        return (
            [(s.qualname, s.kind, s.span, "".join(s.signature.split())) for s in model.symbols],
            model.banners,
            model.findings,
        )

    assert comparable(fast) == comparable(reference), source
