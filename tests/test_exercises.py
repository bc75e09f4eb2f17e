"""The UFLDL exercises of configs/ufldl/ run as the README gives them — the same commands, the same configs — on a
copy of the repository's layout whose MNIST and colour patches are small subsets, with 3 iterations a stage: what
the suite can afford (the README's numbers come from the full runs)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nettrain import checkpoint as ckpt
from nettrain import config as config_mod
from nettrain import sums, trainer
from nettrain.cli import app
from nettrain.evaluation import evaluate_run
from nettrain.problem import initial_params, load_problem

ROOT = Path(__file__).resolve().parent.parent
QUICK = ["--set", "train.epochs=3"]


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def subset(src: Path, dst: Path, rows: np.ndarray) -> None:
    with np.load(src) as z:
        np.savez(dst, **{k: (z[k][rows] if k in ("X", "y") else z[k]) for k in z.files})


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> Path:
    """configs/ufldl/ as shipped; data/ with 30 MNIST digits of each class and 600 colour patches (the PCA
    exercise's patches whole: its k depends on them, and it trains nothing)."""
    folder = tmp_path_factory.mktemp("exercises")
    shutil.copytree(ROOT / "configs" / "ufldl", folder / "configs" / "ufldl")
    (folder / "data").mkdir()
    y = np.load(ROOT / "data" / "mnist-5k.npz")["y"]
    subset(ROOT / "data" / "mnist-5k.npz", folder / "data" / "mnist-5k.npz",
           np.concatenate([np.flatnonzero(y == d)[:30] for d in range(10)]))
    subset(ROOT / "data" / "patches-colour.npz", folder / "data" / "patches-colour.npz", np.arange(600))
    shutil.copy(ROOT / "data" / "patches-12x12.npz", folder / "data" / "patches-12x12.npz")
    return folder


def readme_commands() -> list[str]:
    """The `nettrain …` commands of the README's UFLDL section (```sh blocks), continuation lines joined."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## The rest of the UFLDL tutorial"):].split("\n## ")[0]
    cmds = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("nettrain "):
                cmds.append(" ".join(line.split()))
    return cmds


@pytest.fixture(scope="module")
def exercised(layout) -> Path:
    """The layout after the README's UFLDL commands, run in order from its folder, each fit with QUICK."""
    pytest.importorskip("matplotlib")
    cmds = readme_commands()
    assert sum(c.startswith("nettrain fit") for c in cmds) == 6 and any("--whitening" in c for c in cmds)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(layout)
        for cmd in cmds:
            args = cmd.split()[1:]
            res = run(*args, *(QUICK if args[0] == "fit" else []))
            assert res.exit_code == 0, (cmd, res.output)
    return layout


def test_every_exercise_runs_from_its_shipped_config(exercised):
    runs = exercised / "runs"
    assert sorted(p.name for p in runs.iterdir()) == sorted(
        ["ufldl-vectorization", "ufldl-pca", "ufldl-softmax", "ufldl-self-taught-ae", "ufldl-self-taught-features",
         "ufldl-self-taught-pixels", "ufldl-stacked-ae1", "ufldl-stacked-ae2", "ufldl-stacked-softmax",
         "ufldl-stacked-finetune", "ufldl-linear-decoder"])
    assert all((p / "summary.json").exists() for p in runs.iterdir())
    for picture in ("ufldl-vectorization/weights.png", "ufldl-pca/whitening.png", "ufldl-linear-decoder/weights.png",
                    "ufldl-self-taught-ae/weights.png"):
        assert (runs / picture).stat().st_size > 1000, picture
    pca = ckpt.read_meta(runs / "ufldl-pca" / "last.npz")["whitening"]
    assert pca["method"] == "pca" and len(pca["basis"][0]) == 129


def test_the_stack_is_fine_tuned_from_its_three_stages(exercised):
    runs = exercised / "runs"
    first = ckpt.read_meta(runs / "ufldl-stacked-finetune" / "last.npz")["config"]["model"]["init"]["from"]
    assert [Path(e["run"]).name for e in first] == ["ufldl-stacked-ae1", "ufldl-stacked-ae2", "ufldl-stacked-softmax"]
    softmax = ckpt.read_meta(runs / "ufldl-stacked-softmax" / "last.npz")["transform"]
    assert Path(softmax["from"]).parent.name == "ufldl-stacked-ae2"


# ---- the exercises' own cost functions, written out here as the starter code computes them


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax_cost(W, b, x, y, lam):
    """softmaxCost: J = −(1/m) Σᵢ Σₖ 1{yᵢ = k} log pₖ(xᵢ) + (λ/2)‖W‖², p = softmax(Wx + b); ∇_W J =
    −(1/m)(y − p)xᵀ + λW, ∇_b J = −(1/m) Σᵢ (y − p). x (n, m), y one-hot (k, m). (The exercise's θ has no b.)"""
    m = x.shape[1]
    z = W @ x + b[:, None]
    p = np.exp(z - z.max(axis=0))
    p /= p.sum(axis=0)
    J = -np.sum(y * np.log(p)) / m + 0.5 * lam * np.sum(W * W)
    return J, -(y - p) @ x.T / m + lam * W, -(y - p).sum(axis=1) / m


def stacked_cost(Ws, bs, x, y, lam):
    """stackedAECost with every W decayed (as nettrain's J_reg; the exercise decays the softmax's θ alone):
    a⁽ˡ⁺¹⁾ = σ(W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾) up the stack, then softmaxCost on the last a; δ⁽ⁿˡ⁾ = p − y, δ⁽ˡ⁾ =
    (W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾)·a⁽ˡ⁾(1 − a⁽ˡ⁾), ∇_W⁽ˡ⁾ J = (1/m) δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ + λW⁽ˡ⁾."""
    m, a = x.shape[1], [x]
    for W, b in zip(Ws[:-1], bs[:-1]):
        a.append(sigmoid(W @ a[-1] + b[:, None]))
    J, gW, gb = softmax_cost(Ws[-1], bs[-1], a[-1], y, 0.0)
    gWs, gbs = [gW + lam * Ws[-1]], [gb]
    z = Ws[-1] @ a[-1] + bs[-1][:, None]
    p = np.exp(z - z.max(axis=0))
    delta = p / p.sum(axis=0) - y  # δ⁽ⁿˡ⁾ = p − y
    for l in range(len(Ws) - 1, 0, -1):
        delta = (Ws[l].T @ delta) * a[l] * (1 - a[l])
        gWs.insert(0, delta @ a[l - 1].T / m + lam * Ws[l - 1])
        gbs.insert(0, delta.sum(axis=1) / m)
    return J + 0.5 * lam * sum(np.sum(W * W) for W in Ws), gWs, gbs


def numerical(f, A, entries, eps=1e-4):
    """(f(A + εeᵢ) − f(A − εeᵢ))/(2ε) at the flat entries of A (A restored after each)."""
    out = []
    for i in entries:
        old = A.flat[i]
        A.flat[i] = old + eps
        up = f()
        A.flat[i] = old - eps
        down = f()
        A.flat[i] = old
        out.append((up - down) / (2 * eps))
    return np.array(out)


def problem_of(folder: Path, name: str):
    cfg = config_mod.load_config(folder / "configs" / "ufldl" / f"{name}.yaml")
    problem = load_problem(cfg)
    return cfg, problem, initial_params(cfg, problem.arch, np.float64)


def test_softmax_regressions_cost_and_gradient_are_the_exercises(layout, monkeypatch):
    monkeypatch.chdir(layout)
    cfg, problem, params = problem_of(layout, "softmax")
    x, y = problem.columns("train")
    lam = cfg.train.weight_decay
    params.W[1][:] = np.random.default_rng(1).normal(0, 0.05, params.W[1].shape)  # off the 0.005 start: p ≠ 1/k
    cost, g = sums.backprop(problem.arch, params, x, y, lam)
    J, gW, gb = softmax_cost(params.W[1], params.b[1], x, y, lam)
    assert cost.J == pytest.approx(J, rel=1e-12) and cost.parts["reg_cost"] == pytest.approx(
        0.5 * lam * np.sum(params.W[1] ** 2), rel=1e-12)
    np.testing.assert_allclose(g.W[1], gW, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(g.b[1], gb, rtol=1e-9, atol=1e-13)
    entries = np.random.default_rng(2).choice(params.W[1].size, 30, replace=False)
    W = params.W[1]
    num = numerical(lambda: softmax_cost(W, params.b[1], x, y, lam)[0], W, entries)
    np.testing.assert_allclose(num, g.W[1].flat[entries], rtol=1e-6, atol=1e-10)


def test_the_stacked_start_is_the_softmax_on_the_stages_features_and_its_gradient_the_exercises(exercised,
                                                                                                  monkeypatch):
    """Before its first update the stack [784, 200, 200, 10] computes what the softmax stage computes on the
    second autoencoder's features of the same pixels (same J_data, same test predictions); its gradient is
    stackedAECost's, and the numerical one."""
    monkeypatch.chdir(exercised)
    runs = exercised / "runs"
    cfg, problem, start = problem_of(exercised, "stacked_finetune")
    for l, stage in enumerate(("ae1", "ae2", "softmax"), start=1):
        stage_params, _ = ckpt.load_checkpoint(runs / f"ufldl-stacked-{stage}" / "last.npz")
        np.testing.assert_array_equal(start.W[l], stage_params.W[1])
        np.testing.assert_array_equal(start.b[l], stage_params.b[1])
    x, y = problem.columns("train")
    lam = cfg.train.weight_decay
    cost, g = sums.backprop(problem.arch, start, x, y, lam)
    softmax_train = evaluate_run(runs / "ufldl-stacked-softmax", split="train")
    assert cost.parts["data_cost"] == pytest.approx(softmax_train["data_cost"], rel=1e-12)
    first = np.genfromtxt(runs / "ufldl-stacked-finetune" / "metrics.csv", delimiter=",", names=True)[0]
    assert first["epoch"] == 0 and first["data_cost"] == pytest.approx(softmax_train["data_cost"], rel=1e-12)
    before = evaluate_run(runs / "ufldl-stacked-softmax")  # the test split, through the stages' transforms
    xt, yt = problem.columns("test")
    h = sums.backprop(problem.arch, start, xt, yt, 0.0)[0].parts["data_cost"]
    assert h == pytest.approx(before["data_cost"], rel=1e-12)

    Ws, bs = [start.W[l] for l in (1, 2, 3)], [start.b[l] for l in (1, 2, 3)]
    J, gWs, gbs = stacked_cost(Ws, bs, x, y, lam)
    assert cost.J == pytest.approx(J, rel=1e-12)
    for l in (1, 2, 3):
        np.testing.assert_allclose(g.W[l], gWs[l - 1], rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(g.b[l], gbs[l - 1], rtol=1e-9, atol=1e-14)
    rng = np.random.default_rng(3)
    for l in (1, 2, 3):
        entries = rng.choice(Ws[l - 1].size, 8, replace=False)
        num = numerical(lambda: stacked_cost(Ws, bs, x, y, lam)[0], Ws[l - 1], entries)
        np.testing.assert_allclose(num, g.W[l].flat[entries], rtol=1e-5, atol=1e-9)


def test_softmax_regression_on_mnist_5k_in_full_reaches_its_floor(tmp_path):
    """configs/ufldl/softmax.yaml as shipped (4,000 digits, 100 L-BFGS iterations, a few seconds): the README's
    run gives 88.4 % on the 1,000 test digits; any build stays above 87 % (and fits the train split)."""
    shutil.copytree(ROOT / "configs" / "ufldl", tmp_path / "configs" / "ufldl")
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "data" / "mnist-5k.npz", tmp_path / "data" / "mnist-5k.npz")
    res = trainer.fit(config_mod.load_config(tmp_path / "configs" / "ufldl" / "softmax.yaml"), out=tmp_path / "r")
    assert res.epoch == 100
    summary = evaluate_run(tmp_path / "r")
    assert summary["m"] == 1000 and summary["accuracy"] > 0.87
    assert evaluate_run(tmp_path / "r", split="train")["accuracy"] > 0.99


@pytest.mark.parametrize("name, old, new, words", [  # the message's line: old's, or that of words[0]'s key
    ("self_taught_features", "labels: [0, 1, 2, 3, 4]", "labels: [0, 1, 1]", ["data.labels", "label 1 twice"]),
    ("self_taught_features", "labels: [0, 1, 2, 3, 4]", "labels: [0, 1, 12]", ["data.labels", "12"]),
    ("self_taught_features", "layers: 1}", "layers: 0}", ["data.transform.layers", "greater than or equal to 1"]),
    ("self_taught_features", "layers: 1}", "layers: 2}", ["data.transform", "set data.transform.layers to 1"]),
    ("self_taught_features", "runs/ufldl-self-taught-ae", "runs/ufldl-nothing", ["data.transform.from",
                                                                                 "train that run first"]),
    ("pca_whitening", "retain: 0.99", "retain: 1.5", ["data.whiten.retain", "less than or equal to 1"]),
    ("pca_whitening", "retain: 0.99", "retain: 0.99, components: 3", ["data.whiten", "exactly one of retain"]),
    ("pca_whitening", "retain: 0.99", "components: 100", ["model.layers", "keeps 100 PCA components",
                                                          "set model.layers to [100, …]"]),
    ("stacked_finetune", "ufldl-stacked-ae2, layer: 1}", "ufldl-stacked-ae2, layer: 0}",
     ["model.init.from.1.layer", "greater than or equal to 1"]),
    ("stacked_finetune", "ufldl-stacked-ae1, layer: 1}", "ufldl-stacked-ae2, layer: 1}",
     ["model.init.from.0", "200×200", "200×784"]),
    ("stacked_finetune", "      - {run: ../../runs/ufldl-stacked-softmax, layer: 1}\n", "",
     ["model.init", "one entry per W", "(got 2 entries)"]),
])
def test_a_bad_value_of_a_new_key_in_an_exercise_is_refused_in_one_line_at_its_place(exercised, monkeypatch, name, old,
                                                                                      new, words):
    """Each shipped config with one value made wrong, beside it: one line naming the file, the key's line, the key
    and what to change (the runs its transform and stacked start name exist, so the bad value is the only fault)."""
    monkeypatch.chdir(exercised)
    text = (exercised / "configs" / "ufldl" / f"{name}.yaml").read_text(encoding="utf-8")
    assert old in text
    bad = exercised / "configs" / "ufldl" / "bad.yaml"
    bad.write_text(text.replace(old, new), encoding="utf-8")
    key = words[0].split(".")[-1] + ":"  # where the message may name the key's own line, not old's
    line = text[:text.index(old)].count("\n") + 1
    lines = {line, *(n for n, t in enumerate(text.splitlines(), start=1) if t.strip().startswith(key))}
    res = run("fit", "configs/ufldl/bad.yaml", "--out", "runs/bad")
    msg = res.output.strip()
    assert res.exit_code in (3, 4) and "\n" not in msg, msg
    assert re.match(r"nettrain: (config|data) error: configs/ufldl/bad\.yaml:(\d+): ", msg), msg
    assert int(re.match(r".*?bad\.yaml:(\d+)", msg).group(1)) in lines, msg
    for w in words:
        assert w in msg, msg
    assert not (exercised / "runs" / "bad").exists()
