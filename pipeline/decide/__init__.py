"""Decisions: the action catalog, guardrails, a contextual bandit, experiments, the decider.

>>> from pathlib import Path
>>> catalog = load_catalog(Path(__file__).parents[2] / "deploy/catalog/actions.yaml")
>>> decider = Decider(catalog)
>>> ctx = DecisionContext("v", "s", "evt-1", "page_view", 0, {}, {"sector": "saas"},
...                       consent=True)
>>> decider.decide(ctx).decision["decision_id"] == decision_id_for("evt-1")
True
"""

from pipeline.decide.bandit import (
    ArmScore,
    BanditChoice,
    BanditOptions,
    LinUCB,
    RewardLike,
    uniform_draw,
)
from pipeline.decide.catalog import (
    ACTION_KEYS,
    Action,
    Catalog,
    FrequencyCaps,
    load_catalog,
    parse_catalog,
    template_placeholders,
)
from pipeline.decide.conditions import CONDITION_KEYS, Condition, ConditionView
from pipeline.decide.context import DecisionContext, DecisionOutcome
from pipeline.decide.decider import DECISION_NAMESPACE, Decider, DeciderOptions, decision_id_for
from pipeline.decide.errors import (
    BanditInputError,
    BanditStateError,
    CatalogError,
    DecideError,
    DecideOptionsError,
    HistoryDecodeError,
    TemplateError,
)
from pipeline.decide.experiments import ARMS, assign_arm, bucket
from pipeline.decide.featurize import Featurizer, FeaturizerOptions
from pipeline.decide.guardrails import (
    ComplianceZone,
    ComplianceZoneGuardrail,
    ConsentGuardrail,
    DismissedGuardrail,
    FrequencyCapGuardrail,
    Guardrail,
    GuardrailOptions,
    GuardrailResult,
    GuardrailVerdict,
    OverlayGuardrail,
    PurchaseSuppressionGuardrail,
    apply_guardrails,
    default_guardrails,
)
from pipeline.decide.history import DecisionHistory, DeliveredAction
from pipeline.decide.payload import PayloadContext, render_payload
from pipeline.decide.story import STORY_POLICY, StoryOverride
from pipeline.decide.vocabulary import NO_ACTION_ID

__all__ = [
    "ACTION_KEYS",
    "ARMS",
    "CONDITION_KEYS",
    "DECISION_NAMESPACE",
    "NO_ACTION_ID",
    "STORY_POLICY",
    "Action",
    "ArmScore",
    "BanditChoice",
    "BanditInputError",
    "BanditOptions",
    "BanditStateError",
    "Catalog",
    "CatalogError",
    "ComplianceZone",
    "ComplianceZoneGuardrail",
    "Condition",
    "ConditionView",
    "ConsentGuardrail",
    "DecideError",
    "DecideOptionsError",
    "Decider",
    "DeciderOptions",
    "DecisionContext",
    "DecisionHistory",
    "DecisionOutcome",
    "DeliveredAction",
    "DismissedGuardrail",
    "Featurizer",
    "FeaturizerOptions",
    "FrequencyCapGuardrail",
    "FrequencyCaps",
    "Guardrail",
    "GuardrailOptions",
    "GuardrailResult",
    "GuardrailVerdict",
    "HistoryDecodeError",
    "LinUCB",
    "OverlayGuardrail",
    "PayloadContext",
    "PurchaseSuppressionGuardrail",
    "RewardLike",
    "StoryOverride",
    "TemplateError",
    "apply_guardrails",
    "assign_arm",
    "bucket",
    "decision_id_for",
    "default_guardrails",
    "load_catalog",
    "parse_catalog",
    "render_payload",
    "template_placeholders",
    "uniform_draw",
]
