"""Tests use the same worker launcher as ``rtp demo``."""

from pipeline.processes import WorkerProcess, wait_caught_up

__all__ = ["WorkerProcess", "wait_caught_up"]
