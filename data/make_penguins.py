"""Write data/penguins.csv: the Palmer penguins, from the copy the PyPI package palmerpenguins ships in its wheel.

Run once from the repository root:

    python data/make_penguins.py                  # pip downloads the wheel into a temporary folder
    python data/make_penguins.py WHEEL.whl        # or reads a wheel already on disk

The file inside the wheel (palmerpenguins/data/penguins.csv) is copied cell for cell, its columns as
the source has them (species, island, bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g,
sex, year), except that its missing cells, written NA, become empty cells: the one spelling of a
missing value nettrain reads. No cell is parsed, so every number is written exactly as the source
wrote it. The version is pinned so that running this again writes the same bytes. nettrain itself
never downloads anything.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "0.1.6"  # palmerpenguins on PyPI; its data are CC0 (data/README.md)
MEMBER = "palmerpenguins/data/penguins.csv"
COLUMNS = ["species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]
ROWS = 344
OUT = Path(__file__).resolve().parent / "penguins.csv"


def download_wheel(folder: Path) -> Path:
    """The palmerpenguins wheel, fetched by pip (without its dependencies) into folder."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                    "--dest", str(folder), f"palmerpenguins=={VERSION}"], check=True)
    (wheel,) = folder.glob("palmerpenguins-*.whl")
    return wheel


def penguin_rows(wheel: Path) -> list[list[str]]:
    """The header and the rows of the wheel's penguins.csv, each NA cell made empty."""
    with zipfile.ZipFile(wheel) as z:
        text = z.read(MEMBER).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if rows[0] != COLUMNS or len(rows) != ROWS + 1 or any(len(r) != len(COLUMNS) for r in rows):
        raise SystemExit(f"{wheel}: {MEMBER} is not the expected {ROWS} rows of {', '.join(COLUMNS)}")
    return [rows[0]] + [["" if cell == "NA" else cell for cell in row] for row in rows[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", nargs="?", type=Path, help="a palmerpenguins wheel (default: download it with pip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = penguin_rows(args.wheel if args.wheel is not None else download_wheel(Path(tmp)))
    with open(OUT, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    missing = sum(cell == "" for row in rows[1:] for cell in row)
    print(f"wrote {OUT}: {len(rows) - 1} penguins × {len(COLUMNS)} columns, {missing} empty cells")


if __name__ == "__main__":
    main()
