"""The engine's pages: every line once, in order; deterministic; notes beside code; no snapshot still builds."""

from __future__ import annotations

import html
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from annotator_docs.project import Project
from annotator_docs.site import build_site, generate

from .conftest import needs_snapshot, write_site
from .html_tools import code_lines, dangers, elements



def assert_every_line_once(page: str, source_lines) -> None:
    lines = code_lines(page)
    assert [line_id for line_id, _ in lines] == [f"L{n}" for n in range(1, len(source_lines) + 1)]
    assert [text for _, text in lines] == list(source_lines)


def test_every_fixture_line_appears_once_in_order(project):
    build = build_site(project, with_history=False)
    for locked in project.lock.files:
        assert_every_line_once(build.pages[f"files/{locked.path}.md"].inline(), project.model(locked.path).lines)


@needs_snapshot
def test_every_real_line_appears_once_in_order(real_project):
    build = build_site(real_project, with_history=False)
    assert len([p for p in build.pages if p.startswith("files/")]) == len(real_project.lock.files)
    for locked in real_project.lock.files:
        assert_every_line_once(build.pages[f"files/{locked.path}.md"].inline(), real_project.model(locked.path).lines)


def test_notes_sit_in_the_row_that_starts_at_their_first_line(project):
    page = build_site(project, with_history=False).pages["files/trainer/train_grpo.py.md"].inline()
    notes = elements(page, "div")
    spans = {n["id"]: n.get("data-ann-span") for n in notes if n.get("id", "").startswith("note-")}
    assert spans["note-main"] == "13-46"
    assert spans["note-main-Load-tokenizer"] == "23-27"
    assert spans["note-main.make_prompt"] == "35-36"
    rows = [n for n in notes if "ann-row" in n.get("class", "").split()]
    assert [r["data-ann-first"] for r in rows][:4] == ["1", "10", "13", "23"]


def test_symbol_and_line_anchors(project):
    page = build_site(project, with_history=False).pages["files/trainer/configs.py.md"].inline()
    ids = [e["id"] for e in elements(page, "span") if "id" in e]
    assert "TrainConfig.seed" in ids and "DatasetConfig.__post_init__" in ids and "L1" in ids
    assert len(ids) == len(set(ids))


def test_cross_file_names_link_to_their_definition(project):
    page = build_site(project, with_history=False).pages["files/trainer/train_grpo.py.md"].inline()
    hrefs = {e["href"] for e in elements(page, "a") if "ann-ref" in e.get("class", "")}
    assert "../rewards.py/#get_reward_funcs" in hrefs and "../configs.py/#TrainConfig" in hrefs
    assert "#main" in hrefs or "#logger" in hrefs


def test_header_sections_and_status(project):
    page = build_site(project, with_history=False).pages["files/trainer/train_grpo.py.md"].inline()
    for heading in ("## Overview", "## Role in the pipeline", "## Key innovations", "## Data flow", "## Key takeaways"):
        assert heading in page
    assert 'class="ann-pill ann-status-complete">complete<' in page


def test_pages_are_deterministic(project_dir):
    first = build_site(Project.open(project_dir), with_history=False)
    shutil.rmtree(project_dir / ".annotator-cache")
    second = build_site(Project.open(project_dir), with_history=False)
    assert first.pages == second.pages and first.data == second.data


def test_without_snapshot_pages_show_notes_and_a_panel(project_dir):
    shutil.rmtree(project_dir / "src" / "trainer")
    build = build_site(Project.open(project_dir), with_history=False)
    page = build.pages["files/trainer/train_grpo.py.md"].inline()
    assert "Source not pulled." in page and "annotator snapshot pull" in page
    assert "The tokenizer is a dictionary here" in page
    assert any(f.code == "E001" for f in build.findings)


def test_changed_and_orphaned_notes_carry_a_warning(project_dir):
    source = project_dir / "src/trainer/train_grpo.py"
    text = source.read_text().replace('tokenizer = {"vocab": config.vocab_size}', 'tokenizer = {"vocab": 1}')
    source.write_text(text.replace("make_prompt", "build_prompt"))
    page = build_site(Project.open(project_dir), with_history=False).pages["files/trainer/train_grpo.py.md"].inline()
    assert "## Notes that lost their code" in page
    assert "ann-state-orphaned" in page and "ann-badge-changed" in page
    assert "code changed since this note was written: review it" in page


def test_generate_writes_pages_and_assets_only_when_changed(project_dir, tmp_path):
    out = tmp_path / "out"
    project = Project.open(project_dir)
    assert generate(project, out) > 0
    assert (out / "files/trainer/train_grpo.py.md").is_file()
    assert (out / "assets/annotator/annotator.css").is_file() and (out / "progress.json").is_file()
    assert generate(Project.open(project_dir), out) == 0


def test_failed_strict_generate_writes_nothing(project_dir, tmp_path, run):
    out = tmp_path / "out"
    run("--root", project_dir, "generate", "--out", out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    sidecar = project_dir / "annotations/trainer/train_grpo.py.yaml"
    sidecar.write_text(sidecar.read_text().replace('symbol: "logger"', 'symbol: "loger"').replace("fingerprint: \"0dc8128bee435d5e:2e11c48d9703d512\"", ""))
    code, _, err = run("--root", project_dir, "generate", "--out", out, "--strict")
    assert code == 2 and "A001 unknown symbol `loger`" in err and "nothing written" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_note_markdown_is_sanitized_in_the_page(project_dir):
    sidecar = project_dir / "annotations/trainer/train_grpo.py.yaml"
    hostile = '<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3)) <div id=\\"__config\\">{}</div>'
    sidecar.write_text(sidecar.read_text().replace('body: "A module logger."', f'body: "{hostile}"'))
    page = build_site(Project.open(project_dir), with_history=False).pages["files/trainer/train_grpo.py.md"].inline()
    assert dangers(page) == []


def _mkdocs(project_dir: Path, *args: str) -> subprocess.CompletedProcess:
    write_site(project_dir)
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", *args], cwd=project_dir, capture_output=True, text=True,
                          env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})


def test_mkdocs_strict_build_of_the_fixture_project(project_dir):
    result = _mkdocs(project_dir, "--strict")
    assert result.returncode == 0, result.stderr
    site = project_dir / "site"
    page = (site / "files/trainer/train_grpo.py/index.html").read_text()
    assert_every_line_once(page, Project.open(project_dir).model("trainer/train_grpo.py").lines)
    assert (site / "progress/index.html").is_file() and (site / "progress.json").is_file()
    assert not list((project_dir / "docs").rglob("files"))  # nothing written into docs_dir
    assert 'href="../../../assets/annotator/annotator.css"' in page or "assets/annotator/annotator.css" in page


def test_mkdocs_strict_build_fails_with_the_sidecar_position(project_dir):
    sidecar = project_dir / "annotations/trainer/train_grpo.py.yaml"
    sidecar.write_text(sidecar.read_text().replace("priority: critical", "priority: urgent"))
    result = _mkdocs(project_dir, "--strict")
    assert result.returncode != 0
    assert "annotations/trainer/train_grpo.py.yaml:4:11: S010 .priority: 'urgent' is not one of critical, high, normal" in result.stderr


def test_mkdocs_non_strict_build_shows_the_error_on_the_page(project_dir):
    sidecar = project_dir / "annotations/trainer/train_grpo.py.yaml"
    sidecar.write_text(sidecar.read_text().replace("priority: critical", "priority: urgent"))
    result = _mkdocs(project_dir)
    assert result.returncode == 0
    page = (project_dir / "site/files/trainer/train_grpo.py/index.html").read_text()
    assert "This page has a problem." in page
    assert html.escape("'urgent' is not one of critical, high, normal", quote=True) in page or "urgent" in page


def test_mkdocs_strict_build_without_the_source_fails_and_says_so(project_dir):
    shutil.rmtree(project_dir / "src" / "trainer")
    assert _mkdocs(project_dir).returncode == 0  # a plain build still works: notes and a panel
    result = _mkdocs(project_dir, "--strict")
    assert result.returncode != 0 and "E001 source `trainer/train_grpo.py` is not pulled" in result.stderr


def test_failed_strict_build_leaves_the_previous_site_untouched(project_dir):
    assert _mkdocs(project_dir).returncode == 0
    site = project_dir / "site"
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    sidecar = project_dir / "annotations/trainer/train_grpo.py.yaml"
    sidecar.write_text(sidecar.read_text().replace("priority: critical", "priority: urgent"))
    result = _mkdocs(project_dir, "--strict")
    assert result.returncode != 0 and "the previous site is left as it was" in result.stderr
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before


def test_a_long_lived_engine_rerenders_only_the_edited_page_and_does_not_grow(project_dir):
    from annotator_docs.site import SiteEngine

    engine = SiteEngine(Project.open(project_dir))
    first = engine.build(with_history=False)
    sidecar = project_dir / "annotations/trainer/train_grpo.py.yaml"
    text = sidecar.read_text()
    for round_ in range(5):
        sidecar.write_text(text.replace("A module logger.", f"A module logger ({round_})."))
        build = engine.build(with_history=False)
    changed = [uri for uri in first.pages if first.pages[uri] != build.pages[uri]]
    assert changed == ["files/trainer/train_grpo.py.md"]
    assert "A module logger (4)." in build.pages["files/trainer/train_grpo.py.md"].inline()
    assert len(engine._pages) == len(Project.open(project_dir).lock.files)
    assert len(engine._loaded) == 2  # the two sidecars of the fixture, current versions only


def _indexed_text(site: Path, page: str) -> str:
    import json

    index = json.loads((site / "search/search_index.json").read_text())
    return " ".join(doc["text"] for doc in index["docs"] if doc["location"].startswith(page))


def test_search_indexes_notes_not_code_unless_asked(project_dir):
    word = "basicConfig"  # in the code of train_grpo.py, in no note
    source = (project_dir / "src/trainer/train_grpo.py").read_text()
    sidecar = (project_dir / "annotations/trainer/train_grpo.py.yaml").read_text()
    assert word in source and word not in sidecar
    assert _mkdocs(project_dir, "--strict").returncode == 0
    lean = _indexed_text(project_dir / "site", "files/trainer/train_grpo.py/")
    assert "make_prompt" in lean and word not in lean  # symbol names and notes, no code
    config = project_dir / "mkdocs.yml"  # written by the first build
    config.write_text(config.read_text().replace("      history: false\n", "      history: false\n      search_code: true\n"))
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project_dir, capture_output=True,
                            text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    full = _indexed_text(project_dir / "site", "files/trainer/train_grpo.py/")
    assert word in full and "make_prompt" in full
    page = (project_dir / "site/files/trainer/train_grpo.py/index.html").read_text()
    assert_every_line_once(page, source.splitlines())  # the rows replaced the indexed text
