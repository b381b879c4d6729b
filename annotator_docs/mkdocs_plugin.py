"""Thin mkdocs adapter over :mod:`annotator_docs.site`: registers generated pages, watches the inputs.

It never writes into ``docs_dir``. Findings become log lines with their ``path:line:col`` (errors
always as warnings, so ``mkdocs build --strict`` fails on exactly what ``annotator check --strict``
fails on) and a banner on the affected page, so ``mkdocs serve`` keeps running.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import html
import logging
import sys
from pathlib import Path
from typing import Any

from mkdocs.config import config_options as opt
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

from .cache import CACHE_DIR, TemplateBytecode
from .engine import Engine
from .findings import AnnotatorError
from .layout import page_uri
from .lock import DEFAULT_LOCK
from .paths import writable_dir, write_atomic
from .project import Project
from .render.markdown import math_to_mathml
from .render.page import RenderedPage, anchor_ids
from .site import ASSET_DIR, ASSETS, VENDOR, SiteBuild, SiteBuilder, asset_bytes
from .theme_memo import PageRenderMemo, SearchEntryMemo
from .watching import watch_folders_by_events

ONE_SHOT_COMMANDS = frozenset({"build", "gh-deploy"})  # one build, then the process exits
log = logging.getLogger("mkdocs.plugins.annotator")
NAV_PLACEHOLDER = "annotator:files"
REFERENCES = "annotator_docs.references"


class AnnotatorConfig(Config):
    enabled = opt.Type(bool, default=True)
    """Turn the plugin off without removing it."""
    root = opt.Optional(opt.Type(str))
    """Project root holding annotations/ and the lock (default: the folder of mkdocs.yml)."""
    lock = opt.Optional(opt.Type(str))
    """Lock file (default: source_snapshot/snapshot.lock under the root)."""
    history = opt.Type(bool, default=True)
    """Draw the dashboard's burn-up chart from git history."""
    search_code = opt.Type(bool, default=False)
    """Also index the code for search, not only the notes and symbol names (the index grows with the sources)."""
    strict = opt.Optional(opt.Type(bool))
    """Fail on warnings too, as `annotator check --strict` (default: mkdocs' own --strict)."""


class AnnotatorPlugin(BasePlugin[AnnotatorConfig]):
    supports_multiple_instances = False

    def on_startup(self, *, command: str, dirty: bool) -> None:
        # Defining on_startup keeps this object alive across `mkdocs serve` rebuilds (warm caches).
        self.command = command
        gc.unfreeze()  # a process that builds again: what its last build froze is collected as usual
        self._conversions: dict[str, tuple[Any, Any, Any, str]] = {}  # serve only: hand-written pages converted
        self._search_memo = SearchEntryMemo()
        self._render_memo = PageRenderMemo() if command == "serve" else None

    def on_env(self, env: Any, *, config: Any, files: Any) -> Any:
        # mkdocs makes a new Jinja environment for every build; the compiled theme templates are kept
        # in the cache, so neither a `mkdocs serve` rebuild nor a new process compiles them again.
        builder: SiteBuilder | None = getattr(self, "builder", None)
        if builder is not None and self.config.enabled and env.bytecode_cache is None:
            env.bytecode_cache = TemplateBytecode(builder.engine.cache)
        memo: PageRenderMemo | None = getattr(self, "_render_memo", None)
        if memo is not None and self.config.enabled:
            memo.attach(env, config=config, nav=getattr(self, "_nav", None), files=files)
        return env

    def on_nav(self, nav: Any, *, config: Any, files: Any) -> Any:
        self._nav = nav  # for on_env, which mkdocs does not give it
        return nav

    def on_config(self, config: Any) -> Any:
        if not self.config.enabled:
            return config
        base = Path(config.config_file_path or ".").absolute().parent
        root = (base / self.config.root) if self.config.root else base
        try:
            project = Project.open(root, (root / self.config.lock) if self.config.lock else root / DEFAULT_LOCK)
            # mkdocs empties site_dir before writing: a committed `site` symlink would have it delete
            # and write wherever the link points (`-d` outside the project is the user's own choice)
            writable_dir(Path(config.site_dir), root, what="site folder")
        except AnnotatorError as error:
            raise PluginError(f"annotator: {error}") from None
        overrides = _overrides(config)
        # `mkdocs serve` re-runs on_config for every rebuild; keep the builder (and the cache in it)
        # as long as the project is the same.
        builder: SiteBuilder | None = getattr(self, "builder", None)
        if (
            builder is None
            or builder.engine.project.lock != project.lock
            or builder.engine.search_code != self.config.search_code
            or builder.overrides != overrides
        ):
            self.builder = SiteBuilder(Engine(project, search_code=self.config.search_code), overrides=overrides)
        self.project = self.builder.engine.project
        for path in (
            self.project.annotations_dir,
            self.project.lock.lock_path,
            *(self.project.root / s.snapshot_dir for s in self.project.lock.sources),
        ):
            if path.exists() and str(path) not in config.watch:
                config.watch.append(str(path))
        config.nav = _expand_nav(config.nav, self.project)
        for name in ASSETS:
            uri = f"{ASSET_DIR}/{name}"
            target = config.extra_css if name.endswith(".css") else config.extra_javascript
            if uri not in [str(x) for x in target]:
                target.append(uri)
        if REFERENCES not in config.markdown_extensions:
            config.markdown_extensions.append(REFERENCES)
        config.mdx_configs.setdefault(REFERENCES, {})["engine"] = self.builder.engine
        # References render as docs-root links (`/files/...md`); mkdocs makes them relative and checks them.
        links = config.validation.links
        if getattr(links, "absolute_links", None) is not None:
            from mkdocs.config import defaults

            # mkdocs 1.6 has no public name for `absolute_links: relative_to_docs` set from code
            links.absolute_links = defaults._AbsoluteLinksValidationValue.RELATIVE_TO_DOCS  # type: ignore[attr-defined]
        return config

    def on_page_markdown(self, markdown: str, *, page: Any, config: Any, files: Any) -> str:
        # The references extension positions its findings in the page being converted.
        config.mdx_configs.setdefault(REFERENCES, {})["page"] = f"{Path(config.docs_dir).name}/{page.file.src_uri}"
        page._ann_converted = None
        page._ann_generated = None
        if self.build is not None and page.file.src_uri in self.build.pages:
            page.edit_url = self._sidecar_edit_url(page.file.src_uri, config)
            rendered = self.build.pages[page.file.src_uri]
            if rendered.html_only:
                # Finished, sanitized HTML: Markdown would only parse it twice more (for raw HTML and
                # for ids) and let the site's preprocessors (pymdownx.snippets) rewrite note text.
                page._ann_generated = rendered
                _without_markdown(page)
                return ""
        if getattr(self, "command", "") != "serve" or self.build is None or page.file.src_uri in self.build.pages:
            return markdown
        # `mkdocs serve` converts every page again on each save; a hand-written page whose text, links'
        # targets and site did not change is taken from the last conversion (a build always converts).
        key = _conversion_key(markdown, page.file.src_uri, files, self.build.index_digest, config)
        page._ann_conversion_key = key
        cached = self._conversions.get(key)
        if cached is not None:
            page._ann_converted = cached
            return ""
        return markdown

    def on_serve(self, server: Any, *, config: Any, builder: Any) -> Any:
        # A saved note starts its rebuild when the OS reports it, not at mkdocs' next poll.
        if self.config.enabled:
            watch_folders_by_events(server)
        return server

    def _sidecar_edit_url(self, uri: str, config: Any) -> str | None:
        """ "Edit this page" on a file's page opens its sidecar: `edit_uri` points into the docs folder
        (`edit/main/docs/`), so the sidecar is the same base with `annotations/...` in place of `docs/`.
        None (no button) for the dashboard, or when the edit URI does not end with the docs folder."""
        from .layout import FILES, SIDECAR_SUFFIX

        repo_url, edit_uri = config.get("repo_url"), config.get("edit_uri")
        if not repo_url or not edit_uri or config.get("edit_uri_template") or not uri.startswith(f"{FILES}/"):
            return None
        file = self.builder.engine.project.lock.file(uri[len(FILES) + 1 : -len(".md")])
        project = self.builder.engine.project
        try:
            docs = Path(config.docs_dir).resolve().relative_to(project.root.resolve()).as_posix() + "/"
            annotations = project.annotations_dir.resolve().relative_to(project.root.resolve()).as_posix()
        except ValueError:
            return None
        if file is None or not edit_uri.endswith(docs):
            return None
        from urllib.parse import urljoin

        base = edit_uri[: -len(docs)]
        root = str(repo_url) if str(repo_url).endswith("/") else f"{repo_url}/"
        return urljoin(root, f"{base}{annotations}/{file.key}{SIDECAR_SUFFIX}")

    def on_pre_build(self, *, config: Any) -> None:
        # Build before mkdocs cleans site_dir: a strict build that is going to fail fails here,
        # leaving the previous site untouched.
        self.build: SiteBuild | None = None
        if not self.config.enabled:
            return
        memo: SearchEntryMemo | None = getattr(self, "_search_memo", None)
        if memo is not None:
            memo.attach(config.plugins, self.builder.engine.cache)
        try:
            self.build = self.builder.build(with_history=self.config.history)
        except AnnotatorError as error:
            raise PluginError(f"annotator: {error}") from None
        if getattr(self, "command", None) in ONE_SHOT_COMMANDS:
            # What the engine made (the cache's models and pages) lives until the process exits: frozen,
            # the collector does not scan it again, at each collection during the theme's rendering nor
            # at exit. A `mkdocs serve` session does not freeze: it drops the last build's objects.
            gc.freeze()
        strict = config.strict if self.config.strict is None else self.config.strict
        failing = 0
        for finding in self.build.findings:
            if finding.is_error or strict:
                log.warning(finding.format())
                failing += 1
            else:
                log.debug(finding.format())
        warnings = sum(1 for f in self.build.findings if not f.is_error)
        if warnings and not strict:
            log.info(
                f"annotator: {warnings} warning(s) (moved, changed or unpinned notes); `annotator check --strict` lists them"
            )
        if failing and strict:
            raise PluginError(f"annotator: {failing} finding(s) in strict mode; the previous site is left as it was")

    def on_files(self, files: Files, *, config: Any) -> Files:
        if not self.config.enabled or self.build is None:
            return files
        # Pages are backed by files in the cache, rewritten only when they change, so that
        # `mkdocs serve --dirty` rebuilds just the pages an edit touched.
        stage = self._stage()
        for uri, page in self.build.pages.items():
            if stage is not None:
                target = stage / uri
                write_atomic(target, page.markdown.encode("utf-8"))
                _replace(files, File.generated(config, uri, abs_src_path=str(target)))
            else:
                _replace(files, File.generated(config, uri, content=page.markdown))
        for uri, content in self.build.data.items():
            _replace(files, File.generated(config, uri, content=content))
        for name in (*ASSETS, *VENDOR):
            _replace(files, File.generated(config, f"{ASSET_DIR}/{name}", content=asset_bytes(name)))
        return files

    def on_page_content(self, html_text: str, *, page: Any, config: Any, files: Any) -> str:
        generated: RenderedPage | None = getattr(page, "_ann_generated", None)
        if generated is not None:
            body = generated.body()
            # what mkdocs' conversion would have found, the rows swapped in later included
            page.present_anchor_ids = anchor_ids(body) | set(generated.anchors)
            return body
        cached = getattr(page, "_ann_converted", None)
        if cached is not None:
            page.toc, page.present_anchor_ids, page._title_from_render, html_text = cached
            return html_text
        # Math on hand-written pages too: MathML at build time (see render.markdown).
        if self.config.enabled and "arithmatex" in html_text:
            html_text = math_to_mathml(html_text)
        key = getattr(page, "_ann_conversion_key", None)
        if key is not None:
            if len(self._conversions) > 4 * max(1, len(files)):
                self._conversions.clear()  # bounded: a long session with many edits starts over
            self._conversions[key] = (page.toc, page.present_anchor_ids, page._title_from_render, html_text)
        return html_text

    def on_post_build(self, *, config: Any) -> None:
        builder: SiteBuilder | None = getattr(self, "builder", None)
        if builder is not None and self.config.enabled:  # what the theme used, after on_pre_build's build
            builder.engine.cache.finish_build((TemplateBytecode.KIND, SearchEntryMemo.KIND))
        search = getattr(self, "_search_memo", None)
        renders = getattr(getattr(self, "_render_memo", None), "pages", None)
        for label, counts in (("search entries", search), ("theme renders", renders)):
            if counts is not None and counts.asked:
                log.debug(f"annotator: {label} of {counts.reused} of {counts.asked} page(s) reused from the last build")

    def on_post_page(self, output: str, *, page: Any, config: Any) -> str:
        # Swap the code blocks in last: Markdown and the search index only saw lean placeholders.
        build = getattr(self, "build", None)
        rendered = build.pages.get(page.file.src_uri) if build is not None else None
        if rendered is not None:
            output = rendered.swap_blocks(output)
        if getattr(self, "command", "") == "serve":  # annotators see the state of every note by default
            output = output.replace("<html ", '<html data-ann-default-view="annotator" ', 1)
        return output

    def _stage(self) -> Path | None:
        if self.builder.engine.cache.directory is None:
            return None
        try:
            return writable_dir(self.project.root / CACHE_DIR / "site", self.project.root, what="staging folder")
        except AnnotatorError:
            return None


def _conversion_key(markdown: str, uri: str, files: Any, index_digest: str, config: Any) -> str:
    """What a hand-written page's HTML depends on: its text, the site's pages (links are checked
    against them), the symbols references resolve to, and the Markdown configuration."""
    digest = hashlib.sha256()
    for part in (
        markdown,
        uri,
        index_digest,
        repr(sorted(f.src_uri for f in files)),
        repr(config.markdown_extensions),
        repr({k: v for k, v in (config.mdx_configs or {}).items() if k != REFERENCES}),
    ):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


@functools.cache
def _known_renders() -> tuple[Any, ...]:
    """The `Page.render` of mkdocs and of ProperDocs, whose work on an empty page is known."""
    from mkdocs.structure.pages import Page

    known: list[Any] = [Page.render]
    try:
        from properdocs.structure.pages import Page as ProperDocsPage
    except ImportError:
        pass
    else:
        known.append(ProperDocsPage.render)
    return tuple(known)


def _without_markdown(page: Any) -> None:
    """Let a generated page skip Markdown: its body arrives in `on_page_content`, and converting the
    empty text it hands mkdocs still cost a Markdown instance with every extension (0.19 s for 100
    pages). What mkdocs' render leaves on an empty page is set instead; a builder whose render is
    not the known one renders as usual."""
    if type(page).render not in _known_renders():
        return
    get_toc = sys.modules[type(page).__module__].get_toc  # the toc type of the builder that runs

    def render(config: Any, files: Any) -> None:
        page.content = ""
        page.toc = get_toc([])
        page._title_from_render = None
        page.present_anchor_ids = set()
        page.links_to_anchors = {}

    page.render = render


def _overrides(config: Any) -> tuple[str, ...]:
    custom = getattr(config.theme, "custom_dir", None)
    return (str(custom),) if custom else ()


def _replace(files: Files, file: File) -> None:
    existing = files.get_file_from_path(file.src_uri)
    if existing is not None:
        files.remove(existing)
    files.append(file)


def _expand_nav(nav: Any, project: Project) -> Any:
    """Replace the `annotator:files` placeholder with the locked files: by source (when there are
    several), then by the lock's groups."""
    if nav is None:
        return nav
    several = len([s for s in project.lock.sources if any(f.page for f in s.files)]) > 1
    expansion: list[Any] = []
    for source in project.lock.sources:
        groups: dict[str, list[Any]] = {}
        for file in source.files:
            if file.page:
                groups.setdefault(file.group, []).append({html.escape(file.title or file.path): page_uri(file)})
        entries = [{html.escape(group): items} for group, items in groups.items()]
        if several and entries:
            label = source.name + (f" {source.ref}" if source.ref else "")
            expansion.append({html.escape(label): entries})
        else:
            expansion.extend(entries)

    def walk(items: list[Any]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            if item == NAV_PLACEHOLDER:
                out.extend(expansion)
            elif isinstance(item, dict):
                out.append(
                    {k: (expansion if v == NAV_PLACEHOLDER else walk(v) if isinstance(v, list) else v) for k, v in item.items()}
                )
            else:
                out.append(item)
        return out

    return walk(nav)
