"""``POST /v1/outcomes`` bodies to Outcome records, checked before anything is produced.

The page reports what happened to a decision: ``shown`` (it was displayed),
``clicked``, ``dismissed``, ``converted`` (with revenue) or ``ignored``. The body
is one outcome object or a list of them; every item must be valid or none is
used. ``outcome_id`` defaults to ``<decision_id>:<kind>``, so a page reporting the
same thing twice yields one id downstream can de-duplicate on. A page's own
``outcome_id`` is kept only when it is a machine word (as the collector's ids,
:func:`~pipeline.collector.minimise.is_machine_word`: one word, ASCII, a digit or no
capitalised run of letters); anything else (an e-mail, a name, ``Alice``) is replaced by
that default: it is the only free text a browser puts on the outcomes topic.

>>> from pipeline.serde import Codec
>>> body = {"decision_id": "d1", "visitor_id": "v1", "kind": "shown"}
>>> parse_outcomes(body, now_ms=1_700_000_000_000, codec=Codec.default())[0]["outcome_id"]
'd1:shown'
>>> parse_outcomes({"decision_id": "d1", "visitor_id": "v1", "kind": "liked"},
...                now_ms=1_700_000_000_000, codec=Codec.default())  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pipeline.delivery.errors.BadRequest: outcome 0: kind must be one of shown, ... (got 'liked')
>>> [parse_outcomes({**body, "outcome_id": i}, 1_700_000_000_000, Codec.default())[0][
...     "outcome_id"] for i in ("o-17", "ann@example.com", "Ann Example")]
['o-17', 'd1:shown', 'd1:shown']
"""

from __future__ import annotations

from typing import Any

from pipeline.collector.minimise import is_machine_word
from pipeline.delivery.answers import MAX_ID_CHARS
from pipeline.delivery.errors import BadRequest
from pipeline.serde import Codec, InvalidEvent, MeaningRules, check_meaning
from pipeline.web.untrusted import finite_number, id_problem

__all__ = ["OUTCOME_KINDS", "parse_outcome", "parse_outcomes"]

#: The symbols of the Outcome schema's ``kind`` enum.
OUTCOME_KINDS: tuple[str, ...] = ("shown", "clicked", "dismissed", "converted", "ignored")


def _text(item: dict[str, Any], key: str, *aliases: str, required: bool = True) -> str | None:
    value = item.get(key)
    for alias in aliases:
        if value is None:
            value = item.get(alias)
    if value is None:
        if required:
            raise BadRequest(f"{key} is missing")
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{key} must be a non-empty string")
    problem = id_problem(value, key, MAX_ID_CHARS)
    if problem is not None:
        raise BadRequest(problem)
    return value


def parse_outcome(item: object, now_ms: int, codec: Codec,
                  rules: MeaningRules | None = None) -> dict[str, Any]:
    """One Outcome record from a JSON object; raises :class:`BadRequest` saying what is wrong.

    >>> parse_outcome({"decision_id": "d", "visitor_id": "v", "kind": "converted",
    ...                "value": 49.5}, 1_700_000_000_000, Codec.default())["value"]
    49.5
    >>> parse_outcome({"decision_id": "d", "visitor_id": "v", "kind": "converted",
    ...                "value": 10**400}, 1_700_000_000_000, Codec.default())
    Traceback (most recent call last):
    ...
    pipeline.delivery.errors.BadRequest: value is out of range
    """
    if not isinstance(item, dict):
        raise BadRequest(f"an outcome must be a JSON object, got {type(item).__name__}")
    decision_id = _text(item, "decision_id")
    visitor_id = _text(item, "visitor_id", "visitor")
    kind = item.get("kind")
    if kind not in OUTCOME_KINDS:
        raise BadRequest(f"kind must be one of {', '.join(OUTCOME_KINDS)} (got {kind!r:.40})")
    value = item.get("value", 0.0)
    if value is None:
        value = 0.0
    try:
        value = finite_number(value, "value", limit=1e12)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    event_time = item.get("event_time", now_ms)
    if isinstance(event_time, bool) or not isinstance(event_time, int):
        raise BadRequest("event_time must be epoch milliseconds (an integer)")
    if not -(2**63) <= event_time < 2**63:
        raise BadRequest("event_time is out of range")
    sent_id = _text(item, "outcome_id", required=False)
    outcome_id = sent_id if sent_id and is_machine_word(sent_id) else f"{decision_id}:{kind}"
    record = {"outcome_id": outcome_id[:MAX_ID_CHARS], "decision_id": decision_id,
              "visitor_id": visitor_id, "kind": kind, "value": float(value),
              "event_time": event_time}
    try:
        codec.validate("Outcome", record)
        check_meaning("Outcome", record, now_ms, rules)
    except InvalidEvent as exc:
        raise BadRequest(str(exc)) from None
    return record


def parse_outcomes(body: object, now_ms: int, codec: Codec, rules: MeaningRules | None = None,
                   max_items: int = 50) -> list[dict[str, Any]]:
    """Outcome records from a body holding one outcome object or a list of them.

    >>> body = [{"decision_id": "d", "visitor_id": "v", "kind": k} for k in ("shown", "clicked")]
    >>> [o["outcome_id"] for o in parse_outcomes(body, 1_700_000_000_000, Codec.default())]
    ['d:shown', 'd:clicked']
    """
    items = body if isinstance(body, list) else [body]
    if not items:
        raise BadRequest("no outcomes in the body")
    if len(items) > max_items:
        raise BadRequest(f"at most {max_items} outcomes per request (got {len(items)})")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(parse_outcome(item, now_ms, codec, rules))
        except BadRequest as exc:
            raise BadRequest(f"outcome {i}: {exc}") from None
    return out
