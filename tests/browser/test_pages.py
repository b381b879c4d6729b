"""What a reader sees: layout at desktop and phone widths, highlighting, anchors, dark mode."""

from __future__ import annotations

import pytest

from .conftest import screenshot

pytestmark = pytest.mark.browser
PAGE = "/files/trainer/train_grpo.py/"


def box(page, selector):
    return page.locator(selector).first.bounding_box()


def test_desktop_notes_sit_beside_their_code(page, site_url, console_errors):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(site_url + PAGE)
    row = "#note-main-Load-tokenizer"
    note = box(page, row)
    code = box(page, f".ann-row:has({row}) .ann-code")
    assert note["x"] + note["width"] <= code["x"] + 1
    assert abs(note["y"] - code["y"]) < 40
    page.locator(row).scroll_into_view_if_needed()
    screenshot(page, "desktop-1280")
    assert console_errors == []


def test_phone_rows_stack_and_never_scroll_sideways(page, site_url, console_errors):
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(site_url + PAGE)
    row = "#note-main-Load-tokenizer"
    page.locator(row).scroll_into_view_if_needed()
    note = box(page, row)
    code = box(page, f".ann-row:has({row}) .ann-code")
    assert note["y"] + note["height"] <= code["y"] + 1
    assert note["width"] <= 375 and code["width"] <= 375
    page.mouse.wheel(600, 0)
    page.wait_for_timeout(100)
    assert page.evaluate("window.scrollX") == 0
    overflow = page.evaluate("""() => {
        let worst = 0;
        for (const el of document.querySelectorAll('body *')) {
          const style = getComputedStyle(el);
          if (style.display === 'none' || style.visibility === 'hidden' || style.opacity === '0') continue;
          if (el.closest('.md-tooltip, pre, .ann-table, .md-sidebar, .md-search')) continue;
          worst = Math.max(worst, el.getBoundingClientRect().right - document.documentElement.clientWidth);
        }
        return worst;
    }""")
    assert overflow <= 1
    screenshot(page, "phone-375")
    assert console_errors == []


def test_hovering_a_note_highlights_its_lines_and_back(page, site_url):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(site_url + PAGE)
    page.hover("#note-main-Load-tokenizer")
    highlighted = page.eval_on_selector_all(".ann-line.ann-hl", "els => els.map(e => e.id)")
    assert highlighted == [f"L{n}" for n in range(23, 28)]
    page.hover("#L36")
    assert page.eval_on_selector("#note-main\\.make_prompt", "el => el.classList.contains('ann-active')")
    assert page.eval_on_selector("#note-main-Load-tokenizer", "el => el.classList.contains('ann-active')") is False


def test_focusing_a_note_highlights_its_lines(page, site_url):
    page.goto(site_url + PAGE)
    page.focus("#note-main\\.make_prompt")
    assert page.eval_on_selector_all(".ann-line.ann-hl", "els => els.map(e => e.id)") == ["L35", "L36"]


@pytest.mark.parametrize("fragment, line", [("L40", "L40"), ("main.make_prompt", "L35")])
def test_anchors_land_on_the_right_line(page, site_url, fragment, line):
    page.set_viewport_size({"width": 1280, "height": 700})
    page.goto(f"{site_url}{PAGE}#{fragment}")
    page.wait_for_timeout(200)
    target = page.locator(f"#{line}")
    assert target.evaluate("el => el.classList.contains('ann-target')")
    rect = target.bounding_box()
    assert 0 <= rect["y"] <= 700


def test_dark_mode_toggles(page, site_url, console_errors):
    page.goto(site_url + PAGE)
    before = page.get_attribute("body", "data-md-color-scheme")
    page.locator("label.md-header__button[for^='__palette']:visible").first.click()
    after = page.get_attribute("body", "data-md-color-scheme")
    assert {before, after} == {"default", "slate"}
    screenshot(page, "dark-mode")
    assert console_errors == []


def test_highlighting_survives_instant_navigation(page, site_url, console_errors):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(site_url + "/")
    page.click("article a[href*='train_grpo']")
    page.wait_for_selector(".ann-rows[data-ann-ready]")
    page.hover("#note-main-Load-tokenizer")
    assert page.locator(".ann-line.ann-hl").count() == 5
    assert console_errors == []


def test_dashboard_renders(page, site_url, console_errors):
    page.goto(site_url + "/progress/")
    assert page.locator("table tbody tr").count() == 5
    assert page.locator("svg.ann-burnup, .ann-chart p").count() >= 1
    screenshot(page, "dashboard")
    assert console_errors == []


@pytest.fixture(scope="module")
def diagram_site_url(tmp_path_factory):
    """The fixture project with three diagrams and three hostile ones (two config changes, one raw
    <pre class="mermaid">), built without --strict so the page shows what a reader would get."""
    import functools
    import http.server
    import shutil
    import socketserver
    import threading

    from ..conftest import FIXTURE_PROJECT, run_mkdocs, write_site
    from ..test_guards import diagram_notes

    project = tmp_path_factory.mktemp("diagrams") / "project"
    shutil.copytree(FIXTURE_PROJECT, project)
    diagram_notes(project)
    write_site(project)
    result = run_mkdocs(project)
    assert result.returncode == 0, result.stderr

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = socketserver.TCPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(project / "site")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_one_hostile_diagram_never_stops_the_others(page, diagram_site_url, console_errors):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(diagram_site_url + PAGE)
    for _ in range(40):  # diagrams draw as they scroll into view: read down the page
        if page.locator(".ann-diagram svg").count() >= 3:
            break
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(150)
    page.wait_for_function("document.querySelectorAll('.ann-diagram svg').length >= 3", timeout=20_000)
    drawn = page.locator(".ann-diagram svg")
    assert drawn.count() == 3
    labels = page.locator(".ann-diagram").all_inner_texts()
    assert [("step 1" in t, "step 2" in t, "step 3" in t) for t in labels] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]
    assert page.locator("text=This diagram was not drawn").count() == 2
    assert page.locator("pre.mermaid").count() == 0
    page.locator(".ann-diagram").nth(2).scroll_into_view_if_needed()
    screenshot(page, "three-diagrams-one-hostile")
    assert console_errors == []
