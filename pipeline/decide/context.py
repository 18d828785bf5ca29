"""What the decider is given (:class:`DecisionContext`) and returns (:class:`DecisionOutcome`).

>>> ctx = DecisionContext(
...     visitor_id="v1", session_id="s1", trigger_event_id="e1", trigger_event_type="page_view",
...     event_time_ms=1_700_000_000_000, numeric={"product_views": 3.0},
...     categorical={"sector": "ecommerce", "page_type": "product"}, consent=True)
>>> ctx.view().page_type, ctx.history.total_session
('product', 0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.decide.catalog import Action
from pipeline.decide.conditions import ConditionView, view_signals
from pipeline.decide.history import DecisionHistory
from pipeline.decide.payload import PayloadContext
from pipeline.frozen import maker

__all__ = ["DecisionContext", "DecisionOutcome"]

_new_view = maker(ConditionView)
_new_payload_context = maker(PayloadContext)


@dataclass(frozen=True)
class DecisionContext:
    """Everything one decision may depend on.

    Fields
    ------
    visitor_id, session_id
        Who and which session.
    trigger_event_id, trigger_event_type
        The ClickEvent (``event_id``, ``event_type``) that triggered the decision; the
        decision id derives from the event id, so a replay re-emits the same id.
    event_time_ms
        The trigger's event time (epoch ms); becomes ``Decision.created_at``.
    numeric, categorical
        Session features of the contract (``SessionFeatures.numeric`` / ``.categorical``).
    consent
        Personalization consent. False: no decision at all (``decide`` returns None).
    purchased_ever
        The person purchased before, on any device (from the stitched profile).
    active_signals
        Struggle rules currently active (the ``signal_*`` session flags count too).
    new_signals
        Rules that fired on this very trigger (one reason to decide now).
    intent_probability, intent_class
        From the intent model; ``intent_class_changed`` says whether this trigger changed it.
    history
        The visitor's :class:`DecisionHistory` (as stored; the decider scopes it to the session).
    extras
        Live values for payloads the session features do not carry (e.g. ``rooms_left``).
    experiment_unit
        Id the experiment arm is assigned on (default ``visitor_id``): the person's unit
        from their profile, see :mod:`pipeline.decide.experiments`.

    >>> DecisionContext("v", "s", "e", "click", 0, {}, {}, consent=False).experiment_unit is None
    True
    """

    visitor_id: str
    session_id: str
    trigger_event_id: str
    trigger_event_type: str
    event_time_ms: int
    numeric: Mapping[str, float]
    categorical: Mapping[str, str]
    consent: bool
    purchased_ever: bool = False
    active_signals: frozenset[str] = frozenset()
    new_signals: frozenset[str] = frozenset()
    intent_probability: float = 0.0
    intent_class: str = "browsing"
    intent_class_changed: bool = False
    history: DecisionHistory = field(default_factory=DecisionHistory)
    extras: Mapping[str, str] = field(default_factory=dict)
    experiment_unit: str | None = None

    def view(self) -> ConditionView:
        """The part catalog conditions look at.

        >>> DecisionContext("v", "s", "e", "page_view", 0, {"signal_hesitation": 1.0}, {},
        ...                 consent=True).view().signals
        frozenset({'hesitation'})
        """
        # ConditionView(numeric, categorical, active_signals, intent_probability,
        # intent_class), its signals computed as its __post_init__ does (one view per
        # decision: built without the frozen __init__, :mod:`pipeline.frozen`).
        numeric, active = self.numeric, self.active_signals
        return _new_view(numeric, self.categorical, active, self.intent_probability,
                         self.intent_class, view_signals(numeric, active))

    def payload_context(self) -> PayloadContext:
        """The part payload templates may use.

        >>> DecisionContext("v", "s", "e", "page_view", 5, {}, {}, consent=True,
        ...                 extras={"rooms_left": "2"}).payload_context().extras
        {'rooms_left': '2'}
        """
        return _new_payload_context(self.numeric, self.categorical, self.extras,
                                    self.intent_class, self.event_time_ms)


@dataclass(frozen=True)
class DecisionOutcome:
    """A decision, its log record and the visitor's updated history.

    Fields
    ------
    decision
        ``rtp.Decision`` record (dict). Send it to ``personalization.actions`` iff ``deliver``.
    log
        ``rtp.DecisionLog`` record (dict). Always send it to ``personalization.decisions.log``.
    history
        The visitor's history after this decision (write it back to the table).
    action
        The chosen catalog action.
    propensity
        Probability the policy chose it (also in ``decision``).
    deliver
        True iff served (personalized arm) and the action is not ``no_action``.
    served
        False for the control arm (computed and logged, not shown).
    experiment_arm
        ``"personalized"`` or ``"control"``.
    context_vector
        The bandit's feature vector; keep it with the pending reward so the update is immediate.
    guardrails_fired
        ``"<guardrail>:<action_id>"`` for each action a guardrail removed (also in ``log``).

    >>> from pipeline.decide.catalog import Action
    >>> outcome = DecisionOutcome({"decision_id": "d"}, {}, DecisionHistory(),
    ...     Action(id="no_action", slot="none"), 1.0, False, True, "personalized", (), ())
    >>> outcome.decision_id
    'd'
    """

    decision: dict[str, Any]
    log: dict[str, Any]
    history: DecisionHistory
    action: Action
    propensity: float
    deliver: bool
    served: bool
    experiment_arm: str
    context_vector: tuple[float, ...]
    guardrails_fired: tuple[str, ...]

    @property
    def decision_id(self) -> str:
        """The deterministic decision id.

        >>> from pipeline.decide.catalog import Action
        >>> outcome = DecisionOutcome({"decision_id": "x"}, {}, DecisionHistory(),
        ...     Action(id="no_action", slot="none"), 1.0, False, True, "control", (), ())
        >>> outcome.decision_id
        'x'
        """
        return str(self.decision["decision_id"])
