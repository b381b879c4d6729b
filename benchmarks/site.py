"""Build the same files three ways in one run and print medians and ratios. Run by hand:

    .venv/bin/python benchmarks/site.py                    # MEDIUM (100 stdlib modules), 3 runs each
    .venv/bin/python benchmarks/site.py --corpus large     # every stdlib module outside the test suites
    .venv/bin/python benchmarks/site.py --corpus openr1    # the 20 open-r1 and TRL files (after `annotator snapshot pull`)

Three builders on the same files:
  annotator  - mkdocs + Material + the annotator plugin, sidecars from `annotator init` plus a few notes
  material   - a plain Material site, one page per file holding the file as a fenced code block
  pycco      - Pycco (installed into this environment on first use)
Also measured for annotator: a warm rebuild (nothing changed), the edit loop (one sidecar changed:
the engine's work in a long-lived `mkdocs serve` process, and a full `mkdocs build`), peak memory;
and for annotator and plain Material, the time from saving one file to `mkdocs serve` (with and
without `--dirty`) serving the changed page.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO))
STDLIB = Path(sysconfig.get_paths()["stdlib"])
EXCLUDED = ("site-packages/", "test/", "tests/", "idle_test/")
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def stdlib_files(limit: int | None) -> list[str]:
    files = sorted(p.relative_to(STDLIB).as_posix() for p in STDLIB.rglob("*.py"))
    files = [f for f in files if not any(f.startswith(x) or f"/{x}" in f for x in EXCLUDED)]
    if limit:
        files = [f for f in files if "/" not in f][:limit]
    return files


def timed(command: list[str], cwd: Path) -> tuple[float, int]:
    """Wall time and peak RSS (MiB) of one command, measured by a wrapper that has no other child."""
    wrapper = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
        "d = time.perf_counter() - t; "
        "print(d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "sys.stderr.write(r.stderr[-2000:] if r.returncode else ''); sys.exit(r.returncode)"
    )
    result = subprocess.run([sys.executable, "-c", wrapper, *command], cwd=cwd, capture_output=True, text=True, env=ENV)
    if result.returncode:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr}")
    seconds, rss = result.stdout.split()
    return float(seconds), int(rss) // 1024


def prepare(workspace: Path, corpus: str) -> tuple[Path, Path, list[Path]]:
    """Projects for the three builders; returns (annotator project, material project, pycco sources)."""
    annotated = workspace / "annotated"
    plain = workspace / "plain"
    if corpus == "openr1":
        from annotator_docs.layout import snapshot_path
        from annotator_docs.project import Project

        real = Project.open(REPO)
        shutil.copytree(real.annotations_dir, annotated / "annotations")
        sources = {f.key: REPO / snapshot_path(real.lock.source(f.source), f) for f in real.lock.files}
    else:
        files = stdlib_files(100 if corpus == "medium" else None)
        sources = {path: STDLIB / path for path in files}
    for path, source in sources.items():
        target = annotated / "src" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    lock = annotated / "source_snapshot" / "snapshot.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text('version = 1\n[local]\npath = "src"\n' + "".join(f'[[files]]\npath = "{p}"\n' for p in sources))
    (annotated / "docs").mkdir()
    (annotated / "docs/index.md").write_text("# Benchmark\n")
    (annotated / "mkdocs.yml").write_text(
        "site_name: bench\nsite_url: http://127.0.0.1/\ntheme: {name: material, font: false}\n"
        "plugins: [search, {annotator: {history: false}}]\nmarkdown_extensions: [admonition, pymdownx.superfences]\n"
    )
    if corpus != "openr1":
        scaffold_notes(annotated, list(sources))

    (plain / "docs").mkdir(parents=True)
    (plain / "docs/index.md").write_text("# Benchmark\n")
    for path, source in sources.items():
        page = plain / "docs" / f"{path}.md"
        page.parent.mkdir(parents=True, exist_ok=True)
        language = "yaml" if path.endswith(".yaml") else "python"
        page.write_text(f"# {path}\n\n```{language}\n{source.read_text(encoding='utf-8', errors='replace')}\n```\n")
    (plain / "mkdocs.yml").write_text(
        "site_name: bench\nsite_url: http://127.0.0.1/\ntheme: {name: material, font: false}\nplugins: [search]\n"
        "markdown_extensions: [pymdownx.highlight, pymdownx.superfences]\n"
    )
    return annotated, plain, [annotated / "src" / p for p in sources if p.endswith(".py")]


def scaffold_notes(project: Path, paths: list[str]) -> None:
    """`annotator init` for every file, then a few real notes each (the first three slots)."""
    from annotator_docs.cli import main as annotator

    for path in paths:
        if annotator(["--root", str(project), "init", path]) != 0:
            raise SystemExit(f"annotator init {path} failed")
        sidecar = project / "annotations" / f"{path}.yaml"
        text = sidecar.read_text().replace('overview: ""', 'overview: "A benchmark file from the standard library."')
        for index in range(3):
            text = text.replace('    what: ""', f'    what: "Note {index}: what this part does, in a sentence or two."', 1)
        sidecar.write_text(text)


def median_run(command, cwd, repeat, before=None):
    times, peak = [], 0
    for _ in range(repeat):
        if before:
            before()
        seconds, rss = timed(command, cwd)
        times.append(seconds)
        peak = max(peak, rss)
    return statistics.median(times), peak


def engine_edit_time(project: Path, repeat: int) -> float:
    """The engine's work for one sidecar edit in a long-lived process (what `mkdocs serve` pays)."""
    from annotator_docs.engine import Engine
    from annotator_docs.project import Project
    from annotator_docs.site import SiteBuilder

    engine = SiteBuilder(Engine(Project.open(project)))
    engine.build(with_history=False)  # warm, as after the first build of a serve session
    sidecar = sorted((project / "annotations").rglob("*.yaml"))[0]
    original = sidecar.read_text()
    times = []
    for run in range(repeat):
        sidecar.write_text(original + f"# edit {run}\n")
        started = time.perf_counter()
        engine.build(with_history=False)
        times.append(time.perf_counter() - started)
    sidecar.write_text(original)
    return statistics.median(times)


def serve_edit_times(project: Path, page: str, edit, repeat: int, dirty: bool = False) -> list[float]:
    """Seconds from saving a file to `mkdocs serve` serving the page with the change, one per save.

    ``edit(n)`` changes a file so that the page at ``page`` comes to contain ``edit-n``; the server
    is polled every 20 ms, so the figure includes mkdocs' own file-watching delay, as a user feels it.
    """
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(BIN / "mkdocs"), "serve", "-a", f"127.0.0.1:{port}", *(["--dirty"] if dirty else [])]
    server = subprocess.Popen(command, cwd=project, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/{page}"

    def fetch() -> str:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    try:
        deadline = time.monotonic() + 600
        while not fetch():  # the first build of the session
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"mkdocs serve did not start in {project}")
            time.sleep(0.2)
        times = []
        for run in range(repeat):
            marker = f"edit-{run}"
            started = time.perf_counter()
            edit(run)
            while marker not in fetch():
                if time.perf_counter() - started > 300:
                    raise SystemExit(f"{url} never showed {marker}")
                time.sleep(0.02)
            times.append(time.perf_counter() - started)
            time.sleep(1.0)  # let the server settle before the next save
        return times
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", choices=["medium", "large", "openr1"], default="medium")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the workspace (printed)")
    args = parser.parse_args()
    if shutil.which("pycco", path=str(BIN)) is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pycco"], check=True)
    workspace = Path(tempfile.mkdtemp(prefix="annotator-bench-"))
    annotated, plain, py_sources = prepare(workspace, args.corpus)
    lines = sum(len(p.read_bytes().splitlines()) for p in (annotated / "src").rglob("*") if p.is_file())
    files = sum(1 for p in (annotated / "src").rglob("*") if p.is_file())
    mkdocs = [str(BIN / "mkdocs"), "build", "-q"]
    clean_cache = lambda: shutil.rmtree(annotated / ".annotator-cache", ignore_errors=True)  # noqa: E731
    out = workspace / "pycco-out"

    # Rounds, each running every builder once: a machine that speeds up or slows down during the
    # run (shared hosts do) then shifts every builder alike, and the ratios stay fair.
    sidecar = sorted((annotated / "annotations").rglob("*.yaml"))[0]
    original = sidecar.read_text()
    counter = iter(range(10**6))
    edit = lambda: sidecar.write_text(original + f"# edit {next(counter)}\n")  # noqa: E731
    plan = [
        ("material (plain)", mkdocs, plain, None),
        ("pycco", [str(BIN / "pycco"), "-d", str(out), *map(str, py_sources)], workspace, None),
        ("annotator cold", mkdocs, annotated, clean_cache),
        ("annotator warm", mkdocs, annotated, None),
        ("annotator one-sidecar edit", mkdocs, annotated, edit),
    ]
    runs: dict[str, list[tuple[float, int]]] = {label: [] for label, *_ in plan}
    for _ in range(args.repeat):
        for label, command, cwd, before in plan:
            runs[label].append(median_run(command, cwd, 1, before=before))
    results = {label: (statistics.median(t for t, _ in found), max(p for _, p in found)) for label, found in runs.items()}
    sidecar.write_text(original)
    engine = engine_edit_time(annotated, args.repeat)

    # The edit loop as an annotator feels it: save, then `mkdocs serve` serves the changed page.
    source_path = sidecar.relative_to(annotated / "annotations").as_posix().removesuffix(".yaml")
    first_note = 'what: "Note 0:'
    note_edit = lambda run: sidecar.write_text(original.replace(first_note, f"{first_note} edit-{run}", 1))  # noqa: E731
    plain_page = plain / "docs" / f"{source_path}.md"
    plain_original = plain_page.read_text()
    plain_edit = lambda run: plain_page.write_text(plain_original.replace("\n", f" edit-{run}\n", 1))  # noqa: E731
    serve = {}
    if first_note in original:
        serve["material (plain)"] = statistics.median(serve_edit_times(plain, f"{source_path}/", plain_edit, args.repeat))
        plain_page.write_text(plain_original)
        serve["material (plain) --dirty"] = statistics.median(
            serve_edit_times(plain, f"{source_path}/", plain_edit, args.repeat, dirty=True)
        )
        plain_page.write_text(plain_original)
        serve["annotator"] = statistics.median(serve_edit_times(annotated, f"files/{source_path}/", note_edit, args.repeat))
        sidecar.write_text(original)
        serve["annotator --dirty"] = statistics.median(
            serve_edit_times(annotated, f"files/{source_path}/", note_edit, args.repeat, dirty=True)
        )
        sidecar.write_text(original)

    material, pycco = results["material (plain)"][0], results["pycco"][0]
    print(f"corpus {args.corpus}: {files} files, {lines} lines; median of {args.repeat}; {os.cpu_count()} cores")
    print(f"{'':30}{'seconds':>9}{'peak MiB':>10}{'/ material':>12}{'/ pycco':>10}")
    for label, (seconds, peak) in results.items():
        print(f"{label:30}{seconds:9.2f}{peak:10d}{seconds / material:11.2f}x{seconds / pycco:9.2f}x")
    print(f"{'engine work, one sidecar edit':30}{engine * 1000:8.0f} ms")
    if serve:
        print(f"mkdocs serve, save -> page updated (one file edited){'':>5}/ material")
        for label, seconds in serve.items():
            print(f"  {label:28}{seconds:9.2f}{'':10}{seconds / serve['material (plain)']:11.2f}x")
    summary = {label: {"seconds": round(s, 3), "peak_mib": p} for label, (s, p) in results.items()}
    summary["engine_edit_ms"] = round(engine * 1000, 1)
    summary["serve_edit_seconds"] = {label: round(seconds, 3) for label, seconds in serve.items()}
    print(json.dumps(summary))
    if args.keep:
        print(f"workspace: {workspace}")
    else:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
