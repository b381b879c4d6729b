"""check / init / pin / drift: messages and exit codes (0 clean, 1 findings, 2 usage or environment)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from .conftest import edit, run_mkdocs, write_site

SIDE = "annotations/trainer/train_grpo.py.yaml"


def test_check_is_clean_on_the_fixture_project(run, project_dir):
    code, out, err = run("--root", project_dir, "check", "--strict")
    assert code == 0, out
    assert out == "" and "5 file(s) checked: 0 finding(s), 0 failing" in err


def test_check_reports_an_unknown_symbol_with_did_you_mean(run, project_dir):
    sidecar = project_dir / SIDE
    text = sidecar.read_text().replace('symbol: "main.make_prompt"', 'symbol: "main.make_promt"')
    sidecar.write_text(text.replace('fingerprint: "825f1e8e27a45a13:08d5507c30a59390"', ""))  # a new note: not pinned yet
    code, out, _ = run("--root", project_dir, "check", "trainer/train_grpo.py")
    assert code == 1
    line = next(n for n, text in enumerate(sidecar.read_text().splitlines(), 1) if "make_promt" in text)
    assert (
        f"{SIDE}:{line}:1: A001 symbol `main.make_promt` not found in trainer/train_grpo.py "
        "(hint: did you mean `main.make_prompt`?)" in out
    )


def test_check_json_format(run, project_dir):
    sidecar = project_dir / SIDE
    sidecar.write_text(sidecar.read_text().replace("priority: critical", "priority: urgent"))
    code, out, _ = run("--root", project_dir, "check", "--format", "json")
    assert code == 1
    (finding,) = json.loads(out)
    assert finding["code"] == "S010" and finding["path"] == SIDE and finding["line"] == 4


def test_check_github_format(run, project_dir):
    sidecar = project_dir / SIDE
    sidecar.write_text(sidecar.read_text().replace("priority: critical", "priority: urgent"))
    code, out, _ = run("--root", project_dir, "check", "--format", "github")
    assert code == 1 and out.startswith(f"::error file={SIDE},line=4,col=11::S010 ")


def test_check_accepts_sidecar_paths(run, project_dir):
    assert run("--root", project_dir, "check", project_dir / SIDE)[0] == 0


def test_check_usage_errors_exit_2(run, project_dir, tmp_path):
    assert run("--root", project_dir, "check", "nope.py")[0] == 2
    assert run("--root", tmp_path, "check")[0] == 2  # no lock here
    assert run("check", "--format", "xml")[0] == 2


def test_strict_fails_on_missing_fingerprints(run, project_dir):
    sidecar = project_dir / SIDE
    text = "\n".join(line for line in sidecar.read_text().splitlines() if "fingerprint:" not in line) + "\n"
    sidecar.write_text(text)
    assert run("--root", project_dir, "check")[0] == 0
    code, out, _ = run("--root", project_dir, "check", "--strict")
    assert code == 1 and "A021 note `main` has no fingerprint (hint: run `annotator pin`)" in out


def test_strict_fails_on_changed_code(run, project_dir):
    source = project_dir / "src/trainer/train_grpo.py"
    edit(source, 'return [{"role": "user"', 'return [{"role": "human"')
    assert run("--root", project_dir, "check")[0] == 0
    code, out, _ = run("--root", project_dir, "check", "--strict")
    assert code == 1
    assert (
        "A020 note `main.make_prompt` needs review: the code at lines 35-36 differs from the code the note was pinned to" in out
    )


def test_stray_sidecar_is_reported(run, project_dir):
    shutil.copy(project_dir / SIDE, project_dir / "annotations/trainer/missing.py.yaml")
    code, out, _ = run("--root", project_dir, "check")
    assert code == 1 and "annotations/trainer/missing.py.yaml:1:1: S021" in out


def test_a_sidecar_with_the_wrong_extension_is_a_finding_not_ignored(run, project_dir):
    shutil.move(project_dir / SIDE, project_dir / "annotations/trainer/train_grpo.py.yml")
    code, out, _ = run("--root", project_dir, "check")
    assert code == 1 and "annotations/trainer/train_grpo.py.yml:1:1: S022" in out


def test_init_scaffolds_every_symbol_and_check_accepts_it(run, project_dir):
    code, out, _ = run("--root", project_dir, "init", "trainer/rewards.py", "--priority", "high")
    assert code == 0 and out == "wrote annotations/trainer/rewards.py.yaml\n"
    text = (project_dir / "annotations/trainer/rewards.py.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    for symbol in ("format_reward", "length_reward", "get_cosine_reward", "get_cosine_reward.cosine_reward", "get_reward_funcs"):
        assert f'  - symbol: "{symbol}"\n    what: ""\n    why: ""\n    how: ""\n' in text
    assert run("--root", project_dir, "check", "trainer/rewards.py")[0] == 0


def test_init_schema_modeline_points_at_the_schema(run, project_dir):
    run("--root", project_dir, "init", "trainer/configs.py")
    sidecar = project_dir / "annotations/trainer/configs.py.yaml"
    reference = sidecar.read_text().splitlines()[0].split("$schema=")[1]
    assert json.loads((sidecar.parent / reference).read_text())["$schema"].startswith("http://json-schema.org/draft-07")


def test_init_yaml_lists_top_level_keys(run, project_dir):
    (project_dir / "annotations/recipes/demo.yaml.yaml").unlink()
    run("--root", project_dir, "init", "recipes/demo.yaml")
    text = (project_dir / "annotations/recipes/demo.yaml.yaml").read_text()
    assert '  - symbol: "deepspeed_config"\n' in text and "zero_stage" not in text


def test_init_never_overwrites(run, project_dir):
    before = (project_dir / SIDE).read_bytes()
    code, _, err = run("--root", project_dir, "init", "trainer/train_grpo.py")
    assert code == 2 and "already exists; init never overwrites a sidecar" in err
    assert (project_dir / SIDE).read_bytes() == before


def test_pin_after_a_move_changes_only_pinned_keys(run, project_dir):
    source = project_dir / "src/trainer/train_grpo.py"
    edit(source, "import sys\n", "import sys\n" + "\n" * 20)
    code, out, _ = run("--root", project_dir, "check", "--strict")
    assert code == 1 and "A022 note `main` moved: moved from line 13 to 33" in out
    before = (project_dir / SIDE).read_text().splitlines()
    assert run("--root", project_dir, "pin")[0] == 0
    after = (project_dir / SIDE).read_text().splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert changed and all(a.strip().split(":")[0] == b.strip().split(":")[0] in ("line", "fingerprint") for a, b in changed)
    assert any(b.strip().startswith("line:") for _, b in changed)
    assert run("--root", project_dir, "check", "--strict")[0] == 0


def test_pin_keeps_comments_and_quoting(run, project_dir):
    sidecar = project_dir / SIDE
    text = sidecar.read_text()
    text = text.replace(
        '  - symbol: "logger"\n', "  # a comment the annotator wrote\n  - symbol: 'logger'   # trailing comment\n"
    )
    text = "\n".join(line for line in text.splitlines() if "fingerprint:" not in line and "line:" not in line) + "\n"
    sidecar.write_text(text)
    assert run("--root", project_dir, "pin")[0] == 0
    pinned = sidecar.read_text()
    assert (
        "  # a comment the annotator wrote\n  - symbol: 'logger'   # trailing comment\n    line: 10\n    fingerprint:" in pinned
    )
    kept = [row for row in pinned.splitlines() if "fingerprint:" not in row and not row.strip().startswith("line:")]
    stripped = "\n".join(kept) + "\n"
    assert stripped == text


def test_pin_check_reports_without_writing(run, project_dir):
    source = project_dir / "src/trainer/train_grpo.py"
    source.write_text("\n\n" + source.read_text())
    before = (project_dir / SIDE).read_bytes()
    code, out, _ = run("--root", project_dir, "pin", "--check")
    assert code == 1 and "line -> 15" in out
    assert (project_dir / SIDE).read_bytes() == before


def test_pin_follows_a_symbol_moved_into_a_class(run, project_dir):
    source = project_dir / "src/trainer/rewards.py"
    run("--root", project_dir, "init", "trainer/rewards.py")
    sidecar = project_dir / "annotations/trainer/rewards.py.yaml"
    sidecar.write_text(sidecar.read_text().replace('    what: ""\n    why: ""\n    how: ""', '    body: "note"'))
    run("--root", project_dir, "pin")
    text = source.read_text()
    block = text[text.index("def length_reward") : text.index("def get_cosine_reward")].rstrip() + "\n"
    indented = "".join(("    " + row if row.strip() else row) for row in block.splitlines(True))
    source.write_text(text.replace(block, "") + "\n\nclass Rewards:\n" + indented)
    code, out, _ = run("--root", project_dir, "check", "--strict")
    assert code == 1 and "A022 note `length_reward` moved" in out
    run("--root", project_dir, "pin")
    assert 'symbol: "Rewards.length_reward"' in sidecar.read_text()
    assert run("--root", project_dir, "check", "--strict")[0] == 0


def test_drift_against_another_tree(run, project_dir, tmp_path):
    other = tmp_path / "next"
    shutil.copytree(project_dir / "src", other)
    text = (other / "trainer/train_grpo.py").read_text()
    text = text.replace("def make_prompt(example", "def build_prompt(example").replace("make_prompt({", "build_prompt({")
    text = text.replace('tokenizer = {"vocab": config.vocab_size}', 'tokenizer = {"vocab": config.vocab_size * 2}')
    (other / "trainer/train_grpo.py").write_text(text)
    code, out, _err = run("--root", project_dir, "drift", "--from-dir", other)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("drift of local against ") and lines[0].endswith(
        ": 8 notes: 3 changed, 1 orphaned, 0 moved, 4 intact (0 reformatted)"
    )
    assert lines[2].split() == ["trainer/train_grpo.py", "3", "1", "0", "2"]  # the summary comes first
    orphan = next(line for line in lines if line.startswith("annotations/") and " orphaned " in line)
    assert orphan.endswith(
        "orphaned main.make_prompt (-): symbol `main.make_prompt` not found in trainer/train_grpo.py; "
        "closest: main.build_prompt (0.73)"
    )
    assert any("changed  main-Load-tokenizer (L23-27 -> L23-27)" in line for line in lines)
    assert '+    tokenizer = {"vocab": config.vocab_size * 2}' in out
    assert not any(
        line.startswith("annotations/") and " intact " in line for line in lines
    )  # only what needs attention, unless --all
    assert (
        sum(
            line.startswith("annotations/") and " intact " in line
            for line in run("--root", project_dir, "drift", "--from-dir", other, "--all")[1].splitlines()
        )
        == 4
    )
    code, out, _ = run("--root", project_dir, "drift", "--from-dir", other, "--format", "json")
    report = json.loads(out)
    states = {entry["note"]: entry["state"] for entry in report["notes"]}
    assert states["main.make_prompt"] == "orphaned" and states["logger"] == "intact"
    assert report["totals"] == {"intact": 4, "moved": 0, "changed": 3, "orphaned": 1, "reformatted": 0}


def test_drift_unchanged_tree_exits_0(run, project_dir):
    assert run("--root", project_dir, "drift", "--from-dir", project_dir / "src")[0] == 0


def test_drift_from_git_needs_a_commit(run, project_dir):
    code, _, err = run("--root", project_dir, "drift", "--from-git", project_dir)
    assert code == 2 and "C002 --from-git needs --commit (a SHA or a tag)" in err


def test_pin_never_marks_changed_code_reviewed_unless_accepted(run, project_dir):
    edit(project_dir / "src/trainer/train_grpo.py", 'return [{"role": "user"', 'return [{"role": "human"')
    pinned = {'fingerprint: "5b92876bfd196c4b:1b05e858b94e4094"', 'fingerprint: "825f1e8e27a45a13:08d5507c30a59390"'}
    assert all(value in (project_dir / SIDE).read_text() for value in pinned)  # main and main.make_prompt
    code, out, err = run("--root", project_dir, "pin")
    assert code == 0 and "main.make_prompt: not pinned: left as it is: its code changed" in out
    assert "2 changed note(s) left for review" in err
    assert all(value in (project_dir / SIDE).read_text() for value in pinned)  # the changed notes stay unreviewed
    assert run("--root", project_dir, "check", "--strict")[0] == 1
    code, out, err = run("--root", project_dir, "pin", "--accept", "main.make_prompt")
    assert code == 0 and "accepting main.make_prompt: the code at lines 35-36 differs" in err
    assert "       36 | " in err  # the code the note will describe is shown before it is written
    code, out, _ = run("--root", project_dir, "check", "--strict")
    assert code == 1 and "note `main` needs review" in out and "make_prompt" not in out
    assert run("--root", project_dir, "pin", "--accept", "all")[0] == 0
    assert run("--root", project_dir, "check", "--strict")[0] == 0


def test_a_typo_in_a_new_note_is_an_error_that_pin_does_not_rename(run, project_dir):
    sidecar = project_dir / SIDE
    edit(
        sidecar,
        '  - symbol: "logger"\n    line: 10\n    fingerprint: "0dc8128bee435d5e:2e11c48d9703d512"\n',
        '  - symbol: "loger"\n',
    )
    code, out, _ = run("--root", project_dir, "check")
    assert code == 1 and "A001 symbol `loger` not found in trainer/train_grpo.py (hint: did you mean `logger`?)" in out
    run("--root", project_dir, "pin")
    note = sidecar.read_text().split('  - symbol: "loger"\n')[1].split("  - ")[0]
    assert note == '    body: "A module logger."\n'  # neither renamed nor pinned


def test_github_format_cannot_be_made_to_print_a_workflow_command(run, project_dir):
    edit(project_dir / SIDE, 'quote: "for step in range(config.steps):"', 'quote: "x %0A::error file=forged::pwned"')
    code, out, _ = run("--root", project_dir, "check", "--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert all(line.startswith(("::error ", "::warning ")) for line in lines)
    forged = next(line for line in lines if "pwned" in line)
    assert "%250A" in forged and forged.count("::") == 2 + forged.split("::", 2)[2].count("::")
    assert not any(line.startswith("::error file=forged") for line in lines)


def test_strict_means_the_same_everywhere(run, project_dir, tmp_path):
    # one unpinned note: a warning. check, generate and a strict mkdocs build all fail on it in strict mode (exit 1)
    sidecar = project_dir / SIDE
    edit(sidecar, '    fingerprint: "0dc8128bee435d5e:2e11c48d9703d512"\n', "")
    assert run("--root", project_dir, "check")[0] == 0
    assert run("--root", project_dir, "check", "--strict")[0] == 1
    assert run("--root", project_dir, "generate", "--out", tmp_path / "out")[0] == 0
    code, out, err = run("--root", project_dir, "generate", "--out", tmp_path / "strict", "--strict")
    assert code == 1 and "A021 note `logger` has no fingerprint" in out and "nothing written" in err
    assert not (tmp_path / "strict").exists()
    # the builds: the same rule, exit 1 (docs/reference/findings.md has the table this checks)
    write_site(project_dir)
    for strict, expected in (((), 0), (("--strict",), 1)):
        mkdocs = run_mkdocs(project_dir, "-q", *strict)
        assert mkdocs.returncode == expected, mkdocs.stderr
    assert run("--root", project_dir, "build", "--site-dir", "built")[0] == 0
    before = sorted(p.relative_to(project_dir / "built") for p in (project_dir / "built").rglob("*"))
    code, _, err = run("--root", project_dir, "build", "--site-dir", "built", "--strict")
    assert code == 1 and "the build failed; built/ is left as it was" in err
    assert sorted(p.relative_to(project_dir / "built") for p in (project_dir / "built").rglob("*")) == before
    assert [p.name for p in project_dir.iterdir() if p.name.startswith("built.")] == []


def test_a_build_killed_part_way_leaves_the_previous_site(run, project_dir):
    import os
    import signal
    import time

    write_site(project_dir)
    assert run("--root", project_dir, "build")[0] == 0
    site = project_dir / "site"
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    build = subprocess.Popen(
        [sys.executable, "-m", "annotator_docs", "--root", str(project_dir), "build"],
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    written = 0
    while time.monotonic() < deadline and build.poll() is None:
        staging = list(project_dir.glob("site.building-*"))
        written = sum(1 for s in staging for _ in s.rglob("*"))
        if written > 20:  # mkdocs is writing the new site
            os.killpg(build.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    build.wait()
    assert build.returncode == -signal.SIGKILL and written > 20, "the build finished before it could be killed"
    after = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert list(project_dir.glob("site.building-*"))  # the half-written copy was never swapped in
    assert run("--root", project_dir, "build")[0] == 0
    assert not list(project_dir.glob("site.building-*")) and (site / "index.html").is_file()
