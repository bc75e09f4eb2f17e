"""The one family of errors nettrain raises, and the exit code the CLI gives each.

The library raises; only the CLI prints and exits. A message says what is wrong, where
(file, line, dotted key, row, column) and what to do, on one line.
"""

from __future__ import annotations


class NettrainError(Exception):
    """Base of every error nettrain reports to a user."""

    exit_code = 1
    kind = "error"


class UsageError(NettrainError):
    """An option or argument that does not apply to the network or data it is given (--example, --layer out
    of range; predict_proba of a regression)."""

    exit_code = 2
    kind = "usage error"


class MissingExtra(NettrainError, ImportError):
    """An optional dependency (an extra of the package) is not installed. Also an ImportError, which is
    what code that imports an optional part of nettrain expects to catch."""

    exit_code = 1
    kind = "missing dependency"


class ModelError(NettrainError):
    """An architecture that cannot be built (unknown activation, loss/output pair not allowed)."""

    exit_code = 3
    kind = "config error"


class ConfigError(NettrainError):
    """A config file, key or --set override that is missing, malformed or out of range."""

    exit_code = 3
    kind = "config error"


class DataError(NettrainError):
    """A dataset that cannot be read or does not fit the model."""

    exit_code = 4
    kind = "data error"


class TargetError(DataError, ValueError):
    """A y that cannot be learnt (one class) given to an estimator of nettrain.sklearn: nettrain's
    DataError, and the ValueError scikit-learn's conventions ask an estimator to raise."""


class CheckpointError(NettrainError):
    """A checkpoint that is missing, not nettrain's, corrupt, or does not fit the config."""

    exit_code = 5
    kind = "checkpoint error"


class DivergenceError(NettrainError):
    """The cost became NaN or infinite during training."""

    exit_code = 6
    kind = "diverged"


class Diverged(DivergenceError):
    """The cost became NaN or infinite at `epoch`; the last state with a finite cost is carried along:
    its epoch, cost, parameters and optimizer state (None where there was none yet)."""

    def __init__(self, epoch: int, last_epoch=None, last_cost=None, last_params=None, last_state=None,
                 hint: str = "try a smaller learning_rate") -> None:
        self.epoch, self.last_epoch, self.last_cost = epoch, last_epoch, last_cost
        self.last_params, self.last_state = last_params, last_state
        if last_cost is None:
            msg = f"the cost is not finite at epoch {epoch}, before any update: check the data's scale and model.init"
        else:
            msg = (
                f"the cost became non-finite at epoch {epoch} (last finite cost {last_cost.J:.6g} at epoch "
                f"{last_epoch}): {hint}"
            )
        super().__init__(msg)


class Interrupted(NettrainError):
    """Ctrl-C: the run stopped after saving a state it can resume from."""

    exit_code = 130
    kind = "interrupted"


class RunIOError(NettrainError):
    """Reading or writing the run folder failed (disk full, permission, folder already used)."""

    exit_code = 7
    kind = "I/O error"


class ClusterError(NettrainError):
    """The Dask cluster of a run cannot be reached, or was lost during it (the run can be resumed)."""

    exit_code = 8
    kind = "cluster error"


class TrialsFailed(NettrainError):
    """A sweep ended, and some of its trials failed (trials.csv's error column says why)."""

    exit_code = 9
    kind = "failed trials"


EXIT_CODES = {
    0: "success",
    1: "gradient check failed (or plot without matplotlib)",
    UsageError.exit_code: "usage error (bad command-line arguments)",
    ConfigError.exit_code: "config error",
    DataError.exit_code: "data error",
    CheckpointError.exit_code: "checkpoint error",
    DivergenceError.exit_code: "training diverged (cost became NaN or infinite)",
    RunIOError.exit_code: "I/O error (run folder exists, disk full, permission denied)",
    ClusterError.exit_code: "cluster error (scheduler unreachable or lost); the run can be resumed",
    TrialsFailed.exit_code: "a sweep ended with failed trials (trials.csv's error column says why)",
    70: "internal error (a bug: rerun with --debug for the traceback)",
    130: "interrupted (Ctrl-C); the run can be resumed",
}
