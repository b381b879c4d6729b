"""``annotator new DIR --repo OWNER/NAME --commit SHA [FILES…]``: a working annotated site in one command.

What ``mkdocs new`` is to mkdocs: a folder with ``mkdocs.yml`` (Material and the plugin), a lock
pinning the files with their hashes, the files pulled, a scaffolded and pinned sidecar per file,
``docs/index.md``, a README and a Makefile with the two commands (serve, check). The site is built
in a hidden folder beside ``DIR`` and moved into place only when it is complete, so a failure (a
file missing at that commit, no network) leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import snapshot
from .findings import fail
from .layout import sidecar_path
from .lock import lock_text
from .models import Lock, LockedFile, Source
from .paths import check_relative_path, write_atomic

_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_NAME = re.compile(r"[^a-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class NewSite:
    root: Path
    source: Source
    sidecars: tuple[str, ...]  # project-relative paths of the scaffolded sidecars


def new_site(
    target: Path,
    *,
    repository: str,
    commit: str,
    files: list[str],
    from_git: Path | None = None,
    from_dir: Path | None = None,
    site_repository: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> NewSite:
    target = target.absolute()
    if target.is_symlink() or (target.exists() and (not target.is_dir() or any(target.iterdir()))):
        fail("C002", f"{target} already exists and is not an empty folder; `annotator new` never writes into one")
    if not _REPOSITORY.match(repository):
        fail("C002", f"`{repository}` is not a GitHub repository", hint="give it as OWNER/NAME, e.g. huggingface/open-r1")
    if site_repository is not None and not _REPOSITORY.match(site_repository):
        fail("C002", f"`{site_repository}` is not a GitHub repository", hint="give --site-repo as OWNER/NAME")
    for path in files:
        check_relative_path(path, what="file", code="C002")
    if len(set(files)) != len(files):
        fail("C002", "a file is listed twice")
    commit, ref = _resolve(commit, from_git)
    name = _NAME.sub("-", repository.split("/", 1)[1].lower()).strip("-._") or "upstream"
    source = Source(
        name=name,
        files=(),
        snapshot_dir=f"source_snapshot/{name}",
        repository=repository,
        commit=commit,
        ref=ref,
    )
    progress(f"reading {len(files)} file(s) of {repository} at {commit[:12]}")
    if from_git is not None:
        contents = snapshot.read_from_git(from_git, commit, files)
    elif from_dir is not None:
        contents = snapshot.read_from_dir(from_dir, files)
    else:
        contents = snapshot.read_from_github(source, files, progress)
    missing = [path for path in files if path not in contents]
    if missing:
        fail("P003", f"{repository}: {', '.join(missing)} not found at {commit[:12]}")
    locked = tuple(
        LockedFile(source=name, path=path, key=path, sha256=snapshot.sha256_of(contents[path]), group="Files") for path in files
    )
    source = dataclasses.replace(source, files=locked)

    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        lock_file = stage / "source_snapshot" / "snapshot.lock"
        lock_file.parent.mkdir(parents=True)
        lock = Lock(lock_path=lock_file, version=2, sources=(source,))
        header = f"# {repository} at {commit}: the files this site annotates, with their sha256 (annotator lock add PATH)."
        write_atomic(lock_file, lock_text(lock, header).encode("utf-8"))
        write_atomic(stage / "source_snapshot" / ".gitignore", _SNAPSHOT_GITIGNORE.encode("utf-8"))
        if locked:
            snapshot.pull(stage, lock, {name: contents})
        sidecars = _scaffold(stage, progress)
        title = repository.split("/", 1)[1]
        site_files = _site_files(title, repository, commit, site_repository, files)
        if site_repository:
            site_files["overrides/partials/source.html"] = _SOURCE_PARTIAL
        for relative, text in site_files.items():
            write_atomic(stage / relative, text.encode("utf-8"))
        if target.exists():
            target.rmdir()  # empty (checked above); os.replace cannot replace a directory
        os.replace(stage, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return NewSite(target, source, sidecars)


def _resolve(commit: str, from_git: Path | None) -> tuple[str, str | None]:
    """A full SHA as it is; a tag or branch is resolved in the mirror (and kept as the lock's ``ref``)."""
    if _SHA.match(commit):
        return commit, None
    if from_git is None:
        fail("C002", f"`{commit}` is not a full commit SHA", hint="give the 40-character SHA, or --from-git DIR to resolve a tag")
    resolved = subprocess.run(
        ["git", "-C", str(from_git), "rev-parse", "--verify", "--end-of-options", f"{commit}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if resolved.returncode != 0:
        fail("P002", f"{from_git}: `{commit}` is not a tag, branch or commit there")
    return resolved.stdout.strip(), commit


def _scaffold(root: Path, progress: Callable[[str], None]) -> tuple[str, ...]:
    """A sidecar per file listing its symbols, pinned, exactly as `annotator init` and `pin` write them."""
    from .cache import Cache
    from .edit import pin_sidecar, scaffold, schema_reference
    from .engine import Engine
    from .project import Project

    project = Project.open(root)
    engine = Engine(project, Cache(None))  # memory only: the new folder gets no cache
    written = []
    for file in project.lock.files:
        model = engine.model(file, project.read_source(file))
        if model is None:  # not a language annotator reads: no scaffold, the page still shows the code
            continue
        target = project.sidecar_file(file)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, scaffold(model, schema_reference(root, project.annotations_dir, target)).encode("utf-8"))
        written.append(sidecar_path(file))
    engine = Engine(project, Cache(None))  # a fresh engine reads the new sidecars
    for analysis in engine.analyses():
        if analysis.sidecar is None:
            continue
        target = project.sidecar_file(analysis.file)
        text, _ = pin_sidecar(target.read_text("utf-8"), analysis)
        write_atomic(target, text.encode("utf-8"))
    progress(f"scaffolded {len(written)} sidecar(s) in annotations/")
    return tuple(written)


_SOURCE_PARTIAL = """\
{#- Material's repository link without `data-md-component="source"`, which would make every reader's
    browser ask api.github.com for stars and forks. -#}
<a href="{{ config.repo_url }}" title="{{ lang.t('source') }}" class="md-source">
  <div class="md-source__icon md-icon">
    {% set icon = config.theme.icon.repo or "fontawesome/brands/git-alt" %}
    {% include ".icons/" ~ icon ~ ".svg" %}
  </div>
  <div class="md-source__repository">{{ config.repo_name }}</div>
</a>
"""

_SNAPSHOT_GITIGNORE = """\
# Upstream code is never committed: only the lock file lives here (annotator snapshot pull).
*
!.gitignore
!snapshot.lock
"""


def _site_files(title: str, repository: str, commit: str, site_repository: str | None, files: list[str]) -> dict[str, str]:
    edit = (
        f"repo_url: https://github.com/{site_repository}\n"
        "edit_uri: edit/main/docs/  # the plugin points a file page's edit link at its sidecar\n"
        if site_repository
        else "# repo_url: https://github.com/OWNER/SITE  (this site's repository: the edit link opens a page's sidecar)\n"
    )
    custom_dir = "  custom_dir: overrides  # the repository link without a request to api.github.com\n" if site_repository else ""
    listing = "\n".join(f"- [`{path}`](files/{path}.md)" for path in files) or (
        "No files yet: add one with `annotator lock add PATH`, then `annotator init PATH`."
    )
    return {
        "mkdocs.yml": f"""\
site_name: {title}, annotated
site_description: {repository} with notes beside the code, pinned at {commit[:12]}.
{edit}
theme:
  name: material
  font: false
{custom_dir}  features:
    - content.action.edit
    - navigation.sections
    - navigation.top
    - search.highlight

plugins:
  - search
  - annotator

validation:
  links:
    absolute_links: relative_to_docs

markdown_extensions:
  - admonition
  - toc:
      permalink: true
  - pymdownx.highlight
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: ann-mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format

nav:
  - Home: index.md
  - annotator:files
  - Progress: progress.md
""",
        "docs/index.md": f"""\
# {title}, annotated

[{repository}](https://github.com/{repository}) at
[`{commit[:12]}`](https://github.com/{repository}/tree/{commit}), with notes beside the code.

{listing}

How far the notes are: the [progress dashboard](progress.md).
""",
        "README.md": f"""\
# {title}, annotated

Notes on [{repository}](https://github.com/{repository}), kept in `annotations/` (one YAML sidecar per
file, anchored to symbols) and published beside the code with
[annotator](https://pypi.org/project/annotator-docs/).

```bash
make serve   # install, then serve the site on http://127.0.0.1:8000/ (a saved note shows on reload)
make check   # what CI runs: every note resolved, pinned and well-formed (annotator check --strict)
```

The upstream files are pinned in `source_snapshot/snapshot.lock` and pulled on demand
(`annotator snapshot pull`); they are never committed here.
""",
        "Makefile": """\
# Two commands: `make serve` (install once, then serve with live reload) and `make check` (what CI runs).
VENV ?= .venv
STAMP := $(VENV)/.installed

.PHONY: serve build check

$(STAMP):
\t@echo "annotator: creating $(VENV) and installing annotator-docs (about a minute, once)"
\tpython3 -m venv $(VENV)
\t$(VENV)/bin/python -m pip install --quiet annotator-docs
\t@touch $(STAMP)

snapshot: $(STAMP)
\t@$(VENV)/bin/annotator snapshot verify >/dev/null 2>&1 || $(VENV)/bin/annotator snapshot pull

serve: snapshot
\t$(VENV)/bin/mkdocs serve -a 127.0.0.1:8000

build: snapshot
\t$(VENV)/bin/annotator build --strict

check: snapshot
\t$(VENV)/bin/annotator check --strict
""",
        ".gitignore": "/.venv/\n/site/\n.annotator-cache/\n",
    }
