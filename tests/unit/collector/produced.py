"""What a fake sink got, without the claim index entries (pipeline.profiles.claims): the
collector produces those beside a client's records, and never counts them as accepted."""

from __future__ import annotations

from typing import Any

from pipeline.serde import Codec

_CODEC = Codec.default()


def is_index_entry(value: bytes | None) -> bool:
    """Whether a produced value is a claim index entry (a ProfileUpdate of kind claim)."""
    if value is None:
        return False
    name, record = _CODEC.decode(value)
    return name == "ProfileUpdate" and record.get("kind") == "claim"


def client_records(produced: list[tuple[str, bytes | None, bytes | None]]) -> list[Any]:
    """The produced (topic, key, value) triples that carry a client's records."""
    return [p for p in produced if not is_index_entry(p[2])]
