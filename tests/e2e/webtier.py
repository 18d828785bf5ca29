"""The web tier for browser tests: delivery (serving the storefront) and the collector, on free
ports, in an event loop on a background thread (the test drives Chromium from the main thread)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from pipeline.collector import CollectorOptions, CollectorService
from pipeline.delivery import DeliveryOptions, DeliveryService
from pipeline.settings import Settings
from pipeline.web.visitor_token import VisitorTokens

WRITE_KEY = "e2e-write-key"
#: The visitor token key of both services (tests mint tokens for the visitors they preset).
TOKEN_KEY = "e2e-visitor-token-key-0123456789"
#: The site's identity key (its server signs user ids: ``userHash``).
IDENTITY_KEY = "e2e-identity-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebTier:
    """``with WebTier(settings, budget_ms=...) as tier:`` — ``tier.shop`` is the storefront URL."""

    def __init__(self, settings: Settings, budget_ms: int = 150, max_wait_ms: int = 1000,
                 consent_required: bool = True) -> None:
        """``consent_required=False`` is the storefront without its consent banner (``rtp
        delivery --no-consent-banner``, for a worker in opt-out mode, the default)."""
        settings = dataclasses.replace(settings, visitor_token_keys=TOKEN_KEY)
        self.settings = settings
        delivery_port, collector_port = free_port(), free_port()
        self.delivery_url = f"http://127.0.0.1:{delivery_port}"
        self.collector_url = f"http://127.0.0.1:{collector_port}"
        self.delivery = DeliveryService(settings, DeliveryOptions(
            http_port=delivery_port, collector_url=self.collector_url, write_key=WRITE_KEY,
            budget_ms=budget_ms, max_wait_ms=max_wait_ms, consent_required=consent_required))
        self.collector = CollectorService(settings, CollectorOptions(
            http_port=collector_port, write_keys=frozenset({WRITE_KEY}),
            identity_keys=frozenset({IDENTITY_KEY}), cors_origins=frozenset({self.delivery_url})))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="e2e-web-tier",
                                       daemon=True)

    @property
    def shop(self) -> str:
        return f"{self.delivery_url}/shop/"

    def _run(self, coroutine: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def __enter__(self) -> WebTier:
        self.thread.start()
        self._run(self.collector.start())
        self._run(self.delivery.start())
        # Ready as a load balancer would see it: after the heap settle, whose pause (over a
        # test process's whole heap: 1.2 s seen) would otherwise fall inside a page's budget.
        deadline = time.monotonic() + 60
        while self.get("/readyz")[0] != 200:
            if time.monotonic() > deadline:
                raise AssertionError(f"delivery not ready after 60 s: {self.get('/readyz')}")
            time.sleep(0.05)  # polling the service's readiness
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._run(self.delivery.stop())
            self._run(self.collector.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    @staticmethod
    def token(visitor: str) -> str:
        """A visitor token for ``visitor`` that both services accept."""
        return VisitorTokens((TOKEN_KEY,)).issue(visitor)

    def decisions(self, visitor: str, slots: str | None = None) -> tuple[int, Any]:
        """GET /v1/decisions for ``visitor`` with its token."""
        query = urllib.parse.urlencode({"visitor": visitor, "token": self.token(visitor),
                                        **({"slots": slots} if slots else {})})
        return self.get(f"/v1/decisions?{query}")

    def get(self, path: str) -> tuple[int, Any]:
        """GET ``path`` on delivery; (status, JSON body)."""
        try:
            with urllib.request.urlopen(self.delivery_url + path, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
