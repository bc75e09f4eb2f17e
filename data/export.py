"""Write the shipped datasets in data/ from scikit-learn's bundled copies (no downloads).

Run once from the repository root:  python data/export.py

Numbers are written so that they read back exactly: a column whose values are all whole numbers
is written as integers ("59"), any other column with repr() of each float ("4.8598"), which
float() parses back to the same float64.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes, load_digits, load_iris

HERE = Path(__file__).resolve().parent


def _column_cells(values: np.ndarray) -> list[str]:
    """One column as text: integers if every value is whole, else the shortest exact float repr."""
    values = np.asarray(values, dtype=np.float64)
    if np.all(values == np.round(values)) and np.all(np.abs(values) < 2**53):
        return [str(int(v)) for v in values]
    return [repr(float(v)) for v in values]


def write_csv(path: Path, header: list[str], columns: list[list[str]]) -> None:
    rows = zip(*columns)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main() -> None:
    # XOR: the truth table.
    columns = [["0", "0", "1", "1"], ["0", "1", "0", "1"], ["0", "1", "1", "0"]]  # x1, x2, x1 XOR x2
    write_csv(HERE / "xor.csv", ["x1", "x2", "label"], columns)

    iris = load_iris()
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    species = [str(iris.target_names[t]) for t in iris.target]
    write_csv(HERE / "iris.csv", names + ["species"], [_column_cells(c) for c in iris.data.T] + [species])

    digits = load_digits()
    names = [f"p{j}" for j in range(digits.data.shape[1])]
    write_csv(
        HERE / "digits.csv",
        names + ["label"],
        [_column_cells(c) for c in digits.data.T] + [_column_cells(digits.target)],
    )

    diabetes = load_diabetes(scaled=False)
    write_csv(
        HERE / "diabetes.csv",
        list(diabetes.feature_names) + ["progression"],
        [_column_cells(c) for c in diabetes.data.T] + [_column_cells(diabetes.target)],
    )


if __name__ == "__main__":
    main()
