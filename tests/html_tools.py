"""Parse built HTML (never grep it): the code lines of a page, and every dangerous construct."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_DANGEROUS_SCHEMES = re.compile(r"^\s*(javascript|data|vbscript):", re.I)


class _Lines(HTMLParser):
    """Collects (line id, text of its .ann-src) for each .ann-line, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[str, str]] = []
        self.stack: list[tuple[str, set[str]]] = []
        self.capture_depth: int | None = None

    def handle_starttag(self, tag, attrs):
        classes = set((dict(attrs).get("class") or "").split())
        if tag in _VOID:
            return
        self.stack.append((tag, classes))
        if "ann-line" in classes:
            self.lines.append((dict(attrs).get("id", ""), ""))
        if "ann-src" in classes and self.capture_depth is None:
            self.capture_depth = len(self.stack)

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        while self.stack:
            open_tag, _ = self.stack.pop()
            if self.capture_depth is not None and len(self.stack) < self.capture_depth:
                self.capture_depth = None
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self.capture_depth is not None and self.lines:
            line_id, text = self.lines[-1]
            self.lines[-1] = (line_id, text + data)


def code_lines(page_html: str) -> list[tuple[str, str]]:
    parser = _Lines()
    parser.feed(page_html)
    return parser.lines


class _Danger(HTMLParser):
    def __init__(self, within: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.within = within
        self.depth = 0

    def handle_endtag(self, tag):
        if self.within and tag == self.within and self.depth:
            self.depth -= 1

    def handle_starttag(self, tag, attrs):
        if self.within and tag == self.within:
            self.depth += 1
        if self.within and not self.depth:
            return
        attributes = dict(attrs)
        if tag == "script" and attributes.get("type") not in ("application/json",):
            src = attributes.get("src") or ""
            if not src or _DANGEROUS_SCHEMES.match(src):
                self.problems.append(f"inline script {attrs}")
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.problems.append(f"event handler {name} on <{tag}>")
            if (
                name.lower() in ("href", "src", "action", "formaction", "xlink:href")
                and value
                and _DANGEROUS_SCHEMES.match(value)
            ):
                self.problems.append(f"dangerous URL {value!r} on <{tag}>")
            if name.lower() == "id" and value in ("__config", "__search", "__palette"):
                self.problems.append(f"clobbering id {value!r} on <{tag}>")
        if tag in ("iframe", "object", "embed", "form", "base", "meta") and tag != "meta":
            self.problems.append(f"<{tag}>")


def dangers(fragment: str, within: str | None = None) -> list[str]:
    """Live script, event handlers, dangerous URLs and clobbering ids; ``within="article"`` checks a
    built page's content only (the theme's own inline scripts live outside it)."""
    parser = _Danger(within)
    parser.feed(fragment)
    return parser.problems


def elements(page_html: str, tag: str) -> list[dict[str, str]]:
    """Attributes of every <tag> in the page."""
    found: list[dict[str, str]] = []

    class _Collect(HTMLParser):
        def handle_starttag(self, name, attrs):
            if name == tag:
                found.append({k: v or "" for k, v in attrs})

    _Collect().feed(page_html)
    return found


class _LinksAndIds(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            elif name == "href" and value and tag == "a":
                self.hrefs.append(value)


def broken_links(site_dir) -> list[str]:
    """Every link of a built site that leads nowhere: a page that is not there, a fragment with no
    element of that id, or a root-absolute path (it breaks when the site is hosted under a path).
    External links and the search page's own links are not followed."""
    from pathlib import Path
    from urllib.parse import unquote, urlsplit

    site = Path(site_dir)
    pages: dict[Path, _LinksAndIds] = {}
    for page in site.rglob("*.html"):
        parser = _LinksAndIds()
        parser.feed(page.read_text("utf-8"))
        pages[page.resolve()] = parser
    problems = []
    for page, parsed in sorted(pages.items()):
        where = page.relative_to(site.resolve()).as_posix()
        if where == "404.html":  # served at any path, so the theme links it from the site's root on purpose
            continue
        for href in sorted(set(parsed.hrefs)):
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            if parts.path.startswith("/"):
                problems.append(f"{where}: root-absolute link {href}")
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if target not in pages:
                if not target.is_file():
                    problems.append(f"{where}: {href} -> no such page")
                continue
            fragment = unquote(parts.fragment)
            if fragment and fragment not in pages[target].ids:
                problems.append(f"{where}: {href} -> no element #{fragment}")
    return problems
