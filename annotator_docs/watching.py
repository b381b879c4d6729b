"""File watching for `mkdocs serve`: OS file events for folders, with mkdocs' poll kept behind them.

mkdocs polls every watched tree twice a second, so a saved sidecar waits 0.25 s on average (up to
0.5 s) before a rebuild even starts. Here folders (annotations, the snapshot, docs) are watched
through the platform's file events as well (inotify, FSEvents, ReadDirectoryChangesW), and a change
they report starts the rebuild at once. mkdocs' poll keeps running on everything, as before, and
passes on only what the events missed: where events never arrive (network drives, WSL's /mnt/c,
some container mounts), or where the platform refuses more watches (inotify's per-user limits),
serving is as it was, never worse. Single files (mkdocs.yml, the lock) are left to the poll alone:
an editor that saves by renaming replaces the file an OS watch would hold.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from watchdog.events import (
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

log = logging.getLogger("mkdocs.plugins.annotator")

# Reading a file is an event too (opened, closed without writing), and a build reads the docs it
# watches: only changes may count, or every build would start the next.
CHANGES: list[type[FileSystemEvent]] = [FileCreatedEvent, FileModifiedEvent, FileDeletedEvent, FileMovedEvent]
# How long mkdocs waits for quiet after a change before it rebuilds (its own default: 0.1 s). The
# events of one save arrive within milliseconds of each other, and a poll hands over its changes
# in one burst; a burst that outlasts this only costs a second rebuild.
QUIET_SECONDS = 0.05
# How long after an OS event the poll's report of the same path is dropped: one poll interval
# (0.5 s) plus the time a poll of a large tree can take.
SEEN_FOR_SECONDS = 2.0


class _Recent:
    """Paths the OS events reported lately, shared by the two observers' handlers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}

    def add(self, event: FileSystemEvent) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 1000:
                self._seen = {p: t for p, t in self._seen.items() if now - t < SEEN_FOR_SECONDS}
            for path in _paths(event):
                self._seen[path] = now

    def covers(self, event: FileSystemEvent) -> bool:
        """Whether the OS events reported every path of ``event`` in the last SEEN_FOR_SECONDS."""
        now = time.monotonic()
        paths = _paths(event)
        with self._lock:
            seen = [self._seen.get(path) for path in paths]
        return bool(paths) and all(when is not None and now - when < SEEN_FOR_SECONDS for when in seen)


def _paths(event: FileSystemEvent) -> list[str]:
    return [os.fsdecode(p) for p in (event.src_path, event.dest_path) if p]


class _Reported(FileSystemEventHandler):
    """In front of mkdocs' handler on the OS observer: notes the path, passes the event on."""

    def __init__(self, handler: FileSystemEventHandler, recent: _Recent) -> None:
        self._handler, self._recent = handler, recent

    def dispatch(self, event: FileSystemEvent) -> None:
        self._recent.add(event)
        self._handler.dispatch(event)


class _Missed(FileSystemEventHandler):
    """In front of mkdocs' handler on the poll: passes on only what the OS events did not report."""

    def __init__(self, handler: FileSystemEventHandler, recent: _Recent) -> None:
        self._handler, self._recent = handler, recent

    def dispatch(self, event: FileSystemEvent) -> None:
        if not self._recent.covers(event):
            self._handler.dispatch(event)


class FolderEventsObserver:
    """What mkdocs' live-reload server asks of its observer (`schedule`, `unschedule`, `start`,
    `stop`, `join`): everything on the `polling` observer mkdocs made, folders on OS events too."""

    def __init__(self, polling: BaseObserver, native: BaseObserver | None = None) -> None:
        self._polling = polling
        self._native: BaseObserver = native if native is not None else Observer()
        self._native_ok = True
        self._native_started = False
        self._polling_started = False
        self._recent = _Recent()
        self._native_watch: dict[ObservedWatch, ObservedWatch] = {}  # the poll's watch -> the OS one

    @property
    def uses_os_events(self) -> bool:
        return self._native_started and self._native_ok

    def schedule(self, event_handler: FileSystemEventHandler, path: str, *, recursive: bool = False) -> ObservedWatch:
        if not os.path.isdir(path):
            return self._polling.schedule(event_handler, path, recursive=recursive)
        watch = self._polling.schedule(_Missed(event_handler, self._recent), path, recursive=recursive)
        if self._native_ok:
            try:
                native = self._native.schedule(
                    _Reported(event_handler, self._recent), path, recursive=recursive, event_filter=CHANGES
                )
            except OSError as error:  # a running observer starts a new watch at once
                self._give_up_events(error)
            else:
                self._native_watch[watch] = native
        return watch

    def unschedule(self, watch: ObservedWatch) -> None:
        self._polling.unschedule(watch)
        native = self._native_watch.pop(watch, None)
        if native is not None and self._native_ok:
            self._native.unschedule(native)

    def start(self) -> None:
        self._polling.start()
        self._polling_started = True
        try:
            self._native.start()
        except OSError as error:
            self._give_up_events(error)
        else:
            self._native_started = True

    def _give_up_events(self, error: OSError) -> None:
        self._native_ok = False
        self._native.stop()  # the watches that did start
        self._native_watch.clear()
        log.info(f"annotator: file events unavailable ({error}); changes are seen by mkdocs' poll alone")

    def stop(self) -> None:
        self._polling.stop()
        if self._native_ok:
            self._native.stop()

    def join(self, timeout: float | None = None) -> None:
        if self._polling_started:
            self._polling.join(timeout)
        if self._native_started:
            self._native.join(timeout)

    def is_alive(self) -> bool:
        return bool(self._polling.is_alive() or self._native.is_alive())


def watch_folders_by_events(server: Any) -> None:
    """Move a mkdocs live-reload server's watches onto a `FolderEventsObserver`, before it starts.

    mkdocs (1.6) has no setting for this: its server makes a polling observer and has watched
    docs_dir and mkdocs.yml by the time plugins see it in `on_serve`. Unknown server internals
    leave the server as it is."""
    observer = getattr(server, "observer", None)
    watched = getattr(server, "_watched_paths", None)
    if not isinstance(observer, BaseObserver) or not isinstance(watched, dict) or observer.is_alive():
        return
    counts = dict(watched)
    for path, count in counts.items():
        for _ in range(count):
            server.unwatch(path)
    server.observer = FolderEventsObserver(observer)
    if isinstance(getattr(server, "build_delay", None), float):
        server.build_delay = min(server.build_delay, QUIET_SECONDS)
    for path, count in counts.items():
        for _ in range(count):
            server.watch(path)
