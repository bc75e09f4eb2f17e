"""Shared test setup: one BLAS thread (deterministic and fast on 2 cores), project paths."""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from tests.skipsummary import pytest_terminal_summary  # noqa: E402,F401  (a hook: why tests were skipped)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def proj(tmp_path, monkeypatch):
    """A copy of configs/ and data/ in a temp folder, which is also the working directory."""
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    shutil.copytree(ROOT / "data", tmp_path / "data", ignore=shutil.ignore_patterns("*.py", "*.md"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---- slow tests (many-repeat fault runs): skipped unless --runslow, NETTRAIN_SLOW=1 or -m slow


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run the tests marked slow")


def pytest_collection_modifyitems(config, items):
    markexpr = (config.getoption("-m") or "").replace("not slow", "")
    if config.getoption("--runslow") or os.environ.get("NETTRAIN_SLOW") == "1" or "slow" in markexpr:
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow (or NETTRAIN_SLOW=1, or -m slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# ---- the report's pages, read by test_report.py and test_report_browser.py: trained and written once


@pytest.fixture(scope="session")
def report_pages(tmp_path_factory):
    """{"folders": {name: run or sweep folder}, "pages": {name: its report.html}} (tests/runfolders.py)."""
    pytest.importorskip("matplotlib")
    from nettrain import report

    from .runfolders import report_folders

    folders = report_folders(tmp_path_factory.mktemp("report-folders"))
    out = tmp_path_factory.mktemp("report-pages")
    return {"folders": folders,
            "pages": {name: report.write_report(path, out / f"{name}.html") for name, path in folders.items()}}

