"""A config's fit into a run folder: prepare → listeners → train → finish.

    fit(cfg, *, out, resume, reporter, table, write, listeners)   → FitResult

prepare: the problem (data read, checked, split, encoded; on a cluster, its train split left on the
workers), the optimizer and metrics.csv's columns, and where training starts (seeded weights, or a
resumed run's last.npz); the run folder is created only after all of it is valid. listeners: one small
object per job at every reported step (listeners.py). train: train.minimize drives the objective with
the optimizer. finish: the state saved, each split's metrics, summary.json (runfolder.write_summary), the
FitResult.

A function here returns plain results and reports progress through a Reporter; it never prints.
Left out on purpose: the run folder's format (runfolder.py, history.py), rendering (render/fit.py).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol, Sequence

import numpy as np

from . import checkpoint as ckpt
from . import config as config_mod
from . import data as data_mod
from . import listeners as ls
from . import features, network, optimizers, parallel, train
from .config import Config
from .errors import ClusterError, ConfigError, Diverged, Interrupted, RunIOError
from .evaluation import eval_form, split_metrics, split_where
from .history import CLOCK_COLUMNS, History
from .network import Cost, Params
from .objective import cost_names
from .problem import Problem, initial_params, load_problem
from .runfolder import SUMMARY, RunFiles, claim, file_size, resume_command, resume_state, write_summary
from .trained import Trained


class Reporter(Protocol):
    """What a fit tells its caller while it works (render/fit.py renders it; tests may record it).

    progress(epoch) comes at every epoch, unless the reporter has an attribute progress_every: then at
    least that often in seconds, and with every row (listeners.Terminal)."""

    def start(self, info: dict) -> None: ...
    def progress(self, epoch: int) -> None: ...
    def row(self, values: list, final: bool = False) -> None: ...  # one value per start()'s info['columns']
    def note(self, text: str) -> None: ...


class SilentReporter:
    def start(self, info: dict) -> None:
        pass

    def progress(self, epoch: int) -> None:
        pass

    def row(self, values: list, final: bool = False) -> None:
        pass

    def note(self, text: str) -> None:
        pass


@dataclass
class FitResult:
    run_dir: Optional[Path]  # None: a run that wrote no folder (write=False)
    epoch: int
    cost: Optional[Cost]
    reason: str
    history: History
    train: Optional[dict]
    val: Optional[dict]
    test: Optional[dict]
    resumed_from: Optional[int]
    swept: list[Path]
    notes: list[str] = field(default_factory=list)  # what the run said as it went (rising J, how it ended)
    best: Optional[tuple[float, int]] = None  # (val J_data, epoch) of best.npz
    trained: Optional[Trained] = None  # the model at the last epoch, as last.npz holds it
    best_params: Optional[Params] = None  # a run that wrote no folder, with early stopping: best.npz's state
    kept: Optional[dict] = None  # early stopping: {"epoch", "train", "val", "test"} of best.npz, what eval and predict use
    seconds: Optional[float] = None  # the run's wall time (across --resume), as summary.json holds it


def fit(cfg: Config, *, out: Optional[Path] = None, resume: bool = False, reporter: Optional[Reporter] = None,
        table: Optional[data_mod.Table] = None, write: bool = True, overwrite: bool = False, api: bool = False,
        listeners: Sequence[Any] = ()) -> FitResult:
    """Train the config's network with its optimizer, leaving a complete run folder (out, default
    runs/<name>) that ends with summary.json. table: the data in memory instead of data.path's file. write
    False: no run folder at all — the same training and the same numbers, the history kept in memory (the
    estimators). overwrite: a new run replaces the run folder out (only a run folder). api: messages name the
    Python API's arguments (resume=True, out=…) instead of the command line's flags. listeners: more
    listeners, called after the built-in ones at every reported step (listeners.py: each returns a reason to
    stop, or None); a reason that has a `reason` attribute (a sweep's "pruned") is how the run ended,
    FitResult.reason and summary.json's, instead of "early stopped".

    With a cluster section, every split's sums come from the cluster (nettrain.cluster: the workers read and
    hold the train, validation and test splits); this process holds none of their rows."""
    rep = reporter or SilentReporter()
    if not write and resume:
        raise ConfigError("a run that writes no folder cannot be resumed: give it a run folder")
    if resume and overwrite:
        raise ConfigError("resume continues the run folder and overwrite replaces it: give one of them")
    run_dir = Path(out) if out is not None else Path("runs") / cfg.name
    how = _How(out, overwrite, api, tuple(listeners), time.perf_counter())
    if cfg.cluster is None:
        return _fit(cfg, run_dir, how=how, resume=resume, rep=rep, table=table, write=write)
    if table is not None or not write:
        raise ConfigError("a cluster section trains from data.path's file into a run folder: leave it out here "
                          "(cluster: null)")
    from . import cluster

    with cluster.open_session(cfg.cluster) as session:
        try:
            return _fit(cfg, run_dir, how=how, resume=resume, rep=rep, session=session)
        except ClusterError as e:
            last = run_dir / "last.npz"
            if not last.exists():
                raise
            epoch = ckpt.read_meta(last).get("epoch")
            here = "{'cluster': None}" if api else "--set cluster=null"
            raise ClusterError(f"{e}; {last} holds epoch {epoch}: continue with {resume_command(cfg, out, api=api)} "
                               f"(on the cluster, or here with {here})") from None


@dataclass(frozen=True)
class _How:
    """What the caller asked of the run folder, and whose words its messages use."""

    out: Optional[Path]  # as given (None: runs/<name>), for the command that resumes
    overwrite: bool
    api: bool
    listeners: tuple  # the caller's, after the built-in ones
    started: float  # time.perf_counter() when fit was called: where this session's seconds start


# ----------------------------------------------------------------------------- prepare


@dataclass
class _Plan:
    """What the run is, all of it checked before anything is written."""

    cfg: Config
    cfg_dict: dict
    run_dir: Path
    problem: Problem
    source: Any  # the train split's sums from a cluster; None: a Backprop over x, y in this process
    x: Any
    y: Any
    m: int
    optimizer: optimizers.Optimizer
    minibatch: bool
    names: tuple[str, ...]  # the parts of J this run minimises
    optimizer_columns: tuple[str, ...]  # metrics.csv columns the optimizer adds (L-BFGS: evaluations)
    columns: list[str]  # metrics.csv's (a resumed run's may lack the clock columns: its History's are the run's)


@dataclass
class _Start:
    """Where training starts: θ, the history so far, and what a resume carries over."""

    params: Params
    history: History
    epoch: int
    best: Optional[tuple[float, int]] = None
    resumed_from: Optional[int] = None
    swept: list[Path] = field(default_factory=list)
    metrics_text: bytes = b""
    meta: dict = field(default_factory=dict)


def _plan(cfg: Config, run_dir: Path, *, session: Any = None, table: Optional[data_mod.Table] = None) -> _Plan:
    problem = load_problem(cfg, lazy=True, table=table, session=session)
    source = None if session is None else problem.sums("train")  # on a cluster, the workers' sums train it
    tc = cfg.train
    opt = optimizers.make(tc.optimizer, **tc.hyperparameters())
    has_val = problem.sizes["val"] > 0
    optimizer_columns = ("evaluations",) if not isinstance(opt, optimizers.FirstOrder) else ()
    names = cost_names(cfg.sparsity())
    columns = ["epoch", "cost", *names, "grad_norm", *optimizer_columns]
    if has_val:
        columns += ["val_data_cost"] + (["val_accuracy"] if cfg.data.task == "classification" else ["val_r2"])
    columns += CLOCK_COLUMNS  # last: wall time, out of the checkpoint's digest (history.py)
    x, y = problem.columns("train") if source is None else (None, None)
    m = x.shape[1] if source is None else source.m
    return _Plan(cfg, config_mod.config_to_dict(cfg), run_dir, problem, source, x, y, m, opt,
                 tc.batch_size is not None and opt.minibatches, names, optimizer_columns, columns)


def _start(plan: _Plan, rng: np.random.Generator, *, resume: bool, write: bool, how: _How) -> _Start:
    """A new run's seeded weights (drawn from rng), or the resumed run's last.npz (rng and the optimizer's
    state restored from it)."""
    cfg, run_dir = plan.cfg, plan.run_dir
    if not resume:
        if write:
            claim(run_dir, overwrite=how.overwrite, api=how.api)
        return _Start(initial_params(cfg, plan.problem.arch, plan.problem.dtype, rng), History(plan.columns), 0)
    r = resume_state(run_dir, plan.cfg_dict, plan.problem.arch, plan.columns)
    features.check_resume(r.meta, plan.problem.transform, run_dir / "last.npz")  # the same features, unchanged
    n = sum(w.size + v.size for w, v in zip(r.params.W.values(), r.params.b.values()))
    plan.optimizer.load_state(ckpt.load_state(run_dir / "last.npz", n))
    if isinstance(r.meta.get("rng"), dict):
        rng.bit_generator.state = r.meta["rng"]
    return _Start(r.params, r.history, r.epoch, r.best, r.epoch, ckpt.sweep_temp_files(run_dir), r.metrics_text,
                  r.meta)


def _split_results(plan: _Plan, params: Params) -> tuple[Optional[dict], Optional[dict], Optional[dict]]:
    """The train, val and test metrics at params (None for an empty split)."""
    train_m, val, test = (None if sm is None else sm(params)
                          for sm in (split_metrics(plan.problem, s) for s in ("train", "val", "test")))
    return train_m, val, test


def _already_trained(plan: _Plan, start: _Start, *, how: _How, write: bool) -> FitResult:
    """A resume of a run already at train.epochs: nothing is written (but summary.json, when a kill came
    between the last save and it); say so, and how to go on."""
    epochs = plan.cfg.train.epochs
    train_m, val, test = _split_results(plan, start.params)
    cost = Cost({k: train_m[k] for k in plan.names}) if train_m else None
    more = max(2 * start.epoch, start.epoch + 1)
    further = (f"{{'train.epochs': {more}}} with resume=True" if how.api else f"--set train.epochs={more} --resume")
    note = (f"the run in {plan.run_dir} is already at train.epochs = {epochs} (epoch {start.epoch}): nothing to "
            f"do; to train it further, raise train.epochs: {further}")
    notes = [f"removed a temp file left by an interrupted save: {p}" for p in start.swept] + [note]
    if write and not (plan.run_dir / SUMMARY).exists():
        write_summary(plan.run_dir, _summary(plan, start.epoch, "done", time.perf_counter() - _clock_zero(how, start),
                                             {"train": train_m, "val": val, "test": test}))
    return FitResult(plan.run_dir, start.epoch, cost, "already at train.epochs", start.history, train_m, val, test,
                     start.epoch, start.swept, notes, start.best)


def _open_folder(plan: _Plan, start: _Start, *, resume: bool) -> RunFiles:
    """The run folder, from here on written: config.yaml, and metrics.csv's header (a new run) or exactly the
    rows its checkpoint names (a resume: rows written after it are dropped)."""
    run_dir, cfg, problem, arch = plan.run_dir, plan.cfg, plan.problem, plan.problem.arch
    meta_base = {
        "config": plan.cfg_dict,
        "preprocessing": problem.prep.to_meta(),
        **({"whitening": problem.zca.to_meta()} if problem.zca is not None else {}),
        **({features.META_KEY: problem.transform.to_meta()} if problem.transform is not None else {}),
        "architecture": {"layers": list(arch.layers), "activation": arch.activation,
                         "output_activation": arch.output_activation, "loss": arch.loss},
    }
    files = RunFiles(run_dir, meta_base)
    try:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunIOError(f"cannot create {run_dir}: {e.strerror or e}: check the path and permissions") from None
    if not resume:
        ckpt.write_text(run_dir / "config.yaml", config_mod.dump_config_yaml(cfg))
        ckpt.write_text(files.metrics_path, start.history.take())  # the header
    else:
        if file_size(files.metrics_path) != len(start.metrics_text):  # rows written after the checkpoint: dropped
            ckpt.write_text(files.metrics_path, start.metrics_text.decode("utf-8"))  # exactly the checkpoint's rows
        ckpt.write_text(run_dir / "config.yaml", config_mod.dump_config_yaml(cfg))
    return files


def _announce(rep: Reporter, plan: _Plan, start: _Start, *, resume: bool) -> None:
    """The reporter's start, and one line for each setting that will not do what it might seem to."""
    cfg, tc, m = plan.cfg, plan.cfg.train, plan.m
    arch = plan.problem.arch
    on = advice = None
    if plan.source is not None:  # the train split's sums on a cluster
        from . import cluster

        on = cluster.describe(plan.source)
        advice = cluster.step_advice(train.epoch_flops(arch, m), train.epoch_flops(arch, 1))
    rep.start({"run_dir": str(plan.run_dir), "start_epoch": start.epoch, "epochs": tc.epochs, "every": cfg.log.every,
               "columns": start.history.columns, "optimizer": tc.optimizer,
               "batch_size": min(tc.batch_size, m) if plan.minibatch else None, "m": m,
               "layers": list(arch.layers), "resumed": resume, "swept": [str(p) for p in start.swept], "on": on,
               "data": list(plan.problem.encoded)})  # rows dropped or filled (data.missing), categories val/test add
    for text in cfg.warnings() + plan.problem.notes + ([advice] if advice else []):
        rep.note(f"warning: {text}")
    if plan.minibatch and tc.batch_size >= m:
        rep.note(f"warning: train.batch_size = {tc.batch_size} is at least the {m} training rows: every step takes "
                 "them all (in a shuffled order), as train.batch_size: null does")
    if resume and tc.optimizer == "lbfgs":
        rep.note("note: L-BFGS resumes from the saved weights with a fresh curvature memory (scipy cannot restore "
                 "it): J keeps falling, but the path differs from an uninterrupted run's")


# ----------------------------------------------------------------------------- listeners, train


def _clock_zero(how: _How, start: _Start) -> float:
    """The time.perf_counter() at which the run's seconds were 0: a resumed run's go on from its rows' last."""
    return how.started - start.history.seconds


def _fit(cfg: Config, run_dir: Path, *, how: _How, resume: bool, rep: Reporter, session: Any = None,
         table: Optional[data_mod.Table] = None, write: bool = True) -> FitResult:
    plan = _plan(cfg, run_dir, session=session, table=table)
    rng = np.random.default_rng(cfg.seed)  # the initial weights, then every epoch's permutation
    start = _start(plan, rng, resume=resume, write=write, how=how)
    if resume and start.epoch >= cfg.train.epochs:
        return _already_trained(plan, start, how=how, write=write)
    files = _open_folder(plan, start, resume=resume) if write else None
    _announce(rep, plan, start, resume=resume)
    arch, dtype = plan.problem.arch, plan.problem.dtype
    state = ls.RunState(files, start.history, plan.optimizer, rng if plan.minibatch else None, cfg.log.every,
                        cfg.log.checkpoint_every, start.best, best_buffer=network.flat_params(arch.layers, dtype),
                        evaluations=int(start.meta.get("evaluations") or 0), count_evaluations=bool(plan.optimizer_columns),
                        clock_zero=_clock_zero(how, start))
    listeners = _listeners(plan, state, rep) + list(how.listeners)  # the caller's after the built-in ones
    result, stopped = _train(plan, start, state, listeners, rng)
    return _finish(plan, start, state, result, stopped, how=how, write=write)


def _listeners(plan: _Plan, state: ls.RunState, rep: Reporter) -> list:
    """The listeners of this run, in the order each sees the row the ones before it completed (listeners.py).
    A SilentReporter shows nothing: it gets no Terminal (its subclasses, which may show something, do)."""
    tc = plan.cfg.train
    hint = ("the steps overshoot: try a smaller train.learning_rate (now "
            f"{tc.learning_rate:g})" if tc.learning_rate is not None and tc.optimizer != "lbfgs"
            else "check the gradient with nettrain gradcheck CONFIG")
    has_val = "val_data_cost" in plan.columns
    listeners: list = [ls.Row(state, split_metrics(plan.problem, "val") if has_val else None), ls.Best(state)]
    if tc.early_stopping is not None:
        listeners.append(ls.EarlyStopping(state, tc.early_stopping.patience, tc.early_stopping.min_delta))
    listeners += [ls.RisingCost(state, rep, hint), ls.Log(state)]
    if type(rep) is not SilentReporter:
        listeners.append(ls.Terminal(rep, state.every))
    if state.files is not None:
        listeners.append(ls.Checkpoints(state))
    return listeners


def _train(plan: _Plan, start: _Start, state: ls.RunState, listeners: list, rng: np.random.Generator
           ) -> tuple[optimizers.Result, list[str]]:
    """train.minimize from start to train.epochs, every epoch's row into the history and the steps the
    listeners need through them; Ctrl-C ends it at the end of a step. A non-finite J saves the last finite
    state and raises Diverged."""
    cfg, tc, history = plan.cfg, plan.cfg.train, state.history
    arch, dtype, m = plan.problem.arch, plan.problem.dtype, plan.m
    stopped: list[str] = []
    every = cfg.log.every

    def logged(epoch: int) -> bool:  # a row with ‖∇J‖ and the validation columns, shown in the terminal
        return epoch % every == 0

    with ls.Interrupt() as interrupt:
        sched = ls.Listeners(listeners + [interrupt], every=every, last=tc.epochs, first=history.n)
        clock, first = time.monotonic, history.n

        def emit(step: optimizers.Step) -> bool:
            e = step.epoch
            if e < first:  # the row already exists (a resumed run's first state)
                return bool(interrupt.count)
            history.add(e, step.cost)
            if e < sched.epoch and clock() < sched.time and not interrupt.count:
                return False  # no listener needs this epoch: its row is all it costs
            stopped.extend(sched.dispatch(step))
            return bool(stopped)

        try:
            # threads: train.threads, or by problem size (1 below train.PARALLEL_MIN_FLOPS, else one per core);
            # BLAS held to match. Minibatch steps are sized by the batch.
            # On a cluster the workers' processes are the parallelism (each one BLAS thread per task).
            m_step = min(tc.batch_size, m) if plan.minibatch else m
            threads = (parallel.for_training(arch, m_step, tc.batch_size if plan.minibatch else tc.chunk_size, dtype,
                                             tc.threads) if plan.source is None else contextlib.nullcontext(None))
            with threads as pool:
                result = train.minimize(
                    arch, start.params, plan.x, plan.y, lam=tc.weight_decay, optimizer=plan.optimizer,
                    epochs=tc.epochs, start_epoch=start.epoch, tolerance=tc.tolerance, chunk_size=tc.chunk_size,
                    on_step=emit, pool=pool, batch_size=tc.batch_size if plan.minibatch else None, rng=rng,
                    sparsity=cfg.sparsity(), source=plan.source,
                    cost_at=None if cfg.log.train_cost == "every_epoch" else logged, grad_at=logged)
        except Diverged as d:
            sched.close(history.n - 1)  # what the listeners owe the rows before it (a rising J is said first)
            _save_last_finite(plan, state, d)
        sched.close(history.n - 1)
    return result, stopped


def _save_last_finite(plan: _Plan, state: ls.RunState, d: Diverged) -> None:
    """A non-finite J: the last finite state is saved (its rows are those of epochs 0 … last_epoch: the
    non-finite epoch never gets one), and Diverged raised again, with L-BFGS's own hint."""
    if d.last_params is not None and d.last_epoch is not None and d.last_epoch + 1 == state.history.n:
        state.flush(d.last_params, d.last_epoch, state=d.last_state or {})
    if plan.cfg.train.optimizer == "lbfgs" and d.last_cost is not None:
        raise Diverged(d.epoch, d.last_epoch, d.last_cost, d.last_params, d.last_state,
                       hint="J was not finite at a point L-BFGS's line search tried: standardise the "
                            "data (data.standardize), start from smaller weights (model.init), or use "
                            "gd with a small learning_rate") from None
    raise d


# ----------------------------------------------------------------------------- finish


def _finish(plan: _Plan, start: _Start, state: ls.RunState, result: optimizers.Result, stopped: list[str], *,
            how: _How, write: bool) -> FitResult:
    """The final state saved (a run that ended before train.epochs), how it ended, each split's metrics,
    summary.json."""
    if result.reason != "done":
        state.flush(result.params, result.epoch, state=result.state)
    reason, note = result.reason, result.note
    if reason == "stopped" and stopped and stopped[0] != "interrupted":
        reason, note = getattr(stopped[0], "reason", "early stopped"), stopped[0]
    elif reason == "stopped":
        raise Interrupted(f"stopped at epoch {result.epoch}; saved {plan.run_dir / 'last.npz'}: continue with "
                          f"{resume_command(plan.cfg, how.out, api=how.api)}")
    train_m, val, test = _split_results(plan, result.params)
    notes = ([note] if note else []) + state.notes
    problem = plan.problem
    trained = Trained(plan.run_dir / "last.npz" if write else None, plan.cfg, problem.arch, result.params,
                      problem.prep, {"epoch": result.epoch, "config": plan.cfg_dict}, problem.zca, problem.transform)
    best_params = state.best_params if not write and state.best_params is not None else None
    kept = _kept(plan, state, best_params, write=write)
    seconds = time.perf_counter() - state.clock_zero  # the run's, earlier sessions too: as metrics.csv's seconds
    if write:  # last: a run folder with summary.json is a finished fit
        write_summary(plan.run_dir, _summary(plan, result.epoch, reason, seconds,
                                             {"train": train_m, "val": val, "test": test}))
    return FitResult(plan.run_dir if write else None, result.epoch, result.cost, reason, state.history, train_m, val,
                     test, start.resumed_from, start.swept, notes, state.best, trained, best_params, kept,
                     seconds)


def _kept(plan: _Plan, state: ls.RunState, best_params: Optional[Params], *, write: bool) -> Optional[dict]:
    """With train.early_stopping, each split's metrics at best.npz's state — the one eval and predict of the run
    folder use (runfolder.checkpoint_of) — so that the summary shows it, not the last epoch's. Else None."""
    if plan.cfg.train.early_stopping is None or state.best is None:
        return None
    if best_params is None:
        best_params = ckpt.load_checkpoint(plan.run_dir / "best.npz")[0] if write else state.best_params
    if best_params is None:
        return None
    train_m, val, test = _split_results(plan, best_params)
    return {"epoch": state.best[1], "train": train_m, "val": val, "test": test}


def _summary(plan: _Plan, epoch: int, reason: str, seconds: float, splits: dict) -> dict:
    """summary.json: how the fit ended, and each split's metrics as `nettrain eval RUN/last.npz --split S
    --json` gives them (None for an empty split)."""
    cfg, problem = plan.cfg, plan.problem
    doc: dict = {"epoch": epoch, "reason": reason, "seconds": round(seconds, 4)}
    for name, metrics in splits.items():
        m = plan.m if name == "train" else problem.sizes[name]  # a cluster's splits are sized, not held, here
        doc[name] = None if metrics is None else eval_form(
            metrics, checkpoint=plan.run_dir / "last.npz", where=split_where(cfg.data.path, name, m), split=name,
            epoch=epoch, m=m, task=cfg.data.task)
    return doc
