"""The site: every generated page of a project, deterministic, from the engine's analyses.

``build_site(engine)`` returns the pages (site-relative URI -> :class:`RenderedPage`), the data
files (``progress.json``) and the findings. The mkdocs plugin registers the pages as generated
files; ``annotator generate`` writes them to a folder for builders that run no plugins.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .coverage import progress_report
from .engine import ANALYSIS_KINDS, Analysed, Bindings, Engine, _Workers, collector_paused, progress_json
from .findings import Finding
from .history import coverage_history
from .layout import annotated_uri, page_uri, url_of
from .models import FileAnalysis, Language, Lock, LockedFile, ProgressReport, SourceModel
from .render.bindings import binding_ids
from .render.code import highlight_lines
from .render.dashboard import render_dashboard
from .render.links import SiteIndex, resolver_for
from .render.markdown import NoteRenderer
from .render.page import PageInput, RenderedPage, render_file_page

ASSETS = ("annotator.css", "annotator.js")  # listed in extra_css / extra_javascript
VENDOR = ("vendor/mermaid.min.js", "vendor/mermaid.LICENSE")  # loaded by annotator.js when a diagram scrolls into view
ASSET_DIR = "assets/annotator"
PARALLEL_PAGES_FROM = 16
PROGRESS_PAGE = "progress.md"
#: The kinds of cache entry a site build uses (it prunes those it did not use).
SITE_KINDS = (*ANALYSIS_KINDS, "highlight", "page", "download", "index", "note-ids")


@dataclass(frozen=True, slots=True)
class SiteBuild:
    pages: dict[str, RenderedPage]  # site-relative URI ("files/src/open_r1/grpo.py.md") -> page
    data: dict[str, str]  # other generated files ("progress.json")
    findings: tuple[Finding, ...]
    report: ProgressReport
    index_digest: str = ""  # what the pages' links resolved against (hand-written pages depend on it too)


def asset_bytes(name: str) -> bytes:
    return resources.files("annotator_docs.render").joinpath("assets", name).read_bytes()


class SiteBuilder:
    """Keeps what a page needs between builds of one `mkdocs serve` session: the engine (and its
    cache) and one note renderer."""

    def __init__(self, engine: Engine, *, overrides: tuple[str, ...] = (), prefix: str = "", site_url: str = "") -> None:
        self.engine = engine
        self._renderer: NoteRenderer | None = None
        self.overrides = overrides
        self.site_url = site_url  # absolute links in the downloads (annotated sources)
        self.prefix = (
            prefix  # where the pages sit inside the docs: "" for the plugin, "annotated/" for generate --out docs/annotated
        )

    @property
    def renderer(self) -> NoteRenderer:
        """Made on first use: a warm build renders no note (and the Markdown set-up costs 50 ms)."""
        if self._renderer is None:
            self._renderer = NoteRenderer()
        return self._renderer

    def build(self, with_history: bool = True) -> SiteBuild:
        with collector_paused():
            return self._build(with_history)

    def _build(self, with_history: bool = True) -> SiteBuild:
        engine, project, cache = self.engine, self.engine.project, self.engine.cache
        cache.start_build()
        sources = engine.read_sources()
        with _Workers() as workers:
            analysed = engine.analysed(sources, workers)
            bindings = engine.take_bindings()
            index, _ = engine.site_index(self.prefix, analysed, sources)
            reading_path, path_findings = project.reading_path()
            pages, page_jobs = self._pages(analysed, index, reading_path)
            downloads, download_jobs = self._downloads(analysed)
            self._make(page_jobs, download_jobs, pages, downloads, index, workers, bindings)
        findings = [finding for item in analysed for finding in item.analysis.findings]
        findings += [finding for _, page in sorted(pages.items()) for finding in page.findings]  # in a fixed order
        findings += project.unexpected_sidecars()
        findings += cache.notices
        findings += path_findings
        report = progress_report([a.progress for a in analysed], project.lock)
        history = coverage_history(engine) if with_history else []
        pages[PROGRESS_PAGE] = RenderedPage(render_dashboard(report, history, project.lock, self.prefix))
        cache.finish_build(SITE_KINDS)
        data = {"progress.json": progress_json(report), **dict(sorted(downloads.items()))}
        return SiteBuild(dict(sorted(pages.items())), data, tuple(findings), report, index.digest)

    def _downloads(self, analysed: list[Analysed]) -> tuple[dict[str, str], list[_DownloadJob]]:
        """Each file's annotated source (the upstream code with the notes as comments), made at build
        time and kept in the cache: the ones the cache holds, and the jobs for the others."""
        cache, lock = self.engine.cache, self.engine.project.lock
        out, missing = {}, []
        for item in analysed:
            if item.analysis.model is None:
                continue
            source = lock.source_of(item.analysis.file)
            pin = repr((source.name, source.repository, source.commit, source.ref))  # the header names them
            key = cache.key("download", item.key, self.site_url, pin)
            uri = annotated_uri(item.analysis.file)  # data lands relative to the output, like the pages
            text = cache.get("download", key, str)
            if text is None:
                missing.append(_DownloadJob(uri, key, item.analysis))
            else:
                out[uri] = text
        return out, missing

    def _pages(
        self, analysed: list[Analysed], index: SiteIndex, reading_path: tuple[str, ...]
    ) -> tuple[dict[str, RenderedPage], list[_PageJob]]:
        """The pages the cache holds, and the jobs for the others."""
        cache, project = self.engine.cache, self.engine.project
        titles = {item.analysis.file.key: item.progress.title for item in analysed}
        following = dict(itertools.pairwise(reading_path))
        wanted: dict[str, tuple[str, PageInput]] = {}
        for item in analysed:
            analysis = item.analysis
            problem = next((f.format() for f in analysis.findings if f.is_error), "")
            after = following.get(analysis.file.key)
            next_file = project.lock.file(after) if after else None
            page = PageInput(
                analysis,
                item.progress,
                project.source(analysis.file),
                index,
                (),  # highlighted below, only for the pages the cache does not hold
                next_page=(titles[next_file.key], page_uri(next_file)) if next_file else None,
                downloads=(("Annotated source", annotated_uri(analysis.file)),) if analysis.model is not None else (),
                problem=problem,
                search_code=self.engine.search_code,
                overrides=self.overrides,
                prefix=self.prefix,
            )
            key = cache.key(
                "page",
                item.key,
                index.digest,
                repr((page.next_page, page.downloads, problem, page.search_code, self.overrides, self.prefix)),
            )
            wanted[page_uri(analysis.file)] = (key, page)
        pages: dict[str, RenderedPage] = {}
        missing = []
        for uri, (key, page) in wanted.items():
            found = cache.get("page", key, RenderedPage)
            if found is not None and _blocks_present(found):
                pages[uri] = found
            else:
                missing.append(_PageJob(uri, key, page))
        return pages, missing

    def _make(
        self,
        page_jobs: list[_PageJob],
        download_jobs: list[_DownloadJob],
        pages: dict[str, RenderedPage],
        downloads: dict[str, str],
        index: SiteIndex,
        workers: _Workers,
        bindings: dict[str, Bindings],
    ) -> None:
        """Render the pages and make the downloads the cache lacks. A cold build hands both to the
        workers in one queue, biggest files first: each worker highlights and renders a page (the two
        costs of a page) or writes an annotated source, and neither waits for the other's stage."""
        cache, lock = self.engine.cache, self.engine.project.lock
        if len(page_jobs) + len(download_jobs) >= PARALLEL_PAGES_FROM and workers.available:
            jobs: list[_PageJob | _DownloadJob] = [*page_jobs, *download_jobs]
            jobs.sort(key=lambda job: -job.cost)
            work = [
                (job.page, self.prefix, bindings.get(job.page.analysis.model.sha256) if job.page.analysis.model else None)
                if isinstance(job, _PageJob)
                else (job.analysis, lock, self.site_url)
                for job in jobs
            ]
            for position, result in workers.as_completed(_work_job, work, inherit=True):
                job = jobs[position]
                if isinstance(job, _PageJob):
                    code, rendered = result
                    self._remember_highlight(job.page, code)
                    pages[job.uri] = self._store(job.key, rendered)
                else:
                    cache.put("download", job.key, result)
                    downloads[job.uri] = result
            return
        for page_job in page_jobs:
            page = page_job.page
            model = page.analysis.model
            code = self._highlighted(page.analysis.file, model, index, bindings.get(model.sha256) if model else None)
            pages[page_job.uri] = self._store(page_job.key, render_file_page(dataclasses.replace(page, code=code), self.renderer))
        for download_job in download_jobs:
            text = _annotate_job((download_job.analysis, lock, self.site_url))
            cache.put("download", download_job.key, text)
            downloads[download_job.uri] = text

    def _store(self, key: str, page: RenderedPage) -> RenderedPage:
        """Keep the big code blocks on disk, not in memory (a whole-stdlib site stays small)."""
        cache = self.engine.cache
        files = []
        for index, (placeholder, block) in enumerate(page.blocks):
            where, digest = cache.store_blob("page", key, index, block)
            if not where:  # a memory-only cache keeps the page as it is
                cache.put("page", key, page)
                return page
            files.append((placeholder, where, digest))
        stored = dataclasses.replace(page, blocks=(), block_files=tuple(files))
        cache.put("page", key, stored)
        return stored

    def _highlighted(
        self, file: LockedFile, model: SourceModel | None, index: SiteIndex, bindings: Bindings | None = None
    ) -> tuple[str, ...]:
        """Highlighting depends on the code and the link targets, not on the notes: an edited sidecar
        re-renders its page without highlighting the code again."""
        if model is None:
            return ()
        cache = self.engine.cache
        key = cache.key("highlight", file.key, model.sha256, index.digest)
        found: tuple[str, ...] | None = cache.recall("highlight", key)
        if found is None:
            found = highlight_file(file, model, index, self.prefix, bindings)
            cache.remember("highlight", key, found)
        return found

    def _remember_highlight(self, page: PageInput, code: tuple[str, ...]) -> None:
        """What a worker highlighted, kept in this process: a later edit of the sidecar re-renders the
        page without highlighting again (a `mkdocs serve` session)."""
        model = page.analysis.model
        if model is not None:
            cache = self.engine.cache
            cache.remember("highlight", cache.key("highlight", page.analysis.file.key, model.sha256, page.index.digest), code)


def highlight_file(
    file: LockedFile, model: SourceModel, index: SiteIndex, prefix: str, bindings: Bindings | None = None
) -> tuple[str, ...]:
    """A file's code as HTML lines, with go-to-definition links and binding highlights (``bindings``
    when a cold start's extraction found them already)."""
    python = model.language is Language.PYTHON
    resolver = resolver_for(model, index) if python else None
    if bindings is None and python and model.parsed:
        bindings = binding_ids("\n".join(model.lines) + "\n")
    return tuple(highlight_lines(model.lines, model.language.value, _relative(resolver, file, prefix), model.path, bindings))


def _relative(
    resolver: Callable[[str, int], str | None] | None, file: LockedFile, prefix: str
) -> Callable[[str, int], str | None] | None:
    """Turn the resolver's site URIs into links relative to this file's page."""
    if resolver is None:
        return None
    from .layout import relative_url

    base = url_of(page_uri(file, prefix=prefix))

    def resolve(name: str, line: int) -> str | None:
        target = resolver(name, line)
        if target is None or target.startswith(("#", "https://", "http://")):
            return target
        return relative_url(base, target)

    return resolve


def _blocks_present(page: RenderedPage) -> bool:
    import os

    return all(os.path.isfile(where) for _, where, _ in page.block_files)


@dataclass(frozen=True, slots=True)
class _PageJob:
    uri: str
    key: str
    page: PageInput

    @property
    def cost(self) -> int:
        return 5 * (self.page.analysis.model.line_count if self.page.analysis.model else 0)


@dataclass(frozen=True, slots=True)
class _DownloadJob:
    uri: str
    key: str
    analysis: FileAnalysis

    @property
    def cost(self) -> int:  # an annotated source costs about a fifth of a page
        return self.analysis.model.line_count if self.analysis.model else 0


def _work_job(job: tuple[Any, ...]) -> Any:
    if isinstance(job[0], PageInput):
        return _highlight_and_render_job(job)
    return _annotate_job(job)


def _highlight_and_render_job(
    job: tuple[PageInput, str, Bindings | None],
) -> tuple[tuple[str, ...], RenderedPage]:
    page, prefix, bindings = job
    model = page.analysis.model
    code = highlight_file(page.analysis.file, model, page.index, prefix, bindings) if model is not None else ()
    return code, render_file_page(dataclasses.replace(page, code=code), NoteRenderer())  # each worker its own renderer


def _annotate_job(job: tuple[FileAnalysis, Lock, str]) -> str:
    from .export import annotate_file

    return annotate_file(*job).text


def build_site(engine: Engine, with_history: bool = True) -> SiteBuild:
    """One build from scratch; long-lived callers keep a :class:`SiteBuilder`."""
    return SiteBuilder(engine).build(with_history=with_history)
