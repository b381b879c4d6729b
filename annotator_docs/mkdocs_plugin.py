"""Thin mkdocs adapter over :mod:`annotator_docs.site`: registers generated pages, watches the inputs.

It never writes into ``docs_dir``. Sidecar errors become a banner on the affected page (so
``mkdocs serve`` keeps running) and a warning in the log (so ``mkdocs build --strict`` fails
with the same ``path:line:col`` message).
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from mkdocs.config import config_options as opt
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

from .errors import AnnotatorError
from .lock import DEFAULT_LOCK
from .project import Project, write_atomic
from .render.markdown import math_to_mathml
from .site import ASSET_DIR, ASSETS, SiteEngine, asset_bytes

log = logging.getLogger("mkdocs.plugins.annotator")
NAV_PLACEHOLDER = "annotator:files"
_FAILS_STRICT = {"E001"}  # not pulled: a strict build must have the code


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


class AnnotatorPlugin(BasePlugin[AnnotatorConfig]):
    def on_startup(self, *, command, dirty) -> None:
        # Defining on_startup keeps this object alive across `mkdocs serve` rebuilds (warm caches).
        self.command = command

    def on_config(self, config):
        if not self.config.enabled:
            return config
        base = Path(config.config_file_path or ".").absolute().parent
        root = (base / self.config.root) if self.config.root else base
        lock = (base / self.config.lock) if self.config.lock else root / DEFAULT_LOCK
        try:
            project = Project.open(root, lock)
        except AnnotatorError as error:
            raise PluginError(f"annotator: {error}") from None
        # `mkdocs serve` re-runs on_config for every rebuild; keep the engine (and its memory of
        # every stage) as long as the lock is the same.
        engine = getattr(self, "engine", None)
        if engine is None or engine.project.lock != project.lock or engine.search_code != self.config.search_code:
            self.engine = SiteEngine(project, search_code=self.config.search_code)
        self.project = self.engine.project
        for path in (self.project.annotations_dir, self.project.lock.lock_path, self.project.lock.source_root):
            if path.exists() and str(path) not in config.watch:
                config.watch.append(str(path))
        config.nav = _expand_nav(config.nav, self.project)
        for name in ASSETS:
            uri = f"{ASSET_DIR}/{name}"
            target = config.extra_css if name.endswith(".css") else config.extra_javascript
            if uri not in [str(x) for x in target]:
                target.append(uri)
        return config

    def on_pre_build(self, *, config) -> None:
        # Build before mkdocs cleans site_dir: a strict build that is going to fail must fail here,
        # leaving the previous site untouched.
        self.build = None
        if not self.config.enabled:
            return
        try:
            self.build = self.engine.build(with_history=self.config.history)
        except AnnotatorError as error:
            raise PluginError(f"annotator: {error}") from None
        failing = []
        quiet = 0
        for finding in self.build.findings:
            if finding.severity == "error" or finding.code in _FAILS_STRICT:
                log.warning(finding.format())
                failing.append(finding)
            else:
                log.debug(finding.format())
                quiet += 1
        if quiet:
            log.info(f"annotator: {quiet} warning(s) on notes (moved, changed, unpinned); see `annotator check`")
        if failing and config.strict:
            raise PluginError(f"annotator: {len(failing)} finding(s) in strict mode; the previous site is left as it was")

    def on_files(self, files: Files, *, config) -> Files:
        if not self.config.enabled or self.build is None:
            return files
        # Pages are backed by files in the cache, rewritten only when they change, so that
        # `mkdocs serve --dirty` rebuilds just the pages an edit touched.
        stage = self.project.cache_dir / "site"
        for uri, page in self.build.pages.items():
            target = stage / uri
            write_atomic(target, page.markdown.encode("utf-8"))
            _replace(files, File.generated(config, uri, abs_src_path=str(target)))
        for uri, content in self.build.data.items():
            _replace(files, File.generated(config, uri, content=content))
        for name in ASSETS:
            _replace(files, File.generated(config, f"{ASSET_DIR}/{name}", content=asset_bytes(name)))
        return files

    def on_post_page(self, output: str, *, page, config) -> str:
        # Swap the code blocks in last: Markdown and the search index only saw lean placeholders.
        rendered = self.build.pages.get(page.file.src_uri) if getattr(self, "build", None) else None
        return rendered.swap_blocks(output) if rendered is not None else output

    def on_page_content(self, html_text: str, *, page, config, files) -> str:
        # Math on hand-written pages too: MathML at build time (see render.markdown).
        if not self.config.enabled or "arithmatex" not in html_text:
            return html_text
        return math_to_mathml(html_text)


def _replace(files: Files, file: File) -> None:
    existing = files.get_file_from_path(file.src_uri)
    if existing is not None:
        files.remove(existing)
    files.append(file)


def _expand_nav(nav, project: Project):
    """Replace the `annotator:files` placeholder with the locked files, grouped as the lock says."""
    if nav is None:
        return nav
    groups: dict[str, list] = {}
    for locked in project.lock.files:
        title = html.escape(locked.title or locked.path)
        groups.setdefault(locked.group, []).append({title: f"files/{locked.path}.md"})
    expansion = [{html.escape(group): items} for group, items in groups.items()]

    def walk(items):
        out = []
        for item in items:
            if item == NAV_PLACEHOLDER:
                out.extend(expansion)
            elif isinstance(item, dict):
                out.append({k: (expansion if v == NAV_PLACEHOLDER else walk(v) if isinstance(v, list) else v)
                            for k, v in item.items()})
            else:
                out.append(item)
        return out

    return walk(nav)
