"""The command line. Every command is a function returning an exit code:
0 clean, 1 findings, 2 usage or environment errors. Findings go to stdout, progress to stderr."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import AnnotatorError
from .model import Finding, failing
from .project import Project


def _progress(message: str) -> None:
    if sys.stderr.isatty():
        print(f"\r\033[K{message}", end="", file=sys.stderr, flush=True)


def _open(args) -> Project:
    return Project.open(Path(args.root) if args.root else None, Path(args.lock) if args.lock else None)


def _select(project: Project, paths: Sequence[str]) -> list[str]:
    """Accept upstream paths, sidecar paths or snapshot paths; return upstream paths."""
    if not paths:
        return [f.path for f in project.lock.files]
    chosen = []
    known = {f.path for f in project.lock.files}
    for raw in paths:
        candidate = Path(raw).absolute()
        for base in (project.annotations_dir, project.lock.source_root):
            try:
                candidate_rel = candidate.relative_to(base.absolute()).as_posix()
            except ValueError:
                continue
            raw = candidate_rel.removesuffix(".yaml") if base == project.annotations_dir else candidate_rel
            break
        if raw not in known:
            raise AnnotatorError(f"`{raw}` is neither a locked file nor its sidecar")
        chosen.append(raw)
    return chosen


# -- snapshot -------------------------------------------------------------------------------
def cmd_snapshot_pull(args) -> int:
    from . import snapshot

    project = _open(args)
    lock = project.lock
    if not lock.is_pinned:
        print("this lock names a local source tree; nothing to pull", file=sys.stderr)
        return 0
    paths = [f.path for f in lock.files]
    if args.from_git:
        contents = snapshot.read_from_git(Path(args.from_git), lock.commit, paths)
    elif args.from_dir:
        contents = snapshot.read_from_dir(Path(args.from_dir), paths)
    else:
        url = args.archive_url or lock.archive_url()
        print(f"downloading {url}", file=sys.stderr)
        contents = snapshot.read_from_archive(url, paths, _progress)
        if sys.stderr.isatty():
            print(file=sys.stderr)
    written = snapshot.pull(lock, contents)
    print(f"pulled {len(written)} files at {lock.repository}@{lock.commit[:12]} into {lock.source_root}")
    return 0


def cmd_snapshot_verify(args) -> int:
    from . import snapshot

    project = _open(args)
    problems = snapshot.verify(project.lock)
    for problem in problems:
        print(f"{problem.path}: {problem.message}")
    if problems:
        print(f"{len(problems)} of {len(project.lock.files)} locked files have problems", file=sys.stderr)
        return 1
    pin = f" at {project.lock.commit[:12]}" if project.lock.is_pinned else ""
    print(f"all {len(project.lock.files)} locked files present{pin}, hashes match")
    return 0


# -- sidecars -------------------------------------------------------------------------------
def _print_findings(findings: list[Finding], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps([f.as_dict() for f in findings], indent=2))
        return
    for finding in findings:
        if fmt == "github":
            level = "error" if finding.severity == "error" else "warning"
            print(f"::{level} file={finding.path},line={finding.line},col={finding.column}::{finding.code} {finding.message}")
        else:
            print(finding.format())


def cmd_check(args) -> int:
    project = _open(args)
    selected = _select(project, args.paths)
    findings: list[Finding] = []
    for path in selected:
        findings.extend(project.analyse(path).findings)
    if not args.paths:
        findings.extend(project.stray_sidecars())
    _print_findings(findings, args.format)
    bad = failing(findings, args.strict)
    if args.format != "json":
        summary = f"{len(selected)} file(s) checked: {len(findings)} finding(s), {len(bad)} failing"
        print(summary, file=sys.stderr)
    return 1 if bad else 0


def cmd_init(args) -> int:
    from .edit import init_sidecar

    project = _open(args)
    (path,) = _select(project, [args.source])
    target = init_sidecar(project, path, args.priority)
    print(f"wrote {target.relative_to(project.root)}")
    return 0


def cmd_pin(args) -> int:
    from .edit import pin_file

    project = _open(args)
    total = 0
    for path in _select(project, args.paths):
        changes = pin_file(project, path, dry_run=args.check)
        for change in changes:
            print(f"annotations/{path}.yaml:{change.line}: {change.note_id}: {change.what}")
        total += len(changes)
    verb = "would change" if args.check else "changed"
    print(f"pin {verb} {total} value(s)", file=sys.stderr)
    return 1 if args.check and total else 0


def cmd_drift(args) -> int:
    from . import snapshot
    from .drift import drift

    project = _open(args)
    paths = [f.path for f in project.lock.files]
    if args.from_git:
        if not args.commit:
            raise AnnotatorError("--from-git needs --commit SHA")
        contents = snapshot.read_from_git(Path(args.from_git), args.commit, paths)
    else:
        contents = snapshot.read_from_dir(Path(args.from_dir), paths)
    entries = drift(project, contents)
    review = [e for e in entries if e.note.needs_review]
    if args.format == "json":
        print(json.dumps([
            {"path": e.path, "note": e.note.note_id, "state": e.note.state.value, "symbol": e.note.symbol,
             "span": [e.note.span.start, e.note.span.end] if e.note.span else None,
             "candidates": [c.symbol for c in e.note.candidates], "diff": e.diff}
            for e in entries], indent=2))
    else:
        for entry in entries:
            where = f"lines {entry.note.span.start}-{entry.note.span.end}" if entry.note.span else "not found"
            extra = ""
            if entry.note.candidates:
                extra = "; closest: " + ", ".join(c.symbol for c in entry.note.candidates[:3])
            print(f"annotations/{entry.path}.yaml:{entry.note.note.line}: {entry.note.state.value:8} {entry.note.note_id} ({where}){extra}")
            if entry.diff:
                print("    " + entry.diff.replace("\n", "\n    "))
        print(f"{len(entries)} note(s); {len(review)} need review", file=sys.stderr)
    return 1 if review else 0


def cmd_status(args) -> int:
    from .coverage import progress_report
    from .render.terminal import status_table

    project = _open(args)
    report = progress_report(project)
    if args.badge:
        from .coverage import badge_json

        Path(args.badge).write_text(json.dumps(badge_json(report)) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(status_table(report, color=sys.stdout.isatty()))
    if args.fail_under is not None and report.line_coverage_percent < args.fail_under:
        print(f"line coverage {report.line_coverage_percent:.1f}% is under {args.fail_under}%", file=sys.stderr)
        return 1
    return 0


def cmd_generate(args) -> int:
    from .site import generate

    project = _open(args)
    written = generate(project, Path(args.out), strict=args.strict)
    print(f"{written} page(s) written to {args.out}", file=sys.stderr)
    return 0


# -- parser ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="annotator", description="Expert notes beside real code, anchored to symbols.")
    parser.add_argument("--version", action="version", version=f"annotator {__version__}")
    parser.add_argument("--root", help="project root (default: the current directory)")
    parser.add_argument("--lock", help="lock file (default: source_snapshot/snapshot.lock under the root)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    snap = commands.add_parser("snapshot", help="pull or verify the pinned upstream files")
    snap_commands = snap.add_subparsers(dest="snapshot_command", required=True, metavar="ACTION")
    pull = snap_commands.add_parser("pull", help="fetch the locked files (default: GitHub archive over HTTPS)")
    source = pull.add_mutually_exclusive_group()
    source.add_argument("--from-git", metavar="DIR", help="read them at the pinned commit from a local clone or bare mirror")
    source.add_argument("--from-dir", metavar="DIR", help="copy them from a working tree")
    source.add_argument("--archive-url", metavar="URL", help="download this .tar.gz instead of GitHub's")
    pull.set_defaults(func=cmd_snapshot_pull)
    snap_commands.add_parser("verify", help="exit 0 only if every locked file is present with its hash").set_defaults(
        func=cmd_snapshot_verify)

    formats = ["text", "json", "github"]
    check = commands.add_parser("check", help="validate sidecars against the snapshot")
    check.add_argument("paths", nargs="*", help="sidecars or upstream paths (default: all)")
    check.add_argument("--strict", action="store_true", help="also fail on changed or moved notes, missing fingerprints and missing sources")
    check.add_argument("--format", choices=formats, default="text")
    check.set_defaults(func=cmd_check)

    init = commands.add_parser("init", help="scaffold a sidecar listing every symbol (never overwrites)")
    init.add_argument("source", help="upstream path of a locked file")
    init.add_argument("--priority", choices=["critical", "high", "normal"], default="normal")
    init.set_defaults(func=cmd_init)

    pin = commands.add_parser("pin", help="record fingerprints and follow moved anchors; never touches prose")
    pin.add_argument("paths", nargs="*")
    pin.add_argument("--check", action="store_true", help="change nothing; exit 1 if pin would change something")
    pin.set_defaults(func=cmd_pin)

    drift = commands.add_parser("drift", help="resolve every note against another upstream version")
    where = drift.add_mutually_exclusive_group(required=True)
    where.add_argument("--from-git", metavar="DIR")
    where.add_argument("--from-dir", metavar="DIR")
    drift.add_argument("--commit", metavar="SHA", help="the commit to compare with (with --from-git)")
    drift.add_argument("--format", choices=["text", "json"], default="text")
    drift.set_defaults(func=cmd_drift)

    status = commands.add_parser("status", help="annotation progress per file")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--fail-under", type=float, metavar="PCT", help="exit 1 if line coverage is under PCT")
    status.add_argument("--badge", metavar="FILE", help="also write a shields.io endpoint JSON")
    status.set_defaults(func=cmd_status)

    generate = commands.add_parser("generate", help="write the site's pages for builders that run no plugins")
    generate.add_argument("--out", required=True, metavar="DIR")
    generate.add_argument("--strict", action="store_true", help="fail on any finding")
    generate.set_defaults(func=cmd_generate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:
        return int(exit.code or 0) and 2
    try:
        return args.func(args)
    except AnnotatorError as error:
        print(f"annotator: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("annotator: interrupted", file=sys.stderr)
        return 130
