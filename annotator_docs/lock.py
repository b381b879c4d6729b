"""The snapshot lock: which source files this project annotates, and where their bytes come from.

Stage 1 of the pipeline reads ``source_snapshot/snapshot.lock`` (TOML). It names either an
upstream repository at a pinned commit, with the sha256 of every file, or a local source
tree inside the project (no download, no pin). See ``docs/reference/lock-file.md``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import AnnotatorError

LOCK_NAME = "snapshot.lock"
DEFAULT_LOCK = Path("source_snapshot") / LOCK_NAME
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MAX_LOCK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class LockedFile:
    path: str  # upstream path, POSIX, relative
    sha256: str | None  # None for local trees (no pin)
    group: str = "Files"
    title: str = ""


@dataclass(frozen=True, slots=True)
class Lock:
    lock_path: Path
    files: tuple[LockedFile, ...]
    repository: str | None = None  # "huggingface/open-r1" for pinned upstreams
    commit: str | None = None
    local_path: str | None = None  # project-relative source tree for local locks

    @property
    def is_pinned(self) -> bool:
        return self.repository is not None

    @property
    def project_root(self) -> Path:
        return self.lock_path.parent.parent

    @property
    def source_root(self) -> Path:
        """Where the annotated files live on disk."""
        if self.local_path is not None:
            return safe_join(self.project_root, self.local_path, what="local source tree")
        return self.lock_path.parent

    def archive_url(self) -> str:
        return f"https://github.com/{self.repository}/archive/{self.commit}.tar.gz"

    def blob_url(self, path: str, start: int | None = None, end: int | None = None) -> str | None:
        if not self.is_pinned:
            return None
        url = f"https://github.com/{self.repository}/blob/{self.commit}/{path}"
        if start is not None:
            url += f"#L{start}" + (f"-L{end}" if end is not None and end != start else "")
        return url

    def file(self, path: str) -> LockedFile | None:
        return next((f for f in self.files if f.path == path), None)


def check_relative_path(value: str, *, what: str) -> str:
    """Refuse absolute paths, ``.``/``..`` components, backslashes and NUL bytes."""
    if not isinstance(value, str) or not value:
        raise AnnotatorError(f"{what} must be a non-empty string")
    if "\x00" in value or "\\" in value:
        raise AnnotatorError(f"{what} `{value!r}` contains a backslash or NUL byte")
    posix = PurePosixPath(value)
    if posix.is_absolute() or re.match(r"^[A-Za-z]:", value):
        raise AnnotatorError(f"{what} `{value}` is absolute; give a path relative to the project")
    if any(part in ("", ".", "..") for part in value.split("/")):
        raise AnnotatorError(f"{what} `{value}` has an empty, `.` or `..` component")
    return value


def safe_join(root: Path, relative: str, *, what: str) -> Path:
    """``root / relative``, refusing anything that resolves (symlinks included) outside ``root``."""
    check_relative_path(relative, what=what)
    root_resolved = root.resolve()
    candidate = (root_resolved / relative).resolve()
    if not candidate.is_relative_to(root_resolved):
        raise AnnotatorError(f"{what} `{relative}` resolves outside {root_resolved} (through a symlink?)")
    return candidate


def load_lock(lock_path: Path) -> Lock:
    lock_path = lock_path.absolute()
    where = str(lock_path)
    try:
        if lock_path.stat().st_size > _MAX_LOCK_BYTES:
            raise AnnotatorError(f"{where}: lock file is larger than {_MAX_LOCK_BYTES} bytes")
        data = tomllib.loads(lock_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnnotatorError(f"{where}: no lock file; create one (see docs/reference/lock-file.md)") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AnnotatorError(f"{where}: lock file is not valid TOML: {exc}") from None

    if data.get("version") != 1:
        raise AnnotatorError(f"{where}: `version = 1` is required")
    upstream, local = data.get("upstream"), data.get("local")
    if (upstream is None) == (local is None):
        raise AnnotatorError(f"{where}: give exactly one of [upstream] or [local]")
    repository = commit = local_path = None
    if upstream is not None:
        repository, commit = upstream.get("repository"), upstream.get("commit")
        if not isinstance(repository, str) or not _REPOSITORY.match(repository):
            raise AnnotatorError(f"{where}: [upstream] repository must look like `owner/name`")
        if not isinstance(commit, str) or not _COMMIT.match(commit):
            raise AnnotatorError(f"{where}: [upstream] commit must be a full 40-character hex SHA")
    else:
        local_path = check_relative_path(local.get("path", ""), what=f"{where}: [local] path")

    files = []
    seen = set()
    for index, entry in enumerate(data.get("files", [])):
        label = f"{where}: files[{index}]"
        path = check_relative_path(entry.get("path", ""), what=f"{label} path")
        if path in seen:
            raise AnnotatorError(f"{label}: `{path}` is listed twice")
        seen.add(path)
        sha256 = entry.get("sha256")
        if upstream is not None and (not isinstance(sha256, str) or not _SHA256.match(sha256)):
            raise AnnotatorError(f"{label}: `{path}` needs a sha256 of 64 lowercase hex digits")
        group = entry.get("group", "Files")
        title = entry.get("title", "")
        if not isinstance(group, str) or not isinstance(title, str):
            raise AnnotatorError(f"{label}: group and title must be strings")
        files.append(LockedFile(path=path, sha256=sha256 if upstream is not None else None, group=group, title=title))
    if not files:
        raise AnnotatorError(f"{where}: the lock lists no [[files]]")
    return Lock(lock_path=lock_path, files=tuple(files), repository=repository, commit=commit, local_path=local_path)
