"""`mkdocs serve`: folders watched through OS file events with mkdocs' poll behind them, and search
entries reused for pages a rebuild did not change."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from mkdocs.livereload import LiveReloadServer
from watchdog.events import FileModifiedEvent, FileSystemEventHandler

from annotator_docs.watching import SEEN_FOR_SECONDS, FolderEventsObserver, watch_folders_by_events

from .conftest import FIXTURE_PROJECT, write_site


class FakeObserver:
    """An observer that records what it is given; the test plays the events a real one would send."""

    def __init__(self, refuse_start: bool = False) -> None:
        self.handlers: dict[str, FileSystemEventHandler] = {}
        self.refuse_start, self.started, self.stopped = refuse_start, False, False

    def schedule(self, handler, path, *, recursive=False, event_filter=None):
        self.handlers[path] = handler
        return ("watch", path, event_filter is not None)

    def unschedule(self, watch):
        del self.handlers[watch[1]]

    def start(self):
        if self.refuse_start:
            raise OSError(28, "inotify watch limit reached")
        self.started = True

    def stop(self):
        self.stopped = True

    def join(self, timeout=None):
        pass

    def is_alive(self):
        return self.started and not self.stopped


class Recorder(FileSystemEventHandler):
    def __init__(self) -> None:
        self.events: list[str] = []

    def on_any_event(self, event):
        self.events.append(event.src_path)


def observed(tmp_path, *, refuse_start=False):
    polling, native = FakeObserver(), FakeObserver(refuse_start=refuse_start)
    return FolderEventsObserver(polling, native), polling, native  # type: ignore[arg-type]


def test_a_folder_change_passes_once_from_the_os_events_and_the_polls_copy_is_dropped(tmp_path):
    observer, polling, native = observed(tmp_path)
    mkdocs_handler = Recorder()
    observer.schedule(mkdocs_handler, str(tmp_path), recursive=True)
    observer.start()
    assert observer.uses_os_events
    saved, missed = str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")
    native.handlers[str(tmp_path)].dispatch(FileModifiedEvent(saved))
    assert mkdocs_handler.events == [saved]
    polling.handlers[str(tmp_path)].dispatch(FileModifiedEvent(saved))  # the poll's copy, moments later
    assert mkdocs_handler.events == [saved]
    polling.handlers[str(tmp_path)].dispatch(FileModifiedEvent(missed))  # what the OS did not report
    assert mkdocs_handler.events == [saved, missed]


def test_the_polls_copy_passes_again_once_the_os_event_is_old(tmp_path, monkeypatch):
    observer, polling, native = observed(tmp_path)
    mkdocs_handler = Recorder()
    observer.schedule(mkdocs_handler, str(tmp_path), recursive=True)
    observer.start()
    saved = str(tmp_path / "a.yaml")
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now)
    native.handlers[str(tmp_path)].dispatch(FileModifiedEvent(saved))
    monkeypatch.setattr(time, "monotonic", lambda: now + SEEN_FOR_SECONDS + 0.1)
    polling.handlers[str(tmp_path)].dispatch(FileModifiedEvent(saved))  # a later save the OS missed
    assert mkdocs_handler.events == [saved, saved]


def test_single_files_are_left_to_the_poll(tmp_path):
    config = tmp_path / "mkdocs.yml"
    config.write_text("site_name: x\n")
    observer, polling, native = observed(tmp_path)
    mkdocs_handler = Recorder()
    observer.schedule(mkdocs_handler, str(config))
    assert list(polling.handlers) == [str(config)] and native.handlers == {}
    polling.handlers[str(config)].dispatch(FileModifiedEvent(str(config)))
    assert mkdocs_handler.events == [str(config)]


def test_a_refused_start_leaves_every_change_to_the_poll(tmp_path, caplog):
    observer, polling, native = observed(tmp_path, refuse_start=True)
    mkdocs_handler = Recorder()
    observer.schedule(mkdocs_handler, str(tmp_path), recursive=True)
    with caplog.at_level(logging.INFO, logger="mkdocs.plugins.annotator"):
        observer.start()
    assert not observer.uses_os_events and native.stopped and polling.started
    assert "file events unavailable ([Errno 28] inotify watch limit reached)" in caplog.text
    saved = str(tmp_path / "a.yaml")
    polling.handlers[str(tmp_path)].dispatch(FileModifiedEvent(saved))
    assert mkdocs_handler.events == [saved]
    observer.unschedule(("watch", str(tmp_path), False))
    assert polling.handlers == {}


def test_unwatching_a_folder_stops_both_observers(tmp_path):
    observer, polling, native = observed(tmp_path)
    watch = observer.schedule(Recorder(), str(tmp_path), recursive=True)
    observer.start()
    observer.unschedule(watch)
    assert polling.handlers == {} and native.handlers == {}


def test_mkdocs_serve_rebuilds_on_a_save_long_before_its_poll_and_not_on_reads(tmp_path):
    """A real live-reload server whose poll is a minute apart: only OS events can start the rebuild."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n")
    rebuilds: list[float] = []
    server = LiveReloadServer(
        builder=lambda: rebuilds.append(time.monotonic()),
        host="127.0.0.1",
        port=0,
        root=str(tmp_path / "site"),
        polling_interval=60,
    )
    server.watch(str(docs))
    watch_folders_by_events(server)
    assert isinstance(server.observer, FolderEventsObserver)
    serving = threading.Thread(target=server.serve, daemon=True)
    serving.start()
    try:
        deadline = time.monotonic() + 10
        while not server.observer.uses_os_events and time.monotonic() < deadline:
            time.sleep(0.02)
        if not server.observer.uses_os_events:
            pytest.skip("this machine gives no file events (inotify refused)")
        (docs / "index.md").read_text()  # a read is an event (opened, closed) but not a change
        time.sleep(0.5)
        assert rebuilds == []
        (docs / "index.md").write_text("# Home, edited\n")
        saved = time.monotonic()
        while not rebuilds and time.monotonic() < deadline:
            time.sleep(0.02)
        assert rebuilds and rebuilds[0] - saved < 30, "the save never started a rebuild"
    finally:
        server.shutdown(wait=True)
        serving.join(timeout=10)


SERVE_SESSION = """
import json, logging, sys
from pathlib import Path
from mkdocs.commands.build import build
from mkdocs.config import load_config

project, steps = Path(sys.argv[1]), json.loads(sys.argv[2])
messages = []
class Keep(logging.Handler):
    def emit(self, record):
        messages.append(record.getMessage())
logger = logging.getLogger("mkdocs.plugins.annotator")
logger.addHandler(Keep()); logger.setLevel(logging.DEBUG)
for number, edits in enumerate(steps):
    for path, old, new in edits:  # what an annotator saves between two rebuilds
        target = project / path
        text = target.read_text()
        assert old in text, old
        target.write_text(text.replace(old, new, 1))
    config = load_config(config_file=str(project / "mkdocs.yml"), site_dir=str(project / f"site-{number}"))
    if number == 0:
        config.plugins.on_startup(command="serve", dirty=False)
    build(config)
print(json.dumps([m for m in messages if "reused" in m]))
"""

NOTE_EDIT = ["annotations/trainer/train_grpo.py.yaml", "A module logger.", "A module logger, searchable-edit."]
GUIDE_EDIT = ["docs/guide.md", "Start with the loop.", "Start with the reward."]
CONFIG_EDIT = ["mkdocs.yml", "site_name: fixture", "site_name: fixture renamed"]


def serve_session(project: Path, steps: list[list[list[str]]]) -> list[list[int]]:
    """Builds in one process as `mkdocs serve` makes them (plugins kept, one rebuild per step of
    saves); returns each build's "reused N of M" counts, search entries then theme renders."""
    session = subprocess.run(
        [sys.executable, "-c", SERVE_SESSION, str(project), json.dumps(steps)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"},
    )
    assert session.returncode == 0, session.stderr[-3000:]
    messages = json.loads(session.stdout.strip().splitlines()[-1])
    return [[int(n) for n in re.findall(r"\b\d+\b", m)] for m in messages]


def site_files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def test_serve_rebuilds_reuse_work_and_serve_exactly_what_a_fresh_session_does(tmp_path):
    """Reused search entries and theme renders change nothing: after each save, every file of the
    site equals that of a fresh process's first build of the same sources."""
    original = tmp_path / "original"
    shutil.copytree(FIXTURE_PROJECT, original)
    write_site(original)
    (original / "docs/guide.md").write_text("# Guide\n\n## Reading a trainer\n\nStart with the loop.\n")
    session = tmp_path / "session"
    shutil.copytree(original, session)
    counts = serve_session(session, [[], [NOTE_EDIT, GUIDE_EDIT], [CONFIG_EDIT]])
    search, renders = counts[0::2], counts[1::2]
    pages = search[0][1]
    assert pages > 3 and search[0] == [0, pages] and renders[0] == [0, pages], counts
    # a note and a hand-written page saved: every other page from the memos
    assert search[1] == [pages - 2, pages] and renders[1] == [pages - 2, pages], counts
    # mkdocs.yml saved: the header of every page changes, nothing is reused but search entries
    assert renders[2] == [0, pages] and search[2] == [pages, pages], counts

    for step, edits in ((1, [NOTE_EDIT, GUIDE_EDIT]), (2, [NOTE_EDIT, GUIDE_EDIT, CONFIG_EDIT])):
        fresh = tmp_path / f"fresh-{step}"
        shutil.copytree(original, fresh)
        serve_session(fresh, [edits])  # saved before the first build: nothing to reuse
        expected, served = site_files(fresh / "site-0"), site_files(session / f"site-{step}")
        assert sorted(served) == sorted(expected)
        assert [name for name in expected if served[name] != expected[name]] == [], f"after step {step}"
    after_note = site_files(session / "site-1")
    page = after_note["files/trainer/train_grpo.py/index.html"].decode()
    assert "searchable-edit" in page
    assert "Start with the reward." in after_note["search/search_index.json"].decode()
    assert "fixture renamed" in site_files(session / "site-2")["index.html"].decode()


def test_a_plugin_the_render_memo_does_not_know_turns_it_off(tmp_path):
    """Another plugin may feed templates what the memo's key cannot see: every page renders anew."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURE_PROJECT, project)
    write_site(project)
    config = project / "mkdocs.yml"
    config.write_text(config.read_text().replace("plugins:\n  - search\n", "plugins:\n  - search\n  - tags\n", 1))
    counts = serve_session(project, [[], [NOTE_EDIT]])
    pages = counts[0][1]
    assert counts == [[0, pages], [pages - 1, pages]], counts  # search entries only: no theme renders reused
