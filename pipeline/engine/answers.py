"""'Decided: nothing' answers for events a client waits on (same-page decisions).

A page sends its page view and asks delivery, in the same moment, for the decision that
page view triggers (``GET /v1/decisions?trigger=<event id>&wait_ms=…``). When the worker
delivers an action for it, the action on ``personalization.actions`` releases the held
request. Most page views deliver nothing (no rule fires, a cap or cool-down holds, the
control arm, the ``no_action`` arm): without word from the worker, delivery would hold
the request for its whole budget. So for an event a client waits on, and only for such an
event, the worker writes a small :data:`ANSWERS` record ("decided: nothing") when the
event delivers no action of its own; delivery answers the held request at once.

Which events are waited on travels beside the event, not in it: the record header
:data:`WAIT_HEADER` (``rtp-wait: 1``, :mod:`pipeline.topics.headers`), set by the
collector for the tracker's awaited page view (``wait: 1`` in the tracker's batch) or by
an SDK producer (``EventProducer.send_event(event, awaited=True)``). Every other event
costs the worker one look at the record's headers, and writes nothing more.

>>> from pipeline.engine.routing import Output
>>> event = {"event_id": "e1", "visitor_id": "v1", "event_time": 1_800_000_000_000}
>>> answer_output([], event).record
{'visitor_id': 'v1', 'trigger_event_id': 'e1', 'decided': 'nothing', 'event_time': 1800000000000}
>>> served = Output("personalization.actions", "v1", "Decision", {"trigger_event_id": "e1"})
>>> answer_output([served], event) is None   # its action answers the request
True
>>> is_awaited([(WAIT_HEADER, b"1")]), is_awaited(None), is_awaited([("other", b"1")])
(True, False, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.engine.routing import Output
from pipeline.topics import ACTIONS, ANSWERS
from pipeline.topics.headers import WAIT_HEADER, is_awaited, wait_headers

__all__ = ["NOTHING", "WAIT_HEADER", "answer_output", "is_awaited", "wait_headers"]

#: ``Answer.decided`` of an event that delivers no action.
NOTHING = "nothing"


def answer_output(outputs: Sequence[Output], event: Mapping[str, Any]) -> Output | None:
    """The answer an awaited ``event`` gets: None when its own outputs deliver an action
    triggered by it (delivery's hold ends on that action), else "decided: nothing".

    The record is derived from the event only (no wall clock): an event applied again
    after a crash writes the same answer, like its other outputs.

    >>> other = Output(ACTIONS, "v1", "Decision", {"trigger_event_id": "e0"})  # a timer's
    >>> answer_output([other], {"event_id": "e1", "visitor_id": "v1",
    ...                         "event_time": 5}).record["decided"]
    'nothing'
    """
    event_id = str(event["event_id"])
    for out in outputs:
        if out.topic == ACTIONS and str(out.record.get("trigger_event_id")) == event_id:
            return None
    visitor = str(event["visitor_id"])
    return Output(ANSWERS, visitor, "Answer", {
        "visitor_id": visitor, "trigger_event_id": event_id, "decided": NOTHING,
        "event_time": int(event["event_time"])})
