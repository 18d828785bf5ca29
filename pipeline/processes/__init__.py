"""Child processes rtp jobs start: personalization workers (and later delivery/collector)."""

from pipeline.processes.worker import WorkerProcess, wait_caught_up

__all__ = ["WorkerProcess", "wait_caught_up"]
