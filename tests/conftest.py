"""Shared fixtures: a copy of the fixture project, the CLI, and the real snapshot when pulled."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from annotator_docs.cli import main as cli_main
from annotator_docs.project import Project

TESTS = Path(__file__).parent
FIXTURE_PROJECT = TESTS / "fixtures" / "project"
REPO = TESTS.parent
REAL_LOCK = REPO / "source_snapshot" / "snapshot.lock"


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A private copy of tests/fixtures/project (local lock, sources, sidecars)."""
    target = tmp_path / "project"
    shutil.copytree(FIXTURE_PROJECT, target)
    return target


@pytest.fixture
def project(project_dir: Path) -> Project:
    return Project.open(project_dir)


@pytest.fixture
def engine(project):
    from annotator_docs.cache import Cache
    from annotator_docs.engine import Engine

    return Engine(project, Cache(None))


def analysis_of(engine, key: str):
    return next(a for a in engine.analyses() if a.file.key == key)


@pytest.fixture
def run(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""

    def _run(*args: str) -> tuple[int, str, str]:
        code = cli_main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return _run


def real_snapshot_present() -> bool:
    if not REAL_LOCK.exists():
        return False
    from annotator_docs import snapshot
    from annotator_docs.lock import load_lock

    lock = load_lock(REAL_LOCK)
    return not snapshot.verify(lock.project_root, lock)


needs_snapshot = pytest.mark.skipif(not real_snapshot_present(), reason="open-r1 snapshot not pulled (annotator snapshot pull)")


@pytest.fixture(scope="session")
def real_project() -> Project:
    if not real_snapshot_present():
        pytest.skip("the snapshot is not pulled (annotator snapshot pull)")
    return Project.open(REPO)


@pytest.fixture(scope="session")
def real_build(real_project):
    """One build of the real site, shared by every test that reads its pages (the expensive part)."""
    from annotator_docs.cache import Cache
    from annotator_docs.engine import Engine
    from annotator_docs.site import build_site

    return build_site(Engine(real_project, Cache(None)), with_history=False)


def real_model(project: Project, key: str):
    """The extracted model of a locked file, through the public stages (read, then extract)."""
    from annotator_docs.extract import extract

    file = project.lock.file(key)
    assert file is not None, key
    data = project.read_source(file)
    assert data is not None, key
    return extract(file.path, data)


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Change a fixture file; fails when ``old`` is not there (a silent no-op would test nothing)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def git(repo: Path, *args: str) -> str:
    """git in ``repo`` as a fixed author, ignoring the machine's git configuration; stdout, stripped."""
    import os
    import subprocess

    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


def git_repo(repo: Path, files: dict[str, bytes], *, tag: str | None = None) -> str:
    """A new repository at ``repo`` holding ``files`` in one commit (tagged when asked); returns its SHA."""
    for path, data in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_bytes(data)
    git(repo.parent, "init", "-q", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    if tag:
        git(repo, "tag", tag)
    return git(repo, "rev-parse", "HEAD")


def run_mkdocs(project: Path, *flags: str, env: dict[str, str] | None = None):
    """`mkdocs build` of a project in a clean environment: (exit code, stdout, stderr) as a CompletedProcess."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", *flags],
        cwd=project,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin", **(env or {})},
    )


def write_site(project: Path, *, features: str = "", extra: str = "") -> Path:
    """mkdocs.yml and a home page for a fixture project (one definition for every site test)."""
    theme_features = f"\n  features: [{features}]" if features else ""
    (project / "mkdocs.yml").write_text(
        "site_name: fixture\nsite_url: http://127.0.0.1/\n"
        f"theme:\n  name: material\n  font: false{theme_features}\n"
        + extra
        + "plugins:\n  - search\n  - annotator:\n      history: false\n"
        "nav:\n  - Home: index.md\n  - annotator:files\n  - Progress: progress.md\n"
    )
    (project / "docs").mkdir(exist_ok=True)
    if not (project / "docs/index.md").exists():
        (project / "docs/index.md").write_text("# Fixture\n\n[The trainer](files/trainer/train_grpo.py.md)\n")
    return project


@pytest.fixture(scope="session")
def fixture_builds(tmp_path_factory):
    """The fixture project built by each builder (tests/builders.py), once per session."""
    from .builders import build_three_ways

    project = tmp_path_factory.mktemp("builders") / "project"
    shutil.copytree(FIXTURE_PROJECT, project)
    write_site(project)
    return build_three_ways(project, tmp_path_factory.mktemp("fixture-builds"))


@pytest.fixture(scope="session")
def real_builds(tmp_path_factory):
    """This repository's site built by each builder, once per session (needs the snapshot)."""
    from .builders import build_three_ways

    if not real_snapshot_present():
        pytest.skip("the snapshot is not pulled (annotator snapshot pull)")
    project = tmp_path_factory.mktemp("real") / "project"
    project.mkdir()
    for part in ("mkdocs.yml", "docs", "overrides", "annotations", "source_snapshot"):
        source = REPO / part
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, project / part)
    return build_three_ways(project, tmp_path_factory.mktemp("real-builds"))
