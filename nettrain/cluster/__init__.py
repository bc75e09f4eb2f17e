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
from typing import Any, Iterator, Optional

from ..errors import MissingExtra
from .quiet import SHOW_DASK_LOGS, quiet_dask, show_dask_logs

__all__ = ["INSTALL", "SHOW_DASK_LOGS", "describe", "open_session", "quiet_dask", "require_dask", "show_dask_logs",
           "step_advice"]

# A step on a cluster is a round trip — θ out, one task per partition, the sums back — measured at about 30 ms on
# a LocalCluster of two processes here (docs/cluster.md), whatever m is. A small network's products run at a few
# 10⁹ multiply-adds a second on one core (benchmarks/README.md): below ROUND_TRIP of those a step, the cluster
# costs more than it shares out.
ROUND_TRIP_SECONDS = 0.03
MULTIPLY_ADDS_PER_SECOND = 5e9
PAYS_AT = 10  # a cluster pays once a step's own compute is this many round trips

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


def describe(source: Any) -> str:
    """The cluster a run's train split lives on, for the run's header: where, its workers and partitions."""
    session = source.session
    where = "a local Dask cluster" if session.address == "local" else f"the Dask cluster at {session.address}"
    return f"{where} ({len(session.workers())} workers, {source.partitions} partitions)"


def step_advice(multiply_adds: int, per_example: int) -> Optional[str]:
    """One warning line when a step's compute (multiply_adds, on one core) is below the cluster's round trip: the
    run would train faster in this process; and from how many rows of this network a cluster pays."""
    seconds = multiply_adds / MULTIPLY_ADDS_PER_SECOND
    if seconds >= ROUND_TRIP_SECONDS:
        return None
    rows = PAYS_AT * ROUND_TRIP_SECONDS * MULTIPLY_ADDS_PER_SECOND / max(1, per_example)
    return (f"a step of this problem computes in about {1000 * seconds:.2g} ms on one core, below the cluster's "
            f"round trip of about {1000 * ROUND_TRIP_SECONDS:.0f} ms a step: it trains faster in this process "
            f"(--set cluster=null); a cluster pays from about {rows:,.0f} rows of this network")