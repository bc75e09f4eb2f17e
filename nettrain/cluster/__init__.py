"""A run's additive sums on a Dask cluster, every split held by the workers (the config's `cluster:` section; the
dask extra).

    partitions.py   worker side, no Dask: a partition's rows read from the file, kept as a sums.Backprop,
                    and its sums at θ; the sums over a partition's rows data.prepare asks for
    session.py      client side: connecting (a LocalCluster, or a running scheduler), the partitions held on
                    the workers, ClusterSums (the Objective's source of sums), retrying a step on a lost worker

A cluster run is the same computation as a local one with train.chunk_size = ⌈m/partitions⌉: each partition
is one chunk, and the client adds the chunks' sums in partition order, then network.finish divides by m and
adds the λ terms as for every other source. Only the statistics of standardisation are added differently
(the same two passes of sums, over the partitions: the last bits may differ from a local run's).

The validation and test splits are held on the workers as well, their metrics summed there. Left out on
purpose: minibatch steps (refused by the config: a round trip per few rows). Importing this package does not
import Dask; open_session does, and says how to install it when it is missing.
"""

from __future__ import annotations

from typing import Any

from ..errors import MissingExtra

INSTALL = 'pip install -e ".[dask]"'


def require_dask() -> None:
    """MissingExtra, one line, when dask.distributed cannot be imported."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise MissingExtra(f"the config's cluster section needs dask.distributed, which is not installed: {INSTALL} "
                           "(or remove the cluster section to train in this process)") from None


def open_session(cluster_cfg: Any) -> Any:
    """A session.Session for the config's cluster section (a context manager that closes what it started)."""
    require_dask()
    from .session import Session

    return Session.open(cluster_cfg)
