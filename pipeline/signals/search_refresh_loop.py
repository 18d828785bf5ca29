"""Search/refresh loop: running the same search, or refreshing the same listing, again.

Travel and retail visitors who re-run one search or keep refreshing one result
list are stuck (no result fits, or they are waiting for availability or
price). The rule fires when one key occurs at least ``min_repeats`` (3) times
within ``window_ms`` (5 min); a key is the normalized search query (lower-case,
collapsed spaces; only its hash is kept, queries can be personal) or the
listing of a custom event named in ``refresh_event_names`` (``listing_refresh``:
its ``listing``/``listing_id`` property, else the page URL). The trigger is the
repeat that reaches the count; that key's history is then forgotten.

>>> opts, st = SearchRefreshLoopOptions(), SearchRefreshLoopState()
>>> searches = [SignalEvent(f"q{i}", "search", 20_000 * i, "/search", "search",
...             search_query=" Hotels  Paris ") for i in range(3)]
>>> [observe_search_refresh_loop(st, s, opts) is not None for s in searches]
[False, False, True]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.signals.detection import Detection
from pipeline.signals.event import SignalEvent, key_hash
from pipeline.signals.rules import SEARCH_REFRESH_LOOP

__all__ = [
    "SearchRefreshLoopOptions",
    "SearchRefreshLoopState",
    "normalize_query",
    "observe_search_refresh_loop",
]


@dataclass(frozen=True, slots=True)
class SearchRefreshLoopOptions:
    """Thresholds of the search/refresh-loop rule.

    Attributes
    ----------
    min_repeats
        Occurrences of one query or listing (3).
    window_ms
        Within this time (5 min).
    refresh_event_names
        Custom event names that mean "refresh this listing".
    history
        Recent searches/refreshes kept in state (bounded).

    >>> SearchRefreshLoopOptions().min_repeats
    3
    """

    min_repeats: int = 3
    window_ms: int = 300_000
    refresh_event_names: frozenset[str] = frozenset({"listing_refresh"})
    history: int = 8


@dataclass(slots=True)
class SearchRefreshLoopState:
    """Recent searches/refreshes as ``(time, key hash)``, oldest first.

    >>> SearchRefreshLoopState.from_obj(SearchRefreshLoopState([(9, 4)]).to_obj(1), 1).recent
    [(9, 4)]
    """

    recent: list[tuple[int, int]] = field(default_factory=list)

    def to_obj(self, base: int) -> list[int]:
        """Flat list ``[t - base, key, ...]``.

        >>> SearchRefreshLoopState([(9, 4)]).to_obj(1)
        [8, 4]
        """
        return [v for t, k in self.recent for v in (t - base, k)]

    @classmethod
    def from_obj(cls, obj: Any, base: int) -> SearchRefreshLoopState:
        """Inverse of :meth:`to_obj`.

        >>> SearchRefreshLoopState.from_obj([8, 4], 1).recent
        [(9, 4)]
        """
        values = [int(v) for v in obj]
        return cls([(values[i] + base, values[i + 1]) for i in range(0, len(values) - 1, 2)])


def normalize_query(query: str) -> str:
    """Lower-case with runs of whitespace collapsed, so trivial retypes count as repeats.

    >>> normalize_query("  Hotels   PARIS ")
    'hotels paris'
    """
    return " ".join(query.lower().split())


def _key(event: SignalEvent, options: SearchRefreshLoopOptions) -> tuple[str, str] | None:
    if event.event_type == "search" and event.search_query is not None:
        query = normalize_query(event.search_query)
        return ("search", f"q:{query}") if query else None
    if event.event_type == "custom" and event.custom_name in options.refresh_event_names:
        props = event.custom_properties
        listing = props.get("listing") or props.get("listing_id") or event.url
        return "listing_refresh", f"l:{listing}"
    return None


def observe_search_refresh_loop(
    state: SearchRefreshLoopState, event: SignalEvent, options: SearchRefreshLoopOptions
) -> Detection | None:
    """Fold one event in; a :class:`Detection` when a key repeats ``min_repeats`` times.

    >>> st, opts = SearchRefreshLoopState(), SearchRefreshLoopOptions()
    >>> refreshes = [SignalEvent(f"r{i}", "custom", 200_000 * i, "/hotels", "listing",
    ...              custom_name="listing_refresh") for i in range(3)]
    >>> [observe_search_refresh_loop(st, r, opts) for r in refreshes]  # 400 s apart overall
    [None, None, None]
    """
    found = _key(event, options)
    if found is None:
        return None
    kind, key = found
    hashed = key_hash(key)
    state.recent.append((event.time, hashed))
    del state.recent[: max(0, len(state.recent) - max(options.history, options.min_repeats))]
    repeats = sum(
        1 for t, k in state.recent if k == hashed and 0 <= event.time - t <= options.window_ms
    )
    if repeats < options.min_repeats:
        return None
    state.recent = [(t, k) for t, k in state.recent if k != hashed]
    details = {"kind": kind, "repeats": str(repeats)}
    if kind == "search":
        details["results"] = str(event.search_results)
    else:
        details["listing"] = key[2:130]
    return Detection(
        rule=SEARCH_REFRESH_LOOP,
        trigger_event_id=event.event_id,
        event_time=event.time,
        strength=repeats / options.min_repeats,
        page_url=event.url,
        details=details,
    )
