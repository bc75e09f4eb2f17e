"""The registries: an optimizer or a loss defined here, in this file only, registered, is then a choice of
the config (YAML and --set), of its JSON Schema and of the estimators, trains by its own rule or kernel,
resumes from a checkpoint bit for bit, passes gradcheck — and is gone again when its registration is undone.
A registration that cannot be followed (a name taken, a key that disagrees) changes nothing."""

import inspect
import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from nettrain import config as config_mod
from nettrain import losses, network, numgrad, optimizers, train
from nettrain.activations import ACTIVATIONS
from nettrain.cli import app
from nettrain.errors import ConfigError, UsageError
from nettrain.losses import LOSSES, Loss
from nettrain.network import Architecture, Params, init_params
from nettrain.sums import backprop
from nettrain.optimizers import OPTIMIZERS, FirstOrder, Hyper, learning_rate

from .helpers import fit_config
from .runfolders import metrics_less_seconds


class Signum(FirstOrder):
    """Sign descent with momentum (Bernstein et al. 2018):  m ← βm + (1 − β)g;  θ ← θ − α·sign(m)."""

    name = "signum"
    hypers = (learning_rate(0.001), Hyper("sign_momentum", float, 0.9, "β, the decay of the mean whose sign is taken",
                                          ge=0, lt=1))
    state_names = ("m",)

    def update(self, t, theta, g, out, s, s_new) -> None:
        beta, m = self.hyper["sign_momentum"], s_new["m"]
        np.multiply(s["m"], beta, m)
        np.multiply(g, 1.0 - beta, g)
        np.add(m, g, m)  # m ← βm + (1 − β)g
        np.sign(m, out)
        np.multiply(out, self.hyper["learning_rate"], out)
        np.subtract(theta, out, out)  # θ ← θ − α·sign(m)


@pytest.fixture
def signum():
    with optimizers.register(Signum):
        yield Signum


def flat(p: Params) -> np.ndarray:
    return np.concatenate([np.concatenate([p.b[l][:, None], p.W[l]], axis=1).ravel() for l in sorted(p.W)])


def small_problem(m=30, seed=0):
    rng = np.random.default_rng(seed)
    arch = Architecture((4, 6, 3), "tanh", "softmax", "cross_entropy")
    x = rng.normal(size=(4, m))
    return arch, init_params(arch.layers, "glorot_uniform", rng), x, np.eye(3)[:, rng.integers(0, 3, m)]


# ----------------------------------------------------------------------------- an optimizer


def test_a_registered_optimizer_steps_by_its_own_rule(signum):
    arch, p0, x, y = small_problem()
    got = train.minimize(arch, p0, x, y, lam=0.01, optimizer="signum", epochs=8, learning_rate=0.02,
                         sign_momentum=0.8)
    theta, m = flat(p0), np.zeros_like(flat(p0))
    for _ in range(8):  # the rule as the docstring writes it, on backprop's gradient
        fp = network.flat_params(arch.layers)
        fp.vec[:] = theta
        _, g = backprop(arch, fp.params, x, y, 0.01)
        m = 0.8 * m + 0.2 * flat(g)
        theta = theta - 0.02 * np.sign(m)
    np.testing.assert_allclose(flat(got.params), theta, rtol=1e-12, atol=1e-14)
    assert sorted(got.state) == ["m"]
    assert optimizers.make("signum").hyper == {"learning_rate": 0.001, "sign_momentum": 0.9}


def test_a_registered_optimizer_is_a_choice_of_the_yaml_config_and_of_set(signum, root, tmp_path):
    path = tmp_path / "signum.yaml"
    path.write_text((root / "configs" / "iris.yaml").read_text().replace(
        "train:\n", "train:\n  optimizer: signum\n  sign_momentum: 0.8\n").replace("../data", str(root / "data")))
    cfg = config_mod.load_config(path)
    assert (cfg.train.optimizer, cfg.train.sign_momentum, cfg.train.learning_rate) == ("signum", 0.8, 0.5)
    assert cfg.train.hyperparameters() == {"learning_rate": 0.5, "sign_momentum": 0.8}
    assert cfg.warnings() == []
    assert "  sign_momentum: 0.8\n" in config_mod.dump_config_yaml(cfg)
    assert config_mod.load_config(path, ["train.learning_rate=null"]).train.learning_rate == 0.001  # its default
    with pytest.raises(ConfigError, match=r"^--set train.sign_momentum=1: must be less than 1 \(got 1\)$"):
        config_mod.load_config(path, ["train.sign_momentum=1"])
    with pytest.raises(ConfigError, match=r"unknown key 'sign_momentm' in train, did you mean 'sign_momentum'\?$"):
        config_mod.load_config(path, ["train.sign_momentm=0.5"])
    gd = config_mod.load_config(root / "configs" / "iris.yaml", ["train.sign_momentum=0.5"])
    assert gd.warnings() == ["train.sign_momentum is not used by optimizer gd (it is used by signum); it is ignored"]
    res = CliRunner().invoke(app, ["fit", str(root / "configs" / "iris.yaml"), "--set", "train.optimizer=signum",
                                   "--set", "train.sign_momentum=0.5", "--print-config"])
    assert res.exit_code == 0, res.output
    assert "  optimizer: signum\n  learning_rate: 0.5\n" in res.stdout and "  sign_momentum: 0.5\n" in res.stdout


def test_a_registered_optimizer_and_its_key_are_in_the_json_schema(signum):
    res = CliRunner().invoke(app, ["schema"])
    train_props = json.loads(res.stdout)["$defs"]["TrainConfig"]["properties"]
    assert train_props["optimizer"]["enum"] == ["gd", "momentum", "nesterov", "adam", "lbfgs", "signum"]
    assert train_props["sign_momentum"] == {
        "default": 0.9, "minimum": 0, "exclusiveMaximum": 1, "type": "number", "title": "Sign Momentum",
        "description": "β, the decay of the mean whose sign is taken (signum)."}
    assert train_props["learning_rate"]["description"] == (
        "α, the step size; null: 0.1 gd, 0.01 momentum/nesterov, 0.001 adam/signum.")
    assert list(train_props)[:8] == ["optimizer", "learning_rate", "momentum", "beta1", "beta2", "epsilon", "memory",
                                     "sign_momentum"]


def test_a_registered_optimizers_state_resumes_from_the_checkpoint_bit_for_bit(signum, root, tmp_path):
    def fit(name, epochs, resume=False):
        sets = ["train.optimizer=signum", "train.learning_rate=0.01", "train.sign_momentum=0.8",
                f"train.epochs={epochs}", "log.every=4", "log.checkpoint_every=0"]
        return fit_config(root / "configs" / "iris.yaml", sets, out=tmp_path / name, resume=resume)

    whole = fit("whole", 14)
    fit("split", 6)
    again = fit("split", 14, resume=True)
    assert again.cost == whole.cost
    with np.load(tmp_path / "whole" / "last.npz") as a, np.load(tmp_path / "split" / "last.npz") as b:
        assert "opt_m" in a.files and sorted(a.files) == sorted(b.files)
        assert np.any(a["opt_m"] != 0) and all(np.array_equal(a[k], b[k]) for k in a.files if k != "meta")
    assert metrics_less_seconds(tmp_path / "whole" / "metrics.csv") == metrics_less_seconds(
        tmp_path / "split" / "metrics.csv")


def test_a_registered_optimizers_key_is_an_estimator_parameter(signum, root):
    sklearn = pytest.importorskip("sklearn")
    from nettrain.data import read_table
    from nettrain.sklearn import NetClassifier

    clf = NetClassifier(hidden_layer_sizes=(6,), optimizer="signum", learning_rate=0.01, sign_momentum=0.8, epochs=20,
                        random_state=0)
    assert clf.get_params()["sign_momentum"] == 0.8 and sklearn.base.clone(clf).sign_momentum == 0.8
    assert "sign_momentum" in inspect.signature(NetClassifier).parameters
    cfg = clf.config(4, 3)
    assert cfg["train"] == {"optimizer": "signum", "learning_rate": 0.01, "sign_momentum": 0.8, "weight_decay": 0.0,
                            "epochs": 20, "tolerance": 0.0, "dtype": "float64"}
    table = read_table(root / "data" / "iris.csv", ["species"])
    clf.fit(table.X, table.y)
    J = clf.history_["cost"]
    assert clf.n_iter_ == 20 and J[-1] < J[0]
    # the steps are signum's: from the same start, every weight moved by ±α·(number of steps) at most
    start = NetClassifier(hidden_layer_sizes=(6,), optimizer="signum", epochs=0, random_state=0).fit(table.X, table.y)
    assert np.all(np.abs(clf.W_[1] - start.W_[1]) <= 20 * 0.01 + 1e-15)


def test_a_run_saved_before_a_key_was_registered_still_resumes(root, tmp_path):
    """The checkpoint's config has no sign_momentum: it takes the default, and is no difference."""
    sets = ["train.epochs=4", "log.every=2", "log.checkpoint_every=0"]
    fit_config(root / "configs" / "iris.yaml", sets, out=tmp_path / "gd")
    with optimizers.register(Signum):
        res = fit_config(root / "configs" / "iris.yaml", [*sets[1:], "train.epochs=8"], out=tmp_path / "gd",
                         resume=True)
    assert res.epoch == 8 and res.resumed_from == 4


def test_an_undone_registration_leaves_everything_as_it_was(root):
    keys, schema = optimizers.keys(), config_mod.json_schema()
    train_model = config_mod.train_model()
    with optimizers.register(Signum):
        assert "signum" in OPTIMIZERS and config_mod.train_model() is not train_model
    assert list(OPTIMIZERS) == ["gd", "momentum", "nesterov", "adam", "lbfgs"] and optimizers.keys() == keys
    assert config_mod.json_schema() == schema and config_mod.train_model() is train_model
    assert config_mod.TrainConfig is train_model
    with pytest.raises(ConfigError, match=r"=signum: must be one of gd, momentum, nesterov, adam, lbfgs \(got 'signum'\)$"):
        config_mod.load_config(root / "configs" / "iris.yaml", ["train.optimizer=signum"])
    pytest.importorskip("sklearn")
    from nettrain.sklearn import NetRegressor

    assert "sign_momentum" not in inspect.signature(NetRegressor).parameters


class Clash(FirstOrder):
    name = "clash"
    hypers = (Hyper("learning_rate", float, 0.5, "α, the step size", ge=0),)  # gd's is gt=0

    def update(self, t, theta, g, out, s, s_new) -> None:  # pragma: no cover - never registered
        np.subtract(theta, g, out)


def test_a_registration_that_cannot_be_followed_changes_nothing():
    schema = config_mod.json_schema()
    with pytest.raises(UsageError, match="optimizer 'gd' is registered already"):
        optimizers.register(type("GD2", (FirstOrder,), {"name": "gd"}))
    with pytest.raises(UsageError, match=r"optimizer clash: train.learning_rate is declared by gd too"):
        optimizers.register(Clash)
    own = type("Own", (FirstOrder,), {"name": "own", "hypers": (Hyper("epochs", int, 3, "n", ge=1),)})
    with pytest.raises(UsageError, match=r"train.epochs is one of train's own keys"):
        optimizers.register(own)  # refused by the schema, which it would break: the registry is undone
    assert list(OPTIMIZERS) == ["gd", "momentum", "nesterov", "adam", "lbfgs"]
    assert config_mod.json_schema() == schema
    with pytest.raises(UsageError, match="register"):
        OPTIMIZERS["x"] = Signum


def test_a_key_named_like_an_estimator_parameter_is_refused_when_the_estimators_are_loaded():
    pytest.importorskip("sklearn")
    import nettrain.sklearn  # noqa: F401  (its __init__s follow the registry from now on)

    odd = type("Odd", (FirstOrder,), {"name": "odd", "hypers": (Hyper("standardize", float, 1.0, "s", gt=0),)})
    with pytest.raises(UsageError, match=r"train.standardize is an estimator parameter of its own"):
        optimizers.register(odd)
    assert "odd" not in OPTIMIZERS and "standardize" not in config_mod.train_model().model_fields


# ----------------------------------------------------------------------------- a loss


def pseudo_huber(z, a, y, act):
    """Σᵢ Σₖ √(1 + (aₖ − yₖ)²) − 1: the absolute error's smooth cousin (½r² near 0, |r| far away)."""
    r = a - y
    return float(np.sum(np.sqrt(1.0 + r * r) - 1.0))


def pseudo_huber_delta(z, a, y, act, out):
    """δ = r/√(1 + r²)·f′(z), r = a − y; returns the summed cost."""
    np.subtract(a, y, out)
    root = np.sqrt(1.0 + out * out)
    cost = float(np.sum(root - 1.0))
    np.divide(out, root, out)
    out *= act.fprime(z, a)
    return cost


PSEUDO_HUBER = Loss("pseudo_huber", pseudo_huber, pseudo_huber_delta, ("identity", "sigmoid", "tanh"),
                    about="√(1 + (h − y)²) − 1 per output")


def test_a_registered_loss_trains_by_its_own_kernel_and_passes_gradcheck():
    rng = np.random.default_rng(4)
    with losses.register(PSEUDO_HUBER):
        for out in ("identity", "tanh"):
            arch = Architecture((3, 5, 2), "sigmoid", out, "pseudo_huber")
            params = init_params(arch.layers, "normal", rng, std=0.8)
            x, y = rng.normal(size=(3, 7)), rng.uniform(-0.9, 0.9, size=(2, 7))
            results = numgrad.check(arch, params, x, y, 0.1)  # Backprop's kernel against J's central differences
            assert numgrad.passed(results) and max(s.worst for s in results) < 1e-8
            c = network.cost(arch, params, x, y, 0.1)
            assert backprop(arch, params, x, y, 0.1)[0].J == pytest.approx(c.J, rel=1e-14)
            assert c.J_data == pytest.approx(pseudo_huber(None, network.predict(arch, params, x), y, None) / 7, rel=1e-14)
            squared = Architecture((3, 5, 2), "sigmoid", out, "squared_error")
            assert not np.allclose(backprop(arch, params, x, y)[1].W[1], backprop(squared, params, x, y)[1].W[1])


def test_a_registered_losss_fused_step_is_the_one_that_trains():
    made = []

    def fused(act):
        made.append(act.name)
        return losses.reference_step(PSEUDO_HUBER, act)

    own = Loss("pseudo_huber_fused", pseudo_huber, pseudo_huber_delta, ("identity",), fused)
    with losses.register(own):
        arch = Architecture((2, 3, 1), "tanh", "identity", "pseudo_huber_fused")
        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(2, 5)), rng.normal(size=(1, 5))
        params = init_params(arch.layers, "normal", rng, std=0.5)
        assert numgrad.passed(numgrad.check(arch, params, x, y, 0.0)) and "identity" in made


def test_a_registered_loss_is_a_choice_of_the_config_and_trains_a_run(root, tmp_path):
    with losses.register(PSEUDO_HUBER):
        assert config_mod.json_schema()["properties"]["loss"]["enum"] == ["squared_error", "cross_entropy",
                                                                          "pseudo_huber"]
        sets = ["loss=pseudo_huber", "train.epochs=20", "log.every=10", "log.checkpoint_every=0"]
        res = fit_config(root / "configs" / "diabetes.yaml", sets, out=tmp_path / "ph")
        assert res.epoch == 20
        rows = (tmp_path / "ph" / "metrics.csv").read_text().splitlines()[1:]
        J = [float(r.split(",")[1]) for r in rows]
        assert J[-1] < J[0]
        # explain walks one example through it: the output δ is the loss's own, beside the numerical one
        from typer.testing import CliRunner

        from nettrain.cli import app

        shown = CliRunner().invoke(app, ["explain", str(tmp_path / "ph"), "--example", "3"])
        assert shown.exit_code == 0, shown.output
        assert "δ⁽ⁿˡ⁾ = ∂loss/∂z⁽ⁿˡ⁾ (pseudo_huber)" in shown.stdout and "pseudo_huber_delta" in shown.stdout
        with pytest.raises(ConfigError, match=r"=pseudo_huber: loss pseudo_huber needs model.output_activation identity "
                                              r"or sigmoid or tanh \(got 'softmax'\): use squared_error or cross_entropy, "
                                              r"or an identity/sigmoid/tanh output$"):
            config_mod.load_config(root / "configs" / "iris.yaml", ["loss=pseudo_huber"])
    with pytest.raises(ConfigError, match=r"=pseudo_huber: must be one of squared_error, cross_entropy \(got 'pseudo_huber'\)"):
        config_mod.load_config(root / "configs" / "diabetes.yaml", ["loss=pseudo_huber"])


def test_the_shipped_losses_train_by_their_fused_steps():
    """squared_error and cross_entropy keep their fused kernels (tests/test_golden.py: the same bits)."""
    sm, sg, ident = ACTIVATIONS["softmax"], ACTIVATIONS["sigmoid"], ACTIVATIONS["identity"]
    assert losses.output_step(LOSSES["cross_entropy"], sm) is losses._cross_entropy_softmax_step
    assert losses.output_step(LOSSES["squared_error"], sm) is losses._squared_error_softmax_step
    assert losses.output_step(LOSSES["cross_entropy"], sg).__qualname__.startswith("_cross_entropy_sigmoid_step")
    assert losses.output_step(LOSSES["squared_error"], ident).__qualname__.startswith("_squared_error_step")


# ----------------------------------------------------------------------------- the README follows the registries


def readme_config_lines(root):
    text = (root / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## The config\n\n.*?```yaml\n(.*?)```", text, flags=re.S).group(1)
    return {m[0]: m[1] for m in re.findall(r"^ *([a-z_0-9]+): .*?# (.*)$", block, flags=re.M)}, text


def test_the_readme_says_what_the_optimizers_declare(root):
    """The config block's comment on each optimizer key is config.hyper_description of it, the comment on
    train.optimizer lists the registry, and the optimizer table has one row per registered optimizer."""
    comments, text = readme_config_lines(root)
    for key in optimizers.keys():
        assert comments[key] == config_mod.hyper_description(key), key
    assert comments["optimizer"].startswith(" | ".join(OPTIMIZERS) + " (")
    table = text[text.index("## Optimizers"):].split("\n\n")[2]
    assert sorted(re.findall(r"^\| `([a-z_0-9]+)` \|", table, flags=re.M)) == sorted(OPTIMIZERS)
    assert comments["loss"].startswith(" | ".join(LOSSES) + " (")
