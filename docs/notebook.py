# %% [markdown]
# # Why the tutorial adds λ: the digits, from Python
#
# A notebook in plain Python (cells marked `# %%`: VS Code, Jupyter with jupytext, or
# `python docs/notebook.py`). It fits the handwritten digits with nettrain's Python API, plots the
# two parts of the cost from the returned history, and then trains the same network with λ = 0
# and λ = 10⁻³ on a small training set, comparing the training and validation costs:
#
#     J(W, b) = J_data + J_reg,   J_data = (1/m) Σᵢ loss(h(xᵢ), yᵢ),   J_reg = (λ/2) Σₗ ‖W⁽ˡ⁾‖²
#
# It takes a few seconds. tests/test_docs.py runs it.

# %%
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

import nettrain

# The repository's folder: this file's parent's parent, or (in a notebook opened in docs/) the parent
# of the working folder. The run folders go to a new temporary folder, out of the way of runs/; the last
# cell removes it.
ROOT = Path(__file__).resolve().parents[1] if "__file__" in globals() else Path.cwd().parent
CONFIG = ROOT / "configs" / "digits.yaml"
OUT = Path(tempfile.mkdtemp(prefix="nettrain-notebook-"))

# %% [markdown]
# ## 1. Fit, and look at J_data and J_reg
#
# `nettrain.fit` takes the config file and `--set`-style overrides as a dict; it returns a Run
# whose `history` is metrics.csv by column (one value per epoch).

# %%
run = nettrain.fit(CONFIG, {"train.epochs": 600, "log.every": 100}, out=OUT / "digits")
h = run.history
print(f"after {run.epoch} epochs: J = {run.cost['cost']:.4f} = J_data {run.cost['data_cost']:.4f} "
      f"+ J_reg {run.cost['reg_cost']:.4f}; test accuracy {run.test['accuracy']:.3f}")
for e in (0, 100, 300, 600):
    print(f"  epoch {e:4d}: J_data {h['data_cost'][e]:.4f}   J_reg {h['reg_cost'][e]:.6f}")

# %%
try:  # matplotlib is optional (pip install -e ".[plot]")
    import matplotlib

    if "ipykernel" not in sys.modules:
        matplotlib.use("Agg")  # no display: draw to a file
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(h["epoch"], h["data_cost"], label="J_data")
    ax.semilogy(h["epoch"], h["reg_cost"], label="J_reg")
    ax.set_xlabel("epoch")
    ax.set_title("J_data falls while J_reg rises: the weights grow")
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "cost-parts.png")
    print(f"drew {OUT / 'cost-parts.png'}")

# %% [markdown]
# ## 2. λ = 0 against λ = 10⁻³
#
# With only 10 % of the digits to learn from (180 images) and 50 hidden units, a network without
# weight decay can fit its training set almost exactly. The question is what that does to
# examples it has not seen: the validation split (45 %).

# %%
small = {"data.split": {"train": 0.1, "val": 0.45, "test": 0.45}, "model.layers": [64, 50, 10],
         "train.learning_rate": 2.0, "train.epochs": 3000, "log.every": 100, "log.checkpoint_every": 0}
runs = {lam: nettrain.fit(CONFIG, {**small, "train.weight_decay": lam}, out=OUT / f"lambda-{lam:g}")
        for lam in (0.0, 1e-3)}

print(f"{'λ':>6}  {'train J_data':>12}  {'val J_data':>10}  {'val accuracy':>12}  {'Σ‖W‖²':>7}  "
      f"lowest val J_data (epoch)")
for lam, r in runs.items():
    logged = ~np.isnan(r.history["val_data_cost"])  # the validation cost is logged every log.every epochs
    val, epochs = r.history["val_data_cost"][logged], r.history["epoch"][logged]
    sum_w2 = sum(float(np.sum(W * W)) for W in r.model.W.values())
    print(f"{lam:>6g}  {r.train['data_cost']:>12.4f}  {r.val['data_cost']:>10.4f}  {r.val['accuracy']:>12.4f}  "
          f"{sum_w2:>7.1f}  {val.min():.4f} ({int(epochs[val.argmin()])})")

# %% [markdown]
# Without λ, the training cost goes to almost 0 while the validation cost, after its lowest
# point early in the run, climbs again: the weights keep growing to fit the 180 training images
# ever more exactly — their noise included — and the network's confidence on new images is
# misplaced more often. With λ = 10⁻³ the gradient λW⁽ˡ⁾ shrinks every weight at each step, so
# Σ‖W‖² stays several times smaller: the training cost stays higher, and the validation cost is
# lower, and still falling when the run ends. That trade — a little worse on the data it sees,
# better on the data it does not — is why the tutorial adds (λ/2) Σ‖W⁽ˡ⁾‖² to J.

# %%
shutil.rmtree(OUT)  # the run folders were for this page only
