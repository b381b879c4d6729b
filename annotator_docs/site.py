"""The engine: every generated page of a project, deterministic, cached by content hash.

``build_site(project)`` returns the pages (site-relative path -> content) and the findings.
Builders are adapters over it: the mkdocs plugin registers the pages as generated files;
``generate`` writes them to a folder for builders that run no plugins (Zensical).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .coverage import FileProgress, ProgressReport, file_progress
from .errors import AnnotatorError
from .history import coverage_history
from .model import Finding, failing
from .project import FileAnalysis, Project, analyse_file, disk_cached, write_atomic
from .sidecar import LoadResult, load_sidecar, sidecar_path_for
from .render.dashboard import render_dashboard
from .render.links import SymbolIndex
from .render.page import PageInput, RenderedPage, render_file_page

ASSETS = ("annotator.css", "annotator.js")
ASSET_DIR = "assets/annotator"


@dataclass(frozen=True, slots=True)
class _Analysed:
    """One file's analysis and the progress derived from it, memoised together."""

    key: tuple
    analysis: FileAnalysis
    progress: FileProgress
    progress_dict: dict


@dataclass(frozen=True, slots=True)
class SiteBuild:
    pages: dict[str, RenderedPage]  # site-relative path ("files/src/open_r1/grpo.py.md") -> page
    data: dict[str, str]  # other generated files ("progress.json")
    findings: tuple[Finding, ...]
    report: ProgressReport


def page_path(upstream_path: str) -> str:
    return f"files/{upstream_path}.md"


def build_site(project: Project, with_history: bool = True) -> SiteBuild:
    """One build from scratch (in memory); long-lived callers keep a :class:`SiteEngine`."""
    return SiteEngine(project).build(with_history=with_history)


class SiteEngine:
    """Builds every page of a project, remembering each stage's results by content hash.

    A long-lived engine (the mkdocs plugin keeps one for the whole `mkdocs serve` session) redoes
    only what an edit touches: an edited sidecar is loaded, resolved and rendered again; every
    other page comes from memory. Rendered pages are also cached on disk (``.annotator-cache/``),
    so a new process starts warm. On a cold build with many pages, extraction and rendering run
    on both cores.
    """

    PARALLEL_FROM = 16  # uncached pages; below this a process pool costs more than it saves

    def __init__(self, project: Project, search_code: bool = False) -> None:
        self.project = project
        self.search_code = search_code  # index the code for search too, not only notes and symbol names
        self._loaded: dict[tuple[str, str], LoadResult] = {}  # (path, sidecar hash) -> loaded sidecar
        self._analysed: dict[tuple, _Analysed] = {}  # (locked file, code hash, sidecar hash) -> analysis + progress
        self._pages: dict[str, RenderedPage] = {}  # page key -> page

    def build(self, with_history: bool = True) -> SiteBuild:
        project = self.project
        sources = {f.path: project.source_bytes(f.path) for f in project.lock.files}  # each file read once
        with _Workers() as workers:
            extracting = self._extract_in_parallel(sources, workers)
            sidecars = {f.path: self._sidecar(f.path) for f in project.lock.files}  # while the workers extract
            extracting()
            analysed = [self._analyse(locked, sources[locked.path], *sidecars[locked.path]) for locked in project.lock.files]
            pages = self._analysed_pages(analysed, workers)
        findings = [finding for item in analysed for finding in item.analysis.findings]
        findings.extend(project.stray_sidecars())
        report = ProgressReport.of(tuple(a.progress for a in analysed), project.lock.commit)
        history = coverage_history(project) if with_history else []
        pages["progress.md"] = RenderedPage(render_dashboard(report, history))
        progress_json = report.as_dict([a.progress_dict for a in analysed])
        data = {"progress.json": json.dumps(progress_json, sort_keys=True, separators=(",", ":")) + "\n"}
        return SiteBuild(pages, data, tuple(findings), report)

    def _analysed_pages(self, analysed: list[_Analysed], workers: _Workers) -> dict[str, RenderedPage]:
        project = self.project
        index = SymbolIndex.build([a.analysis.model for a in analysed if a.analysis.model is not None])
        locked_paths = frozenset(f.path for f in project.lock.files)
        context_key = repr((index.digest(), sorted(locked_paths), project.lock.repository, project.lock.commit,
                            self.search_code))
        wanted: dict[str, tuple[str, PageInput]] = {}
        for item in analysed:
            analysis = item.analysis
            problem = next((f.format() for f in analysis.findings if f.severity == "error"), "")
            page = PageInput(analysis, item.progress, project.lock, index, locked_paths, problem, self.search_code)
            # The page is a function of the analysis (itself keyed by code and sidecar) and the context.
            wanted[page_path(analysis.path)] = (repr((context_key, item.key)), page)
        pages = self._render_all(wanted, workers)
        self._forget_all_but(analysed, {key for key, _ in wanted.values()})
        return pages

    # -- stages, memoised ------------------------------------------------------------------
    def _forget_all_but(self, analysed: list[_Analysed], page_keys: set[str]) -> None:
        """Keep only what the latest build used, so a long editing session does not grow."""
        used = {a.key for a in analysed}
        sidecars = {(locked.path, sidecar_hash) for locked, _, sidecar_hash in used}
        self._analysed = {k: v for k, v in self._analysed.items() if k in used}
        self._loaded = {k: v for k, v in self._loaded.items() if k in sidecars}
        self._pages = {k: v for k, v in self._pages.items() if k in page_keys}

    def _sidecar(self, path: str) -> tuple[LoadResult | None, str]:
        """A locked file's loaded sidecar and what names it in the memo keys (its hash, or why it has none)."""
        raw = self.project.sidecar_bytes(path)
        if isinstance(raw, LoadResult):  # refused before reading (path outside annotations/)
            return raw, "refused"
        if raw is None:
            return None, "absent"
        sidecar_hash = hashlib.sha256(raw).hexdigest()
        loaded = self._loaded.get((path, sidecar_hash))
        if loaded is None:
            loaded = self._loaded[(path, sidecar_hash)] = self._load_sidecar_cached(path, raw, sidecar_hash)
        return loaded, sidecar_hash

    def _analyse(self, locked, source: bytes | None, loaded: LoadResult | None, sidecar_hash: str) -> _Analysed:
        model = self.project.model(locked.path, source) if source is not None else None
        key = (locked, model.sha256 if model else None, sidecar_hash)
        if key not in self._analysed:
            analysis = analyse_file(locked, model, loaded)
            progress = file_progress(analysis)
            self._analysed[key] = _Analysed(key, analysis, progress, progress.as_dict())
        return self._analysed[key]

    def _load_sidecar_cached(self, path: str, raw: bytes, sidecar_hash: str) -> LoadResult:
        """Loading and schema validation are pure; a new process reuses earlier results from disk."""
        file = self.project.cache_file("sidecars", f"{path}\0{sidecar_hash}", ".pickle")
        return disk_cached(file, LoadResult, lambda: load_sidecar(raw, sidecar_path_for(path)))

    def _extract_in_parallel(self, sources: dict[str, bytes | None], workers: _Workers):
        """Cold start: start extracting every uncached source on the workers; returns the call that
        waits for them (results land in the project's caches). Small batches are left to the caller."""
        project = self.project
        todo = [(path, data) for path, data in sources.items() if data is not None and not project.has_model(path, data)]
        if len(todo) < self.PARALLEL_FROM or not workers.available:
            return lambda: None
        results = workers.pool.map(_extract_job, todo, chunksize=4)

        def finish() -> None:
            for (path, data), model in zip(todo, results):
                project.remember_model(path, data, model)

        return finish

    def _render_all(self, wanted: dict[str, tuple[str, PageInput]], workers: _Workers) -> dict[str, RenderedPage]:
        pages: dict[str, RenderedPage] = {}
        missing: list[tuple[str, str, PageInput]] = []
        for uri, (key, page) in wanted.items():
            content = self._pages.get(key) or self._read_cache(key)
            if content is None:
                missing.append((uri, key, page))
            else:
                pages[uri] = self._pages[key] = content
        jobs = [(page, self.project.cache_file("pages", key, "")) for _, key, page in missing]
        if len(missing) >= self.PARALLEL_FROM and workers.available:
            # Workers write the big blocks to the cache themselves and send back only a small page.
            stored = []
            for start in range(0, len(jobs), 32):  # bounded batches: bounded memory in flight
                stored += workers.pool.map(_render_and_store, jobs[start : start + 32], chunksize=4)
        else:
            stored = [_render_and_store(job) for job in jobs]
        for (uri, key, _), page in zip(missing, stored):
            pages[uri] = self._pages[key] = page
        return dict(sorted(pages.items()))

    def _read_cache(self, key: str) -> RenderedPage | None:
        try:
            data = json.loads(self.project.cache_file("pages", key, ".json").read_text("utf-8"))
            files = tuple(tuple(block) for block in data["block_files"])
            if not all(Path(path).is_file() for _, path in files):
                return None
            return RenderedPage(data["markdown"], (), files)
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _render_and_store(job: tuple[PageInput, Path]) -> RenderedPage:
    """Render one page and keep its big code blocks on disk, not in memory (a whole-stdlib site
    stays small); runs in a worker on a cold build. ``stem`` is the page's cache path without suffix."""
    page, stem = job
    content = render_file_page(page)
    files = []
    for index, (placeholder, html_block) in enumerate(content.blocks):
        path = stem.with_name(f"{stem.name}-{index}.html")
        write_atomic(path, html_block.encode("utf-8"))
        files.append((placeholder, str(path)))
    stored = RenderedPage(content.markdown, (), tuple(files))
    data = json.dumps({"markdown": stored.markdown, "block_files": stored.block_files}).encode("utf-8")
    write_atomic(stem.with_name(f"{stem.name}.json"), data)
    return stored


def _extract_job(job: tuple[str, bytes]):
    from .extract import extract

    path, data = job
    return extract(path, data)


class _Workers:
    """One process pool per build, started only when a stage has enough uncached work for it."""

    def __init__(self) -> None:
        self.available = (os.cpu_count() or 1) >= 2
        self._pool = None

    @property
    def pool(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
            self._pool = ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1),
                                             mp_context=multiprocessing.get_context(method))
        return self._pool

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=exc_info[0] is not None)


def asset_bytes(name: str) -> bytes:
    return resources.files("annotator_docs.render").joinpath("assets", name).read_bytes()


def generate(project: Project, out_dir: Path, strict: bool = False) -> int:
    """Write every page (write-if-changed) for builders that run no plugins. Nothing is written on failure."""
    build = build_site(project)
    bad = failing(build.findings, strict)
    if bad:
        listing = "\n".join(f.format() for f in bad[:20])
        raise AnnotatorError(f"{len(bad)} finding(s); nothing written:\n{listing}")
    out_dir = out_dir.absolute()
    wanted = {**{uri: page.inline() for uri, page in build.pages.items()}, **build.data}
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
