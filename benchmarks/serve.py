"""The edit loop on the real site: save a note in a sidecar, wait for `mkdocs serve` to serve it. Run by hand:

    .venv/bin/python benchmarks/serve.py              # 5 saves, with and without --dirty
    .venv/bin/python benchmarks/serve.py --repeat 9

The site is this repository's tracked files plus the pulled snapshot (`annotator snapshot pull`),
copied to a temporary directory so the working tree is never touched. Each save puts a marker at
the start of the overview of `src/open_r1/grpo.py`'s sidecar; the page is polled every 20 ms until it shows
the marker, so the figure includes mkdocs' file-watching delay and the whole rebuild, as an
annotator feels it. Prints the median, the fastest and the slowest save.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from mkdocs.utils import yaml_load

# benchmarks/site.py by path: the name `site` is the standard library's, imported at start-up
_spec = importlib.util.spec_from_file_location("site_benchmark", Path(__file__).with_name("site.py"))
assert _spec and _spec.loader
_site_benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_site_benchmark)
REPO, serve_edit_times = _site_benchmark.REPO, _site_benchmark.serve_edit_times

SIDECAR = "annotations/src/open_r1/grpo.py.yaml"
PAGE = "files/src/open_r1/grpo.py/"  # under site_url's path, where `mkdocs serve` mounts the site
OVERVIEW = "overview: |\n  "


SITE_PARTS = ("mkdocs.yml", "docs", "overrides", "annotations", "source_snapshot")  # what a build reads


def copy_site(target: Path) -> Path:
    if not (REPO / "source_snapshot" / "open-r1").is_dir():
        raise SystemExit("no snapshot: run `annotator snapshot pull` first")
    for part in SITE_PARTS:
        (shutil.copytree if (REPO / part).is_dir() else shutil.copy2)(REPO / part, target / part)
    return target


def _mount_path(config: Path) -> str:
    with config.open(encoding="utf-8") as stream:
        site_url = yaml_load(stream).get("site_url") or ""
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

            def edit(run: int) -> None:
                sidecar.write_text(original.replace(OVERVIEW, f"{OVERVIEW}edit-{run} ", 1))

            saves = serve_edit_times(site, mount + PAGE, edit, args.repeat, dirty=dirty)
            sidecar.write_text(original)
            label = "mkdocs serve --dirty" if dirty else "mkdocs serve"
            spread = f"fastest {min(saves):.2f}, slowest {max(saves):.2f}; {args.repeat} saves"
            print(f"{label:22} save -> page: median {statistics.median(saves):.2f} s  ({spread})")


if __name__ == "__main__":
    main()
