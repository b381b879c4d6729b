"""Go-to-definition: which names in a file's code link where (other pages, this page, upstream)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..extract import module_name_for
from ..lock import Lock
from ..model import SourceModel, SymbolKind
from .markdown import LinkContext

_TOP_LEVEL = {SymbolKind.FUNCTION, SymbolKind.ASYNC_FUNCTION, SymbolKind.CLASS, SymbolKind.VARIABLE}


@dataclass(frozen=True)
class SymbolIndex:
    """Top-level symbols of every Python file in the snapshot, by module name."""

    modules: dict[str, tuple[str, frozenset[str]]]  # module -> (upstream path, top-level names)
    prefix: str  # path prefix of the package tree ("src/" for open-r1)
    top_packages: frozenset[str]

    @classmethod
    def build(cls, models: list[SourceModel]) -> SymbolIndex:
        modules = {}
        prefix = ""
        for model in models:
            if model.language != "python":
                continue
            module = module_name_for(model.path)
            names = frozenset(s.path for s in model.symbols if s.kind in _TOP_LEVEL)
            modules[module] = (model.path, names)
            if model.path.startswith(("src/", "lib/")):
                prefix = model.path.split("/", 1)[0] + "/"
        return cls(modules, prefix, frozenset(m.split(".")[0] for m in modules))

    def digest(self) -> str:
        """A stable description for cache keys (frozenset order varies between processes)."""
        cached = getattr(self, "_digest", None)
        if cached is None:
            text = repr(sorted((module, path, sorted(names)) for module, (path, names) in self.modules.items()))
            cached = hashlib.sha256(text.encode()).hexdigest()
            object.__setattr__(self, "_digest", cached)
        return cached

    def is_package(self, module: str) -> bool:
        return any(other.startswith(module + ".") for other in self.modules)


def resolver_for(model: SourceModel, index: SymbolIndex, context: LinkContext, lock: Lock):
    """Return ``resolve(name, line) -> href | None`` for one file's code pane."""
    own = {s.path for s in model.symbols if s.kind in _TOP_LEVEL}
    targets: dict[str, str] = {}
    for imported in model.imports:
        href = _import_target(imported.module, imported.name, index, context, lock)
        if href:
            targets.setdefault(imported.bound_name, href)

    def resolve(name: str, line: int) -> str | None:
        if name in targets:
            return targets[name]
        if name in own:
            return f"#{name}"
        return None

    return resolve


def _import_target(module: str, name: str | None, index: SymbolIndex, context: LinkContext, lock: Lock) -> str | None:
    candidates = [f"{module}.{name}"] if name else []
    candidates.append(module)
    for candidate in candidates:  # `from pkg import module` or `from module import name`
        if candidate in index.modules:
            path, names = index.modules[candidate]
            fragment = f"#{name}" if name and candidate == module and name in names else ""
            return context.to_site(f"files/{path}.md{fragment}")
    if name and index.is_package(module):  # a name re-exported by a package: look in its modules
        for other, (path, names) in sorted(index.modules.items()):
            if other.startswith(module + ".") and name in names:
                return context.to_site(f"files/{path}.md#{name}")
    if module.split(".")[0] in index.top_packages and lock.is_pinned:
        parts = module.split(".")
        guess = "/".join(parts) + ("/__init__.py" if index.is_package(module) else ".py")
        return lock.blob_url(index.prefix + guess)
    return None
