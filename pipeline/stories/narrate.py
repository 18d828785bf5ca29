"""What the pipeline did for a scripted visitor, in words: signals, decisions, delivery.

Pure functions over decoded records (``StruggleSignal``, ``DecisionLog``) and delivery's
``GET /v1/decisions`` answer; ``rtp demo --story`` prints them step by step.

>>> signal_line({"rule": "hesitation", "details": {"variant": "revisits", "views": "3"}})
'signal: hesitation (variant revisits, views 3)'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pipeline.decide import STORY_POLICY, Catalog

__all__ = ["answer_line", "decision_lines", "payload_text", "signal_line"]


def signal_line(signal: Mapping[str, Any]) -> str:
    """One struggle signal.

    >>> signal_line({"rule": "rage_click", "details": {}})
    'signal: rage_click'
    """
    details = signal.get("details") or {}
    said = ", ".join(f"{k} {v}" for k, v in sorted(details.items()))
    return f"signal: {signal['rule']}" + (f" ({said})" if said else "")


def payload_text(payload: Mapping[str, Any] | None) -> str:
    """The words a payload puts on the page (headline, title or message), else its variant.

    >>> payload_text({"title": "Check your eligibility in one click", "flow": "x"})
    'Check your eligibility in one click'
    >>> payload_text({"order_by": "declining_availability"})
    'order_by=declining_availability'
    """
    payload = payload or {}
    for key in ("headline", "title", "message", "label", "variant"):
        if payload.get(key):
            return str(payload[key])
    return ", ".join(f"{k}={v}" for k, v in sorted(payload.items()))


def decision_lines(log: Mapping[str, Any], catalog: Catalog) -> list[str]:
    """A logged decision: the action (and what it shows), who chose it, what was eligible,
    which guardrails removed what, and the catalog rule that made the action eligible.

    >>> from pathlib import Path
    >>> from pipeline.decide import load_catalog
    >>> catalog = load_catalog(Path(__file__).parents[2] / "deploy/catalog/actions.yaml")
    >>> log = {"decision": {"action_id": "no_action", "slot": "none", "payload": {},
    ...        "experiment_arm": "personalized", "policy": "linucb", "propensity": 0.95},
    ...        "eligible": [{"action_id": "no_action"}], "guardrails_fired": [],
    ...        "intent_class": "browsing", "served": True}
    >>> print("\\n".join(decision_lines(log, catalog)))
    decision: no_action (arm personalized, chosen by linucb with p=0.95; intent browsing)
      eligible: no_action
    """
    decision = log["decision"]
    action = str(decision["action_id"])
    chosen = ("the story override" if decision["policy"] == STORY_POLICY
              else f"{decision['policy']} with p={float(decision['propensity']):.2f}")
    shows = payload_text(decision["payload"])
    head = (f"decision: {action}"
            + ("" if action == "no_action" else f" -> {decision['slot']} \"{shows}\"")
            + f" (arm {decision['experiment_arm']}, chosen by {chosen}; "
              f"intent {log.get('intent_class')})")
    lines = [head, "  eligible: " + ", ".join(str(e["action_id"]) for e in log["eligible"])]
    if log.get("guardrails_fired"):
        lines.append("  guardrails fired: " + ", ".join(map(str, log["guardrails_fired"])))
    if action in catalog and action != "no_action":
        rule = catalog[action]
        where = [f"sectors {'/'.join(sorted(rule.sectors))}" if rule.sectors else "",
                 f"pages {'/'.join(sorted(rule.page_types))}" if rule.page_types else "",
                 f"when {json.dumps(rule.when.to_mapping(), sort_keys=True)}"
                 if not rule.when.is_empty else ""]
        lines.append(f"  why: {rule.description} (catalog: "
                     + "; ".join(w for w in where if w) + ")")
    if not log.get("served", True):
        lines.append("  not served: the visitor is in the control group (logged only)")
    return lines


def answer_line(answer: Mapping[str, Any], wait: str | None, slots: list[str]) -> str:
    """Delivery's answer for the page's slots (``X-RTP-Wait`` says how the wait ended).

    >>> line = answer_line({"decisions": {"hero": {"action_id": "free_express_shipping",
    ...     "payload": {"headline": "Free"}}, "overlay": None}}, "arrived", ["hero", "overlay"])
    >>> print(line.replace("): ", "):\\n").replace("; ", "\\n"))
    delivery, asked for this page view's decision (wait: arrived):
    hero = free_express_shipping "Free"
    overlay = default
    """
    decisions = answer.get("decisions") or {}
    parts = []
    for slot in slots:
        held = decisions.get(slot)
        parts.append(f"{slot} = default" if not held else
                     f"{slot} = {held['action_id']} \"{payload_text(held.get('payload'))}\"")
    how = (f"delivery, asked for this page view's decision (wait: {wait})" if wait
           else "delivery holds")
    return f"{how}: " + "; ".join(parts)
