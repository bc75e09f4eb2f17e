"""The report of a 10-trial sweep: how long nettrain.report takes to build it, and how big the page is.

    OPENBLAS_NUM_THREADS=1 python benchmarks/report.py [--rounds 3] [--screenshot docs/images/sweep-report.png]

The sweep: configs/digits-lbfgs.yaml ([64, 25, 10] sigmoid → softmax, L-BFGS) for 300 iterations on a
small train split (10 %, 180 rows; val and test 45 % each) — where λ matters — with λ ∈ {0, 1e-5, 3e-5,
1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1}: ten trials trained into a temporary folder, with trials.csv,
sweep.yaml, best.yaml and each trial's summary.json as README.md's "The run folder" describes them
(tests/runfolders.make_sweep writes them). Printed: the seconds to train the ten trials; build_report's
seconds, cold (the first call in the process: matplotlib's import and font cache) and warm (the median of
--rounds further calls); the page's size and its share in figures; the same for `compare` and its figure.

--screenshot PNG: the page's top, 1100 × 1500 CSS pixels, as headless Chromium draws it (`chromium
--screenshot`, Debian's package), reduced to 256 colours (Pillow, which matplotlib brings) so that it
stays small.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LAMBDAS = [0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1]
BASE = {"data.split": {"train": 0.1, "val": 0.45, "test": 0.45}, "train.epochs": 300, "log.every": 20}
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def timed(f, *args, **kwargs):
    t = time.perf_counter()
    out = f(*args, **kwargs)
    return time.perf_counter() - t, out


def screenshot(page: Path, out: Path, profile: Path) -> None:
    """The top of the page, as Chromium draws it, to out (a 256-colour PNG)."""
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if chromium is None:
        sys.exit("--screenshot needs chromium (Debian: apt-get install chromium)")
    raw = profile / "raw.png"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={raw}",
                    "--window-size=1100,1500", page.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    from PIL import Image

    Image.open(raw).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE).save(out, optimize=True)
    print(f"screenshot: {out}, {out.stat().st_size / 1024:.0f} KB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--screenshot", type=Path, default=None)
    args = ap.parse_args()
    if args.screenshot is not None:
        args.screenshot = args.screenshot.resolve()
    from tests.runfolders import make_sweep

    from nettrain import compare, report

    with tempfile.TemporaryDirectory() as tmp:
        # in a copy of configs/ and data/, as a user's folder: the page names runs/…, configs/… (no path of
        # this machine in the screenshot)
        shutil.copytree(ROOT / "configs", Path(tmp) / "configs")
        shutil.copytree(ROOT / "data", Path(tmp) / "data", ignore=shutil.ignore_patterns("*.py", "*.md"))
        os.chdir(tmp)
        folder = Path("runs") / "digits-lambda"
        seconds, _ = timed(make_sweep, folder, Path("configs") / "digits-lbfgs.yaml",
                           {"train.weight_decay": LAMBDAS}, BASE, name="digits-lambda")
        print(f"trained {len(LAMBDAS)} trials in {seconds:.1f} s")
        cold, text = timed(report.build_report, folder)
        warm = statistics.median(timed(report.build_report, folder)[0] for _ in range(args.rounds))
        size = len(text.encode("utf-8"))
        figures = sum(len(m) for m in re.findall(r"data:image/png;base64,[A-Za-z0-9+/=]+", text))
        print(f"build_report: {cold:.2f} s cold, {warm:.2f} s warm (median of {args.rounds}); page "
              f"{size / 1024:.0f} KB, {figures / size:.0%} of it the {text.count('<figure')} figures")
        c_seconds, cmp = timed(compare.compare, [folder])
        fig_seconds, _ = timed(compare.plot_comparison, cmp, Path(tmp) / "compare.png")
        print(f"compare: {c_seconds:.2f} s; its figure: {fig_seconds:.2f} s, "
              f"{(Path(tmp) / 'compare.png').stat().st_size / 1024:.0f} KB")
        if args.screenshot is not None:
            page = Path(tmp) / "report.html"
            page.write_text(text, encoding="utf-8")
            screenshot(page, args.screenshot, Path(tmp))
        os.chdir(ROOT)


if __name__ == "__main__":
    main()
