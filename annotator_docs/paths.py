"""Path rules: nothing named by a lock, a sidecar or a page resolves outside its root, and nothing
is written through a link."""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path, PurePosixPath

from .findings import fail


def check_relative_path(value: object, *, what: str, code: str = "L005", where: str = "") -> str:
    """A relative POSIX path: no leading ``/``, no drive, no ``.``/``..`` component, no backslash, NUL or control character."""
    if not isinstance(value, str) or not value:
        fail(code, f"{what} must be a non-empty string", path=where)
    if re.search(r"[\x00-\x1f\x7f\\]", value):
        fail(code, f"{what} {value!r} contains a backslash or a control character", path=where)
    if PurePosixPath(value).is_absolute() or re.match(r"^[A-Za-z]:", value):
        fail(code, f"{what} `{value}` is absolute", path=where, hint="give a path relative to the project")
    if any(part in ("", ".", "..") for part in value.split("/")):
        fail(code, f"{what} `{value}` has an empty, `.` or `..` component", path=where)
    return value


def safe_join(
    root: Path, relative: str, *, what: str, code: str = "L005", where: str = "", root_resolved: Path | None = None
) -> Path:
    """``root / relative``, refusing anything that resolves (symlinks included) outside ``root``
    (``root_resolved``: the caller's resolution of ``root``, for one read of many)."""
    check_relative_path(relative, what=what, code=code, where=where)
    root_resolved = root.resolve() if root_resolved is None else root_resolved
    if not _has_link(root_resolved, relative):
        return root_resolved / relative  # no `..` and no link below a resolved root: it is its own resolution
    candidate = (root_resolved / relative).resolve()
    if not candidate.is_relative_to(root_resolved):
        fail(code, f"{what} `{relative}` resolves outside {root_resolved}", path=where, hint="is a symlink pointing elsewhere?")
    return candidate


def _has_link(root: Path, relative: str) -> bool:
    """Whether a component of ``relative`` below ``root`` is a symlink (or cannot be told apart from
    one): one ``lstat`` per component, where resolving the whole path costs a dozen calls per file."""
    current = str(root)
    for part in relative.split("/"):
        current = f"{current}/{part}"
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return True
        except (FileNotFoundError, NotADirectoryError):
            return False  # what does not exist holds no link
        except OSError:
            return True  # unreadable: let resolving decide
    return False


def writable_dir(directory: Path, project_root: Path, *, what: str) -> Path:
    """A folder the tool may write or delete in: not a symlink (nor under one) and inside the project.

    A pull request can commit ``site`` or ``.annotator-cache`` as a link to anywhere; writing
    through it would write (and mkdocs would delete) outside the project.
    """
    root = project_root.resolve()
    absolute = directory if directory.is_absolute() else project_root / directory
    try:
        relative = absolute.relative_to(project_root)
    except ValueError:
        relative = None
    if relative is not None:
        current = project_root
        for part in relative.parts:
            current = current / part
            if current.is_symlink():
                fail(
                    "P004",
                    f"{what} `{current}` is a symbolic link; refusing to write through it",
                    hint="remove the link (`git rm` it if it was committed); the tool makes the folder itself",
                )
    resolved = absolute.resolve()
    if relative is not None and not resolved.is_relative_to(root):
        fail("P004", f"{what} `{absolute}` resolves outside the project ({resolved})")
    return absolute


def write_atomic(file: Path, data: bytes) -> bool:
    """Write via a temporary file and rename; returns False (and writes nothing) when unchanged."""
    try:
        if file.read_bytes() == data:
            return False
    except OSError:
        pass
    file.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)
    try:
        os.fchmod(handle, 0o644)  # mkstemp makes 0600: pages and exports must be readable by a web server
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
