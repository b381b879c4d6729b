"""Stage 2 of the pipeline: source bytes -> :class:`~annotator_docs.models.SourceModel`.

``extract(path, data)`` is a pure function of the upstream path and the file's bytes, so its result
is cached by content hash (:mod:`annotator_docs.cache`).
"""

from __future__ import annotations

import hashlib
import re

from ..findings import Finding
from ..models import Language, SourceModel
from .modules import module_name_for
from .text import extract_text
from .yaml_keys import extract_yaml

__all__ = ["decode_lines", "extract", "language_for", "module_name_for"]

_NEWLINE = re.compile(r"\r\n|\r|\n")


def language_for(path: str) -> Language:
    lowered = path.lower()
    if lowered.endswith((".py", ".pyi")):
        return Language.PYTHON
    if lowered.endswith((".yaml", ".yml")):
        return Language.YAML
    return Language.TEXT


def decode_lines(data: bytes) -> tuple[tuple[str, ...], str | None]:
    """Split bytes into lines the way Python's tokenizer counts them (``\\r\\n``, ``\\r``, ``\\n``).

    Returns the lines and, when the bytes are not valid UTF-8, a description of the problem
    (the lines are then decoded with replacement characters so the page still shows them).
    """
    problem = None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"is not valid UTF-8 at byte {exc.start}"
        text = data.decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff")
    if not text:
        return (), problem
    lines = _NEWLINE.split(text)
    if lines[-1] == "":
        lines.pop()
    return tuple(lines), problem


def extract(path: str, data: bytes) -> SourceModel:
    sha256 = hashlib.sha256(data).hexdigest()
    lines, problem = decode_lines(data)
    language = language_for(path)
    if problem or b"\x00" in data:
        reason = problem or "holds NUL bytes"
        finding = Finding(
            "E103",
            f"source {reason}",
            path,
            hint="the page shows the lines as text; its notes cannot anchor until the file decodes",
        )
        return SourceModel(path=path, language=language, lines=lines, findings=(finding,), sha256=sha256)
    if language is Language.PYTHON:
        from .python import extract_python  # imported on a cache miss only; libcst only for files the line reader cannot decide

        return extract_python(path, lines, sha256)
    if language is Language.YAML:
        return extract_yaml(path, lines, sha256)
    return extract_text(path, lines, sha256)
