"""Building a project with each builder: mkdocs + the plugin, ProperDocs + the plugin, and
`annotator generate` followed by Zensical (which runs no third-party plugins)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BUILDERS = ("mkdocs", "properdocs", "zensical")
ENV = {"NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Built:
    builder: str
    site: Path
    pages: set[str]  # page URLs, "" for the home page
    warnings: list[str]
    output: str


def plain_config(plugin_config: str) -> str:
    """The same mkdocs.yml for a builder without plugins, as the guide tells annotators to write it:
    no `annotator` plugin or nav placeholder, the references extension, the two assets."""
    config = plugin_config
    for old, new in (
        ("  - annotator\n", ""),
        ("  - annotator:\n      history: false\n", ""),
        ("  - annotator:files\n", ""),
    ):
        config = config.replace(old, new)
    assert not re.search(r"^\s*- annotator\b(?!_docs)", config, re.M), "the plugin is still configured"
    if "markdown_extensions:\n" in config:
        config = config.replace("markdown_extensions:\n", "markdown_extensions:\n  - annotator_docs.references\n", 1)
    else:
        config += "markdown_extensions:\n  - annotator_docs.references\n"
    return config + ("extra_css:\n  - assets/annotator/annotator.css\nextra_javascript:\n  - assets/annotator/annotator.js\n")


def _pages(site: Path) -> set[str]:
    return {"" if p.parent == site else p.parent.relative_to(site).as_posix() for p in site.rglob("index.html")}


def run_builder(command: list[str], cwd: Path) -> tuple[int, str]:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=ENV, timeout=600)
    return result.returncode, ANSI.sub("", result.stdout + result.stderr)


def build_three_ways(project: Path, work: Path) -> dict[str, Built]:
    """Build ``project`` (a folder with a plugin mkdocs.yml) with each builder, each in its own copy."""
    built = {}
    for builder in BUILDERS:
        copy = work / builder
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns("site", ".annotator-cache", ".cache", ".git"))
        site = copy / "site"
        if builder == "zensical":
            code, generated = run_builder([sys.executable, "-m", "annotator_docs", "generate", "--out", "docs", "--strict"], copy)
            assert code == 0, generated
            (copy / "mkdocs.yml").write_text(plain_config((copy / "mkdocs.yml").read_text()))
            code, output = run_builder([sys.executable, "-m", "zensical", "build", "--strict"], copy)
            warnings = [line for line in output.splitlines() if line.startswith(("Warning", "Error"))]
        else:
            code, output = run_builder([sys.executable, "-m", builder, "build", "--strict", "-d", str(site)], copy)
            warnings = [line for line in output.splitlines() if line.startswith(("WARNING", "ERROR"))]
        assert code == 0, f"{builder} failed:\n{output[-4000:]}"
        built[builder] = Built(builder, site, _pages(site), warnings, output)
    return built
