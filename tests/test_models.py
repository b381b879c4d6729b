"""The cache's plain-data form of the models: what `to_data` writes, `from_data` reads back equal, and
anything else (a missing, extra or mistyped field at any depth) is refused, never half-decoded."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from annotator_docs.engine import Engine
from annotator_docs.models import LoadResult, ResolvedFile, SourceModel, from_data, to_data


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> list[tuple[type, Any, Any]]:
    """Every model a warm build reads back, from the fixture project: (class, value, its JSON data)."""
    import shutil

    from annotator_docs.cache import Cache
    from annotator_docs.project import Project

    from .conftest import FIXTURE_PROJECT

    root = tmp_path_factory.mktemp("models") / "project"
    shutil.copytree(FIXTURE_PROJECT, root)
    engine = Engine(Project.open(root), Cache(None))
    found: list[tuple[type, Any, Any]] = []
    for analysis in engine.analyses():
        if analysis.model is not None:
            found.append((SourceModel, analysis.model, None))
        found.append((ResolvedFile, ResolvedFile(analysis.notes, analysis.findings), None))
        loaded, _ = engine.loaded(analysis.file)
        if loaded is not None:
            found.append((LoadResult, loaded, None))
    return [(cls, value, json.loads(json.dumps(to_data(value)))) for cls, value, _ in found]


def test_every_stored_model_reads_back_equal(stored):
    kinds = {cls for cls, _, _ in stored}
    assert kinds == {SourceModel, ResolvedFile, LoadResult}
    assert sum(len(value.notes) for cls, value, _ in stored if cls is ResolvedFile) >= 8
    for cls, value, data in stored:
        assert from_data(cls, data) == value


def _paths(data: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield at, data
    if isinstance(data, dict):
        for key, item in data.items():
            yield from _paths(item, (*at, key))
    elif isinstance(data, list):
        for position, item in enumerate(data):
            yield from _paths(item, (*at, position))


def _changed(data: Any, at: tuple[Any, ...], change) -> Any:
    copied = copy.deepcopy(data)
    parent = copied
    for step in at[:-1]:
        parent = parent[step]
    change(parent, at[-1])
    return copied


def _mutations(data: Any) -> Iterator[tuple[str, Any]]:
    """Every way to break the data at one place: each mapping without one of its keys or with one
    more; each scalar (a string, number, flag, null) replaced by a list, which no scalar field holds."""
    for at, item in _paths(data):
        if isinstance(item, dict) and at:
            for key in item:
                yield f"{at} without {key!r}", _changed(data, (*at, key), lambda p, k: p.pop(k))
            yield f"{at} with an extra key", _changed(data, (*at, "extra"), lambda p, k: p.__setitem__(k, 1))
        elif not isinstance(item, (dict, list)) and at:
            yield f"{at} = []", _changed(data, at, lambda p, k: p.__setitem__(k, []))


def test_any_missing_extra_or_mistyped_field_is_refused(stored):
    tried = 0
    for cls, _, data in stored:
        for where, broken in _mutations(data):
            tried += 1
            with pytest.raises((TypeError, ValueError)):
                from_data(cls, broken)
                pytest.fail(f"{cls.__name__}: {where} was accepted")
    assert tried > 1000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("index", True),  # a flag is not a number, though Python's bool is an int
        ("index", 1.0),
        ("sidecar_line", "3"),
        ("symbol", 3),  # an optional string holds a string or nothing
        ("what", None),  # a string that is not optional never holds nothing
    ],
)
def test_scalars_are_exactly_their_type(stored, field, value):
    from annotator_docs.models import Note

    note = next(n.note for cls, v, _ in stored if cls is ResolvedFile for n in v.notes)
    data = to_data(note)
    assert from_data(Note, data) == note
    data[field] = value
    with pytest.raises(TypeError, match=f"Note.{field}: expected"):
        from_data(Note, data)
