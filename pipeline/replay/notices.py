"""Structured warnings that analysts' tools return alongside their results.

A :class:`ReplayWarning` is data, not a side effect: estimators and reports put
them in their result objects (and in ``to_dict()``), so a notebook, the CLI or a
test can inspect the ``code`` instead of scraping printed text.

>>> w = ReplayWarning("tiny_propensity", "3 rows have propensity < 0.001", {"rows": 3})
>>> w.code, w.details["rows"]
('tiny_propensity', 3)
>>> w.to_dict()["message"]
'3 rows have propensity < 0.001'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ReplayWarning"]


@dataclass(frozen=True)
class ReplayWarning:
    """A caveat about a result: a stable ``code``, a human ``message`` and numeric ``details``.

    Codes used by this package: ``tiny_propensity``, ``exploding_weights``,
    ``low_effective_sample_size``, ``target_outside_eligible``, ``eligible_missing``,
    ``replay_nonuniform_logging``, ``replay_few_matches``, ``sample_ratio_mismatch``,
    ``arm_conflict``, ``unmatched_outcomes``, ``empty_arm``.

    >>> ReplayWarning("empty_arm", "no control visitors").details
    {}
    """

    code: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form.

        >>> ReplayWarning("x", "y", {"n": 1}).to_dict()
        {'code': 'x', 'message': 'y', 'details': {'n': 1}}
        """
        return {"code": self.code, "message": self.message, "details": dict(self.details)}
