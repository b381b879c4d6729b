"""The command line. Every command is a function returning an exit code, the same for every command:
0 clean, 1 findings that fail (errors; with ``--strict`` warnings too), 2 usage or environment errors.
Findings go to stdout, progress and summaries to stderr."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .findings import AnnotatorError, Finding, fail, failing, terminal_safe
from .layout import ANNOTATIONS, SIDECAR_SUFFIX, sidecar_path
from .models import LockedFile, Source
from .project import Project

if TYPE_CHECKING:
    from .engine import Engine


def _progress(message: str) -> None:
    if sys.stderr.isatty():
        print(f"\r\033[K{terminal_safe(message)}", end="", file=sys.stderr, flush=True)


def _say(message: str) -> None:
    print(terminal_safe(message), file=sys.stderr)


def _open(args: argparse.Namespace) -> Project:
    return Project.open(Path(args.root) if args.root else None, Path(args.lock) if args.lock else None)


def _engine(project: Project) -> Engine:
    from .engine import Engine

    return Engine(project)


def _select(project: Project, paths: Sequence[str]) -> list[LockedFile]:
    """Accept keys, upstream paths, sidecar paths or snapshot paths; return locked files with pages."""
    if not paths:
        return list(project.lock.files)
    chosen = []
    for raw in paths:
        found = _file_for(project, raw)
        if found is None:
            fail("C001", f"`{raw}` is neither a locked file nor its sidecar", hint="`annotator status` lists the files")
        chosen.append(found)
    return chosen


def _file_for(project: Project, raw: str) -> LockedFile | None:
    candidate = Path(raw).absolute()
    for file in project.lock.files:
        if raw in (file.key, file.path, sidecar_path(file)) or candidate == project.sidecar_file(file):
            return file
        try:
            if candidate == project.source_file(file):
                return file
        except AnnotatorError:
            continue
    relative = raw.removeprefix(f"{ANNOTATIONS}/").removesuffix(SIDECAR_SUFFIX)
    matches = [f for f in project.lock.files if relative in (f.key, f.path)]
    return matches[0] if len(matches) == 1 else None


def _mirrors(values: Sequence[str] | None, lock_sources: tuple[Source, ...], flag: str) -> dict[str, str]:
    """``NAME=DIR`` per source; a bare ``DIR`` is for the first source (what a one-source lock had)."""
    out: dict[str, str] = {}
    names = {s.name for s in lock_sources}
    for value in values or ():
        name, separator, where = value.partition("=")
        if not separator or name not in names:
            if separator and name not in names:
                fail("C001", f"{flag} {value}: no source named `{name}`", hint="sources: " + ", ".join(sorted(names)))
            name, where = lock_sources[0].name, value
        out[name] = where
    return out


# -- snapshot ---------------------------------------------------------------------------------------
def cmd_snapshot_pull(args: argparse.Namespace) -> int:
    from . import snapshot

    project = _open(args)
    lock = project.lock
    sources = [s for s in lock.sources if s.is_pinned and (not args.source or s.name in args.source)]
    if not sources:
        _say("no pinned source to pull (local sources are read in place)")
        return 0
    git = _mirrors(args.from_git, lock.sources, "--from-git")
    dirs = _mirrors(args.from_dir, lock.sources, "--from-dir")
    archives = _mirrors(args.archive_url, lock.sources, "--archive-url")
    contents: dict[str, dict[str, bytes]] = {}
    for source in sources:
        paths = [f.path for f in source.files]
        assert source.commit is not None
        if source.name in git:
            _say(f"{source.name}: reading {len(paths)} files at {source.commit[:12]} from {git[source.name]}")
            contents[source.name] = snapshot.read_from_git(Path(git[source.name]), source.commit, paths)
        elif source.name in dirs:
            _say(f"{source.name}: copying {len(paths)} files from {dirs[source.name]}")
            contents[source.name] = snapshot.read_from_dir(Path(dirs[source.name]), paths)
        elif source.name in archives or args.archive:
            url = archives.get(source.name) or source.archive_url()
            _say(f"{source.name}: downloading {url}")
            contents[source.name] = snapshot.read_from_archive(url, paths, _progress)
        else:
            _say(f"{source.name}: downloading {len(paths)} files from {source.repository} at {source.commit[:12]}")
            contents[source.name] = snapshot.read_from_github(source, paths, _progress)
        if sys.stderr.isatty():
            print(file=sys.stderr)
    written = snapshot.pull(project.root, lock, contents)
    for source in sources:
        count = sum(1 for f in written if f.source == source.name)
        pin = f"{source.repository}@{(source.commit or '')[:12]}"
        print(f"pulled {count} files of {source.name} at {pin} into {source.snapshot_dir}")
    return 0


def cmd_snapshot_verify(args: argparse.Namespace) -> int:
    from . import snapshot

    project = _open(args)
    problems = snapshot.verify(project.root, project.lock)
    for problem in problems:
        print(problem.format())
    total = len(project.lock.all_files)
    if problems:
        _say(f"{len(problems)} of {total} locked files have problems")
        return 1
    pins = ", ".join(f"{s.name}@{s.commit[:12]}" for s in project.lock.sources if s.commit)
    print(f"all {total} locked files present" + (f" ({pins})" if pins else "") + ", hashes match")
    return 0


# -- the lock -------------------------------------------------------------------------------------------
def cmd_lock_add(args: argparse.Namespace) -> int:
    from .lockedit import add_files

    project = _open(args)
    added = add_files(
        project,
        args.source,
        args.paths,
        from_git=args.from_git,
        from_dir=args.from_dir,
        group=args.group,
        title=args.title,
        reference=args.reference,
    )
    for file in added:
        print(f"added {file.key} ({file.sha256 or 'local'})")
    _say(f"{len(added)} file(s) added to {project.lock.lock_path.name}; now `annotator snapshot pull`")
    return 0


def cmd_lock_add_source(args: argparse.Namespace) -> int:
    from .lockedit import add_source

    project = _open(args)
    source = add_source(project, args.name, repository=args.repository, commit=args.commit, ref=args.ref, mirror=args.from_git)
    print(f"added source {source.name}: {source.repository} at {source.commit}" + (f" ({source.ref})" if source.ref else ""))
    return 0


# -- sidecars -----------------------------------------------------------------------------------------
def _print_findings(findings: Sequence[Finding], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps([f.as_dict() for f in findings], indent=2))
        return
    for finding in findings:
        print(finding.format_github() if fmt == "github" else finding.format())


def cmd_check(args: argparse.Namespace) -> int:
    project = _open(args)
    engine = _engine(project)
    selected = _select(project, args.paths)
    if args.paths:
        keys = {f.key for f in selected}
        analyses = [a for a in engine.analyses() if a.file.key in keys]
        findings = [f for a in analyses for f in a.findings]
    else:
        findings = engine.findings()
        findings += _reference_findings(project)
    findings += list(engine.cache.notices)
    _print_findings(findings, args.format)
    bad = failing(findings, args.strict)
    if args.format != "json":
        _say(
            f"{len(selected)} file(s) checked: {len(findings)} finding(s), {len(bad)} failing"
            + (" (strict: warnings fail too)" if args.strict and bad else "")
        )
    return 1 if bad else 0


def _reference_findings(project: Project) -> list[Finding]:
    """Links and excerpts of the hand-written pages (docs/), checked like notes."""
    try:
        from .references import check_pages
    except ImportError:  # pragma: no cover - references are optional in a minimal install
        return []
    return check_pages(project)


def cmd_init(args: argparse.Namespace) -> int:
    from .edit import scaffold, schema_reference, write_scaffold

    project = _open(args)
    (file,) = _select(project, [args.source])
    engine = _engine(project)
    model = engine.model(file, project.read_source(file))
    if model is None:
        fail("C002", f"source `{file.key}` is not pulled", hint="run `annotator snapshot pull`")
    target = project.sidecar_file(file)
    text = scaffold(model, schema_reference(project.root, project.annotations_dir, target), args.priority)
    write_scaffold(target, text)
    print(f"wrote {target.relative_to(project.root)}")
    return 0


def cmd_pin(args: argparse.Namespace) -> int:
    from .edit import ACCEPT_ALL, accepted_code, pin_sidecar
    from .models import State
    from .paths import write_atomic

    project = _open(args)
    engine = _engine(project)
    selected = {f.key for f in _select(project, args.paths)}
    accept = frozenset(args.accept or ())
    total = skipped = 0
    for analysis in engine.analyses():
        if analysis.file.key not in selected or (analysis.sidecar is None and not analysis.sidecar_exists):
            continue
        file = project.sidecar_file(analysis.file)
        text = file.read_bytes().decode("utf-8-sig")
        for note in analysis.notes:
            if note.state is State.CHANGED and (ACCEPT_ALL in accept or note.note_id in accept):
                _say(f"accepting {note.note_id}: {note.reason}; the note now describes:\n{accepted_code(analysis, note)}")
        new_text, changes = pin_sidecar(text, analysis, accept)
        for change in changes:
            marker = "" if change.applied else "not pinned: "
            print(f"{sidecar_path(analysis.file)}:{change.line}: {change.note_id}: {marker}{change.what}")
        applied = [c for c in changes if c.applied]
        skipped += len(changes) - len(applied)
        if applied and not args.check:
            write_atomic(file, new_text.encode("utf-8"))
        total += len(applied)
    if not args.paths:  # the excerpts of the hand-written pages too
        from .references import docs_pages, pin_page

        index, models = engine.site_index()
        for page in docs_pages(project.root):
            name = page.relative_to(project.root).as_posix()
            text = page.read_text("utf-8")
            new_text, page_changes = pin_page(text, name, index, models, accept)
            for line in page_changes:
                print(line)
            written = [c for c in page_changes if ": not pinned:" not in c]
            skipped += len(page_changes) - len(written)
            if written and not args.check:
                write_atomic(page, new_text.encode("utf-8"))
            total += len(written)
    verb = "would change" if args.check else "changed"
    _say(f"pin {verb} {total} value(s)" + (f"; {skipped} changed note(s) left for review" if skipped else ""))
    return 1 if args.check and total else 0


def cmd_drift(args: argparse.Namespace) -> int:
    from . import snapshot
    from .drift import drift
    from .render.drift_report import drift_json, drift_text

    project = _open(args)
    names = [s.name for s in project.lock.sources]
    source_name = args.source or names[0]
    if source_name not in names:
        fail("C001", f"no source named `{source_name}`", hint="sources: " + ", ".join(names))
    source = project.lock.source(source_name)
    paths = [f.path for f in source.files if f.page]
    if args.from_git:
        if not args.commit:
            fail("C002", "--from-git needs --commit (a SHA or a tag)")
        contents = snapshot.read_from_git(Path(args.from_git), args.commit, paths)
        target = args.commit
    else:
        contents = snapshot.read_from_dir(Path(args.from_dir), paths)
        target = args.from_dir
    report = drift(_engine(project).analyses(), source_name, target, contents)
    if args.format == "json":
        print(json.dumps(drift_json(report), indent=2))
    else:
        print(drift_text(report, everything=args.all))
    return 1 if report.needs_review or report.file_findings else 0


def cmd_status(args: argparse.Namespace) -> int:
    from .render.report import badge_json, report_data
    from .render.terminal import status_table

    project = _open(args)
    report = _engine(project).progress()
    if args.badge:
        Path(args.badge).write_text(json.dumps(badge_json(report)) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(report_data(report), indent=2, sort_keys=True))
    else:
        print(status_table(report, color=sys.stdout.isatty()))
    coverage = report.line_coverage_percent
    if args.fail_under is not None:
        if coverage is None:
            _say("line coverage unknown: the code is not pulled")
            return 1
        if coverage < args.fail_under:
            _say(f"line coverage {coverage:.1f}% is under {args.fail_under}%")
            return 1
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from .generate import generate

    project = _open(args)
    result = generate(project, Path(args.out), strict=args.strict, progress=_say)
    if result.failing:
        _print_findings(result.failing, "text")
        _say(f"{len(result.failing)} finding(s) fail; nothing written")
        return 1
    _say(f"{result.written} file(s) written, {result.unchanged} unchanged, {result.removed} removed in {args.out}")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from .new import new_site

    if args.from_git and args.from_dir:
        fail("C002", "give --from-git or --from-dir, not both")
    site = new_site(
        Path(args.dir),
        repository=args.repo,
        commit=args.commit,
        files=list(args.files),
        from_git=Path(args.from_git) if args.from_git else None,
        from_dir=Path(args.from_dir) if args.from_dir else None,
        site_repository=args.site_repo,
        progress=_say,
    )
    where = os.path.relpath(site.root)
    print(f"created {where}: {len(site.source.files)} file(s) of {site.source.repository} at {(site.source.commit or '')[:12]}")
    print(f"next: cd {shlex.quote(where)} && make serve   (then write notes in annotations/, and the page shows them on save)")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from .build import build_site_atomically

    root = Path(args.root).absolute() if args.root else Path.cwd()
    site = build_site_atomically(root, args.site_dir, strict=args.strict, config=args.config_file)
    if site is None:
        _say(f"the build failed; {args.site_dir}/ is left as it was")
        return 1
    _say(f"site built into {site}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_annotated_source, export_codetour

    project = _open(args)
    out = Path(args.out or ("exports/annotated" if args.kind == "annotated-source" else ".tours"))
    if args.kind == "annotated-source":
        written = export_annotated_source(project, out, allow_orphans=args.allow_orphans, site_url=args.site_url or "")
    else:
        reading_path, problems = project.reading_path()
        if problems:
            raise AnnotatorError(*problems)
        written = export_codetour(
            project, out, list(reading_path), allow_orphans=args.allow_orphans, site_url=args.site_url or ""
        )
    for path in written:
        print(path)
    _say(f"{len(written)} file(s) in {out}")
    return 0


# -- parser -------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="annotator", description="Expert notes beside real code, anchored to symbols.")
    parser.add_argument("--version", action="version", version=f"annotator {__version__}")
    parser.add_argument("--root", help="project root (default: the current directory)")
    parser.add_argument("--lock", help="lock file (default: source_snapshot/snapshot.lock under the root)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    snap = commands.add_parser("snapshot", help="pull or verify the pinned upstream files")
    snap_commands = snap.add_subparsers(dest="snapshot_command", required=True, metavar="ACTION")
    pull = snap_commands.add_parser("pull", help="fetch every source's locked files (default: per-file download over HTTPS)")
    pull.add_argument(
        "--from-git",
        action="append",
        metavar="[NAME=]DIR",
        help="read a source at its pinned commit from a clone or bare mirror (repeatable)",
    )
    pull.add_argument(
        "--from-dir", action="append", metavar="[NAME=]DIR", help="copy a source's files from a working tree (repeatable)"
    )
    pull.add_argument("--archive", action="store_true", help="download GitHub's .tar.gz of each commit instead of single files")
    pull.add_argument("--archive-url", action="append", metavar="[NAME=]URL", help="download this .tar.gz for a source")
    pull.add_argument("--source", action="append", metavar="NAME", help="pull only this source (repeatable)")
    pull.set_defaults(func=cmd_snapshot_pull)
    snap_commands.add_parser("verify", help="exit 0 only if every locked file is present with its hash").set_defaults(
        func=cmd_snapshot_verify
    )

    lock = commands.add_parser("lock", help="add files or sources to the lock (hashes computed, never typed)")
    lock_commands = lock.add_subparsers(dest="lock_command", required=True, metavar="ACTION")
    add = lock_commands.add_parser("add", help="add files to a source, with their sha256")
    add.add_argument("paths", nargs="+", metavar="PATH", help="upstream paths")
    add.add_argument("--source", help="the source (default: the first)")
    add.add_argument("--from-git", metavar="DIR", help="hash the files at the pinned commit of this clone or mirror")
    add.add_argument("--from-dir", metavar="DIR", help="hash the files of this working tree")
    add.add_argument("--group", default=None, help="navigation group")
    add.add_argument("--title", default=None, help="navigation title (one file)")
    add.add_argument("--reference", action="store_true", help="lock for links only: no page, no notes")
    add.set_defaults(func=cmd_lock_add)
    source = lock_commands.add_parser("add-source", help="add a repository at a pinned commit")
    source.add_argument("name")
    source.add_argument("--repository", required=True, metavar="OWNER/NAME")
    source.add_argument("--commit", required=True, metavar="SHA_OR_TAG", help="a full SHA, or a tag resolved with --from-git")
    source.add_argument("--ref", help="the tag or branch the commit stands for")
    source.add_argument("--from-git", metavar="DIR", help="a clone or mirror to resolve a tag in")
    source.set_defaults(func=cmd_lock_add_source)

    formats = ["text", "json", "github"]
    check = commands.add_parser("check", help="validate sidecars and pages against the snapshot")
    check.add_argument("paths", nargs="*", help="sidecars or upstream paths (default: all, with the hand-written pages)")
    check.add_argument(
        "--strict", action="store_true", help="warnings fail too: changed, moved or unpinned notes, sources not pulled"
    )
    check.add_argument("--format", choices=formats, default="text")
    check.set_defaults(func=cmd_check)

    init = commands.add_parser("init", help="scaffold a sidecar listing every symbol (never overwrites)")
    init.add_argument("source", help="upstream path of a locked file")
    init.add_argument("--priority", choices=["critical", "high", "normal"], default="normal")
    init.set_defaults(func=cmd_init)

    pin = commands.add_parser("pin", help="record fingerprints and follow moved anchors; never touches prose")
    pin.add_argument("paths", nargs="*")
    pin.add_argument("--check", action="store_true", help="change nothing; exit 1 if pin would change something")
    pin.add_argument("--accept", nargs="+", metavar="NOTE_ID", help="mark these changed notes reviewed (`all` for every one)")
    pin.set_defaults(func=cmd_pin)

    drift = commands.add_parser("drift", help="resolve every note of a source against another upstream version")
    where = drift.add_mutually_exclusive_group(required=True)
    where.add_argument("--from-git", metavar="DIR")
    where.add_argument("--from-dir", metavar="DIR")
    drift.add_argument("--commit", metavar="SHA_OR_TAG", help="the version to compare with (with --from-git)")
    drift.add_argument("--source", metavar="NAME", help="the source (default: the first)")
    drift.add_argument("--all", action="store_true", help="list every note, not only those that need attention")
    drift.add_argument("--format", choices=["text", "json"], default="text")
    drift.set_defaults(func=cmd_drift)

    status = commands.add_parser("status", help="annotation progress per file, grouped by source")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--fail-under", type=float, metavar="PCT", help="exit 1 if line coverage is under PCT")
    status.add_argument("--badge", metavar="FILE", help="also write a shields.io endpoint JSON")
    status.set_defaults(func=cmd_status)

    new = commands.add_parser("new", help="start a site: mkdocs.yml, a lock with hashes, scaffolded sidecars, docs")
    new.add_argument("dir", help="the folder to create (must not exist, or be empty)")
    new.add_argument("--repo", required=True, metavar="OWNER/NAME", help="the GitHub repository to annotate")
    new.add_argument("--commit", required=True, metavar="SHA_OR_TAG", help="a full SHA, or a tag resolved with --from-git")
    new.add_argument("files", nargs="*", metavar="FILE", help="paths in that repository to lock and scaffold")
    new.add_argument("--from-git", metavar="DIR", help="read the files from this clone or mirror (no network)")
    new.add_argument("--from-dir", metavar="DIR", help="read the files from this working tree")
    new.add_argument("--site-repo", metavar="OWNER/NAME", help="this site's own repository (repo_url, edit links)")
    new.set_defaults(func=cmd_new)

    build = commands.add_parser("build", help="mkdocs build into a fresh folder, swapped in only when it succeeds")
    build.add_argument(
        "--strict", action="store_true", help="fail on warnings (mkdocs --strict: the same rule as check --strict)"
    )
    build.add_argument("--site-dir", default="site", help="where the site goes (default: site)")
    build.add_argument("-f", "--config-file", default="mkdocs.yml")
    build.set_defaults(func=cmd_build)

    export = commands.add_parser("export", help="the notes outside the site: annotated source files, CodeTour tours")
    export.add_argument("kind", choices=["annotated-source", "codetour"])
    export.add_argument("--out", help="folder (default: exports/annotated for sources, .tours for tours)")
    export.add_argument("--allow-orphans", action="store_true", help="export files whose notes lost their code too")
    export.add_argument("--site-url", help="make links to the site absolute (default: from nothing: path#symbol)")
    export.set_defaults(func=cmd_export)

    generate = commands.add_parser("generate", help="write the site's pages for builders that run no plugins")
    generate.add_argument("--out", required=True, metavar="DIR")
    generate.add_argument("--strict", action="store_true", help="warnings fail too (as in check --strict)")
    generate.set_defaults(func=cmd_generate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # `annotator new DIR --repo R --commit C FILE…`: files after the options are still files
            if getattr(args, "func", None) is not cmd_new or any(item.startswith("-") for item in extra):
                parser.error(f"unrecognized arguments: {' '.join(extra)}")
            args.files = [*args.files, *extra]
    except SystemExit as exit:
        return int(exit.code or 0) and 2
    try:
        return int(args.func(args))
    except AnnotatorError as error:
        for finding in error.findings:
            print(f"annotator: error: {finding.format()}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("annotator: interrupted", file=sys.stderr)
        return 130
