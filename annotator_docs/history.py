"""Coverage over time, from the git history of ``annotations/`` (for the dashboard's burn-up chart).

Each commit that touched a sidecar is measured once against the current snapshot and cached
by commit hash, so a build replays only new commits.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass

from .coverage import Status, file_progress
from .project import Project, analyse_file, write_atomic
from .sidecar import load_sidecar, sidecar_path_for

MAX_COMMITS = 200


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    commit: str
    timestamp: int
    line_percent: float
    files_complete: int


def coverage_history(project: Project) -> list[HistoryPoint]:
    try:
        log = subprocess.run(
            ["git", "-C", str(project.root), "log", f"-{MAX_COMMITS}", "--format=%H %ct", "--", "annotations"],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if log.returncode != 0:
        return []
    cache_file = project.cache_file("history", "coverage", ".json")
    try:
        cache = json.loads(cache_file.read_text("utf-8"))
    except (OSError, ValueError):
        cache = {}
    models = [project.model(f.path) for f in project.lock.files]
    snapshot_key = hashlib.sha256(",".join(m.sha256 if m else "-" for m in models).encode()).hexdigest()[:16]
    points = []
    for row in reversed(log.stdout.split("\n")):
        if not row.strip():
            continue
        commit, timestamp = row.split()
        key = f"{commit}:{snapshot_key}"
        if key not in cache:
            cache[key] = _measure(project, commit)
        lines, complete = cache[key]
        points.append(HistoryPoint(commit, int(timestamp), lines, complete))
    write_atomic(cache_file, json.dumps(cache, sort_keys=True).encode())
    return points


def _measure(project: Project, commit: str) -> tuple[float, int]:
    total = covered = complete = 0
    for locked in project.lock.files:
        model = project.model(locked.path)
        if model is None:
            continue
        shown = subprocess.run(["git", "-C", str(project.root), "show", f"{commit}:{sidecar_path_for(locked.path)}"],
                               capture_output=True)
        loaded = load_sidecar(shown.stdout, sidecar_path_for(locked.path)) if shown.returncode == 0 else None
        progress = file_progress(analyse_file(locked, model, loaded))
        total += progress.lines
        covered += progress.covered_lines
        complete += progress.status is Status.COMPLETE
    return (round(100.0 * covered / total, 1) if total else 0.0, complete)
