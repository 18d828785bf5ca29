"""structlog, configured once: JSON in production, readable on a terminal.

Every line of an rtp process goes through the same renderer: structlog's own, and
the stdlib logging of Faust, aiokafka, mode and librdkafka (routed to the
``librdkafka`` logger by :func:`pipeline.kafka_log.kafka_config`), rendered by a
:class:`structlog.stdlib.ProcessorFormatter` on the root logger with the logger's
name as ``logger``.

Bind ``visitor_id``, ``session_id`` and ``decision_id`` with
``structlog.contextvars.bind_contextvars`` or ``log.bind``; never log personal
data (emails, IPs, names): only ids and counts.

>>> with restored_logging():  # the examples put the configuration back as they found it
...     configure_logging("json", "warning")
...     structlog.get_logger("doc").info("not shown")  # below the level
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from pipeline.kafka_log import KAFKA_LOGGER

__all__ = ["configure_logging", "logs_are_json", "restored_logging", "say"]

_STATE = {"json": False}


def _stderr_logger(*_: object) -> structlog.PrintLogger:
    return structlog.PrintLogger(file=sys.stderr)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """A stream handler that looks ``sys.stderr`` up per record, not once: it may be
    replaced later (pytest's capture, a daemon's redirection) and the old one closed."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _renderer(fmt: str) -> structlog.types.Processor:
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    _STATE["json"] = not use_console
    if use_console:
        return structlog.dev.ConsoleRenderer()
    return structlog.processors.JSONRenderer()


def logs_are_json() -> bool:
    """Whether :func:`configure_logging` chose JSON (production) the last time it ran.

    >>> with restored_logging():
    ...     configure_logging("console", "warning"); logs_are_json()
    ...     configure_logging("json", "warning"); logs_are_json()
    False
    True
    """
    return _STATE["json"]


def say(line: str) -> None:
    """A line for whoever started a service (where it listens, that it stops): printed on
    stdout when logs are for a terminal; with JSON logs, logged at info as one JSON line
    (event ``line``) like every other, so a log pipeline reads nothing else. Never give
    it a secret.

    >>> import contextlib, io, json
    >>> err = io.StringIO()
    >>> with restored_logging():
    ...     configure_logging("console", "info"); say("collector: http://127.0.0.1:8701/v1/batch")
    ...     with contextlib.redirect_stderr(err):
    ...         configure_logging("json", "info"); say("collector: stopping")
    collector: http://127.0.0.1:8701/v1/batch
    >>> json.loads(err.getvalue())["event"]
    'collector: stopping'
    """
    if not _STATE["json"]:
        print(line, flush=True)
        return
    structlog.get_logger("rtp.say").info(line)


@contextmanager
def restored_logging() -> Iterator[None]:
    """Whatever :func:`configure_logging` changes inside the block is put back after it:
    structlog's configuration, the root logger's handlers and level, the ``librdkafka``
    logger's level and :func:`logs_are_json` (for examples and tests that configure
    logging without leaving it changed for what runs next).

    >>> before = structlog.get_config()["wrapper_class"]
    >>> with restored_logging():
    ...     configure_logging("json", "error")
    >>> structlog.get_config()["wrapper_class"] is before
    True
    """
    configured, config = structlog.is_configured(), structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    kafka = logging.getLogger(KAFKA_LOGGER)
    kafka_level, state = kafka.level, dict(_STATE)
    try:
        yield
    finally:
        if configured:
            structlog.configure(**config)
        else:
            structlog.reset_defaults()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        kafka.setLevel(kafka_level)
        _STATE.update(state)


def configure_logging(fmt: str = "auto", level: str = "info") -> None:
    """Configure structlog and the stdlib root logger (Faust, aiokafka and librdkafka log
    through it) with one renderer.

    ``fmt`` is ``"json"``, ``"console"`` or ``"auto"`` (console when stderr is a TTY).
    librdkafka's notice and info lines show at ``debug`` only (warnings and errors always).

    >>> import contextlib, io, json
    >>> err = io.StringIO()
    >>> with restored_logging(), contextlib.redirect_stderr(err):
    ...     configure_logging("json", "info")
    ...     logging.getLogger("aiokafka.consumer").warning("heartbeat %s failed", "x")
    ...     logging.getLogger("librdkafka").info("BGQUEUE [thrd:background]: purging")
    >>> line = json.loads(err.getvalue())
    >>> line["event"], line["logger"], line["level"]
    ('heartbeat x failed', 'aiokafka.consumer', 'warning')
    """
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown log level {level!r}: use debug, info, warning or error")
    renderer = _renderer(fmt)
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamper,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    # The stdlib side (Faust, aiokafka, mode, librdkafka): same fields, same renderer.
    handler = _StderrHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            timestamper,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    ))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    kafka_level = numeric_level if numeric_level <= logging.DEBUG else max(
        numeric_level, logging.WARNING)
    logging.getLogger(KAFKA_LOGGER).setLevel(kafka_level)
