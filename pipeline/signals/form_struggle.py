"""Form struggle: the same form keeps rejecting the visitor's input.

Form-analytics tools (Hotjar, Contentsquare, Zuko) flag forms whose fields
error or get re-filled repeatedly. Here: at least ``min_errors`` (2) form_error
events for one ``form_id`` in the session. The trigger is the error that
reaches the count; only field names and error codes appear in details, never
typed values (the schema never carries them).

>>> opts, st = FormStruggleOptions(), FormStruggleState()
>>> errors = [SignalEvent(f"f{i}", "form_error", i, "/checkout", "checkout",
...           form_id="address", form_field="zip") for i in range(2)]
>>> [observe_form_struggle(st, e, opts) is not None for e in errors]
[False, True]
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.signals.counts import KeyCounts
from pipeline.signals.detection import Detection
from pipeline.signals.event import SignalEvent, key_hash
from pipeline.signals.rules import FORM_STRUGGLE

__all__ = ["FormStruggleOptions", "FormStruggleState", "observe_form_struggle"]


@dataclass(frozen=True, slots=True)
class FormStruggleOptions:
    """Thresholds of the form-struggle rule.

    Attributes
    ----------
    min_errors
        form_error events for one form in the session (2).
    history
        Forms counted (bounded; further forms are ignored).

    >>> FormStruggleOptions().min_errors
    2
    """

    min_errors: int = 2
    history: int = 8


@dataclass(slots=True)  # a dataclass itself (no `__slots__ = ()`): mypyc compiles it
class FormStruggleState(KeyCounts):
    """form_error counts per hashed form id.

    >>> FormStruggleState().counts
    {}
    """


def observe_form_struggle(
    state: FormStruggleState, event: SignalEvent, options: FormStruggleOptions
) -> Detection | None:
    """Fold one event in; a :class:`Detection` when a form reaches ``min_errors``.

    >>> st = FormStruggleState()
    >>> observe_form_struggle(st, SignalEvent("c", "click", 0, "/", "home",
    ...                       click_interactive=True), FormStruggleOptions()) is None
    True
    """
    if event.event_type != "form_error" or not event.form_id:
        return None
    count = state.add(key_hash(event.form_id), options.history)
    if count < options.min_errors:
        return None
    details = {"form_id": event.form_id[:128], "errors": str(count)}
    if event.form_field:
        details["field"] = event.form_field[:128]
    return Detection(
        rule=FORM_STRUGGLE,
        trigger_event_id=event.event_id,
        event_time=event.time,
        strength=count / options.min_errors,
        page_url=event.url,
        details=details,
    )
