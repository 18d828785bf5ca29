"""The worker that turns the test's clickstream into decisions: the real one when it exists.

If ``topologies/personalize.py`` exists, the real worker runs as a child process
(``rtp worker`` through :class:`tests.integration.worker_process.WorkerProcess`,
on the test's topic prefix, with its own RocksDB folder) and the context manager
waits until its consumer group holds the partitions. Otherwise the in-test
:class:`~tests.e2e.standin.StandInWorker` stands in. It yields which one ran, so
tests can say which assertions were made against the real worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.settings import PROJECT_ROOT, Settings
from tests.e2e.standin import StandInWorker

WORKER_MODULE = PROJECT_ROOT / "topologies" / "personalize.py"
REAL = "real worker (topologies/personalize.py via `rtp worker`)"
STAND_IN = "in-test stand-in (topologies/personalize.py does not exist yet)"


def real_worker_exists() -> bool:
    """Whether the personalization topology has landed."""
    return WORKER_MODULE.is_file()


@contextmanager
def personalization_worker(settings: Settings, workdir: Path,
                           learner: bool = True) -> Iterator[str]:
    """Run the worker for ``settings`` (prefix, broker); yields :data:`REAL` or :data:`STAND_IN`.

    The real worker's log is ``workdir/worker.log``; ``learner=False`` keeps its model the
    fresh one (what it decides then depends on nothing the test's pages did before).
    """
    if not real_worker_exists():
        standin = StandInWorker(settings).start()
        try:
            yield STAND_IN
        finally:
            standin.stop()
        return
    from tests.integration.worker_process import WorkerProcess

    worker = WorkerProcess(settings, workdir / "data", workdir / "worker.log", learner=learner)
    try:
        worker.wait_ready()
        yield REAL
    finally:
        worker.stop()
