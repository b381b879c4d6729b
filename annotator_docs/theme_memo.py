"""Work mkdocs redoes on every build that can be taken from the build before: Material's search
entries and the theme's renders of pages whose inputs did not change.

Without `--dirty`, every save makes mkdocs render every page through the theme again and Material's
search parse every page's HTML again. On this project's site (33 pages) the two were 0.35 s of a
0.5 s rebuild, for one page that changed. Each is a function of inputs that can be named:

* a page's search entries, of what Material's parser and entry builder read: the page's URL, title,
  metadata, table of contents and HTML, and the search plugin (its version and configuration);
* a page's render, of the site (the configuration file, the navigation, every page's URL, title and
  metadata, the theme's templates) and of the page (the same as for search, plus its edit and
  canonical links).

Search entries are kept in the cache (:class:`~annotator_docs.cache.Cache`), so a new process
reuses them too: a warm `mkdocs build` of 100 files spent 0.17-0.25 s in Material's parser. Renders
are kept for the rebuilds of one `mkdocs serve` session only: a template can read what no key here
sees (an environment variable in `mkdocs.yml`, a plugin's state), and a session is where that does
not change. So a page whose inputs are the same gets what it got last time; everything else runs as
it always does, plugin hooks included (`on_page_context` before the render, `on_post_page` after).
Other plugins may feed a template what these keys cannot see (a build time, a file they read), so
renders are reused only when every plugin of the site is one whose page hooks are known: annotator
and the search plugins. Anything unexpected in Material (another version's internals) leaves search
as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from .cache import Cache

SEARCH_MODULE = "material.plugins.search"
KNOWN_PLUGINS = frozenset({"annotator", "search", "material/search"})
# Metadata the theme reads only on the page that holds it (a page's own metadata is in its key
# whole). A file page's description is its overview: leaving it out of the site's signature is
# what lets an overview edit render one page again, not all.
OWN_PAGE_META = frozenset({"description"})

Value = TypeVar("Value")


class _LastBuild(Generic[Value]):
    """Values by key, from the last build only: what a build does not ask for is dropped."""

    def __init__(self) -> None:
        self._previous: dict[str, Value] = {}
        self._current: dict[str, Value] = {}
        self.reused = 0  # this build's keys found in the last build
        self.asked = 0

    def next_build(self) -> None:
        if self._current:
            self._previous, self._current = self._current, {}
        self.reused = self.asked = 0

    def get(self, key: str, make: Callable[[], Value]) -> Value:
        self.asked += 1
        value = self._previous.get(key)
        if value is None:
            value = make()
        else:
            self.reused += 1
        self._current[key] = value
        return value


class SearchEntryMemo:
    """Material's search entries of a page, in front of this build's search index, kept in the cache."""

    KIND = "search"

    def __init__(self) -> None:
        self.reused = 0  # this build's pages whose entries were found
        self.asked = 0

    def attach(self, plugins: Any, cache: Cache) -> bool:
        """In `on_pre_build` (Material makes a new index in every `on_config`). False when there is
        no Material search plugin of the expected shape."""
        found = _material_search(plugins)
        if found is None:
            return False
        plugin, index = found
        self.reused = self.asked = 0
        add_entry: Callable[[Any], None] = index.add_entry_from_context
        try:
            salt = (version("mkdocs-material"), repr(sorted(plugin.config.items())), repr(_segmenter()))
        except PackageNotFoundError:
            return False

        def add_entry_from_context(page: Any) -> None:
            self.asked += 1
            key = cache.key(self.KIND, *salt, *_page_inputs(page))
            stored = cache.get(self.KIND, key, str)
            if stored is not None:
                self.reused += 1
                index.entries.extend(json.loads(stored))
                return
            start = len(index.entries)
            add_entry(page)
            try:
                made = json.dumps(index.entries[start:], allow_nan=False)
            except (TypeError, ValueError):  # a metadata value JSON cannot hold: made again next time
                return
            if json.loads(made) == index.entries[start:]:  # what comes back is what was made
                cache.put(self.KIND, key, made)

        add_entry_from_context.annotator_memo = True  # type: ignore[attr-defined]
        index.add_entry_from_context = add_entry_from_context
        return True


class PageRenderMemo:
    """A page's render through the theme, in front of this build's page templates."""

    def __init__(self) -> None:
        self.pages: _LastBuild[str] = _LastBuild()
        self._site = ""

    def attach(self, env: Any, *, config: Any, nav: Any, files: Any) -> bool:
        """In `on_env` (after every page is read, so titles are final). False, and the build renders
        as it always does, when a plugin the memo does not know is configured."""
        if nav is None or not set(config.plugins.keys()) <= KNOWN_PLUGINS:
            return False
        self.pages.next_build()
        self._site = _site_signature(config, nav, files)
        get_template = env.get_template

        def memoised_get_template(name: Any, *args: Any, **kwargs: Any) -> Any:
            return _MemoTemplate(get_template(name, *args, **kwargs), self)

        env.get_template = memoised_get_template
        return True

    def render(self, template: Any, context: Any) -> str:
        page = context.get("page") if hasattr(context, "get") else None
        if page is None:  # 404.html, sitemap.xml: not a page's render
            return str(template.render(context))
        key = _digest(self._site, template.name, page.edit_url, page.canonical_url, *_page_inputs(page))
        return self.pages.get(key, lambda: str(template.render(context)))


class _MemoTemplate:
    """What mkdocs asks of a page template (`render`), in front of the real one."""

    def __init__(self, template: Any, memo: PageRenderMemo) -> None:
        self._template, self._memo = template, memo

    def render(self, *args: Any, **kwargs: Any) -> str:
        if len(args) == 1 and not kwargs:
            return self._memo.render(self._template, args[0])
        return str(self._template.render(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._template, name)


def _material_search(plugins: Any) -> tuple[Any, Any] | None:
    """Material's search plugin and its index, when they have the shape the memo expects."""
    for plugin in getattr(plugins, "values", list)():
        if not type(plugin).__module__.startswith(SEARCH_MODULE):
            continue
        index = getattr(plugin, "search_index", None)
        add_entry = getattr(index, "add_entry_from_context", None)
        entries = getattr(index, "entries", None)
        config = getattr(plugin, "config", None)
        if (
            callable(add_entry)
            and not getattr(add_entry, "annotator_memo", False)
            and isinstance(entries, list)
            and callable(getattr(config, "items", None))
        ):
            return plugin, index
    return None


def _segmenter() -> Any:
    """Whether Material segments Chinese text (with jieba, when it is installed), and its version."""
    module = sys.modules.get(SEARCH_MODULE + ".plugin")
    jieba = getattr(module, "jieba", None)
    return None if jieba is None else getattr(jieba, "__version__", "jieba")


def _page_inputs(page: Any) -> tuple[Any, ...]:
    return (page.url, page.title, repr(page.meta), repr(_toc(page.toc)), page.content or "")


def _toc(toc: Any) -> list[Any]:
    return [(item.id, item.url, item.title, item.level, _toc(item.children)) for item in toc or ()]


def _site_signature(config: Any, nav: Any, files: Any) -> str:
    parts: list[Any] = []
    config_file = config.config_file_path
    parts.append(Path(config_file).read_bytes().hex() if config_file and os.path.isfile(config_file) else "")
    parts += [config.site_url, config.use_directory_urls, repr(config.extra), repr(config.extra_css)]
    parts += [repr(config.extra_javascript), repr(_nav_tree(nav.items)), *config.theme.dirs]
    for file in files.documentation_pages():
        page = file.page
        if page is not None:
            parts += [page.url, page.title, repr({k: v for k, v in page.meta.items() if k not in OWN_PAGE_META})]
    custom = getattr(config.theme, "custom_dir", None)
    if custom and os.path.isdir(custom):  # an override saved during the session renders anew
        for path in sorted(Path(custom).rglob("*")):
            if path.is_file():
                stat = path.stat()
                parts += [path, stat.st_mtime_ns, stat.st_size]
    try:
        parts += [version("mkdocs"), version("mkdocs-material")]
    except PackageNotFoundError:
        parts.append("")
    return _digest(*parts)


def _nav_tree(items: Any) -> list[Any]:
    return [
        (type(item).__name__, item.title, getattr(item, "url", None), _nav_tree(getattr(item, "children", None) or []))
        for item in items
    ]


def _digest(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(str(part).encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()
