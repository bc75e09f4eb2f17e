"""`nettrain report` of a folder `nettrain sweep` wrote (a done, a pruned and a failed trial), in headless
Chromium: the page loads without a console message, its trials table holds trials.csv's rows with their
statuses, the best trial marked, and sorts by a swept key. Skipped as tests/test_report_browser.py is."""

from pathlib import Path

import pytest

from nettrain import report
from nettrain.sweep import load_sweep, run_sweep

from .test_report_browser import browser, click, column, load  # noqa: F401 - the browser fixture

pytest.importorskip("optuna")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    top = tmp_path_factory.mktemp("sweep-report")
    path = top / "s.yaml"
    path.write_text(f"""name: report
base: {ROOT / 'configs' / 'iris.yaml'}
set: [train.epochs=40, log.every=5]
grid: {{train.learning_rate: [0.5, 0.4, 50, 1.0e+100, 0.45]}}
prune: {{startup_trials: 2}}
""")
    res = run_sweep(load_sweep(path), out=top / "out")
    assert [r["status"] for r in res.rows.values()] == ["done", "done", "pruned", "failed", "done"]
    return report.write_report(top / "out", top / "report.html").as_uri(), res


def test_the_report_of_a_real_sweep_in_chromium(browser, page):  # noqa: F811 - the fixture
    url, res = page
    log = load(browser, url)
    assert [m for m in log if m["level"] in ("SEVERE", "WARNING")] == []
    assert browser.title == "nettrain report: report"
    assert column(browser, "trial") == [0, 1, 2, 3, 4]
    assert column(browser, "status") == ["done", "done", "pruned", "failed", "done"]
    classes = browser.execute_script("return Array.from(document.querySelectorAll('#trials tbody tr'))"
                                     ".map(function (r) { return r.className; })")
    assert classes == [("done best" if k == res.best else {2: "pruned", 3: "failed"}.get(k, "done")) for k in range(5)]
    assert click(browser, "train.learning_rate") == "ascending"
    assert column(browser, "train.learning_rate") == sorted([0.5, 0.4, 50, 1e100, 0.45])
    figures = browser.execute_script("return Array.from(document.querySelectorAll('figure')).map(function (f) "
                                     "{ return f.id; })")
    assert figures[:2] == ["fig-validation", "fig-trials"] and "fig-cost" in figures
