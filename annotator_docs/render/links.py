"""Cross-references: which names in a code pane link where, and what a reference in prose points at.

The :class:`SiteIndex` knows every locked file of every source: its page, its symbols, its note ids,
the modules it defines and the names packages re-export (from the lock's ``exports``, and from the
``__init__.py`` files that are locked, page or reference-only, parsed statically, lazy
``_import_structure`` modules included). It answers two questions:

* go-to-definition: ``from trl import GRPOTrainer`` in grpo.py's code -> TRL's annotated page,
  ``#GRPOTrainer``; a name from a locked source's package without a page -> GitHub at the pinned
  commit, with the line when the file is locked for reference;
* references in prose: ``[x](trl/trainer/grpo_trainer.py#GRPOTrainer._compute_loss)`` -> a page URI,
  and whether its fragment exists (dead links are findings).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..extract import module_name_for
from ..layout import page_uri
from ..models import IMPORTABLE_KINDS, Lock, LockedFile, SourceModel

_LINE_FRAGMENT = re.compile(r"^L\d+(-L\d+)?$")


@dataclass(frozen=True)
class Defined:
    file: LockedFile
    names: dict[str, int]  # importable top-level name -> its definition line


@dataclass(frozen=True)
class SiteIndex:
    lock: Lock
    modules: dict[str, Defined]  # dotted module -> what it defines
    anchors: dict[str, frozenset[str]]  # file key -> qualnames and note ids ("note-x") on its page
    exports: dict[str, str]  # "trl.GRPOTrainer" -> "trl/trainer/grpo_trainer.py#GRPOTrainer" (lock) or "module:name"
    by_path: dict[str, tuple[LockedFile, ...]]  # upstream path -> files with that path (one per source, usually one)
    packages: dict[str, LockedFile]  # top-level package -> a file of the source that holds it (for upstream links)
    prefix: str = ""  # where the generated pages sit inside the docs ("" for the plugin)
    digest: str = field(default="")

    @classmethod
    def build(
        cls, lock: Lock, models: dict[str, SourceModel], note_ids: dict[str, tuple[str, ...]], prefix: str = ""
    ) -> SiteIndex:
        modules: dict[str, Defined] = {}
        exports: dict[str, str] = {}
        anchors: dict[str, frozenset[str]] = {}
        by_path: dict[str, list[LockedFile]] = {}
        packages: dict[str, LockedFile] = {}
        for source in lock.sources:
            for name, target in source.exports:
                exports[name] = target
        for file in lock.all_files:
            by_path.setdefault(file.path, []).append(file)
            model = models.get(file.key)
            if file.path.endswith(".py"):
                module = module_name_for(file.path)
                packages.setdefault(module.split(".")[0], file)
                if model is not None:
                    names = {
                        s.qualname: s.name_line for s in model.symbols if s.kind in IMPORTABLE_KINDS and "." not in s.qualname
                    }
                    modules[module] = Defined(file, names)
                    package = module if file.path.endswith("__init__.py") else module.rpartition(".")[0]
                    for name, origin in model.exports:
                        exports.setdefault(
                            f"{package}.{name}" if file.path.endswith("__init__.py") else f"{module}.{name}", f"{origin}:{name}"
                        )
            if file.page:
                qualnames = {s.qualname for s in model.symbols} if model is not None else set()
                anchors[file.key] = frozenset(qualnames | {f"note-{i}" for i in note_ids.get(file.key, ())})
        text = repr(
            (
                prefix,
                sorted((m, d.file.key, sorted(d.names.items())) for m, d in modules.items()),
                sorted(exports.items()),
                sorted((k, sorted(v)) for k, v in anchors.items()),
            )
        )
        index = cls(lock, modules, anchors, exports, {k: tuple(v) for k, v in by_path.items()}, packages, prefix)
        object.__setattr__(index, "digest", hashlib.sha256(text.encode()).hexdigest())
        return index

    # -- references in prose -------------------------------------------------------------------------
    def reference(self, href: str) -> tuple[LockedFile, str] | None:
        """``path#fragment`` naming a locked file with a page (by key, or by upstream path when that is
        unique) -> (file, fragment); None when ``href`` is not a reference to a locked file."""
        path, _, fragment = href.partition("#")
        file = self._file_named(path)
        return (file, fragment) if file is not None else None

    def _file_named(self, path: str) -> LockedFile | None:
        keyed = self.lock.file(path)
        if keyed is not None and keyed.page:
            return keyed
        files = [f for f in self.by_path.get(path, ()) if f.page]
        return files[0] if len(files) == 1 else None

    def resolve_uri(self, href: str) -> str | None:
        found = self.reference(href)
        return page_uri(found[0], found[1], self.prefix) if found else None

    def dead(self, href: str) -> str | None:
        """Why a reference does not resolve (unknown fragment), or None when it does."""
        found = self.reference(href)
        if found is None:
            return None
        file, fragment = found
        if not fragment or _LINE_FRAGMENT.match(fragment) or fragment in self.anchors.get(file.key, ()):
            return None
        return f"`{fragment}` is neither a symbol nor a note id on the page of {file.key}"

    # -- go-to-definition ------------------------------------------------------------------------------
    def definition(self, module: str, name: str | None) -> str | None:
        """Where ``from module import name`` (or ``import module``) points: a site page URI with its
        fragment, an upstream URL, or None for packages no source holds."""
        target = self._on_site(module, name, depth=0)
        if target is not None:
            return target
        return self._upstream(module, name)

    def _on_site(self, module: str, name: str | None, depth: int) -> str | None:
        if depth > 8:
            return None  # re-export cycles
        if name is not None and f"{module}.{name}" in self.modules:  # `from pkg import submodule`
            return self._page(self.modules[f"{module}.{name}"].file, "")
        defined = self.modules.get(module)
        if defined is not None and (name is None or name in defined.names):
            return self._page(defined.file, name or "")
        if name is None:
            return None
        export = self.exports.get(f"{module}.{name}")
        if export is not None:
            if "#" in export:  # from the lock: path#Symbol
                found = self.reference(export)
                return page_uri(found[0], found[1], self.prefix) if found else None
            origin, _, original = export.rpartition(":")
            return self._on_site(origin, original, depth + 1)
        # a package whose __init__ is not locked: the one module of it that defines the name, if unique
        owners = [d for m, d in self.modules.items() if m.startswith(module + ".") and name in d.names]
        if len(owners) == 1:
            return self._page(owners[0].file, name)
        return None

    def _page(self, file: LockedFile, fragment: str) -> str | None:
        if file.page:
            return page_uri(file, fragment, self.prefix)
        return self._blob(file, fragment)

    def _blob(self, file: LockedFile, name: str) -> str | None:
        source = self.lock.source_of(file)
        module = module_name_for(file.path)
        line = self.modules[module].names.get(name) if module in self.modules and name else None
        return source.blob_url(file.path, line)

    def _upstream(self, module: str, name: str | None) -> str | None:
        """A module of a locked source's package that has no page: link upstream at the pinned commit."""
        top = module.split(".")[0]
        holder = self.packages.get(top)
        if holder is None:
            return None
        source = self.lock.source_of(holder)
        if not source.is_pinned:
            return None
        defined = self.modules.get(module)
        if defined is not None:  # locked for reference: the line is known
            return self._blob(defined.file, name or "")
        prefix = holder.path[: len(holder.path) - len(module_name_for(holder.path).replace(".", "/")) - 3].rstrip("/")
        is_package = any(m.startswith(module + ".") for m in self.modules)
        guess = module.replace(".", "/") + ("/__init__.py" if is_package else ".py")
        return source.blob_url(f"{prefix}/{guess}" if prefix else guess)


def resolver_for(model: SourceModel, index: SiteIndex) -> Callable[[str, int], str | None]:
    """``resolve(name, line) -> URI or URL | None`` for one file's code pane."""
    own = {s.qualname for s in model.symbols if s.kind in IMPORTABLE_KINDS}
    targets: dict[str, str] = {}
    for imported in model.imports:
        target = index.definition(imported.module, imported.name)
        if target:
            targets.setdefault(imported.bound_name, target)

    def resolve(name: str, line: int) -> str | None:
        if name in targets:
            return targets[name]
        if name in own:
            return f"#{name}"
        return None

    return resolve
