"""The optimizers: each update rule against a direct transcription of its formula, minibatches against
a plain loop, L-BFGS against scipy driven by hand, the objective's gradient kept, and runs that stop and
resume bit for bit."""

import json
import math

import numpy as np
import pytest

from nettrain import checkpoint as ckpt
from nettrain import config as config_mod
from nettrain import network, optimizers, sums, train
from nettrain.network import Architecture, Params, init_params
from nettrain.sums import backprop
from nettrain.objective import Objective
from nettrain.optimizers import OPTIMIZERS, users_of
from nettrain.errors import ConfigError, Interrupted
from nettrain.evaluation import evaluate_run
from nettrain.problem import load_problem
from nettrain.trainer import SilentReporter

from .helpers import fit_config
from .runfolders import metrics_less_seconds

HYPER = dict(learning_rate=0.05, momentum=0.9, beta1=0.9, beta2=0.999, epsilon=1e-8, memory=10)


def hyper(rule):
    """HYPER's keys that `rule` reads (an optimizer takes exactly its own)."""
    return {k: HYPER[k] for k in OPTIMIZERS[rule].keys()}


def problem(m=40, seed=0, layers=(5, 8, 3)):
    rng = np.random.default_rng(seed)
    arch = Architecture(layers, "tanh", "softmax", "cross_entropy")
    params = init_params(layers, "glorot_uniform", rng)
    x = rng.normal(size=(layers[0], m))
    y = np.eye(layers[-1])[:, rng.integers(0, layers[-1], m)]
    return arch, params, x, y


def flat(p: Params) -> np.ndarray:
    return np.concatenate([np.concatenate([p.b[l][:, None], p.W[l]], axis=1).ravel() for l in sorted(p.W)])


def unflat(v: np.ndarray, layers) -> Params:
    fp = network.flat_params(layers)
    fp.vec[:] = v
    return fp.params.copy()


def grad(arch, theta, x, y, lam):
    _, g = backprop(arch, unflat(theta, arch.layers), x, y, lam)
    return flat(g)


def reference(rule, arch, p0, x, y, lam, steps, batches=None):
    """The update rules exactly as the README and docs/math.md write them (torch.optim's conventions), state from 0,
    t from 1."""
    h = HYPER
    theta = flat(p0)
    v = np.zeros_like(theta)
    mo = np.zeros_like(theta)
    t = 0
    for k in range(steps):
        xb, yb = (x, y) if batches is None else batches[k]
        g = grad(arch, theta, xb, yb, lam)
        t += 1
        if rule == "gd":
            theta = theta - h["learning_rate"] * g
        elif rule == "momentum":
            v = h["momentum"] * v + g
            theta = theta - h["learning_rate"] * v
        elif rule == "nesterov":
            v = h["momentum"] * v + g
            theta = theta - h["learning_rate"] * (g + h["momentum"] * v)
        elif rule == "adam":
            mo = h["beta1"] * mo + (1 - h["beta1"]) * g
            v = h["beta2"] * v + (1 - h["beta2"]) * g * g
            theta = theta - h["learning_rate"] * (mo / (1 - h["beta1"] ** t)) / (np.sqrt(v / (1 - h["beta2"] ** t))
                                                                                 + h["epsilon"])
    return theta


@pytest.mark.parametrize("rule", ["gd", "momentum", "nesterov", "adam"])
def test_each_full_batch_rule_is_its_formula(rule):
    arch, p0, x, y = problem()
    got = train.minimize(arch, p0, x, y, lam=0.01, optimizer=rule, epochs=12, **hyper(rule))
    want = reference(rule, arch, p0, x, y, 0.01, 12)
    np.testing.assert_allclose(flat(got.params), want, rtol=1e-12, atol=1e-14)
    assert got.epoch == 12 and got.reason == "done"


@pytest.mark.parametrize("rule", ["gd", "momentum", "nesterov", "adam"])
def test_minibatches_follow_the_seeded_permutation_with_a_smaller_last_batch(rule):
    arch, p0, x, y = problem(m=23)
    epochs, size = 3, 5
    got = train.minimize(arch, p0, x, y, lam=0.01, optimizer=rule, epochs=epochs, batch_size=size,
                         rng=np.random.default_rng(7), **hyper(rule))
    rng = np.random.default_rng(7)
    batches = []
    for _ in range(epochs):
        perm = rng.permutation(23)
        batches += [(x[:, perm[i:i + size]], y[:, perm[i:i + size]]) for i in range(0, 23, size)]
    assert [b[0].shape[1] for b in batches[:5]] == [5, 5, 5, 5, 3]
    want = reference(rule, arch, p0, x, y, 0.01, len(batches), batches)
    np.testing.assert_allclose(flat(got.params), want, rtol=1e-12, atol=1e-14)
    # the reported J of each epoch is the whole train split's J at that epoch's weights
    assert got.cost.J == pytest.approx(network.cost(arch, got.params, x, y, 0.01).J, rel=1e-13)


TORCH_RULES = {
    "gd": (dict(learning_rate=0.1), "SGD", dict(lr=0.1)),
    "momentum": (dict(learning_rate=0.1, momentum=0.9), "SGD", dict(lr=0.1, momentum=0.9)),
    "nesterov": (dict(learning_rate=0.1, momentum=0.9), "SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    "adam": (dict(learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8), "Adam", dict(lr=0.01)),
}


@pytest.mark.parametrize("size", [None, 16])
@pytest.mark.parametrize("rule", list(TORCH_RULES))
def test_each_rule_agrees_with_torch_optim(rule, size):
    """10 epochs (full batch, or minibatches in nettrain's seeded order) of nettrain and of torch.optim on
    the same cost, (1/|B|) Σ cross-entropy + (λ/2) Σ‖W‖², from the same weights: the same θ to rounding."""
    torch = pytest.importorskip("torch")
    arch, p0, x, y = problem(m=40)
    ours, name, torch_hyper = TORCH_RULES[rule]
    got = train.minimize(arch, p0, x, y, lam=0.01, optimizer=rule, epochs=10, batch_size=size,
                         rng=np.random.default_rng(5), **ours)
    ps = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (p0.W[1], p0.b[1], p0.W[2], p0.b[2])]
    opt = getattr(torch.optim, name)(ps, **torch_hyper)
    X, labels, order = torch.tensor(x.T), torch.tensor(y.argmax(0)), np.random.default_rng(5)
    for _ in range(10):
        perm = np.arange(40) if size is None else order.permutation(40)
        for s in range(0, 40, size or 40):
            idx = torch.tensor(perm[s:s + (size or 40)])
            opt.zero_grad()
            z = torch.tanh(X[idx] @ ps[0].T + ps[1]) @ ps[2].T + ps[3]
            J = torch.nn.functional.cross_entropy(z, labels[idx]) + 0.005 * ((ps[0] ** 2).sum() + (ps[2] ** 2).sum())
            J.backward()
            opt.step()
    want = [t.detach().numpy() for t in ps]
    for a, b in zip((got.params.W[1], got.params.b[1], got.params.W[2], got.params.b[2]), want):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)


def test_each_minibatch_step_minimises_its_own_batch_cost():
    """A batch's gradient is (1/|B|) Σ_{i∈B} δaᵀ + λW: the full-batch gradient of that batch alone."""
    arch, p0, x, y = problem(m=30)
    src = sums.BatchSums(arch, x.T, y, 8)
    obj = Objective(src, 0.02)
    idx = np.array([3, 29, 0, 17, 5])
    src.select(idx)
    c, g = obj(network.copy_params(network.flat_params(arch.layers), p0))
    want_c, want_g = backprop(arch, p0, x[:, idx], y[:, idx], 0.02)
    assert c.J == pytest.approx(want_c.J, rel=1e-14)
    np.testing.assert_allclose(g, flat(want_g), rtol=1e-13, atol=1e-16)


def test_the_objective_never_overwrites_a_gradient_its_caller_keeps():
    arch, p0, x, y = problem()
    obj = Objective(sums.Backprop(arch, x, y, 0.0), 0.01)
    theta = flat(p0)
    _, g1 = obj.at(theta)
    kept = g1.copy()
    _, g2 = obj.at(theta * 1.5)
    assert g2 is not g1 and np.array_equal(g1, kept) and not np.array_equal(g1, g2)


def test_lbfgs_is_scipy_driven_on_the_exact_cost():
    from scipy.optimize import minimize

    arch, p0, x, y = problem()
    got = train.minimize(arch, p0, x, y, lam=0.01, optimizer="lbfgs", epochs=25, memory=7)

    def fun(theta):
        c, g = backprop(arch, unflat(theta, arch.layers), x, y, 0.01)
        return c.J, flat(g)

    ref = minimize(fun, flat(p0), jac=True, method="L-BFGS-B",
                   options={"maxiter": 25, "maxcor": 7, "ftol": np.finfo(float).eps, "gtol": 0.0})
    np.testing.assert_allclose(flat(got.params), ref.x, rtol=1e-9, atol=1e-12)
    assert got.cost.J == pytest.approx(ref.fun, rel=1e-12)
    assert got.cost.J < train.minimize(arch, p0, x, y, lam=0.01, epochs=25, learning_rate=0.5).cost.J


def test_every_key_is_read_by_the_optimizers_that_the_config_says():
    assert set(OPTIMIZERS) == {"gd", "momentum", "nesterov", "adam", "lbfgs"}
    assert optimizers.keys() == ("learning_rate", "momentum", "beta1", "beta2", "epsilon", "memory")
    assert users_of("momentum") == ["momentum", "nesterov"]
    assert users_of("batch_size") == ["gd", "momentum", "nesterov", "adam"]
    assert users_of("memory") == ["lbfgs"]
    defaults = {name: h.default for name, h in optimizers.declarations("learning_rate")}
    assert defaults == {"gd": 0.1, "momentum": 0.01, "nesterov": 0.01, "adam": 0.001}
    train_keys = config_mod.train_model().model_fields
    assert [k for k in train_keys if k in optimizers.keys()] == list(optimizers.keys())  # after `optimizer`, in order
    assert train_keys["learning_rate"].default is None and train_keys["momentum"].default == 0.9


def test_an_optimizer_takes_exactly_its_keys_and_fills_its_defaults():
    assert optimizers.make("adam", learning_rate=0.01).hyper == {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999,
                                                                 "epsilon": 1e-8}
    assert optimizers.make("nesterov", learning_rate=None).hyper == {"learning_rate": 0.01, "momentum": 0.9}
    assert optimizers.make("lbfgs", memory=np.int64(4)).hyper == {"memory": 4}
    refused = [
        (("gd",), dict(learning_rat=0.1),
         "optimizer gd has no key 'learning_rat', did you mean 'learning_rate'? (its keys: learning_rate)"),
        (("adam",), dict(momentum=0.9), "optimizer adam has no key 'momentum' (its keys: learning_rate, beta1, beta2, "
                                        "epsilon)"),
        (("momentum",), dict(momentum=1.0), "optimizer momentum: momentum must be less than 1 (got 1)"),
        (("gd",), dict(learning_rate=-0.5), "optimizer gd: learning_rate must be greater than 0 (got -0.5)"),
        (("gd",), dict(learning_rate=True), "optimizer gd: learning_rate must be a number (got True)"),
        (("gd",), dict(learning_rate=float("nan")), "optimizer gd: learning_rate must be a finite number (got nan)"),
        (("lbfgs",), dict(memory=2.5), "optimizer lbfgs: memory must be a whole number (got 2.5)"),
        (("sgd",), {}, "optimizer must be one of gd, momentum, nesterov, adam, lbfgs (got 'sgd')"),
    ]
    for args, keys, message in refused:
        with pytest.raises(ConfigError) as err:
            optimizers.make(*args, **keys)
        assert str(err.value) == message
    with pytest.raises(ConfigError, match="^optimizer gd has no key 'learning_rat', did you mean 'learning_rate'"):
        optimizers.GD(learning_rat=0.1)  # the class itself, as make() builds it
    for key, huge in (("learning_rate", 10**400), ("memory", -(10**400))):  # beyond a float: a line, not OverflowError
        with pytest.raises(ConfigError, match=f"^optimizer (gd|lbfgs): {key} must be .* \\(got -?1000"):
            optimizers.make("gd" if key == "learning_rate" else "lbfgs", **{key: huge})


def test_the_bare_call_trains_with_the_optimizers_default():
    """minimize(arch, params, x, y, lam=…, optimizer=…): no key given, the optimizer's own default (gd: α = 0.1)."""
    arch, p0, x, y = problem()
    bare = train.minimize(arch, p0, x, y, lam=0.0, optimizer="gd", epochs=3)
    assert np.array_equal(flat(bare.params), flat(train.minimize(arch, p0, x, y, lam=0.0, epochs=3,
                                                                 learning_rate=0.1).params))
    with pytest.raises(TypeError):
        train.minimize(arch, p0, x, y, 0.0, "gd")  # λ and what follows are keyword-only


# ----------------------------------------------------------------------------- runs


def fit(root, tmp_path, name, *sets, resume=False):
    return fit_config(root / "configs" / "iris.yaml", ["log.every=5", "log.checkpoint_every=0", *sets],
                    out=tmp_path / name, resume=resume)


def arrays(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files if k != "meta"}


@pytest.mark.parametrize("sets", [
    ["train.optimizer=momentum", "train.learning_rate=0.05"],
    ["train.optimizer=nesterov", "train.learning_rate=0.05"],
    ["train.optimizer=adam", "train.learning_rate=0.01"],
    ["train.optimizer=adam", "train.learning_rate=0.01", "train.batch_size=16"],
    ["train.optimizer=momentum", "train.learning_rate=0.05", "train.batch_size=32"],
])
def test_stopped_and_resumed_equals_uninterrupted_bit_for_bit(root, tmp_path, sets):
    whole = fit(root, tmp_path, "whole", "train.epochs=30", *sets)
    fit(root, tmp_path, "split", "train.epochs=12", *sets)
    again = fit(root, tmp_path, "split", "train.epochs=30", *sets, resume=True)
    assert again.cost == whole.cost
    a, b = arrays(tmp_path / "whole" / "last.npz"), arrays(tmp_path / "split" / "last.npz")
    assert sorted(a) == sorted(b) and any(k.startswith("opt_") for k in a)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert metrics_less_seconds(tmp_path / "whole" / "metrics.csv") == metrics_less_seconds(
        tmp_path / "split" / "metrics.csv")


MINI = ["train.optimizer=adam", "train.learning_rate=0.01", "train.batch_size=16", "log.every=4"]


def test_train_cost_logged_computes_j_on_the_logged_rows_only_and_trains_the_same_bits(root, tmp_path):
    every = fit(root, tmp_path, "every", "train.epochs=10", *MINI)
    logged = fit(root, tmp_path, "logged", "train.epochs=10", *MINI, "log.train_cost=logged")
    a, b = arrays(tmp_path / "every" / "last.npz"), arrays(tmp_path / "logged" / "last.npz")
    assert all(np.array_equal(a[k], b[k]) for k in a)  # what is computed for the rows never changes the steps
    assert logged.cost == every.cost
    full = metrics_less_seconds(tmp_path / "every" / "metrics.csv").splitlines()
    sparse = metrics_less_seconds(tmp_path / "logged" / "metrics.csv").splitlines()
    assert sparse[0] == full[0] and len(sparse) == len(full) == 12  # a row for every epoch, 0 … 10
    for e in range(11):
        if e % 4 == 0 or e == 10:  # logged rows and the last: J as in an every-epoch run, to the bit
            assert sparse[1 + e] == full[1 + e]
        else:  # the others: the epoch and empty cells (no J over the train split was computed)
            assert sparse[1 + e] == f"{e}" + "," * (len(full[0].split(",")) - 1)
            assert full[1 + e].split(",")[1] != ""
    hist = runs_history(tmp_path / "logged")
    assert np.isnan(hist["cost"][1]) and hist["cost"][4] == float(full[5].split(",")[1])


def runs_history(run_dir):
    from nettrain.plot import read_metrics

    return read_metrics(run_dir).values


def test_train_cost_logged_resumes_bit_for_bit_and_plots(root, tmp_path):
    whole = fit(root, tmp_path, "whole", "train.epochs=11", *MINI, "log.train_cost=logged")
    fit(root, tmp_path, "split", "train.epochs=6", *MINI, "log.train_cost=logged")  # stops on an unlogged epoch
    again = fit(root, tmp_path, "split", "train.epochs=11", *MINI, "log.train_cost=logged", resume=True)
    assert again.cost == whole.cost
    a, b = arrays(tmp_path / "whole" / "last.npz"), arrays(tmp_path / "split" / "last.npz")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    # the first run's last row (6) had J as the last one; the resumed run keeps that row as it was written
    split = metrics_less_seconds(tmp_path / "split" / "metrics.csv").splitlines()
    whole_rows = metrics_less_seconds(tmp_path / "whole" / "metrics.csv").splitlines()
    assert [r for i, r in enumerate(split) if i != 7] == [r for i, r in enumerate(whole_rows) if i != 7]
    assert split[7].split(",")[1] != "" and whole_rows[7].split(",")[1] == ""
    pytest.importorskip("matplotlib")
    from nettrain.plot import plot_metrics, read_metrics

    plot_metrics(read_metrics(tmp_path / "whole"), tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_train_cost_on_a_full_batch_run_is_named_in_one_warning(root):
    cfg = config_mod.load_config(root / "configs" / "iris.yaml", ["log.train_cost=logged"])
    assert cfg.warnings() == ["log.train_cost applies to minibatch runs (train.batch_size with gd, momentum, "
                              "nesterov or adam); a full-batch step computes J every epoch anyway: it is ignored"]
    assert config_mod.load_config(root / "configs" / "iris.yaml", ["log.train_cost=logged", *MINI]).warnings() == []


def test_train_cost_logged_with_a_tolerance_compares_the_computed_costs():
    arch, p0, x, y = problem(m=60)
    seen = []
    res = train.minimize(arch, p0, x, y, lam=0.01, epochs=500, tolerance=1e-3, batch_size=10,
                         rng=np.random.default_rng(3), learning_rate=0.05, cost_at=lambda e: e % 7 == 0,
                         on_step=lambda s: seen.append((s.epoch, None if s.cost is None else s.cost.J)))
    assert res.reason == "converged" and res.epoch % 7 == 0
    J = [(e, c) for e, c in seen if c is not None]
    assert all(c is None for e, c in seen if e % 7)
    assert abs(J[-1][1] - J[-2][1]) < 1e-3 <= abs(J[-2][1] - J[-3][1])
    assert J[-2][0] == J[-1][0] - 7


def test_a_minibatch_divergence_between_logged_rows_keeps_the_last_finite_state(root, tmp_path):
    from nettrain.errors import Diverged

    with pytest.raises(Diverged) as err:
        fit(root, tmp_path, "hot", "train.epochs=50", "train.optimizer=momentum", "train.learning_rate=1e4",
            "train.batch_size=16", "train.dtype=float32", "log.every=10", "log.train_cost=logged")
    d = err.value
    assert d.last_epoch % 10 != 0  # no J was computed for it during the run: the message's J is computed then
    assert d.last_cost is not None and math.isfinite(d.last_cost.J) and f"epoch {d.last_epoch})" in str(d)
    params, meta = ckpt.load_checkpoint(tmp_path / "hot" / "last.npz")
    assert meta["epoch"] == d.last_epoch and all(np.isfinite(w).all() for w in params.W.values())
    rows = (tmp_path / "hot" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2 + d.last_epoch


def test_a_resumed_lbfgs_run_keeps_falling_and_one_history(root, tmp_path):
    fit(root, tmp_path, "lb", "train.optimizer=lbfgs", "train.epochs=15")
    res = fit(root, tmp_path, "lb", "train.optimizer=lbfgs", "train.epochs=30", resume=True)
    lines = (tmp_path / "lb" / "metrics.csv").read_text().splitlines()
    head = lines[0].split(",")
    assert head[:6] == ["epoch", "cost", "data_cost", "reg_cost", "grad_norm", "evaluations"]
    rows = [dict(zip(head, line.split(","))) for line in lines[1:]]
    assert [int(r["epoch"]) for r in rows] == list(range(31))
    J = [float(r["cost"]) for r in rows]
    assert all(b <= a for a, b in zip(J, J[1:]))  # L-BFGS's line search lowers J every iteration, across the resume
    evals = [int(r["evaluations"]) for r in rows]
    assert evals == sorted(evals) and evals[-1] >= 30
    assert res.cost.J == J[-1]


def test_a_key_the_optimizer_does_not_read_is_named_in_one_warning(root):
    cfg = config_mod.load_config(root / "configs" / "digits.yaml", ["train.optimizer=lbfgs", "train.momentum=0.5"])
    assert cfg.warnings() == [
        "train.learning_rate is not used by optimizer lbfgs (it is used by gd, momentum, nesterov, adam); it is ignored",
        "train.momentum is not used by optimizer lbfgs (it is used by momentum, nesterov); it is ignored",
    ]
    assert config_mod.load_config(root / "configs" / "digits.yaml").warnings() == []
    adam = config_mod.load_config(root / "configs" / "xor.yaml", ["train.optimizer=adam", "train.learning_rate=null"])
    assert adam.train.learning_rate == 0.001


@pytest.mark.parametrize("name, J_at_most, accuracy_at_least", [("digits-lbfgs", 0.035, 0.97),
                                                                 ("digits-adam", 0.045, 0.96)])
def test_the_shipped_optimizer_configs_converge(root, tmp_path, name, J_at_most, accuracy_at_least):
    res = fit_config(root / "configs" / f"{name}.yaml", out=tmp_path / name)
    assert res.reason == "done" and res.cost.J <= J_at_most and res.test["accuracy"] >= accuracy_at_least
    J = [float(r.split(",")[1]) for r in (tmp_path / name / "metrics.csv").read_text().splitlines()[1:]]
    assert len(J) == res.epoch + 1 and J[-1] < 0.02 * J[0]


def test_early_stopping_keeps_the_best_state_and_eval_uses_it(root, tmp_path):
    res = fit(root, tmp_path, "es", "train.optimizer=adam", "train.learning_rate=0.05", "train.epochs=2000",
              "log.every=1", "train.early_stopping={patience: 5}")
    assert res.reason == "early stopped" and res.epoch < 2000
    best = res.best
    meta = ckpt.read_meta(tmp_path / "es" / "best.npz")
    assert meta["epoch"] == best[1] and res.epoch == best[1] + 5
    rows = (tmp_path / "es" / "metrics.csv").read_text().splitlines()[1:]
    val = [float(r.split(",")[5]) for r in rows]
    assert min(val) == best[0] and val.index(min(val)) == best[1]
    ev = evaluate_run(tmp_path / "es", split="val")
    assert ev["checkpoint"].endswith("best.npz") and ev["data_cost"] == best[0]
    # the fit's summary shows that state, not the last epoch's: the numbers eval gives, split by split
    assert res.kept["epoch"] == best[1] and res.kept["val"]["data_cost"] == best[0] != res.val["data_cost"]
    for split in ("train", "val", "test"):
        ev = evaluate_run(tmp_path / "es", split=split)
        assert res.kept[split]["accuracy"] == ev["accuracy"] and res.kept[split]["cost"] == ev["cost"]


def test_early_stopping_needs_a_validation_split(root):
    with pytest.raises(Exception, match="needs a validation split"):
        config_mod.load_config(root / "configs" / "xor.yaml", ["train.early_stopping={patience: 3}"])


def test_a_rising_cost_is_said_as_it_happens(root, tmp_path):
    notes = []

    class Rec(SilentReporter):
        def note(self, text):
            notes.append(text)

    res = fit_config(root / "configs" / "iris.yaml", ["train.epochs=20", "train.learning_rate=500"],
                   out=tmp_path / "hot", reporter=Rec())
    said = [n for n in notes if "rose" in n]
    assert len(said) == 1 and "smaller train.learning_rate (now 500)" in said[0]
    assert said[0] in res.notes


def test_a_batch_size_past_the_train_split_is_said_and_steps_on_every_row(root, tmp_path):
    notes, starts = [], []

    class Rec(SilentReporter):
        def note(self, text):
            notes.append(text)

        def start(self, info):
            starts.append(info)

    res = fit_config(root / "configs" / "iris.yaml", ["train.epochs=3", "train.batch_size=100000"],
                   out=tmp_path / "big", reporter=Rec())
    m = starts[0]["m"]
    assert starts[0]["batch_size"] == m and res.epoch == 3
    assert notes == [f"warning: train.batch_size = 100000 is at least the {m} training rows: every step takes them "
                     "all (in a shuffled order), as train.batch_size: null does"]


def test_a_resume_with_nothing_left_says_how_to_continue_and_writes_nothing(root, tmp_path):
    first = fit(root, tmp_path, "done", "train.epochs=5")
    before = {p: p.read_bytes() for p in (tmp_path / "done").rglob("*") if p.is_file()}
    res = fit(root, tmp_path, "done", "train.epochs=5", resume=True)
    assert res.reason == "already at train.epochs" and res.epoch == 5 and res.cost == first.cost
    assert "already at train.epochs = 5" in res.notes[0] and "--set train.epochs=10 --resume" in res.notes[0]
    assert {p: p.read_bytes() for p in (tmp_path / "done").rglob("*") if p.is_file()} == before


def test_a_format_1_checkpoint_still_loads(tmp_path):
    arch, p0, *_ = problem()
    blocks = {k: v for k, v in p0.blocks().items()}
    meta = {"format": "nettrain-checkpoint", "format_version": 1, "nettrain_version": "0.1.0"}
    np.savez(tmp_path / "v1.npz", meta=np.array(json.dumps(meta)), **blocks)
    got, m = ckpt.load_checkpoint(tmp_path / "v1.npz", arch.shapes())
    assert m["format_version"] == 1 and all(np.array_equal(got.W[l], p0.W[l]) for l in p0.W)
    assert ckpt.load_state(tmp_path / "v1.npz", 75) == {}


def test_the_logged_gradient_norm_is_that_of_backprop_at_the_rows_weights(root, tmp_path):
    fit(root, tmp_path, "g", "train.epochs=10", "log.checkpoint_every=5")
    cfg = config_mod.load_config(root / "configs" / "iris.yaml")
    x, y = load_problem(cfg).columns("train")
    params, _ = ckpt.load_checkpoint(tmp_path / "g" / "checkpoints" / "epoch-5.npz")
    _, g = backprop(Architecture((4, 8, 3), "tanh", "softmax", "cross_entropy"), params, x, y, cfg.train.weight_decay)
    want = math.sqrt(sum(float(np.vdot(v, v)) for v in g.blocks().values()))
    row = (tmp_path / "g" / "metrics.csv").read_text().splitlines()[1 + 5].split(",")
    assert float(row[4]) == pytest.approx(want, rel=1e-12)


def test_a_non_finite_cost_inside_lbfgs_ends_with_the_last_iterate_intact():
    """J that turns non-finite at a point the line search tries: Diverged carries the last accepted iterate."""
    from nettrain.errors import Diverged

    arch, p0, x, y = problem()
    seen = {}

    class Poisoned(sums.Backprop):
        calls = 0

        def sums(self, params):
            Poisoned.calls += 1
            s = super().sums(params)
            return s._replace(loss=float("nan")) if Poisoned.calls > 12 else s

    bp = Poisoned(arch, x, y, 0.0)
    from nettrain import optimizers

    fit_ = optimizers.Fitting(Objective(bp, 0.01), network.copy_params(network.flat_params(arch.layers), p0))
    with pytest.raises(Diverged) as info:
        optimizers.make("lbfgs", memory=5).run(fit_, 0, 50, lambda s: seen.__setitem__(s.epoch, flat(s.params)))
    d = info.value
    assert d.last_epoch == max(seen) and np.array_equal(flat(d.last_params), seen[d.last_epoch])
    assert "non-finite" in str(d)


@pytest.mark.parametrize("sets", [["train.optimizer=lbfgs"], ["train.optimizer=adam", "train.batch_size=16"]])
def test_ctrl_c_stops_any_optimizer_with_a_resumable_last_npz(root, tmp_path, sets):
    """SIGINT during a run (here sent by the run itself at epoch 6): the run stops after that step's files,
    last.npz holds that epoch, and the message names the command that resumes it."""
    import os
    import signal

    class CtrlC(SilentReporter):
        def row(self, values, final=False):
            if values[0] == 6:
                os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(Interrupted, match=r"stopped at epoch 6; saved .*last.npz: continue with nettrain fit .*--resume"):
        fit_config(root / "configs" / "iris.yaml", ["train.epochs=40", "log.every=2", *sets], out=tmp_path / "c",
                 reporter=CtrlC())
    assert ckpt.read_meta(tmp_path / "c" / "last.npz")["epoch"] == 6
    res = fit_config(root / "configs" / "iris.yaml", ["train.epochs=40", "log.every=2", *sets], out=tmp_path / "c",
                   resume=True)
    assert res.epoch == 40 and res.reason in ("done", "converged")


def test_a_line_search_that_cannot_go_down_ends_lbfgs_cleanly_and_says_why():
    """A gradient that is not J's (here its sign flipped) leaves L-BFGS's line search no way down: the run
    ends with the last iterate and a note that names gradcheck."""
    arch, p0, x, y = problem()

    class Wrong(sums.Backprop):
        def sums(self, params):
            s = super().sums(params)
            np.negative(s.G, s.G)
            return s

    from nettrain import optimizers

    fit_ = optimizers.Fitting(Objective(Wrong(arch, x, y, 0.0), 0.0),
                              network.copy_params(network.flat_params(arch.layers), p0))
    res = optimizers.make("lbfgs", memory=5).run(fit_, 0, 50, lambda s: False)
    assert res.reason == "no progress" and res.epoch < 50 and "gradcheck" in res.note
    assert res.cost.J == pytest.approx(network.cost(arch, res.params, x, y).J, rel=1e-13)
