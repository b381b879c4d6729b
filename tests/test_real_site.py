"""This repository's own site: builds strictly with the snapshot, and still builds without it."""

from __future__ import annotations

import json
import subprocess
import sys

from annotator_docs.lock import load_lock

from .conftest import REPO, needs_snapshot, real_model, real_snapshot_present
from .html_tools import dangers, elements


def mkdocs_build(site_dir, *flags):
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(site_dir), *flags],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )


def test_the_site_builds_strictly_with_a_page_per_locked_file(request, tmp_path):
    if real_snapshot_present():
        site = request.getfixturevalue("real_builds")["mkdocs"].site  # the strict build test_builders shares
    else:  # without the snapshot the site still builds (not strictly: every page says its code is missing)
        result = mkdocs_build(tmp_path / "site")
        assert result.returncode == 0, result.stderr
        site = tmp_path / "site"
    pages = sorted((site / "files").rglob("index.html"))
    assert len(pages) == len(load_lock(REPO / "source_snapshot/snapshot.lock").files)
    for page in pages:
        assert dangers(page.read_text(), within="article") == [], page


@needs_snapshot
def test_dashboard_and_status_json_agree(real_build, run):
    code, out, _ = run("--root", REPO, "status", "--json")
    assert code == 0 and json.loads(out) == json.loads(real_build.data["progress.json"])
    assert [s["name"] for s in json.loads(out)["sources"]] == ["open-r1", "trl"]


@needs_snapshot
def test_zero3_figures_match_a_count_by_hand(run):
    # Counted by hand in recipes/accelerate_configs/zero3.yaml at 1416fa0: 22 lines, 16 top-level keys
    # plus 6 under deepspeed_config = 22 keys, one per line.
    _code, out, _ = run("--root", REPO, "status", "--json")
    zero3 = next(f for f in json.loads(out)["files"] if f["path"] == "recipes/accelerate_configs/zero3.yaml")
    assert (zero3["lines"], zero3["symbols"]) == (22, 22)
    # Every key has a note and every line is inside one: 22 of 22 both ways.
    assert (zero3["annotated_symbols"], zero3["covered_lines"]) == (22, 22)
    assert zero3["page"] == "files/recipes/accelerate_configs/zero3.yaml/"


@needs_snapshot
def test_init_on_every_real_file_gives_a_sidecar_check_accepts(run, tmp_path):
    import shutil

    project = tmp_path / "project"
    shutil.copytree(REPO / "source_snapshot", project / "source_snapshot")
    for locked in json.loads(run("--root", REPO, "status", "--json")[1])["files"]:
        code, out, err = run("--root", project, "init", locked["key"])
        assert code == 0, err
        code, out, err = run("--root", project, "check", locked["key"])
        assert code == 0, out + err


@needs_snapshot
def test_a_note_on_the_load_tokenizer_banner_resolves_to_its_lines(real_project):
    from annotator_docs.anchors import resolve_note
    from annotator_docs.models import Note, Span

    model = real_model(real_project, "src/open_r1/grpo.py")
    note = Note(index=0, sidecar_line=1, symbol="main", section="Load tokenizer", body="x")
    resolved = resolve_note(note, "n", "s.yaml", model)
    assert resolved.span == Span(76, 80)
    assert model.lines[75].strip() == "################" and model.lines[76].strip() == "# Load tokenizer"
    assert model.lines[78].strip() == "tokenizer = get_tokenizer(model_args, training_args)"


@needs_snapshot
def test_real_code_links_to_other_pages_across_repositories_and_upstream(real_project, real_build):
    from .html_tools import elements

    page = real_build.pages["files/src/open_r1/grpo.py.md"].inline()
    refs = {e["href"] for e in elements(page, "a") if "ann-ref" in e.get("class", "")}
    commit = real_project.lock.source("open-r1").commit
    # TRL re-exports GRPOTrainer through a lazy __init__; it lands on TRL's annotated page
    assert "../../../trl/trl/trainer/grpo_trainer.py/#GRPOTrainer" in refs
    assert "../utils/data.py/#get_dataset" in refs  # re-exported by open_r1.utils, defined in data.py
    assert "../utils/callbacks.py/#get_callbacks" in refs
    assert "../configs.py/#GRPOScriptArguments" in refs and "../rewards.py/#get_reward_funcs" in refs
    assert f"https://github.com/huggingface/open-r1/blob/{commit}/src/open_r1/utils/wandb_logging.py" in refs


@needs_snapshot
def test_edit_this_page_opens_the_sidecar_on_github(real_builds):
    for builder in ("mkdocs", "properdocs"):
        site = real_builds[builder].site
        page = (site / "files/src/open_r1/grpo.py/index.html").read_text()
        edits = {e["href"] for e in elements(page, "a") if "/edit/" in e.get("href", "")}
        assert edits == {"https://github.com/annotator-docs/open-r1-annotated/edit/main/annotations/src/open_r1/grpo.py.yaml"}
        glossary = (site / "glossary/index.html").read_text()
        assert "https://github.com/annotator-docs/open-r1-annotated/edit/main/docs/glossary.md" in {
            e.get("href") for e in elements(glossary, "a")
        }
