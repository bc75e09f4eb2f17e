"""The client side of a cluster run: the connection, the partitions held on the workers, the sums source.

    Session.open(cfg.cluster)    a LocalCluster of `workers` processes, or a Client of tcp://host:port
    ClusterRows(session, cfg)    the config's data for problem.load_problem's one preparation path (data.Rows):
                                 the label set and every sum from the workers; sources(): every split held
                                 on them, this process holding no row
    ClusterSums                  a source of additive sums (objective.Source), as sums.Backprop is

One step (ClusterSums.sums) is one round trip: θ is scattered once (to one worker; every other worker that
needs it fetches it from a worker that has it, as Dask moves any dependency), one task per partition computes
that partition's sums against the partition kept in the worker's memory since the start (a future the client
holds for the whole run), and the client gathers the P results and adds them in partition order. The task
graph of a step has P + 1 keys, whatever m is; nothing of the data travels. (θ is not broadcast: with
scatter(broadcast=True) a worker lost during the step left the scheduler retrying its replication to the dead
address every 30 s, and the step hung instead of failing.)

Faults. A worker that dies takes its partitions with it: Dask recomputes them from their recipe (the worker
that takes them over reads the rows from the file), but a scattered θ is not recomputed, so the step under way
fails; it is retried whole (θ scattered again, every partition's sums asked again) up to RETRIES times, and
its result is the same bits as an undisturbed step's (the same partitions, added in the same order). A lost
scheduler ends the run with a ClusterError naming its address (trainer.fit adds the command that resumes from
last.npz): at once when the client's own connection to it closes (a killed scheduler, a broken network; Dask then
cancels every future the client holds, the partitions' too), and at most BEAT + PING_TIMEOUT seconds after it
stops answering with its connections open (SIGSTOP, a frozen machine): every blocking call to the client is
waited for in slices, pinging the scheduler between them (Session._waited). What Dask logs about these faults
itself is held back while the session is open (quiet.py, by open_session).

Left out on purpose: what the numbers mean (partitions.py, network.finish), files and printing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import functools
import logging
import time
import uuid
from concurrent.futures import CancelledError
from typing import Any, Awaitable, Callable, Optional, Sequence

import numpy as np
from distributed import Client, KilledWorker, LocalCluster

from .. import data as data_mod
from ..errors import ClusterError, NettrainError
from ..objective import ForwardSums, GradSums, Measure
from ..sums import SumsBase
from . import partitions as pt

CONNECT_TIMEOUT = 5.0  # seconds to reach a scheduler before the run is refused
PING_TIMEOUT = 5.0  # seconds a scheduler may take to answer (after a failed step, or during a long one) before it
# counts as lost
BEAT = 2.0  # seconds a step waits before asking whether the scheduler still answers (and again every BEAT seconds)
POLL = 0.05  # seconds between two looks at the client's own connection to the scheduler while a step waits
WAIT_FOR_WORKERS = 30.0  # seconds to wait for a worker when none is left (a restarted one, a new one)
RETRIES = 3  # times one step is retried after losing workers before the run ends
# What a lost worker or connection raises from scatter/gather. Anything else a task raises (a DataError while
# reading, a bug) is its own error and is raised at once, not retried.
LOST = (OSError, TimeoutError, CancelledError, KilledWorker)
log = logging.getLogger("nettrain.cluster")


class Session:
    """A Dask client, and the LocalCluster it started (None for a running scheduler's address)."""

    def __init__(self, client: Client, cluster: Optional[LocalCluster], address: str) -> None:
        self.client, self.cluster, self.address = client, cluster, address

    @classmethod
    def open(cls, cfg: Any) -> "Session":
        if cfg.address == "local":
            from ..parallel import cores

            n = cfg.workers or cores()
            try:
                # no dashboard; the scheduler's HTTP server (always started) on a free port, not on 8787: with
                # 8787 taken (another cluster, another local run) Dask warns on the terminal
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                       silence_logs=logging.ERROR)
            except Exception as e:
                raise ClusterError(_one_line(f"cannot start a local Dask cluster of {n} workers: {e}")) from None
            return cls(Client(cluster), cluster, "local")
        try:
            client = Client(cfg.address, timeout=f"{CONNECT_TIMEOUT}s")
        except (OSError, TimeoutError) as e:
            raise ClusterError(f"cluster.address {cfg.address} does not answer (after {CONNECT_TIMEOUT:g} s: "
                               f"{type(e).__name__}): start the scheduler with `dask scheduler` and workers with "
                               f"`dask worker {cfg.address}`, or fix cluster.address") from None
        session = cls(client, None, cfg.address)
        try:
            session._waited(lambda: client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS), "the wait for a worker")
        except (OSError, TimeoutError):
            session.close()
            raise ClusterError(f"the scheduler at {cfg.address} has no workers (waited {WAIT_FOR_WORKERS:g} s): start "
                               f"some with `dask worker {cfg.address}`") from None
        except ClusterError:
            session.close()
            raise
        return session

    def workers(self) -> list[str]:
        """The workers' addresses, sorted; a ClusterError when the scheduler does not answer in PING_TIMEOUT."""
        try:
            info = self.client.sync(self.client.scheduler.identity, callback_timeout=PING_TIMEOUT)
        except LOST:
            why = "its connection closed" if self.client.status != "running" else f"no answer within {PING_TIMEOUT:g} s"
            raise ClusterError(f"lost the scheduler at {self._where()} ({why})") from None
        return sorted(info.get("workers", {}))

    def close(self) -> None:
        """Close the client, and the local cluster when this session started it; quietly: the scheduler
        may be gone already."""
        for thing in (self.client, self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # a lost scheduler: nothing left to close cleanly
                    pass

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- one round trip, retried whole after a lost worker

    def each(self, fn: Callable, items: Sequence[Any], theta: Optional[np.ndarray] = None) -> list:
        """[fn(item) or fn(item, θ) for item in items], computed on the workers, in items' order.

        items: partitions' futures or plain arguments. θ, when given, is scattered once and passed to every
        task (a worker fetches it once, however many partitions it holds).
        """
        client = self.client
        for attempt in range(RETRIES + 1):
            try:
                scattered = () if theta is None else (self._waited(lambda: client.scatter(theta, hash=False)),)
                futures = [client.submit(fn, item, *scattered, pure=False) for item in items]
                return self._waited(functools.partial(client.gather, futures))
            except NettrainError:
                raise
            except LOST as e:
                self._recover(e, attempt)
                log.warning("a step was retried after losing a worker at %s (%s)", self._where(), _one_line(e))
        raise AssertionError("unreachable")  # _recover raises on the last attempt

    def _waited(self, call: Callable[[], Awaitable], during: str = "a step") -> Any:
        """The result of call() — a blocking method of the client (scatter, gather, wait_for_workers), called on
        the client's event loop, where it returns its coroutine — or a ClusterError once the scheduler is lost.

        A step takes as long as its sums do, but it may never end by itself: a killed scheduler leaves a gather
        retrying its connection, and one that stops answering (SIGSTOP, a frozen machine) keeps its connections
        open. So while call() runs, the client's own connection to the scheduler must stay open (looked at every
        POLL seconds), and every BEAT seconds the scheduler must answer a ping within PING_TIMEOUT: a stopped
        scheduler ends the run at most BEAT + PING_TIMEOUT seconds after it stopped.
        """
        pending = self._on_loop(call)
        ping_at = time.monotonic() + BEAT
        while True:
            try:
                return pending.result(timeout=POLL)
            except concurrent.futures.TimeoutError:
                if pending.done():  # call's own TimeoutError
                    raise
            if self.client.status == "running" and time.monotonic() < ping_at:
                continue
            why = self._scheduler_lost()
            if why is None:
                ping_at = time.monotonic() + BEAT
                continue
            pending.cancel()
            raise ClusterError(f"lost the scheduler at {self._where()} ({why} during {during})")

    def _on_loop(self, call: Callable[[], Awaitable]) -> concurrent.futures.Future:
        """call() run on the client's event loop (in its thread), as a future this thread can wait on."""

        async def run() -> Any:
            return await call()

        return asyncio.run_coroutine_threadsafe(run(), self.client.loop.asyncio_loop)

    def _recover(self, e: BaseException, attempt: int) -> None:
        """After a failed round trip: ClusterError if the scheduler is gone or the retries are spent; else
        wait until at least one worker is there to retry on."""
        what = _what(e)
        why = self._scheduler_lost()
        if why is not None:
            raise ClusterError(f"lost the scheduler at {self._where()} ({why} during a step)")
        if attempt >= RETRIES:
            raise ClusterError(f"a step failed {RETRIES + 1} times on the cluster at {self._where()}, losing workers "
                               f"each time (last: {what})")
        try:
            self._waited(lambda: self.client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS), "the wait for a worker")
        except (OSError, TimeoutError):
            raise ClusterError(f"no workers left at {self._where()} after {WAIT_FOR_WORKERS:g} s (last: {what}): "
                               "start workers with `dask worker ADDRESS`") from None

    def _scheduler_lost(self) -> Optional[str]:
        """None while the scheduler answers a ping within PING_TIMEOUT; else why it counts as lost. A client
        whose own connection to the scheduler has closed has lost it at once, without waiting for the ping (a
        killed scheduler's port refuses, and Dask would retry the ping's connection until the timeout): Dask
        then cancels every future the client holds, the partitions' too, so the run cannot go on there even if
        the client reconnects."""
        client = self.client
        if client.status != "running":
            return "its connection closed"
        ping = self._on_loop(client.scheduler.identity)
        deadline = time.monotonic() + PING_TIMEOUT
        while client.status == "running" and time.monotonic() < deadline:
            try:
                ping.result(timeout=POLL)
                return None
            except concurrent.futures.TimeoutError:
                if ping.done():  # the ping's own TimeoutError
                    break
            except OSError:  # its connection reset or refused (CommClosedError), before the client's own noticed
                return "its connection closed"
            except Exception as e:
                return f"no answer: {_what(e)}"
        ping.cancel()
        return "its connection closed" if client.status != "running" else f"no answer within {PING_TIMEOUT:g} s"

    def _where(self) -> str:
        if self.cluster is not None:
            return f"local ({self.cluster.scheduler_address})"
        return self.address


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _what(e: BaseException) -> str:
    return _one_line(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)


# ----------------------------------------------------------------------------- the data, read by partition


class ClusterRows:
    """A data file's rows on the cluster, as data.prepare_rows asks for them (data.Rows), answered by the workers.

    This process reads the file's row count (data.row_count) and header (its first row) alone, and never a row
    of any split: the label set is the union of the workers' scans of P spans of rows; every sum of a split
    (standardisation's, the whitening's) is one task per partition of that split, each worker reading its own
    rows and drawing the split itself (data.SplitSpec), the results added here in partition order. sources()
    then holds every split on the workers: the train split for training, val and test for their metrics.
    """

    def __init__(self, session: Session, cfg: Any) -> None:
        d = cfg.data
        self.session, self.cfg, self.path = session, cfg, d.path
        self.m = data_mod.row_count(d.path, d.delimiter)
        head = data_mod.read_rows(d.path, 0, 1, d.target, None, d.delimiter, d.task)  # the header's names
        self.task = "regression" if head.y.ndim == 2 else "classification"
        self.feature_names, self.target_names = list(head.feature_names), list(head.target_names)
        self.partitions = cfg.cluster.partitions or 2 * max(1, len(session.workers()))
        npy = data_mod.file_kind(d.path) == ".npy"
        self._file = pt.FileRows(str(d.path), d.target, d.delimiter, d.task, len(self.feature_names),
                                 [int(t) for t in self.target_names] if npy else None)

    def labels(self) -> Optional[list]:
        """The label set: the union of the spans' labels, sorted as the whole column's would be (data.TableRows)."""
        if self.task != "classification":
            return None
        spans = [dataclasses.replace(self._file, start=s, stop=e) for s, e in pt.bounds(self.m, self.partitions)]
        found = {v for labels in self.session.each(pt.scan_span, spans) for v in labels}
        if any(isinstance(v, str) for v in found):  # a span of numbers where the column holds text: as text
            found = {str(v) for v in found}
        elif any(isinstance(v, float) for v in found):  # whole numbers in some spans only: all as floats
            found = {float(v) for v in found}
        return sorted(found)

    def each(self, fn: Any, spec: data_mod.SplitSpec, split: str, *args: Any) -> list:
        """[fn(X, *args) for each partition of the split], computed on the workers, in partition order."""
        parts = pt.bounds(spec.sizes()[split], self.partitions)
        return self.session.each(pt.part_apply, [(self._part(spec, split, s, e), fn, args) for s, e in parts])

    def _part(self, spec: data_mod.SplitSpec, split: str, start: int, stop: int) -> pt.FileRows:
        return dataclasses.replace(self._file, spec=spec, split=split, start=start, stop=stop)

    def sources(self, prepared: data_mod.Prepared, arch: Any, dtype: Any, chunk_size: Optional[int],
                names: tuple = data_mod.SPLITS) -> dict:
        """{split: ClusterSums} for every split of `names` with rows: its partitions built and held on the
        workers (prepared and encoded there, as data.held_splits would here), each partition as wide as the
        train split's, so that every split is summed in the chunks of a local run with chunk_size = that width."""
        pre, zca, spec = prepared
        sizes = spec.sizes()
        width = pt.bounds(sizes["train"], self.partitions)[0][1]
        meta, white = pre.to_meta(), None if zca is None else zca.to_meta()
        out = {}
        for name in (n for n in names if sizes[n]):
            recipes = [pt.Recipe(self._part(spec, name, s, e), tuple(arch.layers), arch.activation,
                                 arch.output_activation, arch.loss, np.dtype(dtype).name, meta, chunk_size, white)
                       for s, e in pt.ranges(sizes[name], width)]
            out[name] = ClusterSums(self.session, arch, dtype, recipes)
        return out


# ----------------------------------------------------------------------------- the source of sums


class ClusterSums(SumsBase):
    """A split's additive sums, summed on the cluster: objective.Source, as sums.Backprop answers it in this
    process — sums(θ) (a training step), activation_sums(θ) (the penalty's first pass), forward_sums(θ, measure)
    (the split's metrics): θ out, one task per partition, the partitions' results added in partition order.

    The partitions are built once (one task each, spread round-robin over the workers that are there at the
    start; Dask may move one where it fits better) and held as futures for the whole run.
    """

    def __init__(self, session: Session, arch: Any, dtype: Any, recipes: list) -> None:
        super().__init__(arch, dtype)
        self.session = session
        self.m = sum(len(r.src) for r in recipes)
        self.partitions = len(recipes)
        self.width = len(recipes[0].src)
        client, workers = session.client, session.workers()
        run = uuid.uuid4().hex[:8]
        self.parts = [client.submit(pt.build_part, r, key=f"nettrain-partition-{p}-{run}", pure=False,
                                    workers=[workers[p % len(workers)]] if workers else None,
                                    allow_other_workers=True)
                      for p, r in enumerate(recipes)]

    def sums(self, theta: Any, delta_terms: Optional[list] = None) -> GradSums:
        """Σᵢ loss over the split at θ; [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ] into self.g (not divided by m).
        delta_terms: the sparsity penalty's hidden-δ terms (objective.Source.sums), sent with θ in one vector.

        The partitions' sums are added in partition order — the chunk order of sums.Backprop — so the
        result is the same bits on 1 or 64 workers, and equals a local run with chunks of self.width."""
        fp = self.flat(theta)
        if delta_terms is None:
            results = self.session.each(pt.part_sums, self.parts, fp.vec)
        else:
            payload = np.concatenate([fp.vec] + [delta_terms[l].ravel() for l in range(2, self.arch.nl)])
            results = self.session.each(pt.part_sums_with, self.parts, payload)
        loss_sum, g = 0.0, self.g
        for p, (loss, G) in enumerate(results):
            loss_sum += loss
            if p == 0:
                np.copyto(g, G)
            else:
                np.add(g, G, g)  # partition sums added in partition order
        return GradSums(loss_sum, g, fp)

    def activation_sums(self, theta: Any) -> dict:
        """{l: Σᵢ a⁽ˡ⁾} over the split for each hidden layer, the partitions' sums added in partition
        order: the sparsity penalty's first pass."""
        results = self.session.each(pt.part_activation_sums, self.parts, self.flat(theta).vec)
        total = {l: v.copy() for l, v in results[0].items()}
        for r in results[1:]:
            for l, v in r.items():
                np.add(total[l], v, total[l])
        return total

    def forward_sums(self, theta: Any, measure: Optional[Measure] = None) -> ForwardSums:
        """Σᵢ loss of the forward pass over the split, and measure(h, y) of every chunk of every partition, in
        partition order: the client receives a few small arrays per partition, never a row. measure runs on
        the workers (a module-level function, or a partial of one)."""
        results = self.session.each(functools.partial(pt.part_forward_sums, measure=measure), self.parts,
                                    self.flat(theta).vec)
        loss_sum, parts = 0.0, []
        for r in results:
            loss_sum += r.loss
            parts += r.parts
        return ForwardSums(loss_sum, parts)
