"""Why an analyst's input could not be used: one exception class per reason.

Every class derives from :class:`ReplayError` (a ``ValueError``), so a caller can
catch all of them at once, and each carries a message naming the file, line or
decision that is at fault.

>>> err = LogFormatError("decisions.jsonl", 3, "not a JSON object")
>>> str(err)
'decisions.jsonl:3: not a JSON object'
>>> (err.path, err.line, isinstance(err, ReplayError))
('decisions.jsonl', 3, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "EmptyLog",
    "InvalidOptions",
    "InvalidPropensity",
    "InvalidTargetPolicy",
    "LogFormatError",
    "MissingPropensity",
    "ObdFormatError",
    "OptionsOverrideError",
    "ReplayError",
    "ReplaySourceError",
    "UnknownControlShare",
    "UnknownTarget",
    "UnknownTargetAction",
    "UnsupportedLogFormat",
]


class ReplayError(ValueError):
    """Base class of every error raised by :mod:`pipeline.replay`.

    >>> issubclass(MissingPropensity, ReplayError)
    True
    """


class LogFormatError(ReplayError):
    """A row of a log file is unreadable or does not match its Avro schema.

    ``line`` is the 1-based line of a JSON-lines file, or the 1-based record
    number of an Avro container file (``None`` when the whole file is at fault).

    >>> LogFormatError("o.avro", None, "not an Avro container file").line is None
    True
    """

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {reason}")


class UnsupportedLogFormat(ReplayError):
    """The file name ends in neither ``.jsonl`` nor ``.avro``.

    >>> str(UnsupportedLogFormat("log.csv"))
    "log.csv: unsupported log format (use a '.jsonl' or '.avro' file name)"
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        super().__init__(
            f"{self.path}: unsupported log format (use a '.jsonl' or '.avro' file name)"
        )


class MissingPropensity(ReplayError):
    """Logged decisions lack a usable propensity (missing, zero, negative or NaN).

    Importance weighting divides by the propensity, so such a log cannot be used
    for off-policy evaluation. ``decision_ids`` lists the first offenders.

    >>> err = MissingPropensity(["d1", "d2"], total=5)
    >>> err.total, str(err).startswith("5 logged decisions have no usable propensity")
    (5, True)
    """

    def __init__(self, decision_ids: Sequence[str], total: int) -> None:
        self.decision_ids = tuple(decision_ids)
        self.total = total
        shown = ", ".join(self.decision_ids)
        super().__init__(
            f"{total} logged decisions have no usable propensity (missing, zero, negative or "
            f"NaN), e.g. {shown}: off-policy evaluation needs the probability with which the "
            "logging policy chose each action"
        )


class InvalidPropensity(ReplayError):
    """A logged propensity is greater than one, so it is not a probability.

    >>> "d9" in str(InvalidPropensity(["d9"], total=1))
    True
    """

    def __init__(self, decision_ids: Sequence[str], total: int) -> None:
        self.decision_ids = tuple(decision_ids)
        self.total = total
        super().__init__(
            f"{total} logged decisions have a propensity above 1, e.g. {', '.join(decision_ids)}"
        )


class InvalidTargetPolicy(ReplayError):
    """A target policy returned something that is not a probability distribution.

    >>> str(InvalidTargetPolicy("d1", "probabilities sum to 0.5"))
    'target policy gave an invalid distribution for decision d1: probabilities sum to 0.5'
    """

    def __init__(self, decision_id: str, reason: str) -> None:
        self.decision_id = decision_id
        super().__init__(
            f"target policy gave an invalid distribution for decision {decision_id}: {reason}"
        )


class UnknownTarget(ReplayError):
    """A target policy name that :func:`pipeline.replay.policies.target_policy` does not know.

    >>> "uniform" in str(UnknownTarget("best"))
    True
    """

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"unknown target policy {name!r}: use 'uniform', 'logged', 'greedy' or "
            "'always:<action_id>'"
        )


class UnknownTargetAction(UnknownTarget):
    """``always:<action_id>`` names an action the log never saw (neither chosen nor eligible).

    >>> err = UnknownTargetAction("banana", ["a", "b"], decisions=10)
    >>> str(err).split(" (")[0], isinstance(err, UnknownTarget)
    ("target 'always:banana' names an action in none of the 10 logged decisions", True)
    """

    def __init__(self, action_id: str, known: Sequence[str], decisions: int) -> None:
        self.name = f"always:{action_id}"
        self.action_id = action_id
        shown = ", ".join(sorted(known)[:20]) or "none"
        ReplayError.__init__(
            self,
            f"target {self.name!r} names an action in none of the {decisions} logged "
            f"decisions (neither chosen nor eligible): nothing in the log says what it would "
            f"earn; actions in the log: {shown}")


class EmptyLog(ReplayError):
    """There are no decisions to evaluate or report on.

    >>> str(EmptyLog("no served decisions"))
    'no served decisions'
    """


class InvalidOptions(ReplayError):
    """An option is out of its documented range.

    >>> str(InvalidOptions("folds must be at least 2, got 1"))
    'folds must be at least 2, got 1'
    """


class UnknownControlShare(ReplayError):
    """The decision log does not say which control share to check against (none, or mixed).

    >>> isinstance(UnknownControlShare("give it with --control-share"), ReplayError)
    True
    """


class ObdFormatError(ReplayError):
    """An Open Bandit Dataset file is missing, lacks columns or has a bad value.

    >>> str(ObdFormatError("bts/all.csv", 7, "click must be 0 or 1, got '2'"))
    "bts/all.csv:7: click must be 0 or 1, got '2'"
    """

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {reason}")


class OptionsOverrideError(ReplayError):
    """An engine-options override (``rtp replay --options FILE``) names or sets something wrong.

    ``key`` is the dotted path of the option at fault (empty for the whole file).

    >>> str(OptionsOverrideError("o.yaml", "decider.bandit.alpah", "unknown option"))
    'o.yaml: decider.bandit.alpah: unknown option'
    """

    def __init__(self, source: str | Path, key: str, reason: str) -> None:
        self.source = str(source)
        self.key = key
        self.reason = reason
        where = f"{self.source}: {key}" if key else self.source
        super().__init__(f"{where}: {reason}")


class ReplaySourceError(ReplayError):
    """A replay input as a whole cannot be read (missing file, unknown topic, bad range).

    Single bad records never raise this: they are dead-lettered and counted.

    >>> str(ReplaySourceError("events.csv: unsupported input format"))
    'events.csv: unsupported input format'
    """
