"""The tool as another project gets it: a wheel, installed in a clean virtual environment, starting a
site for a repository we make here with `annotator new`, which then builds strictly."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO, git_repo

TRAINER = '''"""A tiny trainer."""

import math


def schedule(step: int, warmup: int = 10) -> float:
    """Linear warmup, then cosine decay."""
    if step < warmup:
        return step / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / 100))


class Trainer:
    def __init__(self, lr: float) -> None:
        self.lr = lr

    def step(self, n: int) -> float:
        return self.lr * schedule(n)
'''


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    (found,) = out.glob("annotator_docs-*.whl")
    return found


def test_the_wheel_carries_both_licences_and_every_asset(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    licences = {Path(n).name for n in names if "/licenses/" in n}
    assert {"LICENSE", "LICENSE-NOTES"} <= licences
    for needed in (
        "annotator_docs/render/assets/annotator.css",
        "annotator_docs/render/assets/annotator.js",
        "annotator_docs/render/assets/vendor/mermaid.min.js",
        "annotator_docs/schema/sidecar.schema.json",
        "annotator_docs/templates/annotator/macros.html",
    ):
        assert needed in names, needed
    assert not any(n.startswith(("tests/", "annotations/", "source_snapshot/")) for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Name: annotator-docs" in text and "License-Expression: Apache-2.0" in text


def test_a_clean_install_starts_a_site_that_builds_strictly(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)  # this environment's pip installs into it (`--python`): no ensurepip
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", str(wheel)], capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr[-3000:]

    upstream = tmp_path / "tiny"
    files = {"pkg/train.py": TRAINER.encode(), "config.yaml": b"lr: 0.1\nwarmup: 10\noptim:\n  name: adam\n"}
    commit = git_repo(upstream, files, tag="v1")

    clean = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1", "HOME": str(tmp_path)}
    annotator = env_dir / "bin" / "annotator"
    new = subprocess.run(
        [
            annotator,
            "new",
            "site",
            "--repo",
            "acme/tiny",
            "--commit",
            "v1",
            "--from-git",
            upstream,
            "--site-repo",
            "acme/tiny-annotated",
            "pkg/train.py",
            "config.yaml",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean,
    )
    assert new.returncode == 0, new.stderr
    site = tmp_path / "site"
    assert "created site: 2 file(s) of acme/tiny" in new.stdout
    lock = (site / "source_snapshot/snapshot.lock").read_text()
    assert f'commit = "{commit}"' in lock and 'ref = "v1"' in lock and lock.count("sha256 = ") == 2
    assert (site / "annotations/pkg/train.py.yaml").read_text().count("fingerprint: ") == 4
    assert {"mkdocs.yml", "Makefile", "README.md", "docs/index.md"} <= {
        p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()
    }

    build = subprocess.run([env_dir / "bin" / "mkdocs", "build", "--strict"], cwd=site, capture_output=True, text=True, env=clean)
    assert build.returncode == 0, build.stderr
    page = (site / "site/files/pkg/train.py/index.html").read_text()
    assert "Linear warmup, then cosine decay." in page
    assert 'href="https://github.com/acme/tiny-annotated/edit/main/annotations/pkg/train.py.yaml"' in page
    assert 'class="md-source"' in page and 'data-md-component="source"' not in page  # no request to api.github.com
    check = subprocess.run([annotator, "check", "--strict"], cwd=site, capture_output=True, text=True, env=clean)
    assert check.returncode == 0, check.stdout + check.stderr


def test_new_never_writes_into_a_folder_that_has_files(run, tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "notes.md").write_text("mine")
    code, _, err = run("new", tmp_path / "site", "--repo", "acme/tiny", "--commit", "0" * 40, "pkg/train.py")
    assert code == 2 and "already exists and is not an empty folder" in err
    assert [p.name for p in (tmp_path / "site").iterdir()] == ["notes.md"]


def test_new_leaves_nothing_behind_when_a_file_is_missing(run, tmp_path):
    upstream = tmp_path / "tiny"
    git_repo(upstream, {"a.py": b"x = 1\n"})
    code, _, err = run(
        "new", tmp_path / "site", "--repo", "acme/tiny", "--commit", "HEAD", "--from-git", upstream, "a.py", "b.py"
    )
    assert code == 2 and "b.py" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]
