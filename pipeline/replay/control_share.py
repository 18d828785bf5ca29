"""The control share of a decision log: read from the records, or given explicitly.

Since ``rtp.DecisionLog`` v2 every decision records the configured share of
visitors in the control arm (``control_share``); records written before v2 read
it as ``-1.0`` ("not recorded"). :func:`resolve_control_share` picks the share an
experiment report checks the sample ratio against:

- a share given explicitly (``rtp report --control-share``) wins, whatever the log says;
- otherwise the log must record **one** share on every decision: a log mixing
  shares (the configuration changed during the run) is refused with the shares and
  their counts, because visitors enrolled under different splits cannot be pooled into
  one sample-ratio check or one lift; report each period separately (``--since``) or
  give the share explicitly;
- a log with decisions that do not record their share (older than v2) is refused
  too, naming how many: give the share explicitly.

>>> resolve_control_share([0.5, 0.5, 0.5])
ControlShare(share=0.5, source='recorded')
>>> resolve_control_share([-1.0, -1.0], explicit=0.1)
ControlShare(share=0.1, source='given')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.replay.errors import InvalidOptions, UnknownControlShare

__all__ = ["NOT_RECORDED", "ControlShare", "resolve_control_share"]

#: ``DecisionLog.control_share`` of records written before schema v2.
NOT_RECORDED = -1.0


@dataclass(frozen=True)
class ControlShare:
    """The share used, and where it came from (``"recorded"`` in the log, or ``"given"``).

    >>> ControlShare(0.1, "given").share
    0.1
    """

    share: float
    source: str


def resolve_control_share(recorded: Iterable[float],
                          explicit: float | None = None) -> ControlShare:
    """The control share for a log whose decisions recorded ``recorded`` (see module rules).

    >>> for recorded in ([0.5, 0.1, 0.1], [0.5, -1.0]):
    ...     try:
    ...         resolve_control_share(recorded)
    ...     except UnknownControlShare as exc:
    ...         print(str(exc).split(":")[0])
    the decision log mixes control shares
    1 of 2 logged decisions do not record the control share (written before DecisionLog v2)
    """
    if explicit is not None:
        if not 0.0 < explicit < 1.0:
            raise InvalidOptions(f"control_share must be in (0, 1), got {explicit}")
        return ControlShare(float(explicit), "given")
    counts = Counter(float(s) for s in recorded)
    total = sum(counts.values())
    missing = sum(n for s, n in counts.items() if s < 0.0)
    if missing:
        raise UnknownControlShare(
            f"{missing} of {total} logged decisions do not record the control share (written "
            "before DecisionLog v2): give it with --control-share")
    known = sorted(counts)
    if len(known) > 1:
        shares = ", ".join(f"{s:g} ({counts[s]} decisions)" for s in known)
        raise UnknownControlShare(
            f"the decision log mixes control shares: {shares}; visitors enrolled under "
            "different splits cannot share one sample-ratio check: report each period "
            "separately (--since) or give the share with --control-share")
    if not known:
        raise UnknownControlShare("no logged decisions to read the control share from")
    share = known[0]
    if not 0.0 < share < 1.0:
        raise InvalidOptions(
            f"the decision log records a control share of {share:g}: an experiment report "
            "needs both arms (a share in (0, 1))")
    return ControlShare(share, "recorded")
