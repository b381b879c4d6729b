"""The engine: every stage for a whole project, memoised in one cache; every builder is an adapter over it.

``Engine(project)`` reads each source and sidecar once per run and keeps what it derived in the
project's :class:`~annotator_docs.cache.Cache` (in memory for a ``mkdocs serve`` session, on disk
for the next process). The command line asks it for analyses and progress; the mkdocs plugin and
``annotator generate`` ask it for a :class:`SiteBuild`. On a cold build with many files,
extraction and page rendering run on both cores.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .analysis import analyse_file, follow_moves
from .cache import Cache
from .coverage import file_progress, progress_report
from .extract import extract
from .findings import Finding
from .layout import page_uri, sidecar_path
from .models import (
    FileAnalysis,
    FileProgress,
    Language,
    LoadResult,
    LockedFile,
    ProgressReport,
    ResolvedFile,
    SourceModel,
    to_data,
)
from .project import Project
from .sidecar import load_sidecar

if TYPE_CHECKING:
    from .render.links import SiteIndex

T = TypeVar("T")
PARALLEL_FROM = 16  # uncached files; below this a process pool costs more than it saves
#: The kinds of cache entry the analyses use (a build prunes those it did not use).
ANALYSIS_KINDS = ("extract", "sidecar", "resolved", "analysis")
Bindings = dict[tuple[int, int], int]  # (line, column) of a name -> its binding (render/bindings.py)


@dataclass(frozen=True, slots=True)
class Analysed:
    """One file's analysis and the progress derived from it, memoised together."""

    key: str
    analysis: FileAnalysis
    progress: FileProgress


class Engine:
    def __init__(self, project: Project, cache: Cache | None = None, *, search_code: bool = False) -> None:
        self.project = project
        self.cache = cache if cache is not None else Cache.for_project(project.root)
        self.search_code = search_code  # index the code for search too, not only notes and symbol names
        self._cold_bindings: dict[str, Bindings] = {}
        self._digests: dict[str, tuple[bytes, str]] = {}  # by file or sidecar path: its last bytes, their sha256
        self._lock_text = repr(to_data(project.lock))  # part of the site index's key; fixed for the engine's life

    def sha256(self, path: str, data: bytes) -> str:
        """``data``'s sha256, computed again only when the bytes at ``path`` changed: a build names every
        file by its digest two or three times, and a serve session rebuilds with the same bytes."""
        known = self._digests.get(path)
        if known is not None and known[0] == data:
            return known[1]
        digest = hashlib.sha256(data).hexdigest()
        self._digests[path] = (data, digest)
        return digest

    # -- stages ------------------------------------------------------------------------------------
    def read_sources(self) -> dict[str, bytes | None]:
        return {f.key: self.project.read_source(f) for f in self.project.lock.all_files}

    def model(self, file: LockedFile, data: bytes | None) -> SourceModel | None:
        if data is None:
            return None
        key = self.cache.key(file.path, self.sha256(file.key, data))
        return self.cache.fetch("extract", key, SourceModel, lambda: extract(file.path, data))

    def loaded(self, file: LockedFile) -> tuple[LoadResult | None, str]:
        """A locked file's loaded sidecar, and what names it in memo keys (its hash, or why it has none)."""
        read = self.project.read_sidecar(file)
        if read.refused is not None:
            return LoadResult(None, (read.refused,)), f"refused:{read.refused.code}"
        if read.data is None:
            return None, "absent"
        digest = self.sha256(sidecar_path(file), read.data)
        key = self.cache.key(sidecar_path(file), digest)
        data = read.data
        return self.cache.fetch("sidecar", key, LoadResult, lambda: load_sidecar(data, sidecar_path(file))), digest

    def analyse(self, file: LockedFile, data: bytes | None) -> Analysed:
        model = self.model(file, data)
        loaded, sidecar_key = self.loaded(file)
        key = self.cache.key(repr(to_data(file)), model.sha256 if model else "-", sidecar_key)
        found: Analysed | None = self.cache.recall("analysis", key)
        if found is None:
            stored = self.cache.get("resolved", key, ResolvedFile)
            if stored is not None:
                sidecar = loaded.sidecar if loaded is not None else None
                analysis = FileAnalysis(file, model, sidecar, loaded is not None, stored.notes, stored.findings)
            else:
                analysis = analyse_file(file, model, loaded)
                self.cache.put("resolved", key, ResolvedFile(analysis.notes, analysis.findings))
            found = Analysed(key, analysis, file_progress(analysis))
            self.cache.remember("analysis", key, found)
        return found

    def analysed(self, sources: dict[str, bytes | None] | None = None, workers: _Workers | None = None) -> list[Analysed]:
        """Every locked file with a page, analysed; moves across files followed."""
        sources = self.read_sources() if sources is None else sources
        if workers is not None:
            self._prepare_in_parallel(sources, workers)
        items = [self.analyse(f, sources[f.key]) for f in self.project.lock.files]
        followed = follow_moves([item.analysis for item in items])
        return [
            item if new is item.analysis else Analysed(item.key + ":followed", new, file_progress(new))
            for item, new in zip(items, followed)
        ]

    def analyses(self) -> list[FileAnalysis]:
        self.cache.start_build()
        result = [item.analysis for item in self.analysed()]
        self.cache.finish_build(ANALYSIS_KINDS)
        return result

    def findings(self, analyses: list[FileAnalysis] | None = None) -> list[Finding]:
        """Every finding of the project: per file, then sidecars nobody owns, then the cache's notices."""
        from .layout import page_uri
        from .references import check_site_link, resolve, sidecar_links, site_anchors

        analyses = self.analyses() if analyses is None else analyses
        findings = [finding for analysis in analyses for finding in analysis.findings]
        index, models = self.site_index()
        pages = site_anchors(self.project.root)
        generated = {"progress.md", *(page_uri(f) for f in self.project.lock.files)}
        for analysis in analyses:  # dead links in prose: a renamed symbol or page never becomes a silent 404
            if analysis.sidecar is not None:
                for reference in sidecar_links(analysis.sidecar):
                    if reference.kind == "site":
                        findings.extend(check_site_link(reference, pages, generated))
                    else:
                        findings.extend(resolve(reference, index, models)[1])
        findings += self.project.unexpected_sidecars()
        return findings

    def site_index(
        self, prefix: str = "", analysed: list[Analysed] | None = None, sources: dict[str, bytes | None] | None = None
    ) -> tuple[SiteIndex, dict[str, SourceModel]]:
        """The symbol table of the whole site (pages, symbols, note ids, modules), and the models by key.
        A build that has its analyses already passes them (and the sources) in."""
        from .anchors import note_ids
        from .render.links import SiteIndex

        sources = self.read_sources() if sources is None else sources
        analysed = self.analysed(sources) if analysed is None else analysed
        models = {f.key: m for f in self.project.lock.all_files if (m := self.model(f, sources[f.key])) is not None}
        ids = {}
        for a in analysed:  # note ids per analysis, kept: an edit recomputes those of one file
            found_ids: tuple[str, ...] | None = self.cache.recall("note-ids", a.key)
            if found_ids is None:
                found_ids = tuple(note_ids(a.analysis.sidecar)) if a.analysis.sidecar else ()
                self.cache.remember("note-ids", a.key, found_ids)
            ids[a.analysis.file.key] = found_ids
        # what the index is made of: an edit that changes a note's text, not its id, reuses it
        key = self.cache.key(
            "index", prefix, self._lock_text, repr(sorted(ids.items())), *sorted(m.sha256 for m in models.values())
        )
        index: SiteIndex | None = self.cache.recall("index", key)
        if index is None:
            index = SiteIndex.build(self.project.lock, models, ids, prefix)
            self.cache.remember("index", key, index)
        return index, models

    def highlighted(self, model: SourceModel) -> tuple[str, ...]:
        """A file's code highlighted without links (excerpts on hand-written pages), once per version."""
        from .render.code import highlight_lines

        key = self.cache.key("plain-highlight", model.path, model.sha256)
        found: tuple[str, ...] | None = self.cache.recall("plain-highlight", key)
        if found is None:
            found = tuple(highlight_lines(model.lines, model.language.value, None, model.path))
            self.cache.remember("plain-highlight", key, found)
        return found

    def progress(self) -> ProgressReport:
        return progress_report([file_progress(a) for a in self.analyses()], self.project.lock)

    # -- parallel cold starts ----------------------------------------------------------------------
    def _prepare_in_parallel(self, sources: dict[str, bytes | None], workers: _Workers) -> None:
        """A cold start: the workers extract every file and load every sidecar the cache lacks (the
        two costs of an analysis before resolving), biggest files first."""
        models: dict[str, tuple[str, bytes]] = {}
        for file in self.project.lock.all_files:
            data = sources.get(file.key)
            if data is not None:
                key = self.cache.key(file.path, self.sha256(file.key, data))
                if self.cache.get("extract", key, SourceModel) is None:
                    models[file.key] = (key, data)
        if len(models) < PARALLEL_FROM or not workers.available:
            return  # an edit, or a warm start: the sidecars are read once, by the analyses
        todo: list[tuple[str | None, str | None, LockedFile, bytes | None, bytes | None]] = []
        pages = {f.key for f in self.project.lock.files}
        for file in self.project.lock.all_files:
            model_key, data = models.get(file.key, (None, None))
            sidecar_key, sidecar = None, None
            if file.key in pages:
                read = self.project.read_sidecar(file)
                if read.refused is None and read.data is not None:
                    key = self.cache.key(sidecar_path(file), self.sha256(sidecar_path(file), read.data))
                    if self.cache.get("sidecar", key, LoadResult) is None:
                        sidecar_key, sidecar = key, read.data
            if model_key is not None or sidecar_key is not None:
                todo.append((model_key, sidecar_key, file, data, sidecar))
        todo.sort(key=lambda job: -(len(job[3] or b"") + len(job[4] or b"")))
        jobs = [(file.path, data, sidecar_path(file), sidecar) for _, _, file, data, sidecar in todo]
        for position, (model, loaded, bindings) in workers.as_completed(_prepare_job, jobs, window=4):
            model_key, sidecar_key = todo[position][0], todo[position][1]
            if model_key is not None and model is not None:
                self.cache.put("extract", model_key, model)
                if bindings is not None:
                    self._cold_bindings[model.sha256] = bindings
            if sidecar_key is not None and loaded is not None:
                self.cache.put("sidecar", sidecar_key, loaded)
            file = todo[position][2]
            if file.key in pages:
                # resolved now, while the workers extract the next files, not after them all
                self.analyse(file, sources.get(file.key))

    def take_bindings(self) -> dict[str, Bindings]:
        """The binding ids a cold start's workers computed beside each model (by the model's sha256),
        for the page stage of the same build; handed over once, then forgotten (never cached)."""
        taken, self._cold_bindings = self._cold_bindings, {}
        return taken


def _prepare_job(
    job: tuple[str, bytes | None, str, bytes | None],
) -> tuple[SourceModel | None, LoadResult | None, Bindings | None]:
    """Extract a file, load its sidecar, and while the file's tree is at hand find its bindings (the
    code pane's, needed by the page stage): one parse for both."""
    from .render.bindings import binding_ids

    path, data, display, sidecar = job
    model = extract(path, data) if data is not None else None
    bindings = None
    if model is not None and model.language is Language.PYTHON and model.parsed:
        bindings = binding_ids("\n".join(model.lines) + "\n")
    return model, load_sidecar(sidecar, display) if sidecar is not None else None, bindings


#: In a worker of an inheriting stage: its jobs, handed over once by the pool's initializer (inherited
#: memory where processes fork, one pickled copy per worker elsewhere). The parent never sets it.
_WORKER_JOBS: tuple[Callable[[Any], Any], list[Any]] | None = None


def _receive_jobs(function: Callable[[Any], Any], jobs: list[Any]) -> None:
    global _WORKER_JOBS
    _WORKER_JOBS = (function, jobs)


#: A worker's collector runs after this many new objects, not Python's 700: the stages build big
#: trees of objects that hold no cycles (syntax trees, tokens, lines of HTML), and the default
#: re-scanned them thousands of times (two thirds of `ast.parse`'s time, a ninth of the workers' CPU).
WORKER_COLLECT_AFTER = 50_000


def _start_worker(initializer: Callable[..., None] | None, *initargs: Any) -> None:
    # What the worker inherited is never garbage: frozen, the collector does not scan it again (nor
    # touch, and so copy, the parent's pages of memory).
    gc.freeze()
    gc.set_threshold(WORKER_COLLECT_AFTER, 20, 20)
    if initializer is not None:
        initializer(*initargs)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a build makes its (acyclic) objects, as it was after:
    cycles made meanwhile are collected at its next run. Reference counting frees the rest as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _inherited_job(position: int) -> Any:
    assert _WORKER_JOBS is not None, "an inheriting job ran outside a worker that received its jobs"
    function, jobs = _WORKER_JOBS
    return function(jobs[position])


class _Workers:
    """The build's worker processes, started only when a stage has enough uncached work for them."""

    def __init__(self) -> None:
        import multiprocessing

        self.available = (os.cpu_count() or 1) >= 2
        self._fork = "fork" in multiprocessing.get_all_start_methods()
        self._pool: ProcessPoolExecutor | None = None

    def as_completed(
        self, function: Callable[[Any], T], jobs: list[Any], window: int = 8, *, inherit: bool = False
    ) -> Iterator[tuple[int, T]]:
        """``(index, result)`` for each job as it finishes, with at most ``window`` jobs in flight
        (bounded memory for results that are pages of HTML). Give the biggest jobs first: then no
        worker is left with one long file at the end while the other idles. ``inherit``: big jobs
        that share data; fresh workers receive the whole list once and are sent only positions."""
        if inherit:
            self._stop()
            pool = self._started(initializer=_receive_jobs, initargs=(function, jobs))
        else:
            pool = self._started()

        def submit(position: int, job: Any) -> Future[Any]:
            return pool.submit(_inherited_job, position) if inherit else pool.submit(function, job)

        pending: dict[Future[Any], int] = {}
        queue = iter(enumerate(jobs))
        while True:
            for index, job in itertools.islice(queue, window - len(pending)):
                pending[submit(index, job)] = index
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()

    def _started(self, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            self._pool = ProcessPoolExecutor(
                max_workers=min(2, os.cpu_count() or 1),
                mp_context=multiprocessing.get_context("fork" if self._fork else None),
                initializer=_start_worker,
                initargs=(initializer, *initargs),
            )
        return self._pool

    def _stop(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=cancel)
            self._pool = None

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop(cancel=exc_info[0] is not None)


def progress_json(report: ProgressReport) -> str:
    from .render.report import report_data

    return json.dumps(report_data(report), sort_keys=True, separators=(",", ":")) + "\n"


__all__ = ["Analysed", "Engine", "page_uri", "progress_json"]
