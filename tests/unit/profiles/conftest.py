"""Fixtures for the profiles tests: ProfileUpdate dicts validated against the schema."""

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


@pytest.fixture(scope="session")
def make_update() -> Callable[..., dict[str, Any]]:
    """Build a ProfileUpdate dict (validated against ProfileUpdate.avsc)."""
    schema = fastavro.parse_schema(
        json.loads((SCHEMAS / "ProfileUpdate.avsc").read_text()))
    ids = itertools.count()

    def build(kind: str, *, visitor_id: str = "v1", user_id: str | None = None,
              traits: dict[str, str] | None = None, personalization: bool | None = None,
              at: int = 1_700_000_000_000) -> dict[str, Any]:
        update = {
            "update_id": f"up-{next(ids)}",
            "kind": kind,
            "visitor_id": visitor_id,
            "user_id": user_id,
            "event_time": at,
            "traits": traits or {},
            "consent": None if personalization is None else {
                "personalization": personalization, "analytics": True},
        }
        assert validate(update, schema, raise_errors=True)
        return update

    return build
