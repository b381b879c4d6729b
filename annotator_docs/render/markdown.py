"""Contributor Markdown -> sanitized HTML, bounded.

Sidecar text is hostile by default:

* **Bounded before Markdown sees it.** A note longer than :data:`MAX_NOTE_CHARS`, or nesting
  brackets, emphasis, block quotes or lists deeper than :data:`MAX_NESTING`, is refused with a
  positioned finding (Python-Markdown's time grows with the square of such runs). Rendering also
  runs under a per-note time budget where a timer is available; a note over it becomes a visible
  "could not render" box and a finding, never a stalled build.
* **A fixed, small set of extensions**: no raw-HTML passthrough features (no ``attr_list``,
  ``md_in_html`` or snippets). Math becomes MathML at build time. Links are rewritten from our
  schemes to relative URLs (:class:`LinkContext`).
* **Mermaid only through the fence**: a diagram is taken out of the text before sanitizing and put
  back as ``<pre class="ann-mermaid">`` (escaped), so raw HTML cannot make one, and a diagram that
  tries to change Mermaid's configuration (``%%{init}%%``, front-matter ``config:``) is refused.
* **nh3 against an allowlist**: no scripts, event handlers, ``style`` or ``id``; only http/https/
  mailto and relative URLs; only the class names the renderer itself emits (:data:`ALLOWED_CLASSES`).

See SECURITY.md.
"""

from __future__ import annotations

import html
import re
import secrets
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from pygments.lexers import get_all_lexers
from pygments.token import STANDARD_TYPES

from ..findings import Finding

MAX_NOTE_CHARS = 20_000  # the schema's limit for one prose field, checked here for every caller
MAX_NESTING = 24  # brackets, emphasis markers, block quotes, list levels
MAX_MARKERS = {"*": 400, "~": 400, "_": 2_000}  # emphasis openers are tried against every later marker: keep that product small
RENDER_BUDGET_SECONDS = 5.0

_EXTENSIONS = [
    "tables",
    "sane_lists",
    "admonition",
    "pymdownx.arithmatex",
    "pymdownx.superfences",
    "pymdownx.highlight",
    "pymdownx.inlinehilite",
    "pymdownx.betterem",
    "pymdownx.tilde",
    "pymdownx.details",
]
_ADMONITIONS = (
    "note",
    "abstract",
    "summary",
    "tldr",
    "info",
    "todo",
    "tip",
    "hint",
    "important",
    "success",
    "check",
    "done",
    "question",
    "help",
    "faq",
    "warning",
    "caution",
    "attention",
    "failure",
    "fail",
    "missing",
    "danger",
    "error",
    "bug",
    "example",
    "quote",
    "cite",
)
#: Every class the renderer emits, by name: Pygments' token classes, admonitions, the extensions' own,
#: and annotator's. A contributor's other classes are dropped; no class is allowed by pattern.
ALLOWED_CLASSES = frozenset(
    {css for css in STANDARD_TYPES.values() if css}
    | set(_ADMONITIONS)
    | {"admonition", "admonition-title", "highlight", "arithmatex"}
    # not "ann-mermaid" nor "ann-render-error": diagrams and error boxes go in after sanitizing, so a
    # note's own <span class="ann-mermaid"> (a diagram that skipped the configuration check) loses it
    | {f"language-{alias}" for _, aliases, _, _ in get_all_lexers() for alias in aliases}
)
_MATHML_TAGS = {
    "math",
    "mi",
    "mo",
    "mn",
    "ms",
    "mrow",
    "msup",
    "msub",
    "msubsup",
    "mfrac",
    "msqrt",
    "mroot",
    "mover",
    "munder",
    "munderover",
    "mtext",
    "mspace",
    "mtable",
    "mtr",
    "mtd",
    "mstyle",
    "mpadded",
    "mphantom",
    "menclose",
    "semantics",
    "annotation",
}
_HTML_TAGS = {
    "p",
    "br",
    "hr",
    "a",
    "em",
    "strong",
    "b",
    "i",
    "del",
    "ins",
    "sub",
    "sup",
    "code",
    "pre",
    "kbd",
    "blockquote",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "h3",
    "h4",
    "h5",
    "h6",
    "div",
    "span",
    "details",
    "summary",
    "img",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
    "div": {"class"},
    "span": {"class"},
    "p": {"class"},
    "code": {"class"},
    "pre": {"class"},
    "details": {"class", "open"},
    "math": {"display", "xmlns"},
    "mo": {"stretchy", "fence", "separator", "lspace", "rspace", "accent", "largeop", "movablelimits"},
    "mi": {"mathvariant"},
    "mn": {"mathvariant"},
    "mtext": {"mathvariant"},
    "mstyle": {"mathvariant", "displaystyle", "scriptlevel"},
    "mover": {"accent"},
    "munder": {"accentunder"},
    "mfrac": {"linethickness"},
    "mspace": {"width"},
    "mtable": {"columnalign", "rowspacing", "columnspacing"},
    "mtd": {"columnalign"},
    "menclose": {"notation"},
}
_SAFE_SCHEMES = {"http", "https", "mailto"}
_MATH = re.compile(r'<(span|div) class="arithmatex">\\[(\[](.*?)\\[)\]]</\1>', re.S)
_MERMAID_CONFIG = re.compile(r"%%\s*\{|^\s*---\s*$", re.M)
_REMOTE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*:|//)")


@dataclass(frozen=True, slots=True)
class LinkContext:
    """What a fragment needs to turn our link forms into relative URLs: where the page lives and how
    to resolve a reference (``src/open_r1/rewards.py#get_reward_funcs`` -> a site page URI, or None)."""

    page_url: str = ""
    resolve: Callable[[str], str | None] | None = field(default=None, compare=False)
    key: str = ""  # what identifies ``resolve`` in memo keys (the site's symbol table digest)


@dataclass(frozen=True, slots=True)
class Rendered:
    html: str
    findings: tuple[Finding, ...] = ()
    links: tuple[str, ...] = ()  # every reference the text made, resolved or not (for dead-link findings)


class _Budget(Exception):
    pass


class NoteRenderer:
    """One Markdown instance and a memo of what it rendered; each engine (and each worker) owns one."""

    MEMO = 8192

    def __init__(self) -> None:
        self._link_extension = _LinkExtension()
        self._mermaid: list[str] = []
        self._nonce = secrets.token_hex(8)
        fence = {"name": "mermaid", "class": "ann-mermaid", "format": self._mermaid_fence}
        self._md = markdown.Markdown(
            extensions=[*_EXTENSIONS, self._link_extension],
            extension_configs={
                "pymdownx.arithmatex": {"generic": True},
                "pymdownx.highlight": {"use_pygments": True, "guess_lang": False},
                "pymdownx.superfences": {"custom_fences": [fence]},
                # ~~strike~~ only: a lone `~` ("~30 s", `~/.bashrc`) is then text, not a delimiter the
                # processor tries against every later one (`> ]~` repeated grew with the square: fuzz/run.py)
                "pymdownx.tilde": {"subscript": False},
            },
            output_format="html",
        )
        self._memo: dict[tuple[str, str, str], Rendered] = {}

    def render(self, text: str, context: LinkContext = LinkContext(), where: str = "", line: int = 1) -> Rendered:
        """Markdown from a sidecar -> safe HTML. ``where``/``line`` position any finding."""
        if not text or not text.strip():
            return Rendered("")
        memo_key = (text, context.page_url, context.key)
        found = self._memo.get(memo_key)
        if found is None:
            found = self._render(text, context, where, line)
            if len(self._memo) >= self.MEMO:
                self._memo.pop(next(iter(self._memo)))
            self._memo[memo_key] = found
        return found

    def inline(self, text: str, context: LinkContext = LinkContext()) -> str:
        """A title: inline Markdown only (code, emphasis, links), no block around it."""
        produced = self.render(text, context).html
        match = re.fullmatch(r"<p>(.*)</p>", produced.strip(), re.S)
        return match.group(1) if match else html.escape(text)

    def _render(self, text: str, context: LinkContext, where: str, line: int) -> Rendered:
        problem = bounds_problem(text, where, line)
        if problem is not None:
            return Rendered(_error_box(problem.message), (problem,))
        self._mermaid = []
        links: list[str] = []
        self._link_extension.context, self._link_extension.links = context, links
        try:
            produced = _with_budget(lambda: self._md.reset().convert(text))
        except _Budget:
            finding = Finding(
                "M003",
                f"the note took longer than {RENDER_BUDGET_SECONDS:.0f} s to render",
                where,
                line,
                hint="simplify it: fewer nested brackets, emphasis or lists",
            )
            return Rendered(_error_box(finding.message), (finding,))
        except Exception as exc:
            finding = Finding("M003", f"the note could not be rendered ({exc.__class__.__name__})", where, line)
            return Rendered(_error_box(finding.message), (finding,))
        finally:
            self._link_extension.context = LinkContext()
        findings = []
        safe = sanitize(math_to_mathml(produced))
        diagrams = []
        for source in self._mermaid:
            if _MERMAID_CONFIG.search(source):
                findings.append(
                    Finding(
                        "M004",
                        "a Mermaid diagram tries to set Mermaid's configuration",
                        where,
                        line,
                        hint="remove `%%{init: …}%%` and front-matter `config:`; the site sets the theme",
                    )
                )
                diagrams.append(
                    '<p class="ann-render-error">This diagram was not drawn: it tries to change Mermaid\'s settings.</p>'
                )
            else:
                diagrams.append(f'<pre class="ann-mermaid">{html.escape(source)}</pre>')
        for index, diagram in enumerate(diagrams):
            safe = safe.replace(self._placeholder(index), diagram, 1)
        return Rendered(safe, tuple(findings), tuple(links))

    def _placeholder(self, index: int) -> str:
        return f"ANNMERMAID{self._nonce}N{index}E"

    def _mermaid_fence(self, source: str, language: str, css_class: str, options: Any, md: Any, **kwargs: Any) -> str:
        self._mermaid.append(source)
        return f"<p>{self._placeholder(len(self._mermaid) - 1)}</p>"


def bounds_problem(text: str, where: str = "", line: int = 1) -> Finding | None:
    """The first limit ``text`` breaks, positioned; None when it is within every limit. Linear in the text."""
    if len(text) > MAX_NOTE_CHARS:
        return Finding(
            "M001",
            f"the note has {len(text)} characters; the limit is {MAX_NOTE_CHARS}",
            where,
            line,
            hint="split it into several notes or move the long part to a page of its own",
        )
    depth = {"[": 0, "(": 0, "{": 0}
    closing = {"]": "[", ")": "(", "}": "{"}
    for offset, char in enumerate(text):
        if char in depth:
            depth[char] += 1
            if depth[char] > MAX_NESTING:
                return _nesting(text, offset, f"`{char}` nested more than {MAX_NESTING} deep", where, line)
        elif char in closing and depth[closing[char]]:
            depth[closing[char]] -= 1
    for match in re.finditer(rf"[*_~]{{{MAX_NESTING + 1},}}", text):
        return _nesting(text, match.start(), f"a run of {len(match.group())} emphasis markers", where, line)
    for marker, limit in MAX_MARKERS.items():
        if text.count(marker) > limit:
            offset = _nth(text, marker, limit + 1)
            return _nesting(text, offset, f"more than {limit} `{marker}` characters in one note", where, line)
    for number, row in enumerate(text.split("\n")):
        stripped = row.lstrip(" \t>")
        quotes = row[: len(row) - len(stripped)].count(">")
        indent = len(row) - len(row.lstrip(" "))
        if quotes > MAX_NESTING or (indent // 2 > MAX_NESTING and stripped[:1] in "-*+0123456789"):
            return Finding(
                "M002",
                f"block quotes or lists nested more than {MAX_NESTING} deep",
                where,
                line + number + 1,
                hint="flatten the structure",
            )
    return None


def _nth(text: str, char: str, n: int) -> int:
    offset = -1
    for _ in range(n):
        offset = text.index(char, offset + 1)
    return offset


def _nesting(text: str, offset: int, what: str, where: str, line: int) -> Finding:
    row = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    # the text starts on the line after its key (a block scalar); position the finding in the sidecar
    return Finding("M002", f"{what} (the limit is {MAX_NESTING})", where, line + row + 1, column, hint="simplify the text")


def _with_budget(work: Callable[[], str]) -> str:
    """Run ``work`` under a wall-clock budget when this thread can take a timer signal (the main thread)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return work()

    def expire(signum: int, frame: Any) -> None:
        raise _Budget

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, RENDER_BUDGET_SECONDS)
    try:
        return work()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _error_box(message: str) -> str:
    return f'<p class="ann-render-error">annotator could not render this note: {html.escape(message)}</p>'


# -- links -------------------------------------------------------------------------------------------
class _LinkRewriter(Treeprocessor):
    def __init__(self, md: markdown.Markdown, extension: _LinkExtension) -> None:
        super().__init__(md)
        self.extension = extension

    def run(self, root: Any) -> None:
        for element in root.iter("a"):
            href = element.get("href", "")
            element.set("href", rewrite_link(href, self.extension.context, self.extension.links))


class _LinkExtension(Extension):
    def __init__(self) -> None:
        super().__init__()
        self.context = LinkContext()
        self.links: list[str] = []

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_LinkRewriter(md, self), "annotator_links", 1)


def rewrite_link(href: str, context: LinkContext, seen: list[str] | None = None) -> str:
    """``site:glossary.md#x`` and references to locked files (``src/open_r1/rewards.py#get_reward_funcs``)
    become relative URLs; everything else is left for the sanitizer to judge."""
    from ..layout import relative_url

    if href.startswith("site:"):
        return relative_url(context.page_url, href[5:])
    if context.resolve is None or _REMOTE.match(href) or href.startswith("#"):
        return href
    target = context.resolve(href)
    if target is None:
        return href
    if seen is not None:
        seen.append(href)
    return relative_url(context.page_url, target)


# -- sanitizing and math -----------------------------------------------------------------------------
def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        kept = [c for c in value.split() if c in ALLOWED_CLASSES]
        return " ".join(kept) or None
    if tag == "img" and attribute == "src" and _REMOTE.match(value):
        return None  # no remote images: they track readers (nh3's url_schemes has already dropped unsafe schemes)
    return value


def sanitize(fragment: str) -> str:
    return nh3.clean(
        fragment,
        tags=_HTML_TAGS | _MATHML_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ATTRIBUTES,
        url_schemes=_SAFE_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_attribute_filter,
        strip_comments=True,
    )


def _math_to_mathml(match: re.Match[str]) -> str:
    tag, latex = match.group(1), html.unescape(match.group(2))
    display = "block" if tag == "div" else "inline"
    try:
        import latex2mathml.converter  # only pages with math pay for the import

        mathml = latex2mathml.converter.convert(latex.strip(), display=display).replace("\\_", "_")  # `\_` in \text{}
    except Exception:
        return f'<code class="language-latex">{html.escape(latex)}</code>'
    return f'<div class="arithmatex">{mathml}</div>' if display == "block" else f'<span class="arithmatex">{mathml}</span>'


def math_to_mathml(fragment: str) -> str:
    """Render arithmatex output (``generic: true``) to MathML: math at build time, no script, no CDN."""
    return _MATH.sub(_math_to_mathml, fragment)


def escape(text: str) -> str:
    return html.escape(text or "", quote=True)
