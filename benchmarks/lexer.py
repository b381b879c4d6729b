"""Pygments' Python lexer against annotator's accelerated run of it, on every Python file of the
standard library: the tokens must be identical, and the time is printed. Run by hand:

    .venv/bin/python benchmarks/lexer.py            # every file (about five minutes)
    .venv/bin/python benchmarks/lexer.py --limit 300
"""

from __future__ import annotations

import argparse
import sysconfig
import time
from pathlib import Path

from pygments.lexers import PythonLexer

from annotator_docs.render.fast_lexer import accelerated

OPTIONS = {"stripnl": False, "stripall": False, "ensurenl": False, "tabsize": 0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None, help="only the first N files, by path")
    args = parser.parse_args()
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))[: args.limit]
    compared = differing = lines = 0
    pygments_seconds = accelerated_seconds = 0.0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # a few test files are Latin-1 or unreadable on purpose
        compared += 1
        lines += text.count("\n")
        start = time.perf_counter()
        expected = list(PythonLexer(**OPTIONS).get_tokens(text))
        pygments_seconds += time.perf_counter() - start
        start = time.perf_counter()
        found = list(accelerated(PythonLexer(**OPTIONS)).get_tokens(text))
        accelerated_seconds += time.perf_counter() - start
        if found != expected:
            differing += 1
            print(f"differs: {path}")
    print(f"{compared} files, {lines} lines: {differing} with different tokens")
    ratio = accelerated_seconds / pygments_seconds if pygments_seconds else 0.0
    print(f"Pygments {pygments_seconds:.2f} s, accelerated {accelerated_seconds:.2f} s ({ratio:.2f}x)")
    if differing:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
