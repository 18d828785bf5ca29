"""Join a decision log with its outcomes: one row per decision, with its reward.

The row keeps what off-policy evaluation and experiment reports need: the
context features, the chosen action and its propensity, the eligible actions
with their probabilities, the experiment arm, whether the action was served,
and the outcome flags with the reward they add up to.

Rules (documented, and pinned by tests):

- Decisions are de-duplicated by ``decision_id`` (at-least-once delivery may log
  one twice); the first occurrence wins. Outcomes are de-duplicated by
  ``outcome_id``.
- ``reward = clicked * w.clicked + converted * w.converted + revenue * w.revenue``
  where ``clicked``/``converted`` say whether at least one such outcome arrived
  and ``revenue`` sums the ``value`` of ``converted`` outcomes (``conversions``
  counts them). A decision with
  no outcome at all gets ``w.default_reward`` (``0.0`` by default, like the
  pipeline's reward wait).
- The chosen action's probability among the eligible actions is the logged
  ``propensity`` (the authoritative number); a chosen action missing from the
  eligible list is added with it. A log without an eligible list gets just the
  chosen action, and ``eligible_logged`` is ``False`` so evaluators can warn.
- Outcomes whose decision is not in the log are counted, not joined.

>>> log = {"decision": {"decision_id": "d1", "visitor_id": "v1", "session_id": "s1",
...        "action_id": "banner", "slot": "hero", "payload": {}, "propensity": 0.5,
...        "policy": "ts", "policy_version": "1", "model_version": "1",
...        "experiment_arm": "personalized", "ttl_ms": 1000, "trigger_event_id": "e1",
...        "created_at": 0},
...        "eligible": [{"action_id": "banner", "probability": 0.5, "score": 0.0},
...                     {"action_id": "none", "probability": 0.5, "score": 0.0}],
...        "served": True}
>>> out = {"outcome_id": "o1", "decision_id": "d1", "visitor_id": "v1", "kind": "clicked",
...        "value": 0.0, "event_time": 10}
>>> result = join_records([log], [out])
>>> row = result.rows[0]
>>> row.action_id, row.propensity, row.reward, row.eligible
('banner', 0.5, 1.0, {'banner': 0.5, 'none': 0.5})
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.replay.logfile import LogFileOptions, iter_records

__all__ = ["JoinResult", "JoinedRow", "RewardWeights", "join_files", "join_records"]


@dataclass(frozen=True)
class RewardWeights:
    """How outcomes add up to a reward.

    ``clicked``/``converted`` weigh whether such an outcome arrived, ``revenue``
    weighs the summed ``value`` of conversions; ``default_reward`` is the reward
    of a decision without any outcome. The default rewards a click with 1.

    >>> RewardWeights().reward(clicked=True, converted=False, revenue=0.0)
    1.0
    >>> RewardWeights(clicked=0.0, revenue=1.0).reward(True, True, 42.0)
    42.0
    """

    clicked: float = 1.0
    converted: float = 0.0
    revenue: float = 0.0
    default_reward: float = 0.0

    def reward(self, clicked: bool, converted: bool, revenue: float) -> float:
        """Reward of a decision that has at least one outcome.

        >>> RewardWeights(clicked=1.0, converted=2.0).reward(True, True, 0.0)
        3.0
        """
        return (
            self.clicked * float(clicked)
            + self.converted * float(converted)
            + self.revenue * float(revenue)
        )


@dataclass(frozen=True)
class JoinedRow:
    """One logged decision with its outcomes and reward.

    ``eligible`` maps each eligible action to the logging policy's probability
    (in log order). ``propensity`` is ``None`` only when the record lacked one.

    >>> row = JoinedRow(decision_id="d1", visitor_id="v1", session_id="s1", created_at=0,
    ...                 action_id="a", propensity=1.0, eligible={"a": 1.0})
    >>> row.arm, row.served, row.reward
    ('personalized', True, 0.0)
    """

    decision_id: str
    visitor_id: str
    session_id: str
    created_at: int
    action_id: str
    propensity: float | None
    eligible: dict[str, float]
    eligible_logged: bool = True
    slot: str = ""
    policy: str = ""
    arm: str = "personalized"
    served: bool = True
    numeric_features: dict[str, float] = field(default_factory=dict)
    categorical_features: dict[str, str] = field(default_factory=dict)
    intent_class: str = "browsing"
    intent_probability: float = 0.0
    clicked: bool = False
    converted: bool = False
    revenue: float = 0.0
    conversions: int = 0
    n_outcomes: int = 0
    reward: float = 0.0
    control_share: float = -1.0
    #: The event that triggered the decision (a purchase never credits its own decision).
    trigger_event_id: str = ""
    #: The person the arm was drawn for (DecisionLog v5; "" in older logs: see ``unit``).
    experiment_unit: str = ""

    @property
    def unit(self) -> str:
        """The experiment unit: the person (their devices share it), or the visitor id
        when the log did not record one (before DecisionLog v5).

        >>> JoinedRow(decision_id="d", visitor_id="phone", session_id="s", created_at=0,
        ...           action_id="a", propensity=1.0, eligible={}, experiment_unit="laptop").unit
        'laptop'
        """
        return self.experiment_unit or self.visitor_id


@dataclass(frozen=True)
class JoinResult:
    """Joined rows plus counts of what was dropped on the way.

    >>> JoinResult(rows=[]).unmatched_outcomes
    0
    """

    rows: list[JoinedRow]
    duplicate_decisions: int = 0
    duplicate_outcomes: int = 0
    unmatched_outcomes: int = 0


@dataclass
class _OutcomeTally:
    clicked: bool = False
    converted: bool = False
    revenue: float = 0.0
    conversions: int = 0
    count: int = 0


def _eligible(
    decision: Mapping[str, Any], log: Mapping[str, Any]
) -> tuple[dict[str, float], bool]:
    action = str(decision["action_id"])
    propensity = decision.get("propensity")
    listed = log.get("eligible") or []
    eligible: dict[str, float] = {}
    for item in listed:
        eligible.setdefault(str(item["action_id"]), float(item["probability"]))
    logged = bool(listed)
    if propensity is not None and isinstance(propensity, int | float) and math.isfinite(
        propensity
    ):
        eligible[action] = float(propensity)
    else:
        eligible.setdefault(action, 0.0)
    return eligible, logged


def join_records(
    logs: Iterable[Mapping[str, Any]],
    outcomes: Iterable[Mapping[str, Any]] = (),
    weights: RewardWeights | None = None,
) -> JoinResult:
    """Join ``rtp.DecisionLog`` dicts with ``rtp.Outcome`` dicts (see module rules).

    Rows come out in log order.

    >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
    >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=20, seed=1))
    >>> result = join_records(syn.logs, syn.outcomes)
    >>> len(result.rows) == len(syn.logs), result.unmatched_outcomes
    (True, 0)
    """
    w = weights or RewardWeights()
    tallies: dict[str, _OutcomeTally] = {}
    seen_outcomes: set[str] = set()
    duplicate_outcomes = 0
    for outcome in outcomes:
        oid = str(outcome["outcome_id"])
        if oid in seen_outcomes:
            duplicate_outcomes += 1
            continue
        seen_outcomes.add(oid)
        tally = tallies.setdefault(str(outcome["decision_id"]), _OutcomeTally())
        tally.count += 1
        kind = outcome["kind"]
        if kind == "clicked":
            tally.clicked = True
        elif kind == "converted":
            tally.converted = True
            tally.conversions += 1
            tally.revenue += float(outcome.get("value") or 0.0)

    rows: list[JoinedRow] = []
    seen_decisions: set[str] = set()
    duplicate_decisions = 0
    for log in logs:
        decision = log["decision"]
        did = str(decision["decision_id"])
        if did in seen_decisions:
            duplicate_decisions += 1
            continue
        seen_decisions.add(did)
        eligible, logged = _eligible(decision, log)
        found = tallies.get(did)
        if found is None:
            tally = _OutcomeTally()
            reward = w.default_reward
        else:
            tally = found
            reward = w.reward(tally.clicked, tally.converted, tally.revenue)
        propensity = decision.get("propensity")
        rows.append(
            JoinedRow(
                decision_id=did,
                visitor_id=str(decision["visitor_id"]),
                session_id=str(decision["session_id"]),
                created_at=int(decision["created_at"]),
                action_id=str(decision["action_id"]),
                propensity=None if propensity is None else float(propensity),
                eligible=eligible,
                eligible_logged=logged,
                slot=str(decision.get("slot", "")),
                policy=str(decision.get("policy", "")),
                arm=str(decision.get("experiment_arm", "personalized")),
                served=bool(log.get("served", True)),
                numeric_features={
                    str(k): float(v) for k, v in (log.get("numeric_features") or {}).items()
                },
                categorical_features={
                    str(k): str(v) for k, v in (log.get("categorical_features") or {}).items()
                },
                intent_class=str(log.get("intent_class", "browsing")),
                intent_probability=float(log.get("intent_probability", 0.0)),
                clicked=tally.clicked,
                converted=tally.converted,
                revenue=tally.revenue,
                conversions=tally.conversions,
                n_outcomes=tally.count,
                reward=reward,
                control_share=float(log.get("control_share", -1.0)),
                trigger_event_id=str(decision.get("trigger_event_id", "")),
                experiment_unit=str(log.get("experiment_unit") or ""),
            )
        )
    unmatched_count = sum(t.count for did, t in tallies.items() if did not in seen_decisions)
    return JoinResult(
        rows=rows,
        duplicate_decisions=duplicate_decisions,
        duplicate_outcomes=duplicate_outcomes,
        unmatched_outcomes=unmatched_count,
    )


def join_files(
    log_path: str | Path,
    outcomes_path: str | Path | None = None,
    weights: RewardWeights | None = None,
    options: LogFileOptions | None = None,
) -> JoinResult:
    """Read a decision-log file and an outcomes file (``None``: no outcomes) and join them.

    >>> import tempfile, pathlib
    >>> from pipeline.replay.logfile import write_decision_logs, write_outcomes
    >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
    >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=5, seed=2))
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_decision_logs(folder / "d.avro", syn.logs)
    >>> _ = write_outcomes(folder / "o.jsonl", syn.outcomes)
    >>> joined = join_files(folder / "d.avro", folder / "o.jsonl")
    >>> joined.rows == join_records(syn.logs, syn.outcomes).rows
    True
    """
    logs = iter_records(log_path, "DecisionLog", options)
    if outcomes_path is None:
        return join_records(logs, (), weights)
    outcomes = list(iter_records(outcomes_path, "Outcome", options))
    return join_records(logs, outcomes, weights)
