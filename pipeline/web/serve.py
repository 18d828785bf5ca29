"""Run an aiohttp app on a port and stop it cleanly on SIGTERM/SIGINT.

:func:`start_app` binds (port 0 picks a free one, reported back) and returns a
:class:`ServedApp`; :func:`stop_on_signals` turns SIGTERM/SIGINT into an
:class:`asyncio.Event`. A service starts its parts, waits for the event, and
closes them in reverse order: aiohttp then stops accepting, runs the app's
``on_shutdown`` hooks (which end open streams) and waits for requests in flight.

>>> import asyncio
>>> async def demo() -> int:
...     served = await start_app(web.Application(), "127.0.0.1", 0)
...     try:
...         return served.port
...     finally:
...         await served.close()
>>> asyncio.run(demo()) > 0
True
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

__all__ = ["ServedApp", "serve_until_stopped", "start_app", "stop_on_signals"]


@dataclass
class ServedApp:
    """An app listening on ``host:port`` (see :func:`start_app`).

    >>> ServedApp(None, "0.0.0.0", 1).port  # type: ignore[arg-type]
    1
    """

    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        """``http://host:port`` of the app.

        >>> ServedApp(None, "127.0.0.1", 8080).url  # type: ignore[arg-type]
        'http://127.0.0.1:8080'
        """
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        """Stop accepting, run shutdown hooks, finish requests in flight, release the port."""
        await self.runner.cleanup()


async def start_app(app: web.Application, host: str, port: int,
                    shutdown_timeout: float = 5.0, idle_timeout_s: float = 15.0,
                    lingering_s: float = 2.0) -> ServedApp:
    """Serve ``app`` on ``host:port`` (0 = a free port) and return where it listens.

    ``idle_timeout_s`` is the header and keep-alive timeout: a connection that has
    not sent a complete request head within it, counted from when it connected or
    from the end of its last response, is closed (aiohttp's ``keepalive_timeout``,
    which runs from the connection's start and is not extended by partial data).
    Bodies are timed by the handlers (:func:`~pipeline.web.untrusted.read_body`).
    After an answer given before its request's body was read (413, 408), the rest
    of the body is read and dropped for at most ``lingering_s`` (so the client sees
    the answer rather than a reset), then the connection is closed.

    >>> async def where() -> str:
    ...     served = await start_app(web.Application(), "127.0.0.1", 0)
    ...     await served.close()
    ...     return served.url.split(":")[1]
    >>> asyncio.run(where())
    '//127.0.0.1'
    """
    if idle_timeout_s <= 0:
        raise ValueError("idle_timeout_s must be positive (0 would never close idle "
                         "connections)")
    runner = web.AppRunner(app, handle_signals=False, access_log=None,
                           shutdown_timeout=shutdown_timeout, keepalive_timeout=idle_timeout_s,
                           lingering_time=lingering_s)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    bound = port
    for address in runner.addresses:
        if isinstance(address, tuple):
            bound = int(address[1])
            break
    return ServedApp(runner, host, bound)


def stop_on_signals(stop: asyncio.Event,
                    signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
                    ) -> Callable[[], None]:
    """Set ``stop`` when one of ``signals`` arrives; returns a function that uninstalls.

    >>> import os
    >>> async def interrupted() -> bool:
    ...     stop = asyncio.Event()
    ...     uninstall = stop_on_signals(stop, (signal.SIGUSR1,))
    ...     os.kill(os.getpid(), signal.SIGUSR1)
    ...     await asyncio.wait_for(stop.wait(), 5)
    ...     uninstall()
    ...     return stop.is_set()
    >>> asyncio.run(interrupted())
    True
    """
    loop = asyncio.get_running_loop()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)

    def uninstall() -> None:
        for sig in signals:
            loop.remove_signal_handler(sig)

    return uninstall


async def serve_until_stopped(app: web.Application, host: str, port: int,
                              stop: asyncio.Event,
                              on_ready: Callable[[ServedApp], None] | None = None) -> None:
    """Serve ``app`` until ``stop`` is set, then close it gracefully.

    >>> async def once() -> list[int]:
    ...     stop, ports = asyncio.Event(), []
    ...     def ready(served: ServedApp) -> None:
    ...         ports.append(served.port)
    ...         stop.set()
    ...     await serve_until_stopped(web.Application(), "127.0.0.1", 0, stop, ready)
    ...     return ports
    >>> len(asyncio.run(once()))
    1
    """
    served = await start_app(app, host, port)
    try:
        if on_ready is not None:
            on_ready(served)
        await stop.wait()
    finally:
        await served.close()
