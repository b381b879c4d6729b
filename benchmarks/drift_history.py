"""How well the engine classifies notes when the upstream code changes, on real history (issue 18).

    ANNOTATOR_MIRRORS=open-r1=/path/to/open-r1.git,trl=/path/to/trl.git .venv/bin/python benchmarks/drift_history.py

Runs the corpus of ``tests/drift_corpus.toml`` through the engine (``annotator drift``'s code path)
and through the independent ``ast`` oracle of ``tests/test_drift_history.py``, then prints the
confusion matrix (oracle state x engine state, one decision per note symbol and commit), the
agreement, every disagreement with both reasons, and the notes inside symbols (quotes and sections),
which the oracle classifies by their enclosing symbol only. ``--all`` lists every decision.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_drift_history import (
    STATES,
    load_corpus,
    mirrors_from_env,
    missing_mirrors,
    run_corpus,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="list every decision, not only disagreements")
    args = parser.parse_args(argv)
    corpus = load_corpus()
    try:
        mirrors = mirrors_from_env()
        why = missing_mirrors(corpus, mirrors)
    except ValueError as exc:
        why = str(exc)
    if why:
        print(f"cannot run: {why}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = run_corpus(mirrors, corpus)
    seconds = time.perf_counter() - started

    print("commits:")
    for source, commit, label in result.commits:
        print(f"  {source:8} {commit}  {label}")
    pinned = {e["name"]: e["pinned"] for e in corpus}
    print("pinned:  " + ", ".join(f"{name} {commit}" for name, commit in pinned.items()))
    print()

    matrix = result.matrix()
    width = 10
    print(f"{'oracle x engine':18}" + "".join(f"{s:>{width}}" for s in STATES) + f"{'other':>{width}}{'total':>{width}}")
    for state in STATES:
        row = matrix[state]
        other = sum(n for s, n in row.items() if s not in STATES)
        print(f"{state:18}" + "".join(f"{row[s]:>{width}}" for s in STATES) + f"{other:>{width}}{sum(row.values()):>{width}}")
    column = Counter()
    for row in matrix.values():
        column.update(row)
    print(f"{'total':18}" + "".join(f"{column[s]:>{width}}" for s in STATES) + f"{'':>{width}}{len(result.units):>{width}}")
    wrong_place = [u for u in result.units if u.oracle == u.engine == "moved" and not u.agrees]
    print(f"(moved x moved includes {len(wrong_place)} decision(s) where the engine's place is not the oracle's)")
    print()
    print("per commit (oracle states; agreement):")
    for source, commit, label in result.commits:
        units = [u for u in result.units if u.commit == commit]
        states = Counter(u.oracle for u in units)
        print(
            f"  {source:8} {commit[:7]} "
            + " ".join(f"{s} {states[s]:>3}" for s in STATES)
            + f"  {sum(u.agrees for u in units)}/{len(units)}  {label}"
        )
    agree = sum(u.agrees for u in result.units)
    loose = sum(u.agrees or {u.oracle, u.engine} == {"intact", "moved"} for u in result.units)
    print()
    print(f"agreement (symbol level, four states): {agree}/{len(result.units)} = {result.agreement:.2%}")
    print(f"agreement with intact and moved as one: {loose}/{len(result.units)} = {loose / len(result.units):.2%}")
    missed = [u for u in result.units if u.oracle == "changed" and u.engine == "intact"]
    print(f"oracle changed, engine intact: {len(missed)}")
    for source in sorted({u.source for u in result.units}):
        units = [u for u in result.units if u.source == source]
        print(f"  {source}: {sum(u.agrees for u in units)}/{len(units)} = {sum(u.agrees for u in units) / len(units):.2%}")
    layout = [u for u in result.units if u.oracle_reformatted or u.engine_reformatted]
    both = sum(u.oracle_reformatted and u.engine_reformatted for u in layout)
    print(
        f"formatting-only edits (ast identical in place, text differs): oracle {sum(u.oracle_reformatted for u in layout)}, "
        f"engine `reformatted` {sum(u.engine_reformatted for u in layout)}, both {both}"
    )
    print(
        "not counted (notes outside the symbol-level metric, summed over commits): "
        + (", ".join(f"{n} {why}" for why, n in result.excluded.items()) or "none")
    )
    print(f"runtime: {seconds:.1f} s (engine and oracle, {len(result.commits)} commits)")
    print()

    listed = result.units if args.all else result.disagreements
    print(("every decision" if args.all else "disagreements") + f" ({len(listed)}):")
    for unit in listed:
        mark = " " if unit.agrees else "!"
        print(f"{mark} {unit.source} {unit.commit[:7]} ({unit.label}) {unit.key} :: {unit.symbol}")
        print(f"      oracle {unit.oracle}: {unit.oracle_reason}")
        print(f"      engine {unit.engine}: {unit.engine_reason or '-'}")
        if not unit.agrees and unit.oracle == unit.engine:
            print(f"      the engine puts it at {unit.engine_place}; the oracle finds it at {list(unit.oracle_places)}")
    print()

    print("notes inside symbols (quote / section), by the oracle's state of the enclosing symbol x engine state:")
    table: dict[str, Counter] = {}
    for sub in result.sub_notes:
        table.setdefault(sub.enclosing, Counter())[sub.engine] += 1
    print(f"{'enclosing x engine':18}" + "".join(f"{s:>{width}}" for s in STATES))
    for state in STATES:
        row = table.get(state, Counter())
        print(f"{state:18}" + "".join(f"{row[s]:>{width}}" for s in STATES))
    settled = {"intact": ("intact", "moved"), "moved": ("intact", "moved"), "orphaned": ("orphaned",)}
    unexpected = [
        s for s in result.sub_notes if s.enclosing in settled and s.enclosing_in_place and s.engine not in settled[s.enclosing]
    ]
    followed = [s for s in result.sub_notes if not s.enclosing_in_place]
    print("(the oracle decides a note inside a symbol only when the symbol's syntax is identical in place, so the")
    print(" code under the note is too: then intact or moved is right; or when the symbol is gone: then orphaned)")
    print(
        f"\nnotes inside a symbol that moved to another path or file: {len(followed)}"
        + "".join(
            f"\n  {s.source} {s.commit[:7]} {s.key} #{s.note_id}: {s.enclosing_reason}; engine {s.engine}: {s.engine_reason}"
            for s in followed
        )
    )
    print(f"notes inside a symbol whose engine state contradicts the oracle's decision: {len(unexpected)}")
    for sub in unexpected:
        print(f"  {sub.source} {sub.commit[:7]} {sub.key} #{sub.note_id} ({sub.anchor})")
        print(f"      enclosing `{sub.symbol}` {sub.enclosing}: {sub.enclosing_reason}")
        print(f"      engine {sub.engine}: {sub.engine_reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
