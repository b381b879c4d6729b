"""Coverage over time, from the git history of ``annotations/`` (for the dashboard's burn-up chart).

Each commit that touched a sidecar is measured once against the current snapshot and cached by
commit and snapshot, so a build replays only new commits.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .analysis import analyse_file
from .coverage import file_progress
from .layout import sidecar_path
from .models import SourceModel, Status
from .sidecar import load_sidecar

if TYPE_CHECKING:
    from .engine import Engine

MAX_COMMITS = 200


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    commit: str
    timestamp: int
    line_percent: float
    files_complete: int


@dataclass(frozen=True, slots=True)
class Measured:
    line_percent: float
    files_complete: int


def coverage_history(engine: Engine) -> list[HistoryPoint]:
    project = engine.project
    try:
        log = subprocess.run(
            ["git", "-C", str(project.root), "log", f"-{MAX_COMMITS}", "--format=%H %ct", "--", "annotations"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if log.returncode != 0:
        return []
    models = {f.key: engine.model(f, project.read_source(f)) for f in project.lock.files}
    snapshot = hashlib.sha256(",".join(m.sha256 if m else "-" for m in models.values()).encode()).hexdigest()[:16]
    whole = engine.cache.key("history-points", log.stdout, snapshot)  # nothing new committed: the same chart
    remembered: list[HistoryPoint] | None = engine.cache.recall("history-points", whole)
    if remembered is not None:
        return remembered
    points = []
    for row in reversed(log.stdout.split("\n")):
        if not row.strip():
            continue
        commit, timestamp = row.split()
        measured = engine.cache.fetch(
            "history", engine.cache.key(commit, snapshot), Measured, functools.partial(_measure, engine, commit, models)
        )
        points.append(HistoryPoint(commit, int(timestamp), measured.line_percent, measured.files_complete))
    engine.cache.remember("history-points", whole, points)
    return points


def _measure(engine: Engine, commit: str, models: dict[str, SourceModel | None]) -> Measured:
    project = engine.project
    total = covered = complete = 0
    for file in project.lock.files:
        model = models.get(file.key)
        if model is None:
            continue
        shown = subprocess.run(["git", "-C", str(project.root), "show", f"{commit}:{sidecar_path(file)}"], capture_output=True)
        loaded = load_sidecar(shown.stdout, sidecar_path(file)) if shown.returncode == 0 else None
        progress = file_progress(analyse_file(file, model, loaded))
        total += progress.lines
        covered += progress.covered_lines
        complete += progress.status is Status.COMPLETE
    return Measured(round(100.0 * covered / total, 1) if total else 0.0, complete)
