"""A project on disk: its lock, its pulled sources and its sidecars. The one module that reads them.

Everything here is I/O with the project's path rules applied on every read (symlinks can change
between reads). What is done with the bytes is pure and lives elsewhere: :mod:`extract`,
:mod:`sidecar`, :mod:`analysis`; :mod:`engine` joins them with the cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from .findings import AnnotatorError, Finding, excerpt, fail
from .layout import ANNOTATIONS, SIDECAR_SUFFIX, sidecar_path, snapshot_path
from .lock import DEFAULT_LOCK, load_lock
from .models import Lock, LockedFile, Source
from .paths import safe_join
from .sidecar import MAX_SIDECAR_BYTES

MAX_SOURCE_BYTES = 50 << 20
READING_PATH = "_reading-path.yaml"


@dataclass(frozen=True, slots=True)
class SidecarBytes:
    """A sidecar as read from disk: absent, refused unread (with the finding that says why), or its bytes."""

    exists: bool
    data: bytes | None = None
    refused: Finding | None = None


class Project:
    def __init__(self, root: Path, lock: Lock) -> None:
        self.root = root.absolute()
        self.lock = lock
        self.annotations_dir = self.root / ANNOTATIONS
        self._annotations_resolved = self.annotations_dir.resolve()
        self._root_resolved = self.root.resolve()  # every build reads every sidecar through it
        self._source_files: dict[str, Path] = {}

    @classmethod
    def open(cls, root: Path | None = None, lock_path: Path | None = None) -> Project:
        """The project at ``root`` (default: the current folder), with its lock at
        ``source_snapshot/snapshot.lock`` or ``lock_path``. A lock outside the root is refused: its
        local sources and snapshot would resolve against another project."""
        root = (root or Path.cwd()).absolute()
        lock_file = lock_path if lock_path is not None and lock_path.is_absolute() else root / (lock_path or DEFAULT_LOCK)
        if not lock_file.absolute().is_relative_to(root):
            fail(
                "C003", f"the lock {lock_file} is outside the project {root}", hint="give a lock inside --root, or change --root"
            )
        lock = load_lock(lock_file)
        if lock.project_root.resolve() != root.resolve():
            fail(
                "C003",
                f"the lock {lock_file} belongs to the project {lock.project_root}, not {root}",
                hint="locks live at <project>/source_snapshot/snapshot.lock",
            )
        return cls(root, lock)

    # -- sources ----------------------------------------------------------------------------------
    def source(self, file: LockedFile) -> Source:
        return self.lock.source_of(file)

    def source_file(self, file: LockedFile) -> Path:
        if file.key not in self._source_files:  # resolving is a syscall per component; the lock is fixed
            self._source_files[file.key] = safe_join(
                self.root, snapshot_path(self.source(file), file), what="locked file", code="P004"
            )
        return self._source_files[file.key]

    def read_source(self, file: LockedFile) -> bytes | None:
        """The pulled file's bytes, or None when it is not pulled (or unreadable, or not a plain file)."""
        try:
            path = self.source_file(file)
            if not path.is_file() or path.stat().st_size > MAX_SOURCE_BYTES:
                return None
            return path.read_bytes()
        except (AnnotatorError, OSError):
            return None

    # -- sidecars ---------------------------------------------------------------------------------
    def sidecar_file(self, file: LockedFile) -> Path:
        return self.root / sidecar_path(file)

    def read_sidecar(self, file: LockedFile) -> SidecarBytes:
        display = sidecar_path(file)
        path = self.root / display
        if not path.exists() and not path.is_symlink():
            return SidecarBytes(False)
        try:
            resolved = safe_join(  # checked on every read
                self.root, display, what="sidecar", code="S011", where=display, root_resolved=self._root_resolved
            )
        except AnnotatorError as error:
            return SidecarBytes(True, refused=error.findings[0])
        except (OSError, RuntimeError):  # a symlink loop
            return SidecarBytes(True, refused=Finding("S022", "sidecar is a symlink that loops", display))
        if not resolved.is_relative_to(self._annotations_resolved):
            return SidecarBytes(True, refused=Finding("S011", "sidecar resolves outside annotations/", display))
        try:
            size = path.stat().st_size
            if size > MAX_SIDECAR_BYTES:
                return SidecarBytes(
                    True,
                    refused=Finding(
                        "S002",
                        f"sidecar is {size} bytes, over the {MAX_SIDECAR_BYTES} byte limit",
                        display,
                        hint="split the notes or shorten them",
                    ),
                )
            return SidecarBytes(True, data=path.read_bytes())
        except OSError as exc:
            return SidecarBytes(True, refused=Finding("S001", f"cannot read sidecar: {exc.strerror}", display))

    def reading_path(self) -> tuple[tuple[str, ...], list[Finding]]:
        """The order a new reader takes through the files (``annotations/_reading-path.yaml``: a list of
        file keys), and a finding for each entry that names no locked file with a page."""
        display = f"{ANNOTATIONS}/{READING_PATH}"
        path = self.annotations_dir / READING_PATH
        if not path.is_file():
            return (), []
        try:
            data = yaml.safe_load(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            return (), [Finding("C003", f"the reading path cannot be read: {excerpt(exc)}", display)]
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            return (), [Finding("C003", "the reading path must be a list of file keys", display)]
        keys = {f.key for f in self.lock.files}
        paths = {f.path: f.key for f in self.lock.files}
        out, findings = [], []
        for number, item in enumerate(data, start=1):
            key = item if item in keys else paths.get(item)
            if key is None:
                findings.append(
                    Finding(
                        "C003",
                        f"entry {number} `{excerpt(item)}` is not a locked file with a page",
                        display,
                        hint="list file keys as `annotator status` prints them",
                    )
                )
            elif key not in out:
                out.append(key)
        return tuple(out), findings

    def unexpected_sidecars(self) -> list[Finding]:
        """Files under annotations/ that no locked file owns: typos in a path, files dropped from the
        lock, `.yml` instead of `.yaml`, symlinks that loop. Each is a finding, never silently ignored."""
        known = {sidecar_path(f) for f in self.lock.files}
        findings: list[Finding] = []
        if not self.annotations_dir.is_dir():
            return findings
        for folder, dirs, names in os.walk(self.annotations_dir):
            dirs.sort()
            for name in sorted(names):
                path = Path(folder) / name
                display = path.relative_to(self.root).as_posix()
                at_root = Path(folder) == self.annotations_dir
                if (
                    display in known
                    or name.startswith(".")
                    or name in ("sidecar.schema.json", "README.md")
                    or (at_root and name == READING_PATH)
                ):
                    continue
                if path.is_symlink() and not path.exists():
                    findings.append(Finding("S022", "a symlink that loops or points nowhere", display, hint="remove it"))
                elif not name.endswith(SIDECAR_SUFFIX):
                    findings.append(
                        Finding(
                            "S022",
                            f"`{name}` is not a sidecar (sidecars end in `{SIDECAR_SUFFIX}`)",
                            display,
                            hint=f"rename it to annotations/<upstream path>{SIDECAR_SUFFIX}",
                        )
                    )
                else:
                    findings.append(
                        Finding(
                            "S021",
                            "sidecar for a file that is not in the snapshot lock",
                            display,
                            hint=f"rename it to annotations/<upstream path>{SIDECAR_SUFFIX} or add the file "
                            "with `annotator lock add`",
                        )
                    )
        return findings
