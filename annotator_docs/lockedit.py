"""``annotator lock add`` / ``add-source``: change the lock without typing a hash.

Hashes come from the bytes themselves (a mirror at the pinned commit, a working tree, the pulled
snapshot, or a download), and the lock is rewritten whole, as version 2, atomically, keeping the
comment lines at its top.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

from . import snapshot
from .findings import fail
from .layout import snapshot_path
from .lock import header_comments, load_lock, lock_text
from .models import Lock, LockedFile, Source
from .paths import check_relative_path, write_atomic
from .project import Project

_SHA = re.compile(r"^[0-9a-f]{40}$")


def add_files(
    project: Project,
    source_name: str | None,
    paths: list[str],
    *,
    from_git: str | None = None,
    from_dir: str | None = None,
    group: str | None = None,
    title: str | None = None,
    reference: bool = False,
) -> list[LockedFile]:
    lock = project.lock
    source = lock.source(source_name) if source_name else lock.sources[0]
    if source_name and source_name not in {s.name for s in lock.sources}:
        fail("C001", f"no source named `{source_name}`")
    for path in paths:
        check_relative_path(path, what="path", code="C001")
        if any(f.path == path for f in source.files):
            fail("C001", f"`{path}` is already in source `{source.name}`")
    if title and len(paths) > 1:
        fail("C001", "--title names one file; give it one path")
    contents = _bytes(project, source, paths, from_git, from_dir)
    prefix = "" if source is lock.sources[0] else f"{source.name}/"
    added = [
        LockedFile(
            source=source.name,
            path=path,
            key=prefix + path,
            sha256=snapshot.sha256_of(contents[path]) if source.is_pinned else None,
            group=group or ("Reference" if reference else "Files"),
            title=title or "",
            page=not reference,
        )
        for path in paths
    ]
    _write(project, dataclasses.replace(source, files=source.files + tuple(added)))
    return added


def add_source(
    project: Project, name: str, *, repository: str, commit: str, ref: str | None = None, mirror: str | None = None
) -> Source:
    lock = project.lock
    if name in {s.name for s in lock.sources}:
        fail("C001", f"a source named `{name}` is already in the lock")
    if not _SHA.match(commit):
        if mirror is None:
            fail("C002", f"`{commit}` is not a full SHA", hint="give --from-git DIR to resolve a tag, or the 40-character SHA")
        resolved = subprocess.run(
            ["git", "-C", mirror, "rev-parse", "--verify", f"{commit}^{{commit}}"], capture_output=True, text=True
        )
        if resolved.returncode != 0:
            fail("P002", f"{mirror}: `{commit}` is not a tag or commit there")
        ref, commit = ref or commit, resolved.stdout.strip()
    source = Source(name=name, files=(), snapshot_dir=f"source_snapshot/{name}", repository=repository, commit=commit, ref=ref)
    text = lock_text(dataclasses.replace(lock, sources=(*lock.sources, source)), _header(lock))
    _save(project, text)
    return source


def _bytes(project: Project, source: Source, paths: list[str], from_git: str | None, from_dir: str | None) -> dict[str, bytes]:
    if from_git:
        if source.commit is None:
            fail("C002", f"source `{source.name}` is local; use --from-dir")
        found = snapshot.read_from_git(Path(from_git), source.commit, paths)
    elif from_dir:
        found = snapshot.read_from_dir(Path(from_dir), paths)
    elif source.local_path is not None:
        found = snapshot.read_from_dir(project.root / source.local_path, paths)
    else:
        found = {}
        for path in paths:  # already pulled beside the lock?
            probe = LockedFile(source.name, path, path, None)
            candidate = project.root / snapshot_path(source, probe)
            if candidate.is_file():
                found[path] = candidate.read_bytes()
        missing = [p for p in paths if p not in found]
        if missing:
            found.update(snapshot.read_from_github(source, missing))
    missing = [p for p in paths if p not in found]
    if missing:
        fail("P003", f"{source.name}: {', '.join(missing)} not found at {source.commit or 'the source'}")
    return found


def _header(lock: Lock) -> str:
    try:
        return header_comments(lock.lock_path.read_text(encoding="utf-8"))
    except OSError:
        return ""


def _write(project: Project, source: Source) -> None:
    lock = project.lock
    sources = tuple(source if s.name == source.name else s for s in lock.sources)
    _save(project, lock_text(dataclasses.replace(lock, sources=sources), _header(lock)))


def _save(project: Project, text: str) -> None:
    path = project.lock.lock_path
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(text, encoding="utf-8")
    try:
        load_lock(temporary)  # never write a lock this annotator cannot read back
    finally:
        temporary.unlink(missing_ok=True)
    write_atomic(path, text.encode("utf-8"))
