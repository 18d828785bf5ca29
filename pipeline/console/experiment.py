"""The experiment figures of the console, computed by the experiment report's own code.

Nothing here re-derives a statistic: the lift, its fixed-horizon interval (Newcombe) and
its always-valid interval at each point in time, and the per-action breakdown, come from
:func:`~pipeline.replay.report.build_report_from_rows` (its timeline).

>>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
>>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=300, control_share=0.5, seed=3))
>>> figures = experiment_figures(syn.logs, syn.outcomes, None, n_boot=20, time_buckets=4)
>>> len(figures["timeline"]), sorted(figures["arms"])
(4, ['control', 'personalized'])
>>> experiment_figures([], [], [], n_boot=20, time_buckets=4)["error"]
'no decisions to report on'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.replay.attribution import Purchase
from pipeline.replay.errors import ReplayError
from pipeline.replay.join import join_records
from pipeline.replay.report import ReportOptions, build_report_from_rows

__all__ = ["CONTROL", "PERSONALIZED", "experiment_figures"]

#: The two arms, as DecisionLog's ``experiment_arm`` names them.
CONTROL, PERSONALIZED = "control", "personalized"


def _num(value: float) -> float | None:
    return value if math.isfinite(value) else None


def experiment_figures(logs: Sequence[Mapping[str, Any]], outcomes: Sequence[Mapping[str, Any]],
                       purchases: Sequence[Purchase] | None, *, n_boot: int,
                       time_buckets: int, headline: str = "conversion_rate") -> dict[str, Any]:
    """Conversion lift, lift over time with both intervals, per-action totals by arm, and
    the ``headline`` metric (the objective's: a report metric name) per arm with its lift.

    ``purchases`` (None: the worker's purchases topic is not there yet) are the
    conversions, attributed to both arms' decisions as in ``rtp report --from-topics``;
    without them conversions are the ``converted`` outcomes.
    ``{"error": reason}`` when the report cannot be built (no decisions yet, or a log
    that mixes control shares).
    """
    options = ReportOptions(n_boot=n_boot, time_buckets=time_buckets)
    rows = join_records(logs, outcomes, options.weights).rows
    try:
        report = build_report_from_rows(rows, None, options,
                                        purchases=None if purchases is None else list(purchases))
    except ReplayError as exc:
        return {"error": str(exc)}
    share = report.srm.expected_control_share
    timeline = []
    for point in report.timeline:
        cs = point.always_valid
        timeline.append({
            "at_ms": point.at_ms,
            "visitors": point.control_visitors + point.personalized_visitors,
            "lift": _num(point.lift),
            "ci": [_num(point.lift_ci.low), _num(point.lift_ci.high)],
            "always_valid": None if cs is None else [_num(cs.low), _num(cs.high)],
        })
    conversion = report.metric("conversion_rate")
    lead = report.metric(headline)
    return {
        "headline": {"metric": headline, "control": _num(lead.control),
                     "personalized": _num(lead.personalized), "lift": _num(lead.absolute),
                     "ci": [_num(lead.absolute_ci.low), _num(lead.absolute_ci.high)]},
        "confidence": options.confidence,
        "control_share": share,
        "arms": {
            CONTROL: {"visitors": report.srm.control_visitors,
                      "conversion": _num(conversion.control)},
            PERSONALIZED: {"visitors": report.srm.personalized_visitors,
                           "conversion": _num(conversion.personalized)},
        },
        "lift": _num(conversion.absolute),
        "ci": [_num(conversion.absolute_ci.low), _num(conversion.absolute_ci.high)],
        "always_valid": None if report.always_valid is None else {
            "low": _num(report.always_valid.low), "high": _num(report.always_valid.high),
            "conclusive": report.always_valid.conclusive},
        "srm_mismatch": report.srm.mismatch,
        "timeline": timeline,
        "actions": {a.action_id: {CONTROL: _arm_stats(a.control),
                                  PERSONALIZED: _arm_stats(a.personalized)}
                    for a in report.actions},
        "warnings": [w.message for w in report.warnings],
    }


def _arm_stats(stats: Any) -> dict[str, Any]:
    return {"decisions": stats.decisions, "clicks": stats.clicks,
            "conversions": stats.conversions, "revenue": stats.revenue,
            "click_rate": _num(stats.click_rate), "conversion_rate": _num(stats.conversion_rate)}
