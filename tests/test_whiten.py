"""ZCA and PCA whitening: the tutorial's equations, decorrelated unit-variance output, the retained variance, and
their checkpoint metadata, hostile metadata refused."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from nettrain.errors import ConfigError, DataError
from nettrain.whiten import PCA, ZCA, from_meta


def test_zca_is_the_tutorials_equation_and_whitens():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 4)) @ rng.normal(size=(4, 4)) + 3.0  # correlated columns, non-zero mean
    eps = 1e-9
    zca = ZCA.fit(X, eps)
    mu = X.mean(axis=0)
    sigma = (X - mu).T @ (X - mu) / len(X)
    S, U = np.linalg.eigh(sigma)
    want = (U @ np.diag(1 / np.sqrt(S + eps)) @ U.T @ (X - mu).T).T  # x_ZCA = U diag(1/√(S+ε)) Uᵀ (x − μ)
    got = zca.apply(X)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.T @ got / len(X), np.eye(4), atol=1e-6)  # unit variance, decorrelated
    np.testing.assert_array_equal(zca.matrix, zca.matrix.T)  # symmetric: the result stays in the inputs' axes


def test_epsilon_damps_the_small_directions():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3)) * np.array([10.0, 1.0, 0.01])
    var = ZCA.fit(X, 1.0).apply(X).var(axis=0)
    assert var[0] > 0.98 and var[2] < 1e-3  # S ≫ ε: whitened; S ≪ ε: left small, not blown up


def test_meta_round_trip_is_exact_and_checked():
    rng = np.random.default_rng(2)
    zca = ZCA.fit(rng.normal(size=(50, 3)), 0.1)
    back = from_meta(zca.to_meta(), 3)
    np.testing.assert_array_equal(back.mean, zca.mean)
    np.testing.assert_array_equal(back.matrix, zca.matrix)
    assert back.epsilon == 0.1 and from_meta(None, 3) is None
    with pytest.raises(DataError, match="whitening metadata"):
        from_meta(zca.to_meta(), 4)
    with pytest.raises(DataError, match="whitening metadata"):
        from_meta({**zca.to_meta(), "epsilon": -1}, 3)


# ----------------------------------------------------------------------------- PCA whitening


ROOT = Path(__file__).resolve().parent.parent
R45 = np.array([[1.0, -1.0], [1.0, 1.0]]) / math.sqrt(2)  # a rotation by 45°


def cross() -> np.ndarray:
    """Four points (±2, 0), (0, ±1) rotated by 45°: μ = 0, Σ = R diag(8/4, 2/4) Rᵀ, so λ = (2, 0.5) and U = R."""
    return np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]]) @ R45.T


def test_pca_of_a_rotated_cross_by_hand():
    pca = PCA.fit(cross(), components=2, epsilon=0.5)
    np.testing.assert_allclose(pca.eigenvalues, [2.0, 0.5], rtol=1e-14)
    np.testing.assert_allclose(pca.retained_variance, [2 / 2.5, 1.0], rtol=1e-14)  # 0.8, then all of it
    # U's columns: R's, each signed so that its largest entry is positive ((−1, 1)/√2 becomes (1, −1)/√2)
    np.testing.assert_allclose(pca.basis, [[1 / math.sqrt(2), 1 / math.sqrt(2)], [1 / math.sqrt(2), -1 / math.sqrt(2)]],
                               rtol=1e-14)
    # (2, 0) rotated: U₁ᵀx = (√2·√2 + √2·√2)/√2 = 2, then ÷√(λ₁ + ε) = √2.5;  (0, 1) rotated: U₂ᵀx = −1, ÷√(0.5 + 0.5)
    np.testing.assert_allclose(pca.apply(cross()), [[2 / math.sqrt(2.5), 0], [-2 / math.sqrt(2.5), 0], [0, -1], [0, 1]],
                               atol=1e-15)
    assert [PCA.fit(cross(), retain=r, epsilon=0.5).width for r in (0.5, 0.8, 0.81, 1.0)] == [1, 1, 2, 2]
    one = PCA.fit(cross(), retain=0.8, epsilon=0.5)
    assert one.basis.shape == (2, 1) and one.apply(cross(), np.float32).shape == (4, 1)
    assert one.apply(cross(), np.float32).dtype == np.float32


def correlated(m: int = 400, seed: int = 3) -> np.ndarray:
    """m rows of 6 correlated columns whose variances span 10⁴ (the eigenvalues from about 25 to 0.0025), mean ≠ 0."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    return (rng.normal(size=(m, 6)) * np.array([5.0, 3.0, 1.0, 0.5, 0.1, 0.05])) @ Q.T + np.arange(6.0)


def test_pca_whitened_train_data_has_identity_covariance():
    """The exercise's check: with ε small beside every λ, Cov(x_PCAwhite) = diag(λ/(λ + ε)) = I (to 1e-10)."""
    X = correlated()
    eps = 1e-13
    Xw = PCA.fit(X, components=6, epsilon=eps).apply(X)
    mu = X.mean(axis=0)  # the covariance, its eigenvectors and the whitening again, by hand
    lam, U = np.linalg.eigh((X - mu).T @ (X - mu) / len(X))
    lam, U = lam[::-1], U[:, ::-1]
    by_hand = (X - mu) @ U / np.sqrt(lam + eps)
    np.testing.assert_allclose(np.abs(Xw), np.abs(by_hand), rtol=1e-9, atol=1e-12)  # equal up to each column's sign
    np.testing.assert_allclose(Xw.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Xw.T @ Xw / len(X), np.eye(6), atol=1e-10)
    np.testing.assert_allclose(np.diag(Xw.T @ Xw / len(X)), lam / (lam + eps), rtol=1e-11)


def test_retained_variance_is_reached_with_the_fewest_components():
    X = correlated()
    lam = np.sort(np.linalg.eigvalsh(np.cov(X.T, bias=True)))[::-1]
    curve = np.cumsum(lam) / lam.sum()  # by hand: (25 + 9 + …)/Σλ
    for retain in (0.5, 0.7, 0.9, 0.99, 0.9999, 1.0):
        pca = PCA.fit(X, retain=retain, epsilon=0.1)
        k = pca.width
        np.testing.assert_allclose(pca.retained_variance, curve, rtol=1e-12)
        assert pca.retained_variance[k - 1] >= retain and (k == 1 or curve[k - 2] < retain), (retain, k)
        assert pca.basis.shape == (6, k) and pca.apply(X).shape == (400, k)
    # the sample eigenvalues 23.4, 8.6, 1.05, 0.25, 0.0095, 0.0024 keep 0.703, 0.961, 0.992, 0.99964, 0.99993, 1
    assert [PCA.fit(X, retain=r, epsilon=0.1).width for r in (0.5, 0.9, 0.99, 0.999, 0.99999)] == [1, 2, 3, 4, 6]


def test_zca_is_u_times_pca_when_every_component_is_kept():
    """x_ZCA = U x_PCAwhite with k = n and the same ε; ε = 1 damps the small directions in both alike."""
    X = correlated()
    for eps in (1e-6, 1.0):
        pca = PCA.fit(X, components=6, epsilon=eps)
        np.testing.assert_allclose(pca.apply(X) @ pca.basis.T, ZCA.fit(X, eps).apply(X), rtol=1e-9, atol=1e-12)


def test_pca_of_covariance_is_the_fit_of_the_rows():
    """The cluster's path: μ and Σ summed elsewhere, then of_covariance; the same whitening as fit."""
    X = correlated()
    mu = X.sum(axis=0) / len(X)
    sigma = sum((X[i : i + 100] - mu).T @ (X[i : i + 100] - mu) for i in range(0, 400, 100)) / len(X)
    a = PCA.fit(X, retain=0.99, epsilon=0.01)
    b = PCA.of_covariance(mu, sigma, retain=0.99, epsilon=0.01)
    assert a.width == b.width == 3
    np.testing.assert_allclose(b.apply(X), a.apply(X), rtol=1e-9, atol=1e-12)  # the same signs: no column flips


def test_each_eigenvector_is_signed_by_its_largest_entry():
    X = correlated()
    pca = PCA.fit(X, components=6, epsilon=0.1)
    flipped = PCA.fit(-X, components=6, epsilon=0.1)  # the same Σ: the same basis, whatever eigh returned
    big = pca.basis[np.argmax(np.abs(pca.basis), axis=0), np.arange(6)]
    assert (big > 0).all()
    np.testing.assert_allclose(flipped.basis, pca.basis, atol=1e-12)
    np.testing.assert_allclose(pca.basis.T @ pca.basis, np.eye(6), atol=1e-12)


@pytest.mark.parametrize("kwargs,error,words", [
    ({"epsilon": 0.1}, ConfigError, "exactly one of retain"),
    ({"retain": 0.9, "components": 2, "epsilon": 0.1}, ConfigError, "exactly one of retain"),
    ({"components": 0, "epsilon": 0.1}, ConfigError, "from 1 to the 6 inputs"),
    ({"components": 7, "epsilon": 0.1}, ConfigError, "from 1 to the 6 inputs"),
    ({"components": 2.0, "epsilon": 0.1}, ConfigError, "whole number"),
    ({"components": True, "epsilon": 0.1}, ConfigError, "whole number"),
    ({"retain": 0, "epsilon": 0.1}, ConfigError, "in (0, 1]"),
    ({"retain": 1.5, "epsilon": 0.1}, ConfigError, "in (0, 1]"),
    ({"retain": "0.9", "epsilon": 0.1}, ConfigError, "in (0, 1]"),
    ({"retain": 0.9, "epsilon": 0}, ConfigError, "epsilon must be a number > 0"),
    ({"retain": 0.9, "epsilon": float("nan")}, ConfigError, "epsilon must be a number > 0"),
])
def test_pca_arguments_are_checked(kwargs, error, words):
    with pytest.raises(error, match=re.escape(words)):
        PCA.fit(correlated(), **kwargs)


def test_constant_inputs_have_no_variance_to_retain():
    X = np.ones((5, 3))
    with pytest.raises(DataError, match="no variance"):
        PCA.fit(X, retain=0.99, epsilon=0.1)
    pca = PCA.fit(X, components=2, epsilon=0.25)  # k given: every row maps to 0
    assert pca.apply(X).tolist() == [[0.0, 0.0]] * 5 and pca.retained_variance.tolist() == [1.0, 1.0, 1.0]


def test_pca_meta_round_trip_is_exact():
    pca = PCA.fit(correlated(), retain=0.99, epsilon=0.1)
    back = from_meta(json.loads(json.dumps(pca.to_meta())), 6)  # as a checkpoint's JSON metadata holds it
    assert isinstance(back, PCA) and back.width == 3 and back.epsilon == 0.1
    for name in ("mean", "basis", "eigenvalues"):
        np.testing.assert_array_equal(getattr(back, name), getattr(pca, name))
    np.testing.assert_array_equal(back.apply(correlated()), pca.apply(correlated()))
    assert isinstance(from_meta(ZCA.fit(correlated(), 0.1).to_meta(), 6), ZCA)


def _damaged(meta: dict) -> list:
    """Damaged and hostile versions of a PCA's metadata for 3 inputs and k = 2."""
    def with_(**kw):
        return {**meta, **kw}
    basis = meta["basis"]
    return [
        [], "pca", {"method": "PCA"}, with_(method="zca"), with_(method=None),
        {k: v for k, v in meta.items() if k != "basis"}, {k: v for k, v in meta.items() if k != "epsilon"},
        with_(epsilon=0), with_(epsilon=-1), with_(epsilon=float("nan")), with_(epsilon=float("inf")),
        with_(epsilon="0.1"), with_(epsilon=True), with_(epsilon=[0.1]),
        with_(mean=[0.0, 0.0]), with_(mean=["1", "2", "3"]), with_(mean=[True, False, True]),
        with_(mean=[0.0, None, 0.0]), with_(mean=[0.0, float("nan"), 0.0]), with_(mean=[0.0, 1e400, 0.0]),
        with_(mean=[[0.0, 0.0, 0.0]]), with_(mean=0.0), with_(mean={"a": 1}), with_(mean=[10**400, 0, 0]),
        with_(eigenvalues=[1.0, 2.0, 3.0]), with_(eigenvalues=[3.0, 2.0, -1.0]), with_(eigenvalues=[3.0, 2.0]),
        with_(basis=[row[:1] + [0.5] for row in basis]), with_(basis=[[1.0, 0.0], [0.0, 1.0]]),
        with_(basis=[[1.0, 0.0], [0.0, 1.0], [0.0]]), with_(basis=[[]] * 3), with_(basis=[[1.0], [0.0], [0.0]] * 2),
        with_(basis=[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]), with_(basis=[[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]]),
        with_(basis=[[[1.0]]] * 3), with_(basis="eye"),
    ]


def test_hostile_pca_metadata_is_refused_with_one_line():
    pca = PCA.fit(correlated()[:, :3], components=2, epsilon=0.1)
    meta = pca.to_meta()
    assert PCA.from_meta(meta, 3).width == 2
    for bad in _damaged(meta):
        with pytest.raises(DataError, match="whitening metadata") as info:
            from_meta(bad, 3)
        assert "\n" not in str(info.value), bad
    with pytest.raises(DataError, match="whitening metadata"):
        from_meta(meta, 4)  # a checkpoint of 3 inputs for data of 4


def test_zca_and_pca_agree_on_the_shipped_patches():
    """data/patches.npz (10,000 × 64): ZCA = U · PCA with every component kept; the PCA-whitened patches'
    covariance is diag(λ/(λ + ε)); 99 % of their variance lies in fewer than 64 directions."""
    with np.load(ROOT / "data" / "patches.npz") as f:
        X = f["X"].astype(np.float64)
    eps = 0.01
    pca = PCA.fit(X, components=64, epsilon=eps)
    Xp = pca.apply(X)
    np.testing.assert_allclose(Xp @ pca.basis.T, ZCA.fit(X, eps).apply(X), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(Xp.T @ Xp / len(X), np.diag(pca.eigenvalues / (pca.eigenvalues + eps)), atol=1e-10)
    k99 = PCA.fit(X, retain=0.99, epsilon=eps).width
    assert 1 < k99 < 64 and pca.retained_variance[k99 - 1] >= 0.99 > pca.retained_variance[k99 - 2]


# ----------------------------------------------------------------------------- data.whiten: {method: pca}: the run


def pca_config(tmp_path, whiten: str, layers: str, *more: str):
    from nettrain import config as config_mod

    doc = (f"name: p\ndata:\n  path: {ROOT / 'data' / 'digits.csv'}\n  whiten: {whiten}\n  split: {{train: 0.8, "
           f"val: 0.0, test: 0.2}}\nmodel:\n  layers: {layers}\n  output_activation: softmax\nloss: cross_entropy\n"
           "train: {optimizer: lbfgs, epochs: 5, weight_decay: 1.0e-4}\n")
    path = tmp_path / "p.yaml"
    path.write_text(doc, encoding="utf-8")
    return config_mod.load_config(path, list(more))


def test_a_pca_run_whitens_its_train_split_to_the_exercises_checks(tmp_path):
    from nettrain.problem import load_problem

    eps = 1e-9  # small beside every kept λ: the covariance is the identity
    problem = load_problem(pca_config(tmp_path, f"{{method: pca, retain: 0.99, epsilon: {eps}}}", "[54, 10]"))
    pca = problem.zca
    assert isinstance(pca, PCA) and pca.width == 54
    assert pca.retained_variance[53] >= 0.99 > pca.retained_variance[52]  # the fewest components that keep 99 %
    X = problem.splits["train"][0]
    assert X.shape[1] == 54
    np.testing.assert_allclose(X.T @ X / len(X), np.eye(54), atol=1e-6)
    problem = load_problem(pca_config(tmp_path, "{method: pca, retain: 0.99, epsilon: 0.1}", "[54, 10]"))
    X, lam = problem.splits["train"][0], problem.zca.eigenvalues[:54]
    np.testing.assert_allclose(X.T @ X / len(X), np.diag(lam / (lam + 0.1)), atol=1e-10)  # with ε: diag(λ/(λ + ε))


def test_a_pca_run_says_which_k_its_layers_need(tmp_path):
    from nettrain.problem import load_problem

    with pytest.raises(ConfigError, match=r"p\.yaml:\d+: model\.layers starts with 64 inputs but PCA whitening keeping "
                                          r"0\.99 of the train split's variance keeps k = 54 of its 64 directions: set "
                                          r"model\.layers to \[54, …\]"):
        load_problem(pca_config(tmp_path, "{method: pca, retain: 0.99, epsilon: 0.1}", "[64, 10]"))
    with pytest.raises(ConfigError, match=r"model\.layers starts with 64 inputs but data\.whiten keeps 20 PCA components"):
        load_problem(pca_config(tmp_path, "{method: pca, components: 20, epsilon: 0.1}", "[64, 10]"))
    with pytest.raises(ConfigError, match=r"data\.whiten\.components is 70 but .*digits\.csv has 64 feature columns"):
        load_problem(pca_config(tmp_path, "{method: pca, components: 70, epsilon: 0.1}", "[70, 10]"))


def test_eval_predict_and_the_api_apply_a_pca_runs_whitening_to_raw_rows(tmp_path):
    import nettrain
    from nettrain import network, trainer
    from nettrain.evaluation import evaluate_run
    from nettrain.prediction import predict_rows
    from nettrain.problem import load_problem

    cfg = pca_config(tmp_path, "{method: pca, components: 20, epsilon: 0.1}", "[20, 10]")
    trainer.fit(cfg, out=tmp_path / "run")
    meta = json.loads(str(np.load(tmp_path / "run" / "last.npz")["meta"]))
    assert meta["whitening"]["method"] == "pca" and np.array(meta["whitening"]["basis"]).shape == (64, 20)
    model = nettrain.load(tmp_path / "run")
    rows = np.loadtxt(ROOT / "data" / "digits.csv", delimiter=",", skiprows=1)
    X = rows[:, :-1]
    prep, pca = model._loaded.prep, model._loaded.zca
    by_hand = network.predict(model._loaded.arch, model._loaded.params, pca.apply(prep.transform_x(X)).T).T
    np.testing.assert_allclose(model.outputs(X), by_hand, rtol=1e-12)
    _, predicted = predict_rows(tmp_path / "run", ROOT / "data" / "digits.csv")
    np.testing.assert_allclose(np.array([r[1:] for r in predicted], dtype=float), by_hand, rtol=1e-12)
    problem = load_problem(cfg)  # the test split as the run whitened it
    x, y = problem.columns("test")
    h = network.predict(problem.arch, model._loaded.params, x)
    res = evaluate_run(tmp_path / "run")
    assert res["accuracy"] == pytest.approx(np.mean(h.argmax(axis=0) == y.argmax(axis=0)))
    np.testing.assert_allclose((X - pca.mean) @ pca.matrix, pca.apply(X), rtol=1e-9, atol=1e-12)  # export's form


def test_a_pca_autoencoder_reproduces_its_k_components(tmp_path):
    from nettrain import config as config_mod
    from nettrain import trainer
    from nettrain.prediction import predict_rows

    path = tmp_path / "a.yaml"
    path.write_text(f"data:\n  path: {ROOT / 'data' / 'patches.npz'}\n  task: autoencode\n  standardize: false\n"
                    "  whiten: {method: pca, components: 12, epsilon: 0.01}\n  split: {train: 1.0}\nmodel:\n"
                    "  layers: [12, 4, 12]\n  output_activation: identity\ntrain: {optimizer: lbfgs, epochs: 3}\n")
    trainer.fit(config_mod.load_config(path), out=tmp_path / "run")
    header, rows = predict_rows(tmp_path / "run", ROOT / "data" / "patches.npz")
    assert header == [f"predicted_pc{j}" for j in range(1, 13)] and len(rows[0]) == 12


def test_the_whitening_from_sums_of_parts_is_the_whitening_of_the_rows(monkeypatch):
    """A cluster's path (data.prepare_rows: Σx̂ then Σ(x̂ − μ)ᵀ(x̂ − μ), part by part) gives PCA.fit's whitening."""
    import functools
    import importlib

    from nettrain import data as data_mod
    from nettrain import whiten

    prepare = importlib.import_module("nettrain.data.prepare")  # the module (nettrain.data.prepare is also a function)

    X = correlated()
    table = data_mod.Table(X, np.zeros(len(X)) + np.arange(len(X)) % 2, [f"x{j}" for j in range(6)], ["y"], Path("m"))
    spec = data_mod.SplitSpec(len(X), 1.0, 0.0, 0.0, 0)
    make = functools.partial(whiten.of_covariance, method="pca", retain=0.99, epsilon=0.01)
    whole = prepare.prepare_rows(data_mod.TableRows(table), spec, standardize=False, whiten=make).zca
    monkeypatch.setattr(prepare, "STATS_ROWS", 64)  # seven parts, summed in order
    parts = prepare.prepare_rows(data_mod.TableRows(table), spec, standardize=False, whiten=make).zca
    fit = PCA.fit(X, retain=0.99, epsilon=0.01)
    assert whole.width == parts.width == fit.width == 3
    np.testing.assert_allclose(whole.apply(X), fit.apply(X), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(parts.apply(X), fit.apply(X), rtol=1e-9, atol=1e-12)
