"""The one cache: results of pure stages, keyed by their inputs and by the engine's own code.

Two tiers behind one interface. In memory, a long ``mkdocs serve`` session redoes only what an edit
touched; after each build the memory keeps only what that build used, so it stays flat. On disk,
under ``.annotator-cache/``, a new process starts warm.

The disk tier loads nothing it did not sign: each entry is a line of JSON (a format version, the
kind, an HMAC made with a key that lives outside the project, ``$XDG_CACHE_HOME/annotator-docs/key``)
followed by the payload, JSON of the models through :func:`~annotator_docs.models.to_data`
(parsed once, after its HMAC is checked). The models are data; the one kind that is code, the
theme's templates as Jinja compiled them (:class:`TemplateBytecode`), is unmarshalled only from an
entry whose HMAC matched, so a file a pull request commits is never run. An entry that does not
parse, has another version, or whose HMAC does not match (a file planted by a pull request, a
stale format) is ignored and computed again. Large HTML blocks are stored beside their entry and
checked against the sha256 the authenticated entry records. A cache folder that is a symlink, resolves
outside the project, or holds files git tracks is not used (the run says so and caches in memory).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import jinja2
import jinja2.bccache

from . import __version__
from .findings import AnnotatorError, Finding
from .models import from_data, to_data
from .paths import writable_dir, write_atomic

FORMAT = 3  # bump when the layout of entries changes (3: a header line, then the payload as it is)
CACHE_DIR = ".annotator-cache"
PRUNE_AFTER_SECONDS = 600  # unused entries older than this are deleted at the end of a build
PRUNE_EVERY_SECONDS = 60  # a `mkdocs serve` session scans the folder at most this often, not on every save
T = TypeVar("T")


class Cache:
    def __init__(self, directory: Path | None, key: bytes | None = None, notices: tuple[Finding, ...] = ()) -> None:
        self.directory = directory  # None: memory only
        self._key = key or secrets.token_bytes(32)
        self.notices = notices  # why the disk tier is off, when it is
        self._memory: dict[tuple[str, str], Any] = {}
        self._used: set[tuple[str, str]] = set()
        self._pruned_at: dict[tuple[str, ...], float] = {}  # when each set of kinds was last scanned

    @classmethod
    def for_project(cls, root: Path) -> Cache:
        """The project's cache, or a memory-only one (with a notice) when the folder cannot be trusted."""
        directory = root / CACHE_DIR
        try:
            writable_dir(directory, root, what="cache folder")
        except AnnotatorError as error:
            return cls(None, notices=error.findings)
        if _tracked_by_git(root, CACHE_DIR):
            notice = Finding(
                "P004",
                f"{CACHE_DIR}/ holds files that git tracks; it is not used",
                hint=f"`git rm -r --cached {CACHE_DIR}`: the cache is made on each machine, never committed",
            )
            return cls(None, notices=(notice,))
        return cls(directory, _machine_key())

    # -- keys ------------------------------------------------------------------------------------
    @staticmethod
    def key(*parts: str) -> str:
        """A cache key over the inputs and the engine's own code, so an upgrade never serves old results."""
        digest = hashlib.sha256(code_fingerprint().encode())
        for part in parts:
            digest.update(b"\0" + part.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    # -- values ----------------------------------------------------------------------------------
    def fetch(self, kind: str, key: str, cls: type[T], compute: Callable[[], T]) -> T:
        """The cached value, or ``compute()`` stored in both tiers."""
        found = self.get(kind, key, cls)
        if found is None:
            found = compute()
            self.put(kind, key, found)
        return found

    def get(self, kind: str, key: str, cls: type[T]) -> T | None:
        slot = (kind, key)
        self._used.add(slot)
        if slot in self._memory:
            return self._memory[slot]  # type: ignore[no-any-return]
        data = self._read(kind, key)
        if data is None:
            return None
        try:
            value = from_data(cls, data)
        except (TypeError, ValueError, KeyError):
            return None
        self._memory[slot] = value
        return value

    def put(self, kind: str, key: str, value: Any) -> None:
        slot = (kind, key)
        self._used.add(slot)
        self._memory[slot] = value
        self._write(kind, key, to_data(value))

    def recall(self, kind: str, key: str) -> Any:
        """A value kept with :meth:`remember` (memory only), or None."""
        self._used.add((kind, key))
        return self._memory.get((kind, key))

    def remember(self, kind: str, key: str, value: Any) -> None:
        """Keep a value in memory only (for what is cheap to rebuild but needed all build long)."""
        self._used.add((kind, key))
        self._memory[(kind, key)] = value

    # -- blobs: large text kept on disk, not in memory --------------------------------------------
    def store_blob(self, kind: str, key: str, index: int, text: str) -> tuple[str, str]:
        """Write ``text`` beside entry ``key``; returns (where, sha256) for the entry to record.
        Memory-only caches keep the text itself (``where`` is then ``""`` and the text travels inline)."""
        data = text.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        if self.directory is None:
            return "", digest
        file = self.directory / kind / f"{key}-{index}.html"
        write_atomic(file, data)
        return str(file), digest

    @staticmethod
    def read_blob(where: str, digest: str) -> str:
        data = Path(where).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise OSError(f"{where} changed since it was cached")
        return data.decode("utf-8")

    # -- life cycle ----------------------------------------------------------------------------
    def start_build(self) -> None:
        self._used = set()

    def finish_build(self, kinds: tuple[str, ...]) -> None:
        """Forget what this build did not use: memory at once, disk entries once they are old."""
        self._memory = {slot: value for slot, value in self._memory.items() if slot in self._used or slot[0] not in kinds}
        if self.directory is None:
            return
        now = time.monotonic()
        if kinds in self._pruned_at and now - self._pruned_at[kinds] < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at[kinds] = now
        used = {key for kind, key in self._used}
        cutoff = time.time() - PRUNE_AFTER_SECONDS
        for kind in kinds:
            folder = self.directory / kind
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                stem = entry.name.split(".", 1)[0].split("-", 1)[0]
                try:
                    if stem not in used and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.path)
                except OSError:
                    pass

    # -- disk ------------------------------------------------------------------------------------
    def _entry_file(self, kind: str, key: str) -> Path | None:
        return self.directory / kind / f"{key}.json" if self.directory is not None else None

    def _read(self, kind: str, key: str) -> Any:
        file = self._entry_file(kind, key)
        if file is None:
            return None
        try:
            head, _, payload = file.read_bytes().partition(b"\n")
            entry = json.loads(head)
            if entry.get("format") != FORMAT or entry.get("kind") != kind:
                return None
            if not hmac.compare_digest(str(entry.get("hmac", "")), self._sign(kind, key, payload)):
                return None  # planted or corrupted: compute again
            return json.loads(payload)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _write(self, kind: str, key: str, data: Any) -> None:
        file = self._entry_file(kind, key)
        if file is None:
            return
        # ASCII JSON has no raw newline: the first one ends the header, and the payload is parsed once
        payload = json.dumps(data, separators=(",", ":"), sort_keys=True).encode("ascii")
        head = json.dumps({"format": FORMAT, "kind": kind, "hmac": self._sign(kind, key, payload)}, separators=(",", ":"))
        with contextlib.suppress(OSError):  # a read-only or full disk costs speed, never correctness
            write_atomic(file, head.encode("ascii") + b"\n" + payload)

    def _sign(self, kind: str, key: str, payload: bytes) -> str:
        header = f"{FORMAT}\0{kind}\0{key}\0".encode("utf-8", "surrogatepass")
        return hmac.new(self._key, header + payload, "sha256").hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """Hash of annotator's own source and schema (read once per process)."""
    digest = hashlib.sha256(__version__.encode())
    package = Path(__file__).parent
    for file in sorted(
        [
            *package.rglob("*.py"),
            *package.rglob("*.json"),
            *package.rglob("*.html"),
            *package.rglob("*.js"),
            *package.rglob("*.css"),
        ]
    ):
        digest.update(file.relative_to(package).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def _machine_key() -> bytes:
    """The HMAC key of this machine's caches; outside any project, so no pull request can know it."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "annotator-docs"
    file = base / "key"
    try:
        data = file.read_bytes()
        if len(data) >= 32:
            return data
    except OSError:
        pass
    key = secrets.token_bytes(32)
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
    except FileExistsError:
        return file.read_bytes() or key
    except OSError:
        pass  # no writable home: this process's key only (the disk tier then serves this process alone)
    return key


def _tracked_by_git(root: Path, relative: str) -> bool:
    try:
        listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--", relative], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return listed.returncode == 0 and bool(listed.stdout)


class TemplateBytecode(jinja2.BytecodeCache):
    """Jinja's compiled templates (the theme's), kept in the cache: its memory tier for the rebuilds
    of a `mkdocs serve` session, its disk tier for the next process. Jinja checks each template's
    source checksum and its own bytecode version on load; the entry's HMAC keeps out planted code."""

    KIND = "template"

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def _key(self, bucket: jinja2.bccache.Bucket) -> str:
        return self.cache.key(self.KIND, jinja2.__version__, bucket.key, bucket.checksum)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        compiled = self.cache.get(self.KIND, self._key(bucket), str)
        if compiled is None:
            return
        try:
            bucket.bytecode_from_string(base64.b64decode(compiled, validate=True))
        except (ValueError, TypeError, EOFError):
            bucket.reset()  # compiled again, as if it were not cached

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.cache.put(self.KIND, self._key(bucket), base64.b64encode(bucket.bytecode_to_string()).decode("ascii"))
