"""Start-up: `nettrain fit` imports only what the run uses — no pandas for a small csv, no scipy without L-BFGS,
no plotting or estimator libraries. Checked on the modules a real run leaves in sys.modules, in a fresh
process; how long start-up takes is measured in benchmarks/startup.py, never asserted."""

import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "pyarrow", "scipy", "matplotlib", "sklearn", "torch", "dask", "optuna")

# the CLI's entry point in this process, then the heavy modules it imported, on stderr's last line
PROBE = """
import sys
from nettrain.cli import main
sys.argv = ["nettrain", *sys.argv[1:]]
try:
    main()
except SystemExit as e:
    assert not e.code, f"exit {e.code}"
sys.stderr.write("\\nimported: " + " ".join(m for m in HEAVY if m in sys.modules) + "\\n")
"""


def heavy_imports(tmp_path: Path, *args: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE.replace("HEAVY", repr(HEAVY)), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("imported:"), proc.stderr
    return last.split()[1:]


def test_a_small_fit_imports_no_heavy_module(tmp_path):
    run = tmp_path / "xor"
    assert heavy_imports(tmp_path, "fit", str(ROOT / "configs" / "xor.yaml"), "--set", "train.epochs=3",
                         "--out", str(run)) == []
    assert (run / "summary.json").exists()  # the whole fit ran: summary, sparkline and all


def test_help_imports_no_heavy_module(tmp_path):
    assert heavy_imports(tmp_path, "--help") == []


def test_a_csv_past_the_careful_parsers_size_is_read_by_pandas(tmp_path):
    """The other side of the first test: the probe does see pandas when a run needs it (a csv over 1 MiB)."""
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.17g},{b:.17g},{int(a + b > 0)}" for a, b in rng.normal(size=(30_000, 2)))
    (tmp_path / "big.csv").write_text("a,b,label\n" + rows + "\n")
    assert (tmp_path / "big.csv").stat().st_size > 1 << 20
    imported = heavy_imports(tmp_path, "fit", str(ROOT / "configs" / "xor.yaml"), "--set",
                             f"data.path={tmp_path / 'big.csv'}", "--set", "train.epochs=0",
                             "--out", str(tmp_path / "big"))
    assert "pandas" in imported and "scipy" not in imported
