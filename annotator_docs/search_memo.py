"""Material's search entries reused in a `mkdocs serve` session for pages that did not change.

Without `--dirty`, every save makes mkdocs render every page again, and Material's search parses each
page's HTML again to cut it into sections: on this project's site that is 0.2-0.4 s of a rebuild,
more than everything else annotator does. The entries of a page are a function of what the parser
and Material's entry builder read (the page's URL, title, metadata, table of contents and HTML), so a
page whose inputs are the same gets the entries it got last time. Anything unexpected in Material's
plugin (another version's internals) leaves search as it is.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

SEARCH_MODULE = "material.plugins.search"


class SearchEntryMemo:
    """One serve session's entries, by page input; only the last build's are kept."""

    def __init__(self) -> None:
        self._entries: dict[str, list[dict[str, Any]]] = {}
        self._used: dict[str, list[dict[str, Any]]] = {}
        self.reused = 0  # pages of the current build whose entries came from the memo
        self.indexed = 0  # pages of the current build search indexed

    def attach(self, plugins: Any) -> bool:
        """Put the memo in front of this build's search index (Material makes a new one in every
        `on_config`). False when there is no Material search plugin of the expected shape."""
        index = _material_search_index(plugins)
        if index is None:
            return False
        if self._used:
            self._entries, self._used = self._used, {}
        self.reused = self.indexed = 0
        index.add_entry_from_context = self._memoised(index, index.add_entry_from_context)
        return True

    def _memoised(self, index: Any, add_entry: Callable[[Any], None]) -> Callable[[Any], None]:
        def add_entry_from_context(page: Any) -> None:
            key = _page_key(page)
            self.indexed += 1
            entries = self._entries.get(key)
            if entries is None:
                start = len(index.entries)
                add_entry(page)
                entries = copy.deepcopy(index.entries[start:])
            else:
                index.entries.extend(copy.deepcopy(entries))
                self.reused += 1
            self._used[key] = entries

        add_entry_from_context.annotator_memo = True  # type: ignore[attr-defined]
        return add_entry_from_context


def _material_search_index(plugins: Any) -> Any:
    for plugin in getattr(plugins, "values", lambda: [])():
        if not type(plugin).__module__.startswith(SEARCH_MODULE):
            continue
        index = getattr(plugin, "search_index", None)
        add_entry = getattr(index, "add_entry_from_context", None)
        if callable(add_entry) and not getattr(add_entry, "annotator_memo", False) and isinstance(getattr(index, "entries", None), list):
            return index
    return None


def _page_key(page: Any) -> str:
    digest = hashlib.sha256()
    for part in (page.url, str(page.title), repr(page.meta), repr(_toc_ids(page.toc)), page.content or ""):
        digest.update(str(part).encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def _toc_ids(toc: Any) -> list[Any]:
    return [(item.id, item.url, item.title, _toc_ids(item.children)) for item in toc or ()]
