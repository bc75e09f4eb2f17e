"""`nettrain report`: one self-contained HTML page of a run folder or a sweep folder.

    build_report(path) -> str        the page
    write_report(path, out) -> Path  the page written to `out` (atomically), out returned

The page needs nothing but itself: the figures are base64 PNGs (matplotlib, the `plot` extra), the CSS
and the few lines of JS (sorting the trials table) are inline, and a Content-Security-Policy allows
nothing else — no network, no other script (the page's own is allowed by its hash). Every text read from
a folder (config values, labels, run names, errors) is HTML-escaped: a hostile folder shows as text.

For a run (section#run):  p.meta (epoch, reason, seconds), table#metrics (summary.json's train, val and
    test splits; metrics.csv's last row for a run without it), figure#fig-cost (plot.metrics_figure),
    table#confusion and table#per-class (classification: summary.json's test split, else
    evaluation.evaluate_run) or figure#fig-residuals (regression and autoencode: the test split's h(x) against
    y), figure#fig-weights (W⁽¹⁾ as tiles when the inputs are a square image of at least 4×4),
    section#gradcheck (gradcheck.json, when present), section#config (config.yaml).
For a sweep (section#sweep):  dl#sweep-facts, table#trials.sortable (trials.csv: th[data-type=number|text],
    td[data-v] holding each number; tr.best, tr.failed, tr.pruned), figure#fig-validation
    (plot.sweep_figure), figure#fig-trials (plot.runs_figure), section#sweep-spec (sweep.yaml), then the best
    trial's section#run. What was left out, and why, is listed in each section's ul.notes.

Left out on purpose: reading the folders (compare.py), training and evaluating (trainer.py, evaluation.py), the command line.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from . import plot
from . import checkpoint as ckpt
from . import compare as cmp
from .data import split_indices
from .evaluation import evaluate_run
from .problem import read_data
from .trained import load_trained, network_outputs
from .version import __version__
from .errors import NettrainError

SCORE = {"accuracy": "accuracy", "r2": "R²", "rmse": "RMSE", "rho_hat_mean": "mean ρ̂"}
PARTS = (("cost", "J"), ("data_cost", "J_data"), ("reg_cost", "J_reg"), ("sparse_cost", "J_sparse"))
HEAT = 8  # shades of the confusion matrix, by the share of the true class's examples in the cell


def esc(value: Any) -> str:
    """Text from a file, safe inside an element or a quoted attribute."""
    return html.escape(str(value), quote=True)


def num(v: Any, fmt: str = ".6g") -> str:
    v = cmp.number(v)
    return "—" if v is None else format(v, fmt)


def _figure(fig: Any, ident: str, caption: str) -> str:
    """A matplotlib figure as an inline PNG in figure#ident, with its caption (escaped)."""
    data = base64.b64encode(plot.figure_bytes(fig, "png")).decode("ascii")
    w, h = (int(round(x)) for x in fig.get_size_inches() * fig.dpi)
    return (f'<figure class="plot" id="{ident}"><img src="data:image/png;base64,{data}" width="{w}" height="{h}" '
            f'alt="{esc(caption)}"><figcaption>{esc(caption)}</figcaption></figure>')


def _notes(notes: list[str]) -> str:
    return ('<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>") if notes else ""


def _yaml(data: dict) -> str:
    return esc(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


# ----------------------------------------------------------------------------- a run


def _metrics_table(run: cmp.RunFolder, notes: list[str]) -> str:
    """table#metrics: J and its parts and the score of each split of summary.json (or metrics.csv's last row)."""
    summary = run.summary or {}
    splits = [(s, summary.get(s)) for s in ("train", "val", "test") if isinstance(summary.get(s), dict)]
    if not splits:
        notes.append(f"{run.label} has no summary.json (older runs have none): the table holds metrics.csv's "
                     "last epoch, the test split is left out")
        row = cmp.run_row(run, [])
        splits = [(f"train (epoch {row['epochs']})", {k: row.get(k) for k, _ in PARTS if k in row})]
        if row.get("val_data_cost") is not None:
            splits.append((f"val (epoch {row['val_epoch']})", {"data_cost": row["val_data_cost"],
                           **{k[4:]: row[k] for k in ("val_accuracy", "val_r2") if k in row}}))
    parts = [(k, h) for k, h in PARTS if any(k in m for _, m in splits)]
    scores = [k for k in SCORE if any(k in m for _, m in splits)]
    head = "".join(f"<th>{h}</th>" for _, h in parts) + "".join(f"<th>{SCORE[k]}</th>" for k in scores)
    body = "".join(f"<tr><th>{esc(name)}</th>" + "".join(f'<td class="n">{num(m.get(k))}</td>' for k, _ in parts)
                   + "".join(f'<td class="n">{num(m.get(k))}</td>' for k in scores) + "</tr>" for name, m in splits)
    return f'<table id="metrics"><thead><tr><th>split</th>{head}</tr></thead><tbody>{body}</tbody></table>'


def _classification(run: cmp.RunFolder, notes: list[str]) -> str:
    """table#confusion and table#per-class of the test split (summary.json's, else evaluated now)."""
    test = (run.summary or {}).get("test")
    if not isinstance(test, dict) or "confusion" not in test:
        try:
            test = evaluate_run(run.path)
        except NettrainError as e:
            notes.append(f"the confusion matrix is left out: {e}")
            return ""
    try:
        labels, confusion = [str(x) for x in test["labels"]], np.array(test["confusion"], dtype=np.int64)
        if confusion.shape != (len(labels), len(labels)):
            raise ValueError
    except (KeyError, TypeError, ValueError, OverflowError):
        notes.append(f"{run.path / 'summary.json'}: its test split has no valid confusion matrix: left out")
        return ""
    where = test.get("data") or f"the {test.get('split') or 'test'} split"
    return _confusion_table(labels, confusion, str(where)) + _per_class_table(test)


def _confusion_table(labels: list[str], confusion: np.ndarray, where: str) -> str:
    totals = confusion.sum(axis=1)
    head = "".join(f'<th scope="col">{esc(lab)}</th>' for lab in labels)
    body = []
    for t, lab in enumerate(labels):
        cells = []
        for p, count in enumerate(confusion[t]):
            share = count / totals[t] if totals[t] else 0.0
            kind = "d" if p == t else "o"
            cells.append(f'<td class="n {kind}{min(HEAT - 1, int(share * HEAT))}">{int(count)}</td>')
        body.append(f'<tr><th scope="row">{esc(lab)}</th>{"".join(cells)}</tr>')
    return (f'<table id="confusion" class="confusion"><caption>confusion matrix on {esc(where)} (rows: true '
            f'label, columns: predicted)</caption><thead><tr><th></th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _per_class_table(test: dict) -> str:
    rows = test.get("per_class")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return ""
    body = "".join(f"<tr><th>{esc(r.get('label'))}</th>" + "".join(f'<td class="n">{num(r.get(k), ".4f")}</td>'
                   for k in ("precision", "recall", "f1")) + f'<td class="n">{num(r.get("support"), "g")}</td></tr>'
                   for r in rows)
    macro = test.get("macro") if isinstance(test.get("macro"), dict) else {}
    body += ("<tr><th>macro average</th>" + "".join(f'<td class="n">{num(macro.get(k), ".4f")}</td>'
             for k in ("precision", "recall", "f1")) + "<td></td></tr>")
    return ('<table id="per-class"><thead><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th>'
            f"<th>support</th></tr></thead><tbody>{body}</tbody></table>")


def split_outputs(run: cmp.RunFolder) -> tuple[np.ndarray, np.ndarray, str]:
    """h(x) and y (m, k) of the run's test split (its train split when the test split is empty)."""
    trained = load_trained(run.path)
    cfg = trained.cfg
    table = read_data(cfg, cfg.data.path, encoding=trained.prep.encoding)
    s = cfg.data.split
    idx = split_indices(len(table.X), s.train, s.val, s.test, cfg.seed)
    split = "test" if len(idx.get("test", ())) else "train"
    rows = idx[split]
    X = table.X[rows]
    h = network_outputs(trained, X, Path(cfg.data.path))
    if cfg.data.task == "autoencode":
        y = trained.transform_x(X, Path(cfg.data.path)).astype(np.float64)
    else:
        y = trained.prep.encode_y(table.y[rows], Path(cfg.data.path), np.float64)
    return h, y, f"the {split} split ({len(rows)} examples, {Path(trained.path).name})"


def _regression(run: cmp.RunFolder, notes: list[str]) -> str:
    try:
        h, y, where = split_outputs(run)
    except NettrainError as e:
        notes.append(f"the residual plot is left out: {e}")
        return ""
    return _figure(plot.residual_figure(h, y), "fig-residuals", f"predictions h(x) against targets y on {where}, "
                   "and the residuals h(x) − y")


def _weights(run: cmp.RunFolder, notes: list[str]) -> str:
    """figure#fig-weights when the inputs form a square image of at least 4×4 pixels."""
    layers = (run.config.get("model") or {}).get("layers") if isinstance(run.config.get("model"), dict) else None
    n = layers[0] if isinstance(layers, list) and layers and isinstance(layers[0], int) else 0
    if n < 16 or math.isqrt(n) ** 2 != n:
        return ""
    try:
        trained = load_trained(run.path)
    except NettrainError as e:
        notes.append(f"the first layer's filters are left out: {e}")
        return ""
    side = math.isqrt(n)
    return _figure(plot.weights_figure(trained.params.W[1], pixels=12), "fig-weights",
                   f"W⁽¹⁾ of {trained.path.name} (epoch {trained.meta.get('epoch')}): one {side}×{side} tile per "
                   "hidden unit, each scaled to its own range")


def _gradcheck(run: cmp.RunFolder, notes: list[str]) -> str:
    """section#gradcheck: gradcheck.json's verdict, its self-test and every case's stages block by block."""
    g = run.gradcheck
    if g is None:
        return ""
    try:
        rows = []
        for case in g["cases"]:
            for stage in case["stages"]:
                for b in stage["blocks"]:
                    rows.append(f"<tr><td>{esc(case['case'])}</td><td>{esc(stage['stage'])}</td><td>{esc(b['block'])}"
                                f'</td><td class="n">{num(b["rel_diff"], ".3e")}</td><td class="v {esc(b["verdict"])}">'
                                f"{esc(b['verdict'])}</td></tr>")
        self_test, ok = g["self_test"], g["passed"] is True
        head = (f'<p class="{"good" if ok else "wrong"}">gradient check {"passed" if ok else "FAILED"}; the '
                f'differentiator\'s self-test on {esc(self_test["function"])}: relative difference '
                f'{num(self_test["rel_diff"], ".3e")}</p>')
    except (KeyError, TypeError, AttributeError):
        notes.append(f"{run.path / 'gradcheck.json'} is not what nettrain gradcheck --json prints: left out")
        return ""
    return (f'<section id="gradcheck"><h3>gradient check (gradcheck.json)</h3>{head}<table><thead><tr><th>case</th>'
            '<th>stage</th><th>block</th><th>relative difference</th><th>verdict</th></tr></thead><tbody>'
            f'{"".join(rows)}</tbody></table></section>')


def run_section(run: cmp.RunFolder, heading: str) -> str:
    """section#run of one run folder (see the module docstring)."""
    notes = list(run.notes)
    summary = run.summary or {}
    meta = (f"epoch {esc(summary.get('epoch'))}, {esc(summary.get('reason'))}, {num(summary.get('seconds'), '.3g')} s"
            if summary else f"epoch {cmp.run_row(run, [])['epochs']} (no summary.json)")
    parts = [f'<h2>{esc(heading)}</h2><p class="meta">{esc(run.path)}: {meta}</p>', _metrics_table(run, notes),
             _figure(plot.metrics_figure(run.metrics, title=f"{run.label}"), "fig-cost",
                     "J, J_data and J_reg against the epoch, with the validation J_data (and accuracy or R²)")]
    task = (run.config.get("data") or {}).get("task") if isinstance(run.config.get("data"), dict) else None
    parts.append(_classification(run, notes) if task == "classification" else _regression(run, notes))
    parts += [_weights(run, notes), _gradcheck(run, notes),
              f'<section id="config"><details open><summary>config.yaml</summary><pre>{_yaml(run.config)}</pre>'
              "</details></section>"]
    return f'<section id="run">{"".join(parts)}{_notes(notes)}</section>'


# ----------------------------------------------------------------------------- a sweep


def _trials_table(sweep: cmp.Sweep) -> str:
    """table#trials.sortable: one row per line of trials.csv, numbers in td[data-v] for sorting."""
    known = [c for c in ("epochs", "cost", "data_cost", "reg_cost", "sparse_cost", "val_data_cost", "val_accuracy",
                         "val_r2", "seconds") if any(t.get(c) is not None for t in sweep.trials)]
    head = {"cost": "J", "data_cost": "J_data", "reg_cost": "J_reg", "sparse_cost": "J_sparse",
            "val_data_cost": "val J_data", "val_accuracy": "val accuracy", "val_r2": "val R²"}
    cols = [("trial", "number"), ("status", "text")] + [(k, "text" if _text_column(sweep, k) else "number")
                                                         for k in sweep.keys] + [(c, "number") for c in known]
    cols.append(("error", "text"))
    ths = "".join(f'<th data-type="{kind}" tabindex="0" title="sort by {esc(c)}">{esc(head.get(c, c))}</th>'
                  for c, kind in cols)
    body = []
    for t in sweep.trials:
        cells = []
        for c, kind in cols:
            v = t.get(c)
            x = cmp.number(v) if kind == "number" else None
            if x is not None:
                shown = str(int(x)) if c in ("trial", "epochs") else num(x)
                cells.append(f'<td class="n" data-v="{x!r}">{shown}</td>')
            else:
                cells.append(f"<td>{esc(plot.value_text(v)) if v is not None else ''}</td>")
        status = t.get("status") if t.get("status") in ("done", "pruned", "failed", "running") else "other"
        best = " best" if t["trial"] == sweep.best else ""
        body.append(f'<tr class="{status}{best}">{"".join(cells)}</tr>')
    return (f'<table id="trials" class="sortable"><thead><tr>{ths}</tr></thead><tbody>{"".join(body)}</tbody>'
            "</table>")


def _text_column(sweep: cmp.Sweep, key: str) -> bool:
    """A swept key whose values are not all numbers (model.layers, an activation): sorted as text."""
    return any(t.get(key) is not None and cmp.number(t.get(key)) is None for t in sweep.trials)


def sweep_section(sweep: cmp.Sweep) -> str:
    """section#sweep: the facts, the trials table, the validation curves, every trial's cost curves."""
    statuses = [t.get("status") for t in sweep.trials]
    counts = ", ".join(f"{statuses.count(k)} {esc(k)}" for k in dict.fromkeys(statuses) if k)
    best = "none yet" if sweep.best is None else f"trial-{sweep.best}"
    facts = [("folder", sweep.path), ("base config", sweep.spec.get("base", "—")), ("trials", None),
             ("swept", ", ".join(sweep.keys) or "—"), ("metric", f"{sweep.metric} ({sweep.direction})"),
             ("best", best)]
    dl = "".join(f"<dt>{k}</dt><dd>{counts if v is None else esc(v)}</dd>" for k, v in facts)
    parts = [f'<h2>sweep {esc(sweep.name)}</h2><dl id="sweep-facts">{dl}</dl>', _trials_table(sweep)]
    if any(cmp.number(t.get(c)) is not None for t in sweep.trials for c in (sweep.metric, "data_cost")):
        parts.append(_figure(plot.sweep_figure(sweep.keys, sweep.trials, sweep.metric, sweep.best), "fig-validation",
                             f"{sweep.metric} against each swept key (hollow: pruned; ringed: the best trial)"
                             + ("; the validation curve: train and validation J_data against λ, λ = 0 left of the "
                                "// mark" if plot.LAMBDA in sweep.keys else "")))
    if sweep.runs:
        series = [(f"trial-{r.trial['trial']}", r.metrics) for r in sweep.runs]
        parts.append(_figure(plot.runs_figure(series), "fig-trials", "every trial's J, J_data and J_reg against the "
                             "epoch, one colour per trial, with its validation J_data"))
    if sweep.spec:
        parts.append(f'<section id="sweep-spec"><details><summary>sweep.yaml</summary><pre>{_yaml(sweep.spec)}</pre>'
                     "</details></section>")
    return f'<section id="sweep">{"".join(parts)}{_notes(sweep.notes)}</section>'


# ----------------------------------------------------------------------------- the page

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d232a;max-width:1180px;margin:0 auto;
padding:0 20px 40px}h1{font-size:1.5em;margin:18px 0 4px}h2{font-size:1.25em;border-bottom:1px solid #d5dbe1;
padding-bottom:3px;margin-top:28px}h3{font-size:1.05em}.meta{color:#59636e;margin-top:0}
table{border-collapse:collapse;margin:10px 0;font-size:13.5px}th,td{padding:3px 9px;border-bottom:1px solid #e4e8ec;
text-align:left}thead th{background:#f3f5f7;position:sticky;top:0}td.n{text-align:right;
font-variant-numeric:tabular-nums}table.sortable th{cursor:pointer;user-select:none;white-space:nowrap}
table.sortable th[aria-sort=ascending]::after{content:" \\25B2"}table.sortable th[aria-sort=descending]::after
{content:" \\25BC"}tr.best{background:#fff7d6;font-weight:600}tr.failed{color:#a8071a}tr.pruned{color:#6b7580}
figure{margin:14px 0}figure img{max-width:100%;height:auto;border:1px solid #eef0f2}figcaption{color:#59636e;
font-size:13px}pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:12.5px}dl{display:grid;
grid-template-columns:max-content auto;gap:2px 14px}dt{color:#59636e}dd{margin:0}ul.notes{color:#8a5a00;
font-size:13px}.good{color:#237804}.acceptable{color:#ad6800}.wrong{color:#a8071a;font-weight:600}
caption{text-align:left;color:#59636e;font-size:13px}nav a{margin-right:14px}
"""
JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("thead th");
  heads.forEach(function (th, col) {
    function sort() {
      var up = th.getAttribute("aria-sort") !== "ascending", num = th.dataset.type === "number";
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var body = table.tBodies[0], rows = Array.from(body.rows);
      function key(r) { var c = r.cells[col]; return num ? c.dataset.v : (c.textContent || undefined); }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === undefined || y === undefined) return (x === undefined) - (y === undefined);  // empty: last
        var d = num ? parseFloat(x) - parseFloat(y) : x.localeCompare(y, undefined, {numeric: true});
        return up ? d : -d;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
  });
});
"""


def _heat_css() -> str:
    """Shades of the confusion matrix: green on the diagonal (right), red off it (wrong), by share."""
    out = []
    for k in range(1, HEAT):
        a = k / (HEAT - 1)
        out.append(f".d{k}{{background:rgba(35,120,4,{0.12 + 0.6 * a:.2f})}}"
                   f".o{k}{{background:rgba(200,30,30,{0.10 + 0.6 * a:.2f})}}")
    return "".join(out)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def page(title: str, body: str) -> str:
    """The HTML document: the inline CSS and JS, allowed by their hashes and nothing else."""
    css = CSS + _heat_css()
    policy = (f"default-src 'none'; img-src data:; style-src {_sha256(css)}; script-src {_sha256(JS)}; "
              "base-uri 'none'; form-action 'none'")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
            f"<style>{css}</style></head><body>{body}<script>{JS}</script></body></html>\n")


def build_report(path: Path) -> str:
    """The page of a run folder or a sweep folder (with its best trial's run section)."""
    path = Path(path)
    if cmp.folder_kind(path) == "run":
        run = cmp.read_run(path)
        name = str(run.config.get("name") or path.resolve().name)
        body = run_section(run, f"run {name}")
    else:
        sweep = cmp.read_sweep(path)
        name = sweep.name
        best = next((r for r in sweep.runs if r.trial["trial"] == sweep.best), None)
        body = sweep_section(sweep) + (run_section(best, f"the best trial: trial-{sweep.best}") if best else "")
    nav = "".join(f'<a href="#{i}">{t}</a>' for i, t in (("sweep", "sweep"), ("trials", "trials"),
                  ("fig-validation", "validation curve"), ("run", "run"), ("config", "config"))
                  if f'id="{i}"' in body)
    header = (f"<header><h1>nettrain report: {esc(name)}</h1><p class=\"meta\">{esc(path)} · nettrain "
              f"{esc(__version__)}</p><nav>{nav}</nav></header>")
    return page(f"nettrain report: {name}", header + body)


def write_report(path: Path, out: Path) -> Path:
    """build_report(path) written to `out` (UTF-8, atomically: a failure leaves no partial page)."""
    out = Path(out)
    ckpt.write_text(out, build_report(path))
    return out
