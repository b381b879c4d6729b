"""Extractor throughput against a bare libcst parse, measured in the same run.

    .venv/bin/python benchmarks/extract.py [--files 100] [--repeat 3]

Corpus: the first N top-level modules of the running Python's standard library (sorted by
name, so every run reads the same files). Prints lines/s for ``ast.parse``, bare
``libcst.parse_module``, libcst with PositionProvider, and annotator's extractor (cold: no cache)
with its default line reader and with its libcst reader (the reference it falls back to), each with
its ratio against the bare libcst parse.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
import sysconfig
import time
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from annotator_docs.extract import decode_lines, extract
from annotator_docs.extract.python import extract_python


def corpus(count: int) -> list[tuple[str, bytes]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for path in sorted(stdlib.glob("*.py")):
        data = path.read_bytes()
        try:
            ast.parse(data)
            cst.parse_module(data.decode("utf-8"))
        except Exception:
            continue
        files.append((path.name, data))
        if len(files) == count:
            break
    return files


def timed(function, files, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for name, data in files:
            function(name, data)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = corpus(args.files)
    lines = sum(data.count(b"\n") for _, data in files)
    contenders = {
        "ast.parse": lambda name, data: ast.parse(data),
        "libcst.parse_module (baseline)": lambda name, data: cst.parse_module(data.decode("utf-8")),
        "libcst + PositionProvider": lambda name, data: MetadataWrapper(cst.parse_module(data.decode("utf-8"))).resolve(
            PositionProvider
        ),
        "annotator extract": lambda name, data: extract(name, data),
        "annotator extract, libcst reader": lambda name, data: extract_python(name, decode_lines(data)[0], reader="libcst"),
    }
    results = {label: timed(fn, files, args.repeat) for label, fn in contenders.items()}
    baseline = results["libcst.parse_module (baseline)"]
    print(f"{len(files)} stdlib files, {lines} lines, median of {args.repeat} runs, Python {sys.version.split()[0]}")
    print(f"{'':34}{'seconds':>9}{'lines/s':>10}{'vs libcst':>11}")
    for label, seconds in results.items():
        print(f"{label:34}{seconds:9.2f}{lines / seconds:10.0f}{baseline / seconds:10.2f}x")


if __name__ == "__main__":
    main()
