"""`nettrain compare` as text: one row per run — the config keys that differ, then the numbers — in
tables that fit the terminal.

`render(console, data)` prints compare.Comparison.to_dict(): when every column fits the console's width
it is one table; otherwise a table of few runs is transposed (a row per key or number, a column per
run), and else the columns are packed into as many tables as they need, each starting with the run's
name. A number is never cut: its column is as wide as its widest cell. Then each sweep's metric and
best trial, and the notes on what was left out.

Left out on purpose: reading the folders (compare.py) and the command's options (cli.py).
"""

from __future__ import annotations

from typing import Any, Optional

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..plot import value_text

HEAD = {"status": "status", "epochs": "epochs", "cost": "J", "data_cost": "J_data", "reg_cost": "J_reg",
        "sparse_cost": "J_sparse", "val_data_cost": "val J_data", "val_accuracy": "val acc", "val_r2": "val R²",
        "test_data_cost": "test J_data", "test_accuracy": "test acc", "test_r2": "test R²", "seconds": "s"}
RUN_WIDTH = 28  # the run column's width at most (a longer name folds onto a second line)
GAP = 3  # between columns: a space of padding each side of the (blank) column divider


def number_text(v: Any, column: str) -> str:
    """A number as the tables show it: an epoch count whole, seconds to 4 digits, costs and scores to 6."""
    if v is None:
        return "—"
    if column == "epochs":
        return str(int(v))
    return format(v, ".4g" if column == "seconds" else ".6g")


def _columns(data: dict) -> list[tuple[str, str, list[str], bool]]:
    """(header, justify, cells, is a number) for every column after the run's name."""
    rows = data["runs"]
    cols = []
    for key in data["keys"]:
        cells = [value_text(r["config"][key]) if key in r["config"] else "—" for r in rows]
        cols.append((key.replace(".", ".\n"), "left", cells, False))
    if any(r.get("status") not in (None, "done") for r in rows):
        cols.append(("status", "left", [r.get("status") or "" for r in rows], False))
    for c in data["columns"]:
        cols.append((HEAD.get(c, c), "right", [number_text(r.get(c), c) for r in rows], True))
    return cols


def _width(header: str, cells: list[str]) -> int:
    return max([len(line) for line in header.splitlines()] + [len(c) for c in cells])


def _labels(data: dict) -> list[str]:
    return [r["run"] + (" (best)" if r.get("best") else "") for r in data["runs"]]


def _table(labels: list[str], cols: list[tuple[str, str, list[str], bool]], run_width: int) -> Table:
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("run", overflow="fold", max_width=run_width)
    for header, justify, cells, is_number in cols:
        w = _width(header, cells)
        # min_width = the widest cell: rich never has to shrink (and so never cuts) a number
        t.add_column(Text(header), justify=justify, min_width=w if is_number else None,
                     overflow="fold", no_wrap=is_number)
    for i, label in enumerate(labels):
        t.add_row(Text(label), *[Text(cells[i]) for _, _, cells, _ in cols])
    return t


def _transposed(labels: list[str], cols: list[tuple[str, str, list[str], bool]]) -> Table:
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("")
    for i, label in enumerate(labels):
        t.add_column(Text(label), justify="right", min_width=max(len(c[2][i]) for c in cols), overflow="fold")
    for header, _, cells, _ in cols:
        t.add_row(Text(header.replace(".\n", ".")), *[Text(c) for c in cells])
    return t


def _groups(cols: list, widths: list[int], room: int) -> list[list]:
    """The columns in order, packed greedily into groups whose widths (plus the gaps) fit in `room`."""
    groups: list[list] = [[]]
    used = 0
    for col, w in zip(cols, widths):
        if groups[-1] and used + GAP + w > room:
            groups.append([])
            used = 0
        groups[-1].append(col)
        used += GAP + w
    return groups


def tables(data: dict, width: int) -> list[Table]:
    """The tables that show data in `width` columns of text."""
    labels = _labels(data)
    cols = _columns(data)
    if not labels:
        return []
    run_width = min(RUN_WIDTH, max(len(s) for s in labels + ["run"]))
    widths = [_width(h, cells) for h, _, cells, _ in cols]
    if run_width + sum(GAP + w for w in widths) <= width:
        return [_table(labels, cols, run_width)]
    name_width = max(len(h.replace(".\n", ".")) for h, *_ in cols)
    run_cols = [max([len(c[2][i]) for c in cols] + [min(len(labels[i]), RUN_WIDTH)]) for i in range(len(labels))]
    if name_width + sum(GAP + w for w in run_cols) <= width:
        return [_transposed(labels, cols)]
    return [_table(labels, g, run_width) for g in _groups(cols, widths, max(20, width - run_width))]


def render(console: Console, data: dict, title: Optional[str] = None) -> None:
    """Print compare's dict: the tables, each sweep's metric and best trial, the notes."""
    if title:
        console.print(Text(title, style="bold"))
    for t in tables(data, console.width):
        console.print(t)
    for s in data["sweeps"]:
        best = "none yet" if s["best_trial"] is None else f"trial-{s['best_trial']}"
        statuses = [t.get("status") for t in s["trials"]]
        counts = ", ".join(f"{statuses.count(k)} {k}" for k in dict.fromkeys(statuses) if k)
        console.print(Text(f"sweep {s['name']} ({s['path']}): {len(statuses)} trials ({counts}); metric "
                           f"{s['metric']} ({s['direction']}); best {best}; swept {', '.join(s['keys']) or '—'}"))
    for note in data["notes"]:
        console.print(Text(f"note: {note}", style="dim"))
