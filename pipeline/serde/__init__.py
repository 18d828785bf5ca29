"""Avro contracts: the schema registry, the single-object codec, validation, dead letters."""

from pipeline.serde.codec import MARKER, Codec, single_object_header
from pipeline.serde.dead_letter import Admitted, MessageGate, Rejected, dead_letter_for, dlq_topic
from pipeline.serde.errors import (
    DecodeError,
    GarbageBytes,
    InvalidEvent,
    LateEvent,
    ProcessingError,
    SerdeError,
    TruncatedMessage,
    UnknownSchema,
    WrongSchema,
)
from pipeline.serde.fingerprint import crc64_avro
from pipeline.serde.registry import RegisteredSchema, SchemaError, SchemaRegistry, expand_schema
from pipeline.serde.semantics import MeaningRules, check_meaning

__all__ = [
    "MARKER",
    "Admitted",
    "Codec",
    "DecodeError",
    "GarbageBytes",
    "InvalidEvent",
    "LateEvent",
    "MeaningRules",
    "MessageGate",
    "ProcessingError",
    "RegisteredSchema",
    "Rejected",
    "SchemaError",
    "SchemaRegistry",
    "SerdeError",
    "TruncatedMessage",
    "UnknownSchema",
    "WrongSchema",
    "check_meaning",
    "crc64_avro",
    "dead_letter_for",
    "dlq_topic",
    "expand_schema",
    "single_object_header",
]
