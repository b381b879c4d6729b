"""Findings: every problem any stage reports, and the registry of their codes.

A finding is a value (``path:line:col: CODE message (hint: ...)``). Stages return them; only the
command line and the builders turn them into exit codes or log levels. A problem that stops the
work (a broken lock, a failed download) is a finding too, raised as :class:`AnnotatorError`.

Every code is registered in :data:`CODES` with its severity and a one-line summary; the table in
``docs/reference/findings.md`` is tested against this registry, so the two cannot drift apart.
"""

from __future__ import annotations

import enum
import re
from dataclasses import asdict, dataclass
from typing import Any, NoReturn


class Severity(str, enum.Enum):
    ERROR = "error"  # always fails `check`, `generate` and strict builds
    WARNING = "warning"  # fails only in strict mode


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    severity: Severity
    summary: str


def _registry(*codes: tuple[str, Severity, str]) -> dict[str, Code]:
    return {code: Code(code, severity, summary) for code, severity, summary in codes}


E, W = Severity.ERROR, Severity.WARNING
#: Every finding code: S sidecars, A anchors, R references from hand-written pages, M note rendering,
#: E sources, L the lock, P pulling, C the command line and configuration, O output.
CODES: dict[str, Code] = _registry(
    ("S001", E, "the sidecar cannot be read"),
    ("S002", E, "the sidecar is larger than 1 MiB"),
    ("S003", E, "the sidecar is not UTF-8, or contains a NUL byte"),
    ("S004", E, "YAML syntax error"),
    ("S005", E, "YAML anchors or aliases (`&x`, `*x`) are not allowed"),
    ("S006", E, "the sidecar is empty"),
    ("S007", E, "nested too deeply"),
    ("S008", E, "a mapping key that is not a plain string"),
    ("S009", E, "a duplicate key (YAML would silently keep the last one)"),
    ("S010", E, "a schema violation: unknown key, wrong type (often YAML 1.1 reading `no` as false), bad value"),
    ("S011", E, "the sidecar path leaves `annotations/` (a symlink)"),
    ("S012", E, "an explicit YAML tag (`!!python/object`, `!!binary`, ...)"),
    ("S013", E, "a YAML value that YAML 1.1 would silently turn into a date or a base-60 number"),
    ("S020", E, "`source` does not match the sidecar's place"),
    ("S021", E, "a sidecar for a file that is not in the lock"),
    ("S022", E, "a file under `annotations/` that is not a sidecar (wrong extension), or a symlink that loops"),
    ("A001", E, 'unknown symbol (with "did you mean")'),
    ("A002", E, "unknown banner section"),
    ("A003", E, "a banner section that appears more than once"),
    ("A004", E, "quote not found"),
    ("A005", E, "quote matches several lines"),
    ("A006", E, "`lines` runs past the end of the scope"),
    ("A007", E, "`end_quote` not found"),
    ("A010", W, "anchored by a line number only"),
    ("A020", W, "the code changed since the note was pinned (needs review)"),
    ("A021", W, "no fingerprint yet (run `annotator pin`)"),
    ("A022", W, "the note moved (run `annotator pin`)"),
    ("A023", E, "the code was not found: the note is orphaned (the message says why)"),
    ("A024", W, "the code moved to another file (the hint names the sidecar to move the note into)"),
    ("R001", E, "a link or excerpt names a file that is not in the lock"),
    ("R002", E, "a link or excerpt names an unknown symbol or note"),
    ("R003", W, "an excerpt has no fingerprint yet, or its code changed or moved since it was pinned"),
    ("M001", E, "a note is longer than the rendering limit"),
    ("M002", E, "a note nests brackets, emphasis or lists deeper than the rendering limit"),
    ("M003", E, "a note could not be rendered within its budget"),
    ("M004", E, "a Mermaid diagram tries to change Mermaid's configuration"),
    ("E001", W, "the source is not pulled"),
    ("E101", E, "the source does not parse; its lines are still shown"),
    ("E102", E, "the YAML source does not parse; its lines are still shown"),
    ("E103", E, "the source is not valid UTF-8 or holds NUL bytes; its lines are still shown"),
    ("E104", E, "the file is gone upstream"),
    ("L001", E, "no lock file"),
    ("L002", E, "the lock file is too large or not valid TOML"),
    ("L003", E, "the lock file has an unknown version or layout"),
    ("L004", E, "a source in the lock is incomplete or invalid (name, repository, commit)"),
    ("L005", E, "a file in the lock is invalid (path, sha256, group, title)"),
    ("L006", E, "two sources or files in the lock would share a page, a sidecar or a snapshot path"),
    ("P001", E, "download failed"),
    ("P002", E, "the archive or mirror cannot be read or holds something unsafe"),
    ("P003", E, "a pulled file is missing or its sha256 does not match the lock"),
    ("P004", E, "a path would be written through a symlink or outside the project"),
    ("C001", E, "a path on the command line is not a locked file or its sidecar"),
    ("C002", E, "a command needs something it does not have (a pulled source, a valid sidecar, an option)"),
    ("C003", E, "the project's configuration is invalid"),
    ("O001", E, "output would overwrite or delete a file the tool did not write"),
)
del E, W


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found by any stage, positioned in the file that holds it."""

    code: str
    message: str
    path: str = ""
    line: int = 1
    column: int = 1
    hint: str = ""

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unregistered finding code {self.code}")  # a programming error, not user input

    @property
    def severity(self) -> Severity:
        return CODES[self.code].severity

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        """``path:line:col: CODE message (hint: ...)``, safe to print on a terminal or in a log."""
        where = f"{self.path}:{self.line}:{self.column}: " if self.path else ""
        text = f"{where}{self.code} {self.message}"
        return terminal_safe(f"{text} (hint: {self.hint})" if self.hint else text)

    def format_github(self) -> str:
        """A GitHub Actions workflow command; values escaped as GitHub's own toolkit escapes them."""
        level = "error" if self.is_error else "warning"
        properties = f"file={_github_property(self.path)},line={self.line},col={self.column}" if self.path else ""
        text = terminal_safe(f"{self.code} {self.message}" + (f" (hint: {self.hint})" if self.hint else ""))
        return f"::{level} {properties}::{_github_data(text)}"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data


def failing(findings: tuple[Finding, ...] | list[Finding], strict: bool) -> list[Finding]:
    """What fails a run: errors always; with ``strict``, warnings too. One rule for every command."""
    return [f for f in findings if f.is_error or strict]


class AnnotatorError(Exception):
    """A problem that stops the work. It carries findings; ``str(error)`` is their formatted text."""

    exit_code = 2

    def __init__(self, *findings: Finding) -> None:
        super().__init__("\n".join(f.format() for f in findings))
        self.findings = findings


def fail(code: str, message: str, *, path: str = "", line: int = 1, column: int = 1, hint: str = "") -> NoReturn:
    """Stop with one finding (the one way every stage aborts)."""
    raise AnnotatorError(Finding(code, message, path, line, column, hint))


# -- text that reaches a terminal or a log ------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
MAX_QUOTED = 80


def terminal_safe(text: str) -> str:
    """Control characters (ANSI escapes, NUL, line breaks) shown escaped, so nothing a sidecar holds
    can move the cursor, colour the terminal or start a line of its own in a log."""
    text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


def excerpt(value: object, limit: int = MAX_QUOTED) -> str:
    """A short, safe excerpt of an offending value for a message (never the whole of it)."""
    text = terminal_safe(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _github_data(text: str) -> str:
    # As @actions/core escapeData: %, CR and LF (so a message cannot start a workflow command of its own)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    # As @actions/core escapeProperty: also : and ,
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")
