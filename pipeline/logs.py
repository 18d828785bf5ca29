"""structlog, configured once: JSON in production, readable on a terminal.

Bind ``visitor_id``, ``session_id`` and ``decision_id`` with
``structlog.contextvars.bind_contextvars`` or ``log.bind``; never log personal
data (emails, IPs, names): only ids and counts.

>>> configure_logging("json", "warning")
>>> structlog.get_logger("doc").info("not shown")  # below the level
"""

from __future__ import annotations

import logging
import sys

import structlog

__all__ = ["configure_logging"]


def _stderr_logger(*_: object) -> structlog.PrintLogger:
    return structlog.PrintLogger(file=sys.stderr)


def configure_logging(fmt: str = "auto", level: str = "info") -> None:
    """Configure structlog and the stdlib root logger (Faust/aiokafka log through it).

    ``fmt`` is ``"json"``, ``"console"`` or ``"auto"`` (console when stderr is a TTY).
    """
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown log level {level!r}: use debug, info, warning or error")
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        # Look sys.stderr up per logger, not once: it may be replaced later (pytest's
        # capture, a daemon's redirection) and the old stream closed.
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=numeric_level, stream=sys.stderr, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
