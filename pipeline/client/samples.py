"""Well-formed example records, one per ClickEvent type: for the demo, docs and tests.

>>> events = sample_events("v-1", now_ms=1_700_000_000_000)
>>> sorted({e["event_type"] for e in events}) == sorted(EVENT_TYPES)
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["EVENT_TYPES", "click_event", "sample_events"]

EVENT_TYPES = ("page_view", "click", "scroll", "mouse_move", "search", "add_to_cart", "purchase",
               "form_error", "form_submit", "custom")


def click_event(visitor_id: str, event_type: str, event_time: int, *, event_id: str | None = None,
                url: str = "https://shop.example/p/headphones-nc700", page_type: str = "product",
                category: str | None = "audio", product_id: str | None = "nc700",
                sector: str = "ecommerce", **parts: Any) -> dict[str, Any]:
    """A ClickEvent with sensible defaults; ``parts`` sets the type's sub-record.

    >>> click_event("v", "click", 1, click={"x": 1, "y": 2, "target": "#buy",
    ...     "interactive": True})["click"]["target"]
    '#buy'
    """
    event: dict[str, Any] = {
        "event_id": event_id or f"{visitor_id}-{event_type}-{event_time}",
        "event_type": event_type,
        "visitor_id": visitor_id,
        "user_id": None,
        "session_hint": None,
        "event_time": event_time,
        "page": {"url": url, "page_type": page_type, "category": category,
                 "product_id": product_id, "referrer": None},
        "context": {"traffic_source": "search", "campaign": None, "device": "desktop",
                    "country": "DE", "region": None, "timezone": "Europe/Berlin",
                    "sector": sector, "industry": None},
        "click": None, "scroll": None, "mouse": None, "search": None, "cart": None,
        "purchase": None, "form": None, "custom": None,
    }
    event.update(parts)
    return event


def sample_events(visitor_id: str, now_ms: int) -> list[dict[str, Any]]:
    """One event of every type for ``visitor_id``, a second apart, ending at ``now_ms``."""
    parts: list[tuple[str, dict[str, Any]]] = [
        ("page_view", {}),
        ("click", {"click": {"x": 410, "y": 220, "target": "#add-to-cart", "interactive": True}}),
        ("scroll", {"scroll": {"depth_pct": 62.5}}),
        ("mouse_move", {"mouse": {"samples": [{"x": 10, "y": 20, "dt_ms": 0},
                                              {"x": 30, "y": 25, "dt_ms": 50}]}}),
        ("search", {"search": {"query": "noise cancelling headphones", "results": 12}}),
        ("add_to_cart", {"cart": {"product_id": "nc700", "quantity": 1, "value": 349.0,
                                  "currency": "EUR"}}),
        ("form_error", {"form": {"form_id": "checkout", "field": "zip", "error": "invalid"}}),
        ("form_submit", {"form": {"form_id": "checkout", "field": None, "error": None}}),
        ("custom", {"custom": {"name": "calculator_change", "properties": {"input": "term"}}}),
        ("purchase", {"purchase": {"order_id": "o-1", "value": 349.0, "currency": "EUR",
                                   "kind": "purchase"}}),
    ]
    start = now_ms - 1000 * (len(parts) - 1)
    return [click_event(visitor_id, kind, start + 1000 * i, **part)
            for i, (kind, part) in enumerate(parts)]
