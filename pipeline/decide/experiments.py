"""Experiment arms: a sticky, deterministic split of visitors into control and personalized.

The arm is a pure function of ``(salt, unit id)``: the same unit gets the same arm on
every worker, after every restart and in every replay. Changing the salt reshuffles
everyone (a new experiment).

The unit is the **person**, fixed at first sight: the engine draws the arm from the
person's ``experiment_unit`` (stored with the profile: the first visitor id the profile
was created with, kept through ``identify``, ``alias`` and merges, see
:mod:`pipeline.profiles.updates`), else from the visitor id. It is never the user id:

- a visitor who identifies mid-session keeps the arm their anonymous visits had (the
  profile created by the identify takes their visitor id as its unit);
- a second device (another anonymous id) is bucketed on its own visitor id until an
  ``identify`` or ``alias`` joins it to the person; from then on it gets the person's arm
  (the first device's). That device can change arm once, at the join: the report counts a
  visitor in the arm of their first decision and warns (``arm_conflict``) when any did.

>>> assign_arm("visitor-42") == assign_arm("visitor-42")
True
>>> assign_arm("visitor-42", control_share=1.0), assign_arm("visitor-42", control_share=0.0)
('control', 'personalized')
"""

from __future__ import annotations

import hashlib

from pipeline.decide.errors import DecideOptionsError

__all__ = ["ARMS", "assign_arm", "bucket"]

ARMS: tuple[str, str] = ("personalized", "control")
"""The two arms (the Decision.experiment_arm enum).

>>> ARMS[1]
'control'
"""


def bucket(unit_id: str, salt: str = "rtp") -> float:
    """A uniform number in [0, 1) derived from ``sha256(salt:unit_id)``.

    >>> 0.0 <= bucket("v1") < 1.0
    True
    """
    digest = hashlib.sha256(f"{salt}:{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_arm(unit_id: str, control_share: float = 0.10, salt: str = "rtp") -> str:
    """``"control"`` for a ``control_share`` of units, else ``"personalized"``.

    >>> shares = [assign_arm(f"v{i}") for i in range(2000)].count("control") / 2000
    >>> 0.07 < shares < 0.13
    True
    """
    if not 0.0 <= control_share <= 1.0:
        raise DecideOptionsError(f"control_share {control_share} must be in [0, 1]")
    return "control" if bucket(unit_id, salt) < control_share else "personalized"
