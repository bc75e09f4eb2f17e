"""Where trials run: in this process, one after another, or as tasks on Dask workers.

    open_executor(sweep) -> InProcess | OnDask     a context manager: what it started, it stops

Both take trial.TrialTask's (submit), say how many may run at once (slots), and hand back trial.TrialOutcome's
as trials end (next). OnDask runs trial.run_trial as one task per trial on the workers of a LocalCluster of
`workers` processes started here (one thread each; they ignore Ctrl-C, which is this process's to handle) —
forked from this process where the system can (Dask's multiprocessing-method fork): they start with numpy,
Dask and nettrain already imported, in well under a second where spawned ones take seconds — or of a running
scheduler (cluster.address). A worker imports nettrain once and runs trial after trial. A worker
lost mid-trial: Dask runs the task again on another worker (the trial starts over in its folder); a task that
loses its worker again and again ends as a failed trial. A scheduler that stops answering ends the sweep with a
ClusterError.

Left out on purpose: which trials to run (engine.py), what a trial does (trial.py).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import uuid
import warnings
from collections import deque
from concurrent.futures import CancelledError
from typing import Any, Iterator, Optional

from ..errors import ClusterError
from .trial import TrialOutcome, TrialTask, error_line, run_trial

POLL_SECONDS = 1.0  # how often a wait for a trial checks that the scheduler still answers
PING_SECONDS = 5.0  # how long the scheduler may take to answer that check


class InProcess:
    """The trials one after another in this process (workers: 1)."""

    slots = 1
    threads: Optional[int] = None  # a fit alone's choice

    def __init__(self) -> None:
        self.queue: deque = deque()

    def submit(self, task: TrialTask) -> None:
        self.queue.append(task)

    def busy(self) -> int:
        return len(self.queue)

    def next(self) -> TrialOutcome:
        return run_trial(self.queue.popleft())

    def cancel(self) -> None:
        self.queue.clear()


class OnDask:
    """Trials as tasks on a Dask cluster's workers, at most `slots` at once: none submitted ahead. Dask sends a
    task to a worker when it is submitted (it holds tasks back at the scheduler only for a large group of
    them), so a trial submitted ahead would wait behind the trial running on one worker while another worker
    may be idle: at the grid's end, a worker idle for most of a trial. The next trial is submitted when one
    ends, to the worker that is free (the round trip through this process: a few ms)."""

    def __init__(self, session: Any, slots: int, threads: int) -> None:
        self.session, self.slots, self.threads = session, max(1, slots), threads
        self.futures: dict[int, Any] = {}  # trial number → its future
        self.run = uuid.uuid4().hex[:8]
        self.submitted = 0

    def warm_up(self) -> None:
        """Every worker imports the trial code now, in parallel, not in its first trial."""
        import importlib

        self.session.client.run(importlib.import_module, "nettrain.sweep.trial")

    def submit(self, task: TrialTask) -> None:
        self.submitted += 1  # a key per submission: halving submits a trial again for each rung it reaches
        self.futures[task.number] = self.session.client.submit(
            run_trial, task, key=f"nettrain-trial-{task.number}-{self.run}-{self.submitted}", pure=False)

    def busy(self) -> int:
        return len(self.futures)

    def next(self) -> TrialOutcome:
        """The outcome of a trial that ended (the lowest-numbered of those that have)."""
        from distributed import wait

        while True:
            done = [k for k, f in self.futures.items() if f.done()]
            if done:
                k = min(done)
                return self._outcome(k, self.futures.pop(k))
            try:
                wait(list(self.futures.values()), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED")
            except Exception as e:  # noqa: BLE001 - a timeout, or the futures cancelled by a lost connection
                if not self._scheduler_answers():
                    raise ClusterError(f"lost the scheduler at {self._where()} ({_cause(e)})") from None

    def _outcome(self, k: int, future: Any) -> TrialOutcome:
        from distributed import KilledWorker

        try:
            return future.result()
        except KilledWorker:
            return TrialOutcome(k, "failed", {}, "its worker died each time it ran (Dask's KilledWorker): check the "
                                "workers' memory and logs")
        except Exception as e:  # noqa: BLE001 - a lost scheduler, or raised outside the fit (its folder not claimed)
            if not self._scheduler_answers():  # not the trial's doing: the sweep ends, resumable
                raise ClusterError(f"lost the scheduler at {self._where()} ({_cause(e)})") from None
            if isinstance(e, CancelledError):
                return TrialOutcome(k, "failed", {}, "its task was cancelled on the cluster")
            return TrialOutcome(k, "failed", {}, error_line(e))

    def _scheduler_answers(self) -> bool:
        """The scheduler answers a ping within PING_SECONDS."""
        client = self.session.client
        if client.status not in ("running", "connecting"):
            return False
        try:
            client.sync(client.scheduler.identity, callback_timeout=PING_SECONDS)
            return True
        except Exception:  # noqa: BLE001 - any failure to answer is a lost scheduler
            return False

    def _where(self) -> str:
        cluster = self.session.cluster
        return f"local ({cluster.scheduler_address})" if cluster is not None else self.session.address

    def cancel(self) -> None:
        """Cancel every trial under way: their tasks stop at their next step (pruning.Abandoned)."""
        try:
            self.session.client.cancel(list(self.futures.values()))
        except Exception:  # a lost scheduler: nothing left to cancel
            pass
        self.futures.clear()


def _cause(e: BaseException) -> str:
    """An exception in a few words: its type and its message's first line."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while worker processes start: they inherit it (Python keeps an ignored SIGINT ignored),
    so Ctrl-C reaches this process alone, which cancels the trials and stops the cluster itself."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _forked_workers(local: bool) -> Any:
    """Dask's settings while the LocalCluster starts: its worker processes forked from this one (spawned ones
    import numpy, Dask and nettrain again: 4–8 s of the 2-core machine against 0.6 s; a worker that a nanny
    restarts later is spawned, as Dask does by default; without fork, not POSIX, Dask's default), and neither
    the workers' statistical profiler (a stack sample every 10 ms) nor a 20 ms tick on their event loops: idle
    Dask costs half the CPU (0.05 against 0.1 s a second, client and workers), which the trials need. Nor the
    scheduler's work stealing, every 100 ms: no task ever waits at a worker to be stolen (OnDask)."""
    import multiprocessing

    if not local:
        return contextlib.nullcontext()
    import dask
    import distributed  # noqa: F401 - its defaults in dask.config first: leaving the block restores them as they were

    quiet = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "200ms",
             "distributed.scheduler.work-stealing": False}
    if "fork" in multiprocessing.get_all_start_methods():
        quiet["distributed.worker.multiprocessing-method"] = "fork"
    return dask.config.set(quiet)


@contextlib.contextmanager
def open_executor(sweep: Any) -> Iterator[Any]:
    """InProcess for workers: 1 without a cluster; else OnDask on a LocalCluster or the cluster's scheduler."""
    spec = sweep.spec
    if spec.cluster is None and spec.workers == 1:
        yield InProcess()
        return
    from ..cluster import open_session
    from ..config import ClusterConfig
    from ..parallel import available_threads

    local = spec.cluster is None
    cfg = ClusterConfig(address="local", workers=spec.workers) if local else ClusterConfig(
        address=spec.cluster.address)
    with contextlib.ExitStack() as stack:
        # (quiet_dask() from nettrain.cluster belongs around this session, Dask's own log lines off the terminal;
        # where open_session holds the session in it, this block has it)
        with _sigint_ignored(), warnings.catch_warnings(), _forked_workers(local):
            # LocalCluster starts its dashboard even with dashboard_address=None, and warns when 8787 is taken
            warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
            warnings.filterwarnings("ignore", message=".*use of fork\\(\\) may lead to deadlocks", category=DeprecationWarning)
            session = stack.enter_context(open_session(cfg))
        if local:
            slots, threads = spec.workers, max(1, available_threads() // spec.workers)
        else:  # every thread of the cluster's workers runs a trial, with one BLAS thread (as the cluster backend)
            slots, threads = sum(session.client.nthreads().values()), 1
        ex = OnDask(session, slots, threads)
        ex.warm_up()
        yield ex
