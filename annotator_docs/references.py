"""Symbol references and live code excerpts in hand-written pages, as a Python-Markdown extension.

Two forms, resolved by the engine like sidecar notes:

* a link to a symbol or note of any locked file: ``[the loss](trl/trainer/grpo_trainer.py#GRPOTrainer._compute_loss)``
  (a file's key or upstream path, then ``#`` and a symbol path, ``note-<id>`` or ``L12-L20``);
* an excerpt of that symbol's code (or a quoted part of it), highlighted, with its upstream link
  at the pinned commit::

      ::: excerpt trl/trainer/grpo_trainer.py#GRPOTrainer._compute_loss
          quote: "coef_1 = torch.exp(log_ratio)"
          lines: 3

  The options are a note's selectors (``quote``, ``lines``, ``end_quote``, ``section``) plus
  ``title``; ``annotator pin`` writes ``fingerprint`` and ``line`` into the block, so an excerpt is
  intact, moved, changed or orphaned in ``annotator check`` and ``drift`` exactly like a note.

Unknown files or symbols fail ``annotator check`` and strict builds with a ``path:line:col``
message. The extension is what the plugin adds to ``markdown_extensions`` (and what a builder that
runs no plugins lists itself: ``- annotator_docs.references``); :func:`scan_page` is what ``check``,
``drift`` and ``pin`` read pages with.
"""

from __future__ import annotations

import html
import logging
import posixpath
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from markdown import Extension, Markdown
from markdown.blockprocessors import BlockProcessor
from markdown.postprocessors import Postprocessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

from .anchors import resolve_note
from .findings import Finding
from .models import Note, ResolvedNote, State

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger("mkdocs.plugins.annotator")
_EXCERPT = re.compile(r"^::: excerpt (\S+)[ \t]*$")
_OPTION = re.compile(r"^ {4}([a-z_]+):[ \t]*(.*?)[ \t]*$")
_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CLICK = re.compile(r'^(\s*click\s+\S+\s+(?:href\s+)?")([^"]+)(".*)$')
OPTIONS = ("quote", "lines", "end_quote", "section", "title", "fingerprint", "line")


@dataclass(frozen=True, slots=True)
class Reference:
    page: str  # project-relative path of the Markdown page
    line: int
    column: int
    kind: str  # "link" | "excerpt"
    target: str  # PATH#FRAGMENT as written
    options: tuple[tuple[str, str], ...] = ()  # excerpt options, values as written (YAML scalars)
    option_lines: tuple[tuple[str, int], ...] = ()  # where each option sits (for pin)

    def option(self, name: str) -> str | None:
        return dict(self.options).get(name)


def scan_page(text: str, page: str) -> list[Reference]:
    """Every link and excerpt of a page that could name a locked file, outside code fences."""
    found: list[Reference] = []
    lines = text.split("\n")
    fenced = diagram = False
    number = 0
    while number < len(lines):
        line = lines[number]
        if _FENCE.match(line):
            fenced = not fenced
            diagram = fenced and "mermaid" in line
        elif diagram and (click := _CLICK.match(line)):
            target = click.group(2)
            if "://" not in target and not target.startswith(("#", "/")):
                found.append(Reference(page, number + 1, len(click.group(1)) + 1, "link", target))
        elif not fenced:
            match = _EXCERPT.match(line)
            if match:
                options, where = [], []
                follow = number + 1
                while follow < len(lines) and (option := _OPTION.match(lines[follow])):
                    options.append((option.group(1), option.group(2)))
                    where.append((option.group(1), follow + 1))
                    follow += 1
                found.append(Reference(page, number + 1, 1, "excerpt", match.group(1), tuple(options), tuple(where)))
                number = follow
                continue
            for link in _LINK.finditer(line):
                target = link.group(1)
                if "://" not in target and not target.startswith(("#", "mailto:", "site:", "/")):
                    found.append(Reference(page, number + 1, link.start(1) + 1, "link", target))
        number += 1
    return found


def _scalar(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


def as_note(reference: Reference) -> Note:
    """An excerpt (or a link) as the note it behaves like: same selectors, same fingerprint."""
    _, _, fragment = reference.target.partition("#")
    symbol = fragment or None
    if symbol and (symbol.startswith("note-") or re.match(r"^L\d+", symbol)):
        symbol = None
    lines, line = _scalar(reference.option("lines")), _scalar(reference.option("line"))

    def text(name: str) -> str | None:
        value = reference.option(name)
        return None if value is None else str(_scalar(value))

    return Note(
        index=0,
        sidecar_line=reference.line,
        symbol=symbol,
        section=text("section"),
        quote=text("quote"),
        quote_length=lines if isinstance(lines, int) else None,
        end_quote=text("end_quote"),
        line_hint=line if isinstance(line, int) else None,
        fingerprint=text("fingerprint"),
        title=text("title") or "",
        body="excerpt",
    )


def resolve(reference: Reference, index: Any, models: dict[str, Any]) -> tuple[ResolvedNote | None, list[Finding]]:
    """Resolve one reference against the site: the note it behaves like, and its findings."""
    path, _, _fragment = reference.target.partition("#")
    found = index.reference(reference.target)
    if found is None:
        if index.lock.file(path) is not None or any(f.path == path for f in index.lock.all_files):
            return None, [
                Finding(
                    "R001",
                    f"`{path}` is locked for reference only: it has no page",
                    reference.page,
                    reference.line,
                    reference.column,
                    hint="lock it with a page, or link upstream",
                )
            ]
        if reference.kind == "excerpt" or _looks_like_source(path):
            return None, [
                Finding(
                    "R001",
                    f"`{path}` is not a locked file",
                    reference.page,
                    reference.line,
                    reference.column,
                    hint="`annotator lock add` it, or check the path",
                )
            ]
        return None, []  # an ordinary relative link (another page): mkdocs checks those
    file, _ = found
    if reference.kind == "link":
        why = index.dead(reference.target)
        if why:
            return None, [
                Finding(
                    "R002",
                    f"dead link `{reference.target}`: {why}",
                    reference.page,
                    reference.line,
                    reference.column,
                    hint="link a symbol path or a note id that exists",
                )
            ]
        return None, []
    model = models.get(file.key)
    if model is None:
        return None, []  # not pulled: the file's own E001 says so
    note = as_note(reference)
    resolved = resolve_note(note, f"excerpt-{reference.line}", reference.page, model)
    findings = [
        Finding("R002" if f.is_error else f.code, f.message, reference.page, reference.line, reference.column, f.hint)
        for f in resolved.findings
    ]
    if resolved.state is State.ORPHANED and not findings:
        findings.append(Finding("R002", f"excerpt `{reference.target}`: {resolved.reason}", reference.page, reference.line))
    elif resolved.state is not State.ORPHANED and (note.fingerprint is None or resolved.state is not State.INTACT):
        state = "has no fingerprint" if note.fingerprint is None else f"is {resolved.state.value}: {resolved.reason}"
        findings.append(
            Finding(
                "R003",
                f"excerpt `{reference.target}` {state}",
                reference.page,
                reference.line,
                hint="run `annotator pin`" + (" --accept" if resolved.state is State.CHANGED else ""),
            )
        )
    return resolved, findings


def _looks_like_source(path: str) -> bool:
    return bool(re.search(r"\.(py|ya?ml|slurm|sh|toml|cfg|txt|json)$", path)) and not path.endswith(".md")


# -- the engine side: pages of a project -------------------------------------------------------------
def docs_pages(root: Path) -> list[Path]:
    docs = root / _docs_dir(root)
    return sorted(p for p in docs.rglob("*.md") if p.is_file() and not p.is_symlink()) if docs.is_dir() else []


def _docs_dir(root: Path) -> str:
    """``docs_dir`` from mkdocs.yml, read without running any of its tags (default ``docs``)."""

    class Quiet(yaml.SafeLoader):
        pass

    Quiet.add_multi_constructor("", lambda loader, suffix, node: None)  # !!python/name: and friends: ignored
    try:
        data = yaml.load((root / "mkdocs.yml").read_text("utf-8"), Loader=Quiet)
        value = data.get("docs_dir") if isinstance(data, dict) else None
    except (OSError, yaml.YAMLError):
        value = None
    return value if isinstance(value, str) and value and ".." not in value.split("/") and not value.startswith("/") else "docs"


def page_references(root: Path) -> list[Reference]:
    refs = []
    for page in docs_pages(root):
        try:
            text = page.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        refs.extend(scan_page(text, page.relative_to(root).as_posix()))
    return refs


def check_pages(project: Any, engine: Any = None) -> list[Finding]:
    """Findings of every link and excerpt in the project's hand-written pages."""
    from .engine import Engine

    engine = engine or Engine(project)
    index, models = engine.site_index()
    findings: list[Finding] = []
    for reference in page_references(project.root):
        findings.extend(resolve(reference, index, models)[1])
    return findings


# -- the Markdown extension -----------------------------------------------------------------------------
class _Excerpts(BlockProcessor):
    def __init__(self, parser: Any, extension: ReferencesExtension) -> None:
        super().__init__(parser)
        self.extension = extension

    def test(self, parent: etree.Element, block: str) -> bool:
        return bool(_EXCERPT.match(block.split("\n", 1)[0]))

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        block = blocks.pop(0)
        (reference,) = scan_page(block, self.extension.page_name())
        reference = self.extension.positioned(reference)
        placeholder = etree.SubElement(parent, "p")
        placeholder.text = self.parser.md.htmlStash.store(self.extension.excerpt_html(reference))


class _Links(Treeprocessor):
    def __init__(self, md: Markdown, extension: ReferencesExtension) -> None:
        super().__init__(md)
        self.extension = extension

    def run(self, root: etree.Element) -> None:
        for element in root.iter("a"):
            href = element.get("href", "")
            target = self.extension.link(href)
            if target is not None:
                element.set("href", target)


class _DiagramLinks(Preprocessor):
    """``click NODE "src/open_r1/grpo.py#main"`` in a Mermaid fence: the reference becomes the page's URL
    (checked like any reference), so a diagram's nodes link into the annotated files."""

    def __init__(self, md: Markdown, extension: ReferencesExtension) -> None:
        super().__init__(md)
        self.extension = extension

    def run(self, lines: list[str]) -> list[str]:
        out, fence = [], ""
        for line in lines:
            stripped = line.strip()
            if fence and stripped.startswith(fence):
                fence = ""
            elif not fence and re.match(r"^(```|~~~)\s*mermaid\b", stripped):
                fence = stripped[:3]
            elif fence and (click := _CLICK.match(line)):
                target = self.extension.diagram_link(click.group(2))
                if target is not None:
                    line = click.group(1) + target + click.group(3)
            out.append(line)
        return out


_ANCHOR_HREF = re.compile(r'(<a\b[^>]*?\shref=")([^"]*)(")')


class _ZensicalPageLinks(Postprocessor):
    """Zensical resolves every relative link of a page as a Markdown link, relative to the page's
    *source* file, raw HTML included; the engine's pages carry links relative to the page's URL
    (what mkdocs serves unchanged). Under Zensical, this turns each into the source-relative form:
    from ``files/a/b.py.md`` (URL ``files/a/b.py/``) ``../c.py/`` becomes ``c.py/``."""

    def __init__(self, md: Markdown, extension: ReferencesExtension) -> None:
        super().__init__(md)
        self.extension = extension

    def run(self, text: str) -> str:
        generated = 'class="ann-page-part"' in text or 'class="ann-dashboard-summary"' in text  # a file page, the dashboard
        if not generated or self.extension.builder() != "zensical":
            return text
        page = self.extension.docs_page()
        name = page.rsplit("/", 1)[-1]
        if not name.endswith(".md") or name == "index.md":
            return text  # an index page's URL is its source folder: the two forms agree
        name = name[: -len(".md")]

        def source_relative(match: re.Match[str]) -> str:
            href = html.unescape(match.group(2))
            if not href or href.startswith(("#", "/")) or "://" in href or href.startswith(("mailto:", "data:")):
                return match.group(0)
            path, hash_mark, fragment = href.partition("#")
            converted = posixpath.normpath(f"{name}/{path}") + ("/" if path.endswith("/") else "")
            return match.group(1) + html.escape(converted + hash_mark + fragment, quote=True) + match.group(3)

        return _ANCHOR_HREF.sub(source_relative, text)


class ReferencesExtension(Extension):
    def __init__(self, **kwargs: Any) -> None:
        self.config = {
            "engine": ["", "the annotator engine (the plugin passes its own; a None default would be read as a bool)"],
            "root": [".", "project root (when no engine is given)"],
            "page": ["", "the page being converted, for positions in messages (the plugin sets it)"],
            "prefix": ["", "where `annotator generate` put the pages inside the docs (`annotated/` for --out docs/annotated)"],
        }
        super().__init__(**kwargs)
        self._engine: Engine | None = self.getConfig("engine") or None
        self._index: tuple[Any, dict[str, Any]] | None = None
        self._seen: dict[str, int] = {}

    def page_name(self) -> str:
        return self.getConfig("page") or "docs page"

    def positioned(self, reference: Reference) -> Reference:
        """The same link or excerpt as it stands in the page file (its line and column, and the lines of
        an excerpt's options), found by scanning the page: Python-Markdown hands its processors only a
        block or an element."""
        counter = f"{reference.kind}:{reference.target}"
        seen = self._seen.setdefault(counter, 0)
        self._seen[counter] = seen + 1
        page = self.getConfig("page")
        root = self.engine.project.root
        try:
            text = (root / page).read_text("utf-8") if page else ""
        except OSError:
            return reference
        matches = [r for r in scan_page(text, page) if r.kind == reference.kind and r.target == reference.target]
        return matches[seen] if seen < len(matches) else reference

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from .engine import Engine
            from .project import Project

            self._engine = Engine(Project.open(Path(self.getConfig("root")).absolute()))
        return self._engine

    def _site(self) -> tuple[Any, dict[str, Any]]:
        if self._index is None:
            prefix = self.getConfig("prefix") or ""
            self._index = self.engine.site_index(prefix if not prefix or prefix.endswith("/") else prefix + "/")
        return self._index

    def link(self, href: str) -> str | None:
        """A reference's site URL (docs-root absolute, which mkdocs turns relative), or None."""
        if "://" in href or href.startswith(("#", "mailto:", "/")):
            return None
        index, models = self._site()
        found = index.reference(href)
        if found is None:
            return self._generated_page_link(href, index.prefix)
        for finding in resolve(self.positioned(Reference(self.page_name(), 1, 1, "link", href)), index, models)[1]:
            log.warning(finding.format())
        from .layout import page_uri

        return self.md_href(page_uri(found[0], found[1], index.prefix))

    def _generated_page_link(self, href: str, prefix: str) -> str | None:
        """A link such as ``progress.md`` to a page the engine generates: with the plugin it sits at the
        docs root, after ``annotator generate --out docs/annotated`` under ``annotated/``, so the same
        hand-written link works on both paths."""
        if not prefix:
            return None
        from posixpath import dirname, join, normpath

        from .site import PROGRESS_PAGE

        path, _, fragment = href.partition("#")
        target = normpath(join(dirname(self.docs_page()), path)) if path else ""
        if target != PROGRESS_PAGE:
            return None
        return self.md_href(prefix + target + (f"#{fragment}" if fragment else ""))

    def diagram_link(self, href: str) -> str | None:
        """A reference in a diagram: relative to this page (diagrams are raw HTML: nothing else rewrites them)."""
        if "://" in href or href.startswith(("#", "/")):
            return None
        index, models = self._site()
        found = index.reference(href)
        if found is None:
            return None
        for finding in resolve(self.positioned(Reference(self.page_name(), 1, 1, "link", href)), index, models)[1]:
            log.warning(finding.format())
        from .layout import page_uri

        return self.raw_href(page_uri(found[0], found[1], index.prefix))

    def builder(self) -> str:
        md = getattr(self, "_md", None)
        return "zensical" if md is not None and "rendering_context" in md.preprocessors else "mkdocs"

    def docs_page(self) -> str:
        """The page being converted, relative to the docs (``guide/annotating.md``), or "" when unknown.

        The plugin says it in the ``page`` option; a plain mkdocs (or ProperDocs) build without the
        plugin is read from the link processor mkdocs registers on each page's Markdown instance."""
        page = str(self.getConfig("page") or "")
        if page:
            return page.split("/", 1)[1] if "/" in page else page  # "docs/pipeline.md" -> "pipeline.md"
        md = getattr(self, "_md", None)
        if md is None:
            return ""
        if "relpath" in md.treeprocessors:  # mkdocs, ProperDocs
            return str(getattr(getattr(md.treeprocessors["relpath"], "file", None), "src_uri", "") or "")
        if "rendering_context" in md.preprocessors:  # Zensical
            return str(getattr(getattr(md.preprocessors["rendering_context"], "page", None), "path", "") or "")
        return ""

    def md_href(self, uri: str) -> str:
        """A Markdown link to a docs ``uri``: relative to this page when it is known (what every builder
        resolves and checks), else docs-root absolute (mkdocs' ``absolute_links: relative_to_docs``)."""
        from posixpath import dirname, relpath

        page = self.docs_page()
        if not page:
            return "/" + uri
        path, _, fragment = uri.partition("#")
        return relpath(path, dirname(page) or ".") + (f"#{fragment}" if fragment else "")

    def raw_href(self, uri: str) -> str:
        """A link to a docs ``uri`` for raw HTML (excerpt captions, diagrams), which no builder rewrites:
        relative to the page, so it works under any site path."""
        from .layout import relative_url, url_of

        page = self.docs_page()
        if not page:
            return "/" + url_of(uri)
        if self.builder() == "zensical":  # it resolves links in raw HTML too, as Markdown links
            return self.md_href(uri)
        return relative_url(url_of(page), uri)

    def excerpt_html(self, reference: Reference) -> str:
        """The excerpt as HTML, memoised in the engine's cache (a long serve session renders it once)."""
        index, models = self._site()
        engine = self.engine
        found = index.reference(reference.target)
        model = models.get(found[0].key) if found else None
        key = engine.cache.key("excerpt", repr(reference), self.docs_page(), index.digest, model.sha256 if model else "-")
        cached: tuple[str, tuple[Finding, ...]] | None = engine.cache.recall("excerpt", key)
        if cached is None:
            cached = self._excerpt_html(reference)
            engine.cache.remember("excerpt", key, cached)
        html_text, findings = cached
        for finding in findings:
            log.warning(finding.format())
        return html_text

    def _excerpt_html(self, reference: Reference) -> tuple[str, tuple[Finding, ...]]:
        from .layout import page_uri

        index, models = self._site()
        resolved, findings = resolve(reference, index, models)
        found = index.reference(reference.target)
        if resolved is None or resolved.span is None or found is None:
            missing = (
                f'<div class="ann-excerpt ann-excerpt-missing"><p>Excerpt <code>{html.escape(reference.target)}</code> '
                "not available: its code is not pulled or was not found.</p></div>"
            )
            return missing, tuple(findings)
        file = found[0]
        model = models[file.key]
        span = resolved.span
        code = self.engine.highlighted(model)[span.start - 1 : span.end]
        source = index.lock.source_of(file)
        upstream = source.blob_url(file.path, span.start, span.end)
        title = reference.option("title")
        label = html.escape(str(_scalar(title))) if title else f"<code>{html.escape(resolved.symbol or file.path)}</code>"
        rows = "\n".join(f'<span class="ann-line"><span class="ann-src">{line}</span></span>' for line in code)
        where = f"{html.escape(file.key)}, lines {span.start}–{span.end}"
        pin = f" at <code>{html.escape(source.ref or (source.commit or '')[:12])}</code>" if source.commit else ""
        state = (
            ""
            if resolved.state is State.INTACT
            else f' <span class="ann-badge ann-badge-{resolved.state.value}">{resolved.state.value}</span>'
        )
        target = html.escape(self.raw_href(page_uri(file, resolved.symbol or "", index.prefix)))
        counter = f"counter-reset: ann-line {span.start - 1}"
        figure = (
            f'<figure class="ann-excerpt"><figcaption><a href="{target}">'
            f"{label}</a> · {where}{pin}"
            + (f' · <a href="{html.escape(upstream)}">upstream</a>' if upstream else "")
            + state
            + f'</figcaption><div class="highlight"><pre style="{counter}"><code>{rows}</code></pre>'
            "</div></figure>"
        )
        return figure, tuple(findings)

    def extendMarkdown(self, md: Markdown) -> None:
        self._md = md
        self._seen = {}  # a builder may keep one extension for every page (Zensical does)
        md.parser.blockprocessors.register(_Excerpts(md.parser, self), "annotator_excerpts", 105)
        md.preprocessors.register(_DiagramLinks(md, self), "annotator_diagram_links", 40)  # before fences are stashed
        md.treeprocessors.register(
            _Links(md, self), "annotator_references", 8
        )  # after inline links exist, before mkdocs checks them (0)
        md.postprocessors.register(_ZensicalPageLinks(md, self), "annotator_zensical_links", 5)  # after raw HTML is back
        md.registerExtension(self)


def makeExtension(**kwargs: Any) -> ReferencesExtension:
    return ReferencesExtension(**kwargs)


# -- references in sidecar prose, and pinning excerpts -------------------------------------------------
def sidecar_links(sidecar: Any) -> list[Reference]:
    """Links in a sidecar's prose that name locked files (positioned at their note, or line 1)."""
    texts: list[tuple[int, str]] = [
        (1, t)
        for t in (
            sidecar.overview,
            sidecar.role,
            *sidecar.key_innovations,
            *sidecar.takeaways,
            sidecar.data_flow.origin,
            sidecar.data_flow.processing,
            sidecar.data_flow.destination,
        )
    ]
    texts += [(n.sidecar_line, t) for n in sidecar.notes for t in (n.title, n.what, n.why, n.how, n.body)]
    found = []
    for line, text in texts:
        for link in _LINK.finditer(text or ""):
            target = link.group(1)
            if target.startswith("site:"):
                found.append(Reference(sidecar.sidecar_file, line, 1, "site", target[5:]))
            elif "://" not in target and not target.startswith(("#", "mailto:", "/")):
                found.append(Reference(sidecar.sidecar_file, line, 1, "link", target))
    return found


def site_anchors(root: Path) -> dict[str, frozenset[str]]:
    """Each hand-written page (docs-relative) and the anchors its headings get (Python-Markdown's slugs)."""
    from markdown.extensions.toc import slugify

    docs = root / _docs_dir(root)
    out: dict[str, frozenset[str]] = {}
    for page in docs_pages(root):
        anchors, fenced = set(), False
        try:
            text = page.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for line in text.split("\n"):
            if _FENCE.match(line):
                fenced = not fenced
            elif not fenced and (heading := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)):
                anchors.add(slugify(re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1)), "-"))
        out[page.relative_to(docs).as_posix()] = frozenset(anchors)
    return out


def check_site_link(reference: Reference, pages: dict[str, frozenset[str]], generated: set[str]) -> list[Finding]:
    """A `site:page.md#anchor` link: the page must exist (hand-written or generated), and so must the anchor."""
    path, _, fragment = reference.target.partition("#")
    if path in generated:
        return []
    if path not in pages:
        return [
            Finding(
                "R002",
                f"dead link `site:{reference.target}`: no page `{path}` in the docs",
                reference.page,
                reference.line,
                hint="link a page under docs/ (e.g. `site:glossary.md#advantage`)",
            )
        ]
    if fragment and fragment not in pages[path]:
        close = sorted(pages[path], key=lambda a: -_overlap(a, fragment))[:3]
        return [
            Finding(
                "R002",
                f"dead link `site:{reference.target}`: `{path}` has no heading `#{fragment}`",
                reference.page,
                reference.line,
                hint=("did you mean " + ", ".join(f"`#{c}`" for c in close) + "?") if close else "",
            )
        ]
    return []


def _overlap(a: str, b: str) -> int:
    return len(set(a.split("-")) & set(b.split("-")))


def pin_page(
    text: str, page: str, index: Any, models: dict[str, Any], accept: frozenset[str] = frozenset()
) -> tuple[str, list[str]]:
    """Write ``fingerprint`` and ``line`` into each excerpt of a page; a changed excerpt only when accepted
    (by ``PAGE:LINE`` or ``all``). Returns the new text and a line per change."""
    from .anchors import fingerprint

    lines = text.split("\n")
    changes = []
    for reference in sorted(scan_page(text, page), key=lambda r: -r.line):  # bottom up: line numbers stay valid
        if reference.kind != "excerpt":
            continue
        resolved, _ = resolve(reference, index, models)
        if resolved is None or resolved.span is None or resolved.state is State.ORPHANED:
            continue
        name = f"{page}:{reference.line}"
        if resolved.state is State.CHANGED and not ({"all", name} & accept):
            changes.append(f"{name}: not pinned: its code changed (review it, then `pin --accept {name}`)")
            continue
        found = index.reference(reference.target)
        model = models[found[0].key]
        symbol = model.symbol(resolved.symbol) if resolved.symbol else None
        exact = symbol if symbol is not None and symbol.span == resolved.span else None
        wanted = {"fingerprint": f'"{fingerprint(model, resolved.span, exact, similar=True)}"', "line": str(resolved.span.start)}
        where = dict(reference.option_lines)
        last = max([reference.line, *where.values()])
        for key in ("line", "fingerprint"):
            if reference.option(key) is not None and str(_scalar(reference.option(key))) == str(_scalar(wanted[key])):
                continue
            if key in where:
                lines[where[key] - 1] = f"    {key}: {wanted[key]}"
            else:
                lines.insert(last, f"    {key}: {wanted[key]}")
            changes.append(f"{name}: {key} -> {wanted[key]}")
    return "\n".join(lines), changes
