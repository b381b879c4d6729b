"""Hostile input, end to end: every payload is neutralised in the built HTML or refused with a clear error.

The assertions parse the built pages (tests/html_tools.py); nothing here greps for strings to
prove safety.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from annotator_docs.project import Project
from annotator_docs.sidecar import load_sidecar

from .conftest import FIXTURE_PROJECT
from .html_tools import _VOID, dangers, elements

PAYLOADS = yaml.safe_load((Path(__file__).parent / "hostile" / "payloads.yaml").read_text())
SIDE = "annotations/trainer/train_grpo.py.yaml"
MKDOCS_YML = """\
site_name: hostile
site_url: http://127.0.0.1/
theme: {name: material, font: false}
plugins: [search, {annotator: {history: false}}]
markdown_extensions: [pymdownx.snippets]
"""


class _Subtree(HTMLParser):
    """The HTML inside the element with a given id."""

    def __init__(self, wanted: str) -> None:
        super().__init__(convert_charrefs=False)
        self.wanted, self.depth, self.parts = wanted, 0, []

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            self.handle_startendtag(tag, attrs)
        elif self.depth or dict(attrs).get("id") == self.wanted:
            self.depth += 1
            self.parts.append(self.get_starttag_text())

    def handle_startendtag(self, tag, attrs):
        if self.depth:
            self.parts.append(self.get_starttag_text())

    def handle_endtag(self, tag):
        if self.depth:
            self.parts.append(f"</{tag}>")
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)

    def handle_entityref(self, name):
        self.handle_data(f"&{name};")

    def handle_charref(self, name):
        self.handle_data(f"&#{name};")


def subtree(page: str, element_id: str) -> str:
    parser = _Subtree(element_id)
    parser.feed(page)
    assert parser.parts, f"no element #{element_id}"
    return "".join(parser.parts)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("hostile") / "project"
    shutil.copytree(FIXTURE_PROJECT, project)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / ".git/config").write_text("[http]\n\textraheader = AUTHORIZATION: basic SECRET-TOKEN\n")
    sidecar = project / SIDE
    notes = "".join(f"  - id: hostile-{name}\n    body: {json.dumps(body)}\n" for name, body in PAYLOADS.items())
    text = sidecar.read_text().replace(
        'title: "Toy GRPO trainer"', 'title: "<img src=x onerror=alert(1)>Trainer</title><script>alert(2)</script>"'
    )
    sidecar.write_text(text + notes)
    (project / "mkdocs.yml").write_text(MKDOCS_YML)
    (project / "docs").mkdir()
    (project / "docs/index.md").write_text("# Home\n")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build"], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return project / "site"


@pytest.fixture(scope="module")
def hostile_page(hostile_site) -> str:
    return (hostile_site / "files/trainer/train_grpo.py/index.html").read_text()


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_payload_is_neutralised(hostile_page, name):
    note = subtree(hostile_page, f"note-hostile-{name}")
    assert dangers(note) == []
    for tag in ("script", "iframe", "object", "embed", "form", "base", "meta", "link", "style", "svg", "input"):
        assert elements(note, tag) == [], tag
    for element in elements(note, "div") + elements(note, "a") + elements(note, "span") + elements(note, "p"):
        assert "style" not in element
        assert not element.get("id", "").startswith("__")
        classes = element.get("class", "").split()
        assert not any(c.startswith("md-") or c in ("ann-error", "ann-meta", "ann-row", "ann-line") for c in classes), classes


def test_the_whole_article_has_no_live_script_or_handler(hostile_page):
    assert dangers(hostile_page, within="article") == []


def test_snippet_syntax_does_not_include_files(hostile_page):
    note = subtree(hostile_page, "note-hostile-snippet-include")
    assert "SECRET-TOKEN" not in note and "root:" not in note
    assert "--8&lt;--" in note or "--8<--" in note  # shown as text


def test_remote_images_lose_their_source_and_local_ones_keep_it(hostile_page):
    images = elements(subtree(hostile_page, "note-hostile-remote-image"), "img")
    assert [i.get("src") for i in images] == [None, "../img.png"]


def test_links_keep_safe_urls_only(hostile_page):
    links = elements(subtree(hostile_page, "note-hostile-javascript-url"), "a")
    assert links and all("href" not in a for a in links)
    assert all("noopener" in a.get("rel", "") for a in links)


def test_mermaid_source_is_text_and_rendered_strictly(hostile_page):
    note = subtree(hostile_page, "note-hostile-mermaid-payload")
    (_diagram,) = [d for d in elements(note, "pre") if d.get("class") == "ann-mermaid"]
    assert elements(note, "img") == [] and elements(note, "script") == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in note  # the diagram's source is text, escaped


def test_title_is_escaped_everywhere(hostile_site):
    for page in hostile_site.rglob("*.html"):
        html = page.read_text()
        assert all("onerror" not in img for img in elements(html, "img")), page
        scripts_in_article = dangers(html, within="article")
        assert scripts_in_article == [], page
    page = (hostile_site / "files/trainer/train_grpo.py/index.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;Trainer" in page


# -- YAML and bytes ----------------------------------------------------------------------------
def load(data: bytes):
    return load_sidecar(data, "annotations/x.py.yaml")


def test_yaml_alias_bomb_is_refused():
    bomb = b"source: a.py\n" + b"".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else 'x'}]\n".encode() for i in range(10)
    )
    result = load(bomb)
    assert result.sidecar is None and result.findings[0].code == "S005"


def test_deeply_nested_yaml_is_refused():
    assert load(b"source: a.py\nnotes:\n" + b"  - " * 1 + b"{a: " * 200 + b"1" + b"}" * 200 + b"\n").findings[0].code in (
        "S004",
        "S007",
    )


def test_fifty_megabyte_sidecar_is_refused_without_reading(project_dir, run, monkeypatch):
    big = project_dir / "annotations/trainer/rewards.py.yaml"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    real_read = Path.read_bytes

    def guarded_read(self):
        assert self != big, "the 50 MB sidecar was read"
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", guarded_read)
    code, out, _ = run("--root", project_dir, "check", "trainer/rewards.py")
    assert code == 1 and "annotations/trainer/rewards.py.yaml:1:1: S002 sidecar is 52428800 bytes" in out


@pytest.mark.parametrize(
    "data, code",
    [
        (b"source: '\xff\xfe'\n", "S003"),
        (b"source: a.py\x00\n", "S003"),
        (b"source: a.py\nsource: b.py\n", "S009"),
        (b"source: a.py\nnotes:\n  - body: x\n    body: y\n", "S009"),
    ],
    ids=["non-utf8", "nul", "duplicate-top", "duplicate-in-note"],
)
def test_bytes_and_duplicates_are_clear_errors(data, code):
    assert load(data).findings[0].code == code


def test_bom_and_crlf_sidecars_load():
    assert load(b"\xef\xbb\xbfsource: a.py\r\nnotes: []\r\n").sidecar is not None


# -- paths ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["../outside.py", "/etc/passwd", "a/./b.py", "a\\b.py"])
def test_sidecar_sources_cannot_leave_the_project(source):
    finding = load(f"source: {json.dumps(source)}\n".encode()).findings[0]
    assert finding.code == "S010" and ".source" in finding.message


def test_symlinked_sidecar_outside_annotations_is_refused(project_dir, tmp_path, run):
    outside = tmp_path / "evil.yaml"
    outside.write_text('source: "trainer/rewards.py"\nnotes: []\n')
    (project_dir / "annotations/trainer/rewards.py.yaml").symlink_to(outside)
    code, out, _ = run("--root", project_dir, "check")
    assert code == 1 and "annotations/trainer/rewards.py.yaml:1:1: S011" in out


def test_safe_join_follows_links_only_to_inside_the_root(tmp_path):
    """Each kind of path below a root: plain and missing ones are joined; a link anywhere on the way
    (the file or a folder above it) is resolved, and refused when it leaves the root."""
    from annotator_docs.findings import AnnotatorError
    from annotator_docs.paths import safe_join

    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "notes").mkdir(parents=True)
    outside.mkdir()
    (root / "notes/plain.yaml").write_text("x")
    (outside / "secret.yaml").write_text("x")
    (root / "notes/inner.yaml").symlink_to(root / "notes/plain.yaml")
    (root / "notes/escape.yaml").symlink_to(outside / "secret.yaml")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "notes/loop.yaml").symlink_to(root / "notes/loop.yaml")

    def join(relative: str) -> Path:
        return safe_join(root, relative, what="sidecar", root_resolved=root.resolve())

    assert join("notes/plain.yaml") == root.resolve() / "notes/plain.yaml"
    assert join("notes/missing/deeper.yaml") == root.resolve() / "notes/missing/deeper.yaml"
    assert join("notes/plain.yaml/below") == root.resolve() / "notes/plain.yaml/below"
    assert join("notes/inner.yaml") == root.resolve() / "notes/plain.yaml"  # resolved, not the link
    for escaping in ("notes/escape.yaml", "linked/secret.yaml", "linked/missing.yaml"):
        with pytest.raises(AnnotatorError, match="resolves outside"):
            join(escaping)
    with pytest.raises((RuntimeError, OSError)):
        join("notes/loop.yaml")


def test_symlinked_source_outside_the_tree_is_not_read(project_dir):
    target = project_dir / "src/trainer/rewards.py"
    target.unlink()
    target.symlink_to("/etc/hostname")
    project = Project.open(project_dir)
    assert project.read_source(project.lock.file("trainer/rewards.py")) is None
