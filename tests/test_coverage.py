"""Progress figures, asserted exactly on fixtures whose notes we know."""

from __future__ import annotations

import json
import textwrap

from annotator_docs.analysis import analyse_file
from annotator_docs.coverage import file_progress, words
from annotator_docs.models import Priority, ProgressReport, State, Status
from annotator_docs.render.report import badge_json, file_data, next_steps
from annotator_docs.sidecar import load_sidecar

from .conftest import analysis_of, real_model


def progress_of(engine, key):
    return file_progress(analysis_of(engine, key))


def model(project, key):
    return real_model(project, key)


def test_training_script_figures(engine):
    p = progress_of(engine, "trainer/train_grpo.py")
    assert p.status is Status.COMPLETE
    assert (p.lines, p.covered_lines, p.symbols, p.annotated_symbols, p.notes) == (50, 35, 2, 2, 6)
    assert dict(p.states) == {State.INTACT: 6, State.MOVED: 0, State.CHANGED: 0, State.ORPHANED: 0}
    assert p.unpinned == 0 and p.priority is Priority.CRITICAL and file_data(p)["page"] == "files/trainer/train_grpo.py/"
    assert all(item.ok for item in p.checklist)


def test_recipe_figures(engine):
    p = progress_of(engine, "recipes/demo.yaml")
    # keys: model_name_or_path, torch_dtype, learning_rate, num_generations, reward_funcs,
    # deepspeed_config and its two keys = 8; the quote covers lines 2-3, the deepspeed note 11-13
    assert (p.lines, p.symbols, p.annotated_symbols, p.covered_lines, p.notes) == (13, 8, 5, 5, 2)
    assert p.uncovered == ("learning_rate", "num_generations", "reward_funcs")
    assert p.status is Status.IN_PROGRESS
    assert [i.key for i in p.missing] == ["overview", "role", "key_innovations", "data_flow", "takeaways"]


def test_file_without_sidecar_is_not_started(engine):
    p = progress_of(engine, "trainer/configs.py")
    assert p.status is Status.NOT_STARTED and p.notes == 0 and p.symbols == 14 and p.words == 0


def test_words_and_what_why_how(project):
    locked = project.lock.file("trainer/rewards.py")
    text = textwrap.dedent("""\
        source: trainer/rewards.py
        notes:
          - symbol: format_reward
            what: "Checks the tag layout."
            why: "Rewards structure."
          - symbol: length_reward
            what: "Prefers shorter answers here."
            why: "Brevity is cheaper to sample."
            how: "Scales by the longest completion."
    """).encode()
    loaded = load_sidecar(text, "annotations/trainer/rewards.py.yaml")
    p = file_progress(analyse_file(locked, model(project, "trainer/rewards.py"), loaded))
    assert p.words == 4 + 2 + 4 + 5 + 5  # counted by hand
    assert p.annotated_symbols == 2 and p.symbols == 5
    what_why_how = next(i for i in p.checklist if i.key == "what_why_how")
    assert not what_why_how.ok
    assert what_why_how.detail == ("format_reward", "get_cosine_reward", "get_cosine_reward.cosine_reward", "get_reward_funcs")


def test_long_function_needs_step_notes(project_dir):
    from annotator_docs.project import Project

    source = project_dir / "src/trainer/rewards.py"
    body = "".join(f"    x{i} = {i}\n" for i in range(45))
    source.write_text(source.read_text() + f"\n\ndef long_one():\n{body}")
    project = Project.open(project_dir)
    loaded = load_sidecar(
        b"source: trainer/rewards.py\nnotes:\n  - symbol: long_one\n    what: a b c\n    why: a b c\n    how: a b c\n",
        "annotations/trainer/rewards.py.yaml",
    )
    p = file_progress(analyse_file(project.lock.file("trainer/rewards.py"), model(project, "trainer/rewards.py"), loaded))
    steps = next(i for i in p.checklist if i.key == "step_notes")
    assert not steps.ok and steps.detail == ("long_one",)


def test_words_counts_tokens_not_markup():
    assert words("**GRPO** uses `num_generations` = 16, see [paper](https://x.y).") == 6


def test_report_and_json_agree(engine, run, project_dir):
    report = engine.progress()
    assert report.complete == 1 and len(report.files) == 5
    code, out, _ = run("--root", project_dir, "status", "--json")
    data = json.loads(out)
    assert (
        code == 0
        and data["files_complete"] == 1
        and data["sources"]
        == [{"name": "local", "commit": None, "files_total": 5, "files_complete": 1, "line_coverage_percent": 23.0}]
    )  # 40 of 174 lines
    grpo = next(f for f in data["files"] if f["path"] == "trainer/train_grpo.py")
    assert grpo["page"] == "files/trainer/train_grpo.py/" and grpo["status"] == "complete"
    assert (grpo["lines"], grpo["covered_lines"], grpo["notes"]) == (50, 35, 6)
    assert grpo["states"] == {"intact": 6, "moved": 0, "changed": 0, "orphaned": 0}
    assert next_steps(report)[0].startswith("recipes/demo.yaml (high): cover 3 symbol(s)")
    assert data["next_steps"] == next_steps(report)


def test_status_table_and_fail_under(run, project_dir, tmp_path):
    code, out, _ = run("--root", project_dir, "status")
    assert code == 0
    assert out.splitlines()[0] == "local: 1 of 5 complete; line coverage 23.0%"
    assert out.splitlines()[1].split() == [
        "file",
        "status",
        "priority",
        "lines",
        "covered",
        "symbols",
        "notes",
        "review",
        "missing",
    ]
    assert "trainer/train_grpo.py  complete" in out and "\033[" not in out
    assert "1 of 5 files complete" in out
    assert run("--root", project_dir, "status", "--fail-under", "90")[0] == 1
    badge = tmp_path / "badge.json"
    assert run("--root", project_dir, "status", "--fail-under", "10", "--badge", badge)[0] == 0
    assert json.loads(badge.read_text()) == {
        "schemaVersion": 1,
        "label": "annotated",
        "message": "1 of 5 files",
        "color": "yellow",
    }


def test_badge_colours(engine):
    assert badge_json(ProgressReport(files=()))["color"] == "brightgreen"
    assert badge_json(engine.progress())["color"] == "yellow"


def test_without_the_code_coverage_is_unknown_not_zero(project_dir, run):
    import shutil

    shutil.rmtree(project_dir / "src")
    code, out, _ = run("--root", project_dir, "status")
    assert code == 0
    assert "trainer/train_grpo.py  code not pulled" in out
    assert "code not pulled: coverage unknown" in out.splitlines()[-2] and "0.0%" not in out
    assert "pull the code" in out.splitlines()[-1] and "start the notes" not in out
    code, out, _ = run("--root", project_dir, "status", "--json")
    data = json.loads(out)
    assert data["line_coverage_percent"] is None and data["pulled"] is False
    assert run("--root", project_dir, "status", "--fail-under", "1")[0] == 1


def test_burn_up_follows_the_git_history_of_annotations(project_dir):
    import os
    import subprocess

    from annotator_docs.history import coverage_history
    from annotator_docs.project import Project
    from annotator_docs.render.dashboard import burnup_svg

    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }

    def git(*args):
        subprocess.run(["git", "-C", str(project_dir), *args], check=True, capture_output=True, env=env)

    demo = project_dir / "annotations/recipes/demo.yaml.yaml"
    demo_text = demo.read_text()
    demo.unlink()
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "trainer notes", "--date", "2026-01-01T00:00:00")
    demo.write_text(demo_text)
    git("add", "-A")
    git("commit", "-qm", "recipe notes", "--date", "2026-01-02T00:00:00")
    from annotator_docs.cache import Cache
    from annotator_docs.engine import Engine

    points = coverage_history(Engine(Project.open(project_dir), Cache(None)))
    # 35 covered of 174 lines, then 35 + 5 (the recipe's two notes cover lines 2-3 and 11-13)
    assert [(p.line_percent, p.files_complete) for p in points] == [(20.1, 1), (23.0, 1)]
    svg = burnup_svg(points)
    assert svg.startswith("<svg") and svg.count("<circle") == 2
