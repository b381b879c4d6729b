"""The Jinja2 environment for every page annotator writes: autoescaping on, templates overridable.

Templates live in ``annotator_docs/templates/annotator/``. A site overrides one by putting a file of
the same name under ``<theme custom_dir>/annotator/`` (the mkdocs convention for theme overrides);
the override is searched first.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

PACKAGE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@cache
def environment(overrides: tuple[str, ...] = ()) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(directory) for directory in overrides]
    loaders.append(jinja2.FileSystemLoader(str(PACKAGE_TEMPLATES)))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )


def render(name: str, overrides: tuple[str, ...] = (), **values: object) -> str:
    return environment(overrides).get_template(f"annotator/{name}").render(**values)
