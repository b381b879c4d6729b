"""Exports of the annotations outside the site: the upstream code with the notes as comments
(:mod:`.annotated_source`) and CodeTour tours for VS Code (:mod:`.codetour`).

Both read the same resolved analyses as the pages (``Engine(project).analyses()``), are
deterministic, write atomically under a folder of their own (with a manifest, so a file they did
not write is never replaced) and refuse to export a file whose notes are orphaned unless
``allow_orphans`` is set. The command line calls :func:`export_annotated_source` and
:func:`export_codetour`.
"""

from .annotated_source import AnnotatedSource, annotate_file, export_annotated_source, reflow, strip_annotations
from .codetour import build_tours, export_codetour, line_pattern, validate

__all__ = [
    "AnnotatedSource",
    "annotate_file",
    "build_tours",
    "export_annotated_source",
    "export_codetour",
    "line_pattern",
    "reflow",
    "strip_annotations",
    "validate",
]
