"""Sessionization in event time and the session features of the shared contract.

:class:`Sessionizer` folds a visitor's ClickEvents into one compact
:class:`SessionState` (the struggle detectors' state included), ending
sessions after an inactivity gap or at local midnight, folding in out-of-order
events within a bounded lateness, and flagging late and duplicate events.
:meth:`SessionState.features` gives the :class:`SessionFeatures` that intent
models and decisions read.

>>> from pipeline.sessions import Sessionizer, SessionState
>>> step = Sessionizer().apply(None, {"event_id": "e1", "event_type": "page_view",
...     "visitor_id": "v1", "event_time": 1_700_000_000_000,
...     "page": {"url": "/p/1", "page_type": "product", "product_id": "1"}})
>>> step.state.features(1_700_000_000_000).numeric["product_views"]
1.0
>>> SessionState.from_bytes(step.state.to_bytes()) == step.state
True
"""

from pipeline.sessions.errors import (
    InvalidSessionEventError,
    SessionError,
    SessionStateFormatError,
    SessionStateVersionError,
)
from pipeline.sessions.event import SessionEvent, event_fingerprint, read_session_event
from pipeline.sessions.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES, SessionFeatures
from pipeline.sessions.options import SessionOptions
from pipeline.sessions.pages import (
    DWELL_BUCKETS,
    PAGE_TYPES,
    dwell_bucket,
    dwell_index,
    normalize_page_type,
)
from pipeline.sessions.sessionizer import Sessionizer
from pipeline.sessions.state import SESSION_STATE_VERSION, SessionState
from pipeline.sessions.step import SessionStep
from pipeline.sessions.summary import SessionSummary
from pipeline.sessions.timezones import local_day_bounds, resolve_timezone

__all__ = [
    "CATEGORICAL_FEATURES",
    "DWELL_BUCKETS",
    "NUMERIC_FEATURES",
    "PAGE_TYPES",
    "SESSION_STATE_VERSION",
    "InvalidSessionEventError",
    "SessionError",
    "SessionEvent",
    "SessionFeatures",
    "SessionOptions",
    "SessionState",
    "SessionStateFormatError",
    "SessionStateVersionError",
    "SessionStep",
    "SessionSummary",
    "Sessionizer",
    "dwell_bucket",
    "dwell_index",
    "event_fingerprint",
    "local_day_bounds",
    "normalize_page_type",
    "read_session_event",
    "resolve_timezone",
]
