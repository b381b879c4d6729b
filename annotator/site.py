"""The engine: every generated page of a project, deterministic, cached by content hash.

``build_site(project)`` returns the pages (site-relative path -> content) and the findings.
Builders are adapters over it: the mkdocs plugin registers the pages as generated files;
``generate`` writes them to a folder for builders that run no plugins (Zensical).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from . import __version__
from .coverage import ProgressReport, file_progress, next_steps
from .errors import AnnotatorError
from .history import coverage_history
from .model import Finding
from .project import Project, write_atomic
from .render.dashboard import render_dashboard
from .render.links import SymbolIndex
from .render.page import PageInput, render_file_page

ASSETS = ("annotator.css", "annotator.js")
ASSET_DIR = "assets/annotator"


@dataclass(frozen=True, slots=True)
class SiteBuild:
    pages: dict[str, str]  # site-relative path ("files/src/open_r1/grpo.py.md") -> Markdown
    data: dict[str, str]  # other generated files ("progress.json")
    findings: tuple[Finding, ...]
    nav: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (group, ((title, page path), ...))
    report: ProgressReport


def page_path(upstream_path: str) -> str:
    return f"files/{upstream_path}.md"


def build_site(project: Project, with_history: bool = True) -> SiteBuild:
    analyses = project.analyse_all()
    progress = tuple(file_progress(a) for a in analyses)
    report = ProgressReport(files=progress, commit=project.lock.commit, next_steps=tuple(next_steps(progress)))
    index = SymbolIndex.build([a.model for a in analyses if a.model is not None])
    locked_paths = frozenset(f.path for f in project.lock.files)
    pages: dict[str, str] = {}
    findings: list[Finding] = []
    for analysis, file_progress_ in zip(analyses, progress):
        findings.extend(analysis.findings)
        problem = next((f.format() for f in analysis.findings if f.severity == "error"), "")
        page = PageInput(analysis, file_progress_, project.lock, index, locked_paths, problem)
        pages[page_path(analysis.path)] = _cached_render(project, page)
    findings.extend(project.stray_sidecars())
    history = coverage_history(project) if with_history else []
    pages["progress.md"] = render_dashboard(report, history)
    data = {"progress.json": json.dumps(report.as_dict(), indent=2, sort_keys=True) + "\n"}
    groups: dict[str, list[tuple[str, str]]] = {}
    for file_progress_ in progress:
        groups.setdefault(file_progress_.group, []).append((file_progress_.title, page_path(file_progress_.path)))
    nav = tuple((group, tuple(items)) for group, items in groups.items())
    return SiteBuild(pages, data, tuple(findings), nav, report)


def _cached_render(project: Project, page: PageInput) -> str:
    """Rendering is pure; key it by everything it reads."""
    analysis = page.analysis
    sidecar_bytes = b""
    try:
        sidecar_bytes = project.sidecar_file(analysis.path).read_bytes()
    except OSError:
        pass
    key_material = json.dumps(
        [__version__, analysis.path, analysis.model.sha256 if analysis.model else None,
         hashlib.sha256(sidecar_bytes).hexdigest(), repr(page.progress), repr(page.index), page.lock.commit,
         sorted(page.locked_paths), page.problem, _renderer_fingerprint()],
        sort_keys=True,
    ).encode()
    key = hashlib.sha256(key_material).hexdigest()
    cache_file = project.cache_dir / "pages" / f"{key}.md"
    try:
        return cache_file.read_text("utf-8")
    except OSError:
        pass
    content = render_file_page(page)
    write_atomic(cache_file, content.encode("utf-8"))
    return content


_RENDERER_FINGERPRINT: str | None = None


def _renderer_fingerprint() -> str:
    """Hash of the renderer's own source, so a code change never serves a stale cached page."""
    global _RENDERER_FINGERPRINT
    if _RENDERER_FINGERPRINT is None:
        digest = hashlib.sha256()
        for module in sorted((Path(__file__).parent / "render").glob("*.py")):
            digest.update(module.read_bytes())
        _RENDERER_FINGERPRINT = digest.hexdigest()
    return _RENDERER_FINGERPRINT


def asset_bytes(name: str) -> bytes:
    return resources.files("annotator.render").joinpath("assets", name).read_bytes()


def failing_findings(findings: tuple[Finding, ...], strict: bool) -> list[Finding]:
    return [f for f in findings if f.severity == "error" or strict]


def generate(project: Project, out_dir: Path, strict: bool = False) -> int:
    """Write every page (write-if-changed) for builders that run no plugins. Nothing is written on failure."""
    build = build_site(project)
    bad = failing_findings(build.findings, strict)
    if bad:
        listing = "\n".join(f.format() for f in bad[:20])
        raise AnnotatorError(f"{len(bad)} finding(s); nothing written:\n{listing}")
    out_dir = out_dir.absolute()
    wanted = {**build.pages, **build.data}
    wanted.update({f"{ASSET_DIR}/{name}": asset_bytes(name).decode("utf-8") for name in ASSETS})
    written = 0
    for relative, content in sorted(wanted.items()):
        written += write_atomic(out_dir / relative, content.encode("utf-8"))
    generated_root = out_dir / "files"
    if generated_root.is_dir():  # drop pages of files no longer in the lock
        for stale in sorted(generated_root.rglob("*.md")):
            if stale.relative_to(out_dir).as_posix() not in wanted:
                stale.unlink()
    return written


def copy_tree_atomic(source: Path, target: Path) -> None:
    """Replace ``target`` by ``source`` with one rename (previous output kept on failure)."""
    staging = target.with_name(f".{target.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    backup = target.with_name(f".{target.name}.old")
    shutil.rmtree(backup, ignore_errors=True)
    if target.exists():
        target.rename(backup)
    staging.rename(target)
    shutil.rmtree(backup, ignore_errors=True)
