"""HTTP ingestion: Segment's Tracking API and the tracker's compact format, onto Kafka.

Payloads are mapped (pure: :mod:`~pipeline.collector.segment`,
:mod:`~pipeline.collector.native`) to ClickEvent / ProfileUpdate records,
validated, rate-limited and de-duplicated (:class:`Ingestor`), then produced
keyed by visitor. Bad input gets a 4xx with a message and nothing is produced.
"""

from pipeline.collector.app import CollectorState, MessageSink, build_app
from pipeline.collector.auth import WriteKeys, basic_user
from pipeline.collector.errors import BadPayload, CollectorError, RateLimited, Unauthorized
from pipeline.collector.ingest import Accepted, Ingestor, Outgoing, parse_json
from pipeline.collector.limits import DedupWindow, TokenBuckets
from pipeline.collector.metrics import CollectorMetrics
from pipeline.collector.native import NATIVE_TYPES, map_native
from pipeline.collector.options import SECTORS, CollectorOptions
from pipeline.collector.page_types import PAGE_TYPES, page_type_for
from pipeline.collector.records import MappedRecord, public_map
from pipeline.collector.segment import (
    IGNORED_TYPES,
    SEGMENT_TYPES,
    TRACK_EVENTS,
    map_segment_batch,
    map_segment_message,
)
from pipeline.collector.service import CollectorService, run_collector
from pipeline.collector.timestamps import corrected, parse_time
from pipeline.collector.visit_context import campaign_of, device_class, traffic_source

__all__ = [
    "IGNORED_TYPES",
    "NATIVE_TYPES",
    "PAGE_TYPES",
    "SECTORS",
    "SEGMENT_TYPES",
    "TRACK_EVENTS",
    "Accepted",
    "BadPayload",
    "CollectorError",
    "CollectorMetrics",
    "CollectorOptions",
    "CollectorService",
    "CollectorState",
    "DedupWindow",
    "Ingestor",
    "MappedRecord",
    "MessageSink",
    "Outgoing",
    "RateLimited",
    "TokenBuckets",
    "Unauthorized",
    "WriteKeys",
    "basic_user",
    "build_app",
    "campaign_of",
    "corrected",
    "device_class",
    "map_native",
    "map_segment_batch",
    "map_segment_message",
    "page_type_for",
    "parse_json",
    "parse_time",
    "public_map",
    "run_collector",
    "traffic_source",
]
