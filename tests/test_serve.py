"""`mkdocs serve`: folders watched through OS file events with mkdocs' poll behind them, and search
entries reused for pages a rebuild did not change."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
import threading
import time

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

project, edits = Path(sys.argv[1]), json.loads(sys.argv[2])
messages = []
class Keep(logging.Handler):
    def emit(self, record):
        messages.append(record.getMessage())
logger = logging.getLogger("mkdocs.plugins.annotator")
logger.addHandler(Keep()); logger.setLevel(logging.DEBUG)
def config(site):
    return load_config(config_file=str(project / "mkdocs.yml"), site_dir=str(project / site))
first = config("serve")
first.plugins.on_startup(command="serve", dirty=False)
build(first)
for path, old, new in edits:  # what an annotator saves between two rebuilds
    target = project / path
    text = target.read_text()
    assert old in text, old
    target.write_text(text.replace(old, new, 1))
build(config("serve"))
print(json.dumps([m for m in messages if "search entries" in m]))
"""


def test_a_serve_rebuild_reuses_search_entries_and_indexes_exactly_what_a_fresh_build_does(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(FIXTURE_PROJECT, project)
    write_site(project)
    (project / "docs/guide.md").write_text("# Guide\n\n## Reading a trainer\n\nStart with the loop.\n")
    edits = [
        ["annotations/trainer/train_grpo.py.yaml", "A module logger.", "A module logger, searchable-edit."],
        ["docs/guide.md", "Start with the loop.", "Start with the reward."],
    ]
    session = subprocess.run(
        [sys.executable, "-c", SERVE_SESSION, str(project), json.dumps(edits)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert session.returncode == 0, session.stderr[-3000:]
    messages = json.loads(session.stdout.strip().splitlines()[-1])
    first, second = ([int(n) for n in re.findall(r"\b\d+\b", m)] for m in messages)
    assert first[0] == 0 and first[1] > 3, messages
    # every page but the two edited ones (the trainer's file page, the guide) from the memo
    assert second == [first[1] - 2, first[1]], messages

    fresh = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(project / "fresh")],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert fresh.returncode == 0, fresh.stderr

    def entries(site: str) -> list[dict]:
        return sorted(json.loads((project / site / "search/search_index.json").read_text())["docs"], key=json.dumps)

    served = entries("serve")
    assert served == entries("fresh")
    texts = " ".join(e["text"] for e in served)
    assert "searchable-edit" in texts and "Start with the reward." in texts and "Start with the loop." not in texts
