"""The site: every line once, in order; deterministic; notes beside code; builds that fail leave nothing half done.

The fixture site is built once per session (``fixture_build``: the engine's pages; ``fixture_site``: a strict
mkdocs build of the same project); tests that change the project build a copy of their own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from annotator_docs.cache import Cache
from annotator_docs.engine import Engine
from annotator_docs.project import Project
from annotator_docs.render.page import anchor_ids
from annotator_docs.site import SiteBuilder, build_site

from .conftest import FIXTURE_PROJECT, edit, needs_snapshot, real_model, run_mkdocs, write_site
from .html_tools import code_lines, dangers, elements

SIDE = "annotations/trainer/train_grpo.py.yaml"
GRPO = "files/trainer/train_grpo.py.md"


def assert_every_line_once(page: str, source_lines) -> None:
    lines = code_lines(page)
    assert [line_id for line_id, _ in lines] == [f"L{n}" for n in range(1, len(source_lines) + 1)]
    assert [text for _, text in lines] == list(source_lines)


def build(project_dir: Path):
    return build_site(Engine(Project.open(project_dir), Cache(None)), with_history=False)


@pytest.fixture(scope="session")
def fixture_build(tmp_path_factory):
    project = tmp_path_factory.mktemp("engine") / "project"
    shutil.copytree(FIXTURE_PROJECT, project)
    return Project.open(project), build(project)


def mkdocs(project_dir: Path, *args: str) -> subprocess.CompletedProcess:
    write_site(project_dir)
    return run_mkdocs(project_dir, *args)


@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory):
    project = tmp_path_factory.mktemp("mkdocs") / "project"
    shutil.copytree(FIXTURE_PROJECT, project)
    result = mkdocs(project, "--strict")
    assert result.returncode == 0, result.stderr
    return project, project / "site"


def test_every_fixture_line_appears_once_in_order(fixture_build):
    project, site = fixture_build
    for locked in project.lock.files:
        assert_every_line_once(site.pages[f"files/{locked.key}.md"].inline(), real_model(project, locked.key).lines)


@needs_snapshot
def test_every_real_line_appears_once_in_order(real_project, real_build):
    pages = [p for p in real_build.pages if p.startswith("files/")]
    assert len(pages) == len(real_project.lock.files) and len({p.split("/")[1] for p in pages}) > 1
    for locked in real_project.lock.files:
        assert_every_line_once(real_build.pages[f"files/{locked.key}.md"].inline(), real_model(real_project, locked.key).lines)


def test_notes_sit_in_the_row_that_starts_at_their_first_line(fixture_build):
    page = fixture_build[1].pages[GRPO].inline()
    spans = {n["id"]: n.get("data-ann-span") for n in elements(page, "article") if n.get("id", "").startswith("note-")}
    assert spans["note-main"] == "13-46"
    assert spans["note-main-Load-tokenizer"] == "23-27"
    assert spans["note-main.make_prompt"] == "35-36"
    rows = [n for n in elements(page, "div") if "ann-row" in n.get("class", "").split()]
    assert [r["data-ann-first"] for r in rows][:4] == ["1", "10", "13", "23"]


def test_symbol_and_line_anchors_are_unique(fixture_build):
    page = fixture_build[1].pages["files/trainer/configs.py.md"].inline()
    ids = [e["id"] for e in elements(page, "span") if "id" in e]
    assert {"TrainConfig.seed", "DatasetConfig.__post_init__", "L1"} <= set(ids)
    assert len(ids) == len(set(ids))


def test_cross_file_names_link_to_their_definition(fixture_build):
    page = fixture_build[1].pages[GRPO].inline()
    hrefs = {e["href"] for e in elements(page, "a") if "ann-ref" in e.get("class", "")}
    assert {"../rewards.py/#get_reward_funcs", "../configs.py/#TrainConfig", "#main"} <= hrefs


def test_the_header_is_compact_and_the_file_sections_sit_beside_the_opening_lines(fixture_build):
    page = fixture_build[1].pages[GRPO].inline()
    header = page[: page.index('<div class="ann-rows"')]
    assert "Role in the pipeline" not in header and "Key takeaways" not in header  # nothing pushes the code down
    first_row = page[page.index('<div class="ann-row') : page.index('data-ann-first="10"')]
    assert "Role in the pipeline" in first_row and "Key ideas" in first_row and "Data flow" in first_row
    assert page.index("Key takeaways") > page.index('data-ann-last="50"')  # the takeaways close the page
    assert 'class="ann-pill ann-status-complete">complete<' in header


def test_readers_see_no_anchor_chrome_and_annotators_do(fixture_build):
    page = fixture_build[1].pages[GRPO].inline()
    for chip in elements(page, "code"):
        if "ann-sym" in chip.get("class", ""):
            assert chip.get("data-ann-only") == "annotator"
    badges = [e for e in elements(page, "span") if "ann-badge" in e.get("class", "")]
    assert badges and all(b.get("data-ann-only") == "annotator" for b in badges)


def test_titles_render_inline_markdown(project_dir):
    edit(project_dir / SIDE, '  - symbol: "logger"\n', '  - symbol: "logger"\n    title: "The `logger` and *why*"\n')
    page = build(project_dir).pages[GRPO].inline()
    (_title,) = [e for e in elements(page, "h3") if "ann-note-title" in e.get("class", "")]
    assert "The <code>logger</code> and <em>why</em>" in page and "`logger`" not in page.split("ann-note-title")[1][:80]


def test_pages_are_deterministic(project_dir):
    first = build_site(Engine(Project.open(project_dir)), with_history=False)
    shutil.rmtree(project_dir / ".annotator-cache")
    second = build_site(Engine(Project.open(project_dir)), with_history=False)
    assert {u: p.inline() for u, p in first.pages.items()} == {u: p.inline() for u, p in second.pages.items()}
    assert first.data == second.data


def test_without_snapshot_pages_show_notes_and_a_panel(project_dir):
    shutil.rmtree(project_dir / "src" / "trainer")
    site = build(project_dir)
    page = site.pages[GRPO].inline()
    assert "Source not pulled." in page and "annotator snapshot pull" in page
    assert "The tokenizer is a dictionary here" in page
    assert any(f.code == "E001" for f in site.findings)
    # links to a symbol still land on its note: each noted symbol keeps its anchor, once
    sidecar = yaml.safe_load((project_dir / "annotations/trainer/train_grpo.py.yaml").read_text())
    symbols = {n["symbol"] for n in sidecar["notes"] if n.get("symbol")}
    ids = [e["id"] for e in elements(page, "span") if "ann-anchor" in e.get("class", "")]
    assert symbols == {"logger", "main", "main.make_prompt"} and sorted(ids) == sorted(symbols)


def test_changed_and_orphaned_notes_carry_a_reader_worded_marker(project_dir):
    source = project_dir / "src/trainer/train_grpo.py"
    edit(source, 'tokenizer = {"vocab": config.vocab_size}', 'tokenizer = {"vocab": 1}')
    source.write_text(source.read_text().replace("make_prompt", "build_prompt"))
    page = build(project_dir).pages[GRPO].inline()
    assert "Notes whose code is gone" in page
    orphan = next(e for e in elements(page, "article") if e["id"] == "note-main.make_prompt")
    assert "ann-state-orphaned" in orphan["class"]
    assert "The code this note described is no longer in the file." in page
    assert "The code under this note has changed since the note was written" in page


def test_generate_writes_pages_and_assets_only_when_changed(project_dir, tmp_path, run):
    out = tmp_path / "out"
    code, _, err = run("--root", project_dir, "generate", "--out", out)
    assert code == 0 and (out / GRPO).is_file() and (out / "assets/annotator/annotator.css").is_file()
    assert (out / "progress.json").is_file() and " 0 unchanged" in err
    code, _, err = run("--root", project_dir, "generate", "--out", out)
    # 5 pages, the dashboard, progress.json, 5 annotated sources and 2 assets
    assert code == 0 and err.splitlines()[-1].startswith("0 file(s) written, 16 unchanged")


def test_generate_never_touches_a_file_it_did_not_write(project_dir, tmp_path, run):
    out = tmp_path / "out"
    assert run("--root", project_dir, "generate", "--out", out)[0] == 0
    mine = out / "files/trainer/notes-by-hand.md"
    mine.write_text("# mine\n")
    edit(project_dir / "source_snapshot/snapshot.lock", '[[files]]\npath = "trainer/async_exec.py"\ngroup = "Execution"\n', "")
    code, _, err = run("--root", project_dir, "generate", "--out", out)
    assert code == 0 and "2 removed" in err  # the page and the annotated source of the file dropped from the lock
    assert mine.read_text() == "# mine\n" and not (out / "files/trainer/async_exec.py.md").exists()
    clash = tmp_path / "clash"
    (clash / "files/trainer").mkdir(parents=True)
    (clash / GRPO).write_text("# a page someone wrote\n")
    code, _, err = run("--root", project_dir, "generate", "--out", clash)
    assert code == 2 and "O001" in err and (clash / GRPO).read_text() == "# a page someone wrote\n"


def test_generated_front_matter_keeps_unicode(project_dir, tmp_path, run):
    edit(project_dir / SIDE, "  A toy training script", "  🤗 A toy training script")
    out = tmp_path / "out"
    assert run("--root", project_dir, "generate", "--out", out)[0] == 0
    text = (out / GRPO).read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["description"].startswith("🤗 A toy training script") and "\\ud83e" not in text


def test_failed_strict_generate_writes_nothing(project_dir, tmp_path, run):
    out = tmp_path / "out"
    run("--root", project_dir, "generate", "--out", out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    edit(
        project_dir / SIDE,
        '  - symbol: "logger"\n    line: 10\n    fingerprint: "0dc8128bee435d5e:2e11c48d9703d512"\n',
        '  - symbol: "loger"\n',
    )  # a new note with a typo
    code, stdout, err = run("--root", project_dir, "generate", "--out", out, "--strict")
    assert code == 1 and "A001 symbol `loger` not found" in stdout and "nothing written" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_note_markdown_is_sanitized_in_the_page(project_dir):
    hostile = '<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3)) <div id=\\"__config\\">{}</div>'
    edit(project_dir / SIDE, 'body: "A module logger."', f'body: "{hostile}"')
    assert dangers(build(project_dir).pages[GRPO].inline()) == []


def test_mkdocs_strict_build_of_the_fixture_project(fixture_site):
    project, site = fixture_site
    page = (site / "files/trainer/train_grpo.py/index.html").read_text()
    assert_every_line_once(page, real_model(Project.open(project), "trainer/train_grpo.py").lines)
    assert (site / "progress/index.html").is_file() and (site / "progress.json").is_file()
    assert not list((project / "docs").rglob("files"))  # nothing written into docs_dir
    stylesheets = [e["href"] for e in elements(page, "link") if e.get("rel") == "stylesheet"]
    assert "../../../assets/annotator/annotator.css" in stylesheets


def test_a_dead_link_in_a_note_fails_a_strict_build_with_its_position(project_dir):
    edit(project_dir / SIDE, 'body: "A module logger."', 'body: "See [the loader](trainer/rewards.py#load_rewards)."')
    result = mkdocs(project_dir, "--strict")
    assert result.returncode != 0
    assert "annotations/trainer/train_grpo.py.yaml:47:1: R002 dead link `trainer/rewards.py#load_rewards`" in result.stderr


def test_mkdocs_strict_build_fails_with_the_sidecar_position(project_dir):
    edit(project_dir / SIDE, "priority: critical", "priority: urgent")
    result = mkdocs(project_dir, "--strict")
    assert result.returncode != 0
    assert (
        "annotations/trainer/train_grpo.py.yaml:4:11: S010 .priority: `urgent` is not one of critical, high, normal"
        in result.stderr
    )


def test_mkdocs_non_strict_build_shows_the_error_on_the_page(project_dir):
    edit(project_dir / SIDE, "priority: critical", "priority: urgent")
    result = mkdocs(project_dir)
    assert result.returncode == 0
    page = (project_dir / "site/files/trainer/train_grpo.py/index.html").read_text()
    (_banner,) = [e for e in elements(page, "div") if e.get("class") == "ann-error"]
    assert "This page has a problem." in page and "`urgent` is not one of critical, high, normal" in page


def test_mkdocs_strict_build_without_the_source_fails_and_says_so(project_dir):
    shutil.rmtree(project_dir / "src" / "trainer")
    assert mkdocs(project_dir).returncode == 0  # a plain build still works: notes and a panel
    result = mkdocs(project_dir, "--strict")
    assert result.returncode != 0 and "E001 source `trainer/train_grpo.py` is not pulled" in result.stderr


def test_failed_strict_build_leaves_the_previous_site_untouched(project_dir):
    assert mkdocs(project_dir).returncode == 0
    site = project_dir / "site"
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    edit(project_dir / SIDE, "priority: critical", "priority: urgent")
    result = mkdocs(project_dir, "--strict")
    assert result.returncode != 0 and "the previous site is left as it was" in result.stderr
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before


def test_a_long_lived_builder_rerenders_only_the_edited_page(project_dir):
    builder = SiteBuilder(Engine(Project.open(project_dir)))
    first = builder.build(with_history=False)
    first_pages = {uri: page.inline() for uri, page in first.pages.items()}
    sidecar = project_dir / SIDE
    text = sidecar.read_text()
    for round_ in range(5):
        sidecar.write_text(text.replace("A module logger.", f"A module logger ({round_})."))
        last = builder.build(with_history=False)
    changed = sorted(uri for uri in first.pages if first_pages[uri] != last.pages[uri].inline())
    assert changed == [GRPO, "progress.md"] or changed == [GRPO]
    assert "A module logger (4)." in last.pages[GRPO].inline()


def _indexed(site: Path, page: str) -> list[dict]:
    index = json.loads((site / "search/search_index.json").read_text())
    return [doc for doc in index["docs"] if doc["location"].startswith(page)]


def test_search_has_one_entry_per_note_with_its_anchor_and_no_chrome(fixture_site):
    entries = _indexed(fixture_site[1], "files/trainer/train_grpo.py/")
    by_location = {doc["location"]: doc for doc in entries}
    note = by_location["files/trainer/train_grpo.py/#note-main.make_prompt"]
    assert note["title"] == "main.make_prompt" and "Turns an example into a chat prompt." in note["text"]
    text = " ".join(doc["text"] for doc in entries)
    for chrome in ("upstream", "intact", "What", "L35"):
        assert chrome not in text.split(), chrome
    # the annotator view (its status block, its toggle) is not for readers' searches
    assert "of lines annotated" not in text and "Annotator view" not in text
    # nor are the facts beside the file's path (its size, the downloads); the path itself is
    assert "lines ·" not in text and "Annotated source" not in text
    assert "trainer/train_grpo.py" in text
    assert "basicConfig" not in text  # the code is not indexed unless asked


def test_search_indexes_the_code_when_asked(project_dir):
    word = "basicConfig"  # in the code of train_grpo.py, in no note
    assert word in (project_dir / "src/trainer/train_grpo.py").read_text() and word not in (project_dir / SIDE).read_text()
    write_site(project_dir)
    edit(project_dir / "mkdocs.yml", "      history: false\n", "      history: false\n      search_code: true\n")
    result = run_mkdocs(project_dir, "--strict")
    assert result.returncode == 0, result.stderr
    assert word in " ".join(doc["text"] for doc in _indexed(project_dir / "site", "files/trainer/train_grpo.py/"))
    page = (project_dir / "site/files/trainer/train_grpo.py/index.html").read_text()
    assert_every_line_once(page, (project_dir / "src/trainer/train_grpo.py").read_text().splitlines())


def test_a_theme_custom_dir_overrides_a_page_template_and_sets_edit_links(project_dir):
    # mkdocs' convention for theme overrides: <custom_dir>/annotator/page_footer.html replaces ours
    overrides = project_dir / "overrides" / "annotator"
    overrides.mkdir(parents=True)
    (overrides / "page_footer.html").write_text(
        '<footer class="ann-footer"><p class="house-footer">Reviewed by {{ page.title }}</p></footer>\n'
    )
    write_site(
        project_dir,
        features="content.action.edit",
        extra="  custom_dir: overrides\nrepo_url: https://github.com/acme/notes\nedit_uri: edit/main/docs/\n",
    )
    result = run_mkdocs(project_dir, "--strict")
    assert result.returncode == 0, result.stderr
    page = (project_dir / "site/files/trainer/train_grpo.py/index.html").read_text()
    footers = [e for e in elements(page, "p") if e.get("class") == "house-footer"]
    assert len(footers) == 1 and "Key takeaways" not in page
    edits = [e["href"] for e in elements(page, "a") if "edit" in e.get("href", "")]
    assert edits == ["https://github.com/acme/notes/edit/main/annotations/trainer/train_grpo.py.yaml"]
    home = (project_dir / "site/index.html").read_text()
    assert "https://github.com/acme/notes/edit/main/docs/index.md" in [e.get("href") for e in elements(home, "a")]
    progress = (project_dir / "site/progress/index.html").read_text()
    assert not [e for e in elements(progress, "a") if "/edit/" in e.get("href", "")]  # generated: nothing to edit


def test_an_unknown_symbol_in_a_hand_written_page_fails_the_strict_build_where_it_stands(project_dir, run):
    write_site(project_dir)
    (project_dir / "docs/guide.md").write_text(
        "# Guide\n\nSee [the loop](trainer/train_grpo.py#main) and\n[a ghost](trainer/train_grpo.py#no_such_function).\n\n"
        "::: excerpt trainer/rewards.py#load_rewards\n"
    )
    result = mkdocs(project_dir, "--strict")
    assert result.returncode == 1
    assert "docs/guide.md:4:11: R002" in result.stderr and "no_such_function" in result.stderr
    assert "docs/guide.md:6:1: R002" in result.stderr and "load_rewards" in result.stderr
    code, out, _ = run("--root", project_dir, "check")
    assert code == 1 and "docs/guide.md:4:11: R002" in out and "docs/guide.md:6:1: R002" in out


def _mkdocs_anchor_ids(page_html: str) -> set[str]:
    """The ids mkdocs' own raw-HTML pass collects (its conversion of a page that is all HTML)."""
    from mkdocs.structure.pages import _HTMLHandler

    parser = _HTMLHandler()
    parser.feed(page_html)
    parser.close()
    return parser.present_anchor_ids


def _assert_pages_skip_markdown_with_the_same_anchors(build) -> None:
    file_pages = {uri: page for uri, page in build.pages.items() if uri.startswith("files/")}
    assert file_pages and all(page.html_only for page in file_pages.values())
    assert not build.pages["progress.md"].html_only  # the dashboard is Markdown: mkdocs converts it
    for uri, page in file_pages.items():
        front = yaml.safe_load(page.markdown.split("\n---\n", 1)[0].removeprefix("---\n"))
        assert "&lt;/code&gt;" not in front.get("description", "") and "<" not in front.get("description", ""), uri
        body = page.body()
        assert body.lstrip().startswith("<div") and "title:" not in body.split(">", 1)[0], uri
        found = anchor_ids(body)
        assert found == _mkdocs_anchor_ids(body), uri
        # the symbols' anchors only the rows carry, handed over beside the body: the page has them
        assert page.anchors and set(page.anchors) <= anchor_ids(page.inline()), uri
        assert not set(page.anchors) & found, uri  # search no longer parses them on every page


def test_file_pages_skip_markdown_and_hand_mkdocs_the_anchors_it_would_find(fixture_build):
    _, site = fixture_build
    _assert_pages_skip_markdown_with_the_same_anchors(site)


def test_real_file_pages_hand_mkdocs_the_anchors_it_would_find(real_build):
    _assert_pages_skip_markdown_with_the_same_anchors(real_build)


def test_links_into_a_file_page_are_checked_against_the_anchors_the_plugin_hands_mkdocs(project_dir):
    """mkdocs reports a link to a missing anchor (at its default level, info); an existing one is quiet."""
    (project_dir / "docs").mkdir(exist_ok=True)
    (project_dir / "docs" / "links.md").write_text(
        "# Links\n\n[good](files/trainer/train_grpo.py.md#main) and [bad](files/trainer/train_grpo.py.md#no-such-symbol)\n"
    )
    result = mkdocs(project_dir, "--strict")
    assert result.returncode == 0, result.stderr
    assert "does not contain an anchor '#no-such-symbol'" in result.stderr
    assert "'#main'" not in result.stderr


def test_mkdocs_never_converts_a_file_page_as_markdown(project_dir, monkeypatch):
    """File pages are finished HTML: mkdocs gets them without a Markdown pass (which would parse
    them twice and let the site's preprocessors rewrite note text); hand-written pages still convert."""
    import markdown
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    converted: list[str] = []
    original = markdown.Markdown.convert
    monkeypatch.setattr(markdown.Markdown, "convert", lambda self, text: converted.append(text) or original(self, text))
    write_site(project_dir)
    monkeypatch.setenv("NO_MKDOCS_2_WARNING", "1")
    mkdocs_build(load_config(str(project_dir / "mkdocs.yml")))
    texts = [t for t in converted if t.strip()]
    assert any("# " in t for t in texts)  # the home page and the dashboard were converted
    assert not any("ann-rows" in t or "ann-page-part" in t for t in texts)
    page = (project_dir / "site" / "files" / "trainer" / "train_grpo.py" / "index.html").read_text()
    assert 'class="ann-rows"' in page and 'id="main"' in page


def test_a_cold_build_on_both_cores_gives_the_pages_of_a_build_on_one(tmp_path, monkeypatch):
    """Past PARALLEL_FROM files a cold build runs in worker processes (extraction with the sidecars and
    the binding analysis, then pages and downloads from one queue); it must give exactly the pages
    and data of the serial path."""
    import annotator_docs.engine as engine_module
    import annotator_docs.site as site_module

    project = tmp_path / "project"
    shutil.copytree(FIXTURE_PROJECT, project)
    source = (project / "src/trainer/train_grpo.py").read_text()
    sidecar = (project / "annotations/trainer/train_grpo.py.yaml").read_text()
    copies = max(engine_module.PARALLEL_FROM, site_module.PARALLEL_PAGES_FROM) + 2
    lock = (project / "source_snapshot/snapshot.lock").read_text()
    for number in range(copies):
        name = f"trainer/copy_{number}.py"
        (project / "src" / name).write_text(source.replace("def main(", f"def main_{number}(", 1))
        (project / "annotations" / f"{name}.yaml").write_text(sidecar.replace("trainer/train_grpo.py", name))
        lock += f'\n[[files]]\npath = "{name}"\ngroup = "Copies"\n'
    (project / "source_snapshot/snapshot.lock").write_text(lock)

    def everything(build):
        return {uri: page.inline() for uri, page in build.pages.items()}, build.data, build.findings

    stages = []
    as_completed = engine_module._Workers.as_completed

    def recorded(self, function, *args, **kwargs):
        stages.append(function.__name__)
        return as_completed(self, function, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(engine_module._Workers, "as_completed", recorded)
        parallel = everything(build(project))
    if (os.cpu_count() or 1) >= 2:
        assert stages == ["_prepare_job", "_work_job"]
    monkeypatch.setattr(engine_module, "PARALLEL_FROM", 10**6)
    monkeypatch.setattr(site_module, "PARALLEL_PAGES_FROM", 10**6)
    serial = everything(build(project))
    assert len(parallel[0]) > copies
    assert parallel == serial


def test_outline_paths_wrap_after_a_dot_and_read_as_the_symbol(fixture_build):
    import re

    _, site = fixture_build
    page = site.pages["files/trainer/train_grpo.py.md"].inline()
    outline = page[page.index('<nav class="ann-outline"') : page.index("</nav>")]
    entries = re.findall(r'<a href="#([^"]+)"><code>(.*?)</code></a>', outline)
    nested = [(anchor, label) for anchor, label in entries if "." in re.sub("<[^>]+>", "", label)]
    assert entries and nested
    for anchor, label in entries:
        assert re.sub("<[^>]+>", "", label) == anchor  # the text is the path, the breaks are only hints
    assert all(label.count("<wbr>") == label.count(".") for _, label in nested)
