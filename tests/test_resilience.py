"""Determinism of whole builds, and a real `mkdocs serve` that survives a broken sidecar."""

from __future__ import annotations

import filecmp
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .conftest import FIXTURE_PROJECT, write_site


def make_site_project(root: Path) -> Path:
    project = root / "project"
    shutil.copytree(FIXTURE_PROJECT, project)
    return write_site(project)


def test_two_clean_builds_are_byte_identical(tmp_path):
    project = make_site_project(tmp_path)
    sites = []
    for name in ("one", "two"):
        shutil.rmtree(project / ".annotator-cache", ignore_errors=True)
        result = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(tmp_path / name)],
            cwd=project,
            capture_output=True,
            text=True,
            env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"},
        )
        assert result.returncode == 0, result.stderr
        sites.append(tmp_path / name)
    comparison = filecmp.dircmp(*sites)
    differing = []

    def walk(cmp, prefix=""):
        differing.extend(prefix + name for name in cmp.diff_files + cmp.left_only + cmp.right_only)
        for sub, child in cmp.subdirs.items():
            walk(child, prefix + sub + "/")

    walk(comparison)
    files = [p for p in sites[0].rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:  # filecmp's shallow compare can miss same-size files; compare bytes
        assert path.read_bytes() == (sites[1] / path.relative_to(sites[0])).read_bytes(), path
    assert differing == []


def test_a_new_process_takes_search_entries_from_the_cache_and_indexes_the_same(tmp_path):
    """Material's search entries of unchanged pages come from the cache in the next `mkdocs build`;
    the index equals a cold build's; an edited page and a changed search configuration are indexed anew."""
    import re

    from .conftest import run_mkdocs

    project = make_site_project(tmp_path)
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "SOURCE_DATE_EPOCH": "1700000000"}

    def build() -> tuple[list[int], str]:
        result = run_mkdocs(project, "-v", env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        counts = re.findall(r"search entries of (\d+) of (\d+) page", result.stderr)
        assert len(counts) == 1, result.stderr[-2000:]
        return [int(n) for n in counts[0]], (project / "site/search/search_index.json").read_text()

    (reused, pages), cold = build()
    assert reused == 0 and pages > 3
    assert build() == ([pages, pages], cold)
    (project / "docs/index.md").write_text("# Fixture\n\nThe word searchable-edit, on the home page.\n")
    (reused, _), edited = build()
    assert reused == pages - 1 and "searchable-edit" in edited and "searchable-edit" not in cold
    config = project / "mkdocs.yml"
    config.write_text(config.read_text().replace("  - search\n", "  - search:\n      separator: '[\\s]+'\n", 1))
    (reused, _), _ = build()
    assert reused == 0


def run_build_script(script: str, project, tmp_path, *args: str) -> str:
    """Run a build script in a fresh process from the project folder; its output, once it succeeded."""
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "XDG_CACHE_HOME": str(tmp_path / "xdg")},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


BUILD_COUNTING_MARKDOWN = """
import sys
import markdown
from mkdocs.commands.build import build
from mkdocs.config import load_config
from annotator_docs import mkdocs_plugin

if sys.argv[2] == "convert-every-page":
    mkdocs_plugin._known_renders = lambda: ()  # as for a builder whose render is not the known one
made = []
setup = markdown.Markdown.__init__
def counting(self, *args, **kwargs):
    made.append(1)
    setup(self, *args, **kwargs)
markdown.Markdown.__init__ = counting
config = load_config(config_file="mkdocs.yml", site_dir=sys.argv[1])
config.plugins.on_startup(command="build", dirty=False)
build(config)
print(len(made))
"""


def test_generated_pages_skip_markdown_and_the_site_is_the_same(tmp_path):
    """A generated page's body is finished HTML: mkdocs' Markdown pass over its empty text is skipped,
    and every file of the site equals that of a build which converts every page."""
    project = make_site_project(tmp_path)
    made = {}
    for how in ("skip-generated", "convert-every-page"):
        shutil.rmtree(project / ".annotator-cache", ignore_errors=True)
        output = run_build_script(BUILD_COUNTING_MARKDOWN, project, tmp_path, str(tmp_path / how), how)
        made[how] = int(output.strip().splitlines()[-1])
    file_pages = len(list((tmp_path / "skip-generated" / "files").rglob("index.html")))
    assert file_pages >= 3 and made["convert-every-page"] - made["skip-generated"] >= file_pages, made
    skipped, converted = tmp_path / "skip-generated", tmp_path / "convert-every-page"
    names = sorted(p.relative_to(skipped).as_posix() for p in skipped.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(converted).as_posix() for p in converted.rglob("*") if p.is_file())
    assert [n for n in names if (skipped / n).read_bytes() != (converted / n).read_bytes()] == []


BUILD_COUNTING_FROZEN_OBJECTS = """
import gc
import sys
from mkdocs.commands.build import build
from mkdocs.config import load_config

config = load_config(config_file="mkdocs.yml", site_dir=sys.argv[1])
config.plugins.on_startup(command=sys.argv[2], dirty=False)
build(config)
after_build = gc.get_freeze_count()
config.plugins.on_startup(command=sys.argv[2], dirty=False)
print(after_build, gc.get_freeze_count())
"""


def test_a_one_shot_build_freezes_what_the_engine_made_and_serve_does_not(tmp_path):
    """`mkdocs build` exits after one build: the engine's objects are frozen, out of the collector's
    scans. A serve session drops each build's objects, so it freezes none, and a process that starts
    again (on_startup) has nothing frozen."""
    project = make_site_project(tmp_path)
    counts = {}
    for command in ("build", "serve"):
        output = run_build_script(BUILD_COUNTING_FROZEN_OBJECTS, project, tmp_path, str(tmp_path / command), command)
        counts[command] = tuple(int(n) for n in output.split()[-2:])
    assert counts["build"][0] > 10_000 and counts["build"][1] == 0, counts
    assert counts["serve"] == (0, 0), counts
    assert (tmp_path / "build" / "files").is_dir()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")
    except OSError:
        return None


def wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def test_serve_survives_an_invalid_sidecar_and_recovers(tmp_path):
    project = make_site_project(tmp_path)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    page = f"http://127.0.0.1:{port}/files/trainer/train_grpo.py/"
    sidecar = project / "annotations/trainer/train_grpo.py.yaml"
    good = sidecar.read_text()
    try:
        assert wait_for(lambda: (fetch(page) or "").find("Toy GRPO trainer") >= 0), "server did not start"
        sidecar.write_text(good.replace("priority: critical", "priority: [unclosed"))
        assert wait_for(lambda: "This page has a problem." in (fetch(page) or "")), "error banner never appeared"
        assert server.poll() is None
        assert "S004 YAML syntax error" in fetch(page)
        sidecar.write_text(good.replace("A module logger.", "A module logger, edited."))
        assert wait_for(lambda: "A module logger, edited." in (fetch(page) or "")), "did not recover"
        assert "This page has a problem." not in fetch(page)
        assert server.poll() is None
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
