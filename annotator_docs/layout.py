"""Where everything of a locked file lives: its sidecar, its snapshot copy, its page.

The one place the URL scheme is written. A file's ``key`` is its upstream path for the first
source and ``<source>/<path>`` for the others, so the first source's pages and sidecars keep the
places they had before several sources existed:

* sidecar: ``annotations/<key>.yaml``
* page:    ``files/<key>.md`` (mkdocs serves it at ``files/<key>/``)
* code:    ``<the source's snapshot folder>/<path>``
"""

from __future__ import annotations

from posixpath import relpath

from .models import LockedFile, Source

ANNOTATIONS = "annotations"
SIDECAR_SUFFIX = ".yaml"
FILES = "files"
ANNOTATED = "annotated"


def sidecar_path(file: LockedFile) -> str:
    """Project-relative path of a file's sidecar."""
    return f"{ANNOTATIONS}/{file.key}{SIDECAR_SUFFIX}"


def snapshot_path(source: Source, file: LockedFile) -> str:
    """Project-relative path of a file's pulled copy."""
    return f"{source.snapshot_dir}/{file.path}"


def page_uri(file: LockedFile, fragment: str = "", prefix: str = "") -> str:
    """The page's source path inside the site (``files/src/open_r1/grpo.py.md``). ``prefix`` is the
    folder of the docs the generated pages sit in (``annotated/`` for ``generate --out docs/annotated``)."""
    return f"{prefix}{FILES}/{file.key}.md" + (f"#{fragment}" if fragment else "")


def annotated_uri(file: LockedFile, prefix: str = "") -> str:
    """Where the site offers a file's annotated source for download (``annotated/src/open_r1/grpo.py``)."""
    return f"{prefix}{ANNOTATED}/{file.key}"


def page_url(file: LockedFile, prefix: str = "") -> str:
    """The page's site-relative directory URL, as mkdocs writes it (``files/src/open_r1/grpo.py/``)."""
    return url_of(page_uri(file, prefix=prefix))


def url_of(uri: str) -> str:
    """Directory URL of a site page: ``glossary.md`` -> ``glossary/``, ``index.md`` -> ``""``."""
    path, _, fragment = uri.partition("#")
    if path == "index.md" or path.endswith("/index.md"):
        path = path[: -len("index.md")]
    elif path.endswith(".md"):
        path = path[:-3] + "/"
    return path + (f"#{fragment}" if fragment else "")


def relative_url(from_page_url: str, target_uri: str) -> str:
    """A link from the page at ``from_page_url`` to ``target_uri`` (``glossary.md#x`` -> ``../../glossary/#x``)."""
    path, _, fragment = url_of(target_uri).partition("#")
    url = relpath(path or ".", from_page_url.rstrip("/") or ".")
    if url == ".":
        url = "./"
    elif (path.endswith("/") or not path) and not url.endswith("/"):
        url += "/"
    return url + (f"#{fragment}" if fragment else "")
