"""The CI workflows and pre-commit hooks: valid against their schemas, least privilege, pinned actions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def test_there_are_workflows():
    assert {p.name for p in WORKFLOWS} == {"site.yml", "drift.yml"}


def test_workflows_validate_against_the_github_schema():
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit(path):
    uses = re.findall(r"uses:\s*(\S+)", path.read_text())
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege(path):
    workflow = load(path)
    assert "pull_request_target" not in workflow["on"]
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_only_the_deploy_job_can_write_pages():
    jobs = load(REPO / ".github/workflows/site.yml")["jobs"]
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert jobs["deploy"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert "permissions" not in jobs["build"]
    steps = " ".join(str(s) for s in jobs["build"]["steps"])
    for command in (
        "annotator snapshot pull",
        "annotator check --strict",
        "make test",
        "annotator build --strict",  # into a fresh folder, swapped in only when complete
        "GITHUB_STEP_SUMMARY",
        "120000",  # the symbolic-link check
    ):
        assert command in steps


def test_pre_commit_files_validate():
    for command, path in (("validate-manifest", ".pre-commit-hooks.yaml"), ("validate-config", ".pre-commit-config.yaml")):
        result = subprocess.run([str(BIN / "pre-commit"), command, str(REPO / path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_pre_commit_hook_runs_what_ci_runs():
    """One meaning of strict: the hook, the workflow and the docs' table all run `annotator check --strict`."""
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    hook = next(h for repo in config["repos"] for h in repo["hooks"] if h["id"] == "annotator-check")
    assert hook["entry"] == ".venv/bin/annotator check --strict" and hook["pass_filenames"] is False
    published = next(h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text()) if h["id"] == "annotator-check")
    assert published["entry"] == "annotator check --strict"
    workflow = (REPO / ".github/workflows/site.yml").read_text()
    assert "annotator check --strict --format github" in workflow


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_cache_is_shared_between_pull_requests_and_the_deploy(path):
    """A pull request's job runs contributors' code; a cache it could write would reach main's
    deploy. No workflow restores or saves one (actions/cache, setup-python's `cache:`)."""
    for job in load(path)["jobs"].values():
        for step in job["steps"]:
            assert not step.get("uses", "").startswith(("actions/cache@", "actions/cache/")), step
            assert "cache" not in (step.get("with") or {}), step
