"""The train split's additive sums on a Dask cluster (the config's `cluster:` section; the dask extra).

    partitions.py   worker side, no Dask: a partition's rows read from the file, kept as a sums.Backprop,
                    and its sums at θ; standardisation's per-partition statistics
    session.py      client side: connecting (a LocalCluster, or a running scheduler), the partitions held on
                    the workers, ClusterSums (the Objective's source of sums), retrying a step on a lost worker
    quiet.py        quiet_dask(): Dask's own log lines held back while a session is open (no Dask import)

A cluster run is the same computation as a local one with train.chunk_size = ⌈m/partitions⌉: each partition
is one chunk, and the client adds the chunks' sums in partition order, then network.finish divides by m and
adds the λ terms as for every other source. Only the statistics of standardisation are combined differently
(per-partition statistics merged; the last bits may differ from a local run's).

Left out on purpose: minibatch steps (refused by the config: a round trip per few rows), and validation and
test metrics, which stay on the client (those splits are small). Importing this package does not import
Dask; open_session does, and says how to install it when it is missing.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from ..errors import MissingExtra
from .quiet import SHOW_DASK_LOGS, quiet_dask, show_dask_logs

__all__ = ["INSTALL", "SHOW_DASK_LOGS", "open_session", "quiet_dask", "require_dask", "show_dask_logs"]

INSTALL = 'pip install -e ".[dask]"'


def require_dask() -> None:
    """MissingExtra, one line, when dask.distributed cannot be imported."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise MissingExtra(f"the config's cluster section needs dask.distributed, which is not installed: {INSTALL} "
                           "(or remove the cluster section to train in this process)") from None


@contextlib.contextmanager
def open_session(cluster_cfg: Any) -> Iterator[Any]:
    """A session.Session for the config's cluster section, closed when the block ends, and Dask's own log
    lines held back from connecting to closing (quiet_dask: nettrain reports the faults it handles itself)."""
    require_dask()  # imported before quiet_dask: importing distributed sets its loggers' levels
    from .session import Session

    with quiet_dask(), Session.open(cluster_cfg) as session:
        yield session
