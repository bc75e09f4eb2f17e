"""The engines of sums: Backprop (chunks, threads, column sources), BatchSums (a minibatch's rows), the one-shot
backprop — each the same sums as the full-batch equations — and the interface every source answers."""

import numpy as np
import pytest

from nettrain import network
from nettrain.network import Params, cost
from nettrain.objective import BatchSource, ForwardSums, GradSums, Source
from nettrain.sums import Backprop, BatchSums, SumsBase, Workspace, backprop

from .test_network import PAIRS, _Columns, _random_problem


def test_every_engine_answers_the_source_interface():
    rng = np.random.default_rng(0)
    arch, params, x, y = _random_problem(rng, (3, 4, 2), "sigmoid", "sigmoid", "cross_entropy", 9)
    bp, batch = Backprop(arch, x, y, 0.0, width=4), BatchSums(arch, x.T, y, 5)
    assert isinstance(bp, Source) and isinstance(bp, SumsBase) and not isinstance(bp, BatchSource)
    assert isinstance(batch, BatchSource) and isinstance(batch, SumsBase)
    batch.select(np.array([4, 0, 7]))
    for src, cols in ((bp, slice(None)), (batch, [4, 0, 7])):
        with np.errstate(over="ignore"):
            s = src.sums(params)
        assert isinstance(s, GradSums) and s.G is src.g and s.theta is src.flat(params)
        want, _ = backprop(arch, params, x[:, cols], y[:, cols], 0.0)
        assert s.loss / src.m == pytest.approx(want.J_data, rel=1e-14)
        fs = src.forward_sums(params)
        assert isinstance(fs, ForwardSums) and fs.loss == s.loss and fs.parts == []
        np.testing.assert_allclose(src.activation_sums(params)[2],
                                   network.forward(arch, params, x[:, cols])[1][2].sum(axis=1), rtol=1e-13)


def test_a_flat_theta_is_resolved_once_and_plain_params_every_call():
    rng = np.random.default_rng(1)
    arch, params, x, y = _random_problem(rng, (3, 4, 2), "tanh", "identity", "squared_error", 6)
    bp = Backprop(arch, x, y, 0.0)
    fp = network.copy_params(network.flat_params(arch.layers), params)
    assert bp.resolve(fp) is bp.resolve(fp) and bp.flat(fp) is fp
    assert bp.flat(params) is bp.flat(params) is not fp  # copied into the source's own FlatParams
    params.W[1][0, 0] += 1.0
    assert bp.flat(params).params.W[1][0, 0] == params.W[1][0, 0]  # copied again: the change is seen


@pytest.mark.parametrize("width", [1, 3, 7, 10, 64])
def test_chunked_gradient_equals_full_batch(width):
    rng = np.random.default_rng(11)
    arch, params, x, y = _random_problem(rng, (5, 8, 4), "sigmoid", "softmax", "cross_entropy", 23)
    c_full, g_full = backprop(arch, params, x, y, 0.01)
    ws = Workspace(arch, width, np.float64)
    for _ in range(2):  # the workspace is reused: the second call must not see the first's numbers
        c, g = backprop(arch, params, x, y, 0.01, ws)
        assert c.J == pytest.approx(c_full.J, rel=1e-14)
        for l in params.W:
            np.testing.assert_allclose(g.W[l], g_full.W[l], rtol=1e-13, atol=1e-16)
            np.testing.assert_allclose(g.b[l], g_full.b[l], rtol=1e-13, atol=1e-16)
    assert cost(arch, params, x, y, 0.01, chunk_size=width).J == pytest.approx(c_full.J, rel=1e-14)



HIDDEN = ["sigmoid", "tanh", "relu", "identity"]


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("act", HIDDEN)
def test_chunked_gradient_equals_full_batch_for_every_pair(pair, act):
    """Σ over chunks = the full-batch sum, for every loss/output pair and hidden f, 2 hidden layers."""
    loss, out = pair
    rng = np.random.default_rng(hash((loss, out, act)) % 2**32)
    arch, params, x, y = _random_problem(rng, (4, 6, 5, 3), act, out, loss, 29)
    c_full, g_full = backprop(arch, params, x, y, 0.02)
    for width in (1, 4, 10, 28):
        c, g = backprop(arch, params, x, y, 0.02, Workspace(arch, width, np.float64))
        assert c.J == pytest.approx(c_full.J, rel=1e-13)
        for l in params.W:
            np.testing.assert_allclose(g.W[l], g_full.W[l], rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(g.b[l], g_full.b[l], rtol=1e-12, atol=1e-15)



def test_backprop_object_sees_params_changed_in_place():
    """Plain Params are copied on every call (never cached), FlatParams are used where they are."""
    rng = np.random.default_rng(3)
    arch, params, x, y = _random_problem(rng, (3, 5, 2), "tanh", "identity", "squared_error", 11)
    bp = Backprop(arch, x, y, 0.1)
    with np.errstate(over="ignore"):
        c1 = bp(params)
        params.W[1][0, 0] += 0.5
        c2 = bp(params)
        fp = network.copy_params(network.flat_params(arch.layers), params)
        c3 = bp(fp)
        fp.params.W[1][0, 0] -= 0.5
        c4 = bp(fp)
    assert c2.J != c1.J and c3.J == c2.J and c4.J == pytest.approx(c1.J, rel=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_column_source_gives_the_same_bits_as_an_array(dtype):
    rng = np.random.default_rng(4)
    arch, params, x, y = _random_problem(rng, (5, 7, 3), "sigmoid", "softmax", "cross_entropy", 37)
    p = Params({l: w.astype(dtype) for l, w in params.W.items()}, {l: v.astype(dtype) for l, v in params.b.items()})
    src = _Columns(x)  # float64 columns, converted per chunk like a float64 .npy trained in float32
    for width in (37, 8):
        a = Backprop(arch, x.astype(dtype), y, 0.01, dtype, width)
        b = Backprop(arch, src, y, 0.01, dtype, width)
        with np.errstate(over="ignore"):
            ca, cb = a(p), b(p)
        assert ca == cb
        np.testing.assert_array_equal(a.g, b.g)
        assert a.g.dtype == dtype
    assert src.reads == 1 + 5  # every chunk is read every evaluation


class _SerialPool:
    """A Pool stand-in that runs the jobs one after the other in reverse order (order must not matter)."""

    size = 3

    def run(self, fn, args):
        return list(reversed([fn(*a) for a in reversed(args)]))


def test_threads_change_no_bit_of_the_gradient():
    from nettrain.parallel import Pool

    rng = np.random.default_rng(5)
    arch, params, x, y = _random_problem(rng, (6, 9, 4), "sigmoid", "softmax", "cross_entropy", 50)
    one = Backprop(arch, x, y, 0.01, np.float64, 7)
    with np.errstate(over="ignore"), Pool(2) as pool:
        c1 = one(params)
        for p in (pool, _SerialPool()):
            many = Backprop(arch, x, y, 0.01, np.float64, 7, p)
            assert many.threads == p.size and len(many.workspaces) == p.size
            assert many(params) == c1
            np.testing.assert_array_equal(many.g, one.g)



@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("width", [None, 3])
def test_forward_sums_is_the_forward_half_of_backprop(pair, width):
    """Backprop.forward_sums: Σ loss equal to the backprop pass's to the last bit (same chunks, same order),
    measure(h, y) of each chunk in chunk order (h = predict, y the targets), for arrays and column sources."""
    loss, out = pair
    rng = np.random.default_rng(11)
    arch, params, x, y = _random_problem(rng, (3, 5, 4 if out == "softmax" else 2), "tanh", out, loss, 10)
    want_h = network.predict(arch, params, x)
    for source in (x, _Columns(x)):
        bp = Backprop(arch, source, y, 0.3, width=width)
        fs = bp.forward_sums(params, lambda h, yc: (h.copy(), yc.copy()))
        with np.errstate(over="ignore"):
            full = bp(params)
        assert fs.loss / bp.m == full.J_data and fs.loss == bp.sums(params).loss
        assert len(fs.parts) == len(bp.chunks) == (1 if width is None else 4)
        np.testing.assert_allclose(np.hstack([h for h, _ in fs.parts]), want_h, rtol=1e-13, atol=1e-15)
        np.testing.assert_array_equal(np.hstack([yc for _, yc in fs.parts]), y)
        assert fs.loss / bp.m == pytest.approx(cost(arch, params, x, y).J_data, rel=1e-13)
        assert bp.forward_sums(params).parts == []


class _Float32Only:
    """A stand-in for the numpy module that fails on any float64 operand: a float64 array, or a numpy
    float64 scalar (NumPy 2 promotes float32 with those to float64 silently; Python floats stay weak)."""

    def __init__(self, real):
        self._real = real

    @staticmethod
    def _check(name, args):
        for v in args:
            if isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind == "f":
                assert v.dtype == np.float32, f"np.{name} got a {v.dtype} operand"

    def __getattr__(self, name):
        real = getattr(self._real, name)
        if isinstance(real, np.ufunc):
            return _Float32Ufunc(real, self._check)
        if callable(real) and name in ("dot", "vdot", "copyto", "sum", "max"):
            def checked(*args, **kw):
                self._check(name, list(args) + list(kw.values()))
                return real(*args, **kw)
            return checked
        return real


class _Float32Ufunc:
    def __init__(self, uf, check):
        self._uf, self._checkfn = uf, check

    def __call__(self, *args, **kw):
        self._checkfn(self._uf.__name__, list(args) + list(kw.values()))
        return self._uf(*args, **kw)

    def reduce(self, *args, **kw):
        self._checkfn(self._uf.__name__ + ".reduce", list(args) + list(kw.values()))
        return self._uf.reduce(*args, **kw)


@pytest.mark.parametrize("pair", PAIRS)
def test_float32_loop_meets_no_float64_operand(pair, monkeypatch):
    from nettrain import activations, losses, sums

    loss, out = pair
    rng = np.random.default_rng(10)
    arch, p64, x, y = _random_problem(rng, (4, 6, 5, 3), "sigmoid", out, loss, 3000)  # ≥ 2048 outputs: both branches
    f32 = np.float32
    fp = network.copy_params(network.flat_params(arch.layers, f32), p64)
    bp = Backprop(arch, x, y, np.float64(0.01), f32, 1000)  # float64 data, λ as a numpy float64
    spy = _Float32Only(np)
    for module in (network, sums, losses, activations):
        monkeypatch.setattr(module, "np", spy)
    with np.errstate(over="ignore"):
        c = bp(fp)
    monkeypatch.undo()
    assert bp.g.dtype == f32 and np.isfinite(c.J)
