"""Stage 1 reads the lock: which upstream files this project annotates, at which commits.

``source_snapshot/snapshot.lock`` is TOML. Version 2 lists one or more ``[[sources]]`` (a GitHub
repository at a pinned commit with each file's sha256, or a local tree inside the project);
version 1, one ``[upstream]`` or ``[local]`` with ``[[files]]``, still loads unchanged as a single
source. The format is documented in ``docs/reference/lock-file.md``.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from .findings import fail
from .models import Lock, LockedFile, Source
from .paths import check_relative_path

LOCK_NAME = "snapshot.lock"
SNAPSHOT_DIR = "source_snapshot"
DEFAULT_LOCK = Path(SNAPSHOT_DIR) / LOCK_NAME
VERSIONS = (1, 2)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
_EXPORT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_MAX_LOCK_BYTES = 1 << 20


def load_lock(lock_path: Path) -> Lock:
    lock_path = lock_path.absolute()
    where = str(lock_path)
    try:
        if lock_path.stat().st_size > _MAX_LOCK_BYTES:
            fail("L002", f"lock file is larger than {_MAX_LOCK_BYTES} bytes", path=where)
        text = lock_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail("L001", "no lock file", path=where, hint="create one (docs/reference/lock-file.md) or run `annotator new`")
    except (OSError, UnicodeDecodeError) as exc:
        fail("L002", f"lock file cannot be read: {exc}", path=where)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        fail("L002", f"lock file is not valid TOML: {exc}", path=where)
    version = data.get("version")
    if version not in VERSIONS:
        fail(
            "L003",
            f"`version = {version!r}` is not a lock version this annotator reads",
            path=where,
            hint="use `version = 2` (several sources) or `version = 1` (one)",
        )
    sources = _v1_source(data, where) if version == 1 else _v2_sources(data, where)
    keys: dict[str, str] = {}
    for source in sources:
        for file in source.files:
            if file.key in keys:
                fail(
                    "L006",
                    f"`{file.key}` is named by sources `{keys[file.key]}` and `{source.name}`",
                    path=where,
                    hint="each file needs its own page and sidecar; drop one or rename a source",
                )
            keys[file.key] = source.name
    if not any(f.page for s in sources for f in s.files):
        fail("L005", "the lock lists no files", path=where)
    return Lock(lock_path=lock_path, version=version, sources=tuple(sources))


def _v1_source(data: dict[str, Any], where: str) -> list[Source]:
    upstream, local = data.get("upstream"), data.get("local")
    if (upstream is None) == (local is None):
        fail("L003", "a version 1 lock gives exactly one of [upstream] or [local]", path=where)
    table = upstream if upstream is not None else {"local": (local or {}).get("path", "")}
    if upstream is not None:
        repository = table.get("repository")
        name = repository.rsplit("/", 1)[-1].lower() if isinstance(repository, str) else "upstream"
        name = re.sub(r"[^a-z0-9._-]", "-", name) or "upstream"
    else:
        name = "local"
    return [_source({**table, "name": name, "files": data.get("files", [])}, index=0, where=where, snapshot_dir=SNAPSHOT_DIR)]


def _v2_sources(data: dict[str, Any], where: str) -> list[Source]:
    extra = sorted(set(data) - {"version", "sources"})
    if extra:
        fail("L003", f"unknown top-level key `{extra[0]}` in a version 2 lock", path=where, hint="sources go under [[sources]]")
    raw = data.get("sources")
    if not isinstance(raw, list) or not raw:
        fail("L003", "a version 2 lock lists its sources as [[sources]]", path=where)
    sources, names = [], set()
    for index, table in enumerate(raw):
        if not isinstance(table, dict):
            fail("L004", f"sources[{index}] is not a table", path=where)
        name = table.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            fail("L004", f"sources[{index}]: `name` must be lowercase letters, digits, `.`, `_` or `-`", path=where)
        if name in names:
            fail("L006", f"two sources are named `{name}`", path=where)
        names.add(name)
        sources.append(_source(table, index=index, where=where, snapshot_dir=f"{SNAPSHOT_DIR}/{name}"))
    return sources


_SOURCE_KEYS = {"name", "repository", "commit", "ref", "local", "files", "exports"}
_FILE_KEYS = {"path", "sha256", "group", "title", "page"}


def _source(table: dict[str, Any], *, index: int, where: str, snapshot_dir: str) -> Source:
    name = table["name"]
    label = f"source `{name}`"
    extra = sorted(set(table) - _SOURCE_KEYS)
    if extra:
        fail("L004", f"{label}: unknown key `{extra[0]}`", path=where, hint="keys: " + ", ".join(sorted(_SOURCE_KEYS)))
    repository, commit, ref, local = (table.get(k) for k in ("repository", "commit", "ref", "local"))
    if (repository is None) == (local is None):
        fail("L004", f"{label}: give either `repository` and `commit`, or `local`", path=where)
    if local is not None:
        local = check_relative_path(local, what=f"{label}: local path", code="L004", where=where)
        snapshot_dir = local  # read in place
    else:
        if not isinstance(repository, str) or not _REPOSITORY.match(repository):
            fail("L004", f"{label}: repository must look like `owner/name`", path=where)
        if not isinstance(commit, str) or not _COMMIT.match(commit):
            fail(
                "L004",
                f"{label}: commit must be a full 40-character hex SHA",
                path=where,
                hint="`git rev-parse TAG^{commit}` gives it for a tag",
            )
    if ref is not None and (not isinstance(ref, str) or not _REF.match(ref)):
        fail("L004", f"{label}: ref must be a tag or branch name", path=where)
    prefix = "" if index == 0 else f"{name}/"
    files: list[LockedFile] = []
    seen: set[str] = set()
    raw_files = table.get("files", [])
    if not isinstance(raw_files, list):
        fail("L005", f"{label}: files must be a list of tables", path=where)
    for position, entry in enumerate(raw_files):
        files.append(
            _file(entry, name, prefix, pinned=local is None, label=f"{label}: files[{position}]", where=where, seen=seen)
        )
    exports = _exports(table.get("exports", {}), label, where)
    return Source(
        name=name,
        files=tuple(files),
        snapshot_dir=snapshot_dir,
        repository=repository,
        commit=commit,
        ref=ref,
        local_path=local,
        exports=exports,
    )


def _file(entry: Any, source: str, prefix: str, *, pinned: bool, label: str, where: str, seen: set[str]) -> LockedFile:
    if not isinstance(entry, dict):
        fail("L005", f"{label} is not a table", path=where)
    extra = sorted(set(entry) - _FILE_KEYS)
    if extra:
        fail("L005", f"{label}: unknown key `{extra[0]}`", path=where, hint="keys: " + ", ".join(sorted(_FILE_KEYS)))
    path = check_relative_path(entry.get("path", ""), what=f"{label} path", where=where)
    if path in seen:
        fail("L005", f"{label}: `{path}` is listed twice", path=where)
    seen.add(path)
    sha256 = entry.get("sha256")
    if pinned and (not isinstance(sha256, str) or not _SHA256.match(sha256)):
        fail(
            "L005",
            f"{label}: `{path}` needs a sha256 of 64 lowercase hex digits",
            path=where,
            hint="`annotator lock add` computes it",
        )
    group, title, page = entry.get("group", "Files"), entry.get("title", ""), entry.get("page", True)
    if not isinstance(group, str) or not isinstance(title, str) or not isinstance(page, bool):
        fail("L005", f"{label}: group and title must be strings, page true or false", path=where)
    return LockedFile(
        source=source, path=path, key=prefix + path, sha256=sha256 if pinned else None, group=group, title=title, page=page
    )


def _exports(raw: Any, label: str, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        fail("L004", f'{label}: exports must be a table of `"package.Name" = "path#Symbol"`', path=where)
    out = []
    for name, target in sorted(raw.items()):
        if not _EXPORT.match(name) or not isinstance(target, str) or "#" not in target:
            fail("L004", f"{label}: export `{name}` must map a dotted name to `path#Symbol`", path=where)
        check_relative_path(target.partition("#")[0], what=f"{label}: export `{name}` path", code="L004", where=where)
        out.append((name, target))
    return tuple(out)


# -- writing (``annotator lock add``) ---------------------------------------------------------------
def lock_text(lock: Lock, header: str = "") -> str:
    """The lock as version 2 TOML (a version 1 lock is upgraded on its first write)."""
    out = [header.rstrip("\n") + "\n" if header.strip() else "", "version = 2\n"]
    for source in lock.sources:
        out.append("\n[[sources]]\n")
        out.append(f"name = {_toml(source.name)}\n")
        if source.local_path is not None:
            out.append(f"local = {_toml(source.local_path)}\n")
        else:
            out.append(f"repository = {_toml(source.repository or '')}\n")
            out.append(f"commit = {_toml(source.commit or '')}\n")
        if source.ref:
            out.append(f"ref = {_toml(source.ref)}\n")
        for file in source.files:
            out.append("\n[[sources.files]]\n")
            out.append(f"path = {_toml(file.path)}\n")
            if file.sha256:
                out.append(f"sha256 = {_toml(file.sha256)}\n")
            if file.group != "Files":
                out.append(f"group = {_toml(file.group)}\n")
            if file.title:
                out.append(f"title = {_toml(file.title)}\n")
            if not file.page:
                out.append("page = false  # a reference file: read for links, no page\n")
        if source.exports:
            out.append("\n[sources.exports]\n")
            out.extend(f"{_toml(name)} = {_toml(target)}\n" for name, target in source.exports)
    return "".join(out)


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string is a JSON string for these values


def header_comments(text: str) -> str:
    """The comment lines at the top of a lock file (kept when the tool rewrites it)."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines)
