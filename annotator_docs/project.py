"""A project on disk: its lock, snapshot, sidecars and cache; the one place that reads them.

``Project.analyse(path)`` runs stages 2-4 for one locked file (extract -> load sidecar ->
resolve) and returns a frozen :class:`FileAnalysis`. Extraction is cached by content hash,
in memory and under ``.annotator-cache/`` (outside any docs_dir), so warm runs skip it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import __version__
from .anchors import ResolvedNote, State, note_ids, resolve_sidecar
from .errors import AnnotatorError
from .extract import extract
from .lock import DEFAULT_LOCK, Lock, LockedFile, load_lock, safe_join
from .model import Finding, SourceModel
from .sidecar import MAX_SIDECAR_BYTES, SUFFIX, LoadResult, Sidecar, load_sidecar, load_sidecar_file, sidecar_path_for

ANNOTATIONS = "annotations"
CACHE = ".annotator-cache"


@dataclass(frozen=True, slots=True)
class FileAnalysis:
    locked: LockedFile
    model: SourceModel | None  # None when the source is not pulled
    sidecar: Sidecar | None  # None when absent or invalid
    sidecar_exists: bool
    notes: tuple[ResolvedNote, ...]
    findings: tuple[Finding, ...]  # loader, anchor and project-level findings

    @property
    def path(self) -> str:
        return self.locked.path

    @property
    def sidecar_path(self) -> str:
        return sidecar_path_for(self.locked.path)


class Project:
    def __init__(self, lock: Lock) -> None:
        self.lock = lock
        self.root = lock.project_root
        self.annotations_dir = self.root / ANNOTATIONS
        self.cache_dir = self.root / CACHE
        self._models: dict[str, SourceModel] = {}
        self._source_files: dict[str, Path] = {}
        self._annotations_resolved = self.annotations_dir.resolve()

    @classmethod
    def open(cls, root: Path | None = None, lock_path: Path | None = None) -> Project:
        root = (root or Path.cwd()).absolute()
        return cls(load_lock(lock_path.absolute() if lock_path else root / DEFAULT_LOCK))

    # -- sources ----------------------------------------------------------------------------
    def source_file(self, path: str) -> Path:
        if path not in self._source_files:  # resolving is a syscall per component; the lock is fixed
            self._source_files[path] = safe_join(self.lock.source_root, path, what="locked file")
        return self._source_files[path]

    def source_bytes(self, path: str) -> bytes | None:
        try:
            file = self.source_file(path)
        except AnnotatorError:
            return None
        return file.read_bytes() if file.is_file() else None

    def model(self, path: str, data: bytes | None = None) -> SourceModel | None:
        data = self.source_bytes(path) if data is None else data
        if data is None:
            return None
        key = _model_key(path, data)
        if key in self._models:
            return self._models[key]
        model = self._cached_extract(key, path, data)
        self._models[key] = model
        return model

    def has_model(self, path: str, data: bytes) -> bool:
        key = _model_key(path, data)
        return key in self._models or self._extract_cache_file(key).exists()

    def remember_model(self, path: str, data: bytes, model: SourceModel) -> None:
        key = _model_key(path, data)
        self._models[key] = model
        write_atomic(self._extract_cache_file(key), pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))

    def _extract_cache_file(self, key: str) -> Path:
        return self.cache_file("extract", key, ".pickle")

    def cache_file(self, kind: str, key: str, suffix: str) -> Path:
        """Where a cached result lives: keyed by its inputs and by the engine's own code, so an
        upgrade or a local edit of annotator never serves a result the old code computed."""
        name = hashlib.sha256(f"{key}\0{code_fingerprint()}".encode()).hexdigest()
        return self.cache_dir / kind / f"{name}{suffix}"

    def _cached_extract(self, key: str, path: str, data: bytes) -> SourceModel:
        return disk_cached(self._extract_cache_file(key), SourceModel, lambda: extract(path, data))

    # -- sidecars ---------------------------------------------------------------------------
    def sidecar_file(self, path: str) -> Path:
        return self.root / sidecar_path_for(path)

    def sidecar_bytes(self, path: str) -> bytes | LoadResult | None:
        """The sidecar's bytes; None when there is none; a LoadResult with the reason when refused unread."""
        display = sidecar_path_for(path)
        file = self.root / display
        if not file.exists():
            return None
        try:
            resolved = safe_join(self.root, display, what="sidecar")  # checked on every read: symlinks can change
        except AnnotatorError as exc:
            return LoadResult(None, (Finding(code="S011", message=str(exc), path=display),))
        if not resolved.is_relative_to(self._annotations_resolved):
            return LoadResult(None, (Finding(code="S011", message="sidecar resolves outside annotations/", path=display),))
        try:
            if file.stat().st_size > MAX_SIDECAR_BYTES:
                return load_sidecar_file(file, display)  # reports the size without reading
            return file.read_bytes()
        except OSError as exc:
            return LoadResult(None, (Finding(code="S001", message=f"cannot read sidecar: {exc.strerror}", path=display),))

    def load_sidecar(self, path: str) -> LoadResult | None:
        raw = self.sidecar_bytes(path)
        if raw is None or isinstance(raw, LoadResult):
            return raw
        return load_sidecar(raw, sidecar_path_for(path))

    def stray_sidecars(self) -> list[Finding]:
        """Sidecars that belong to no locked file (typos in a path, files dropped from the lock)."""
        known = {sidecar_path_for(f.path) for f in self.lock.files}
        findings = []
        if not self.annotations_dir.is_dir():
            return findings
        for file in sorted(self.annotations_dir.rglob(f"*{SUFFIX}")):
            display = file.relative_to(self.root).as_posix()
            if display not in known:
                findings.append(Finding(code="S021", message="sidecar for a file that is not in the snapshot lock",
                                        path=display, hint="rename it to annotations/<upstream path>.yaml or add the file to the lock"))
        return findings

    # -- analysis ---------------------------------------------------------------------------
    def analyse(self, path: str) -> FileAnalysis:
        locked = self.lock.file(path)
        if locked is None:
            raise AnnotatorError(f"`{path}` is not in the snapshot lock")
        model = self.model(path)
        loaded = self.load_sidecar(path)
        return analyse_file(locked, model, loaded)

    def analyse_all(self) -> list[FileAnalysis]:
        return [self.analyse(f.path) for f in self.lock.files]


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of annotator's own source and schema (read once per process)."""
    digest = hashlib.sha256(__version__.encode())
    package = Path(__file__).parent
    for file in sorted([*package.rglob("*.py"), *package.rglob("*.json")]):
        digest.update(file.relative_to(package).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def _model_key(path: str, data: bytes) -> str:
    return hashlib.sha256(path.encode() + b"\0" + data).hexdigest()


def analyse_file(locked: LockedFile, model: SourceModel | None, loaded: LoadResult | None) -> FileAnalysis:
    """Pure: combine a model and a loaded sidecar into resolved notes and findings."""
    display = sidecar_path_for(locked.path)
    findings: list[Finding] = []
    sidecar = None
    if loaded is not None:
        findings.extend(loaded.findings)
        sidecar = loaded.sidecar
    if sidecar is not None and sidecar.source != locked.path:
        findings.append(Finding(code="S020", message=f"`source: {sidecar.source}` does not match this sidecar's place",
                                path=display, hint=f"use `source: {locked.path}`"))
    if model is None:
        findings.append(Finding(code="E001", message=f"source `{locked.path}` is not pulled", path=locked.path,
                                severity="warning", hint="run `annotator snapshot pull`"))
        # Notes keep their text without code to resolve against; they are shown, never dropped.
        unresolved = tuple(ResolvedNote(n, i, State.INTACT, None, None, None)
                           for n, i in zip(sidecar.notes, note_ids(sidecar))) if sidecar else ()
        return FileAnalysis(locked, None, sidecar, loaded is not None, unresolved, tuple(findings))
    findings.extend(model.findings)
    notes: tuple[ResolvedNote, ...] = ()
    if sidecar is not None:
        notes = resolve_sidecar(sidecar, model)
        for note in notes:
            findings.extend(note.findings)
            if note.state is State.CHANGED:
                findings.append(Finding(code="A020", message=f"code under note `{note.note_id}` changed since it was pinned",
                                        path=display, line=note.note.line, severity="warning",
                                        hint="re-read the note against the code, then `annotator pin`"))
            elif note.state is State.MOVED:
                findings.append(Finding(code="A022", message=f"note `{note.note_id}` moved to lines {note.span.start}-{note.span.end}",
                                        path=display, line=note.note.line, severity="warning",
                                        hint="run `annotator pin` to record the new place"))
            if not note.pinned and note.state is not State.ORPHANED and not note.is_file_level:
                findings.append(Finding(code="A021", message=f"note `{note.note_id}` has no fingerprint", path=display,
                                        line=note.note.line, severity="warning", hint="run `annotator pin`"))
    return FileAnalysis(locked, model, sidecar, loaded is not None, notes, tuple(findings))


def disk_cached(file: Path, expected: type, compute):
    """``compute()``, remembered in ``file`` (a pickle in the project's own cache, never from a PR);
    a missing, stale or unreadable entry is simply computed again."""
    try:
        with file.open("rb") as handle:
            cached = pickle.load(handle)
        if isinstance(cached, expected):
            return cached
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError):
        pass
    value = compute()
    write_atomic(file, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    return value


def write_atomic(file: Path, data: bytes) -> bool:
    """Write via a temporary file and rename; returns False (and writes nothing) when unchanged."""
    try:
        if file.read_bytes() == data:
            return False
    except OSError:
        pass
    file.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
