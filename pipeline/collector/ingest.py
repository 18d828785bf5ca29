"""One request from bytes to produced-ready messages: auth, parse, map, validate, limit, de-dup.

Everything is decided before anything is produced; records are minimised first
(:mod:`~pipeline.collector.minimise`: URLs without queries but utm_*, referrers as
origins, traits and custom properties by allow-list, search text as a token, e-mails
in any text replaced): a request is refused as a
whole (:class:`~pipeline.collector.errors.CollectorError` with its status and a
message) or accepted as a whole. Accepted records are validated against their
Avro schema and the meaning checks, then encoded; duplicates (same visitor and
message id within the window) are counted and left out. Ids are remembered only
after the messages were handed to the producer (:meth:`Ingestor.remember`), so
a request that failed to produce can be retried.

A user id the collector could not verify becomes the device's claim; next to the records
goes one claim index entry per (device, user id) (:attr:`Accepted.index`,
:mod:`pipeline.profiles.claims`), so that an erasure of that user id finds the device.

>>> import base64
>>> from pipeline.collector.options import CollectorOptions
>>> ingestor = Ingestor(CollectorOptions(write_keys=frozenset({"k"})), Codec.default(),
...                     wall=lambda: 1_800_000_000.0)
>>> body = b'{"writeKey": "k", "visitor": "v1", "page": {"url": "https://s.example/"},' \\
...        b' "events": [{"id": "e1", "type": "page_view", "time": 1800000000000}]}'
>>> accepted = ingestor.native(body, authorization=None)
>>> [(m.topic, m.key, m.name) for m in accepted.messages]
[('clickstream.events', b'v1', 'ClickEvent')]
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pipeline.collector.auth import WriteKeys
from pipeline.collector.devices import DeviceProof, prove_devices
from pipeline.collector.errors import BadPayload, RateLimited
from pipeline.collector.identity import IdentityKeys
from pipeline.collector.limits import DedupWindow, TokenBuckets
from pipeline.collector.minimise import Minimiser
from pipeline.collector.native import map_native
from pipeline.collector.options import CollectorOptions
from pipeline.collector.records import MappedRecord
from pipeline.collector.segment import map_segment_batch, map_segment_message
from pipeline.profiles.claims import claim_update
from pipeline.profiles.pseudonym import Pseudonyms, device_claim
from pipeline.profiles.updates import profile_key
from pipeline.serde import Codec, InvalidEvent, MeaningRules, check_meaning
from pipeline.topics import EVENTS, PROFILES
from pipeline.topics.headers import wait_headers
from pipeline.web.rate_limits import RequestLimits
from pipeline.web.untrusted import bad_string
from pipeline.web.visitor_token import VisitorTokens

__all__ = ["Accepted", "Ingestor", "Outgoing", "parse_json"]

#: The topic (unprefixed) of each record kind.
TOPIC_OF = {"ClickEvent": EVENTS, "ProfileUpdate": PROFILES}


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> object:
    """The JSON value of ``body`` (UTF-8), or :class:`BadPayload` saying why not.

    >>> parse_json(b'{"a": NaN}')
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.BadPayload: the body is not valid JSON: NaN is not JSON
    >>> parse_json(b'{"anonymousId": "\\\\ud800"}')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.BadPayload: body.anonymousId is not valid UTF-8 text (a lone ...
    """
    if not body.strip():
        raise BadPayload("the body is empty")
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise BadPayload("the body is not UTF-8 text") from None
    except RecursionError:
        raise BadPayload("the body is nested too deeply") from None
    except ValueError as exc:
        raise BadPayload(f"the body is not valid JSON: {str(exc)[:200]}") from None
    problem = bad_string(value, "body")
    if problem is not None:
        raise BadPayload(problem)
    return value


@dataclass(frozen=True)
class Outgoing:
    """One message to produce: unprefixed topic, key, encoded value, and what it holds.

    >>> Outgoing("clickstream.events", b"v1", b"...", "ClickEvent", {}).topic
    'clickstream.events'
    """

    topic: str
    key: bytes
    value: bytes
    name: str
    record: dict[str, Any] = field(repr=False)
    dedup_key: str = field(repr=False, default="")
    #: Record headers to produce with (``rtp-wait`` on an awaited event; empty: none).
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Accepted:
    """What a request yields: messages to produce, duplicates left out, calls ignored.

    >>> Accepted([], duplicates=2).ignored
    0
    """

    messages: list[Outgoing]
    duplicates: int = 0
    ignored: int = 0
    #: The visitor id the collector chose for a tracker batch that named none (None: the
    #: batch named its visitor).
    new_visitor: str | None = None
    #: The visitor whose token the answer renews (its token is past half its lifetime).
    renew: str | None = None
    #: Claim index entries (:mod:`pipeline.profiles.claims`) to produce before
    #: ``messages``: not the client's records, not counted as accepted ones.
    index: list[Outgoing] = field(default_factory=list)


class Ingestor:
    """Auth, limits and de-duplication state of one collector, and the request pipeline.

    >>> from pipeline.collector.options import CollectorOptions
    >>> ingestor = Ingestor(CollectorOptions(write_keys=frozenset({"k"})), Codec.default())
    >>> ingestor.segment("page", b'{"anonymousId": "v"}', None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.Unauthorized: no write key: send HTTP Basic auth with the write ...
    """

    def __init__(self, options: CollectorOptions, codec: Codec,
                 rules: MeaningRules | None = None, *,
                 wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 pseudonyms: Pseudonyms | None = None) -> None:
        self.options = options
        #: Replace user ids by keyed pseudonyms before producing (None: as sent; the
        #: service always passes them, :func:`~pipeline.profiles.resolve_pseudonyms`).
        self.pseudonyms = pseudonyms
        self.minimiser = Minimiser(traits=options.allowed_traits,
                                   properties=options.allowed_properties,
                                   keep_search_text=options.keep_search_text,
                                   pseudonyms=pseudonyms, vocabulary=options.vocabulary)
        self.codec = codec
        self.rules = rules or MeaningRules()
        self.keys = WriteKeys(options.write_keys | options.server_keys, options.require_auth)
        self.identity = IdentityKeys(options.identity_keys)
        self.visitor_buckets = TokenBuckets(options.visitor_rate_per_s, options.visitor_burst,
                                            options.rate_keys)
        self.key_buckets = TokenBuckets(options.key_rate_per_s, options.key_burst,
                                        options.rate_keys)
        self.window = DedupWindow(options.dedup_window_ms, options.dedup_max)
        #: Requests per client address (checked by the HTTP handlers before reading a body).
        self.addresses = RequestLimits(options.address_rate_per_s, options.address_burst,
                                       max_keys=options.rate_keys, monotonic=monotonic)
        self._wall = wall
        self._monotonic = monotonic

    def now_ms(self) -> int:
        """The wall clock, epoch ms (the event time of what the collector itself issues)."""
        return int(self._wall() * 1000)

    def segment(self, call: str | None, body: bytes, authorization: str | None,
                tokens: VisitorTokens | None = None) -> Accepted:
        """A Segment call: ``call`` is track/page/identify, or None for ``/v1/batch``.

        With ``tokens``, a request without a server write key must prove each visitor it
        names with that visitor's token (:mod:`~pipeline.collector.devices`)."""
        if authorization:
            self.keys.check(authorization, None)
        payload = parse_json(body)
        key = self.keys.check(authorization, payload)
        now = self.now_ms()
        if call is None:
            records, ignored = map_segment_batch(payload, received_ms=now,
                                                 sector=self.options.sector,
                                                 max_batch=self.options.max_batch)
        else:
            one = map_segment_message(payload, received_ms=now, sector=self.options.sector,
                                      call=call, where="body")
            records, ignored = ([one], 0) if one is not None else ([], 1)
        return self._admit(key, records, ignored, now, tokens)

    def native(self, body: bytes, authorization: str | None,
               user_agent: str | None = None, new_visitor: str | None = None,
               tokens: VisitorTokens | None = None) -> Accepted:
        """A tracker batch (``/v1/t``); ``user_agent`` gives its device class.

        ``new_visitor`` is the id given to a batch without ``visitor`` (absent or null: a
        first-time visitor; :attr:`Accepted.new_visitor` says it was used); None refuses
        such a batch. With ``tokens``, a batch that names its visitor must carry that
        visitor's ``token`` (unless sent with a server write key).

        >>> from pipeline.collector.options import CollectorOptions
        >>> ingestor = Ingestor(CollectorOptions(require_auth=False), Codec.default())
        >>> batch = (b'{"page": {"url": "https://s.example/"}, '
        ...          b'"events": [{"id": "e1", "type": "page_view", "time": %d}]}'
        ...          % ingestor.now_ms())
        >>> accepted = ingestor.native(batch, None, new_visitor="v-new")
        >>> accepted.new_visitor, accepted.messages[0].key
        ('v-new', b'v-new')
        >>> ingestor.native(batch, None)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pipeline.collector.errors.BadPayload: body.visitor is required...
        """
        if authorization:
            self.keys.check(authorization, None)
        payload = parse_json(body)
        key = self.keys.check(authorization, payload)
        chosen = None
        if new_visitor is not None and isinstance(payload, dict) \
                and payload.get("visitor") is None:
            payload["visitor"] = chosen = new_visitor
        now = self.now_ms()
        records = map_native(payload, received_ms=now, sector=self.options.sector,
                             max_batch=self.options.max_batch, user_agent=user_agent)
        # a first batch names no visitor: the id is the collector's own, nothing to prove
        return replace(self._admit(key, records, 0, now, None if chosen else tokens),
                       new_visitor=chosen)

    def _user(self, mapped: MappedRecord, trusted: bool, where: str) -> str | None:
        """The record's user id as produced: the person's pseudonym when verified (a server
        key, or a matching ``userHash``), else the device's claim (never linked to anyone);
        a ``userHash`` that does not match refuses the request. Returns, for a claim, the
        pseudonym of the claimed user id (the key of its claim index entry)."""
        user_id = mapped.record.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            return None
        try:
            verified = trusted or self.identity.verified(user_id, mapped.user_hash)
        except BadPayload as exc:
            raise BadPayload(f"{where}: {exc}") from None
        if not verified:
            mapped.record["user_id"] = device_claim(str(mapped.record["visitor_id"]), user_id,
                                                    self.pseudonyms)
            return self.pseudonyms.of(user_id) if self.pseudonyms is not None else user_id
        if self.pseudonyms is not None:
            mapped.record["user_id"] = self.pseudonyms.of(user_id)
        return None

    def _claims(self, claimed: dict[tuple[str, str], int], mono_ms: int) -> list[Outgoing]:
        """The claim index entries of (device as stored, pseudonym) pairs not sent lately."""
        out = []
        for (visitor, person), event_time in claimed.items():
            dedup_key = f"claim\x1f{visitor}\x1f{person}"
            if self.window.seen(dedup_key, mono_ms):
                continue
            record = claim_update(visitor, person, event_time)
            out.append(Outgoing(PROFILES, person.encode(),
                                self.codec.encode("ProfileUpdate", record), "ProfileUpdate",
                                record, dedup_key))
        return out

    def _admit(self, write_key: str, records: list[MappedRecord], ignored: int,
               now_ms: int, tokens: VisitorTokens | None = None) -> Accepted:
        trusted = write_key in self.options.server_keys
        # before anything else (the rate limits included): a refused request costs nothing
        proof = DeviceProof() if tokens is None else prove_devices(records, tokens,
                                                                   trusted=trusted)
        claimed: dict[tuple[str, str], int] = {}
        for i, mapped in enumerate(records):
            person = self._user(mapped, trusted, f"message {i}")
            self.minimiser.minimise(mapped.name, mapped.record)
            if person is not None:  # keyed by the visitor id as stored (after minimising)
                claimed.setdefault((str(mapped.record["visitor_id"]), person), now_ms)
            try:
                self.codec.validate(mapped.name, mapped.record)
                check_meaning(mapped.name, mapped.record, now_ms, self.rules)
            except InvalidEvent as exc:
                raise BadPayload(f"message {i}: {exc}") from None
        self._limit(write_key, records)
        out: list[Outgoing] = []
        batch_keys: set[str] = set()
        duplicates = 0
        mono_ms = int(self._monotonic() * 1000)
        for mapped in records:
            dedup_key = f"{mapped.visitor_id}\x1f{mapped.dedup_id}"
            if dedup_key in batch_keys or self.window.seen(dedup_key, mono_ms):
                duplicates += 1
                continue
            batch_keys.add(dedup_key)
            record = mapped.record
            key = record["visitor_id"] if mapped.name == "ClickEvent" else profile_key(record)
            out.append(Outgoing(TOPIC_OF[mapped.name], str(key).encode(),
                                self.codec.encode(mapped.name, record), mapped.name, record,
                                dedup_key, tuple(wait_headers()) if mapped.awaited else ()))
        return Accepted(out, duplicates, ignored, renew=proof.renew,
                        index=self._claims(claimed, mono_ms))

    def _limit(self, write_key: str, records: list[MappedRecord]) -> None:
        if not records:
            return
        now_s = self._monotonic()
        per_visitor = Counter(m.visitor_id for m in records)
        key_cost = {write_key: len(records)}
        wait = max(self.key_buckets.retry_after(key_cost, now_s, take=False),
                   self.visitor_buckets.retry_after(per_visitor, now_s, take=False))
        if wait > 0:
            hint = "more events for one visitor than its burst allows" if wait == float("inf") \
                else f"retry in {wait:.1f} s"
            raise RateLimited(f"rate limit exceeded: {hint}", retry_after_s=min(wait, 3600.0))
        self.key_buckets.retry_after(key_cost, now_s)
        self.visitor_buckets.retry_after(per_visitor, now_s)

    def remember(self, accepted: Accepted) -> None:
        """Mark the accepted messages' ids as seen (call once they were handed to Kafka)."""
        mono_ms = int(self._monotonic() * 1000)
        for message in (*accepted.index, *accepted.messages):
            self.window.add(message.dedup_key, mono_ms)
