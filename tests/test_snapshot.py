"""Pulling and verifying the pinned snapshot: every failure is one line, and leaves the old snapshot."""

from __future__ import annotations

import hashlib
import http.server
import io
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest

from annotator_docs import snapshot
from annotator_docs.findings import AnnotatorError
from annotator_docs.lock import load_lock

from .conftest import git, git_repo

FILES = {"src/pkg/train.py": b"def main():\n    return 1\n", "recipes/demo.yaml": b"lr: 0.1\n"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def upstream(tmp_path: Path) -> tuple[Path, str]:
    """A tiny upstream git repository holding FILES; returns (repo, commit)."""
    repo = tmp_path / "upstream"
    return repo, git_repo(repo, FILES)


def write_lock(root: Path, commit: str, files: dict[str, bytes] = FILES) -> Path:
    lock = root / "source_snapshot" / "snapshot.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    entries = "".join(f'[[files]]\npath = "{p}"\nsha256 = "{sha(d)}"\n\n' for p, d in files.items())
    lock.write_text(f'version = 1\n\n[upstream]\nrepository = "example/upstream"\ncommit = "{commit}"\n\n{entries}')
    return lock


@pytest.fixture
def site_root(tmp_path: Path, upstream) -> Path:
    root = tmp_path / "site"
    write_lock(root, upstream[1])
    return root


def tar_gz(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def github_archive(files: dict[str, bytes], top: str = "upstream-abc") -> bytes:
    return tar_gz([file_member(f"{top}/{p}", d) for p, d in files.items()])


def verify(root: Path):
    lock = load_lock(root / "source_snapshot/snapshot.lock")
    return snapshot.verify(root, lock)


def test_pull_from_git_then_verify(run, site_root, upstream):
    code, out, err = run("--root", site_root, "snapshot", "pull", "--from-git", upstream[0])
    assert code == 0, err
    assert (site_root / "source_snapshot/src/pkg/train.py").read_bytes() == FILES["src/pkg/train.py"]
    code, out, _ = run("--root", site_root, "snapshot", "verify")
    assert code == 0 and "all 2 locked files present" in out


def test_pull_from_a_bare_mirror(run, site_root, upstream, tmp_path):
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(upstream[0]), str(mirror)], check=True)
    assert run("--root", site_root, "snapshot", "pull", "--from-git", mirror)[0] == 0


def test_pull_from_dir(run, site_root, upstream):
    assert run("--root", site_root, "snapshot", "pull", "--from-dir", upstream[0])[0] == 0
    assert not verify(site_root)


def test_one_changed_byte_fails_verify_and_names_the_file(run, site_root, upstream):
    run("--root", site_root, "snapshot", "pull", "--from-git", upstream[0])
    target = site_root / "source_snapshot/recipes/demo.yaml"
    target.write_bytes(target.read_bytes().replace(b"0.1", b"0.2"))
    code, out, _ = run("--root", site_root, "snapshot", "verify")
    assert code == 1
    assert out.startswith("recipes/demo.yaml:1:1: P003 sha256 mismatch: expected ")
    assert "src/pkg/train.py" not in out


def test_verify_names_missing_files(run, site_root):
    code, out, _ = run("--root", site_root, "snapshot", "verify")
    assert code == 1
    assert "src/pkg/train.py:1:1: P003 missing (run `annotator snapshot pull`)" in out


def test_hash_mismatch_leaves_the_previous_snapshot_untouched(run, site_root, upstream):
    run("--root", site_root, "snapshot", "pull", "--from-git", upstream[0])
    (upstream[0] / "src/pkg/train.py").write_bytes(b"def main():\n    return 2\n")
    code, _, err = run("--root", site_root, "snapshot", "pull", "--from-dir", upstream[0])
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("annotator: error:")]
    assert len(errors) == 1 and "Traceback" not in err  # one line, no traceback
    assert errors[0].startswith("annotator: error: src/pkg/train.py:1:1: P003 upstream: `src/pkg/train.py` sha256 mismatch")
    assert errors[0].endswith("(hint: nothing was changed: the snapshot is as it was; check the lock's commit and the mirror)")
    assert (site_root / "source_snapshot/src/pkg/train.py").read_bytes() == FILES["src/pkg/train.py"]
    assert not list((site_root / "source_snapshot").glob(".pull-*"))


def test_interrupt_while_staging_leaves_the_previous_snapshot(site_root, upstream, monkeypatch):
    lock = load_lock(site_root / "source_snapshot/snapshot.lock")
    (source,) = lock.sources
    snapshot.pull(site_root, lock, {source.name: snapshot.read_from_git(upstream[0], source.commit, FILES)})
    original = Path.write_bytes

    def interrupted(self, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        snapshot.pull(site_root, lock, {source.name: dict(FILES)})
    monkeypatch.setattr(Path, "write_bytes", original)
    assert not verify(site_root)
    assert not list((site_root / "source_snapshot").glob(".pull-*"))


def test_unknown_commit_is_one_line(run, tmp_path, upstream):
    root = tmp_path / "other"
    write_lock(root, "0" * 40)
    code, _, err = run("--root", root, "snapshot", "pull", "--from-git", upstream[0])
    assert code == 2 and f"commit {'0' * 40} is not in this repository" in err.splitlines()[-1]
    assert sum(line.startswith("annotator: error") for line in err.splitlines()) == 1


def test_missing_git_is_one_line(run, site_root, upstream, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    code, _, err = run("--root", site_root, "snapshot", "pull", "--from-git", upstream[0])
    assert code == 2
    assert (
        err.splitlines()[-1]
        == "annotator: error: P002 git is not installed (hint: install git, or use --from-dir or the default download)"
    )


def test_pull_from_archive_url(run, site_root, tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(github_archive(FILES))
    code, _out, err = run("--root", site_root, "snapshot", "pull", "--archive-url", archive.as_uri())
    assert code == 0, err
    assert not verify(site_root)


@pytest.mark.parametrize(
    "members, message",
    [
        ([file_member("/etc/evil", b"x")], "has an absolute or `..` path"),
        ([file_member("top/../../evil", b"x")], "has an absolute or `..` path"),
    ],
    ids=["absolute", "dotdot"],
)
def test_hostile_archive_members_are_refused(run, site_root, tmp_path, members, message):
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(tar_gz([*[file_member(f"top/{p}", d) for p, d in FILES.items()], *members]))
    code, _, err = run("--root", site_root, "snapshot", "pull", "--archive-url", archive.as_uri())
    assert code == 2 and message in err
    assert not (site_root / "source_snapshot/src").exists()


def test_locked_path_that_is_a_link_in_the_archive_is_refused(run, site_root, tmp_path):
    link = tarfile.TarInfo("top/src/pkg/train.py")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    archive = tmp_path / "link.tar.gz"
    archive.write_bytes(tar_gz([(link, None), file_member("top/recipes/demo.yaml", FILES["recipes/demo.yaml"])]))
    code, _, err = run("--root", site_root, "snapshot", "pull", "--archive-url", archive.as_uri())
    assert code == 2 and "is a link or special file; refusing it" in err


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_http_404_is_one_line(run, site_root):
    server = http.server.HTTPServer(("127.0.0.1", 0), _NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/x.tar.gz"
        code, _, err = run("--root", site_root, "snapshot", "pull", "--archive-url", url)
    finally:
        server.shutdown()
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1] == (
        f"annotator: error: P001 download failed: HTTP 404 for {url} (hint: check repository and commit in the lock)"
    )


def test_network_failure_is_retried_then_one_line(run, site_root, monkeypatch):
    import socket

    monkeypatch.setattr(snapshot.time, "sleep", lambda seconds: None)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = run("--root", site_root, "snapshot", "pull", "--archive-url", f"http://127.0.0.1:{port}/a.tar.gz")
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1].startswith(
        f"annotator: error: P001 download failed after {snapshot.ATTEMPTS} attempts: network error"
    )
    assert "--from-git NAME=DIR" in err.splitlines()[-1]


def test_plain_http_to_another_host_is_refused():
    with pytest.raises(AnnotatorError, match="refusing to download over plain HTTP"):
        snapshot.read_from_archive("http://example.com/a.tar.gz", [])


@pytest.mark.parametrize(
    "lock_text, message",
    [
        (
            'version = 1\n[upstream]\nrepository = "a/b"\ncommit = "abc"\n[[files]]\npath = "x"\nsha256 = "' + "0" * 64 + '"\n',
            "full 40-character hex SHA",
        ),
        ('version = 1\n[local]\npath = "../outside"\n[[files]]\npath = "x.py"\n', "has an empty, `.` or `..` component"),
        ('version = 1\n[local]\npath = "src"\n[[files]]\npath = "/etc/passwd"\n', "is absolute"),
        ('version = 1\n[local]\npath = "src"\n[[files]]\npath = "a/../../b.py"\n', "`..` component"),
        ('version = 1\n[local]\npath = "src"\n', "the lock lists no files"),
        ("version = [\n", "not valid TOML"),
    ],
    ids=["short-commit", "local-outside", "absolute-file", "dotdot-file", "no-files", "bad-toml"],
)
def test_bad_locks_are_refused_with_a_message(run, tmp_path, lock_text, message):
    lock = tmp_path / "source_snapshot" / "snapshot.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(lock_text)
    code, _, err = run("--root", tmp_path, "snapshot", "verify")
    assert code == 2 and message in err


def test_symlink_escaping_the_source_tree_is_reported(run, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "leak.py").symlink_to("/etc/hostname")
    lock = tmp_path / "source_snapshot" / "snapshot.lock"
    lock.parent.mkdir()
    lock.write_text('version = 1\n[local]\npath = "src"\n[[files]]\npath = "leak.py"\n')
    code, out, _ = run("--root", tmp_path, "snapshot", "verify")
    assert code == 1 and "resolves outside" in out


# -- several sources --------------------------------------------------------------------------------
@pytest.fixture
def two_upstreams(tmp_path: Path):
    """Two tiny repositories, `app` and `lib`, and a project locking a file of each (version 2)."""
    repos = {}
    for name, files in {
        "app": {"src/app/main.py": b"from lib import run\n\nrun()\n"},
        "lib": {"lib/__init__.py": b"def run():\n    return 1\n"},
    }.items():
        repo = tmp_path / name
        repos[name] = (repo, git_repo(repo, files, tag="v1.0"), files)
    root = tmp_path / "project"
    lock = root / "source_snapshot" / "snapshot.lock"
    lock.parent.mkdir(parents=True)
    text = "version = 2\n"
    for name, (_, commit, files) in repos.items():
        text += f'\n[[sources]]\nname = "{name}"\nrepository = "example/{name}"\ncommit = "{commit}"\nref = "v1.0"\n'
        text += "".join(f'\n[[sources.files]]\npath = "{p}"\nsha256 = "{sha(d)}"\n' for p, d in files.items())
    lock.write_text(text)
    return root, repos


def test_every_source_is_pulled_into_its_own_folder(run, two_upstreams):
    root, repos = two_upstreams
    code, out, err = run(
        "--root", root, "snapshot", "pull", "--from-git", f"app={repos['app'][0]}", "--from-git", f"lib={repos['lib'][0]}"
    )
    assert code == 0, err
    assert (root / "source_snapshot/app/src/app/main.py").read_bytes() == repos["app"][2]["src/app/main.py"]
    assert (root / "source_snapshot/lib/lib/__init__.py").is_file()
    assert out.splitlines() == [
        f"pulled 1 files of app at example/app@{repos['app'][1][:12]} into source_snapshot/app",
        f"pulled 1 files of lib at example/lib@{repos['lib'][1][:12]} into source_snapshot/lib",
    ]
    assert run("--root", root, "snapshot", "verify")[0] == 0


def test_a_bad_second_source_leaves_the_first_unpulled_too(run, two_upstreams):
    root, repos = two_upstreams
    (repos["lib"][0] / "lib/__init__.py").write_bytes(b"def run():\n    return 2\n")
    code, _, err = run(
        "--root", root, "snapshot", "pull", "--from-git", f"app={repos['app'][0]}", "--from-dir", f"lib={repos['lib'][0]}"
    )
    assert code == 2 and "P003 lib: `lib/__init__.py` sha256 mismatch" in err
    assert not (root / "source_snapshot/app").exists()  # nothing swapped in before every source checked


def test_an_unknown_source_name_is_a_usage_error(run, two_upstreams):
    root, repos = two_upstreams
    code, _, err = run("--root", root, "snapshot", "pull", "--from-git", f"nope={repos['app'][0]}")
    assert code == 2 and "--from-git nope=" in err and "sources: app, lib" in err


def test_lock_add_computes_the_hash_from_a_mirror(run, two_upstreams):
    root, repos = two_upstreams
    repo = repos["lib"][0]
    (repo / "lib/extra.py").write_bytes(b"X = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "extra")
    new_commit = git(repo, "rev-parse", "HEAD")
    lock_file = root / "source_snapshot/snapshot.lock"
    lock_file.write_text(lock_file.read_text().replace(repos["lib"][1], new_commit))
    code, out, err = run("--root", root, "lock", "add", "--source", "lib", "--from-git", repo, "lib/extra.py", "--title", "Extra")
    assert code == 0, err
    assert out == f"added lib/lib/extra.py ({sha(b'X = 1' + bytes([10]))})\n"
    lock = load_lock(lock_file)
    added = lock.file("lib/lib/extra.py")
    assert added is not None and added.title == "Extra" and added.sha256 == sha(b"X = 1\n")
    assert run("--root", root, "lock", "add", "--source", "lib", "--from-git", repo, "lib/extra.py")[0] == 2  # twice: refused


def test_lock_add_source_resolves_a_tag_and_upgrades_a_version_1_lock(run, site_root, upstream, two_upstreams):
    _, repos = two_upstreams
    code, _out, err = run(
        "--root",
        site_root,
        "lock",
        "add-source",
        "lib",
        "--repository",
        "example/lib",
        "--commit",
        "v1.0",
        "--from-git",
        repos["lib"][0],
    )
    assert code == 0, err
    lock = load_lock(site_root / "source_snapshot/snapshot.lock")
    assert lock.version == 2 and [s.name for s in lock.sources] == ["upstream", "lib"]
    assert lock.source("lib").commit == repos["lib"][1] and lock.source("lib").ref == "v1.0"
    assert lock.file("src/pkg/train.py") is not None  # the first source keeps its keys, pages and sidecars


@pytest.mark.parametrize(
    "text, message",
    [
        ('version = 2\n[[sources]]\nname = "A"\nlocal = "src"\n', "`name` must be lowercase"),
        (
            'version = 2\n[[sources]]\nname = "a"\nlocal = "src"\n[[sources.files]]\npath = "x.py"\n'
            '[[sources]]\nname = "a"\nlocal = "lib"\n',
            "two sources are named `a`",
        ),
        (
            'version = 2\n[[sources]]\nname = "a"\nlocal = "src"\n[[sources.files]]\npath = "b/x.py"\n'
            '[[sources]]\nname = "b"\nlocal = "lib"\n[[sources.files]]\npath = "x.py"\n',
            "`b/x.py` is named by sources `a` and `b`",
        ),
        ("version = 3\n", "is not a lock version this annotator reads"),
        (
            'version = 2\n[[sources]]\nname = "a"\nrepository = "x/y"\ncommit = "' + "a" * 40 + '"\nmirror = "z"\n',
            "unknown key `mirror`",
        ),
    ],
)
def test_bad_version_2_locks_are_refused_with_a_message(run, tmp_path, text, message):
    lock = tmp_path / "source_snapshot" / "snapshot.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(text)
    code, _, err = run("--root", tmp_path, "snapshot", "verify")
    assert code == 2 and message in err
