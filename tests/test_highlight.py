"""The accelerated Pygments lexers give Pygments' own tokens, with Pygments as the oracle.

`benchmarks/lexer.py` runs the same comparison on every Python file of the standard library and
prints the speed-up."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pygments.lexers import BashLexer, PythonLexer, YamlLexer

from annotator_docs.render.code import highlight_lines
from annotator_docs.render.fast_lexer import accelerated

OPTIONS = {"stripnl": False, "stripall": False, "ensurenl": False, "tabsize": 0}
REPO = Path(__file__).resolve().parent.parent
STDLIB = Path(sysconfig.get_paths()["stdlib"])
# Python's own grammar tests: every string prefix, f-string nesting, soft keywords, odd identifiers
HARD_CASES = ("grammar", "fstring", "string_literals", "tokenize", "patma", "unicode_identifiers", "syntax", "keyword")


def tokens(lexer_class, text: str, fast: bool) -> list:
    lexer = lexer_class(**OPTIONS)
    return list((accelerated(lexer) if fast else lexer).get_tokens(text))


def python_samples() -> list[Path]:
    ours = sorted((REPO / "annotator_docs").rglob("*.py")) + sorted((REPO / "tests").rglob("*.py"))
    hard = [STDLIB / "test" / f"test_{name}.py" for name in HARD_CASES]
    return ours + [path for path in hard if path.is_file()]


def test_python_tokens_are_pygments_own_on_real_code():
    samples = python_samples()
    assert len(samples) > 60
    lines = 0
    for path in samples:
        text = path.read_text(encoding="utf-8")
        lines += text.count("\n")
        assert tokens(PythonLexer, text, fast=True) == tokens(PythonLexer, text, fast=False), path
    assert lines > 20_000


_PIECES = st.sampled_from(
    [
        "def ", "class ", "async ", "await ", "lambda", "match ", "case ", "_", "import ", "from ", " as ",
        "print", "self", "__init__", "__name__", "True", "None", "and", "x", "Ünï", "ƒ", "0x1F", "1_000.5e-3j",
        "'", '"', "'''", '"""', "f'", 'rb"', "f\"{x!r:>{w}}\"", "'%(a)s %d'", "'{0.a[1]}'", "\\n", "\\", "\\\n",
        "{", "}", "(", ")", "[", "]", ":", "=", ":=", "->", "@", "...", "#", "# comment", "#!/bin/py",
        " ", "    ", "\t", "\n", "\r\n", "\x00", "\u2028", "$", "?", "`",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_python_tokens_are_pygments_own_on_any_text(text):
    """Broken code too: unclosed strings, stray characters, an error token, a state left at a line end."""
    assert tokens(PythonLexer, text, fast=True) == tokens(PythonLexer, text, fast=False)


SHELL = """#!/bin/bash
#SBATCH --job-name=grpo
set -euo pipefail
cat <<EOF > config.yaml
model: ${MODEL:-Qwen}
EOF
for f in "$@"; do echo "$((i + 1)) ${f%.py}" | tr 'a-z' 'A-Z'; done
srun --nodes=$SLURM_NNODES bash -c 'accelerate launch $ARGS' && exit 0 || { echo failed >&2; exit 1; }
"""


@given(st.text(alphabet=st.sampled_from(list(" \n\t'\"$`{}()<>|&;#\\=-EOFa1")), max_size=60))
@settings(max_examples=200, deadline=None)
def test_shell_tokens_are_pygments_own(text):
    """The shell lexer's here-document rule refers to its own groups: it stays a candidate everywhere."""
    for sample in (SHELL, text, SHELL + text):
        assert tokens(BashLexer, sample, fast=True) == tokens(BashLexer, sample, fast=False)


def test_lexers_with_their_own_loop_are_left_as_they_are():
    """YAML's lexer keeps a context of its own (an `ExtendedRegexLexer`): it is not touched."""
    assert "get_tokens_unprocessed" not in vars(accelerated(YamlLexer(**OPTIONS)))
    assert "get_tokens_unprocessed" in vars(accelerated(PythonLexer(**OPTIONS)))


def test_highlighted_lines_are_unchanged_by_the_faster_lexer(monkeypatch):
    text = (REPO / "annotator_docs" / "render" / "page.py").read_text(encoding="utf-8")
    lines = tuple(text.split("\n"))
    fast = highlight_lines(lines, "python", None, "page.py")
    import annotator_docs.render.code as code

    monkeypatch.setattr(code, "accelerated", lambda lexer: lexer)
    assert highlight_lines(lines, "python", None, "page.py") == fast
    assert len(fast) == len(lines) and '<span class="k">def</span>' in "".join(fast)


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?P<q>')x(?P=q)", r"(?i)abc", r"[^\S\n]+", r"(?<!\.)\bself\b", r"(?=a)a"])
def test_odd_patterns_keep_the_first_rule_in_order(pattern):
    """A made-up lexer whose first rule is an odd pattern and whose second matches anything."""
    from pygments.lexer import RegexLexer
    from pygments.token import Keyword, Text

    class Odd(RegexLexer):
        tokens = {"root": [(pattern, Keyword), (r"[\s\S]", Text)]}

    for text in ("aa abc ABC self .self 'x' ''", "\n\n  a\\1", ""):
        assert tokens(Odd, text, fast=True) == tokens(Odd, text, fast=False)
