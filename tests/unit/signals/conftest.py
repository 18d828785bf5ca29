"""Fixtures for the signals tests: schema-valid ClickEvent dicts and the StruggleSignal schema."""

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
BASE_MS = 1_700_000_000_000

EventFactory = Callable[..., dict[str, Any]]


def _schema(name: str) -> Any:
    return fastavro.parse_schema(json.loads((SCHEMAS / f"{name}.avsc").read_text()))


@pytest.fixture(scope="session")
def click_event_schema() -> Any:
    return _schema("ClickEvent")


@pytest.fixture(scope="session")
def signal_schema() -> Any:
    return _schema("StruggleSignal")


@pytest.fixture(scope="session")
def assert_valid_signal(signal_schema: Any) -> Callable[[dict[str, Any]], None]:
    def check(record: dict[str, Any]) -> None:
        assert validate(record, signal_schema, raise_errors=True)
        assert record["strength"] >= 1.0

    return check


@pytest.fixture(scope="session")
def make_event(click_event_schema: Any) -> EventFactory:
    """Build a ClickEvent dict; ``at`` is milliseconds after ``BASE_MS``."""
    ids = itertools.count()

    def build(
        event_type: str = "page_view",
        at: int = 0,
        *,
        event_id: str | None = None,
        visitor_id: str = "v1",
        page_type: str = "home",
        url: str | None = None,
        category: str | None = None,
        product_id: str | None = None,
        click: tuple[int, int, bool] | None = None,
        target: str = "#el",
        query: str | None = None,
        form_id: str | None = None,
        field: str | None = None,
        custom: str | None = None,
        properties: dict[str, str] | None = None,
        timezone: str | None = "Europe/Amsterdam",
        validate_schema: bool = True,
    ) -> dict[str, Any]:
        event = {
            "event_id": event_id or f"ev-{next(ids)}",
            "event_type": event_type,
            "visitor_id": visitor_id,
            "user_id": None,
            "session_hint": None,
            "event_time": BASE_MS + at,
            "page": {
                "url": url or f"https://shop.example/{page_type}/{product_id or ''}",
                "page_type": page_type,
                "category": category,
                "product_id": product_id,
                "referrer": None,
            },
            "context": {
                "traffic_source": "direct", "campaign": None, "device": "desktop",
                "country": "NL", "region": None, "timezone": timezone,
                "sector": "ecommerce", "industry": None,
            },
            "click": None if click is None else {
                "x": click[0], "y": click[1], "target": target, "interactive": click[2]},
            "scroll": {"depth_pct": 50.0} if event_type == "scroll" else None,
            "mouse": None,
            "search": None if query is None else {"query": query, "results": 4},
            "cart": None,
            "purchase": None,
            "form": None if form_id is None else {"form_id": form_id, "field": field,
                                                  "error": "invalid"},
            "custom": None if custom is None else {"name": custom,
                                                   "properties": properties or {}},
        }
        if validate_schema:
            assert validate(event, click_event_schema, raise_errors=True)
        return event

    return build
