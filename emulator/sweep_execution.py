"""Running a sweep's pending runs: joblib with loky processes on this machine, or joblib's Dask
backend on a cluster; stopping every worker when the sweep is told to stop.

A sweep stops on SIGTERM, SIGINT or SIGHUP (its workers are killed, not left running the
remaining points) and when it loses its Dask scheduler; `SweepStopped` then says why. The
finished runs stay in their folders, so the same command resumes.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from emulator.documents import ScenarioError

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))


class SweepStopped(Exception):
    """The sweep was stopped before every run finished (a signal, or the scheduler was lost)."""


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM, SIGINT and SIGHUP into `SweepStopped` while the sweep runs."""
    def stop(number: int, frame: Any) -> None:
        raise SweepStopped(f"stopped by {signal.Signals(number).name}")

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_pending(task: Callable[[Any], Any], pending: list[Any], out: Path, total: int, jobs: int, backend: str,
                scheduler: str | None, progress: Callable[[int, int], None] | None) -> None:
    """Run `task(run)` for the pending runs (each writes its own folder under `out`), reporting progress."""
    if not pending:
        return
    from joblib import Parallel, delayed, parallel_config

    done = total - len(pending)
    client = cluster = None
    with stop_on_signals():
        try:
            if backend == "dask":
                client, cluster = _dask_client(scheduler, jobs)
                config = parallel_config(backend="dask")
            else:
                config = parallel_config(backend="loky", n_jobs=jobs)
            out.mkdir(parents=True, exist_ok=True)
            with config:
                parallel = Parallel(n_jobs=jobs if backend != "dask" else -1, return_as="generator_unordered")
                for _ in parallel(delayed(task)(run) for run in pending):
                    done += 1
                    if progress is not None:
                        progress(done, total)
        except SweepStopped:
            _stop_workers()
            raise
        except (ScenarioError, KeyboardInterrupt):
            _stop_workers()
            raise
        except Exception as error:
            if client is None and backend != "dask":
                raise
            _stop_workers()
            raise SweepStopped(f"lost the Dask scheduler ({type(error).__name__}: {error})") from None
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()


def _stop_workers() -> None:
    """Kill the loky worker processes (they would otherwise go on with the remaining points)."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)


def _dask_client(scheduler: str | None, jobs: int) -> tuple[Any, Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ScenarioError([("--backend", "dask needs the optional dependency: pip install -e \".[dask]\"")]) from None
    if scheduler:
        try:
            return Client(scheduler, timeout=10), None
        except OSError as error:
            raise ScenarioError([("--scheduler", f"cannot reach the Dask scheduler {scheduler}: {error}")]) from None
    cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1")
    return Client(cluster), cluster
