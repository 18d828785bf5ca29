"""Scripted visitors for integration tests: the seed's stories as ClickEvent sequences."""

from __future__ import annotations

from typing import Any

from pipeline.client import click_event


class Script:
    """Builds one visitor's events with increasing event times and unique ids."""

    def __init__(self, visitor_id: str, start_ms: int, sector: str = "ecommerce") -> None:
        self.visitor_id = visitor_id
        self.t = start_ms
        self.sector = sector
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, after_ms: int, **parts: Any) -> dict[str, Any]:
        self.t += after_ms
        event = click_event(self.visitor_id, kind, self.t, sector=self.sector,
                            event_id=f"{self.visitor_id}-{len(self.events)}", **parts)
        self.events.append(event)
        return event


def headphones_shopper(visitor_id: str, start_ms: int) -> list[dict[str, Any]]:
    """Views the noise-cancelling headphones three times, then dwells on Shipping & Returns."""
    s = Script(visitor_id, start_ms)
    for _ in range(3):
        s.add("page_view", 15_000, page_type="product", url="https://shop.example/p/nc700",
              product_id="nc700", category="audio")
        s.add("page_view", 15_000, page_type="listing", url="https://shop.example/c/audio",
              product_id=None, category="audio")
    s.add("page_view", 5_000, page_type="shipping_returns", url="https://shop.example/shipping",
          product_id=None, category=None)
    for _ in range(4):
        s.add("mouse_move", 10_000, page_type="shipping_returns",
              url="https://shop.example/shipping", product_id=None, category=None,
              mouse={"samples": [{"x": 300, "y": 400, "dt_ms": 0}]})
    return s.events


def rage_clicker(visitor_id: str, start_ms: int) -> list[dict[str, Any]]:
    """Clicks the same spot four times within a second."""
    s = Script(visitor_id, start_ms)
    s.add("page_view", 1_000, page_type="checkout", url="https://shop.example/checkout",
          product_id=None)
    for i in range(4):
        s.add("click", 200, page_type="checkout", url="https://shop.example/checkout",
              product_id=None, click={"x": 500 + i, "y": 300, "target": "#pay",
                                      "interactive": True})
    return s.events


def browser(visitor_id: str, start_ms: int, pages: int = 4) -> list[dict[str, Any]]:
    """Page views across the catalogue (something to decide on at every step)."""
    s = Script(visitor_id, start_ms)
    for i in range(pages):
        s.add("page_view", 20_000, page_type="product", url=f"https://shop.example/p/{i}",
              product_id=f"p{i}", category="audio")
    return s.events


def home_visit(visitor_id: str, start_ms: int) -> list[dict[str, Any]]:
    """One home page view: eligible for the traffic-source hero banner and no action."""
    s = Script(visitor_id, start_ms)
    s.add("page_view", 1_000, page_type="home", url="https://shop.example/", product_id=None,
          category=None)
    return s.events
