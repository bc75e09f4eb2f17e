"""Threads for training: how many, BLAS's share of them, and the helper threads that share the chunks.

On a problem big enough to pay for it (train.blas_threads), the chunks of examples that
sums.Backprop sums over are dealt out to one thread per core — the calling thread and helper
threads — and BLAS is held to one thread each; numpy releases the GIL in BLAS and in elementwise
loops, so the products and the elementwise work both run on every core. On a problem with a
single chunk, BLAS gets the threads instead. Chunk threads never change a bit of the result:
Backprop adds the chunk sums in chunk order whatever thread computed them. BLAS threads may
change the last bit of a product (OpenBLAS divides it differently), so such a run repeats bit
for bit with the same thread count, not across counts.

Left out on purpose: any arithmetic (network.py) and any policy about sizes (train.py). This is
the one module that starts threads or touches the BLAS library's settings.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from . import train
from .network import Architecture


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_CONTROLLER: list = []  # threadpoolctl's view of the loaded thread pools, found once per process


def _controller() -> Any:
    """threadpoolctl's controller, made once: finding the loaded libraries is the slow part of every query."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - a runtime dependency
            _CONTROLLER.append(None)
        else:
            _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def blas_limit() -> int:
    """The BLAS thread count in force (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, …), or the core count."""
    ctl = _controller()
    if ctl is None:  # pragma: no cover
        return cores()
    counts = [p["num_threads"] for p in ctl.info() if p.get("user_api") == "blas"]
    return max(counts) if counts else cores()


def available_threads() -> int:
    """Threads a run may use: the cores, capped by the BLAS limit set in the environment (so
    OPENBLAS_NUM_THREADS=1, as the test suite sets, keeps every run on one thread)."""
    return max(1, min(cores(), blas_limit()))


class Pool:
    """`size` workers: the calling thread and size − 1 daemon helper threads, kept for a whole run.

    run(fn, args) calls fn(*args[k]) on worker k (k = 0 in the calling thread) and returns the
    results in order. Hand-offs use plain locks (the cheapest wake-up CPython has). numpy's
    errstate is per thread: each call runs under the caller's errstate.
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, int(size))
        self._job: Any = None
        self._results: list = []
        self._errors: dict[int, BaseException] = {}
        self._stop = False
        self._helpers: list[tuple[threading.Thread, threading.Lock, threading.Lock]] = []
        for k in range(1, self.size):
            go, done = threading.Lock(), threading.Lock()
            go.acquire()
            done.acquire()
            t = threading.Thread(target=self._helper, args=(k, go, done), daemon=True, name=f"nettrain-{k}")
            self._helpers.append((t, go, done))
            t.start()

    def _helper(self, k: int, go: threading.Lock, done: threading.Lock) -> None:
        while True:
            go.acquire()
            if self._stop:
                return
            fn, args, err = self._job
            try:
                with np.errstate(**err):
                    self._results[k] = fn(*args[k])
            except BaseException as exc:  # raised in the calling thread
                self._errors[k] = exc
            done.release()

    def run(self, fn: Callable[..., Any], args: Sequence[tuple]) -> list:
        n = len(args)
        if self._stop:
            raise RuntimeError("the pool is closed")
        if n > self.size:
            raise ValueError(f"{n} jobs for a pool of {self.size}")
        self._results = [None] * n
        self._job = (fn, args, np.geterr())
        for k in range(1, n):
            self._helpers[k - 1][1].release()  # go
        try:
            self._results[0] = fn(*args[0])
        finally:
            for k in range(1, n):
                self._helpers[k - 1][2].acquire()  # done
        if self._errors:
            raise self._errors.pop(min(self._errors))
        return self._results

    def close(self) -> None:
        self._stop = True
        for _, go, _ in self._helpers:
            go.release()
        for t, _, _ in self._helpers:
            t.join()
        self._helpers = []

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def blas_limited(n: int) -> Any:
    """A context holding BLAS to n threads (a no-op without threadpoolctl)."""
    ctl = _controller()
    if ctl is None:  # pragma: no cover
        return contextlib.nullcontext()
    return ctl.limit(limits=n, user_api="blas")


@contextlib.contextmanager
def for_training(
    arch: Architecture, m: int, chunk_size: Optional[int] = None, dtype: Any = np.float64, threads: Optional[int] = None
) -> Iterator[Optional[Pool]]:
    """The threads for one training run: yields the Pool to pass to train.gradient_descent (None:
    one worker) with BLAS limited for the run. threads: None picks train.blas_threads (1 thread
    below a measured size, else every available core); a number asks for that many, at most the
    cores this process may run on."""
    n = train.blas_threads(arch, m, available_threads()) if threads is None else max(1, min(int(threads), cores()))
    width = train.chunk_width(arch, m, chunk_size, dtype)
    workers = min(n, -(-m // width))  # threads that get a chunk; BLAS gets the threads otherwise
    with blas_limited(1 if workers > 1 else n):
        if workers <= 1:
            yield None
        else:
            with Pool(workers) as pool:
                yield pool
