"""One site, three builders: mkdocs + the plugin, ProperDocs + the plugin, and `annotator generate`
followed by Zensical. Each build is strict; the three must give the same pages, no warnings, and no
link that leads nowhere. Run on the fixture project everywhere, and on this repository's own site
when the snapshot is pulled (the builds are session fixtures in conftest.py).
"""

from __future__ import annotations

import shutil
import sys

import pytest

from annotator_docs.lock import load_lock

from .builders import plain_config, run_builder
from .conftest import FIXTURE_PROJECT, write_site
from .html_tools import broken_links


@pytest.fixture(params=["fixture", "real"])
def builds(request):
    return request.getfixturevalue(f"{request.param}_builds")


def test_every_builder_builds_strictly_without_a_warning(builds):
    for built in builds.values():
        assert built.warnings == [], (built.builder, built.warnings)


def test_the_three_builders_give_the_same_pages(builds):
    mkdocs = builds["mkdocs"].pages
    lock = load_lock(builds["mkdocs"].site.parent / "source_snapshot/snapshot.lock")
    assert {p for p in mkdocs if p.startswith("files/")} == {f"files/{f.key}" for f in lock.files}
    assert "progress" in mkdocs and "" in mkdocs
    for builder in ("properdocs", "zensical"):
        assert builds[builder].pages == mkdocs, (builder, builds[builder].pages ^ mkdocs)


def test_no_builder_leaves_a_link_that_leads_nowhere(builds):
    for built in builds.values():
        assert broken_links(built.site) == [], built.builder


def test_every_builder_loads_the_page_assets(builds):
    for built in builds.values():
        page = next((built.site / "files").rglob("index.html")).read_text("utf-8")
        assert "assets/annotator/annotator.css" in page and "assets/annotator/annotator.js" in page, built.builder
        assert (built.site / "assets/annotator/vendor/mermaid.min.js").is_file(), built.builder


def test_plain_mkdocs_builds_pages_generated_into_a_subfolder(tmp_path):
    """`generate --out docs/annotated`: the pages land one level down, and every link knows it."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURE_PROJECT, project)
    write_site(project)
    (project / "docs/index.md").write_text("# Fixture\n\n[The trainer](trainer/train_grpo.py#main) · [progress](progress.md)\n")
    generate = [sys.executable, "-m", "annotator_docs", "generate", "--out", "docs/annotated", "--strict"]
    code, output = run_builder(generate, project)
    assert code == 0, output
    config = plain_config((project / "mkdocs.yml").read_text()).replace("- assets/annotator/", "- annotated/assets/annotator/")
    config = config.replace("  - annotator_docs.references\n", "  - annotator_docs.references:\n      prefix: annotated/\n")
    config = config.replace("  - Progress: progress.md\n", "  - Progress: annotated/progress.md\n")
    (project / "mkdocs.yml").write_text(config)
    code, output = run_builder([sys.executable, "-m", "mkdocs", "build", "--strict"], project)
    assert code == 0, output
    assert [line for line in output.splitlines() if line.startswith("WARNING")] == []
    assert broken_links(project / "site") == []
    home = (project / "site/index.html").read_text("utf-8")
    assert 'href="annotated/files/trainer/train_grpo.py/#main"' in home
    assert 'href="annotated/progress/"' in home
