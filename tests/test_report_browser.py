"""The report in a real browser: headless Chromium driven by Selenium loads each page from disk, and the
tests read back what it did — its console, its decoded figures, the trials table's order after a click on
a header, and hostile text shown as text. Skipped, saying why, where selenium, chromium or chromedriver
is missing (.ci/run installs Debian's chromium and chromium-driver, so CI runs them)."""

import shutil

import pytest

from nettrain import compare

from .runfolders import HOSTILE, HOSTILE_ERROR, HOSTILE_NAME

pytest.importorskip("matplotlib")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install -e \".[test]\"")

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="chromium and chromedriver are not installed (Debian: apt-get install chromium "
    "chromium-driver): the report's browser tests need a real browser")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1000")


@pytest.fixture(scope="module")
def pages(report_pages):
    return {name: path.as_uri() for name, path in report_pages["pages"].items()} | {"folders": report_pages["folders"]}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + (f"--user-data-dir={tmp_path_factory.mktemp('profile')}",):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)  # a driver given: nothing is downloaded
    yield driver
    driver.quit()


def load(browser, url: str) -> list:
    """Open the page and return what it wrote to the console while loading (the log is emptied by reading)."""
    browser.get_log("browser")
    browser.get(url)
    browser.execute_async_script("var done = arguments[0]; if (document.readyState === 'complete') done(); "
                                 "else window.addEventListener('load', function () { done(); });")
    return browser.get_log("browser")


@pytest.mark.parametrize("name", ["sweep", "run", "regression", "digits", "old"])
def test_the_page_loads_with_no_console_errors(browser, pages, name):
    log = load(browser, pages[name])
    assert [m for m in log if m["level"] in ("SEVERE", "WARNING")] == []
    assert browser.title.startswith("nettrain report: ")
    assert browser.execute_script("return document.querySelectorAll('section#run').length") == 1


FIGURES = {"sweep": ["fig-validation", "fig-trials", "fig-cost"], "run": ["fig-cost"],
           "regression": ["fig-cost", "fig-residuals"], "digits": ["fig-cost", "fig-weights"], "old": ["fig-cost"]}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_is_decoded_and_drawn_at_a_real_size(browser, pages, name):
    load(browser, pages[name])
    decoded = browser.execute_async_script(
        "var done = arguments[0], imgs = Array.from(document.images);"
        "Promise.all(imgs.map(function (i) { return i.decode(); })).then(function () {"
        "  done(imgs.map(function (i) { var r = i.getBoundingClientRect();"
        "    return [i.closest('figure').id, i.complete, i.naturalWidth, i.naturalHeight, r.width, r.height]; }));"
        "}, function (e) { done(String(e)); });")
    assert isinstance(decoded, list), decoded  # a string: an image failed to decode
    assert [d[0] for d in decoded] == FIGURES[name]
    for ident, complete, nw, nh, w, h in decoded:
        assert complete and nw > 200 and nh > 200 and w > 200 and h > 200, ident
        assert abs(w / h - nw / nh) < 0.02, ident  # drawn in proportion


def column(browser, header: str) -> list:
    """The cells of the trials table's column under `header`, top to bottom: data-v (a float) or text."""
    return browser.execute_script(
        "var t = document.getElementById('trials'), name = arguments[0];"
        "var k = Array.from(t.tHead.rows[0].cells).findIndex(function (h) { return h.textContent === name; });"
        "return Array.from(t.tBodies[0].rows).map(function (r) { var c = r.cells[k];"
        "  return c.dataset.v !== undefined ? parseFloat(c.dataset.v) : c.textContent; });", header)


def click(browser, header: str) -> str:
    from selenium.webdriver.common.by import By

    (th,) = [h for h in browser.find_elements(By.CSS_SELECTOR, "#trials thead th")
             if h.get_attribute("textContent") == header]
    th.click()
    return th.get_attribute("aria-sort")


def test_the_trials_table_sorts_when_a_header_is_clicked(browser, pages):
    load(browser, pages["sweep"])
    assert column(browser, "trial") == [0, 1, 2, 3, 4, 5]
    lam = column(browser, "train.weight_decay")
    assert lam == [0, 1e-5, 1e-3, 1e-2, 0.1, 1.0]
    # as numbers, not as text: "1e-05" would sort after "1.0"
    assert click(browser, "train.weight_decay") == "ascending"
    assert column(browser, "train.weight_decay") == sorted(lam)
    assert click(browser, "train.weight_decay") == "descending"
    assert column(browser, "train.weight_decay") == sorted(lam, reverse=True)
    assert column(browser, "trial") == [5, 4, 3, 2, 1, 0]  # whole rows move
    # the failed trial has no val J_data: its empty cell is last, whichever the direction
    for direction, reverse in (("ascending", False), ("descending", True)):
        if click(browser, "val J_data") != direction:
            click(browser, "val J_data")
        values = column(browser, "val J_data")
        assert values[-1] == "" and values[:-1] == sorted(values[:-1], reverse=reverse)
        assert column(browser, "status")[-1] == "failed"
    s = compare.read_sweep(pages["folders"]["sweep"])
    by_trial = {t["trial"]: t["val_data_cost"] for t in s.trials if t.get("val_data_cost") is not None}
    assert column(browser, "val J_data")[:-1] == sorted(by_trial.values(), reverse=True)
    assert click(browser, "status") == "ascending"
    assert column(browser, "status") == ["done"] * 5 + ["failed"]


def test_hostile_strings_show_as_text(browser, pages):
    for name in ("sweep", "run"):
        load(browser, pages[name])
        assert browser.execute_script("return window.__pwned === undefined")  # no hostile script or handler ran
        assert browser.execute_script("return document.scripts.length") == 1
        assert browser.execute_script("return document.querySelectorAll('svg, iframe, object').length") == 0
        heads = browser.execute_script("return Array.from(document.querySelectorAll('#confusion thead th'))"
                                       ".slice(1).map(function (h) { return h.textContent; })")
        assert sorted(heads) == sorted(HOSTILE.values())
        assert browser.execute_script("return document.querySelectorAll('#confusion img').length") == 0
    load(browser, pages["sweep"])
    assert HOSTILE_NAME in browser.execute_script("return document.querySelector('h1').textContent")
    assert browser.title == f"nettrain report: {HOSTILE_NAME}"
    errors = browser.execute_script("return Array.from(document.querySelectorAll('#trials tr.failed td'))"
                                    ".map(function (c) { return c.textContent; })")
    assert errors[-1] == HOSTILE_ERROR
