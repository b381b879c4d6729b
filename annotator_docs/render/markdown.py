"""Contributor Markdown -> sanitized HTML.

Sidecar text is hostile by default. It goes through a dedicated Markdown instance with a
fixed, small set of extensions (no raw-HTML passthrough features: no ``attr_list``, no
``md_in_html``, no snippets), math is rendered to MathML at build time, links are rewritten
from our schemes to relative URLs, and the result is sanitized with nh3 against an allowlist
(no scripts, no event handlers, no ``style``, no ``id``, only http/https/mailto and relative URLs,
only known class names). See SECURITY.md.
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from posixpath import relpath

import latex2mathml.converter
import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from pymdownx.superfences import fence_div_format

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
_EXTENSION_CONFIGS = {
    "pymdownx.arithmatex": {"generic": True},
    "pymdownx.highlight": {"use_pygments": True, "guess_lang": False},
    "pymdownx.superfences": {
        "custom_fences": [{"name": "mermaid", "class": "mermaid", "format": fence_div_format}]
    },
}

_MATHML_TAGS = {
    "math", "mi", "mo", "mn", "ms", "mrow", "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder",
    "munderover", "mtext", "mspace", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose", "semantics",
    "annotation",
}
_HTML_TAGS = {
    "p", "br", "hr", "a", "em", "strong", "b", "i", "del", "ins", "sub", "sup", "code", "pre", "kbd", "blockquote",
    "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th", "td", "h3", "h4", "h5", "h6",
    "div", "span", "details", "summary", "img",
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
# Classes the extensions above emit; anything else a contributor smuggles in is dropped.
_CLASS = re.compile(
    r"^(admonition|admonition-title|note|abstract|summary|tldr|info|todo|tip|hint|important|success|check|done|"
    r"question|help|faq|warning|caution|attention|failure|fail|missing|danger|error|bug|example|quote|cite|"
    r"highlight|mermaid|arithmatex|language-[a-z0-9_+-]{1,20}|[a-z]{1,2}[a-z0-9]?)$"
)
_SAFE_SCHEMES = {"http", "https", "mailto"}
_MATH = re.compile(r'<(span|div) class="arithmatex">\\[(\[](.*?)\\[)\]]</\1>', re.S)


@dataclass(frozen=True, slots=True)
class LinkContext:
    """Where the fragment will live, to turn our link schemes into relative URLs.

    ``page_url`` is the site-relative directory URL of the page (``files/src/open_r1/grpo.py/``);
    ``locked_paths`` are the upstream paths that have pages.
    """

    page_url: str = ""
    locked_paths: frozenset[str] = frozenset()

    def to_site(self, target: str) -> str:
        """``site:glossary.md#x`` -> ``../../glossary/#x`` (directory URLs, as mkdocs writes them)."""
        path, _, fragment = target.partition("#")
        path = re.sub(r"(^|/)index\.md$", r"\1", path)
        path = re.sub(r"\.md$", "/", path)
        base = self.page_url or "./"
        url = relpath(path or ".", base.rstrip("/") or ".") if path else ""
        if path and not url.endswith("/") and path.endswith("/"):
            url += "/"
        if url == ".":
            url = "./"
        return url + (f"#{fragment}" if fragment else "")


class _LinkRewriter(Treeprocessor):
    def __init__(self, md, context_holder) -> None:
        super().__init__(md)
        self.context_holder = context_holder

    def run(self, root):
        context: LinkContext = self.context_holder.context
        for element in root.iter("a"):
            href = element.get("href", "")
            element.set("href", rewrite_link(href, context))
        return None


def rewrite_link(href: str, context: LinkContext) -> str:
    if href.startswith("site:"):
        return context.to_site(href[5:])
    path, _, fragment = href.partition("#")
    if path in context.locked_paths:
        return context.to_site(f"files/{path}.md" + (f"#{fragment}" if fragment else ""))
    return href


class _Holder(threading.local):
    context = LinkContext()


class _LinkExtension(Extension):
    def __init__(self, holder) -> None:
        super().__init__()
        self.holder = holder

    def extendMarkdown(self, md):  # noqa: N802 (Python-Markdown API)
        md.treeprocessors.register(_LinkRewriter(md, self.holder), "annotator_links", 1)


_holder = _Holder()
_local = threading.local()


def _markdown() -> markdown.Markdown:
    instance = getattr(_local, "md", None)
    if instance is None:
        instance = markdown.Markdown(
            extensions=[*_EXTENSIONS, _LinkExtension(_holder)], extension_configs=_EXTENSION_CONFIGS, output_format="html"
        )
        _local.md = instance
    return instance


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        kept = [c for c in value.split() if _CLASS.match(c)]
        return " ".join(kept) or None
    if tag == "img" and attribute == "src":  # (nh3's url_schemes has already dropped unsafe schemes)
        if re.match(r"^\s*([A-Za-z][A-Za-z0-9+.-]*:|//)", value):
            return None  # no remote images: they track readers
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


def _math_to_mathml(match: re.Match) -> str:
    tag, latex = match.group(1), html.unescape(match.group(2))
    display = "block" if tag == "div" else "inline"
    try:
        mathml = latex2mathml.converter.convert(latex.strip(), display=display)
    except Exception:  # noqa: BLE001 - any LaTeX the converter rejects stays readable as text
        return f'<code class="language-latex">{html.escape(latex)}</code>'
    return f'<div class="arithmatex">{mathml}</div>' if display == "block" else f'<span class="arithmatex">{mathml}</span>'


@lru_cache(maxsize=4096)
def render_markdown(text: str, context: LinkContext = LinkContext()) -> str:
    """Markdown from a sidecar -> safe HTML fragment. Pure; cached on (text, context)."""
    if not text or not text.strip():
        return ""
    md = _markdown()
    _holder.context = context
    try:
        produced = md.reset().convert(text)
    except Exception as exc:  # noqa: BLE001 - a renderer bug must not take the build down
        return f"<p><strong>annotator could not render this note</strong> ({html.escape(exc.__class__.__name__)}).</p>"
    finally:
        _holder.context = LinkContext()
    produced = math_to_mathml(produced)
    return sanitize(produced)


def math_to_mathml(fragment: str) -> str:
    """Render arithmatex output (``generic: true``) to MathML: math at build time, no script, no CDN."""
    return _MATH.sub(_math_to_mathml, fragment)


def escape(text: str) -> str:
    return html.escape(text or "", quote=True)
