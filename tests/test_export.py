"""Exports (issue 20): annotated source and CodeTour tours, from the same resolved analyses as the pages.

Every exported file must mean what upstream means (the same Python tree, the same YAML data, the
same lines once the added ones are removed) and hold every note's text; tours must validate
against the vendored CodeTour schema and point at the right lines; orphaned notes are refused
unless allowed; the output is deterministic.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml

from annotator_docs.cache import Cache
from annotator_docs.engine import Engine
from annotator_docs.export import annotated_source as source_export
from annotator_docs.export import codetour, export_annotated_source, export_codetour, reflow, strip_annotations
from annotator_docs.findings import AnnotatorError
from annotator_docs.models import Language, State
from annotator_docs.project import Project

from .conftest import edit, needs_snapshot

MARK = source_export.MARK
SCHEMA = json.loads((Path(source_export.__file__).parents[1] / "schema" / "codetour.schema.json").read_text())
STEP_KEYS = set(SCHEMA["properties"]["steps"]["items"]["properties"])
TOUR_KEYS = set(SCHEMA["properties"])
COMMAND_LINK = re.compile(r"\]\(\s*<?command:|<command:|\]:\s*<?command:", re.I)  # CodeTour runs command: links


# -- helpers ----------------------------------------------------------------------------------------------------
def upstream_text(analysis) -> str:
    return "\n".join(analysis.model.lines) + "\n"


def comment_text(exported: str) -> str:
    """The text of every line the export added, markers removed, whitespace-normalised."""
    lines = [line.lstrip()[len(MARK) :] for line in exported.split("\n") if line.lstrip().startswith(MARK)]
    return " ".join(" ".join(lines).split())


def words(markdown: str) -> list[str]:
    """A note's words in order: link targets, escapes and case dropped (what any rendering must keep)."""
    text = re.sub(r"(?m)^[ >]*(`{3,}|~{3,}).*$", "", markdown)  # fence lines are markup (their language too)
    text = re.sub(r"\]\([^)\s]*\)", "]", text)
    text = re.sub(r"\]\[[^\]]*\]", "]", text)
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)
    return [w.casefold() for w in re.findall(r"[^\W_]+", text)]


def is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(word in it for word in needle)


def note_fields(analysis):
    sidecar = analysis.sidecar
    if sidecar is None:
        return
    for text in (
        sidecar.overview,
        sidecar.role,
        *sidecar.key_innovations,
        sidecar.data_flow.origin,
        sidecar.data_flow.processing,
        sidecar.data_flow.destination,
        *sidecar.takeaways,
    ):
        if text.strip():
            yield "header", text
    for note in analysis.notes:
        for text in (note.note.what, note.note.why, note.note.how, note.note.body):
            if text.strip():
                yield note.note_id, text


def assert_equivalent(analysis, exported: str) -> None:
    upstream = upstream_text(analysis)
    assert not any(line.lstrip().startswith(MARK) for line in analysis.model.lines), "upstream uses the marker itself"
    assert strip_annotations(exported) == upstream, "the export changed, dropped or reordered upstream lines"
    if analysis.model.language is Language.PYTHON:
        assert ast.dump(ast.parse(exported)) == ast.dump(ast.parse(upstream))
    elif analysis.model.language is Language.YAML:
        assert list(yaml.safe_load_all(exported)) == list(yaml.safe_load_all(upstream))
    for line in exported.split("\n"):
        if line.lstrip().startswith(MARK):
            assert not re.search("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", line), "a line break hides in a comment"


def assert_notes_present(analysis, lock, exported: str, site_url: str = "") -> None:
    """Every prose field of the sidecar is in the comments: as reflowed (whitespace-normalised), and word for word."""
    found = comment_text(exported)
    found_words = [w for token in found.casefold().split() for w in re.findall(r"[^\W_]+", token)]
    link = lambda target: source_export.site_link(target, lock, analysis.file, site_url)  # noqa: E731
    for where, text in note_fields(analysis):
        flowed = " ".join(" ".join(reflow(text, link=link)).split())
        assert flowed in found, f"{analysis.file.key}: text of {where} is missing: {flowed[:120]!r}"
        if re.search(r"(?m)^\s*\|?\s*:?-+:?\s*\|", text):  # a table wraps its cells side by side: words, in any order
            assert not Counter(words(text)) - Counter(found_words), f"{analysis.file.key}: words of {where} are missing"
        else:
            assert is_subsequence(words(text), found_words), f"{analysis.file.key}: words of {where} are missing"
    for note in analysis.notes:
        if note.note.title:
            assert " ".join(source_export.clean(note.note.title).split()) in found


def assert_tour_valid(tour: dict, analyses_by_path: dict) -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(tour)
    assert set(tour) <= TOUR_KEYS, set(tour) - TOUR_KEYS
    for step in tour["steps"]:
        assert set(step) <= STEP_KEYS, set(step) - STEP_KEYS
        assert not COMMAND_LINK.search(step["description"])
        if "file" not in step:
            continue
        analysis = analyses_by_path[step["file"]]
        text = upstream_text(analysis)
        assert isinstance(step["line"], int) and 1 <= step["line"] <= len(analysis.model.lines)
        starts = [text.count("\n", 0, m.start()) + 1 for m in re.finditer(step["pattern"], text, re.M)]
        assert step["line"] in starts, (step["title"], step["pattern"])


def tour_files(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text("utf-8")) for p in sorted(out.glob("*.tour"))}


# -- a fixture file of each language, with notes anchored where comments must not go --------------------------
TRICKY_PY = '''#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Module docstring."""
import functools

PROMPT = """First line
# not a comment: inside the string
last line"""


@functools.lru_cache(maxsize=None)
@staticmethod
def cached(x):
    return x


def call():
    value = dict(
        a=1,
        b=2,  # trailing
    )
    total = 1 + \\
        2
    text = (
        "implicit "
        "concatenation"
    )
    return value, total, text


class Box:
    size: int = 3

    @property
    def area(self):
        return self.size ** 2
'''
TRICKY_YAML = """# leading comment
name: tricky
script: |
  #!/bin/bash
  # this is content, not a comment
  echo "hi"

kept: |+
  line

folded: >
  a
  # b
flow: [a,
  b, c]
plain: this is
  continued
list:
  - one
  - two: 2
    three: 3
after: end
"""
TRICKY_SH = """#!/bin/bash

# Setup
set -e
cat <<EOF2
# inside heredoc
EOF2
read -ra WORDS <<< "a b"

# Run
CMD="python train.py \\
    --flag"
echo "$CMD" \\
  --more
echo "${CMD#python}" done "${#WORDS[@]}"
"""
TRICKY_NOTES = {
    "trainer/tricky.py": [
        ("quote", "# not a comment: inside the string", "In a string."),
        ("symbol", "PROMPT", "The prompt."),
        ("quote", "@staticmethod", "Second decorator."),
        ("symbol", "cached", "Decorated."),
        ("quote", "b=2,  # trailing", "Inside parentheses."),
        ("quote", "2", "After a backslash."),
        ("quote", '"concatenation"', "Implicit concatenation."),
        ("symbol", "Box.area", "A property."),
        ("symbol", "Box.size", "A field."),
    ],
    "recipes/tricky.yaml": [
        ("quote", "# this is content, not a comment", "Inside a block scalar."),
        ("symbol", "kept", "Keep chomping."),
        ("quote", "# b", "Inside a folded scalar."),
        ("quote", "b, c]", "Inside a flow sequence."),
        ("quote", "continued", "A plain multi-line scalar."),
        ("symbol", "list[1].three", "In a sequence."),
        ("symbol", "after", "The end."),
    ],
    "scripts/tricky.sh": [
        ("symbol", "Setup", "Setup section."),
        ("quote", "# inside heredoc", "Inside a here-document."),
        ("symbol", "Run", "Run section."),
        ("quote", '--flag"', "Inside a quoted string."),
        ("quote", "--more", "After a continuation."),
    ],
}


def add_tricky_files(project_dir: Path) -> Project:
    sources = {"trainer/tricky.py": TRICKY_PY, "recipes/tricky.yaml": TRICKY_YAML, "scripts/tricky.sh": TRICKY_SH}
    lock = project_dir / "source_snapshot" / "snapshot.lock"
    for path, text in sources.items():
        (project_dir / "src" / path).parent.mkdir(parents=True, exist_ok=True)
        (project_dir / "src" / path).write_text(text)
        lock.write_text(lock.read_text() + f'\n[[files]]\npath = "{path}"\ngroup = "Tricky"\n')
        notes = "".join(
            f"  - {kind}: {json.dumps(value)}\n    body: {json.dumps(body)}\n" for kind, value, body in TRICKY_NOTES[path]
        )
        sidecar = project_dir / "annotations" / f"{path}.yaml"
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        sidecar.write_text(f'source: "{path}"\nnotes:\n{notes}')
    return Project.open(project_dir)


def analyses(project: Project) -> list:
    return Engine(project, Cache(None)).analyses()


# -- annotated source -----------------------------------------------------------------------------------------------
def test_fixture_files_export_equivalent_with_every_note(project, engine, tmp_path):
    out = tmp_path / "annotated"
    written = export_annotated_source(project, out, engine=engine)
    by_key = {a.file.key: a for a in engine.analyses()}
    assert written == [out / key for key in by_key]
    for path in written:
        analysis = by_key[path.relative_to(out).as_posix()]
        exported = path.read_text("utf-8")
        assert_equivalent(analysis, exported)
        assert_notes_present(analysis, project.lock, exported)


def test_notes_sit_above_their_statement_indented_like_it(project, engine):
    analysis = next(a for a in engine.analyses() if a.file.key == "trainer/train_grpo.py")
    lines = source_export.annotate_file(analysis, project.lock).text.split("\n")

    def block_above(code: str) -> list[str]:
        at = lines.index(code)
        above = []
        while lines[at - 1].lstrip().startswith(MARK):
            at -= 1
            above.insert(0, lines[at])
        return above

    loop = block_above("    for step in range(config.steps):")
    assert loop and all(line.startswith(f"    {MARK}") for line in loop)
    assert "One group per step" in " ".join(loop)
    make_prompt = '    def make_prompt(example, column: str = "problem"):'
    assert "Turns an example into a chat prompt." in " ".join(block_above(make_prompt))
    assert "The tokenizer is a dictionary here" in " ".join(block_above("    ################"))
    assert "A module logger." in " ".join(block_above("logger = logging.getLogger(__name__)"))
    header = lines[: lines.index('"""Train a toy policy with group-relative rewards."""')]
    sections = ("OVERVIEW", "ROLE IN THE PIPELINE", "KEY INNOVATIONS", "DATA FLOW", "KEY TAKEAWAYS", "FILE-LEVEL NOTES")
    order = [next(i for i, line in enumerate(header) if line == f"{MARK} {title}") for title in sections]
    assert order == sorted(order)
    assert any("A file-level note: it has no anchor." in line for line in header[order[-1] :])
    assert "Origin: A TrainConfig dataclass" in " ".join(header)


def test_the_compiler_judges_every_export_and_moves_notes_that_would_change_the_code(project_dir):
    """The placement rules come from the tokenizer; the check after them does not. With the layout
    knowledge taken away (every boundary claimed safe), notes land inside a string and after a line
    continuation, the compiled code differs, and those notes go to the top block instead."""
    project = add_tricky_files(project_dir)
    analysis = {a.file.key: a for a in analyses(project)}["trainer/tricky.py"]
    blind = dataclasses.replace(analysis, model=dataclasses.replace(analysis.model, logical_lines=(), decorated=()))
    naive = source_export.annotate_file(blind, project.lock)
    assert_equivalent(analysis, naive.text)
    assert naive.unplaced >= 2 and naive.placed == len(TRICKY_NOTES["trainer/tricky.py"]) - naive.unplaced
    header = naive.text.split("\nimport ", 1)[0]  # everything above the first line of code
    assert "In a string." in header and "After a backslash." in header
    assert "Why it is here: a comment above its code would change what the code means" in header
    upstream = upstream_text(analysis)
    assert source_export.equivalent(analysis.model, upstream.replace("\n\n", "\n#| a comment between statements\n\n", 1))
    inside_string = upstream.replace("# not a comment", "#| a comment\n# not a comment", 1)
    assert inside_string != upstream and not source_export.equivalent(analysis.model, inside_string)
    after_continuation = upstream.replace("1 + \\\n", "1 + \\\n#| a comment\n", 1)
    assert after_continuation != upstream and not source_export.equivalent(analysis.model, after_continuation)


def test_comments_never_enter_strings_brackets_continuations_or_decorators(project_dir):
    project = add_tricky_files(project_dir)
    by_key = {a.file.key: a for a in analyses(project)}
    for key in TRICKY_NOTES:
        analysis = by_key[key]
        assert all(n.state is not State.ORPHANED for n in analysis.notes), [(n.note_id, n.reason) for n in analysis.notes]
        result = source_export.annotate_file(analysis, project.lock)
        assert result.placed == len(TRICKY_NOTES[key]) and result.unplaced == 0
        assert_equivalent(analysis, result.text)
        assert_notes_present(analysis, project.lock, result.text)
    python = source_export.annotate_file(by_key["trainer/tricky.py"], project.lock).text
    assert python.startswith("#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n" + MARK)  # shebang and encoding stay first
    assert re.search(r"In a string\.\n(#\|.*\n)*PROMPT = \"\"\"First line\n# not a comment", python)
    assert re.search(r"Second decorator\.\n(#\|.*\n)*@functools\.lru_cache", python)  # above the first decorator
    assert re.search(r"Inside parentheses\.\n(    #\|.*\n)*    value = dict\(", python)
    assert re.search(r"After a backslash\.\n(    #\|.*\n)*    total = 1 \+ \\\n        2\n", python)
    assert re.search(r"A property\.\n(    #\|.*\n)*    @property\n", python)
    data = source_export.annotate_file(by_key["recipes/tricky.yaml"], project.lock).text
    assert re.search(r"Inside a block scalar\.\n(#\|.*\n)*script: \|\n  #!/bin/bash\n  # this is content", data)
    assert re.search(r"Inside a flow sequence\.\n(#\|.*\n)*flow: \[a,\n  b, c\]", data)
    assert re.search(r"In a sequence\.\n    #\| ", data) or "    #| In a sequence." in data
    shell = source_export.annotate_file(by_key["scripts/tricky.sh"], project.lock).text
    assert shell.startswith("#!/bin/bash\n" + MARK)
    assert re.search(r"Inside a here-document\.\n(#\|.*\n)*cat <<EOF2\n# inside heredoc\nEOF2\n", shell)
    assert re.search(r"Inside a quoted string\.\n(#\|.*\n)*CMD=\"python train.py \\\n    --flag\"\n", shell)
    assert re.search(r"After a continuation\.\n(#\|.*\n)*echo \"\$CMD\" \\\n  --more\n", shell)


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_the_exported_shell_script_runs_like_upstream(project_dir, tmp_path):
    project = add_tricky_files(project_dir)
    analysis = next(a for a in analyses(project) if a.file.key == "scripts/tricky.sh")
    exported = tmp_path / "exported.sh"
    exported.write_text(source_export.annotate_file(analysis, project.lock).text)
    upstream = project_dir / "src/scripts/tricky.sh"
    run = lambda path: subprocess.run(["bash", str(path)], capture_output=True, text=True, timeout=30)  # noqa: E731
    assert run(exported).stdout == run(upstream).stdout != ""


def test_hostile_note_text_cannot_break_out_of_its_comment(project_dir):
    sidecar = project_dir / "annotations/trainer/train_grpo.py.yaml"
    edit(
        sidecar,
        'body: "A module logger."',
        'title: "coding: latin-1"\n    body: "A module logger.\\rimport os\\u2028x = 1\\x85y: 2\\x1b[31m \\u202e"',
    )
    edit(sidecar, 'title: "Toy GRPO trainer"', 'title: "# -*- coding: latin-1 -*-"')
    project = Project.open(project_dir)
    analysis = next(a for a in analyses(project) if a.file.key == "trainer/train_grpo.py")
    exported = source_export.annotate_file(analysis, project.lock).text
    assert_equivalent(analysis, exported)
    assert "coding: latin-1" not in "\n".join(exported.split("\n")[:2])  # PEP 263 reads only lines 1-2
    assert "\\x1b" in exported and "\x1b" not in exported and "\u202e" not in exported
    # what the sidecar schema refuses (line breaks in a title, a reason, a ref) cannot break out either
    notes = tuple(
        dataclasses.replace(n, note=dataclasses.replace(n.note, title="x\nimport os\rimport sys\u2028y")) for n in analysis.notes
    )
    exported = source_export.annotate_file(dataclasses.replace(analysis, notes=notes), project.lock).text
    assert_equivalent(analysis, exported)


def test_reflow_keeps_markdown_readable():
    text = """A paragraph with `a code span that stays whole`, $\\frac{a}{b}$ math, **bold** and *emphasis*, and a
[link](src/open_r1/rewards.py#get_reward_funcs) that is long enough to make the paragraph wrap at the width.

- first item
  continued
- second item
    - nested item

1. one
2. two

```mermaid
flowchart LR
  A --> B
```

$$
r_i - \\operatorname{mean}(r)
$$

| field | default |
|---|---|
| `beta` | 0.04 |
| `num_generations` | [8](trl/trainer/grpo_config.py#GRPOConfig.num_generations) |

!!! warning "Careful"
    An admonition body."""
    lines = reflow(text, width=60)
    flat = "\n".join(lines)
    assert all(len(line) <= 60 for line in lines if not line.startswith(("    ", "field", "-----", "`", "[")))
    assert any("`a code span that stays whole`" in line for line in lines)
    assert "bold and emphasis" in " ".join(flat.split())
    assert "[link](src/open_r1/rewards.py#get_reward_funcs)" in flat
    assert "$\\frac{a}{b}$" in flat
    assert "- first item continued" in flat and "  - nested item" in flat
    assert "1. one\n2. two" in flat
    assert "Mermaid diagram:\n    flowchart LR\n      A --> B" in flat
    assert "    $$\n    r_i - \\operatorname{mean}(r)\n    $$" in flat
    assert re.search(r"field +\| default\n-+\+-+\n`beta` +\| 0\.04\n`num_generations` \| 8 \[1\]", flat)
    assert "[1] trl/trainer/grpo_config.py#GRPOConfig.num_generations" in flat
    assert "Warning: Careful\n  An admonition body." in flat


def test_site_links_become_absolute_with_a_site_url(project):
    file = project.lock.file("trainer/train_grpo.py")
    link = lambda target, url: source_export.site_link(target, project.lock, file, url)  # noqa: E731
    assert link("site:glossary.md#grpo", "https://x.org/docs/") == "https://x.org/docs/glossary/#grpo"
    assert (
        link("trainer/rewards.py#get_reward_funcs", "https://x.org") == "https://x.org/files/trainer/rewards.py/#get_reward_funcs"
    )
    assert link("#note-main", "https://x.org") == "https://x.org/files/trainer/train_grpo.py/#note-main"
    assert link("trainer/rewards.py#get_reward_funcs", "") == "trainer/rewards.py#get_reward_funcs"
    assert link("#note-main", "") == "trainer/train_grpo.py#note-main"
    assert link("https://github.com/x", "https://x.org") == "https://github.com/x"


def test_orphaned_notes_are_refused_unless_allowed(project_dir, tmp_path):
    edit(project_dir / "src/trainer/train_grpo.py", "make_prompt", "build_prompt", count=2)
    project = Project.open(project_dir)
    engine = Engine(project, Cache(None))
    for export in (
        lambda **kw: export_annotated_source(project, tmp_path / "a", engine=engine, **kw),
        lambda **kw: export_codetour(project, tmp_path / "t", [], engine=engine, **kw),
    ):
        with pytest.raises(AnnotatorError) as caught:
            export()
        (finding,) = caught.value.findings
        assert finding.code == "C002"
        assert "trainer/train_grpo.py" in finding.message and "`main.make_prompt`" in finding.message
    assert not (tmp_path / "a").exists() and not (tmp_path / "t").exists()
    written = export_annotated_source(project, tmp_path / "a", allow_orphans=True, engine=engine)
    exported = (tmp_path / "a/trainer/train_grpo.py").read_text()
    assert tmp_path / "a/trainer/train_grpo.py" in written
    top = exported[: exported.index("OVERVIEW")]
    assert "ORPHANED NOTES (1)" in top and "Turns an example into a chat prompt." in top
    analysis = next(a for a in engine.analyses() if a.file.key == "trainer/train_grpo.py")
    assert_equivalent(analysis, exported)
    assert_notes_present(analysis, project.lock, exported)
    export_codetour(project, tmp_path / "t", [], allow_orphans=True, engine=engine)
    tour = next(t for t in tour_files(tmp_path / "t").values() if t["title"].startswith("Toy GRPO trainer"))
    assert "Orphaned notes" in tour["steps"][0]["description"]
    assert "Turns an example into a chat prompt." in tour["steps"][0]["description"]


def test_exports_are_deterministic(project_dir, tmp_path):
    project = Project.open(project_dir)

    def both(suffix: str) -> list[bytes]:  # a fresh engine each time: nothing is shared but the files
        sources = export_annotated_source(
            project, tmp_path / f"a{suffix}", site_url="https://x.org/", engine=Engine(project, Cache(None))
        )
        tours = export_codetour(project, tmp_path / f"t{suffix}", ["recipes/demo.yaml"], engine=Engine(project, Cache(None)))
        return [p.read_bytes() for p in sources + tours]

    first = both("1")
    assert first == both("2")
    assert first == both("1")  # rewriting in place changes nothing either


def test_a_file_the_export_did_not_write_is_never_replaced(project, engine, tmp_path):
    out = tmp_path / "annotated"
    (out / "trainer").mkdir(parents=True)
    (out / "trainer/train_grpo.py").write_text("mine\n")
    with pytest.raises(AnnotatorError) as caught:
        export_annotated_source(project, out, engine=engine)
    assert caught.value.findings[0].code == "O001"
    assert (out / "trainer/train_grpo.py").read_text() == "mine\n"


# -- CodeTour ----------------------------------------------------------------------------------------------------------
def test_the_vendored_schema_is_codetours_format():
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    documented = {"$schema", "title", "description", "ref", "isPrimary", "nextTour"}
    assert documented <= TOUR_KEYS and SCHEMA["required"] == ["title", "steps"]
    assert {"file", "directory", "uri", "line", "pattern", "title", "description", "selection", "view", "commands"} <= STEP_KEYS
    assert SCHEMA["properties"]["steps"]["items"]["required"] == ["description"]
    with pytest.raises(jsonschema.ValidationError):
        codetour.validate({"title": "x", "steps": [{"file": "a.py"}]})  # a step needs a description


def test_fixture_tours_validate_and_point_at_each_notes_first_line(project, engine, tmp_path):
    out = tmp_path / "tours"
    path = ["recipes/demo.yaml", "trainer/train_grpo.py"]
    written = export_codetour(project, out, path, engine=engine)
    tours = tour_files(out)
    assert [p.name for p in written] == list(tours) and written[0].name == "00-start-here.tour"
    assert [p.name[:3] for p in written] == ["00-", *[f"{n:02d}-" for n in range(1, len(written))]]
    by_path = {a.file.path: a for a in engine.analyses()}
    for tour in tours.values():
        assert_tour_valid(tour, by_path)
        assert "ref" not in tour  # a local source has no commit
    start = tours["00-start-here.tour"]
    assert start["isPrimary"] is True and [s["file"] for s in start["steps"]] == ["recipes/demo.yaml", "trainer/train_grpo.py"]
    titles = {t["title"]: t for t in tours.values()}
    assert titles[start["nextTour"]]["steps"][0]["file"] == "recipes/demo.yaml"
    assert titles[titles[start["nextTour"]]["nextTour"]]["steps"][0]["file"] == "trainer/train_grpo.py"
    trainer = next(t for t in tours.values() if t["steps"][0]["file"] == "trainer/train_grpo.py")
    analysis = by_path["trainer/train_grpo.py"]
    placed = sorted((n for n in analysis.notes if n.span is not None), key=lambda n: (n.span.start, n.note.index))
    assert [s["line"] for s in trainer["steps"][1:]] == [n.span.start for n in placed]
    description = " ".join(s["description"] for s in trainer["steps"])
    for where, text in note_fields(analysis):
        assert is_subsequence(words(text), words(description)), where


def test_tour_lines_follow_the_code_after_pin(project_dir, tmp_path, run):
    project = Project.open(project_dir)
    before = tour_files_for(project, tmp_path / "before")
    edit(project_dir / "src/trainer/train_grpo.py", "import logging\n", "import logging\nimport os\nimport re\nimport json\n")
    assert run("--root", project_dir, "pin")[0] == 0
    project = Project.open(project_dir)
    after = tour_files_for(project, tmp_path / "after")
    by_path = {a.file.path: a for a in analyses(project)}
    old, new = before["trainer/train_grpo.py"], after["trainer/train_grpo.py"]
    assert [s["line"] + 3 for s in old["steps"][1:]] == [s["line"] for s in new["steps"][1:]]
    assert [s["pattern"] for s in old["steps"][1:]] == [s["pattern"] for s in new["steps"][1:]]
    assert_tour_valid(new, by_path)


def tour_files_for(project: Project, out: Path) -> dict[str, dict]:
    export_codetour(project, out, [], engine=Engine(project, Cache(None)))
    return {t["steps"][0]["file"]: t for name, t in tour_files(out).items() if name != "00-start-here.tour"}


def test_tour_descriptions_are_safe_for_codetours_trusted_markdown(project_dir, tmp_path):
    edit(
        project_dir / "annotations/trainer/train_grpo.py.yaml",
        'body: "A module logger."',
        "body: |\n      A module logger: [click](command:workbench.action.terminal.sendSequence?%5B%22rm%22%5D),"
        " <command:x>, [ok](https://example.org), [note](#note-main), [rewards](trainer/rewards.py)\n\n"
        '      >> rm -rf ~\n\n      !!! warning "Careful"\n          Body.',
    )
    project = Project.open(project_dir)
    trainer = tour_files_for(project, tmp_path / "t")["trainer/train_grpo.py"]
    logger = next(s for s in trainer["steps"] if s["title"] == "logger")
    description = logger["description"]
    assert not COMMAND_LINK.search(description) and "click" in description and "command:x" in description
    assert "[ok](https://example.org)" in description
    assert re.search(r"\[note\]\[#\d+\]", description)  # a step of this tour
    assert "[rewards](./trainer/rewards.py)" in description or "[rewards][" in description
    assert not re.search(r"(?m)^>>", description)
    assert "> **Warning: Careful**" in description


def test_a_reading_path_names_locked_files(project, engine, tmp_path):
    with pytest.raises(AnnotatorError) as caught:
        export_codetour(project, tmp_path / "t", ["no/such/file.py"], engine=engine)
    assert caught.value.findings[0].code == "C001"


# -- the real snapshot ---------------------------------------------------------------------------------------------------
READING_PATH = [
    "recipes/Qwen2.5-1.5B-Instruct/grpo/config_demo.yaml",
    "src/open_r1/grpo.py",
    "src/open_r1/rewards.py",
    "trl/trl/trainer/grpo_trainer.py",
]


@needs_snapshot
def test_every_real_file_exports_equivalent_with_every_note_and_valid_tours(real_project, tmp_path):
    started = time.perf_counter()
    engine = Engine(real_project, Cache(None))
    written = export_annotated_source(real_project, tmp_path / "annotated", site_url="https://example.org/site/", engine=engine)
    tours_written = export_codetour(real_project, tmp_path / "tours", READING_PATH, engine=engine)
    elapsed = time.perf_counter() - started
    all_analyses = engine.analyses()
    assert len(written) == len(all_analyses) == len(real_project.lock.files)
    notes = 0
    for path, analysis in zip(written, all_analyses, strict=True):
        assert path == tmp_path / "annotated" / analysis.file.key
        exported = path.read_text("utf-8")
        assert_equivalent(analysis, exported)
        assert_notes_present(analysis, real_project.lock, exported, site_url="https://example.org/site/")
        notes += len(analysis.notes)
    assert notes > 400
    tours = tour_files(tmp_path / "tours")
    assert len(tours) == len(all_analyses) + 1 and len(tours_written) == len(tours)
    for analysis in all_analyses:
        tour = next(
            t for name, t in tours.items() if name != "00-start-here.tour" and t["title"].endswith(f"({analysis.file.key})")
        )
        assert tour["ref"] == real_project.lock.source_of(analysis.file).commit
        assert_tour_valid(tour, {analysis.file.path: analysis})
        assert len(tour["steps"]) == 1 + sum(1 for n in analysis.notes if n.span is not None)
    start = tours["00-start-here.tour"]
    jsonschema.Draft4Validator(SCHEMA).validate(start)
    assert start["isPrimary"] and len(start["steps"]) == len(READING_PATH)
    assert start["steps"][-1]["uri"].startswith("https://github.com/huggingface/trl/blob/")  # another repository
    assert elapsed < 10, f"the real export took {elapsed:.1f}s"
