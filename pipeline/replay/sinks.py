"""Where a replay writes: byte-reproducible files, or new topics (plus a dead-letter file).

Files are written as JSON lines or Avro object container files:

- JSON lines: one record per line, fields in schema order, compact separators,
  ``bytes`` as Avro's JSON encoding does (each byte one code point U+0000-U+00FF);
- Avro: fastavro with ``deflate`` blocks, the schema JSON as in ``schemas/`` and a
  *fixed* sync marker derived from the record type (fastavro draws a random one
  by default, which would make two runs of the same replay differ byte for byte).

Each file is written to a temporary name and renamed into place on success, so
a failed replay never leaves a half-written file that looks complete.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> writer = RecordWriter(folder / "o.jsonl", "Outcome")
>>> writer.write({"outcome_id": "o1", "decision_id": "d1", "visitor_id": "v1",
...               "kind": "clicked", "value": 0.0, "event_time": 1})
>>> writer.close()
1
>>> (folder / "o.jsonl").read_text()
'{"outcome_id":"o1","decision_id":"d1","visitor_id":"v1","kind":"clicked","value":0.0,\
"event_time":1}\\n'
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from fastavro.write import Writer

from pipeline.replay.errors import ReplayError
from pipeline.serde import Codec
from pipeline.settings import Settings

__all__ = ["FileSink", "OutputFormat", "RecordWriter", "ReplaySink", "TopicSink", "sync_marker"]

OutputFormat = Literal["jsonl", "avro"]


def sync_marker(schema_name: str) -> bytes:
    """The fixed 16-byte Avro sync marker of replay outputs of ``schema_name``.

    >>> len(sync_marker("DecisionLog")), sync_marker("A") == sync_marker("A")
    (16, True)
    """
    return hashlib.blake2b(f"rtp-replay:{schema_name}".encode(), digest_size=16).digest()


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")  # Avro JSON encoding of bytes
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class RecordWriter:
    """Write records of one schema to one file, atomically (see the module docstring)."""

    def __init__(self, path: str | Path, schema_name: str, codec: Codec | None = None,
                 fmt: OutputFormat | None = None) -> None:
        self.path = Path(path)
        self.schema_name = schema_name
        self.fmt: OutputFormat = fmt or ("avro" if self.path.suffix.lower() == ".avro"
                                         else "jsonl")
        self.count = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._fh: IO[Any] | None
        self._avro: Writer | None = None
        if self.fmt == "avro":
            # The schema as written in schemas/ (expanded), not fastavro's parsed form: the
            # header embeds it as JSON, and the parsed form's key order follows the hash seed.
            schema = (codec or Codec.default()).registry.current(schema_name).schema
            self._fh = self._tmp.open("wb")
            self._avro = Writer(self._fh, schema, codec="deflate",
                                sync_marker=sync_marker(schema_name))
        else:
            self._fh = self._tmp.open("w", encoding="utf-8", newline="\n")

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one record."""
        if self._fh is None:
            raise ReplayError(f"{self.path}: already closed")
        if self._avro is not None:
            self._avro.write(dict(record))
        else:
            try:
                text = json.dumps(record, separators=(",", ":"), allow_nan=False,
                                  default=_json_default)
            except ValueError as exc:
                raise ReplayError(f"{self.path}: record {self.count} cannot be written as "
                                  f"JSON ({exc})") from None
            self._fh.write(text + "\n")
        self.count += 1

    def close(self) -> int:
        """Finish the file and move it into place; returns how many records it holds."""
        if self._fh is None:
            return self.count
        if self._avro is not None:
            self._avro.flush()
        self._fh.close()
        self._fh = None
        os.replace(self._tmp, self.path)
        return self.count

    def abort(self) -> None:
        """Drop the partial file."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._tmp.exists():
            self._tmp.unlink()


class ReplaySink(Protocol):
    """What the replayer writes to.

    >>> import tempfile
    >>> sink: ReplaySink = FileSink(tempfile.mkdtemp())
    >>> sink.abort()
    """

    def decision_log(self, key: str, record: Mapping[str, Any]) -> None:
        """One DecisionLog record (key: decision id)."""
        ...

    def signal(self, key: str, record: Mapping[str, Any]) -> None:
        """One StruggleSignal record (key: visitor id)."""
        ...

    def dead_letter(self, record: Mapping[str, Any]) -> None:
        """One DeadLetter record."""
        ...

    def close(self) -> dict[str, str]:
        """Finish every output; returns output name -> where it went."""
        ...

    def abort(self) -> None:
        """Drop partial outputs after a failure."""
        ...


class FileSink:
    """Decision log, signals and dead letters as files in ``out_dir``.

    Names: ``decisions.<fmt>``, ``signals.<fmt>``, ``dead_letters.<fmt>``.

    >>> import tempfile, pathlib
    >>> sink = FileSink(tempfile.mkdtemp())
    >>> sorted(pathlib.Path(p).name for p in sink.close().values())
    ['dead_letters.jsonl', 'decisions.jsonl', 'signals.jsonl']
    """

    def __init__(self, out_dir: str | Path, fmt: OutputFormat = "jsonl",
                 codec: Codec | None = None) -> None:
        out = Path(out_dir)
        c = codec or Codec.default()
        self.writers = {
            "decisions": RecordWriter(out / f"decisions.{fmt}", "DecisionLog", c, fmt),
            "signals": RecordWriter(out / f"signals.{fmt}", "StruggleSignal", c, fmt),
            "dead_letters": RecordWriter(out / f"dead_letters.{fmt}", "DeadLetter", c, fmt),
        }

    def decision_log(self, key: str, record: Mapping[str, Any]) -> None:
        """Append a DecisionLog record."""
        self.writers["decisions"].write(record)

    def signal(self, key: str, record: Mapping[str, Any]) -> None:
        """Append a StruggleSignal record."""
        self.writers["signals"].write(record)

    def dead_letter(self, record: Mapping[str, Any]) -> None:
        """Append a DeadLetter record."""
        self.writers["dead_letters"].write(record)

    def close(self) -> dict[str, str]:
        """Move every file into place."""
        for writer in self.writers.values():
            writer.close()
        return {name: str(w.path) for name, w in self.writers.items()}

    def abort(self) -> None:
        """Drop every partial file."""
        for writer in self.writers.values():
            writer.abort()


class TopicSink:
    """Decision log (and signals) to topics, keyed as the worker keys them; dead letters to a file.

    The topics are created when missing (partitions and replication from the
    settings, delete policy, 30 days). Records are validated before they are sent.
    """

    def __init__(self, settings: Settings, decisions_topic: str, dead_letters: RecordWriter,
                 signals_topic: str | None = None, codec: Codec | None = None) -> None:
        from pipeline.client import EventProducer
        from pipeline.topics import TopicSpec, apply_topics

        self.decisions_topic = decisions_topic
        self.signals_topic = signals_topic
        self.dead_letters = dead_letters
        retention = {"cleanup.policy": "delete", "retention.ms": str(30 * 24 * 3600 * 1000)}
        specs = [TopicSpec(decisions_topic, settings.partitions, settings.replication,
                           "decision id", "DecisionLog", retention, "replayed decision log")]
        if signals_topic:
            specs.append(TopicSpec(signals_topic, settings.partitions, settings.replication,
                                   "visitor id", "StruggleSignal", retention, "replayed signals"))
        apply_topics(settings.bootstrap, specs)
        self.producer = EventProducer(settings, codec)
        self.sent = {"decisions": 0, "signals": 0}

    def decision_log(self, key: str, record: Mapping[str, Any]) -> None:
        """Produce a DecisionLog record keyed by decision id."""
        self.producer.send(self.decisions_topic, "DecisionLog", dict(record), key)
        self.sent["decisions"] += 1

    def signal(self, key: str, record: Mapping[str, Any]) -> None:
        """Produce a StruggleSignal keyed by visitor id (dropped when no signals topic)."""
        if self.signals_topic:
            self.producer.send(self.signals_topic, "StruggleSignal", dict(record), key)
            self.sent["signals"] += 1

    def dead_letter(self, record: Mapping[str, Any]) -> None:
        """Append a DeadLetter to the file."""
        self.dead_letters.write(record)

    def close(self) -> dict[str, str]:
        """Flush the producer (raises if anything was not delivered) and close the file."""
        self.producer.close()
        if self.producer.stats.failed:
            raise ReplayError(f"{self.producer.stats.failed} records were not delivered: "
                              f"{self.producer.stats.errors[-1]}")
        self.dead_letters.close()
        out = {"decisions": self.decisions_topic, "dead_letters": str(self.dead_letters.path)}
        if self.signals_topic:
            out["signals"] = self.signals_topic
        return out

    def abort(self) -> None:
        """Flush what was sent; drop the partial dead-letter file."""
        self.producer.flush()
        self.dead_letters.abort()
