"""The edit loop on the real site: save a note in a sidecar, wait for `mkdocs serve` to serve it. Run by hand:

    .venv/bin/python benchmarks/serve.py              # 5 saves, with and without --dirty
    .venv/bin/python benchmarks/serve.py --repeat 9

The site is this repository's tracked files plus the pulled snapshot (`annotator snapshot pull`),
copied to a temporary directory so the working tree is never touched. Each save appends a marker
to the overview of `src/open_r1/grpo.py`'s sidecar; the page is polled every 20 ms until it shows
the marker, so the figure includes mkdocs' file-watching delay and the whole rebuild, as an
annotator feels it. Prints the median, the fastest and the slowest save.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

# benchmarks/site.py by path: the name `site` is the standard library's, imported at start-up
_spec = importlib.util.spec_from_file_location("site_benchmark", Path(__file__).with_name("site.py"))
assert _spec and _spec.loader
_site_benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_site_benchmark)
REPO, serve_edit_time = _site_benchmark.REPO, _site_benchmark.serve_edit_time

SIDECAR = "annotations/src/open_r1/grpo.py.yaml"
PAGE = "files/src/open_r1/grpo.py/"  # under site_url's path, where `mkdocs serve` mounts the site
OVERVIEW = "overview: |\n  "


def copy_site(target: Path) -> Path:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target / name)
    if not (REPO / "source_snapshot" / "open-r1").is_dir():
        raise SystemExit("no snapshot: run `annotator snapshot pull` first")
    for pulled in (REPO / "source_snapshot").iterdir():
        if pulled.is_dir():
            shutil.copytree(pulled, target / "source_snapshot" / pulled.name, dirs_exist_ok=True)
    return target


def _mount_path(config: Path) -> str:
    import yaml

    class _Loader(yaml.SafeLoader):  # mkdocs.yml holds !!python/name tags: read past them
        pass

    _Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    site_url = yaml.load(config.read_text(), Loader=_Loader).get("site_url") or ""
    return urlsplit(site_url).path.lstrip("/")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="annotator-serve-") as workspace:
        site = copy_site(Path(workspace))
        mount = _mount_path(site / "mkdocs.yml")
        sidecar = site / SIDECAR
        original = sidecar.read_text()
        if OVERVIEW not in original:
            raise SystemExit(f"{SIDECAR} has no overview block to edit")
        for dirty in (False, True):
            saves: list[float] = []

            def edit(run: int) -> None:
                sidecar.write_text(original.replace(OVERVIEW, f"{OVERVIEW}edit-{run} ", 1))

            median = serve_edit_time(site, mount + PAGE, edit, args.repeat, dirty=dirty, each=saves)
            sidecar.write_text(original)
            label = "mkdocs serve --dirty" if dirty else "mkdocs serve"
            spread = f"fastest {min(saves):.2f}, slowest {max(saves):.2f}; {args.repeat} saves"
            print(f"{label:22} save -> page: median {median:.2f} s  ({spread})")


if __name__ == "__main__":
    main()
