"""This repository's own site: builds strictly with the snapshot, and still builds without it."""

from __future__ import annotations

import json
import subprocess
import sys

from annotator.site import build_site

from .conftest import REPO, needs_snapshot, real_snapshot_present
from .html_tools import dangers


def mkdocs_build(site_dir, *flags):
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(site_dir), *flags], cwd=REPO,
                          capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})


def test_the_site_builds(tmp_path):
    flags = ("--strict",) if real_snapshot_present() else ()
    result = mkdocs_build(tmp_path / "site", *flags)
    assert result.returncode == 0, result.stderr
    pages = sorted((tmp_path / "site/files").rglob("index.html"))
    assert len(pages) == 11
    for page in pages:
        assert dangers(page.read_text(), within="article") == [], page


@needs_snapshot
def test_dashboard_and_status_json_agree(real_project, run, tmp_path):
    code, out, _ = run("--root", REPO, "status", "--json")
    status = json.loads(out)
    built = json.loads(build_site(real_project, with_history=False).data["progress.json"])
    assert code == 0 and status == built


@needs_snapshot
def test_zero3_figures_match_a_count_by_hand(run):
    # Counted by hand in recipes/accelerate_configs/zero3.yaml at 1416fa0: 22 lines, 16 top-level keys
    # plus 6 under deepspeed_config = 22 keys, one per line.
    code, out, _ = run("--root", REPO, "status", "--json")
    zero3 = next(f for f in json.loads(out)["files"] if f["path"] == "recipes/accelerate_configs/zero3.yaml")
    assert (zero3["lines"], zero3["symbols"]) == (22, 22)
    assert zero3["page"] == "files/recipes/accelerate_configs/zero3.yaml/"
