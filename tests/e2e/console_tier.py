"""The console service for browser tests: on a free port, in an event loop on a background
thread (the test drives Chromium from the main thread)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from playwright.sync_api import Page

from pipeline.console import ConsoleOptions, ConsoleService
from pipeline.settings import Settings
from tests.e2e.webtier import free_port

#: The operator key of the consoles browser tests start.
KEY = "e2e-console-key-0123"


class ConsoleTier:
    """``with ConsoleTier(settings) as console:`` — ``console.url`` is the page."""

    def __init__(self, settings: Settings, options: ConsoleOptions | None = None) -> None:
        self.port = free_port()
        self.service = ConsoleService(settings, options or ConsoleOptions(
            http_port=self.port, report_every_s=0.0, n_boot=50, key=KEY))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="e2e-console",
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/console/"

    @property
    def login_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/console/login"

    def login(self, page: Page, key: str = KEY) -> None:
        """Log ``page`` in through the login form (it lands on the console)."""
        page.goto(self.login_url)
        page.fill("#key", key)
        page.click("#login")
        page.wait_for_url(self.url)

    def _run(self, coroutine: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def __enter__(self) -> ConsoleTier:
        self.thread.start()
        self._run(self.service.start())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._run(self.service.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
