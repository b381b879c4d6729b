"""The Python extractor: symbols with exact spans, imports, banners; odd files never crash."""

from __future__ import annotations

import ast
import sysconfig
import textwrap
from pathlib import Path

import pytest

from annotator_docs.extract import decode_lines, extract
from annotator_docs.extract.python import extract_python
from annotator_docs.models import Span, SymbolKind

from .conftest import FIXTURE_PROJECT, needs_snapshot, real_model


def model_of(source: str, path: str = "pkg/mod.py"):
    return extract(path, textwrap.dedent(source).encode())


def test_training_script_symbols_and_spans():
    model = extract("trainer/train_grpo.py", (FIXTURE_PROJECT / "src/trainer/train_grpo.py").read_bytes())
    symbols = {s.qualname: s for s in model.symbols}
    assert symbols["main"].kind is SymbolKind.FUNCTION
    assert symbols["main"].span == Span(13, 46)
    assert symbols["main"].signature == "def main(config: TrainConfig) -> dict"
    assert symbols["main.make_prompt"].kind is SymbolKind.NESTED_FUNCTION
    assert symbols["main.make_prompt"].span == Span(35, 36)
    assert symbols["logger"].kind is SymbolKind.VARIABLE
    assert symbols["__main__"].kind is SymbolKind.MAIN_GUARD
    assert symbols["__main__"].span == Span(49, 50)


def test_banner_sections_run_to_the_next_banner():
    model = extract("trainer/train_grpo.py", (FIXTURE_PROJECT / "src/trainer/train_grpo.py").read_bytes())
    banners = [(b.owner, b.title, b.span) for b in model.banners]
    assert banners == [
        ("main", "Setup logging", Span(17, 22)),
        ("main", "Load tokenizer", Span(23, 27)),
        ("main", "Load model", Span(28, 37)),  # "# Load model #" loses its trailing hash
        ("main", "Training loop", Span(38, 46)),
    ]


def test_imports_bind_names_to_modules():
    model = extract("trainer/train_grpo.py", (FIXTURE_PROJECT / "src/trainer/train_grpo.py").read_bytes())
    bound = {i.bound_name: (i.module, i.name) for i in model.imports}
    assert bound["get_reward_funcs"] == ("trainer.rewards", "get_reward_funcs")
    assert bound["logging"] == ("logging", None)


def test_relative_imports_resolve_against_the_package():
    model = extract("src/pkg/sub/mod.py", b"from ..utils import helper\nfrom . import sibling\n")
    bound = {i.bound_name: i.module for i in model.imports}
    assert bound == {"helper": "pkg.utils", "sibling": "pkg.sub"}


def test_registry_inside_a_function_and_factories():
    model = extract("trainer/rewards.py", (FIXTURE_PROJECT / "src/trainer/rewards.py").read_bytes())
    kinds = {s.qualname: s.kind for s in model.symbols}
    assert kinds["get_reward_funcs.REWARD_REGISTRY"] is SymbolKind.CONSTANT
    assert kinds["get_cosine_reward.cosine_reward"] is SymbolKind.NESTED_FUNCTION
    assert "get_reward_funcs.out" not in kinds  # lower-case locals are not symbols


def test_dataclass_fields_and_methods():
    model = extract("trainer/configs.py", (FIXTURE_PROJECT / "src/trainer/configs.py").read_bytes())
    fields = [s.qualname for s in model.symbols if s.kind is SymbolKind.FIELD]
    assert fields[:3] == ["TrainConfig.seed", "TrainConfig.log_level", "TrainConfig.vocab_size"]
    assert len(fields) == 11
    method = model.symbol("DatasetConfig.__post_init__")
    assert method.kind is SymbolKind.METHOD and method.span == Span(27, 29)


def test_decorators_and_leading_comments_start_the_span():
    model = extract("trainer/async_exec.py", (FIXTURE_PROJECT / "src/trainer/async_exec.py").read_bytes())
    run_one = model.symbol("Runner.run_one")
    assert run_one.span == Span(31, 36)  # from the comment above the first decorator
    assert run_one.name_line == 34
    assert model.symbol("retry.decorator.wrapper").kind is SymbolKind.NESTED_FUNCTION
    assert model.symbol("retry.decorator").kind is SymbolKind.NESTED_FUNCTION
    assert model.symbol("Runner.run_all.guarded").kind is SymbolKind.NESTED_FUNCTION
    assert model.symbol("try uvloop").kind is SymbolKind.CONDITIONAL_IMPORT


def test_async_function_kind():
    model = model_of("async def fetch():\n    return 1\n")
    assert model.symbol("fetch").kind is SymbolKind.ASYNC_FUNCTION


def test_conditional_import_is_named_by_its_condition():
    model = model_of("if has_gpu():\n    import torch\nelse:\n    torch = None\n")
    symbol = model.symbol("if has_gpu()")
    assert symbol.kind is SymbolKind.CONDITIONAL_IMPORT and symbol.span == Span(1, 4)


def test_syntax_error_reports_position_and_keeps_lines():
    model = model_of("def broken(:\n    pass\n")
    assert model.symbols == ()
    assert model.lines == ("def broken(:", "    pass")
    (finding,) = model.findings
    assert finding.code == "E101" and finding.line == 1 and "does not parse" in finding.message


@pytest.mark.parametrize(
    "data, lines",
    [
        (b"a = 1\r\nb = 2\r\n", ("a = 1", "b = 2")),
        (b"\xef\xbb\xbfa = 1\n", ("a = 1",)),
        (b"", ()),
        (b"a = 1", ("a = 1",)),
        (b"def f():\n\treturn 1\n", ("def f():", "\treturn 1")),
        (b"a = 1\rb = 2\r", ("a = 1", "b = 2")),
    ],
    ids=["crlf", "bom", "empty", "no-final-newline", "tabs", "old-mac"],
)
def test_odd_files_keep_their_lines(data, lines):
    model = extract("odd.py", data)
    assert model.lines == lines
    assert not model.findings


def test_crlf_spans_match_lf_spans():
    source = "import os\n\n\ndef f():\n    return os.sep\n"
    lf = extract("m.py", source.encode())
    crlf = extract("m.py", source.replace("\n", "\r\n").encode())
    assert [(s.qualname, s.span) for s in lf.symbols] == [(s.qualname, s.span) for s in crlf.symbols]


def test_non_utf8_and_nul_bytes_are_findings_not_crashes():
    latin = extract("latin.py", "x = 'café'\n".encode("latin-1"))
    assert latin.findings[0].code == "E103" and "UTF-8" in latin.findings[0].message
    assert len(latin.lines) == 1
    nul = extract("nul.py", b"x = 1\x00\n")
    assert nul.findings[0].code == "E103" and "NUL" in nul.findings[0].message


def test_form_feed_does_not_split_lines():
    lines, problem = decode_lines(b"a = 1\x0c\nb = 2\n")
    assert lines == ("a = 1\x0c", "b = 2") and problem is None


def _ast_top_level(source: str) -> dict[str, tuple[int, int]]:
    tree = ast.parse(source)
    spans = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            spans[node.name] = (start, node.end_lineno)
    return spans


def _check_against_ast(model, source: str) -> None:
    for name, (start, end) in _ast_top_level(source).items():
        symbol = model.symbol(name)
        assert symbol is not None, name
        assert symbol.span.end == end, name
        # the span may begin earlier only by the comment lines directly above
        above = source.splitlines()[symbol.span.start - 1 : start - 1]
        assert all(line.strip().startswith("#") for line in above), name


@pytest.mark.parametrize("name", ["train_grpo.py", "rewards.py", "configs.py", "async_exec.py"])
def test_fixture_top_level_spans_agree_with_ast(name):
    source = (FIXTURE_PROJECT / "src/trainer" / name).read_text()
    _check_against_ast(extract(f"trainer/{name}", source.encode()), source)


# -- the real open-r1 files (skipped until `annotator snapshot pull`) --------------------------
@needs_snapshot
def test_real_files_top_level_spans_agree_with_ast(real_project):
    for locked in real_project.lock.files:
        if locked.path.endswith(".py"):
            source = real_project.source_file(locked).read_text()
            _check_against_ast(real_model(real_project, locked.key), source)


@needs_snapshot
def test_real_rewards_has_sixteen_functions_and_the_registry(real_project):
    model = real_model(real_project, "src/open_r1/rewards.py")
    functions = [s.qualname for s in model.symbols if s.kind is SymbolKind.FUNCTION]
    assert len(functions) == 16
    registry = model.symbol("get_reward_funcs.REWARD_FUNCS_REGISTRY")
    assert registry is not None and model.symbol("get_reward_funcs").span.contains(registry.span)


@needs_snapshot
def test_real_configs_has_six_dataclasses_with_fields(real_project):
    model = real_model(real_project, "src/open_r1/configs.py")
    classes = [s.qualname for s in model.symbols if s.kind is SymbolKind.CLASS]
    assert classes == [
        "DatasetConfig",
        "DatasetMixtureConfig",
        "ScriptArguments",
        "GRPOConfig",
        "SFTConfig",
        "GRPOScriptArguments",
    ]
    for cls in classes:
        assert any(s.kind is SymbolKind.FIELD and s.qualname.startswith(cls + ".") for s in model.symbols), cls


@needs_snapshot
def test_real_grpo_main_banner_sections(real_project):
    model = real_model(real_project, "src/open_r1/grpo.py")
    titles = [b.title for b in model.banners if b.owner == "main"]
    assert titles == [
        "Setup logging",
        "Load tokenizer",
        "Load model",
        "Initialize the GRPO trainer",
        "Training loop",
        "Save model and create model card",
        "Evaluate",
        "push to hub",
    ]
    tokenizer = next(b for b in model.banners if b.title == "Load tokenizer")
    assert model.lines[tokenizer.span.start - 1].startswith("    ####")
    assert "get_tokenizer" in model.lines[tokenizer.span.start + 2]


def test_yaml_next_line_character_does_not_shift_key_lines():
    model = extract("r.yaml", "a: 1\nb: 'x\x85y'\nc: 2\n".encode())
    assert [(s.qualname, s.span.start) for s in model.symbols] == [("a", 1), ("b", 2), ("c", 3)]


# -- the line reader against libcst, the reference ------------------------------------------------
def _comparable(model):
    """Everything the rest of the engine reads from a model; signatures compared as tokens without spaces."""
    return (
        [(s.qualname, s.kind, s.span, s.name_line, s.docstring, "".join(s.signature.split())) for s in model.symbols],
        model.banners,
        model.imports,
        model.findings,
    )


def _both_readers(source: str):
    lines, _ = decode_lines(source.encode())
    return extract_python("m.py", lines, reader="lines"), extract_python("m.py", lines, reader="libcst")


FOOTER_CASES = {
    # a comment indented like the block that just ended is that block's footer, not the next symbol's
    "footer-of-previous-function": ("def f():\n    x = 1\n    # about f\ndef g():\n    pass\n", {"g": Span(4, 5)}),
    "dedented-comment-belongs-to-next": ("def f():\n    x = 1\n# about g\ndef g():\n    pass\n", {"g": Span(3, 5)}),
    # every line up to the LAST one indented like the block is the footer, even past a dedented one
    "last-indented-line-wins": ("def f():\n    x = 1\n    \n  # two\n    # four\ny = 2\n", {"y": Span(6, 6)}),
    "blank-then-comment": ("def f():\n    x = 1\n\n# about y\ny = 2\n", {"y": Span(4, 5)}),
    "nested-class-footer": ("class A:\n    def f(self):\n        pass\n        # c1\n    # c2\n# c3\nx = 1\n", {"x": Span(6, 7)}),
    "simple-suite-has-no-footer": ("def f(): pass\n    # odd\ny = 2\n", {"y": Span(2, 3)}),
    "elif-chain-footer": ("if a:\n    import os\nelif b:\n    import sys\n    # footer\n# x\nx = 1\n", {"x": Span(6, 7)}),
    "match-has-its-own-footer": (
        "match v:\n    case 1:\n        x = 1\n    # footer of the cases\n# y\ny = 2\n",
        {"y": Span(5, 6)},
    ),
    "try-finally-footer": ("try:\n    import os\nfinally:\n    pass\n    # footer\nx = 1\n", {"x": Span(6, 6)}),
    "module-header-is-not-a-leading-comment": ("# header\nx = 1\n", {"x": Span(2, 2)}),
    "first-statement-of-a-body-keeps-any-indent": ("class A:\n  # two\n        # eight\n    x = 1\n", {"A.x": Span(2, 4)}),
    "decorated-with-comment": ("x = 0\n# about f\n@dec\n# between\n@dec2\ndef f():\n    pass\n", {"f": Span(2, 7)}),
    "semicolons": ("x = 1; Y = 2\n", {"x": Span(1, 1), "Y": Span(1, 1)}),
    "tabs": ("def f():\n\tx = 1\n\t# footer\n# g\ndef g():\n\tpass\n", {"g": Span(4, 6)}),
}


@pytest.mark.parametrize("source, spans", FOOTER_CASES.values(), ids=FOOTER_CASES.keys())
def test_line_reader_owns_comments_like_libcst(source, spans):
    lines_model, cst_model = _both_readers(source)
    assert _comparable(lines_model) == _comparable(cst_model)
    for path, span in spans.items():
        assert lines_model.symbol(path).span == span, path


def test_banners_and_signatures_from_the_line_reader():
    source = textwrap.dedent("""\
        def main(
            config: "Config",  # the run's settings
            seed: int = 0,
        ) \\
                -> dict:
            ##########
            # Load model
            ##########
            model = 1
            # not a banner: one comment line

            ##########
            # Train
            ##########
            return {}
        class Trainer(Base,
                      Mixin, metaclass=Meta):
            pass
        """)
    lines_model, cst_model = _both_readers(source)
    assert [(b.title, b.span) for b in lines_model.banners] == [("Load model", Span(6, 11)), ("Train", Span(12, 15))]
    assert lines_model.symbol("main").signature == 'def main(config: "Config", seed: int = 0, ) -> dict'
    assert lines_model.symbol("Trainer").signature == "class Trainer(Base, Mixin)"
    assert _comparable(lines_model)[1] == _comparable(cst_model)[1]
    assert "# the run's settings" in cst_model.symbol("main").signature  # libcst keeps comments; the line reader drops them


@pytest.mark.parametrize(
    "source",
    [
        "x = 1\n\x0c\ny = 2\n",  # a form feed resets indentation in the tokenizer
        "x = 1\n\\\ny = 2\n",  # a lone line continuation between statements
        "x = 1 \\\n  # joined to x's line\ny = 2\n",  # the comment ends x's logical line; it does not lead y
        "class A: \\\n    # joined to the header\n    y = 2\n",
    ],
    ids=["form-feed", "line-continuation", "join-into-comment", "header-join-into-comment"],
)
def test_lines_the_reader_cannot_decide_go_to_libcst(source, monkeypatch):
    from annotator_docs.extract import python

    used = []
    original = python._CstTrivia.parse.__func__
    monkeypatch.setattr(python._CstTrivia, "parse", classmethod(lambda cls, text: used.append(1) or original(cls, text)))
    model = extract("m.py", source.encode())
    assert used, "the libcst reader decides this file"
    assert model.symbols and not model.findings
    assert all(s.span.start == s.name_line for s in model.symbols)  # no comment leads any of them


def _stdlib_sample(count: int) -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return sorted(stdlib.glob("*.py"))[:count]


def test_line_reader_agrees_with_libcst_on_the_standard_library():
    compared = 0
    for path in _stdlib_sample(60):
        lines, problem = decode_lines(path.read_bytes())
        reference = extract_python(path.name, lines, reader="libcst")
        if problem or reference.findings:
            continue
        assert _comparable(extract_python(path.name, lines, reader="lines")) == _comparable(reference), path.name
        compared += 1
    assert compared >= 50


@needs_snapshot
def test_both_readers_give_identical_models_for_the_real_files(real_project):
    for locked in real_project.lock.files:
        if locked.path.endswith(".py"):
            lines, _ = decode_lines(real_project.source_file(locked).read_bytes())
            fast = extract_python(locked.path, lines, reader="lines")
            reference = extract_python(locked.path, lines, reader="libcst")
            assert (fast.symbols, fast.banners, fast.imports) == (reference.symbols, reference.banners, reference.imports)


@pytest.mark.parametrize("reader", ["lines", "libcst"])
def test_a_line_of_a_header_string_that_starts_with_hash_is_not_a_comment(reader):
    # the line reader once read `#"""):` as a comment above `x = 1` and put A.x at line 2
    source = 'class A(doc="""\n#"""):\n    x = 1\n'
    model = extract_python("m.py", tuple(source.splitlines()), reader=reader)
    assert model.symbol("A.x").span == Span(3, 3)


def test_the_syntax_digest_ignores_comments_layout_and_redundant_parentheses():
    plain = extract("m.py", b"def f(a, b):\n    return a + b\n").symbol("f")
    reformatted = extract("m.py", b"def f(\n    a,\n    b,\n):\n    # add them\n    return (a + b)\n").symbol("f")
    changed = extract("m.py", b"def f(a, b):\n    return a - b\n").symbol("f")
    assert plain.digest == reformatted.digest != changed.digest


def test_package_exports_are_read_from_imports_and_lazy_import_structures():
    source = b'from .core import Trainer\n_import_structure = {"configs": ["Config", "Other"]}\n'
    model = extract("pkg/__init__.py", source)
    assert set(model.exports) == {("Trainer", "pkg.core"), ("Config", "pkg.configs"), ("Other", "pkg.configs")}
