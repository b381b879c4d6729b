"""Stage 1: bring the locked upstream files into ``source_snapshot/`` and verify them.

Every reader returns ``{path: bytes}`` for the locked paths; :func:`pull` checks every
sha256 before anything on disk changes, then swaps the files in with interrupts held
back, so a failure, a mismatch or Ctrl-C leaves the previous snapshot as it was.
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
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import AnnotatorError
from .lock import Lock, safe_join

MAX_FILE_BYTES = 50 << 20
MAX_ARCHIVE_BYTES = 512 << 20
_CHUNK = 1 << 16
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# -- readers -------------------------------------------------------------------------------
def read_from_archive(url: str, paths: Iterable[str], progress: Progress = _quiet, timeout: float = 60) -> dict[str, bytes]:
    """Download a GitHub-style ``.tar.gz`` (one top-level folder) and read only ``paths`` from it."""
    wanted = set(paths)
    with tempfile.TemporaryFile() as spool:
        _download(url, spool, progress, timeout)
        spool.seek(0)
        try:
            with tarfile.open(fileobj=spool, mode="r:gz") as archive:
                return _read_members(archive, wanted, url)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise AnnotatorError(f"{url}: not a readable .tar.gz archive ({exc})") from None


def _download(url: str, sink, progress: Progress, timeout: float) -> None:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost", "file://")):
        raise AnnotatorError(f"refusing to download over plain HTTP: {url}")
    request = urllib.request.Request(url, headers={"User-Agent": "annotator"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(_CHUNK):
                sink.write(chunk)
                done += len(chunk)
                if done > MAX_ARCHIVE_BYTES:
                    raise AnnotatorError(f"{url}: archive larger than {MAX_ARCHIVE_BYTES >> 20} MiB; refusing")
                share = f" ({100 * done // total}%)" if total else ""
                progress(f"downloading {url}: {done / 1e6:.1f} MB{share}")
    except urllib.error.HTTPError as exc:
        raise AnnotatorError(f"download failed: HTTP {exc.code} {exc.reason} for {url}; check repository and commit in the lock") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AnnotatorError(f"download failed: network error ({reason}) for {url}; try --from-git with a local mirror") from None


def _read_members(archive: tarfile.TarFile, wanted: set[str], label: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for member in archive:
        name = member.name
        parts = PurePosixPath(name).parts
        if name.startswith("/") or ".." in parts:
            raise AnnotatorError(f"{label}: archive member `{name}` has an absolute or `..` path; refusing the archive")
        inner = "/".join(parts[1:])  # strip the "<repo>-<commit>/" folder
        if inner not in wanted:
            continue
        if not member.isfile():
            raise AnnotatorError(f"{label}: archive member `{name}` is a link or special file; refusing it")
        if member.size > MAX_FILE_BYTES:
            raise AnnotatorError(f"{label}: `{inner}` is larger than {MAX_FILE_BYTES >> 20} MiB")
        stream = archive.extractfile(member)
        found[inner] = stream.read() if stream else b""
    return found


def read_from_git(repo_dir: Path, commit: str, paths: Iterable[str]) -> dict[str, bytes]:
    """Read files at ``commit`` from a clone or bare mirror."""
    if not repo_dir.is_dir():
        raise AnnotatorError(f"{repo_dir}: no such directory")
    base = ["git", "-C", str(repo_dir)]
    try:
        probe = subprocess.run([*base, "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, text=True)
    except FileNotFoundError:
        raise AnnotatorError("git is not installed; install git or use --from-dir / the default download") from None
    if probe.returncode != 0:
        detail = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "unknown commit"
        raise AnnotatorError(f"{repo_dir}: commit {commit} is not in this repository ({detail})")
    found: dict[str, bytes] = {}
    for path in paths:
        kind = subprocess.run([*base, "cat-file", "-t", f"{commit}:{path}"], capture_output=True, text=True)
        if kind.returncode != 0:
            continue  # reported as missing by the caller
        if kind.stdout.strip() != "blob":
            raise AnnotatorError(f"{repo_dir}: `{path}` at {commit[:12]} is a {kind.stdout.strip()}, not a file")
        mode = subprocess.run([*base, "ls-tree", commit, "--", path], capture_output=True, text=True).stdout.split()
        if mode and mode[0] == "120000":
            raise AnnotatorError(f"{repo_dir}: `{path}` at {commit[:12]} is a symbolic link; refusing it")
        blob = subprocess.run([*base, "cat-file", "blob", f"{commit}:{path}"], capture_output=True)
        found[path] = blob.stdout
    return found


def read_from_dir(source_dir: Path, paths: Iterable[str]) -> dict[str, bytes]:
    """Read files from a working tree, refusing any that resolve outside it."""
    if not source_dir.is_dir():
        raise AnnotatorError(f"{source_dir}: no such directory")
    found: dict[str, bytes] = {}
    for path in paths:
        target = safe_join(source_dir, path, what=f"{source_dir}: file")
        if target.is_file():
            if target.stat().st_size > MAX_FILE_BYTES:
                raise AnnotatorError(f"{target}: larger than {MAX_FILE_BYTES >> 20} MiB")
            found[path] = target.read_bytes()
    return found


# -- verify and install ---------------------------------------------------------------------
def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def check_contents(lock: Lock, contents: dict[str, bytes]) -> list[Problem]:
    problems = []
    for locked in lock.files:
        data = contents.get(locked.path)
        if data is None:
            problems.append(Problem(locked.path, "missing"))
        elif locked.sha256 and sha256_of(data) != locked.sha256:
            problems.append(Problem(locked.path, f"sha256 mismatch: expected {locked.sha256}, found {sha256_of(data)}"))
    return problems


def verify(lock: Lock) -> list[Problem]:
    """Problems with the files on disk (empty when every locked file is present with its hash)."""
    root = lock.source_root
    problems = []
    for locked in lock.files:
        try:
            target = safe_join(root, locked.path, what="locked file")
        except AnnotatorError as exc:
            problems.append(Problem(locked.path, str(exc)))
            continue
        if not target.is_file():
            problems.append(Problem(locked.path, "missing (run `annotator snapshot pull`)"))
        elif locked.sha256 and sha256_of(target.read_bytes()) != locked.sha256:
            problems.append(
                Problem(locked.path, f"sha256 mismatch: expected {locked.sha256}, found {sha256_of(target.read_bytes())}")
            )
    return problems


def pull(lock: Lock, contents: dict[str, bytes]) -> list[str]:
    """Check ``contents`` against the lock, then install them; returns the paths written."""
    if not lock.is_pinned:
        raise AnnotatorError("this lock names a local source tree; there is nothing to pull")
    problems = check_contents(lock, contents)
    if problems:
        listing = "; ".join(str(p) for p in problems)
        raise AnnotatorError(f"snapshot left unchanged: {len(problems)} problem(s): {listing}")
    root = lock.source_root
    staging = Path(tempfile.mkdtemp(prefix=".pull-", dir=root))
    try:
        for locked in lock.files:
            staged = staging / locked.path
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_bytes(contents[locked.path])
        with _interrupts_held():
            for locked in lock.files:
                target = safe_join(root, locked.path, what="locked file")
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / locked.path, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [f.path for f in lock.files]


@contextmanager
def _interrupts_held():
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
