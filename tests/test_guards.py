"""The guards of SECURITY.md, each through a real build: a planted cache entry is never trusted, no
write goes through a committed symlink, and one hostile diagram cannot switch off the others."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .conftest import run_mkdocs, write_site
from .html_tools import elements

SIDECAR = "annotations/trainer/train_grpo.py.yaml"
PAGE = "site/files/trainer/train_grpo.py/index.html"


def mkdocs(project: Path, *flags: str) -> subprocess.CompletedProcess:
    return run_mkdocs(project, *flags, env={"XDG_CACHE_HOME": str(project.parent / "xdg")})


def pages(project: Path) -> dict[str, bytes]:
    return {p.relative_to(project / "site").as_posix(): p.read_bytes() for p in (project / "site/files").rglob("index.html")}


def test_a_planted_cache_entry_is_ignored_and_computed_again(project_dir):
    write_site(project_dir)
    assert mkdocs(project_dir).returncode == 0
    clean = pages(project_dir)
    cache = project_dir / ".annotator-cache"
    planted = 0
    for entry in cache.rglob("*"):
        if entry.suffix == ".json":  # keep the header and its HMAC, change the data: what a pull request could commit
            head, newline, payload = entry.read_bytes().partition(b"\n")
            assert newline and json.loads(head)["hmac"], entry
            changed = payload.replace(b"toy", b"<script>planted()</script>")
            entry.write_bytes(head + newline + (changed if changed != payload else payload + b" "))
            planted += 1
        elif entry.suffix == ".html":  # side files of large HTML blocks
            entry.write_text("<script>planted()</script>")
            planted += 1
    assert planted > 10
    result = mkdocs(project_dir)
    assert result.returncode == 0, result.stderr
    assert pages(project_dir) == clean
    assert not any(b"planted()" in page for page in pages(project_dir).values())
    assert not any("planted()" in e.read_text(errors="replace") for e in cache.rglob("*") if e.is_file())  # rewritten


def test_a_committed_site_symlink_is_refused_and_its_target_untouched(project_dir, tmp_path, run):
    write_site(project_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep me")
    (project_dir / "site").symlink_to(elsewhere, target_is_directory=True)
    result = mkdocs(project_dir)
    assert result.returncode != 0 and "P004 site folder" in result.stderr and "is a symbolic link" in result.stderr
    code, _, err = run("--root", project_dir, "build")
    assert code == 2 and "P004 site folder" in err
    assert [p.name for p in elsewhere.iterdir()] == ["precious.txt"]


def test_a_committed_cache_symlink_is_not_written_through(project_dir, tmp_path):
    write_site(project_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project_dir / ".annotator-cache").symlink_to(elsewhere, target_is_directory=True)
    result = mkdocs(project_dir)
    assert result.returncode == 0, result.stderr  # the build runs, caching in memory only, and says why
    assert "P004 cache folder" in result.stderr and "is a symbolic link" in result.stderr
    assert (project_dir / PAGE).is_file() and list(elsewhere.iterdir()) == []
    assert mkdocs(project_dir, "--strict").returncode == 1  # and CI refuses the pull request


DIAGRAM = "```mermaid\nflowchart LR\n  A{n}[step {n}] --> B{n}[next {n}]\n```"
HOSTILE = [
    '%%{init: {"securityLevel": "loose"}}%%\nflowchart LR\n  X --> Y',
    "---\nconfig:\n  securityLevel: loose\n---\nflowchart LR\n  X --> Y",
]


def diagram_notes(project: Path) -> None:
    """Three good diagrams, one init directive, one front-matter config, one raw <pre class="mermaid">."""
    text = (project / SIDECAR).read_text()
    notes = [f"  - body: |\n{_indent(DIAGRAM.format(n=n))}\n" for n in (1, 2, 3)]
    fences = ["```mermaid\n" + source + "\n```" for source in HOSTILE]
    notes += [f"  - body: |\n{_indent(fence)}\n" for fence in fences]
    notes.append('  - body: "<pre class=\\"mermaid\\">flowchart LR\\n  P --> Q</pre>"\n')
    (project / SIDECAR).write_text(text + "".join(notes))


def _indent(block: str) -> str:
    return "\n".join("      " + line for line in block.split("\n"))


def test_a_hostile_diagram_is_a_finding_and_the_others_stay(project_dir):
    diagram_notes(project_dir)
    write_site(project_dir)
    strict = mkdocs(project_dir, "--strict")
    assert strict.returncode != 0
    assert strict.stderr.count("M004 a Mermaid diagram tries to set Mermaid's configuration") == 2
    result = mkdocs(project_dir)
    assert result.returncode == 0, result.stderr
    page = (project_dir / PAGE).read_text()
    diagrams = [e for e in elements(page, "pre") if "ann-mermaid" in e.get("class", "").split()]
    assert len(diagrams) == 3  # the three good ones, and nothing a note wrote by hand
    assert not [e for e in elements(page, "pre") if "mermaid" in e.get("class", "").split()]
    assert page.count("This diagram was not drawn: it tries to change Mermaid") == 2
    assert "securityLevel" not in page.replace("securityLevel: trusted", "")


def test_sidecar_text_cannot_forge_a_workflow_command_in_the_mkdocs_log(project_dir):
    text = (
        (project_dir / SIDECAR)
        .read_text()
        .replace('  - symbol: "logger"', '  - symbol: "logger\\n::error file=forged.py::pwned"', 1)
    )
    (project_dir / SIDECAR).write_text(text)
    write_site(project_dir)
    result = mkdocs(project_dir)
    log = result.stdout + result.stderr
    assert "train_grpo.py.yaml:47:13: S010 .notes[4].symbol: must be one line without control characters" in log
    assert "pwned" not in log and not any(line.startswith("::") for line in log.splitlines())  # never echoed


def test_a_note_past_its_render_budget_becomes_a_box_and_a_finding(monkeypatch):
    from annotator_docs.render import markdown

    monkeypatch.setattr(markdown, "RENDER_BUDGET_SECONDS", 0.000_001)  # any real note takes longer
    result = markdown.NoteRenderer().render(
        "A *note* with `code` and a [link](https://example.org).\n" * 200, where="a.yaml", line=7
    )
    assert [(f.code, f.path, f.line) for f in result.findings] == [("M003", "a.yaml", 7)]
    assert "could not render" in result.html and "<em>" not in result.html


def test_only_the_classes_the_renderer_emits_survive():
    from annotator_docs.render.markdown import NoteRenderer

    html = (
        NoteRenderer()
        .render('<span class="md k ann-mermaid md-typeset x">a</span>\n\n!!! note\n    kept\n\n```python\nx = 1\n```\n')
        .html
    )
    classes = {c for e in elements(html, "span") + elements(html, "div") for c in e.get("class", "").split()}
    assert {"md", "md-typeset", "ann-mermaid"}.isdisjoint(classes)  # no class by pattern; diagrams only by fence
    assert {"admonition", "note", "highlight", "k"} <= classes


def test_a_self_looping_sidecar_symlink_is_a_finding(project_dir, run):
    loop = project_dir / "annotations/trainer/loop.py.yaml"
    loop.symlink_to(loop)
    code, out, _ = run("--root", project_dir, "check")
    assert code == 1 and "annotations/trainer/loop.py.yaml:1:1: S022" in out


def test_the_disk_cache_prunes_old_unused_entries_and_keeps_the_rest(tmp_path, monkeypatch):
    """Each build forgets what it did not use: an entry unused and older than PRUNE_AFTER_SECONDS is
    deleted, a used or recent one stays; a long serve session scans at most every PRUNE_EVERY_SECONDS."""
    import os
    import time

    from annotator_docs import cache as cache_module

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "project").mkdir()
    cache = cache_module.Cache.for_project(tmp_path / "project")
    for key in ("used", "old", "recent"):
        cache.put("extract", key, f"value of {key}")
    folder = cache.directory / "extract"
    old = time.time() - cache_module.PRUNE_AFTER_SECONDS - 60
    for key in ("used", "old"):
        os.utime(folder / f"{key}.json", (old, old))

    cache.start_build()
    assert cache.get("extract", "used", str) == "value of used"
    cache.finish_build(("extract",))
    assert sorted(p.stem for p in folder.iterdir()) == ["recent", "used"]
    assert cache.get("extract", "old", str) is None  # gone from memory too

    os.utime(folder / "recent.json", (old, old))  # now old and unused, but the last scan was just now
    cache.put("template", "stale", "compiled")
    os.utime(cache.directory / "template/stale.json", (old, old))
    cache.start_build()
    cache.finish_build(("extract",))
    assert (folder / "recent.json").exists()
    cache.finish_build(("template",))  # other kinds (the theme's, after the pages) have their own scan
    assert not (cache.directory / "template/stale.json").exists()
    later = time.monotonic() + cache_module.PRUNE_EVERY_SECONDS + 1
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: later)
    cache.start_build()
    assert cache.get("extract", "used", str) == "value of used"
    cache.finish_build(("extract",))
    assert sorted(p.stem for p in folder.iterdir()) == ["used"]


def test_a_new_process_reads_resolved_notes_from_disk_and_they_equal_a_fresh_resolve(project_dir, monkeypatch):
    """A warm start does not resolve the notes again: the disk entry gives the same analyses; an edited
    sidecar is resolved afresh."""
    from annotator_docs import engine as engine_module
    from annotator_docs.cache import Cache
    from annotator_docs.project import Project

    monkeypatch.setenv("XDG_CACHE_HOME", str(project_dir.parent / "xdg"))
    first = engine_module.Engine(Project.open(project_dir)).analyses()
    fresh = engine_module.Engine(Project.open(project_dir), Cache(None)).analyses()
    assert first == fresh

    def resolve_again(*args, **kwargs):
        raise AssertionError("resolved again on a warm start")

    with monkeypatch.context() as patch:
        patch.setattr(engine_module, "analyse_file", resolve_again)
        assert engine_module.Engine(Project.open(project_dir)).analyses() == first

    sidecar = project_dir / SIDECAR
    sidecar.write_text(sidecar.read_text() + "\n# an edit\n")
    resolved = []
    real = engine_module.analyse_file
    monkeypatch.setattr(engine_module, "analyse_file", lambda *a: resolved.append(a[0].key) or real(*a))
    engine_module.Engine(Project.open(project_dir)).analyses()
    assert resolved == ["trainer/train_grpo.py"]


def test_compiled_templates_come_back_from_the_disk_cache_only_for_the_same_source(tmp_path, monkeypatch):
    """A new process (a new Cache on the same folder) renders the theme's templates without compiling
    them; a changed template, or an entry whose payload was altered, is compiled again."""
    import jinja2

    from annotator_docs.cache import Cache, TemplateBytecode

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "project").mkdir()
    templates = {"page.html": "<p>{{ title }}</p>{% include 'part.html' %}", "part.html": "<i>{{ title|upper }}</i>"}

    def render() -> tuple[str, list[str]]:
        env = jinja2.Environment(loader=jinja2.DictLoader(templates), autoescape=True)
        env.bytecode_cache = TemplateBytecode(Cache.for_project(tmp_path / "project"))
        compiled: list[str] = []
        compile_source = env.compile

        def counting(source, name=None, filename=None, raw=False, defer_init=False):
            compiled.append(name)
            return compile_source(source, name, filename, raw, defer_init)

        env.compile = counting  # type: ignore[method-assign]
        return env.get_template("page.html").render(title="a<b"), compiled

    first, compiled = render()
    assert first == "<p>a&lt;b</p><i>A&lt;B</i>" and sorted(compiled) == ["page.html", "part.html"]
    assert render() == (first, [])
    templates["part.html"] = "<b>{{ title }}</b>"
    assert render() == ("<p>a&lt;b</p><b>a&lt;b</b>", ["part.html"])
    for entry in (tmp_path / "project/.annotator-cache" / TemplateBytecode.KIND).iterdir():
        head, _, payload = entry.read_bytes().partition(b"\n")
        entry.write_bytes(head + b"\n" + payload + b" ")  # still JSON, no longer what was signed
    again, compiled = render()
    assert again == "<p>a&lt;b</p><b>a&lt;b</b>" and sorted(compiled) == ["page.html", "part.html"]
