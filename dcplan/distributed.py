"""Dask clusters for dcplan's parallel work: one context manager that yields a Client.

:func:`cluster` connects to a running scheduler (``tcp://HOST:PORT``) or starts a
LocalCluster of single-threaded worker processes on this machine and closes it on exit.
Sweeps use it for their scenario solves; any other per-site or per-scenario work can
submit its tasks to the same Client.

HiGHS's MIP search is essentially serial and Python holds the GIL while Pyomo builds a
model, so dcplan runs one task per process (``threads_per_worker=1``) rather than several
threads in one process.

The local cluster's workers are set up for long single-threaded tasks (:data:`WORKER_CONFIG`):
every CPU cycle a worker spends beside its task is taken from the task running on the other
core. With Dask's defaults, 8 scenarios of a 100-site sweep on one worker took 73.7 CPU
seconds, of which 10.8 s in the worker's threads beside the task (the statistical profiler
samples the task's stack every 10 ms, the event-loop watchdog wakes every 20 ms) and 15.1 s
in the kernel: the nanny's ``MALLOC_TRIM_THRESHOLD_=65536`` makes glibc hand freed memory
back at once and switches off its adaptive mmap threshold, so every large numpy temporary
is mapped and zero-filled anew. With these settings the threads beside the task took 4.2 s
and the kernel 3.4 s (benchmarks/bench_sweep.py prints these figures). Thread pools of
numerical libraries stay at one thread (``OMP_NUM_THREADS`` and its kin), as Dask sets them.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dcplan.errors import ClusterError, Problem, SpecError

logger = logging.getLogger(__name__)

#: seconds to wait for a running scheduler to answer before giving up
CONNECT_TIMEOUT_S = 10.0

#: Dask settings of the workers of a local cluster (see the module docstring): no
#: statistical profiler, a slower event-loop watchdog and system monitor, and the worker
#: environment without Dask's ``MALLOC_TRIM_THRESHOLD_`` but with single-threaded BLAS/OpenMP
WORKER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.tick.limit": "60s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.nanny.pre-spawn-environ": {
        "OMP_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "NUMEXPR_NUM_THREADS": 1,
    },
}

_ADDRESS = re.compile(r"^(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def check_address(address: str) -> str:
    """Return ``address`` if it reads ``tcp://HOST:PORT`` (or ``tls://``); else raise SpecError."""
    text = str(address).strip()
    match = _ADDRESS.match(text)
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise SpecError([Problem("--scheduler", f"{text[:80]!r} is not a scheduler address",
                                 "write tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 (the address "
                                 "`dask scheduler` prints)")])
    return text


@contextmanager
def cluster(workers: int | None = None, scheduler: str | None = None,
            **local_options: Any) -> Iterator[Any]:
    """Yield a ``dask.distributed.Client``; close it (and any cluster started here) on exit.

    Parameters
    ----------
    workers : int, optional
        Worker processes of the LocalCluster started when no ``scheduler`` is given
        (default: :func:`available_cores`). Each runs one task at a time.
    scheduler : str, optional
        Address of a running scheduler, ``tcp://HOST:PORT``. Its workers are used as they
        are; ``workers`` must then be left out.
    **local_options
        Passed to ``LocalCluster`` (e.g. ``memory_limit``).

    Raises
    ------
    SpecError
        ``scheduler`` is not an address, both ``workers`` and ``scheduler`` are given, or
        ``workers`` is below 1.
    ClusterError
        The scheduler did not answer within :data:`CONNECT_TIMEOUT_S`.
    """
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler is not None and workers is not None:
        raise SpecError([Problem("--workers", "a worker count and a scheduler address were both given",
                                 "leave out --workers: a running scheduler brings its own workers")])
    if workers is not None and workers < 1:
        raise SpecError([Problem("--workers", f"{workers} worker processes", "give 1 or more")])
    if scheduler is not None:
        address = check_address(scheduler)
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            msg = f"cannot reach the Dask scheduler at {address}: {str(exc).splitlines()[0][:200]}"
            raise ClusterError(msg) from None
        logger.info("connected to %s (%d workers)", address,
                    len(client.scheduler_info().get("workers", {})))
        try:
            yield client
        finally:
            client.close()
        return
    n = workers if workers is not None else available_cores()
    options = {
        "n_workers": n, "threads_per_worker": 1, "processes": True,
        "dashboard_address": ":0",  # a free port: never a "port 8787 in use" warning
        # dask's own chatter (start-up INFO, "event loop unresponsive" on a busy machine)
        # is not the planner's business; errors still show
        "silence_logs": logging.ERROR,
        **local_options,
    }
    with dask.config.set(WORKER_CONFIG):  # the nannies hand this config to their workers
        local = LocalCluster(**options)
    client = Client(local)
    logger.info("started a local Dask cluster of %d worker processes at %s", n, local.scheduler_address)
    try:
        yield client
    finally:
        client.close()
        local.close()


def worker_versions(client: Any) -> dict[str, str]:
    """The dcplan version each worker of ``client`` imports (``"missing"`` where it cannot)."""
    return client.run(_dcplan_version)


def check_workers(client: Any, address: str | None = None) -> int:
    """Raise :class:`ClusterError` unless ``client`` has workers that run this dcplan.

    Returns the number of workers. ``address`` names the scheduler in the message.
    """
    from dcplan import __version__

    where = f"the scheduler at {address}" if address else "the Dask cluster"
    versions = worker_versions(client)
    if not versions:
        raise ClusterError(f"{where} has no workers; start some with "
                           f"`dask worker {address or 'tcp://HOST:PORT'}`")
    other = {w: v for w, v in versions.items() if v != __version__}
    if other:
        raise ClusterError(f"workers {sorted(other)[:5]} run dcplan {sorted(set(other.values()))}, this "
                           f"process dcplan {__version__}; install the same version on every worker")
    return len(versions)


def _dcplan_version() -> str:
    try:
        from dcplan import __version__
    except ImportError:
        return "missing"
    return __version__


__all__ = ["CONNECT_TIMEOUT_S", "WORKER_CONFIG", "available_cores", "check_address", "check_workers", "cluster",
           "worker_versions"]
