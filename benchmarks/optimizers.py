"""Time to a solution, and minibatch seconds per epoch, side by side with peers in one run.

    python benchmarks/optimizers.py solution [--rounds 3]
        digits, breast-cancer, wine (scikit-learn's loaders, standardised): [n, 25, k] sigmoid →
        softmax (one sigmoid unit for two classes), cross-entropy, λ = 1e-4, from the same initial
        weights. scikit-learn's MLPClassifier(solver="lbfgs", alpha=λ·m) runs to its own stop (max_iter
        200); nettrain's lbfgs (train.minimize, in process) runs until its J ≤ 1.001 × the J scikit-learn
        ended at. Reports both times, both J, and the ratio. Also the wall time of the whole
        `nettrain fit` command on the shipped configs/digits-lbfgs.yaml and configs/digits-adam.yaml.

    python benchmarks/optimizers.py minibatch [--rounds 3]
        adam and momentum at batch 64 and 256 on digits (float64) and medium ([784, 128, 10], m = 10,000,
        float32, random data): seconds per epoch, all on --threads BLAS threads (default 1), of
          nettrain as `nettrain fit` runs by default (train.minimize): the steps, then metrics.csv's J
            over the whole train split (a forward pass) every epoch;
          a hand-written numpy loop doing the same: the steps, then J over the train split;
          nettrain with log.train_cost: logged (no J between logged rows): the steps alone;
          a minimal hand-written numpy minibatch loop: the steps alone;
          PyTorch when installed (nn.Linear + torch.optim, the steps alone).
        An epoch is the time of E epochs minus that of one, over E − 1: set-up (nettrain's copies of X)
        and the J of the first and last epochs (which every nettrain run computes) are left out.

scikit-learn's J is its own loss_ (mean cross-entropy + alpha/(2m)·Σ‖W‖²), which is nettrain's J when
alpha = λ·m: both are printed so that the equality can be seen.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nettrain import network, parallel, train  # noqa: E402
from nettrain.network import Architecture  # noqa: E402

LAM = 1e-4


def load(name):
    from sklearn import datasets

    X, y = {"digits": datasets.load_digits, "breast-cancer": datasets.load_breast_cancer,
            "wine": datasets.load_wine}[name](return_X_y=True)
    X = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)
    return X, y


def sklearn_fit(X, y, W, b, max_iter=200):
    """MLPClassifier(lbfgs) from the given weights: (seconds, final loss_, iterations)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    m = len(X)
    clf = MLPClassifier(hidden_layer_sizes=(W[1].shape[0],), activation="logistic", solver="lbfgs",
                        alpha=LAM * m, max_iter=1, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)  # sets up its attributes; its weights are replaced below
        clf.coefs_ = [W[1].T.copy(), W[2].T.copy()]
        clf.intercepts_ = [b[1].copy(), b[2].copy()]
        clf.max_iter = max_iter
        t = time.perf_counter()
        clf.fit(X, y)
        return time.perf_counter() - t, clf.loss_, clf.n_iter_


def nettrain_fit(X, y, params, arch, target):
    """lbfgs until J ≤ target: (seconds, J, iterations)."""
    k = arch.layers[-1]
    Y = (y[None, :] == 1).astype(float) if k == 1 else np.eye(k)[:, y]
    x = np.ascontiguousarray(X.T)
    t = time.perf_counter()
    with parallel.for_training(arch, x.shape[1]):  # the threads nettrain fit would use (BLAS held to match)
        res = train.minimize(arch, params, x, Y, lam=LAM, optimizer="lbfgs", epochs=2000, memory=10,
                             on_step=lambda s: s.cost.J <= target)
    return time.perf_counter() - t, res.cost.J, res.epoch


def solution(rounds: int) -> None:
    print("| data | m | scikit-learn lbfgs: s, J, iterations | scikit-learn, 1 BLAS thread | nettrain lbfgs to "
          "J ≤ 1.001×: s, J, iterations | scikit-learn ÷ nettrain | scikit-learn 1 thread ÷ nettrain |")
    print("|---|---|---|---|---|---|---|")
    for name in ("digits", "breast-cancer", "wine"):
        X, y = load(name)
        k = len(np.unique(y))
        out = "sigmoid" if k == 2 else "softmax"
        arch = Architecture((X.shape[1], 25, 1 if k == 2 else k), "sigmoid", out, "cross_entropy")
        params = network.init_params(arch.layers, "glorot_uniform", np.random.default_rng(0))
        sk, sk1, nt = [], [], []
        for _ in range(rounds):  # interleaved, so that both see the same machine
            sk.append(sklearn_fit(X, y, params.W, params.b))
            with parallel.blas_limited(1):
                sk1.append(sklearn_fit(X, y, params.W, params.b))
            nt.append(nettrain_fit(X, y, params, arch, 1.001 * sk[-1][1]))
        s_sk, s_sk1 = statistics.median(r[0] for r in sk), statistics.median(r[0] for r in sk1)
        s_nt = statistics.median(r[0] for r in nt)
        print(f"| {name} | {len(X)} | {s_sk:.3f} s, {sk[-1][1]:.5f}, {sk[-1][2]} | {s_sk1:.3f} s | {s_nt:.3f} s, "
              f"{nt[-1][1]:.5f}, {nt[-1][2]} | {s_sk / s_nt:.2f}× | {s_sk1 / s_nt:.2f}× |")
    print()
    for config in ("digits-lbfgs", "digits-adam"):  # the whole command: start-up, data, checkpoints, the summary
        with tempfile.TemporaryDirectory() as d:
            walls = []
            for _ in range(rounds):
                t = time.perf_counter()
                # this interpreter's nettrain (a virtual environment need not be activated, its script on PATH)
                subprocess.run([sys.executable, "-m", "nettrain", "fit", f"configs/{config}.yaml", "--out",
                                str(Path(d) / f"r{len(walls)}")], check=True, capture_output=True, cwd=ROOT)
                walls.append(time.perf_counter() - t)
            print(f"CLI: `nettrain fit configs/{config}.yaml`: {statistics.median(walls):.2f} s wall (median of "
                  f"{rounds}), start-up, data, checkpoints and the summary included")


# ----------------------------------------------------------------------------- minibatches


def numpy_loop(X, Y, W1, b1, W2, b2, lam, rule, lr, size, epochs, rng, train_cost=False):
    """A minimal hand-written minibatch loop (rows = examples), sigmoid → softmax, cross-entropy;
    train_cost: also J over the whole train split after every epoch, as metrics.csv records it."""
    params = [W1.copy(), b1.copy(), W2.copy(), b2.copy()]
    state = [[np.zeros_like(p) for p in params] for _ in range(2)]
    t = 0
    m = len(X)
    costs = []
    for _ in range(epochs):
        perm = rng.permutation(m)
        for s in range(0, m, size):
            idx = perm[s:s + size]
            x, yb = X[idx], Y[idx]
            W1, b1, W2, b2 = params
            a2 = 1.0 / (1.0 + np.exp(-(x @ W1.T + b1)))
            z3 = a2 @ W2.T + b2
            z3 -= z3.max(1, keepdims=True)
            a3 = np.exp(z3)
            a3 /= a3.sum(1, keepdims=True)
            d3 = (a3 - yb) / len(idx)
            d2 = (d3 @ W2) * a2 * (1 - a2)
            grads = [d2.T @ x + lam * W1, d2.sum(0), d3.T @ a2 + lam * W2, d3.sum(0)]
            t += 1
            for i, (p, g) in enumerate(zip(params, grads)):
                if rule == "momentum":
                    v = state[0][i]
                    v *= 0.9
                    v += g
                    p -= lr * v
                else:
                    mo, v = state[0][i], state[1][i]
                    mo *= 0.9
                    mo += 0.1 * g
                    v *= 0.999
                    v += 0.001 * g * g
                    p -= lr * (mo / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        if train_cost:  # J = (1/m) Σ cross-entropy + (λ/2) Σ‖W‖² at the epoch's weights, in one pass
            W1, b1, W2, b2 = params
            z3 = (1.0 / (1.0 + np.exp(-(X @ W1.T + b1)))) @ W2.T + b2
            z3 -= z3.max(1, keepdims=True)
            data = float(np.mean(np.log(np.exp(z3).sum(1)) - (z3 * Y).sum(1)))
            costs.append(data + 0.5 * lam * (float(np.vdot(W1, W1)) + float(np.vdot(W2, W2))))
    return params, costs


def torch_loop(X, Y, W1, b1, W2, b2, lam, rule, lr, size, epochs, seed):
    import torch

    torch.manual_seed(seed)
    dt = torch.float32 if X.dtype == np.float32 else torch.float64
    net = torch.nn.Sequential(torch.nn.Linear(W1.shape[1], W1.shape[0]), torch.nn.Sigmoid(),
                              torch.nn.Linear(W2.shape[1], W2.shape[0])).to(dt)
    with torch.no_grad():
        for lin, W, b in ((net[0], W1, b1), (net[2], W2, b2)):
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
    opt = (torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9) if rule == "momentum"
           else torch.optim.Adam(net.parameters(), lr=lr))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(Y.argmax(1))
    m = len(X)
    for _ in range(epochs):
        perm = torch.randperm(m)
        for s in range(0, m, size):
            idx = perm[s:s + size]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
            loss = loss + 0.5 * lam * (net[0].weight.pow(2).sum() + net[2].weight.pow(2).sum())
            loss.backward()
            opt.step()


def minibatch(rounds: int, threads: int = 1) -> None:
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    rng = np.random.default_rng(0)
    problems = {}
    Xd, yd = load("digits")
    problems["digits"] = (Xd, np.eye(10)[yd], (64, 25, 10), np.float64, 31)
    Xm = rng.normal(size=(10_000, 784)).astype(np.float32)
    ym = rng.integers(0, 10, 10_000)
    problems["medium"] = (Xm, np.eye(10, dtype=np.float32)[ym], (784, 128, 10), np.float32, 6)
    print("| workload | rule | batch | nettrain, J every epoch | numpy loop + J every epoch | ratio | "
          "nettrain, `train_cost: logged` | numpy loop | ratio | PyTorch | PyTorch ÷ nettrain (logged) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, (X, Y, layers, dt, epochs) in problems.items():
        arch = Architecture(layers, "sigmoid", "softmax", "cross_entropy")
        p = network.init_params(layers, "glorot_uniform", np.random.default_rng(1), dtype=dt)
        x, y = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)

        def nt(rule, lr, size, E, every):
            t = time.perf_counter()
            with parallel.for_training(arch, size, size, dt, threads):  # as nettrain fit with train.threads
                train.minimize(arch, p, x, y, lam=LAM, optimizer=rule, epochs=E, batch_size=size,
                               rng=np.random.default_rng(0), cost_at=None if every else (lambda e: False),
                               learning_rate=lr)  # μ = 0.9, β₁ = 0.9, β₂ = 0.999, ε = 1e-8: the defaults
            return time.perf_counter() - t

        def npl(rule, lr, size, E, every):
            with parallel.blas_limited(threads):  # the same threads for every peer
                t = time.perf_counter()
                numpy_loop(X, Y, p.W[1], p.b[1], p.W[2], p.b[2], LAM, rule, lr, size, E, np.random.default_rng(0),
                           every)
                return time.perf_counter() - t

        def per_epoch(f, rule, lr, size, every):  # E epochs minus one: set-up, and the first and last J, left out
            return (f(rule, lr, size, epochs, every) - f(rule, lr, size, 1, every)) / (epochs - 1)

        for rule, lr in (("adam", 1e-3), ("momentum", 0.01)):
            for size in (64, 256):
                times = {k: [] for k in ("nt_every", "np_every", "nt_logged", "numpy", "torch")}
                for _ in range(rounds):  # interleaved
                    times["nt_every"].append(per_epoch(nt, rule, lr, size, True))
                    times["np_every"].append(per_epoch(npl, rule, lr, size, True))
                    times["nt_logged"].append(per_epoch(nt, rule, lr, size, False))
                    times["numpy"].append(per_epoch(npl, rule, lr, size, False))
                    if have_torch:
                        import torch

                        torch.set_num_threads(threads)
                        t = time.perf_counter()
                        torch_loop(X, Y, p.W[1], p.b[1], p.W[2], p.b[2], LAM, rule, lr, size, epochs, 0)
                        times["torch"].append((time.perf_counter() - t) / epochs)
                med = {k: statistics.median(v) if v else float("nan") for k, v in times.items()}
                print(f"| {name} | {rule} | {size} | {med['nt_every']:.4f} | {med['np_every']:.4f} | "
                      f"{med['nt_every'] / med['np_every']:.2f}× | {med['nt_logged']:.4f} | {med['numpy']:.4f} | "
                      f"{med['nt_logged'] / med['numpy']:.2f}× | {med['torch']:.4f} | "
                      f"{med['torch'] / med['nt_logged']:.2f}× |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["solution", "minibatch"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="minibatch: BLAS threads of every peer (nettrain: train.threads)")
    args = ap.parse_args()
    if args.what == "solution":
        solution(args.rounds)
    else:
        minibatch(args.rounds, args.threads)


if __name__ == "__main__":
    main()
