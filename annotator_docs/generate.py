"""``annotator generate --out DIR``: the site's pages as files, for builders that run no plugins (Zensical).

The pages are written write-if-changed, with links computed for where they really land (``--out
docs/annotated`` puts them under ``annotated/`` in the site). A manifest (``.annotator-manifest.json``)
lists what this command wrote; only those files are ever replaced or removed, so a hand-written
page in the same folder is never touched. Nothing is written when the build has failing findings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .engine import Engine
from .findings import Finding, fail, failing
from .paths import writable_dir, write_atomic
from .project import Project
from .site import ASSET_DIR, ASSETS, VENDOR, SiteBuilder, asset_bytes

MANIFEST = ".annotator-manifest.json"


@dataclass(frozen=True, slots=True)
class Generated:
    written: int
    unchanged: int
    removed: int
    failing: tuple[Finding, ...] = ()


def generate(
    project: Project,
    out_dir: Path,
    *,
    strict: bool = False,
    docs_dir: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Generated:
    out_dir = writable_dir(out_dir if out_dir.is_absolute() else Path.cwd() / out_dir, project.root, what="output folder")
    prefix = _prefix(out_dir, docs_dir or project.root / "docs")
    progress(f"building the pages of {len(project.lock.files)} files")
    build = SiteBuilder(Engine(project), prefix=prefix).build()
    bad = failing(build.findings, strict)
    if bad:
        return Generated(0, 0, 0, tuple(bad))
    wanted: dict[str, bytes] = {
        uri[len(prefix) :] if uri.startswith(prefix) else uri: page.inline().encode("utf-8") for uri, page in build.pages.items()
    }
    wanted.update({name: text.encode("utf-8") for name, text in build.data.items()})
    wanted.update({f"{ASSET_DIR}/{name}": asset_bytes(name) for name in (*ASSETS, *VENDOR)})
    previous = _manifest(out_dir)
    for relative in wanted:
        target = out_dir / relative
        if target.exists() and relative not in previous:
            fail(
                "O001",
                f"{target} exists and was not written by annotator generate; refusing to overwrite it",
                hint="move it, or generate into another --out folder",
            )
    written = unchanged = 0
    for relative, data in sorted(wanted.items()):
        if write_atomic(out_dir / relative, data):
            written += 1
        else:
            unchanged += 1
    removed = 0
    for relative in sorted(previous - set(wanted)):  # pages of files no longer in the lock
        stale = out_dir / relative
        if stale.is_file() and not stale.is_symlink():
            stale.unlink()
            removed += 1
            _prune_empty_parents(stale.parent, out_dir)
    write_atomic(
        out_dir / MANIFEST,
        (json.dumps({"written_by": "annotator generate", "files": sorted(wanted)}, indent=1) + "\n").encode("utf-8"),
    )
    return Generated(written, unchanged, removed)


def _prune_empty_parents(folder: Path, out_dir: Path) -> None:
    """Remove the folders a removed page leaves empty (never ``out_dir`` itself, never a non-empty one)."""
    while folder != out_dir and out_dir in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty, or not ours to remove
            return
        folder = folder.parent


def _prefix(out_dir: Path, docs_dir: Path) -> str:
    """Where the pages land in the site: ``docs/annotated`` under ``docs`` -> ``annotated/``."""
    try:
        relative = out_dir.resolve().relative_to(docs_dir.resolve())
    except ValueError:
        return ""  # generated outside the docs: the folder is a site of its own
    text = relative.as_posix()
    return "" if text == "." else text + "/"


def _manifest(out_dir: Path) -> set[str]:
    try:
        data = json.loads((out_dir / MANIFEST).read_text("utf-8"))
        files = data.get("files", [])
        return {f for f in files if isinstance(f, str) and ".." not in f.split("/") and not f.startswith("/")}
    except (OSError, ValueError, AttributeError):
        return set()
