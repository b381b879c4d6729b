"""Stage 1: bring every source's locked files into the project and verify them.

Readers return ``{path: bytes}`` for one source's locked paths: per-file download from GitHub at the
pinned commit (the default: a few files of a large repository), the GitHub archive, a local git clone
or bare mirror, or a working tree. :func:`pull` checks every sha256 of every source before anything
on disk changes, then swaps the files in with interrupts held back, so a failure, a mismatch or
Ctrl-C leaves the previous snapshot as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .findings import AnnotatorError, Finding, fail
from .layout import snapshot_path
from .models import Lock, LockedFile, Source
from .paths import safe_join, writable_dir

MAX_FILE_BYTES = 50 << 20
MAX_ARCHIVE_BYTES = 512 << 20
ATTEMPTS = 3
_CHUNK = 1 << 16
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# -- readers -------------------------------------------------------------------------------------
def read_from_github(source: Source, paths: Iterable[str], progress: Progress = _quiet, timeout: float = 60) -> dict[str, bytes]:
    """Each file from raw.githubusercontent.com at the pinned commit (over HTTPS, retried)."""
    found = {}
    paths = list(paths)
    for number, path in enumerate(paths, start=1):
        progress(f"{source.name}: downloading {number}/{len(paths)} {path}")
        url = source.raw_url(path)
        with tempfile.TemporaryFile() as spool:
            try:
                _download(url, spool, _quiet, timeout, limit=MAX_FILE_BYTES)
            except _NotFound:
                continue  # reported as missing by the caller
            spool.seek(0)
            found[path] = spool.read()
    return found


def read_from_archive(url: str, paths: Iterable[str], progress: Progress = _quiet, timeout: float = 60) -> dict[str, bytes]:
    """Download a GitHub-style ``.tar.gz`` (one top-level folder) and read only ``paths`` from it."""
    wanted = set(paths)
    with tempfile.TemporaryFile() as spool:
        try:
            _download(url, spool, progress, timeout, limit=MAX_ARCHIVE_BYTES)
        except _NotFound:
            fail("P001", f"download failed: HTTP 404 for {url}", hint="check repository and commit in the lock")
        spool.seek(0)
        try:
            with tarfile.open(fileobj=spool, mode="r:gz") as archive:
                return _read_members(archive, wanted, url)
        except (tarfile.TarError, EOFError, OSError) as exc:
            fail("P002", f"{url}: not a readable .tar.gz archive ({exc})")


class _NotFound(Exception):
    pass


def _download(url: str, sink: BinaryIO, progress: Progress, timeout: float, limit: int) -> None:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost", "file://")):
        fail("P001", f"refusing to download over plain HTTP: {url}")
    for attempt in range(1, ATTEMPTS + 1):
        try:
            sink.seek(0)
            sink.truncate()
            _fetch(url, sink, progress, timeout, limit)
            return
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise _NotFound from None
            if exc.code < 500 or attempt == ATTEMPTS:
                fail(
                    "P001",
                    f"download failed: HTTP {exc.code} {exc.reason} for {url}",
                    hint="check repository and commit in the lock",
                )
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            if attempt == ATTEMPTS:
                reason = getattr(exc, "reason", exc)
                fail(
                    "P001",
                    f"download failed after {ATTEMPTS} attempts: network error ({reason}) for {url}",
                    hint="offline? pull from a local mirror: `annotator snapshot pull --from-git NAME=DIR`",
                )
        time.sleep(0.5 * 2 ** (attempt - 1))


def _fetch(url: str, sink: BinaryIO, progress: Progress, timeout: float, limit: int) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "annotator-docs"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        while chunk := response.read(_CHUNK):
            sink.write(chunk)
            done += len(chunk)
            if done > limit:
                fail("P002", f"{url}: larger than {limit >> 20} MiB; refusing")
            share = f" ({100 * done // total}%)" if total else ""
            progress(f"downloading {url}: {done / 1e6:.1f} MB{share}")


def _read_members(archive: tarfile.TarFile, wanted: set[str], label: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for member in archive:
        name = member.name
        parts = PurePosixPath(name).parts
        if name.startswith("/") or ".." in parts:
            fail("P002", f"{label}: archive member `{name}` has an absolute or `..` path; refusing the archive")
        inner = "/".join(parts[1:])  # strip the "<repo>-<commit>/" folder
        if inner not in wanted:
            continue
        if not member.isfile():
            fail("P002", f"{label}: archive member `{name}` is a link or special file; refusing it")
        if member.size > MAX_FILE_BYTES:
            fail("P002", f"{label}: `{inner}` is larger than {MAX_FILE_BYTES >> 20} MiB")
        stream = archive.extractfile(member)
        found[inner] = stream.read() if stream else b""
    return found


def read_from_git(repo_dir: Path, commit: str, paths: Iterable[str]) -> dict[str, bytes]:
    """Read files at ``commit`` from a clone or bare mirror."""
    if not repo_dir.is_dir():
        fail("P002", f"{repo_dir}: no such directory")
    base = ["git", "-C", str(repo_dir)]
    try:
        probe = subprocess.run([*base, "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, text=True)
    except FileNotFoundError:
        fail("P002", "git is not installed", hint="install git, or use --from-dir or the default download")
    if probe.returncode != 0:
        detail = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "unknown commit"
        fail(
            "P002",
            f"{repo_dir}: commit {commit} is not in this repository ({detail})",
            hint="fetch it into the mirror, or give the mirror of the right repository",
        )
    found: dict[str, bytes] = {}
    for path in paths:
        listed = subprocess.run([*base, "ls-tree", "-z", commit, "--", path], capture_output=True)
        entry = listed.stdout.split(b"\0")[0].decode("utf-8", "replace") if listed.stdout else ""
        if not entry:
            continue  # reported as missing by the caller
        mode, kind = entry.split()[:2]
        if mode == "120000":
            fail("P002", f"{repo_dir}: `{path}` at {commit[:12]} is a symbolic link; refusing it")
        if kind != "blob":
            fail("P002", f"{repo_dir}: `{path}` at {commit[:12]} is a {kind}, not a file")
        blob = subprocess.run([*base, "cat-file", "blob", f"{commit}:{path}"], capture_output=True)
        found[path] = blob.stdout
    return found


def read_from_dir(source_dir: Path, paths: Iterable[str]) -> dict[str, bytes]:
    """Read files from a working tree, refusing any that resolve outside it."""
    if not source_dir.is_dir():
        fail("P002", f"{source_dir}: no such directory")
    found: dict[str, bytes] = {}
    for path in paths:
        target = safe_join(source_dir, path, what=f"{source_dir}: file", code="P002")
        if target.is_file():
            if target.stat().st_size > MAX_FILE_BYTES:
                fail("P002", f"{target}: larger than {MAX_FILE_BYTES >> 20} MiB")
            found[path] = target.read_bytes()
    return found


# -- verify and install ------------------------------------------------------------------------------
def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_UNCHANGED = "nothing was changed: the snapshot is as it was; check the lock's commit and the mirror"


def check_contents(source: Source, contents: dict[str, bytes]) -> list[Finding]:
    problems = []
    for file in source.files:
        data = contents.get(file.path)
        if data is None:
            problems.append(
                Finding(
                    "P003", f"{source.name}: `{file.path}` missing at {source.commit or 'the source'}", file.key, hint=_UNCHANGED
                )
            )
        elif file.sha256 and sha256_of(data) != file.sha256:
            problems.append(
                Finding(
                    "P003",
                    f"{source.name}: `{file.path}` sha256 mismatch: expected {file.sha256}, found {sha256_of(data)}",
                    file.key,
                    hint=_UNCHANGED,
                )
            )
    return problems


def verify(project_root: Path, lock: Lock) -> list[Finding]:
    """Problems with the files on disk (empty when every locked file is present with its hash)."""
    problems: list[Finding] = []
    for source in lock.sources:
        for file in source.files:
            try:
                target = safe_join(project_root, snapshot_path(source, file), what="locked file", code="P004")
            except AnnotatorError as error:
                problems.extend(error.findings)
                continue
            if not target.is_file():
                problems.append(Finding("P003", "missing (run `annotator snapshot pull`)", file.key))
            elif file.sha256 and sha256_of(target.read_bytes()) != file.sha256:
                problems.append(
                    Finding("P003", f"sha256 mismatch: expected {file.sha256}, found {sha256_of(target.read_bytes())}", file.key)
                )
    return problems


def pull(project_root: Path, lock: Lock, contents: dict[str, dict[str, bytes]]) -> list[LockedFile]:
    """Check every source's ``contents`` against the lock, then install them all; returns what was written."""
    problems = [p for source in lock.sources if source.name in contents for p in check_contents(source, contents[source.name])]
    if problems:
        raise AnnotatorError(*problems[:20])
    written: list[tuple[Path, bytes, LockedFile]] = []
    for source in lock.sources:
        if source.name not in contents:
            continue
        if not source.is_pinned:
            fail("C002", f"source `{source.name}` is a local tree; there is nothing to pull")
        folder = writable_dir(project_root / source.snapshot_dir, project_root, what="snapshot folder")
        for file in source.files:
            target = safe_join(project_root, snapshot_path(source, file), what="locked file", code="P004")
            written.append((target, contents[source.name][file.path], file))
        folder.mkdir(parents=True, exist_ok=True)
    if not written:
        return []
    staging_root = writable_dir(project_root / "source_snapshot", project_root, what="snapshot folder")
    staging_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pull-", dir=staging_root))
    try:
        staged = []
        for index, (target, data, _) in enumerate(written):
            temporary = staging / str(index)
            temporary.write_bytes(data)
            staged.append((temporary, target))
        with _interrupts_held():
            for temporary, target in staged:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temporary, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [file for _, _, file in written]


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while files are swapped in, so an interrupt cannot leave a mix."""
    if sys.platform == "win32":
        yield
        return
    signals = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
