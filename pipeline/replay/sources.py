"""What a replay reads: files or topic ranges, merged into one ordered stream of records.

Inputs are ClickEvents (the stream to replay), and optionally Outcomes (to
learn from, as the worker does), ProfileUpdates (consent, identity, traits) and
the *logged* DecisionLog (to know which action each outcome was a reaction to).

**Files**: JSON lines (``.jsonl``/``.json``; one record per line shaped like
the Avro record, as :func:`pipeline.client.click_event` builds it) or Avro
object container files (``.avro``, resolved to the current schema). A record's
*offset* is its 0-based number in the file (blank lines not counted).

**Topics**: :func:`topic_sources` plans ``--from``/``--to`` on the events topic
(all partitions); outcomes and the logged decisions are read from the earliest
Kafka timestamp of the replayed events to their high watermark, profile updates
(a compacted topic: state) from the beginning.

**Merge** (:func:`merge_sources`): every input stream (one per partition, or one
per file) keeps its own order, so a visitor's events (one partition, keyed by
visitor id) are replayed in offset order: exactly what the worker saw, late and
out-of-order events included. The streams are merged with a k-way merge on
their heads by ``(time, kind rank, origin, partition, offset)``: time is the
record's event time (``created_at`` for a logged decision; the Kafka timestamp
for a record that does not decode), and at equal times profile updates come
first, then logged decisions, events, outcomes. The merge stops when the event
streams end (or at ``--limit`` events): what follows cannot change any output.

Records that cannot be decoded are not dropped here: they carry their
``error`` and the raw bytes, and the replayer dead-letters them.

**Erasures**: read from topics, the records of an erased person (their visitor or user id
has a mark on ``privacy.erasures``, :mod:`pipeline.profiles.erasures`) are left out, both
by :func:`topic_sources` and by :func:`export_topics` (what ``rtp report --from-topics``
reads); :func:`read_erasures` loads the marks. Files are read as they are.

>>> import tempfile, pathlib, json
>>> from pipeline.client import click_event
>>> path = pathlib.Path(tempfile.mkdtemp()) / "events.jsonl"
>>> _ = path.write_text(json.dumps(click_event("v1", "page_view", 1_800_000_000_000)) + "\\n"
...                     + "not json\\n")
>>> [(r.offset, r.error is None) for r in read_file(path, "ClickEvent")]
[(0, True), (1, False)]
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import fastavro
import structlog

from pipeline.profiles.erasures import ErasedIds
from pipeline.profiles.pseudonym import resolve_pseudonyms
from pipeline.replay.bounds import RangeBound
from pipeline.replay.errors import ReplaySourceError
from pipeline.serde import Codec, GarbageBytes, InvalidEvent, SerdeError, TruncatedMessage
from pipeline.settings import Settings
from pipeline.topics import DECISIONS_LOG, ERASURES, EVENTS, OUTCOMES, PROFILES

__all__ = [
    "KIND_RANK",
    "RecordKind",
    "SourceRecord",
    "TopicSources",
    "export_purchases",
    "export_topics",
    "merge_sources",
    "read_erasures",
    "read_file",
    "select_events",
    "topic_sources",
]

log = structlog.get_logger(__name__)

RecordKind = Literal["ProfileUpdate", "DecisionLog", "ClickEvent", "Outcome"]

#: Order of kinds at equal times: consent before the event it governs, outcomes after.
KIND_RANK: dict[str, int] = {"ProfileUpdate": 0, "DecisionLog": 1, "ClickEvent": 2, "Outcome": 3}


@dataclass(frozen=True)
class SourceRecord:
    """One input record with where it came from; ``record`` is None when it did not decode.

    >>> r = SourceRecord("Outcome", "o.jsonl", -1, 3, 10, {"event_time": 10})
    >>> r.sort_key
    (10, 3, 'o.jsonl', -1, 3)
    """

    kind: str
    origin: str
    partition: int
    offset: int
    order_ms: int
    record: dict[str, Any] | None
    raw: bytes | None = field(default=None, repr=False)
    key: bytes | None = None
    broker_ms: int | None = None
    error: SerdeError | None = None

    @property
    def sort_key(self) -> tuple[int, int, str, int, int]:
        """The merge key (see the module docstring)."""
        return (self.order_ms, KIND_RANK.get(self.kind, 9), self.origin, self.partition,
                self.offset)


def record_time(kind: str, record: dict[str, Any]) -> int | None:
    """The event time of a record (``created_at`` of a logged decision), if it is an int.

    >>> record_time("DecisionLog", {"decision": {"created_at": 5}}), record_time("Outcome", {})
    (5, None)
    """
    value = (record.get("decision") or {}).get("created_at") if kind == "DecisionLog" \
        else record.get("event_time")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# -- files --------------------------------------------------------------------------------


def _file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix == ".avro":
        return "avro"
    raise ReplaySourceError(f"{path}: unsupported input format (use .jsonl or .avro)")


def _jsonl(path: Path, kind: str, codec: Codec) -> Iterator[SourceRecord]:
    origin = str(path)
    last_time = 0
    number = 0
    with path.open("rb") as fh:
        for line in fh:
            raw = line.rstrip(b"\r\n")
            if not raw.strip():
                continue
            error: SerdeError | None = None
            record: dict[str, Any] | None = None
            try:
                obj = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                error = GarbageBytes(f"not a JSON object: {exc}")
            else:
                if not isinstance(obj, dict):
                    error = InvalidEvent(f"expected a JSON object, got {type(obj).__name__}")
                else:
                    try:
                        codec.validate(kind, obj)
                        # Through Avro and back: defaults filled in, shaped as fastavro reads it.
                        record = codec.decode(codec.encode(kind, obj), (kind,))[1]
                    except SerdeError as exc:
                        error = exc
            when = record_time(kind, record) if record is not None else None
            last_time = when if when is not None else last_time
            yield SourceRecord(kind, origin, -1, number, last_time, record, raw=raw, error=error)
            number += 1


def _avro(path: Path, kind: str, codec: Codec) -> Iterator[SourceRecord]:
    origin = str(path)
    schema = codec.registry.current(kind)
    with path.open("rb") as fh:
        try:
            reader = fastavro.reader(fh, reader_schema=schema.parsed)
        except Exception as exc:  # fastavro raises assorted errors on a bad header
            raise ReplaySourceError(f"{path}: not a readable Avro container file of {kind} "
                                    f"({exc})") from None
        writer_name = str((reader.writer_schema or {}).get("name", ""))  # type: ignore[union-attr]
        if writer_name.rsplit(".", 1)[-1] != kind:
            raise ReplaySourceError(f"{path}: holds {writer_name or 'unnamed'} records, "
                                    f"expected {kind}")
        records = iter(reader)
        number = 0
        last_time = 0
        while True:
            try:
                item = next(records)
            except StopIteration:
                return
            except Exception as exc:  # a corrupt block: the rest of the file is unreadable
                error = TruncatedMessage(
                    f"Avro record {number} and the rest of the file are unreadable: {exc!r}")
                yield SourceRecord(kind, origin, -1, number, last_time, None, error=error)
                return
            if not isinstance(item, dict):
                yield SourceRecord(kind, origin, -1, number, last_time, None,
                                   error=InvalidEvent("Avro datum is not a record"))
            else:
                when = record_time(kind, item)
                last_time = when if when is not None else last_time
                yield SourceRecord(kind, origin, -1, number, last_time, item)
            number += 1


def read_file(path: str | Path, kind: str, codec: Codec | None = None) -> Iterator[SourceRecord]:
    """The records of a JSON-lines or Avro container file, in file order; bad ones flagged.

    A file that cannot be read at all (missing, unknown extension, an Avro file
    of another record type) raises :class:`~pipeline.replay.errors.ReplaySourceError`
    before the first record.

    >>> list(read_file("events.csv", "ClickEvent"))
    Traceback (most recent call last):
    ...
    pipeline.replay.errors.ReplaySourceError: events.csv: unsupported input format (use .jsonl \
or .avro)
    """
    p = Path(path)
    fmt = _file_format(p)
    if not p.is_file():
        raise ReplaySourceError(f"{p}: no such file")
    c = codec or Codec.default()
    return _jsonl(p, kind, c) if fmt == "jsonl" else _avro(p, kind, c)


def select_events(records: Iterable[SourceRecord], start: RangeBound | None = None,
                  end: RangeBound | None = None) -> Iterator[SourceRecord]:
    """File records in ``[start, end)``: offsets by record number, times by ``event_time``.

    A record that did not decode has no time: it is kept when the bounds are times
    (so it is dead-lettered, not silently skipped).

    >>> recs = [SourceRecord("ClickEvent", "f", -1, i, t, {"event_time": t})
    ...         for i, t in enumerate([10, 20, 30])]
    >>> [r.offset for r in select_events(recs, RangeBound("offset", offset=1))]
    [1, 2]
    >>> [r.offset for r in select_events(recs, None, RangeBound("time", time_ms=30))]
    [0, 1]
    >>> bad = SourceRecord("ClickEvent", "f", -1, 3, 30, None)
    >>> [r.offset for r in select_events([*recs, bad], RangeBound("time", time_ms=25),
    ...                                  RangeBound("time", time_ms=26))]
    [3]
    """
    for rec in records:
        if start is not None and _at_or_after(rec, start) is False:
            continue
        if end is not None and _at_or_after(rec, end) is True:
            if end.kind == "offset":
                return
            continue
        yield rec


def _at_or_after(rec: SourceRecord, bound: RangeBound) -> bool | None:
    """Whether ``rec`` is at or after ``bound``; ``None`` when it cannot tell (no time)."""
    if bound.kind == "offset":
        limit = bound.offset_for(rec.partition if rec.partition >= 0 else 0)
        return None if limit is None else rec.offset >= limit
    when = record_time(rec.kind, rec.record) if rec.record is not None else None
    if when is None or bound.time_ms is None:
        return None
    return when >= bound.time_ms


# -- merge --------------------------------------------------------------------------------


def merge_sources(events: Sequence[Iterable[SourceRecord]],
                  others: Sequence[Iterable[SourceRecord]] = (),
                  limit: int | None = None) -> Iterator[SourceRecord]:
    """Merge input streams (see the module docstring); stop after the events (or ``limit``).

    >>> a = [SourceRecord("ClickEvent", "p0", 0, i, t, {}) for i, t in enumerate([5, 1, 9])]
    >>> b = [SourceRecord("ClickEvent", "p1", 1, i, t, {}) for i, t in enumerate([3, 8])]
    >>> o = [SourceRecord("Outcome", "o", 2, 0, 6, {}), SourceRecord("Outcome", "o", 2, 1, 99, {})]
    >>> [(r.origin, r.order_ms) for r in merge_sources([a, b], [o])]
    [('p1', 3), ('p0', 5), ('p0', 1), ('o', 6), ('p1', 8), ('p0', 9)]
    >>> len([r for r in merge_sources([a, b], [o], limit=2) if r.kind == "ClickEvent"])
    2
    """
    live = len(events)
    if live == 0 or limit == 0:
        return

    def watched(stream: Iterable[SourceRecord]) -> Iterator[SourceRecord]:
        nonlocal live
        yield from stream
        live -= 1

    merged = heapq.merge(*(watched(s) for s in events), *others, key=lambda r: r.sort_key)
    seen = 0
    for rec in merged:
        if rec.kind == "ClickEvent":
            yield rec
            seen += 1
            if limit is not None and seen >= limit:
                return
        elif live == 0:
            return  # every event stream has ended: nothing later changes an output
        else:
            yield rec


# -- topics -------------------------------------------------------------------------------


def read_erasures(settings: Settings, idle_timeout_s: float = 15.0) -> ErasedIds:
    """The erasure marks on ``privacy.erasures`` (under the settings' prefix), read to its end
    now; none when the topic does not exist yet."""
    from pipeline.replay.topic_reader import RangeReader, plan_ranges

    erased = ErasedIds(resolve_pseudonyms(settings))
    try:
        ranges = [r for r in plan_ranges(settings.bootstrap, settings.topic(ERASURES))
                  if r.size > 0]
    except ReplaySourceError:
        return erased  # no erasure was ever applied under this prefix
    if ranges:
        with RangeReader(settings.bootstrap, ranges, idle_timeout_s) as reader:
            for r in ranges:
                erased.add(m.key.decode() for m in reader.partition(r.topic, r.partition)
                           if m.key is not None and m.value is not None)
    return erased


def _decoded(messages: Iterable[Any], kind: str, codec: Codec,
             skip_tombstones: bool = False,
             erased: ErasedIds | None = None) -> Iterator[SourceRecord]:
    for m in messages:
        if m.value is None and skip_tombstones:
            continue  # a compacted topic's deletion marker (erasure), not input
        record: dict[str, Any] | None = None
        error: SerdeError | None = None
        try:
            _, record = codec.decode(m.value, (kind,))
        except SerdeError as exc:
            error = exc
        if erased is not None and erased.covers(record):
            continue  # an erased person's record: left out
        when = record_time(kind, record) if record is not None else None
        yield SourceRecord(kind, m.topic, m.partition, m.offset,
                           when if when is not None else m.timestamp_ms, record, raw=m.value,
                           key=m.key, broker_ms=m.timestamp_ms, error=error)


@dataclass
class TopicSources:
    """Planned topic ranges and their decoded streams; close it when done.

    >>> TopicSources([], [], 0, None).total_events
    0
    """

    events: list[Iterator[SourceRecord]]
    others: list[Iterator[SourceRecord]]
    total_events: int
    reader: Any
    ranges: list[Any] = field(default_factory=list)
    #: The erasure marks honoured (``left_out`` counts the records skipped so far).
    erased: ErasedIds | None = None

    def close(self) -> None:
        """Release the consumer."""
        if self.reader is not None:
            self.reader.close()


def topic_sources(settings: Settings, start: RangeBound | None = None,
                  end: RangeBound | None = None, *, outcomes: bool = True,
                  profiles: bool = True, logged_decisions: bool = True,
                  events_topic: str | None = None, idle_timeout_s: float = 15.0,
                  codec: Codec | None = None) -> TopicSources:
    """Plan and open the topic inputs of a replay (see the module docstring).

    ``events_topic`` is a full topic name (default: ``clickstream.events`` under
    the settings' prefix).
    """
    from pipeline.replay.topic_reader import PartitionRange, RangeReader, plan_ranges

    c = codec or Codec.default()
    bootstrap = settings.bootstrap
    topic = events_topic or settings.topic(EVENTS)
    event_ranges = [r for r in plan_ranges(bootstrap, topic, start, end) if r.size > 0]
    ranges = list(event_ranges)
    since_ms: int | None = None
    if event_ranges and (outcomes or logged_decisions):
        # The first replayed event of each partition: outcomes and logged decisions before
        # the earliest of their Kafka timestamps cannot belong to a replayed decision.
        probe = RangeReader(bootstrap, [PartitionRange(r.topic, r.partition, r.start, r.start + 1)
                                        for r in event_ranges], idle_timeout_s)
        try:
            firsts = [m.timestamp_ms for r in event_ranges
                      for m in probe.partition(r.topic, r.partition)]
        finally:
            probe.close()
        since_ms = min(firsts) if firsts else None
    since = RangeBound("time", time_ms=since_ms) if since_ms is not None else None
    extra: list[tuple[str, str, bool]] = []
    if event_ranges and profiles:
        extra.append((settings.topic(PROFILES), "ProfileUpdate", False))
    if event_ranges and logged_decisions:
        extra.append((settings.topic(DECISIONS_LOG), "DecisionLog", True))
    if event_ranges and outcomes:
        extra.append((settings.topic(OUTCOMES), "Outcome", True))
    planned: list[tuple[str, Any]] = []
    for name, kind, from_since in extra:
        for r in plan_ranges(bootstrap, name, since if from_since else None, None):
            if r.size > 0:
                planned.append((kind, r))
                ranges.append(r)
    reader = RangeReader(bootstrap, ranges, idle_timeout_s) if ranges else None
    if reader is None:
        return TopicSources([], [], 0, None, [])
    erased = read_erasures(settings, idle_timeout_s)
    events = [_decoded(reader.partition(r.topic, r.partition), "ClickEvent", c, erased=erased)
              for r in event_ranges]
    others = [_decoded(reader.partition(r.topic, r.partition), kind, c,
                       skip_tombstones=kind == "ProfileUpdate", erased=erased)
              for kind, r in planned]
    return TopicSources(events, others, sum(r.size for r in event_ranges), reader, ranges,
                        erased)


def export_topics(settings: Settings, out_dir: str | Path, since_ms: int | None = None,
                  fmt: Literal["jsonl", "avro"] = "jsonl",
                  idle_timeout_s: float = 15.0) -> tuple[Path, Path]:
    """Export ``personalization.decisions.log`` and ``personalization.outcomes`` to files.

    Reads every partition of both topics (under the settings' topic prefix) from
    ``since_ms`` (a Kafka timestamp; ``None``: the beginning) to their high
    watermarks now, merged by record time, and writes ``decisions.<fmt>`` and
    ``outcomes.<fmt>`` in ``out_dir``, ready for ``rtp report`` / ``rtp evaluate``.
    Records that do not decode are skipped and counted in a log line (this is a
    read-only export: nothing is dead-lettered); so are the records of erased people
    (:func:`read_erasures`).
    """
    out = Path(out_dir)
    erased = read_erasures(settings, idle_timeout_s)
    return (_export(settings, DECISIONS_LOG, "DecisionLog", out / f"decisions.{fmt}",
                    since_ms, idle_timeout_s, erased),
            _export(settings, OUTCOMES, "Outcome", out / f"outcomes.{fmt}", since_ms,
                    idle_timeout_s, erased))


def export_purchases(settings: Settings, out_dir: str | Path, since_ms: int | None = None,
                     fmt: Literal["jsonl", "avro"] = "jsonl",
                     idle_timeout_s: float = 15.0) -> Path:
    """Export the purchases the workers accepted to ``purchases.<fmt>`` (ClickEvents).

    They are on ``rtp.internal.conversions`` (every purchase event a worker applied, not
    late and not a duplicate, forwarded once per event; a worker's redo after a crash may
    forward one again, which the report's attribution counts once). Same reading as
    :func:`export_topics`; a topic that does not exist (no worker has run under the
    prefix) raises :class:`~pipeline.replay.errors.ReplaySourceError`.
    """
    from pipeline.engine.routing import CONVERSIONS

    return _export(settings, CONVERSIONS, "ClickEvent", Path(out_dir) / f"purchases.{fmt}",
                   since_ms, idle_timeout_s, read_erasures(settings, idle_timeout_s))


def _export(settings: Settings, name: str, kind: Literal["DecisionLog", "Outcome", "ClickEvent"],
            target: Path, since_ms: int | None, idle_timeout_s: float,
            erased: ErasedIds | None = None) -> Path:
    """One topic's records, merged by record time, into ``target`` (format by extension)."""
    from pipeline.replay.logfile import write_records
    from pipeline.replay.topic_reader import RangeReader, plan_ranges

    codec = Codec.default()
    target.parent.mkdir(parents=True, exist_ok=True)
    since = RangeBound("time", time_ms=since_ms) if since_ms is not None else None
    skipped = 0
    ranges = [r for r in plan_ranges(settings.bootstrap, settings.topic(name), since)
              if r.size > 0]
    with RangeReader(settings.bootstrap, ranges, idle_timeout_s) as reader:
        left_out = erased.left_out if erased is not None else 0
        streams = [_decoded(reader.partition(r.topic, r.partition), kind, codec,
                            erased=erased) for r in ranges]

        def good(stream: Iterable[SourceRecord]) -> Iterator[dict[str, Any]]:
            nonlocal skipped
            for rec in stream:
                if rec.record is None:
                    skipped += 1
                else:
                    yield rec.record

        write_records(target, kind, good(heapq.merge(*streams, key=lambda r: r.sort_key)))
    if skipped:
        log.warning("records that do not decode were skipped", kind=kind, skipped=skipped)
    if erased is not None and erased.left_out > left_out:
        log.info("records of erased people left out", kind=kind,
                 left_out=erased.left_out - left_out)
    return target
