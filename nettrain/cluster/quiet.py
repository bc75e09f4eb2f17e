"""Dask's own log lines held back while nettrain drives a cluster: nettrain says what happened, in one line.

A lost scheduler or worker, a cancelled future, a reconnect attempt or an event loop closing make Dask's
client (the `distributed.*` loggers), tornado and asyncio log at WARNING and ERROR, often with a traceback —
for faults that session.py handles itself: a step retried whole, or a ClusterError naming the address and
(runs.fit adds it) the command that resumes. Shown, they read like a crash before nettrain's own line.

    with quiet_dask():          # around everything that drives the cluster (open_session does it)
        ...

raises those loggers, and every logger below them that has a level of its own (Dask sets distributed.client
and tornado.application, among others), to CRITICAL, and puts each level back as it was when the block ends,
however it ends: a library leaves the process's logging as it found it. Loggers created inside the block
have no level of their own and follow their parent's. CRITICAL stays visible (a message that cannot be
serialised, a bug in Dask): it is not one of the faults handled here.

NETTRAIN_DASK_LOGS=1 in the environment (SHOW_DASK_LOGS; nettrain --debug sets it for its command) lets
everything through, for someone diagnosing the cluster.

Left out on purpose: the workers' and the scheduler's own logs (their processes' terminals, or with
address: local the workers' stderr, at the level LocalCluster's silence_logs gives them); warnings.warn.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator, Optional

SHOW_DASK_LOGS = "NETTRAIN_DASK_LOGS"  # the environment variable: 1 lets Dask's log lines through
LOGGERS = ("distributed", "tornado", "asyncio")  # where Dask's client, its event loop and asyncio log


def show_dask_logs() -> bool:
    """True when the environment asks for Dask's own log lines (NETTRAIN_DASK_LOGS set, and not 0)."""
    return os.environ.get(SHOW_DASK_LOGS, "").strip() not in ("", "0")


def _held() -> list[logging.Logger]:
    """The LOGGERS themselves, and every logger below one of them that has a level of its own."""
    below = [logger for name, logger in sorted(logging.Logger.manager.loggerDict.items())
             if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET
             and any(name.startswith(root + ".") for root in LOGGERS)]
    return [logging.getLogger(root) for root in LOGGERS] + below


@contextlib.contextmanager
def quiet_dask(show: Optional[bool] = None) -> Iterator[None]:
    """Inside the block, Dask, tornado and asyncio log at CRITICAL only; their levels restored after.

    show: True lets everything through (nothing is changed); None: as the environment says (SHOW_DASK_LOGS).
    Enter it after Dask is imported: importing distributed sets its loggers' levels from Dask's config.
    """
    if show is None:
        show = show_dask_logs()
    if show:
        yield
        return
    levels = [(logger, logger.level) for logger in _held()]
    try:
        for logger, level in levels:
            if level < logging.CRITICAL:
                logger.setLevel(logging.CRITICAL)
        yield
    finally:
        for logger, level in levels:
            logger.setLevel(level)
