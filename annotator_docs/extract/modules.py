"""Module names of upstream paths (shared by the extractor and go-to-definition links)."""


def module_name_for(path: str) -> str:
    """Dotted module name of an upstream path: ``src/open_r1/utils/data.py`` -> ``open_r1.utils.data``."""
    parts = path.removesuffix(".py").split("/")
    if parts and parts[0] in ("src", "lib"):
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)
