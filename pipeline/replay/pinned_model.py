"""The model snapshot a replay pins (``rtp replay --model SOURCE``).

A live worker decides with the learner's snapshots (:mod:`pipeline.learning`), whose
version every DecisionLog records. A replay that pins that snapshot decides with it
throughout and learns nothing, as the worker does between two snapshots: with the same
events, options and seed, its decisions are the live ones. ``SOURCE`` is

- ``topic``: the newest snapshot on ``<prefix>personalization.models``;
- ``topic:N``: snapshot version ``N`` there (the topic is compacted: only recent versions
  stay readable; the error lists those held);
- a file holding one snapshot's bytes (``rtp replay --save-model FILE`` writes one).

>>> parse_source("topic:42"), parse_source("topic"), parse_source("snap.bin")
(('topic', 42), ('topic', None), ('file', 'snap.bin'))
>>> parse_source("topic:x")
Traceback (most recent call last):
...
pipeline.replay.errors.InvalidOptions: --model topic:N needs a version number, got 'x'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pipeline.engine import EngineOptions
from pipeline.learning import Model, ModelFormatError
from pipeline.replay.errors import InvalidOptions, ReplaySourceError
from pipeline.replay.topic_reader import RangeReader, plan_ranges
from pipeline.settings import Settings
from pipeline.topics import MODELS

__all__ = ["load_pinned_model", "parse_source", "snapshots_on_topic"]


def parse_source(text: str) -> tuple[Literal["topic"], int | None] | tuple[Literal["file"], str]:
    """``("topic", version or None)`` or ``("file", path)``."""
    if text == "topic":
        return ("topic", None)
    if text.startswith("topic:"):
        number = text.removeprefix("topic:")
        if not number.isdigit():
            raise InvalidOptions(f"--model topic:N needs a version number, got {number!r}")
        return ("topic", int(number))
    return ("file", text)


def snapshots_on_topic(settings: Settings, timeout_s: float = 15.0) -> dict[int, bytes]:
    """Every snapshot still on the models topic, by version (the newest record wins)."""
    topic = settings.topic(MODELS)
    ranges = plan_ranges(settings.bootstrap, topic, timeout=timeout_s)
    found: dict[int, bytes] = {}
    with RangeReader(settings.bootstrap, ranges, idle_timeout_s=timeout_s) as reader:
        for planned in ranges:
            for message in reader.partition(topic, planned.partition):
                if message.value is not None and (version := Model.version_of(message.value)) >= 0:
                    found[version] = message.value
    return found


def load_pinned_model(source: str, options: EngineOptions, settings: Settings) -> Model:
    """The snapshot ``source`` names, loaded for ``options`` (clear errors otherwise)."""
    kind, where = parse_source(source)
    if kind == "file":
        path = Path(str(where))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidOptions(f"--model {path}: {exc.strerror or exc}") from None
        origin = str(path)
    else:
        held = snapshots_on_topic(settings)
        topic = settings.topic(MODELS)
        if not held:
            raise ReplaySourceError(f"--model {source}: no model snapshot on {topic}")
        version = max(held) if where is None else int(where)
        if version not in held:
            raise ReplaySourceError(
                f"--model {source}: version {version} is not on {topic} (compacted away or "
                f"never published); versions held: {', '.join(map(str, sorted(held)))}")
        data, origin = held[version], f"{topic} version {version}"
    try:
        return Model.from_bytes(data, options)
    except ModelFormatError as exc:
        raise InvalidOptions(f"--model {origin}: {exc}") from None
