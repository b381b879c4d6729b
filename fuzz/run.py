"""Fuzz the sidecar loader, the extractors and the note renderer with hypothesis, for a time budget. Run by hand:

    .venv/bin/python fuzz/run.py --minutes 10

Each target must return a value (never raise) for any input. Failures are printed with the
shrunk input and the run exits 1. The outcome of the last long run is recorded in SECURITY.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from annotator_docs.extract import extract
from annotator_docs.render.markdown import MAX_NOTE_CHARS, NoteRenderer
from annotator_docs.sidecar import load_sidecar
from tests.test_properties import _UNITS, _calls  # the adversarial-Markdown units of the linear-work property

RENDERER = NoteRenderer()

YAML_BITS = st.sampled_from(
    [
        "source: a.py\n",
        "notes:\n",
        "  - ",
        "symbol: ",
        "body: ",
        "quote: ",
        "&a ",
        "*a",
        "!!python/object:os.system ",
        "[",
        "]",
        "{",
        "}",
        ": ",
        "- ",
        "\n",
        "  ",
        "'",
        '"',
        "|\n",
        ">\n",
        "? ",
        "%YAML 1.1\n",
        "---\n",
        "...\n",
        "\t",
        "no",
        "0x1F",
        "1e3",
        "~",
        "\ufeff",
        "\r\n",
        "\x00",
        "\x85",
        "#",
        ",",
        "!!binary ",
        "<<: ",
        "2001-12-14",
    ]
)
PYTHON_BITS = st.sampled_from(
    [
        "def ",
        "class ",
        "async ",
        "f",
        "(",
        ")",
        ":",
        "\n",
        "    ",
        "\t",
        "@d\n",
        "if __name__ == '__main__':\n",
        "'''",
        '"""',
        "#",
        "####\n",
        "import x\n",
        "from . import y\n",
        "lambda",
        "yield",
        "=",
        ",",
        "\\\n",
        "\r\n",
        "\x0c",
        "\ufeff",
        "é",
        "[",
        "]",
        "{",
        "}",
        "try:\n",
        "except:\n",
        "match x:\n",
        "case 1:\n",
        "0x",
        "f'{x}'",
    ]
)


def texts(bits):
    return st.lists(st.one_of(bits, st.text(max_size=6)), max_size=80).map("".join)


TARGETS = {
    "sidecar loader (bytes)": (st.binary(max_size=2000), lambda data: load_sidecar(data, "annotations/f.yaml")),
    "sidecar loader (YAML-ish text)": (
        texts(YAML_BITS),
        lambda text: load_sidecar(text.encode("utf-8", "surrogatepass"), "annotations/f.yaml"),
    ),
    "python extractor": (texts(PYTHON_BITS), lambda text: extract("pkg/m.py", text.encode("utf-8", "surrogatepass"))),
    "python extractor (bytes)": (st.binary(max_size=2000), lambda data: extract("pkg/m.py", data)),
    "yaml extractor": (texts(YAML_BITS), lambda text: extract("recipes/r.yaml", text.encode("utf-8", "surrogatepass"))),
    "note renderer": (st.text(max_size=400), lambda text: RENDERER.render(text, where="annotations/f.yaml")),
    "note renderer (adversarial Markdown)": (
        st.tuples(st.lists(_UNITS, min_size=1, max_size=6).map("".join), st.integers(200, MAX_NOTE_CHARS // 8)),
        lambda case: _linear(*case),
    ),
}


def _linear(unit: str, size: int) -> None:
    """Brackets, emphasis, lists, links and fences repeated up to the size limit: the work of rendering
    twice the text stays within three times the work (a square would be four), never an exception."""
    repeats = max(1, size // len(unit))
    small, large = _calls(unit * 2 * repeats), _calls(unit * 4 * repeats)
    if large > 3 * small + 5_000:
        raise AssertionError(f"rendering {unit!r} x{4 * repeats}: {large} calls against {small} for half of it")


def fuzz(name: str, strategy, target, seconds: float) -> tuple[int, str | None]:
    count = 0
    deadline = time.monotonic() + seconds

    @settings(
        max_examples=20_000,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
    )
    @seed(random.getrandbits(64))  # explicit: hypothesis then prints no "reproduce with @seed" line on each stop
    @given(strategy)
    def run(value):
        nonlocal count
        if time.monotonic() > deadline:
            raise _Stop
        count += 1
        target(value)

    try:
        run()
    except _Stop:
        pass
    except Exception as exc:
        return count, f"{exc.__class__.__name__}: {exc}"
    return count, None


class _Stop(BaseException):
    """Ends a run when the time budget is spent (a BaseException so targets cannot swallow it)."""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=1.0, help="budget per target")
    parser.add_argument("--only", default="", help="run the targets whose name contains this")
    args = parser.parse_args()
    failed = False
    for name, (strategy, target) in TARGETS.items():
        if args.only not in name:
            continue
        started = time.monotonic()
        count, failure = fuzz_until(name, strategy, target, args.minutes * 60)
        print(f"{name:32} {count:>9} inputs in {time.monotonic() - started:6.0f} s: {failure or 'no failure'}", flush=True)
        failed |= failure is not None
    return 1 if failed else 0


def fuzz_until(name, strategy, target, seconds):
    """hypothesis stops a run after its example budget; loop runs until the time budget is spent."""
    total, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        count, failure = fuzz(name, strategy, target, end - time.monotonic())
        total += count
        if failure or count == 0:
            return total, failure
    return total, None


if __name__ == "__main__":
    sys.exit(main())
