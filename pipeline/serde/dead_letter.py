"""The one entry point every consumer uses: decode, check, or dead-letter.

:func:`decode_or_dead_letter` never raises for bad input: it returns either the
record or a :class:`Rejected` carrying the DeadLetter for ``<topic>.dlq`` with
the original bytes, source position, reason code and message.

>>> from pipeline.serde.codec import Codec
>>> gate = MessageGate(Codec.default(), expected=("Outcome",))
>>> result = gate.admit(b"junk", key=b"v1", topic="personalization.outcomes",
...                     partition=0, offset=7, now_ms=1_700_000_000_000)
>>> result.dead_letter["error_class"], result.dlq_topic
('garbage', 'personalization.outcomes.dlq')
>>> dict(gate.counts)
{('personalization.outcomes', 'garbage'): 1}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from pipeline.serde.codec import Codec
from pipeline.serde.errors import SerdeError
from pipeline.serde.semantics import MeaningRules, check_meaning

__all__ = ["Admitted", "MessageGate", "Rejected", "dead_letter_for", "dlq_topic"]


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of ``topic``.

    >>> dlq_topic("clickstream.events")
    'clickstream.events.dlq'
    """
    return f"{topic}.dlq"


@dataclass(frozen=True)
class Admitted:
    """A usable record and the name of its schema."""

    name: str
    record: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    """A DeadLetter record bound for ``dlq_topic``."""

    dlq_topic: str
    dead_letter: dict[str, Any] = field(repr=False)
    key: bytes | None = None

    @property
    def reason(self) -> str:
        """The stable reason code (``DeadLetter.error_class``)."""
        return str(self.dead_letter["error_class"])


def dead_letter_for(
    error: SerdeError, *, value: bytes | None, key: bytes | None, topic: str,
    partition: int, offset: int, now_ms: int, worker: str | None = None,
) -> dict[str, Any]:
    """Build the DeadLetter record for ``error``."""
    return {
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "original_key": key,
        "original_value": value,
        "error_class": error.reason,
        "error_message": str(error)[:1000],
        "failed_at": now_ms,
        "worker": worker,
    }


class MessageGate:
    """Decode + meaning check for one kind of topic, counting what it rejects."""

    def __init__(self, codec: Codec, expected: Collection[str],
                 rules: MeaningRules | None = None, worker: str | None = None) -> None:
        self.codec = codec
        self.expected = tuple(expected)
        self.rules = rules or MeaningRules()
        self.worker = worker
        self.counts: Counter[tuple[str, str]] = Counter()

    def admit(self, value: bytes | None, *, key: bytes | None, topic: str, partition: int,
              offset: int, now_ms: int) -> Admitted | Rejected:
        """Return the decoded record, or the DeadLetter that explains why not."""
        decoded = self._decoded(value, key=key, topic=topic, partition=partition,
                                offset=offset, now_ms=now_ms)
        return decoded if isinstance(decoded, Rejected) else Admitted(*decoded)

    def record(self, value: bytes | None, *, key: bytes | None, topic: str, partition: int,
               offset: int, now_ms: int) -> dict[str, Any] | Rejected:
        """:meth:`admit`'s answer without its wrapper (what the worker calls per record):
        the decoded record itself, or the DeadLetter that explains why not.

        >>> from pipeline.serde.codec import Codec
        >>> gate = MessageGate(Codec.default(), expected=("Outcome",))
        >>> where = dict(key=b"v", topic="t", partition=0, offset=1, now_ms=1_700_000_000_000)
        >>> type(gate.record(b"junk", **where)).__name__
        'Rejected'
        """
        decoded = self._decoded(value, key=key, topic=topic, partition=partition,
                                offset=offset, now_ms=now_ms)
        return decoded if isinstance(decoded, Rejected) else decoded[1]

    def _decoded(self, value: bytes | None, *, key: bytes | None, topic: str, partition: int,
                 offset: int, now_ms: int) -> tuple[str, dict[str, Any]] | Rejected:
        try:
            name, record = self.codec.decode(value, self.expected)
            check_meaning(name, record, now_ms, self.rules)
        except SerdeError as error:
            return self.reject(error, value=value, key=key, topic=topic,
                               partition=partition, offset=offset, now_ms=now_ms)
        return name, record

    def reject(self, error: SerdeError, *, value: bytes | None, key: bytes | None, topic: str,
               partition: int, offset: int, now_ms: int) -> Rejected:
        """Dead-letter a message for ``error`` (also used for late events downstream)."""
        self.counts[(topic, error.reason)] += 1
        letter = dead_letter_for(error, value=value, key=key, topic=topic, partition=partition,
                                 offset=offset, now_ms=now_ms, worker=self.worker)
        return Rejected(dlq_topic(topic), letter, key)
