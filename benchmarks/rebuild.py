"""One `mkdocs serve` rebuild of the real site, in process, stage by stage. Run by hand:

    .venv/bin/python benchmarks/rebuild.py            # 6 saves of a note in grpo.py's sidecar
    .venv/bin/python benchmarks/rebuild.py --saves 10

The site is copied to a temporary directory as in `benchmarks/serve.py`; the plugins are started as
`mkdocs serve` starts them (kept across rebuilds), one build warms them, then each save is followed
by one rebuild. Prints the mean rebuild and the mean time in each of mkdocs' stages and plugin
events (nested: a page's render is inside `_build_page`).
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib.util
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import jinja2
import mkdocs.commands.build as build_module
import mkdocs.plugins as plugins_module
import mkdocs.structure.files as files_module
import mkdocs.structure.pages as pages_module
from mkdocs.config import load_config

_spec = importlib.util.spec_from_file_location("serve_benchmark", Path(__file__).with_name("serve.py"))
assert _spec and _spec.loader
_serve = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_serve)

EVENTS = ("on_config", "on_pre_build", "on_files", "on_nav", "on_env", "on_page_markdown", "on_page_content")
EVENTS += ("on_page_context", "on_post_page", "on_post_build")
spent: collections.defaultdict[str, float] = collections.defaultdict(float)


def timed(owner: Any, name: str, label: str | None = None) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label or name] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=6)
    args = parser.parse_args()
    for name in ("get_files", "get_navigation", "_populate_page", "_build_page", "_build_theme_template"):
        timed(build_module, name)
    timed(build_module.utils, "write_file")
    timed(files_module.Files, "add_files_from_theme")
    timed(files_module.Files, "copy_static_files")
    timed(pages_module.Page, "render", "Page.render (Markdown)")
    timed(jinja2.Template, "render", "jinja2 Template.render")
    for event in EVENTS:
        timed(plugins_module.PluginCollection, event, f"plugins {event}")
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="annotator-rebuild-") as workspace:
        site = _serve.copy_site(Path(workspace))
        sidecar = site / _serve.SIDECAR
        original = sidecar.read_text()

        def config() -> Any:
            loaded = load_config(config_file=str(site / "mkdocs.yml"), site_dir=str(Path(workspace) / "site"))
            loaded.site_url = "http://127.0.0.1:8000/"
            return loaded

        first = config()
        first.plugins.on_startup(command="serve", dirty=False)
        build_module.build(first, serve_url=first.site_url)
        spent.clear()
        total = 0.0
        for save in range(args.saves):
            sidecar.write_text(original.replace(_serve.OVERVIEW, f"{_serve.OVERVIEW}edit-{save} ", 1))
            started = time.perf_counter()
            again = config()
            spent["load_config"] += time.perf_counter() - started
            build_module.build(again, serve_url=again.site_url)
            total += time.perf_counter() - started
    print(f"rebuild after a save: mean {total / args.saves:.3f} s over {args.saves} saves")
    for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {label:34} {seconds / args.saves:.3f}")


if __name__ == "__main__":
    main()
