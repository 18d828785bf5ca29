"""The profile side: a Faust app that keeps profiles by person and tells the workers.

Two agents, low volume, where Faust's tables, changelogs and timers fit:

- ``profiles.updates`` (identify, traits, consent, erasure) → ``profiles`` table →
  per-visitor views on ``rtp.internal.visitor-profiles`` (keyed by visitor id, read by
  the decision path), erasure tombstones on the compacted ``profiles.updates`` and one
  erasure mark per erased id on ``privacy.erasures`` (:mod:`pipeline.profiles.erasures`);
- ``rtp.internal.conversions`` (purchases re-keyed by person, written by the decision
  path) → purchase history across devices → views again.

The ``claim`` updates on ``profiles.updates`` (the collector's claim index entries,
:mod:`pipeline.profiles.claims`) go to a ``claims`` table keyed by the claimed user id's
pseudonym; an erasure of that pseudonym pops the entry and produces an erasure of every
device in it (keyed by the device, so each is erased on its own partition as a visitor is).
A third agent keeps the index's other direction, on the internal ``<app id>-claim-links``
topic: a ``device_claims`` table (device → the pseudonyms it claimed) and the erasure times
of devices (``claims_erased``, under their erasure marks), so that an erasure of a device
takes it out of the entries of the user ids it claimed (``unclaim``).

The ``profiles`` table is RocksDB (rocksdict) recovered from its changelog by Faust.
Every consumed update passes the dead-letter gate first. Faust keeps a table entry on the
partition of the record that wrote it, so an update must be on its key's partition
(:func:`~pipeline.topics.partitioning.partition_for`, the Java client's murmur2): one that
is not (a producer left at librdkafka's default partitioner) is moved there before it is
applied; everything this side produces names its partition itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
import structlog
from faust.types import EventT, TableT

from pipeline.engine import EngineOptions
from pipeline.engine.routing import CONVERSIONS
from pipeline.profiles import (
    apply_conversion,
    apply_profile_update,
    encode_visitor_message,
    messages_for_effect,
    profile_key,
    views_for,
)
from pipeline.profiles.claims import (
    CLAIMED,
    CONFIRMED,
    ERASED,
    UNCLAIM,
    ClaimLink,
    add_claim,
    claimed_devices,
    decode_link,
    device_erasures,
    device_step,
    encode_erased_at,
    encode_link,
    erased_at_of,
    link_keys,
    person_step,
)
from pipeline.profiles.erasures import encode_mark_value, erasure_mark, erasure_marks
from pipeline.profiles.errors import ProfileError
from pipeline.profiles.pseudonym import resolve_pseudonyms
from pipeline.profiles.state import ProfileState
from pipeline.serde import Admitted, Codec, MeaningRules, MessageGate, ProcessingError, SerdeError
from pipeline.settings import Settings
from pipeline.topics import ERASURES, PROFILES
from pipeline.topics.partitioning import partition_for
from topologies.decision_path import VISITOR_PROFILES

__all__ = ["ProfileOptions", "build_profile_app", "profile_app_id"]

log = structlog.get_logger(__name__)


def profile_app_id(group: str) -> str:
    """The profile side's Faust app id (its consumer group) beside worker group ``group``.

    >>> profile_app_id("rtp-personalize")
    'rtp-personalize-profiles'
    """
    return f"{group}-profiles"


@dataclass(frozen=True)
class ProfileOptions:
    """How the profile side runs.

    >>> ProfileOptions().web_port
    0
    """

    #: RocksDB folder; default: <cache>/profiles/<app id>.
    data_dir: Path | None = None
    #: Faust's web server (metrics, table views); 0 disables it.
    web_port: int = 0


def build_profile_app(settings: Settings, group: str, options: ProfileOptions | None = None,
                      engine_options: EngineOptions | None = None,
                      clock: Callable[[], float] = time.time) -> faust.App:
    """The Faust app of the profile side of worker group ``group``."""
    options = options or ProfileOptions()
    profile_options = (engine_options or EngineOptions()).profiles
    app_id = profile_app_id(group)
    data_dir = options.data_dir or settings.cache_dir / "profiles" / app_id
    data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        broker=";".join(f"kafka://{host}" for host in settings.bootstrap.split(",")),
        store="rocksdb://",
        datadir=str(data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        web_enabled=options.web_port > 0,
        web_port=options.web_port or 6066,
        consumer_auto_offset_reset="earliest",
        producer_linger_ms=5,
    )
    codec = Codec.default()
    partitions = settings.partitions
    raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes,
                           "key_serializer": "raw", "value_serializer": "raw"}
    profiles = app.topic(settings.topic(PROFILES), partitions=settings.partitions, **raw)
    conversions = app.topic(settings.topic(CONVERSIONS), partitions=settings.partitions, **raw)
    visitor_profiles = app.topic(settings.topic(VISITOR_PROFILES),
                                 partitions=settings.partitions, **raw)
    dlq = app.topic(settings.topic(f"{PROFILES}.dlq"), **raw)
    erasures = app.topic(settings.topic(ERASURES), partitions=1, **raw)
    pseudonyms = resolve_pseudonyms(settings)
    people: TableT[bytes, bytes] = app.Table("profiles", default=None,
                                             partitions=settings.partitions,
                                             key_type=bytes, value_type=bytes)
    # Faust derives table serializers from the types and falls back to JSON: our values
    # are already compact bytes, so store them as they are.
    people.key_serializer = people.value_serializer = "raw"  # type: ignore[attr-defined]
    # claimed user id's pseudonym -> JSON list of the devices that claimed it
    claims: TableT[bytes, bytes] = app.Table("claims", default=None,
                                             partitions=settings.partitions,
                                             key_type=bytes, value_type=bytes)
    claims.key_serializer = claims.value_serializer = "raw"  # type: ignore[attr-defined]
    # The reverse direction, on the device's partition: device -> JSON list of the
    # pseudonyms it claimed; and erasure mark of a device -> when it was erased.
    device_claims: TableT[bytes, bytes] = app.Table("device_claims", default=None,
                                                    partitions=settings.partitions,
                                                    key_type=bytes, value_type=bytes)
    claims_erased: TableT[bytes, bytes] = app.Table("claims_erased", default=None,
                                                    partitions=settings.partitions,
                                                    key_type=bytes, value_type=bytes)
    for table in (device_claims, claims_erased):
        table.key_serializer = table.value_serializer = "raw"  # type: ignore[attr-defined]
    # Claim links between the two (pipeline.profiles.claims.ClaimLink), each sent to the
    # partition of the id it is about; compacted, and tombstoned once done with.
    links = app.topic(f"{app_id}-claim-links", partitions=settings.partitions,
                      internal=True, compacting=True, **raw)
    gate = MessageGate(codec, ("ProfileUpdate",),
                       MeaningRules(max_future_skew_ms=settings.max_future_skew_ms),
                       worker=app_id)

    def now_ms() -> int:
        return int(clock() * 1000)

    async def dead_letter(event: EventT, error: SerdeError | None = None) -> dict[str, Any] | None:
        msg = event.message
        where: dict[str, Any] = {"key": event.key, "topic": msg.topic,
                                 "partition": msg.partition, "offset": msg.offset,
                                 "now_ms": now_ms()}
        result = (gate.reject(error, value=event.value, **where) if error is not None
                  else gate.admit(event.value, **where))
        if isinstance(result, Admitted):
            return result.record
        await dlq.send(key=result.key, value=codec.encode("DeadLetter", result.dead_letter))
        return None

    async def fan_out(messages: list[Any]) -> None:
        for message in messages:
            key = message.visitor_id.encode()
            await visitor_profiles.send(key=key, value=encode_visitor_message(message),
                                        partition=partition_for(key, partitions))

    async def rerouted(event: EventT, update: dict[str, Any]) -> bool:
        """An update on another partition than its person's (a producer with another
        partitioner than murmur2, e.g. librdkafka's default): the person's profile lives on
        partition_for(key), so the update is sent there (and its copy here tombstoned on the
        compacted topic); True when it was."""
        try:
            key = profile_key(update).encode()
        except ValueError:
            return False  # apply_profile_update dead-letters it with the reason
        home = partition_for(key, partitions)
        here = event.message.partition
        if here == home:
            return False
        await profiles.send(key=key, value=event.value, partition=home)
        if event.key == key:
            await profiles.send(key=key, value=None, partition=here)
        log.info("profile update moved to its key's partition", partition=here, to=home,
                 update_id=update.get("update_id"))
        return True

    async def send_link(link: ClaimLink) -> None:
        await links.send(key=link_keys(link, pseudonyms)[0], value=encode_link(link),
                         partition=partition_for(link.home.encode(), partitions))

    async def drop_link(link: ClaimLink) -> None:
        """Tombstone the link's record (under every key it may have been sent with)."""
        for key in link_keys(link, pseudonyms):
            await links.send(key=key, value=None,
                             partition=partition_for(link.home.encode(), partitions))

    async def on_claim(update: dict[str, Any]) -> None:
        """Index a device's claim under the claimed user id's pseudonym, and tell the
        device's side (its reverse entry)."""
        person = profile_key(update)
        key, device = person.encode(), str(update["visitor_id"])
        added = add_claim(claims.get(key), device)
        if added is not None:
            claims[key] = added
        elif device not in claimed_devices(claims.get(key)):
            log.warning("claim index full: a device's claim is not indexed",
                        update_id=update.get("update_id"))
            return
        await send_link(ClaimLink(CLAIMED, device, person, int(update["event_time"])))

    async def erase_claimers(key: bytes, update_id: str,
                             erased: set[str]) -> tuple[str, ...]:
        """Erase every device that claimed ``key`` (one erasure each, keyed by the device,
        produced on its partition) and drop the entry; the devices erased that way."""
        devices = tuple(d for d in claimed_devices(claims.get(key)) if d not in erased)
        if claims.get(key) is not None:
            claims.pop(key, None)
        for record in device_erasures(update_id, devices, now_ms()):
            device = str(record["visitor_id"]).encode()
            await profiles.send(key=device, value=codec.encode("ProfileUpdate", record),
                                partition=partition_for(device, partitions))
        return devices

    @app.agent(profiles)
    async def on_profiles(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            if event.value is None:
                continue  # our own erasure tombstone on the compacted topic
            update = await dead_letter(event)
            if update is None:
                continue
            if await rerouted(event, update):
                continue
            if update.get("kind") == "claim":
                await on_claim(update)
                continue
            try:
                key = profile_key(update).encode()
                stored = people.get(key)
                state = ProfileState.from_bytes(stored) if stored is not None else None
                anon_key = str(update["visitor_id"]).encode()
                anon_bytes = people.get(anon_key) if anon_key != key else None
                anonymous = ProfileState.from_bytes(anon_bytes) if anon_bytes else None
                effect = apply_profile_update(state, update, profile_options,
                                              anonymous=anonymous)
            except Exception as exc:
                log.exception("profile update failed", update_id=update.get("update_id"))
                await dead_letter(event, ProcessingError(repr(exc)))
                continue
            if effect.state is None:
                people.pop(key, None)
            else:
                people[key] = effect.state.to_bytes()
            for gone in (*effect.absorbed_keys, *effect.erase_keys):
                people.pop(gone.encode(), None)
            claimers: tuple[str, ...] = ()
            if update.get("kind") == "erasure":
                claimers = await erase_claimers(key, str(update["update_id"]),
                                                set(effect.erase_keys))
            for erased in effect.erase_keys:  # tombstones on the compacted topic
                await profiles.send(key=erased.encode(), value=None,
                                    partition=partition_for(erased.encode(), partitions))
            mark_value = encode_mark_value(now_ms(), str(update["update_id"]),
                                           ids=len(effect.erase_keys),
                                           profile=state is not None, claims=len(claimers))
            for erased in effect.erase_keys:  # marks: reports leave these ids out from now
                await erasures.send(key=erasure_mark(erased, pseudonyms).encode(),
                                    value=mark_value, partition=0)
            for erased in effect.erase_keys:  # out of the claim entries that name it
                await send_link(ClaimLink(ERASED, erased, None, now_ms()))
            if effect.erase_keys:
                log.info("erasure applied", update_id=update.get("update_id"),
                         ids=len(effect.erase_keys), claims=len(claimers))  # never which
            await fan_out(messages_for_effect(effect, profile_options))

    @app.agent(links)
    async def on_links(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            if event.value is None:
                continue  # our own tombstone of a link done with
            try:
                link = decode_link(event.value)
            except ProfileError as exc:
                log.warning("claim link skipped", error=str(exc))
                continue
            if link.op in (UNCLAIM, CONFIRMED) and link.person is not None:
                key = link.person.encode()
                changed, entry = person_step(claims.get(key), link)
                if changed and entry is None:
                    claims.pop(key, None)
                elif changed and entry is not None:
                    claims[key] = entry
                await drop_link(link)
                continue
            key = link.device.encode()
            marks = [mark.encode() for mark in erasure_marks(link.device, pseudonyms)]
            erased_at = erased_at_of(claims_erased.get(mark) for mark in marks)
            stored = device_claims.get(key)
            step = device_step(stored, erased_at, link)
            if step.entry is None and stored is not None:
                device_claims.pop(key, None)
            elif step.entry is not None and step.entry != stored:
                device_claims[key] = step.entry
            if step.erased_at is not None and step.erased_at != erased_at:
                claims_erased[marks[0]] = encode_erased_at(step.erased_at)
            if not step.indexed:
                log.warning("claim index full: a device's claims are not all indexed")
            for sent in step.sends:
                await send_link(sent)
            for done in step.done:
                await drop_link(done)

    @app.agent(conversions)
    async def on_conversions(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                _, purchase = codec.decode(event.value, ("ClickEvent",))
                key = event.key or b""
                stored = people.get(key)
                state = ProfileState.from_bytes(stored) if stored is not None else None
                new = apply_conversion(state, purchase, profile_options)
            except (SerdeError, ValueError) as exc:
                log.warning("conversion skipped", error=str(exc))
                continue
            if new is not None and new is not state:
                people[key] = new.to_bytes()
                await fan_out(views_for(new, profile_options))

    return app
