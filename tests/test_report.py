"""nettrain.report: the HTML page of a run or a sweep, read back with an HTML parser — its sections, its
numbers against summary.json and trials.csv, its figures decoded, and every hostile text escaped.
(tests/test_report_browser.py loads the same pages in a real browser.)"""

import base64
import hashlib
import html
import io
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from nettrain import compare, metrics, report
from nettrain.errors import MissingExtra, RunIOError

from .runfolders import HOSTILE, HOSTILE_ERROR, HOSTILE_NAME, ROOT, make_sweep

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def folders(report_pages):
    return report_pages["folders"]


@pytest.fixture(scope="module")
def pages(report_pages):
    return {name: Page(path) for name, path in report_pages["pages"].items()}


class Page(HTMLParser):
    """A page parsed: every element (tag, attributes, text inside it), ids, and the text of each table."""

    def __init__(self, path: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.path, self.text_ = path, path.read_text(encoding="utf-8")
        self.elements: list[dict] = []
        self.open: list[dict] = []
        self.feed(self.text_)

    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(el)
        if tag not in ("img", "meta", "br", "input"):
            self.open.append(el)

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for el in self.open:
            el["text"] += data

    def by_id(self, ident: str) -> dict:
        (el,) = [e for e in self.elements if e["attrs"].get("id") == ident]
        return el

    def ids(self) -> set:
        return {e["attrs"]["id"] for e in self.elements if "id" in e["attrs"]}

    def rows(self, table_id: str) -> list[list[str]]:
        """The cells' texts of each row of table#table_id's body (and head), as parsed again from its HTML."""
        start = self.text_.index(f'id="{table_id}"')
        table = self.text_[start:self.text_.index("</table>", start)]
        return [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
                for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table)]


# ----------------------------------------------------------------------------- a run


def test_a_run_report_has_its_sections_and_summary_json_numbers(folders, pages):
    page = pages["run"]
    assert {"run", "metrics", "fig-cost", "confusion", "per-class", "gradcheck", "config"} <= page.ids()
    assert not {"fig-residuals", "fig-weights", "sweep", "trials"} & page.ids()  # 4 inputs are not an image
    summary = json.loads((folders["run"] / "summary.json").read_text())
    rows = {r[0]: r[1:] for r in page.rows("metrics")}
    assert rows["split"] == ["J", "J_data", "J_reg", "accuracy"]
    for split in ("train", "val", "test"):
        m = summary[split]
        assert rows[split] == [format(m[k], ".6g") for k in ("cost", "data_cost", "reg_cost", "accuracy")]
    confusion = page.rows("confusion")
    assert confusion[0][1:] == [str(x) for x in summary["test"]["labels"]]  # the labels, unescaped, as text
    assert [[int(c) for c in r[1:]] for r in confusion[1:]] == summary["test"]["confusion"]


def test_the_gradcheck_section_shows_gradcheck_json(folders, pages):
    doc = json.loads((folders["run"] / "gradcheck.json").read_text())
    section = pages["run"].by_id("gradcheck")["text"]
    assert "gradient check passed" in section
    blocks = [b for c in doc["cases"] for s in c["stages"] for b in s["blocks"]]
    assert len(blocks) == 4 * len(doc["cases"][0]["stages"])  # W1 b1 W2 b2 in each stage
    for b in blocks:
        assert format(b["rel_diff"], ".3e") in section
    assert "gradcheck" not in pages["regression"].ids()  # only where gradcheck.json is


def test_a_regression_report_plots_predictions_against_targets(folders, pages):
    page = pages["regression"]
    assert "fig-residuals" in page.ids() and "confusion" not in page.ids()
    assert page.rows("metrics")[0] == ["split", "J", "J_data", "J_reg", "R²", "RMSE"]
    # the plotted pairs are the test split's: their R² is the one summary.json holds
    h, y, where = report.split_outputs(compare.read_run(folders["regression"]))
    summary = json.loads((folders["regression"] / "summary.json").read_text())
    assert h.shape == y.shape == (66, 1) and "test split (66 examples" in where
    assert metrics.regression_metrics(h, y)["r2"] == pytest.approx(summary["test"]["r2"], rel=1e-9)
    assert metrics.regression_metrics(h, y)["rmse"] == pytest.approx(summary["test"]["rmse"], rel=1e-9)


def test_a_square_image_input_gets_its_filters_drawn(pages):
    page = pages["digits"]
    assert "fig-weights" in page.ids()
    img = figure_image(page, "fig-weights")
    assert img.shape[:2] == (37 * 12, 37 * 12)  # 16 tiles of 8×8, 4 a row, 1 px between: 37 px, 12 each
    assert "4×4" not in page.by_id("fig-weights")["text"] and "8×8" in page.by_id("fig-weights")["text"]


def figure_image(page: Page, ident: str) -> np.ndarray:
    from matplotlib.image import imread

    src = re.search(rf'id="{ident}"><img src="data:image/png;base64,([^"]+)"', page.text_).group(1)
    return imread(io.BytesIO(base64.b64decode(src)), format="png")


def test_every_figure_is_a_real_png(pages):
    for name, page in pages.items():
        figures = [e["attrs"]["id"] for e in page.elements if e["tag"] == "figure"]
        assert figures, name
        for ident in figures:
            img = figure_image(page, ident)
            assert img.size and float(img[..., :3].var()) > 1e-4, (name, ident)


def test_an_old_run_without_summary_json(pages):
    page = pages["old"]
    assert {"metrics", "fig-cost", "confusion"} <= page.ids()  # the confusion matrix evaluated from last.npz
    splits = [r[0] for r in page.rows("metrics")[1:]]
    assert splits == ["train (epoch 30)", "val (epoch 30)"]
    notes = " ".join(e["text"] for e in page.elements if e["tag"] == "ul" and e["attrs"].get("class") == "notes")
    assert "no summary.json" in notes and "test split is left out" in notes


# ----------------------------------------------------------------------------- a sweep


def test_a_sweep_report_has_the_trials_table_curves_and_the_best_trial(folders, pages):
    page = pages["sweep"]
    assert {"sweep", "sweep-facts", "trials", "fig-validation", "fig-trials", "sweep-spec", "run"} <= page.ids()
    s = compare.read_sweep(folders["sweep"])
    rows = page.rows("trials")
    assert rows[0][:3] == ["trial", "status", "train.weight_decay"]
    assert [r[0] for r in rows[1:]] == [str(t["trial"]) for t in s.trials] == [str(i) for i in range(6)]
    heads = [e for e in page.elements if e["tag"] == "th" and "data-type" in e["attrs"]]
    assert [h["attrs"]["data-type"] for h in heads][:3] == ["number", "text", "number"]
    cells = [e for e in page.elements if e["tag"] == "td" and "data-v" in e["attrs"]]
    v_of = {float(c["attrs"]["data-v"]) for c in cells}
    for t in s.trials:
        for col in ("val_data_cost", "data_cost", "train.weight_decay"):
            if t.get(col) is not None:
                assert float(t[col]) in v_of  # the exact number, for sorting
    best_rows = [e for e in page.elements if e["tag"] == "tr" and "best" in e["attrs"].get("class", "").split()]
    assert len(best_rows) == 1 and best_rows[0]["text"].startswith(str(s.best))
    failed = [e for e in page.elements if e["tag"] == "tr" and e["attrs"].get("class") == "failed"]
    assert len(failed) == 1 and HOSTILE_ERROR in failed[0]["text"]
    assert f"the best trial: trial-{s.best}" in page.by_id("run")["text"]


# ----------------------------------------------------------------------------- hostile text, and the page itself


def test_hostile_strings_are_escaped(pages):
    for name in ("sweep", "run"):
        page = pages[name]
        scripts = [e for e in page.elements if e["tag"] == "script"]
        assert len(scripts) == 1 and "__pwned" not in scripts[0]["text"]  # the page's own, and no other
        tags = {e["tag"] for e in page.elements}
        assert not {"svg", "iframe", "object", "embed"} & tags
        sources = [e["attrs"]["src"] for e in page.elements if e["tag"] == "img"]
        assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
        assert not any(k.startswith("on") for e in page.elements for k in e["attrs"])
        for label in HOSTILE.values():
            assert label in page.by_id("confusion")["text"]  # shown as the text it is
            assert label not in page.text_  # never as markup
    sweep = pages["sweep"]
    assert HOSTILE_NAME in sweep.by_id("sweep")["text"]
    title = next(e for e in sweep.elements if e["tag"] == "title")["text"]
    assert title == f"nettrain report: {HOSTILE_NAME}"


def test_the_content_security_policy_allows_the_page_s_own_css_and_js_only(pages):
    page = pages["sweep"]
    (meta,) = [e for e in page.elements if e["tag"] == "meta" and e["attrs"].get("http-equiv")]
    policy = dict(p.strip().split(" ", 1) for p in meta["attrs"]["content"].split(";"))

    def digest(tag):
        text = next(e for e in page.elements if e["tag"] == tag)["text"]
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert policy["default-src"] == "'none'" and policy["img-src"] == "data:"
    assert policy["script-src"] == digest("script") and policy["style-src"] == digest("style")
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page.text_).replace("http-equiv", "")
    assert re.findall(r".{30}https?:.{30}", text) == []  # nothing to fetch from anywhere


def test_a_sweep_with_no_finished_trial_is_its_table_and_notes(tmp_path):
    s = make_sweep(tmp_path / "s", ROOT / "configs" / "iris.yaml", {"train.weight_decay": [0.1, 1.0]},
                   {"train.epochs": 5}, failed={0: "no data", 1: "diverged"})
    page = Page(report.write_report(s, tmp_path / "s.html"))
    assert {"sweep", "trials"} <= page.ids() and not {"fig-validation", "fig-trials", "run"} & page.ids()
    assert [r[1] for r in page.rows("trials")[1:]] == ["failed", "failed"]
    notes = " ".join(e["text"] for e in page.elements if e["tag"] == "ul")
    assert "trial-0 (failed)" in notes and "no data" in notes and "diverged" in notes


def test_a_folder_that_is_neither_a_run_nor_a_sweep(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunIOError, match="is neither a run folder"):
        report.write_report(tmp_path / "empty", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_without_matplotlib_the_report_says_how_to_install_it(folders, tmp_path, monkeypatch):
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib…` now raises ImportError
    with pytest.raises(MissingExtra, match=r'matplotlib, which is not installed: pip install -e "\.\[plot\]"'):
        report.write_report(folders["run"], tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_build_report_is_write_report_s_text(folders, tmp_path):
    out = report.write_report(folders["digits"], tmp_path / "sub" / "page.html")
    assert out == tmp_path / "sub" / "page.html"
    assert out.read_text(encoding="utf-8") == report.build_report(folders["digits"])
