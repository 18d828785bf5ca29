"""A plain, format-independent view of a VisitorState (every field; floats as their bit
patterns, so -0.0, 5e-324 and 0.1 are compared exactly), for the state codec tests."""

from __future__ import annotations

import dataclasses
import struct
from typing import Any

from pipeline.engine import VisitorState


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return "f" + struct.pack("<d", value).hex()
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, dict):
        return [["k", _plain(k), _plain(v)] for k, v in value.items()]  # order kept
    if isinstance(value, (frozenset, set)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.compare}  # not the codec's memos
    if hasattr(value, "__slots__"):
        return {name: _plain(getattr(value, name)) for name in value.__slots__}
    raise TypeError(f"no view of {type(value).__name__}")


def view(state: VisitorState) -> dict[str, Any]:
    """Every field of ``state``; pending decisions in their order, closed ids in theirs."""
    pending = state.pending
    return {
        "session": _plain(state.session),
        "history": _plain(state.history),
        "intent_class": state.intent_class,
        "source_offset": state.source_offset,
        "pending": None if pending is None else {
            "entries": [_plain(pending.get(d)) for d in pending.decision_ids()],
            "closed": pending.closed_ids(),
        },
        "label": _plain(state.label),
    }

