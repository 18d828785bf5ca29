"""Child processes rtp jobs start: personalization workers and the web tier."""

from pipeline.processes.web import WebProcess, free_port
from pipeline.processes.worker import WorkerProcess, wait_caught_up

__all__ = ["WebProcess", "WorkerProcess", "free_port", "wait_caught_up"]
