"""The decider: catalog eligibility, guardrails, then the bandit, then the records to emit.

Flow of :meth:`Decider.decide`:

1. skip unless the trigger matters (:meth:`Decider.should_decide`): a page view, a new
   struggle signal or a change of intent class, not every mouse move;
2. eligible = catalog actions whose sector, page types and ``when`` hold (+ ``no_action``);
3. guardrails remove actions (consent halts: no decision at all);
4. actions whose payload cannot be filled are removed (``payload_unresolved:<id>``);
5. the bandit scores what is left and draws one with an exact propensity;
6. the experiment arm decides whether it is served (control: logged, not served);
   ``no_action`` is logged but never sent (``deliver`` False);
7. ``reason`` says why, in words a visitor can read (:mod:`pipeline.decide.reason`).

>>> from pathlib import Path
>>> from pipeline.decide.catalog import load_catalog
>>> decider = Decider(load_catalog(Path(__file__).parents[2] / "deploy/catalog/actions.yaml"))
>>> ctx = DecisionContext(
...     visitor_id="v-1", session_id="s-1", trigger_event_id="evt-9",
...     trigger_event_type="page_view", event_time_ms=1_700_000_000_000,
...     numeric={"max_views_same_product": 3.0, "product_views": 3.0,
...              "signal_hesitation": 1.0},
...     categorical={"sector": "ecommerce", "page_type": "shipping_returns"}, consent=True)
>>> outcome = decider.decide(ctx)
>>> sorted(e["action_id"] for e in outcome.log["eligible"])
['free_express_shipping', 'no_action']
>>> outcome.decision["decision_id"] == decision_id_for("evt-9")
True
>>> decider.decide(ctx).decision == outcome.decision  # a replay re-emits the same decision
True
>>> outcome.decision["reason"].startswith(("Personalized for you", "Not personalized", "Control"))
True
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.decide.bandit import BanditChoice, BanditOptions, LinUCB, RewardLike
from pipeline.decide.catalog import Action, Catalog
from pipeline.decide.conditions import Condition, ConditionView
from pipeline.decide.context import DecisionContext, DecisionOutcome
from pipeline.decide.errors import BanditStateError
from pipeline.decide.experiments import assign_arm
from pipeline.decide.featurize import Featurizer, FeaturizerOptions
from pipeline.decide.guardrails import (
    Guardrail,
    GuardrailOptions,
    apply_guardrails,
    default_guardrails,
)
from pipeline.decide.payload import PayloadContext, render_payload
from pipeline.decide.reason import decision_reason
from pipeline.decide.story import STORY_POLICY, StoryOverride
from pipeline.frozen import maker

__all__ = ["DECISION_NAMESPACE", "Decider", "DeciderOptions", "decision_id_for"]

DECISION_NAMESPACE = uuid.UUID("6f1d3f5e-7a53-5b8e-9c1a-72747044e01d")
"""UUID namespace of decision ids.

>>> DECISION_NAMESPACE.version
5
"""


#: SHA-1 of the namespace's bytes, copied and continued with each trigger's id.
_NAMESPACE_SHA1 = hashlib.sha1(DECISION_NAMESPACE.bytes, usedforsecurity=False)


#: An action's eligibility test, unpacked: the action, whether it is ``no_action``, its
#: sectors, page types, ``when`` and whether ``when`` is empty (always true).
_Screen = tuple[Action, bool, frozenset[str], frozenset[str], Condition, bool]


#: At most this many (sector, page type) pairs are remembered per catalog (the sector and
#: page type come from events: a flood of odd values cannot grow the memory).
_MAX_PAGES = 256


def decision_id_for(trigger_event_id: str) -> str:
    """The decision id of a trigger: ``uuid5(DECISION_NAMESPACE, trigger_event_id)``.

    Computed as :func:`uuid.uuid5` does, without building the ``UUID`` object (once per
    decision on the hot path).

    >>> decision_id_for("evt-1") == decision_id_for("evt-1") != decision_id_for("evt-2")
    True
    >>> decision_id_for("evt-1") == str(uuid.uuid5(DECISION_NAMESPACE, "evt-1"))
    True
    """
    sha1 = _NAMESPACE_SHA1.copy()
    sha1.update(trigger_event_id.encode("utf-8"))
    text = sha1.hexdigest()
    # Byte 6's high nibble is the version (5); byte 8's two high bits the RFC 4122 variant
    # (10): hex digits 12 and 16, the other digits as hashed (no bytearray per decision).
    return (f"{text[:8]}-{text[8:12]}-5{text[13:16]}-{_VARIANT[text[16]]}{text[17:20]}-"
            f"{text[20:32]}")


#: The variant's hex digit for each hashed one: ``(digit & 0x3) | 0x8``.
_VARIANT = {f"{d:x}": f"{(d & 0x3) | 0x8:x}" for d in range(16)}


@dataclass(frozen=True)
class DeciderOptions:
    """How decisions are made.

    Parameters
    ----------
    policy
        Name written to ``Decision.policy`` ("linucb").
    control_share
        Share of visitors in the control arm (0.10).
    experiment_salt
        Salt of the arm assignment ("rtp"); change it to start a new experiment.
    decide_on_event_types
        Event types that always warrant a decision (page views).
    guardrails, bandit, featurizer
        Options of the parts.

    >>> DeciderOptions().control_share
    0.1
    """

    policy: str = "linucb"
    control_share: float = 0.10
    experiment_salt: str = "rtp"
    decide_on_event_types: frozenset[str] = frozenset({"page_view"})
    guardrails: GuardrailOptions = field(default_factory=GuardrailOptions)
    bandit: BanditOptions = field(default_factory=BanditOptions)
    featurizer: FeaturizerOptions = field(default_factory=FeaturizerOptions)


class Decider:
    """Rules first, then a contextual bandit (see the module docstring).

    ``bandit`` resumes learned state (e.g. ``LinUCB.from_bytes(...)``); it must match the
    featurizer's dimension and fingerprint. ``guardrails`` replaces the default set.
    ``story`` is the test-only override of scripted story runs
    (:class:`~pipeline.decide.story.StoryOverride`; None in production).

    >>> from pipeline.decide.catalog import Action, Catalog
    >>> decider = Decider(Catalog(actions=(Action(id="no_action", slot="none"),)))
    >>> decider.should_decide("mouse_move", frozenset(), False)
    False
    """

    def __init__(
        self,
        catalog: Catalog,
        options: DeciderOptions | None = None,
        bandit: LinUCB | None = None,
        guardrails: Sequence[Guardrail] | None = None,
        story: StoryOverride | None = None,
    ) -> None:
        self.catalog = catalog
        self.story = story
        self.options = options or DeciderOptions()
        self.featurizer = Featurizer(self.options.featurizer)
        if bandit is None:
            bandit = LinUCB(
                self.featurizer.dimension, self.options.bandit, self.featurizer.fingerprint
            )
        elif (bandit.dimension, bandit.fingerprint) != (
            self.featurizer.dimension,
            self.featurizer.fingerprint,
        ):
            raise BanditStateError(
                f"bandit ({bandit.dimension}, {bandit.fingerprint!r}) does not match the "
                f"featurizer ({self.featurizer.dimension}, {self.featurizer.fingerprint!r})"
            )
        self.bandit = bandit
        self.guardrails: tuple[Guardrail, ...] = tuple(
            guardrails if guardrails is not None else default_guardrails(self.options.guardrails)
        )
        # Per catalog (immutable): its actions' eligibility tests, unpacked once, and its
        # policy version (both asked for at every decision).
        self._screened: Catalog | None = None
        self._screens: tuple[_Screen, ...] = ()
        self._policy_version = ""
        #: Per catalog: the payload of each action whose templates have no placeholder.
        self._static_payloads: dict[str, tuple[Action, dict[str, str]]] = {}
        #: Per catalog and (sector, page type): the actions those allow, each with whether
        #: its ``when`` always holds (no_action, an empty block) and the block.
        self._pages: dict[tuple[str, str], tuple[tuple[Action, bool, Condition], ...]] = {}

    def _screen(self) -> tuple[_Screen, ...]:
        catalog = self.catalog
        if self._screened is not catalog:
            self._screens = tuple(
                (action, action.is_no_action, action.sectors, action.page_types, action.when,
                 action.when.is_empty)
                for action in catalog
            )
            self._policy_version = f"catalog-v{catalog.version}-{catalog.fingerprint[:12]}"
            self._static_payloads = {
                action.id: (action, payload)
                for action in (*catalog, catalog.no_action)
                if not action.placeholders
                and (payload := render_payload(action, PayloadContext())) is not None
            }
            self._pages = {}
            self._screened = catalog
        return self._screens

    @property
    def policy_version(self) -> str:
        """``catalog-v<version>-<fingerprint>``: which catalog produced a decision.

        >>> from pipeline.decide.catalog import Action, Catalog
        >>> Decider(Catalog(actions=(Action(id="no_action", slot="none"),),
        ...                 fingerprint="abcdef0123456789")).policy_version
        'catalog-v1-abcdef012345'
        """
        self._screen()
        return self._policy_version

    def should_decide(
        self, event_type: str, new_signals: frozenset[str] | set[str], intent_class_changed: bool
    ) -> bool:
        """Whether a trigger warrants a decision: a page view (``decide_on_event_types``), a
        new struggle signal, or a change of intent class. Mouse moves and scrolls do not.

        >>> from pipeline.decide.catalog import Action, Catalog
        >>> decider = Decider(Catalog(actions=(Action(id="no_action", slot="none"),)))
        >>> decider.should_decide("page_view", frozenset(), False)
        True
        >>> decider.should_decide("scroll", frozenset({"hesitation"}), False)
        True
        >>> decider.should_decide("click", frozenset(), True)
        True
        """
        return (
            event_type in self.options.decide_on_event_types
            or bool(new_signals)
            or intent_class_changed
        )

    def eligible_actions(self, ctx: DecisionContext) -> tuple[Action, ...]:
        """Catalog actions whose sector, page types and conditions hold (before guardrails).

        >>> from pipeline.decide.catalog import Action, Catalog
        >>> decider = Decider(Catalog(actions=(Action(id="no_action", slot="none"),)))
        >>> [a.id for a in decider.eligible_actions(
        ...     DecisionContext("v", "s", "e", "page_view", 0, {}, {}, consent=True))]
        ['no_action']
        """
        return self._eligible(ctx.view())

    def _eligible(self, view: ConditionView) -> tuple[Action, ...]:
        """:meth:`Action.applies_to` of every catalog action, in catalog order, with the
        view's sector and page type read once."""
        sector = view.categorical.get("sector", "unknown")
        page_type = view.page_type
        screens = self._screen()  # (a new catalog forgets the pages' screens)
        page = self._pages.get((sector, page_type))
        if page is None:
            # The actions whose sectors and page types allow this page, in catalog order:
            # fixed per catalog, and a site has few (sector, page type) pairs.
            page = tuple(
                (action, always or any_when, when)
                for action, always, sectors, page_types, when, any_when in screens
                if always or (
                    (not sectors or sector in sectors)
                    and (not page_types or page_type in page_types)
                )
            )
            if len(self._pages) >= _MAX_PAGES:
                self._pages.clear()
            self._pages[(sector, page_type)] = page
        return tuple([action for action, holds, when in page if holds or when.matches(view)])

    def context_vector(self, ctx: DecisionContext) -> np.ndarray:
        """The bandit's feature vector for ``ctx``.

        >>> from pipeline.decide.catalog import Action, Catalog
        >>> decider = Decider(Catalog(actions=(Action(id="no_action", slot="none"),)))
        >>> len(decider.context_vector(
        ...     DecisionContext("v", "s", "e", "page_view", 0, {}, {}, consent=True)))
        61
        """
        return self.featurizer.transform(
            ctx.numeric,
            ctx.categorical,
            ctx.active_signals,
            ctx.intent_probability,
            ctx.intent_class,
        )

    def decide(self, ctx: DecisionContext) -> DecisionOutcome | None:
        """Decide for one trigger; None when the trigger does not matter or consent is missing.

        >>> from pipeline.decide.catalog import Action, Catalog
        >>> decider = Decider(Catalog(actions=(Action(id="no_action", slot="none"),)))
        >>> ctx = DecisionContext("v", "s", "e", "page_view", 0, {}, {}, consent=False)
        >>> decider.decide(ctx) is None
        True
        """
        if not self.should_decide(
            ctx.trigger_event_type, ctx.new_signals, ctx.intent_class_changed
        ):
            return None
        history = ctx.history.for_session(ctx.session_id)
        view = ctx.view()  # built once: eligibility and the reason read it
        verdict = apply_guardrails(self.guardrails, ctx, self._eligible(view))
        if verdict.halted:
            return None
        fired = list(verdict.fired)
        payload_context: PayloadContext | None = None  # built when a template needs it
        statics = self._static_payloads
        candidates: list[tuple[Action, dict[str, str]]] = []
        for action in verdict.kept:
            static = statics.get(action.id)
            if static is not None and static[0] is action:
                # No placeholder: what render_payload gives for any context, rendered once
                # per catalog; each decision gets its own copy.
                candidates.append((action, dict(static[1])))
                continue
            if payload_context is None:
                payload_context = ctx.payload_context()
            payload = render_payload(action, payload_context)
            if payload is None:
                fired.append(f"payload_unresolved:{action.id}")
                continue
            candidates.append((action, payload))
        if not any(action.is_no_action for action, _ in candidates):
            candidates.insert(0, (self.catalog.no_action, {}))

        decision_id = decision_id_for(ctx.trigger_event_id)
        vector = self.context_vector(ctx)
        choice = self.bandit.choose(vector, [a.id for a, _ in candidates], draw_key=decision_id)
        policy = self.options.policy
        arm = assign_arm(
            ctx.experiment_unit or ctx.visitor_id,
            self.options.control_share,
            self.options.experiment_salt,
        )
        forced = None if self.story is None else self.story.pick(
            ctx.visitor_id, [a.id for a, _ in candidates])
        if self.story is not None and self.story.applies_to(ctx.visitor_id):
            arm = "personalized"  # a scripted story visitor is never in the control group
        if forced is not None:
            choice = BanditChoice(forced, 1.0, choice.distribution)
            policy = STORY_POLICY
        action, payload = next((a, p) for a, p in candidates if a.id == choice.action_id)
        served = arm == "personalized"
        deliver = served and not action.is_no_action
        decision = {
            "decision_id": decision_id,
            "visitor_id": ctx.visitor_id,
            "session_id": ctx.session_id,
            "action_id": action.id,
            "slot": action.slot,
            "payload": payload,
            "propensity": choice.propensity,
            "policy": policy,
            "policy_version": self.policy_version,
            "model_version": self.bandit.version,
            "experiment_arm": arm,
            "ttl_ms": action.ttl_seconds * 1000,
            "trigger_event_id": ctx.trigger_event_id,
            "created_at": int(ctx.event_time_ms),
            "reason": decision_reason(action, view, control=not served),
            "channel": action.channel,
        }
        log = {
            "decision": decision,
            "numeric_features": _floats(ctx.numeric),
            "categorical_features": _texts(ctx.categorical),
            "eligible": [
                {"action_id": a.action_id, "probability": a.probability, "score": a.score}
                for a in choice.distribution
            ],
            "guardrails_fired": list(fired),
            "intent_probability": float(ctx.intent_probability),
            "intent_class": ctx.intent_class,
            "served": served,
            "control_share": self.options.control_share,
            # The person the arm was drawn for: the report counts persons by it and
            # credits a purchase on any of their devices to their decisions on all of them.
            "experiment_unit": ctx.experiment_unit or ctx.visitor_id,
        }
        new_history = (
            history.with_delivered(ctx.session_id, decision_id, action.id, action.slot)
            if deliver
            else history
        )
        # DecisionOutcome(decision, log, history, action, propensity, deliver, served,
        # experiment_arm, context_vector, guardrails_fired), without the frozen __init__.
        return _new_outcome(
            decision, log, new_history, action, choice.propensity, deliver, served, arm,
            tuple(vector.tolist()),  # float64 -> the same Python floats, at once
            tuple(fired),
        )

    def learn(
        self,
        context_vector: Sequence[float],
        action_id: str,
        reward: float,
        *,
        new_observation: bool = True,
    ) -> None:
        """Update the bandit (see :meth:`LinUCB.update`).

        >>> from pipeline.decide.catalog import Action, Catalog
        >>> decider = Decider(Catalog(actions=(Action(id="no_action", slot="none"),)))
        >>> decider.learn([0.0] * 61, "no_action", 0.0)
        >>> decider.bandit.n_updates
        1
        """
        self.bandit.update(context_vector, action_id, reward, new_observation=new_observation)

    def apply(self, update: RewardLike) -> None:
        """Update the bandit from a ``pipeline.feedback.RewardUpdate``.

        >>> from types import SimpleNamespace
        >>> from pipeline.decide.catalog import Action, Catalog
        >>> decider = Decider(Catalog(actions=(Action(id="no_action", slot="none"),)))
        >>> decider.apply(SimpleNamespace(context=[1.0] * 61, action_id="no_action",
        ...                               reward=0.0, new_observation=True))
        >>> decider.bandit.observations("no_action")
        1
        """
        self.bandit.apply(update)


#: Positional constructors (every field, in order: :mod:`pipeline.frozen`), for the hot path.
_new_outcome = maker(DecisionOutcome)


#: The value types of a map that :func:`_floats` / :func:`_texts` copy as they are.
_FLOAT_ONLY, _STR_ONLY = {float}, {str}


def _floats(values: Mapping[str, Any]) -> dict[str, float]:
    """``{k: float(v) for k, v in values.items()}``: a plain copy when every value is a
    ``float`` already (the session's features, which ``float()`` returns as they are).

    >>> _floats({"a": 1.5, "b": 2.0}), _floats({"a": 1, "b": True}), _floats({})
    ({'a': 1.5, 'b': 2.0}, {'a': 1.0, 'b': 1.0}, {})
    """
    if type(values) is dict and set(map(type, values.values())) == _FLOAT_ONLY:
        return dict(values)
    return {k: float(v) for k, v in values.items()}


def _texts(values: Mapping[str, Any]) -> dict[str, str]:
    """``{k: str(v) for k, v in values.items()}``: a plain copy when every value is a
    ``str`` already.

    >>> _texts({"a": "x"}), _texts({"a": 1})
    ({'a': 'x'}, {'a': '1'})
    """
    if type(values) is dict and set(map(type, values.values())) == _STR_ONLY:
        return dict(values)
    return {k: str(v) for k, v in values.items()}
