"""The engines that add up backprop's sums over examples: the sources of sums objective.Objective is built on.

    SumsBase        what every source shares: arch, dtype, m, the gradient sums' buffer, θ in the flat layout
    Backprop        a whole split x (s_1, m), y (s_nl, m): chunks, threads, from memory or a column source
    BatchSums       a minibatch's rows, gathered into reused buffers
    Workspace       one chunk's buffers, allocated once per run
    backprop(...)   J and ∇J one-shot: a Backprop set up and called once

Each source answers objective.Source (the interface: sums, activation_sums, forward_sums); BatchSums answers
objective.BatchSource too. The equations of one chunk are network's (forward_chunk, backprop_chunk,
activation_chunk); here they are set up once per run and added up in a fixed order, so that the result
depends on the chunking alone, never on the threads. cluster.session.ClusterSums is the third SumsBase:
the same sums added up over a cluster's partitions.

Left out on purpose: the equations themselves (network.py), ÷m and λ (network.finish, through the
objective), files and printing.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import numpy as np

from . import losses
from .errors import ModelError
from .losses import OutputScratch, output_step
from .network import (Architecture, Chunk, Cost, FlatParams, Params, activation_chunk, backprop_chunk, copy_params,
                      decay_scratch, finish, flat_params, forward_chunk, zeros_like_params)
from .objective import ForwardSums, GradSums, Measure


class Kernels(NamedTuple):
    """The per-chunk functions of one architecture, dispatched once: f, f′ (None for identity: f′ = 1),
    the output step (a = f_out(z) and δ⁽ⁿˡ⁾, losses.output_step) and nl."""

    f: Callable
    fprime: Optional[Callable]
    step: Callable
    nl: int

    @classmethod
    def of(cls, arch: Architecture) -> "Kernels":
        return cls(arch.f.loop_f, None if arch.f.name == "identity" else arch.f.fprime,
                   output_step(arch.loss_fn, arch.f_out), arch.nl)


class SumsBase:
    """What every source of sums shares: the architecture and arithmetic dtype, m, the buffer the gradient
    sums go into (grad: .vec = g, .theta, .params = grads) and θ resolved to the flat layout.

    θ may be given as a FlatParams — resolved once per object to its Θ⁽ˡ⁾ and W⁽ˡ⁾ᵀ views, so that a
    training loop passing the same two buffers every step pays nothing — or as plain Params, copied into
    this source's own FlatParams on every call (their arrays may have changed in place)."""

    def __init__(self, arch: Architecture, dtype: Any) -> None:
        self.arch, self.dtype = arch, np.dtype(dtype)
        self.m = 0
        self.grad = flat_params(arch.layers, self.dtype)  # the sums (then ∇J, for Backprop.__call__)
        self.g, self.grads = self.grad.vec, self.grad.params
        self._own = flat_params(arch.layers, self.dtype)  # θ copied here when given as plain Params
        self._resolved: dict[int, tuple] = {}

    def resolve(self, params: Any) -> tuple[FlatParams, list, list]:
        """(FlatParams, [Θ⁽ˡ⁾ by layer], [W⁽ˡ⁾ᵀ by layer]) of params (index 0 unused, as layers count from 1)."""
        r = self._resolved.get(id(params))  # keyed by the object: a FlatParams passed again is found at once
        if r is not None:
            return r
        if not isinstance(params, FlatParams):  # never cached itself: its arrays may change in place
            params = copy_params(self._own, params)
            if id(params) in self._resolved:
                return self._resolved[id(params)]
        nl = self.arch.nl
        # the entry holds params itself, so its id cannot be reused while the entry exists
        self._resolved[id(params)] = r = (params, [None] + [params.theta[l] for l in range(1, nl)],
                                          [None] + [params.params.W[l].T for l in range(1, nl)])
        return r

    def flat(self, params: Any) -> FlatParams:
        """params in the flat layout (a FlatParams as it is; plain Params copied into this source's own)."""
        return self.resolve(params)[0]


# ----------------------------------------------------------------------------- the chunk loops both engines share


def _backprop_chunks(k: Kernels, theta: list, WT: list, chunks: list, g: np.ndarray,
                     delta_terms: Optional[list]) -> float:
    """backprop_chunk over the chunks in order: Σᵢ loss; each later chunk's sums added into g in chunk order."""
    f, fprime, step, nl = k
    loss_sum = 0.0
    for c in chunks:
        loss_sum += backprop_chunk(f, fprime, step, nl, theta, WT, c, delta_terms)
        if c.G_vec is not None:
            np.add(g, c.G_vec, g)  # chunk sums added in chunk order
    return loss_sum


def _activation_totals(k: Kernels, theta: list, chunks: list, outs: list, pool: Any = None, T: int = 1) -> dict:
    """{l: Σᵢ a⁽ˡ⁾} over the chunks: each chunk sums its own columns into outs[c], then the chunk sums are added
    in chunk order (with a pool, round r gives chunk r·T + k to worker k: the same bits)."""
    head = (k.f, k.nl, theta)
    if T > 1:
        for r in range(0, len(chunks), T):
            pool.run(activation_chunk, [head + (c, outs[i]) for i, c in enumerate(chunks[r : r + T], r)])
    else:
        for c, out in zip(chunks, outs):
            activation_chunk(*head, c, out)
    total = {l: outs[0][l].copy() for l in range(2, k.nl)}
    for out in outs[1:]:
        for l in total:
            np.add(total[l], out[l], total[l])  # chunk sums added in chunk order
    return total


def _activation_buffers(arch: Architecture, n: int, dtype: np.dtype) -> list:
    """One vector per chunk and hidden layer for activation_chunk to write Σᵢ a⁽ˡ⁾ into."""
    return [[None, None] + [np.empty(s, dtype) for s in arch.layers[1:-1]] + [None] for _ in range(n)]


def _forward_totals(k: Kernels, theta: list, chunks: list, measure: Optional[Measure]) -> ForwardSums:
    """forward_chunk over the chunks in order: Σᵢ loss, and measure(a⁽ⁿˡ⁾, y) of each chunk."""
    f, _, step, nl = k
    loss_sum, parts = 0.0, []
    with np.errstate(over="ignore", invalid="ignore"):  # as in the training loop
        for c in chunks:
            loss_sum += forward_chunk(f, step, nl, theta, c)
            if measure is not None:
                parts.append(measure(c.a[nl], c.y))
    return ForwardSums(loss_sum, parts)


def _listed(d: dict, nl: int) -> list:
    return [d.get(l) for l in range(nl + 1)]


# ----------------------------------------------------------------------------- buffers


def _augmented(s: int, w: int, dtype: type) -> np.ndarray:
    """An (1 + s, w) array for [1; a]: row 0 is ones, rows 1… are left for a."""
    buf = np.empty((1 + s, w), dtype)
    buf[0] = 1.0
    return buf


class Workspace:
    """Buffers for one chunk of up to `width` examples, allocated once and reused every epoch.

    Per layer δ⁽ˡ⁾; a⁽ˡ⁾ inside [1; a⁽ˡ⁾] (FlatParams) for the hidden layers, where z⁽ˡ⁾ is computed
    and f applied in place (half the memory traffic; f′ is computed from a); z and a of the output
    layer (the same buffer for an identity output); one f′ buffer
    shared by the hidden layers (each f′ is used at once); [1; x] for input columns read every
    epoch (a memory map); the output step's scratch; and G, the chunk's sums δ⁽ˡ⁺¹⁾[1; a⁽ˡ⁾]ᵀ
    (laid out as flat_params). Touching freshly allocated memory is slow: a training run makes
    these once per worker. z⁽ⁿˡ⁾, δ, f′ are flat, so a narrower last chunk gets contiguous (s_l, w)
    views of the same memory; [1; a] buffers are made per chunk width (the ones row must stay put).
    """

    def __init__(self, arch: Architecture, width: int, dtype: type = np.float64) -> None:
        self.arch, self.width, self.dtype = arch, int(width), np.dtype(dtype)
        s, nl, width = arch.layers, arch.nl, self.width
        self._z = {nl: np.empty(s[-1] * width, dtype)}  # a hidden layer's z is written into its a (below)
        self._delta = {l: np.empty(s[l - 1] * width, dtype) for l in range(2, nl + 1)}
        self._fp = np.empty(max(s[1:-1], default=0) * width, dtype)
        self._out = np.empty(s[-1] * width, dtype) if arch.f_out.name != "identity" else None
        self.scratch = OutputScratch(s[-1], width, dtype)
        self.G = flat_params(s, dtype)
        self._views: dict[int, dict] = {}

    def views(self, w: int) -> dict:
        """Views for a chunk of w ≤ width examples, keyed by name and then by layer l:
        z, a, aug ([1; a], hidden layers), delta, fp, x_aug (a [1; x] buffer), scratch."""
        if w not in self._views:
            s, nl, dt = self.arch.layers, self.arch.nl, self.dtype

            def shaped(bufs):
                return {l: buf[: s[l - 1] * w].reshape(s[l - 1], w) for l, buf in bufs.items()}

            z, delta = shaped(self._z), shaped(self._delta)
            aug = {l: _augmented(s[l - 1], w, dt) for l in range(2, nl)}
            a = {l: aug[l][1:] for l in aug}
            for l in range(2, nl):
                # hidden layers: z⁽ˡ⁾ is computed where a⁽ˡ⁾ goes and f is applied in place — f′ needs
                # a alone: σ′ = a(1 − a), tanh′ = 1 − a², relu′ = [a > 0] = [z > 0], identity′ = 1
                z[l] = a[l]
            a[nl] = z[nl] if self._out is None else self._out[: s[-1] * w].reshape(s[-1], w)
            fp = {l: self._fp[: s[l - 1] * w].reshape(s[l - 1], w) for l in range(2, nl)}
            self._views[w] = {"z": z, "a": a, "aug": aug, "delta": delta, "fp": fp, "x_aug": None,
                              "scratch": self.scratch.view(w)}
        return self._views[w]

    def x_buffer(self, w: int) -> np.ndarray:
        """[1; x] for a chunk of w examples whose columns are read every epoch."""
        v = self.views(w)
        if v["x_aug"] is None:
            v["x_aug"] = _augmented(self.arch.layers[0], w, self.dtype)
        return v["x_aug"]

    def y_buffer(self, w: int) -> np.ndarray:
        """y (s_nl, w) for a chunk of w examples whose targets are read every epoch (a column source)."""
        v = self.views(w)
        if v.get("y") is None:
            v["y"] = np.empty((self.arch.layers[-1], w), self.dtype)
        return v["y"]


class _Loader:
    """A chunk's loader: reads columns s…e−1 of the column source x into xbuf ([1; x]'s rows below the ones) and,
    when y is one too, of y into ybuf; one small object per chunk (the buffers are the workspace's, shared)."""

    __slots__ = ("x", "y", "s", "e", "xbuf", "ybuf")

    def __init__(self, x: Any, y: Any, s: int, e: int, xbuf: Optional[np.ndarray], ybuf: Optional[np.ndarray]) -> None:
        self.x, self.y, self.s, self.e, self.xbuf, self.ybuf = x, y, s, e, xbuf, ybuf

    def __call__(self) -> None:
        if self.x is not None:
            self.x.read(self.s, self.e, self.xbuf)
        if self.y is not None:
            self.y.read(self.s, self.e, self.ybuf)


def _uses_target_sums(arch: Architecture) -> bool:
    """Whether the output step reads Σₖ yₖ per example (losses.target_sums): softmax with cross-entropy
    alone, and only for targets that are not one-hot. Other pairs never read it: a split read from disk
    then keeps nothing of size m for it."""
    return arch.loss == "cross_entropy" and arch.output_activation == "softmax"


# ----------------------------------------------------------------------------- the engines


class Backprop(SumsBase):
    """J(θ) and ∇J(θ) over one set of examples x (s_1, m), y (s_nl, m), set up once, evaluated per epoch.

    Everything that does not change between epochs is resolved here: chunk boundaries, every
    buffer view, the transposed views, the loss/activation dispatch, y in the arithmetic dtype,
    and x as [1; x] blocks (FlatParams: the bias rides inside the products).

    The sum over examples is taken chunk by chunk, chunk c holding columns [c·width, (c+1)·width):
    chunk 0 writes its sums straight into the gradient, every later chunk into its worker's G,
    which is then added to the gradient in chunk order. So the result depends on `width` alone,
    bit for bit — never on how many pool workers computed it. With a pool the chunks are dealt out
    round-robin to its workers (parallel.Pool: numpy releases the GIL in BLAS and in elementwise
    loops, so both the products and the elementwise work run on every core; BLAS then runs one
    thread each, as parallel.for_training arranges).

    x may be an array — copied once into [1; x] blocks, one per chunk, in the arithmetic dtype (one
    more copy of x for the run) — or a column source with .shape (s_1, m) and .read(start, stop,
    out) that writes columns start…stop−1 into out, called for every chunk every epoch (a memory-
    mapped file read chunk by chunk: memory stays bounded by the chunk, whatever m is). y likewise:
    an array, or a column source of the encoded targets (s_nl, m) read with x every epoch.
    Call it inside np.errstate(over="ignore"): sigmoid's exp(−z) may overflow harmlessly, and the
    loop silences that once rather than on every call.
    """

    def __init__(
        self,
        arch: Architecture,
        x: Any,
        y: Any,
        lam: float,
        dtype: type = np.float64,
        width: Optional[int] = None,
        pool: Any = None,
        workspaces: Optional[list] = None,
    ) -> None:
        super().__init__(arch, dtype)
        self.lam = float(lam)
        self.m = m = int(x.shape[1])
        if m < 1:
            raise ModelError("backprop needs at least one example (x has no columns)")
        width = m if not width else max(1, min(int(width), m))
        bounds = [(s, min(s + width, m)) for s in range(0, m, width)]
        self.pool = pool
        self.threads = 1 if pool is None else max(1, min(pool.size, len(bounds)))
        if workspaces is None:
            workspaces = [Workspace(arch, width, self.dtype) for _ in range(self.threads)]
        self.workspaces = workspaces
        self._decay = decay_scratch(arch.layers, self.lam, self.dtype)
        self._k = Kernels.of(arch)
        self._shared: dict = {}  # the views chunks share (_views, _listed)
        self.chunks = [self._chunk(c, s, e, x, y) for c, (s, e) in enumerate(bounds)]
        self._asums: Optional[list] = None  # activation_sums' per-chunk vectors, made when first asked for

    def _chunk(self, c: int, s: int, e: int, x: Any, y: Any) -> Chunk:
        ws = self.workspaces[c % len(self.workspaces)]
        if isinstance(x, np.ndarray):  # [1; x] for this chunk, made once
            x_aug = _augmented(x.shape[0], e - s, self.dtype)
            np.copyto(x_aug[1:], x[:, s:e], casting="unsafe")
        else:  # a column source: read into the workspace's [1; x] every epoch
            x_aug = ws.x_buffer(e - s)
        views = self._views(ws, e - s, x_aug)
        if isinstance(y, np.ndarray):
            yc = np.ascontiguousarray(y[:, s:e], dtype=self.dtype)
            ysum = losses.target_sums(yc)
        else:  # targets as a column source too: read with x every epoch; memory bounded by the chunk
            yc = ws.y_buffer(e - s)
            ysum = losses.target_sums(y.read(s, e, yc)) if _uses_target_sums(self.arch) else None
            ysum = None if ysum is None else ysum.copy()  # None for one-hot targets: nothing kept
        xs, ys = (None, None) if isinstance(x, np.ndarray) else (x, views[1][1]), (None, None) if isinstance(
            y, np.ndarray) else (y, yc)
        load = None if xs[0] is None and ys[0] is None else _Loader(xs[0], ys[0], s, e, xs[1], ys[1])
        out = self.grad if c == 0 else ws.G
        return Chunk(load, *views, yc, ysum, ws.views(e - s)["scratch"], self._listed(out),
                     None if c == 0 else ws.G.vec)

    def _views(self, ws: Workspace, w: int, x_aug: np.ndarray) -> tuple:
        """z, a, [1; a], [1; a]ᵀ, δ and f′ by layer for a chunk of w examples of workspace ws whose [1; x] is x_aug:
        made once and shared by every chunk they serve (a column source's chunks all read into the same
        [1; x]: their bookkeeping does not grow with the number of chunks)."""
        key = (id(ws), w, id(x_aug))
        if key not in self._shared:
            nl, v = self.arch.nl, ws.views(w)
            aug, a = {**v["aug"], 1: x_aug}, {**v["a"], 1: x_aug[1:]}
            self._shared[key] = (_listed(v["z"], nl), _listed(a, nl), _listed(aug, nl),
                                 [None] + [aug[l].T for l in range(1, nl)], _listed(v["delta"], nl),
                                 _listed(v["fp"], nl), x_aug)  # x_aug kept: its id stays its own
        return self._shared[key][:6]

    def _listed(self, out: FlatParams) -> list:
        """out.theta by layer (where a chunk's sums go), one list per buffer."""
        if id(out) not in self._shared:
            self._shared[id(out)] = (_listed(out.theta, self.arch.nl), out)
        return self._shared[id(out)][0]

    def sums(self, params: Any, delta_terms: Optional[list] = None) -> GradSums:
        """Σᵢ loss and [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ] (into self.g, not yet divided by m: finish() does that, once,
        for every source) at params; delta_terms as objective.Source.sums."""
        fp, theta, WT = self._resolved.get(id(params)) or self.resolve(params)
        if self.threads > 1:
            return GradSums(self._run_threads(theta, WT, delta_terms), self.g, fp)
        return GradSums(_backprop_chunks(self._k, theta, WT, self.chunks, self.g, delta_terms), self.g, fp)

    def _run_threads(self, theta: list, WT: list, delta_terms: Optional[list] = None) -> float:
        """Round r gives chunk r·T + k to worker k of the pool (worker 0 is this thread)."""
        T, chunks, g, run = self.threads, self.chunks, self.g, self.pool.run
        head = (*self._k, theta, WT)  # f, f′, step, nl, Θ, Wᵀ
        loss_sum = 0.0
        for r in range(0, len(chunks), T):
            batch = chunks[r : r + T]
            for c, loss in zip(batch, run(backprop_chunk, [head + (c, delta_terms) for c in batch])):
                loss_sum += loss
                if c.G_vec is not None:
                    np.add(g, c.G_vec, g)  # chunk sums added in chunk order
        return loss_sum

    def activation_sums(self, params: Any) -> dict[int, np.ndarray]:
        """{l: Σᵢ aᵢ⁽ˡ⁾} over all m examples for each hidden layer l = 2 … nl−1 (vectors of length s_l):
        the additive first pass of the sparsity penalty (ρ̂ = Σᵢ a⁽ˡ⁾ / m). Each chunk sums its own
        columns; the chunk sums are added in chunk order, so the result depends on `width` alone."""
        _, theta, _ = self._resolved.get(id(params)) or self.resolve(params)
        if self._asums is None:  # made at the first call
            self._asums = _activation_buffers(self.arch, len(self.chunks), self.dtype)
        return _activation_totals(self._k, theta, self.chunks, self._asums, self.pool, self.threads)

    def forward_sums(self, params: Any, measure: Optional[Measure] = None) -> ForwardSums:
        """The forward half chunk by chunk, in chunk order: Σᵢ loss (summed over the same chunks in the same
        order as sums(), so J_data equals its J_data to the last bit) and measure(h, y) of each chunk, h and y
        views of the chunk's buffers (memory bounded by the chunk: the metrics of a split read from disk)."""
        _, theta, _ = self._resolved.get(id(params)) or self.resolve(params)
        return _forward_totals(self._k, theta, self.chunks, measure)

    def __call__(self, params: Any) -> Cost:
        """J(θ) at params (FlatParams, or Params copied into FlatParams); ∇J(θ) into self.grad."""
        s = self.sums(params)
        return finish(s.loss, s.G, self.m, self.lam, s.theta, self.g, self._decay)

    def close(self) -> None:
        """Nothing to release (the pool belongs to the caller); kept for use with `with`."""

    def __enter__(self) -> "Backprop":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class BatchSums(SumsBase):
    """The additive sums of backprop over a chosen subset of the examples: a minibatch.

    X (m, s_1) holds the examples as rows (the files' layout), Y (s_nl, m) the targets as columns.
    [1; x] is kept as rows, Xa = [1 | X] of shape (m, 1 + s_1), so that a batch is gathered with one
    row copy per example into a reused buffer; the products take it transposed (Θ⁽¹⁾[1; x] = Θ⁽¹⁾Xaᵀ,
    δ⁽²⁾[1; x]ᵀ = δ⁽²⁾Xa: BLAS reads either layout). select(idx) gathers; sums(θ) is backprop over them.
    """

    def __init__(self, arch: Architecture, X: np.ndarray, Y: np.ndarray, batch_size: int,
                 dtype: type = np.float64) -> None:
        super().__init__(arch, dtype)
        m = int(X.shape[0])
        self.Xa = np.empty((m, 1 + arch.layers[0]), self.dtype)
        self.Xa[:, 0] = 1.0
        np.copyto(self.Xa[:, 1:], X, casting="unsafe")
        self.Y = np.ascontiguousarray(Y, dtype=self.dtype)
        self._ysum = losses.target_sums(self.Y)  # None: every target sums to 1 (one-hot)
        self.batch_size = max(1, min(int(batch_size), m))
        self.ws = Workspace(arch, self.batch_size, self.dtype)
        self._k = Kernels.of(arch)
        self._by_width: dict[int, tuple] = {}
        self._cur: list = []  # the current batch's one Chunk
        self._asums = _activation_buffers(arch, 1, self.dtype)

    def _for_width(self, w: int) -> tuple:
        if w not in self._by_width:
            nl, v = self.arch.nl, self.ws.views(w)
            xbuf = np.empty((w, 1 + self.arch.layers[0]), self.dtype)
            ybuf = np.empty((self.arch.layers[-1], w), self.dtype)
            ysum = None if self._ysum is None else np.empty(w, self.dtype)
            aug, a = dict(v["aug"]), dict(v["a"])
            aug[1] = xbuf.T  # [1; x] as the transpose of the gathered rows
            a[1] = aug[1][1:]
            augT = [None, xbuf] + [aug[l].T for l in range(2, nl)]
            chunk = Chunk(None, _listed(v["z"], nl), _listed(a, nl), _listed(aug, nl), augT, _listed(v["delta"], nl),
                          _listed(v["fp"], nl), ybuf, ysum, v["scratch"], _listed(self.grad.theta, nl), None)
            self._by_width[w] = (chunk, xbuf, ybuf, ysum)
        return self._by_width[w]

    def select(self, idx: np.ndarray) -> None:
        """Make the examples idx (row numbers, each in range(m)) the current batch."""
        chunk, xbuf, ybuf, ysum = self._for_width(len(idx))
        # mode="clip": idx comes from a permutation of range(m), always in range; the default "raise"
        # gathers into a temporary before copying to out, twice the time of a large batch's gather
        np.take(self.Xa, idx, axis=0, out=xbuf, mode="clip")
        np.take(self.Y, idx, axis=1, out=ybuf, mode="clip")
        if ysum is not None:
            np.take(self._ysum, idx, out=ysum, mode="clip")
        self._cur, self.m = [chunk], len(idx)

    def sums(self, params: Any, delta_terms: Optional[list] = None) -> GradSums:
        """Σᵢ loss over the current batch; its [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ] into self.g (delta_terms as Backprop.sums)."""
        fp, theta, WT = self._resolved.get(id(params)) or self.resolve(params)
        return GradSums(_backprop_chunks(self._k, theta, WT, self._cur, self.g, delta_terms), self.g, fp)

    def activation_sums(self, params: Any) -> dict[int, np.ndarray]:
        """{l: Σᵢ aᵢ⁽ˡ⁾} over the current batch for each hidden layer (as Backprop.activation_sums):
        with a sparsity penalty, a minibatch step's ρ̂ is its batch's mean activation."""
        _, theta, _ = self._resolved.get(id(params)) or self.resolve(params)
        return _activation_totals(self._k, theta, self._cur, self._asums)

    def forward_sums(self, params: Any, measure: Optional[Measure] = None) -> ForwardSums:
        """The forward half over the current batch (as Backprop.forward_sums)."""
        _, theta, _ = self._resolved.get(id(params)) or self.resolve(params)
        return _forward_totals(self._k, theta, self._cur, measure)


def backprop(
    arch: Architecture,
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    lam: float = 0.0,
    ws: Optional[Workspace] = None,
    grads: Optional[Params] = None,
) -> tuple[Cost, Params]:
    """J and its gradient (∂J/∂W⁽ˡ⁾, ∂J/∂b⁽ˡ⁾) over the m columns of x (s_1, m), y (s_nl, m).

        δ⁽ⁿˡ⁾ = ∂loss/∂z⁽ⁿˡ⁾                      (losses.py: −(y − a)·f′(z) for squared error)
        δ⁽ˡ⁾  = ((W⁽ˡ⁾)ᵀ δ⁽ˡ⁺¹⁾) · f′(z⁽ˡ⁾)         for l = nl−1, …, 2
        ∂J/∂W⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾ (a⁽ˡ⁾)ᵀ + λ W⁽ˡ⁾
        ∂J/∂b⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾

    The sum over examples i is a matrix product over the columns. With a workspace narrower
    than m, it is taken chunk by chunk (memory O(width · Σ s_l) instead of O(m · Σ s_l)); the
    result is the same full-batch gradient. `grads`, when given, is overwritten and returned.
    A training run sets this up once instead (Backprop); this is the same computation, one-shot.
    """
    dtype = params.W[1].dtype
    bp = Backprop(arch, x, y, lam, dtype, width=ws.width if ws is not None else None,
                  workspaces=[ws] if ws is not None else None)
    with np.errstate(over="ignore"):  # sigmoid's exp(−z) overflows harmlessly for z < −709
        c = bp(params)
    if grads is None:
        grads = zeros_like_params(params)
    for l in grads.W:
        np.copyto(grads.W[l], bp.grads.W[l])
        np.copyto(grads.b[l], bp.grads.b[l])
    return c, grads
