"""Fixtures for the sessions tests: schema-valid ClickEvent dicts."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.validation import validate

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
#: 2023-11-14T22:13:20Z, a Tuesday; 23:13:20 in Amsterdam.
BASE_MS = 1_700_000_000_000


def _schema(name: str) -> Any:
    return fastavro.parse_schema(json.loads((SCHEMAS / f"{name}.avsc").read_text()))


@pytest.fixture(scope="session")
def signal_schema() -> Any:
    return _schema("StruggleSignal")


@pytest.fixture(scope="session")
def make_event() -> Callable[..., dict[str, Any]]:
    """Build a ClickEvent dict; ``at`` is milliseconds after ``BASE_MS`` (or ``time`` absolute)."""
    schema = _schema("ClickEvent")
    ids = itertools.count()

    def build(
        event_type: str = "page_view",
        at: int = 0,
        *,
        time: int | None = None,
        event_id: str | None = None,
        visitor_id: str = "v1",
        user_id: str | None = None,
        page_type: str = "home",
        category: str | None = None,
        product_id: str | None = None,
        timezone: str | None = "Europe/Amsterdam",
        country: str | None = "NL",
        device: str = "desktop",
        traffic_source: str = "direct",
        sector: str = "ecommerce",
        industry: str | None = None,
        scroll: float | None = None,
        cart_value: float | None = None,
        purchase_value: float | None = None,
        click: tuple[int, int, bool] | None = None,
        custom: str | None = None,
        form_id: str | None = None,
        query: str | None = None,
        validate_schema: bool = True,
    ) -> dict[str, Any]:
        event = {
            "event_id": event_id or f"ev-{next(ids)}",
            "event_type": event_type,
            "visitor_id": visitor_id,
            "user_id": user_id,
            "session_hint": None,
            "event_time": BASE_MS + at if time is None else time,
            "page": {"url": f"https://shop.example/{page_type}", "page_type": page_type,
                     "category": category, "product_id": product_id, "referrer": None},
            "context": {"traffic_source": traffic_source, "campaign": None, "device": device,
                        "country": country, "region": None, "timezone": timezone,
                        "sector": sector, "industry": industry},
            "click": None if click is None else {"x": click[0], "y": click[1],
                                                 "target": "#t", "interactive": click[2]},
            "scroll": None if scroll is None else {"depth_pct": scroll},
            "mouse": None,
            "search": None if query is None else {"query": query, "results": 1},
            "cart": None if cart_value is None else {"product_id": product_id or "p",
                                                     "quantity": 1, "value": cart_value,
                                                     "currency": "EUR"},
            "purchase": None if purchase_value is None else {
                "order_id": f"o-{event_id}", "value": purchase_value, "currency": "EUR",
                "kind": "purchase"},
            "form": None if form_id is None else {"form_id": form_id, "field": None,
                                                  "error": "x"},
            "custom": None if custom is None else {"name": custom, "properties": {}},
        }
        if validate_schema:
            assert validate(event, schema, raise_errors=True)
        return event

    return build
