"""The delivery service: decisions from ``personalization.actions`` served to pages fast.

A bounded in-memory :class:`DecisionStore` holds, per visitor and slot, the
latest unexpired decision; an :class:`ActionFeed` fills it from the topic (read
back over the ttl horizon on start); the HTTP API answers ``GET /v1/decisions``
(holding a request for the decision of its ``trigger`` event when asked:
:class:`TriggerWaits`; a second feed reads the worker's "decided: nothing" answers from
``personalization.answers`` and ends such holds at once), streams new decisions over
SSE, and produces outcomes the page reports.
"""

from pipeline.delivery.answers import (
    decision_view,
    decisions_answer,
    parse_slots,
    parse_trigger,
    parse_visitor,
    parse_wait_ms,
)
from pipeline.delivery.app import DeliveryState, OutcomeSink, build_app, storefront_config
from pipeline.delivery.catchup import CatchUp, start_offset
from pipeline.delivery.errors import BadRequest, DeliveryError, FeedError
from pipeline.delivery.feed import ActionFeed, FeedStatus
from pipeline.delivery.metrics import DeliveryMetrics
from pipeline.delivery.options import DeliveryOptions
from pipeline.delivery.outcomes import OUTCOME_KINDS, parse_outcome, parse_outcomes
from pipeline.delivery.service import DeliveryService, run_delivery
from pipeline.delivery.store import DecisionStore, Offered, StoreStats, expires_at
from pipeline.delivery.stream import StreamHub, Subscription, sse_comment, sse_frame
from pipeline.delivery.waits import TriggerWaits, WaitResult

__all__ = [
    "OUTCOME_KINDS",
    "ActionFeed",
    "BadRequest",
    "CatchUp",
    "DecisionStore",
    "DeliveryError",
    "DeliveryMetrics",
    "DeliveryOptions",
    "DeliveryService",
    "DeliveryState",
    "FeedError",
    "FeedStatus",
    "Offered",
    "OutcomeSink",
    "StoreStats",
    "StreamHub",
    "Subscription",
    "TriggerWaits",
    "WaitResult",
    "build_app",
    "decision_view",
    "decisions_answer",
    "expires_at",
    "parse_outcome",
    "parse_outcomes",
    "parse_slots",
    "parse_trigger",
    "parse_visitor",
    "parse_wait_ms",
    "run_delivery",
    "sse_comment",
    "sse_frame",
    "start_offset",
    "storefront_config",
]
