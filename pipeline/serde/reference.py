"""The ``avro`` package's encoder, kept as the reference the fast codec is checked against.

>>> from pipeline.serde.registry import SchemaRegistry
>>> ref = ReferenceCodec(SchemaRegistry.load())
>>> body = ref.encode_body("Outcome", {"outcome_id": "o", "decision_id": "d",
...     "visitor_id": "v", "kind": "shown", "value": 0.0, "event_time": 1,
...     "reported_by": "server"})
>>> ref.decode_body("Outcome", body)["kind"]
'shown'
"""

from __future__ import annotations

import io
import json
from typing import Any

import avro.io
import avro.schema

from pipeline.serde.registry import SchemaRegistry

__all__ = ["ReferenceCodec"]


class ReferenceCodec:
    """Avro binary bodies written and read by the Apache ``avro`` package."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self._schemas = {
            r.short_name: avro.schema.parse(json.dumps(r.schema)) for r in registry
        }

    def encode_body(self, name: str, record: dict[str, Any]) -> bytes:
        """The Avro binary encoding of ``record`` (no single-object header)."""
        buf = io.BytesIO()
        avro.io.DatumWriter(self._schemas[name]).write(record, avro.io.BinaryEncoder(buf))
        return buf.getvalue()

    def decode_body(self, name: str, body: bytes) -> dict[str, Any]:
        """Read an Avro binary body written with the current schema ``name``."""
        reader = avro.io.DatumReader(self._schemas[name])
        record = reader.read(avro.io.BinaryDecoder(io.BytesIO(body)))
        assert isinstance(record, dict)
        return record
