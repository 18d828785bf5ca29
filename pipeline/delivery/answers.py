"""The JSON the delivery API answers with: decisions as the page needs them.

Every requested slot is present: a decision, or ``null`` when there is nothing
to show — an unknown visitor gets every slot ``null``, never an error.

>>> d = {"decision_id": "d1", "visitor_id": "v1", "session_id": "s1", "action_id": "a",
...      "slot": "hero", "payload": {"headline": "Hi"}, "propensity": 0.5, "policy": "p",
...      "policy_version": "1", "model_version": "m", "experiment_arm": "personalized",
...      "ttl_ms": 100, "trigger_event_id": "e", "created_at": 1000}
>>> decisions_answer("v1", {"hero": d}, ["hero", "overlay"], now_ms=1050)["decisions"]["overlay"]
>>> decisions_answer("v9", {}, ["hero"], now_ms=0)
{'visitor_id': 'v9', 'decisions': {'hero': None}, 'served_at': 0}

The API sends that answer as JSON through an :class:`AnswerCache`, which keeps
the encoded bytes of recent answers and re-encodes only when the decisions held
for the visitor are no longer the same objects:

>>> AnswerCache().body("v9", {}, ("hero",), now_ms=7)
b'{"visitor_id": "v9", "decisions": {"hero": null}, "served_at": 7}'
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.delivery.errors import BadRequest
from pipeline.delivery.store import expires_at
from pipeline.web.untrusted import id_problem

__all__ = ["MAX_ID_CHARS", "MAX_SLOTS", "AnswerCache", "decision_view", "decisions_answer",
           "parse_slots", "parse_trigger", "parse_visitor", "parse_wait_ms", "slots_of"]

#: Longest visitor id accepted (matches the meaning checks of the contracts).
MAX_ID_CHARS = 256
#: Most slots one request may ask for.
MAX_SLOTS = 16


def decision_view(decision: Mapping[str, Any]) -> dict[str, Any]:
    """What the page gets for one decision (no model internals beyond the ids).

    >>> decision_view({"decision_id": "d", "action_id": "a", "slot": "hero", "payload": {},
    ...                "created_at": 5, "ttl_ms": 5, "policy": "p"})["expires_at"]
    10
    """
    return {
        "decision_id": decision["decision_id"],
        "action_id": decision["action_id"],
        "slot": decision["slot"],
        "payload": dict(decision.get("payload") or {}),
        "expires_at": expires_at(decision),
        "policy": decision.get("policy"),
        "reason": decision.get("reason") or "",
    }


def decisions_answer(visitor_id: str, held: Mapping[str, Mapping[str, Any]],
                     slots: Sequence[str] | None, now_ms: int) -> dict[str, Any]:
    """The body of ``GET /v1/decisions``: requested slots (or all held) -> decision or None.

    >>> decisions_answer("v1", {}, None, now_ms=5)
    {'visitor_id': 'v1', 'decisions': {}, 'served_at': 5}
    """
    wanted = list(slots) if slots is not None else sorted(held)
    return {
        "visitor_id": visitor_id,
        "decisions": {s: decision_view(held[s]) if s in held else None for s in wanted},
        "served_at": now_ms,
    }


def parse_visitor(value: str | None) -> str:
    """The ``visitor`` query parameter, checked.

    >>> parse_visitor(" v1 ")
    'v1'
    >>> parse_visitor("")
    Traceback (most recent call last):
    ...
    pipeline.delivery.errors.BadRequest: query parameter 'visitor' is missing or empty
    """
    visitor = (value or "").strip()
    if not visitor:
        raise BadRequest("query parameter 'visitor' is missing or empty")
    if visitor.isascii() and visitor.isprintable() and len(visitor) <= MAX_ID_CHARS:
        return visitor  # what id_problem finds nothing wrong with, without its walk
    problem = id_problem(visitor, "query parameter 'visitor'", MAX_ID_CHARS)
    if problem is not None:
        raise BadRequest(problem)
    return visitor


def parse_trigger(value: str | None) -> str | None:
    """The ``trigger`` query parameter (the id of the event whose decision to wait for), or None.

    >>> parse_trigger(" e-1 "), parse_trigger(None)
    ('e-1', None)
    >>> parse_trigger(" ")
    Traceback (most recent call last):
    ...
    pipeline.delivery.errors.BadRequest: query parameter 'trigger' is empty
    """
    if value is None:
        return None
    trigger = value.strip()
    if not trigger:
        raise BadRequest("query parameter 'trigger' is empty")
    if len(trigger) > MAX_ID_CHARS:
        raise BadRequest(f"query parameter 'trigger' is longer than {MAX_ID_CHARS} characters")
    return trigger


def parse_wait_ms(value: str | None, default_ms: int, max_ms: int) -> int:
    """The ``wait_ms`` query parameter: whole milliseconds, ``default_ms`` when absent,
    cut to ``max_ms``.

    >>> [parse_wait_ms(v, 150, 1000) for v in ("90", None, "5000")]
    [90, 150, 1000]
    >>> parse_wait_ms("-1", 150, 1000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.delivery.errors.BadRequest: query parameter 'wait_ms' must be a whole number ...
    """
    if value is None:
        return min(default_ms, max_ms)
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise BadRequest("query parameter 'wait_ms' must be a whole number of milliseconds, "
                         f"0 or more (got {value[:20]!r})")
    return min(int(text), max_ms)


def parse_slots(value: str | None) -> list[str] | None:
    """The ``slots`` query parameter (comma-separated), or None for every held slot.

    >>> parse_slots("hero, overlay,hero"), parse_slots(None)
    (['hero', 'overlay'], None)
    """
    if value is None or not value.strip():
        return None
    slots = list(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
    if len(slots) > MAX_SLOTS:
        raise BadRequest(f"at most {MAX_SLOTS} slots per request (got {len(slots)})")
    for slot in slots:
        if len(slot) > 64 or not slot.replace("_", "").replace("-", "").isalnum():
            raise BadRequest(f"slot {slot[:64]!r} is not a slot name (letters, digits, _ and -)")
    return slots


@functools.lru_cache(maxsize=256)
def slots_of(value: str | None) -> tuple[str, ...] | None:
    """:func:`parse_slots` as a tuple, remembered: pages ask for the same few slot lists.

    Refusals are not remembered (each bad request is checked again).

    >>> slots_of("hero,overlay"), slots_of(""), slots_of("hero,overlay") is slots_of("hero,overlay")
    (('hero', 'overlay'), None, True)
    """
    slots = parse_slots(value)
    return tuple(slots) if slots is not None else None


Held = Mapping[str, Mapping[str, Any]]


def _same(entry: tuple[Any, ...], held: Held) -> bool:
    """Whether ``held`` has exactly the slots and decision objects ``entry`` was made from."""
    if len(entry) != 2 * len(held) + 1:
        return False
    i = 1
    for slot, decision in held.items():
        if entry[i] != slot or entry[i + 1] is not decision:
            return False
        i += 2
    return True


class AnswerCache:
    """The encoded ``GET /v1/decisions`` body, reused while nothing it shows has changed.

    The answer is a function of the visitor, the requested slots and the decisions
    held (``served_at`` aside, which is written in per request). An entry remembers
    the decisions it was encoded from and is reused only while the store returns
    the *same objects* for the visitor: a new decision, an expired one (the store
    no longer returns it) or an evicted visitor all make it miss. Decisions are
    records the store never changes in place, so identity is enough; comparing
    values instead could mistake ``1`` for ``True``. At most ``capacity`` entries
    are kept (the oldest made goes first); 0 turns the cache off.

    A miss re-encodes only what changed: each decision's JSON (its
    :func:`decision_view`) is kept too, by the same identity, for at most
    ``2 * capacity`` decisions (oldest first), so a decision handed over for one slot
    leaves the visitor's other slots as they were encoded, and an answer that fell out
    of the cache is put together again from its decisions' JSON. (Kept JSON keeps its
    decision alive: at most ``2 * capacity`` decisions beyond those the store holds.)

    >>> d = {"decision_id": "d1", "action_id": "a", "slot": "hero", "payload": {},
    ...      "created_at": 0, "ttl_ms": 9, "policy": "p"}
    >>> cache = AnswerCache(capacity=2)
    >>> first = cache.body("v1", {"hero": d}, ("hero",), now_ms=1)
    >>> cache.body("v1", {"hero": d}, ("hero",), now_ms=1) == first, cache.hits
    (True, 1)
    >>> json.loads(cache.body("v1", {}, ("hero",), now_ms=1))["decisions"], cache.misses
    ({'hero': None}, 2)
    >>> cache.views_encoded  # d's JSON was made once
    1
    """

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 0:
            raise ValueError("AnswerCache capacity must not be negative")
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        #: decisions whose JSON was made (misses that found no kept JSON for a decision)
        self.views_encoded = 0
        # key (a str, see _key) -> (encoded head, slot, decision, slot, decision, ...): one
        # flat tuple, so an entry adds a single object for the cyclic garbage collector
        self._entries: dict[str, tuple[Any, ...]] = {}
        # id(decision) -> the decision / its encoded view: two dicts with the same keys in
        # the same order (no object per kept view for the garbage collector); the decision
        # is held so that its id is not reused while its view is kept
        self._view_of: dict[int, Mapping[str, Any]] = {}
        self._views: dict[int, bytes] = {}

    def __len__(self) -> int:
        """Answers held."""
        return len(self._entries)

    def body(self, visitor_id: str, held: Held, slots: tuple[str, ...] | None,
             now_ms: int) -> bytes:
        """``json.dumps(decisions_answer(visitor_id, held, slots, now_ms))`` as UTF-8 bytes.

        ``slots`` as :func:`slots_of` returns them (checked names, no commas or NULs).
        """
        key = _key(visitor_id, slots)
        entry = self._entries.get(key)
        if entry is not None and _same(entry, held):
            self.hits += 1
        else:
            self.misses += 1
            entry = (self._head(visitor_id, held, slots),
                     *(item for pair in held.items() for item in pair))
            if self.capacity:
                if key not in self._entries and len(self._entries) >= self.capacity:
                    del self._entries[next(iter(self._entries))]
                self._entries[key] = entry
        head: bytes = entry[0]
        return head + b"%d}" % now_ms

    def _head(self, visitor_id: str, held: Held, slots: Sequence[str] | None) -> bytes:
        """The answer's JSON up to the ``served_at`` value, as :func:`json.dumps` writes it
        (``", "`` and ``": "`` separators, ASCII only, the key order of
        :func:`decisions_answer`), from each decision's kept JSON where there is one."""
        wanted = slots if slots is not None else sorted(held)
        parts = [b'{"visitor_id": ', _json_string(visitor_id), b', "decisions": {']
        view_of, views = self._view_of, self._views
        for i, slot in enumerate(wanted):
            if i:
                parts.append(b", ")
            parts.append(_json_slot(slot))
            decision = held.get(slot)
            if decision is None:
                parts.append(b": null")
            elif view_of.get(id(decision)) is decision:
                parts.append(views[id(decision)])
            else:
                parts.append(self._encode(decision))
        parts.append(b'}, "served_at": ')
        return b"".join(parts)

    def _encode(self, decision: Mapping[str, Any]) -> bytes:
        """``b": "`` and the JSON of ``decision``'s view, kept while there is room."""
        self.views_encoded += 1
        view = b": " + json.dumps(decision_view(decision)).encode()
        if self.capacity:
            if len(self._views) >= 2 * self.capacity:
                oldest = next(iter(self._views))
                del self._view_of[oldest], self._views[oldest]
            self._view_of[id(decision)] = decision
            self._views[id(decision)] = view
        return view

    def forget(self, visitor_id: str) -> int:
        """Drop every answer kept for ``visitor_id`` (erased or opted out), and the JSON
        kept of their decisions; how many answers.

        >>> cache = AnswerCache()
        >>> d = {"decision_id": "d1", "visitor_id": "v1", "action_id": "a", "slot": "hero",
        ...      "payload": {}, "created_at": 0, "ttl_ms": 9}
        >>> _ = cache.body("v1", {"hero": d}, ("hero",), 1), cache.body("v1", {}, None, 1)
        >>> _ = cache.body("v2", {}, ("hero",), now_ms=1)
        >>> cache.forget("v1"), len(cache), cache.forget("v1")
        (2, 1, 0)
        >>> _ = cache.body("v1", {"hero": d}, ("hero",), 1); cache.views_encoded
        2
        """
        suffix = "\0" + visitor_id
        mine = [key for key in self._entries if key.endswith(suffix)]
        for key in mine:
            del self._entries[key]
        theirs = [ident for ident, decision in self._view_of.items()
                  if str(decision.get("visitor_id")) == visitor_id]  # as the store keys it
        for ident in theirs:
            del self._view_of[ident], self._views[ident]
        return len(mine)


def _json_string(text: str) -> bytes:
    """``text`` as :func:`json.dumps` writes a string: quoted as it is when it is printable
    ASCII without a quote or backslash (what JSON escapes by default), else by ``json``.

    >>> _json_string("v-1"), _json_string('a"b'), _json_string("caf\u00e9")
    (b'"v-1"', b'"a\\\\"b"', b'"caf\\\\u00e9"')
    """
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return b'"' + text.encode() + b'"'
    return json.dumps(text).encode()


@functools.lru_cache(maxsize=1024)
def _json_slot(slot: str) -> bytes:
    """A slot name as a JSON string (pages ask for the same few slots).

    >>> _json_slot("hero")
    b'"hero"'
    """
    return _json_string(slot)


def _key(visitor_id: str, slots: tuple[str, ...] | None) -> str:
    """A str, not a tuple: one object less for the garbage collector per cached answer.

    Slot names hold no NUL (see :func:`parse_slots`), so the first one ends them.
    """
    return ("*" if slots is None else ",".join(slots)) + "\0" + visitor_id
