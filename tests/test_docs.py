"""The documentation says what the code does: the findings table, the command list, no line links."""

from __future__ import annotations

import re

from annotator_docs.cli import build_parser
from annotator_docs.findings import CODES

from .conftest import REPO


def test_the_findings_table_is_the_code_registry():
    text = (REPO / "docs/reference/findings.md").read_text()
    rows = re.findall(r"^\| `([A-Z]\d{3})` \| (error|warning) \| (.+) \|$", text, re.M)
    assert [code for code, _, _ in rows] == list(CODES), "findings.md lists other codes, or in another order"
    for code, severity, summary in rows:
        assert (severity, summary) == (CODES[code].severity.value, CODES[code].summary), code


def test_every_command_is_in_the_readme():
    parser = build_parser()
    commands = next(a for a in parser._subparsers._group_actions if a.choices)  # type: ignore[union-attr]
    readme = (REPO / "README.md").read_text()
    listed = set(re.findall(r"^\| `annotator ([a-z-]+)", readme, re.M))
    assert set(commands.choices) == listed


def test_no_hand_written_page_links_upstream_code_by_line_number():
    """Line links rot with every upstream change; pages link symbols (`trl/...py#GRPOTrainer`) instead."""
    offenders = [
        f"{page.relative_to(REPO)}: {link}"
        for page in sorted((REPO / "docs").rglob("*.md"))
        for link in re.findall(r"https://github\.com/huggingface/(?:trl|open-r1)/blob/[^)\s]*#L\d+", page.read_text())
    ]
    assert offenders == []
