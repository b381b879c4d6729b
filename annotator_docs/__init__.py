"""annotator: expert notes beside real code, anchored to symbols, published as a static site.

The pipeline runs in one direction; each stage is a module and a pure function of its inputs:

    lock.py / snapshot.py   the pinned upstream files (pull, verify)
    extract/                source bytes -> SourceModel (symbols, spans, imports, banners)
    sidecar.py              annotations/<path>.yaml -> Sidecar (safe, bounded, schema-checked)
    anchors.py              Sidecar + SourceModel -> ResolvedNote (intact | moved | changed | orphaned)
    coverage.py             resolved notes + model -> FileProgress (metrics, checklist, status)
    render/                 pages and dashboard as Markdown with pre-rendered, sanitized HTML
    site.py                 the engine: every page of a project, cached and deterministic
    mkdocs_plugin.py        thin adapter for mkdocs; cli.py the command line
"""

__version__ = "0.1.0"
