"""L-BFGS, as the UFLDL exercises train (minFunc): scipy's L-BFGS-B on the exact full-batch J and ∇J.

    scipy.optimize.minimize(J, θ, jac=True, method="L-BFGS-B",
                            options={maxiter: epochs − start, maxcor: train.memory, …})

One iteration is one epoch of the run: row e of metrics.csv is J at the iterate after e
iterations, with the count of J evaluations so far (the line search may take several). The
iterate's J and its parts are those of the evaluation at that point (kept from the line search,
not computed again).

L-BFGS needs J and ∇J of one fixed function: a minibatch would change the function under its line
search and its curvature pairs (docs/math.md). scipy keeps the gradient arrays it is given, so the
objective hands it a new one on every call.

Stopping: after train.epochs iterations; when J's relative decrease falls below train.tolerance
(scipy's ftol; 0: float64's ε) or the largest |∂J/∂θᵢ| reaches 0 (gtol 0: the iterations asked for
are taken, as the tutorial's 400); when the line search can lower J no more ("no progress": at the
limit of floating point, or a gradient that is not J's — gradcheck tells). A non-finite J at a trial
point ends the run as a divergence, the last iterate intact. scipy cannot take its curvature memory
back, so a resumed run starts a fresh memory from the saved weights: J keeps falling, the path
differs from an uninterrupted run's after the resume.

Left out on purpose: files, terminal output, signals.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import Diverged
from ..network import Cost
from .base import Emit, Fitting, Hyper, Optimizer, Result, Step


class _Stop(Exception):
    """Raised inside scipy's callback or function to end minimize() at once."""

    def __init__(self, result: Result) -> None:
        self.result = result


class LBFGS(Optimizer):
    name = "lbfgs"
    hypers = (Hyper("memory", int, 10, "the correction pairs kept, scipy's maxcor", ge=1),)
    minibatches = False

    def run(self, fit: Fitting, start: int, epochs: int, emit: Emit) -> Result:
        from scipy.optimize import minimize  # the one optimizer that needs scipy: imported when used

        obj = fit.objective
        theta0 = fit.theta
        x0 = theta0.vec.astype(np.float64)
        seen: dict[bytes, tuple[Cost, np.ndarray]] = {}  # the line search's evaluations, by the point's bytes
        state = {"epoch": start, "last": None}

        def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
            known = seen.get(x.tobytes())  # scipy's first call is at x0, evaluated already for row `start`
            if known is not None:
                return known[0].J, known[1].astype(np.float64, copy=False)
            cost, g = obj.at(x)
            if not math.isfinite(cost.J):
                last = state["last"]
                raise Diverged(state["epoch"] + 1, *(last[:2] if last else (None, None)),
                               last[2].params if last else None, None)
            if len(seen) > 32:
                seen.clear()
            seen[x.tobytes()] = (cost, g)
            return cost.J, g.astype(np.float64, copy=False)

        def report(x: np.ndarray, epoch: int, final: bool) -> bool:
            cost, g = seen.get(x.tobytes()) or (None, None)
            if cost is None:  # not evaluated there (x0, before scipy's first call): evaluate it, once
                cost, g = obj.at(x)
                if not math.isfinite(cost.J):
                    raise Diverged(epoch, None, None, None, None)
                seen[x.tobytes()] = (cost, g)
            theta = obj.flat(x)
            state["epoch"], state["last"] = epoch, (epoch, cost, theta)
            return bool(emit(Step(epoch, theta, cost, obj.evaluations, final, g)))

        if report(x0, start, start >= epochs) or start >= epochs:
            epoch, cost, theta = state["last"]
            return Result(theta.params, epoch, cost, "stopped" if start < epochs else "done")

        def callback(intermediate_result: Any) -> None:
            epoch = state["epoch"] + 1
            x = intermediate_result.x
            if report(x, epoch, epoch >= epochs):
                raise _Stop(Result(state["last"][2].params, epoch, state["last"][1], "stopped"))

        tol = fit.tolerance or float(np.finfo(np.float64).eps)
        try:
            res = minimize(fun, x0, jac=True, method="L-BFGS-B", callback=callback,
                           options={"maxiter": epochs - start, "maxcor": int(self.hyper["memory"]),
                                    "ftol": tol, "gtol": 0.0, "maxfun": max(100 * (epochs - start), 15000)})
        except _Stop as stop:
            return stop.result
        epoch, cost, theta = state["last"]
        if epoch >= epochs:
            return Result(theta.params, epoch, cost, "done")
        return Result(theta.params, epoch, cost, *_ended_early(res, epoch))


def _ended_early(res: Any, epoch: int) -> tuple[str, str]:
    """(reason, note) of scipy's L-BFGS-B ending before train.epochs, from its message and status."""
    message = res.message if isinstance(res.message, str) else str(res.message)
    if "ABNORMAL" in message.upper() or res.status == 2:
        return "no progress", (f"L-BFGS's line search could not lower J further after {epoch} iterations: J is as "
                               "low as floating point resolves here, or the gradient is not J's (nettrain gradcheck "
                               "CONFIG tells)")
    return "converged", f"L-BFGS stopped: {message.lower()}"
