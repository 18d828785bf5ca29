"""Contextual bandit: disjoint LinUCB with an exact, logged probability for every eligible arm.

Each action has its own ridge regression of reward on the context vector
(``A = ridge*I + sum x x^T``, ``b = sum r x``, ``theta = A^-1 b``) and an upper-confidence
score ``theta.x + alpha * sqrt(x^T A^-1 x)``. The policy is a *distribution* over the
eligible arms, so each propensity is exact (analysts need it for off-policy evaluation):

* ``epsilon_greedy``: ``(1 - epsilon)`` split equally among the arms with the top score,
  plus ``epsilon / n`` to every arm (``epsilon`` decays from ``epsilon_start`` as the
  eligible arms learn: :meth:`LinUCB.epsilon_for`);
* ``softmax``: ``(1 - epsilon) * softmax(score / temperature) + epsilon / n``.

The draw is seeded per decision (``sha256(seed:draw_key)``, the draw key being the decision
id), so a replay of the same trigger with the same model state picks the same arm.

``A^-1`` is kept up to date by each update instead of being inverted at the next decision:
adding ``x x^T`` to ``A`` is the Sherman-Morrison rank-1 update
``A^-1 <- A^-1 - (A^-1 x)(A^-1 x)^T / (1 + x^T A^-1 x)`` (``O(d^2)``; ``A^-1`` is symmetric),
and ``theta`` is one matvec ``A^-1 b`` when next needed. Rank-1 updates accumulate
round-off (worst with one context repeated: past 1e-9 relative in the scores after some
20,000 updates of an arm), so an arm's ``A`` is inverted afresh at every
:data:`REINVERT_EVERY`-th observation, which keeps the scores within ~5e-10 relative of a
fresh inverse. ``A`` is still accumulated (it is what the state stores); loading state
inverts each ``A`` once, so a restored bandit's scores match the uninterrupted one's to
round-off, and bit for bit again from each arm's next re-inversion.

>>> import numpy as np
>>> bandit = LinUCB(dimension=2)
>>> x = np.array([1.0, 0.0])
>>> for _ in range(30):
...     bandit.update(x, "good", 1.0)
...     bandit.update(x, "bad", 0.0)
>>> choice = bandit.choose(x, ["good", "bad"], draw_key="decision-1")
>>> choice.action_id, round(choice.propensity, 3)  # epsilon 0.07 after 30 observations each
('good', 0.965)
>>> round(sum(arm.probability for arm in choice.distribution), 12)
1.0
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Literal, Protocol

import numpy as np

from pipeline.decide.errors import BanditInputError, BanditStateError, DecideOptionsError
from pipeline.frozen import maker

__all__ = [
    "REINVERT_EVERY",
    "ArmScore",
    "BanditChoice",
    "BanditOptions",
    "LinUCB",
    "RewardLike",
    "uniform_draw",
]

_MAGIC = b"rtp-linucb\n"
_LENGTH = struct.Struct(">I")
_STATE_VERSION = 1
#: An arm's ``A`` is inverted afresh at every this many observations of the arm: bounds the
#: round-off the Sherman-Morrison updates in between accumulate (see the module docstring).
REINVERT_EVERY = 500


@dataclass(frozen=True)
class BanditOptions:
    """LinUCB and exploration settings.

    Parameters
    ----------
    alpha
        Width of the confidence bonus (1.0; it was 0.5. Decision quality bench, share of
        the oracle after warm-up with this engine: classic world 91.3% at 0.5, 93.8% at
        1.0; contextual world 91.6% at both, 88.9% at 2.0).
    ridge
        Ridge penalty, the prior precision of every arm (1.0).
    epsilon
        Share of probability always spread uniformly over the eligible arms (0.02): every
        eligible arm keeps a propensity >= ``epsilon / n`` (what off-policy evaluation
        needs).
    epsilon_start, epsilon_decay
        The uniform share is larger while the eligible arms know little:
        ``epsilon + (epsilon_start - epsilon) * epsilon_decay / (epsilon_decay + n_min)``,
        ``n_min`` being the fewest observations among the eligible arms (0.1 and 50: 0.1
        among arms never tried, halfway down to ``epsilon`` at 50 observations each). An
        arm that is new, or rarely eligible, is explored as much as with a fixed 0.1;
        arms that are well known no longer pay 10% of their decisions for actions they
        have learned are worse (the decision quality bench, contextual world, share of
        the oracle after warm-up: 89.7% with 0.1 throughout, 91.6% with this schedule,
        91.7% with 0.02 throughout). ``epsilon_start <= epsilon`` or ``epsilon_decay`` 0
        keeps ``epsilon`` throughout.
    exploration
        ``"epsilon_greedy"`` (default) or ``"softmax"``.
    temperature
        Softmax temperature (0.1).
    seed
        Seed of the per-decision draws.

    >>> BanditOptions().epsilon, BanditOptions().epsilon_start
    (0.02, 0.1)
    """

    alpha: float = 1.0
    ridge: float = 1.0
    epsilon: float = 0.02
    exploration: Literal["epsilon_greedy", "softmax"] = "epsilon_greedy"
    temperature: float = 0.1
    seed: int = 7
    epsilon_start: float = 0.1
    epsilon_decay: float = 50.0

    def __post_init__(self) -> None:
        if self.alpha < 0.0 or self.ridge <= 0.0 or self.temperature <= 0.0:
            raise DecideOptionsError("alpha must be >= 0, ridge and temperature > 0")
        for name in ("epsilon", "epsilon_start"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise DecideOptionsError(f"{name} {value} must be in [0, 1]")
        if not self.epsilon_decay >= 0.0:
            raise DecideOptionsError(f"epsilon_decay {self.epsilon_decay} must be >= 0")
        if self.exploration not in ("epsilon_greedy", "softmax"):
            raise DecideOptionsError(f"unknown exploration {self.exploration!r}")


@dataclass(frozen=True)
class ArmScore:
    """One eligible arm: its probability under the policy and its UCB score.

    >>> ArmScore("cta_change", 0.5, 1.2).probability
    0.5
    """

    action_id: str
    probability: float
    score: float


@dataclass(frozen=True)
class BanditChoice:
    """The chosen arm, its propensity and the full distribution over the eligible set.

    >>> choice = BanditChoice("a", 1.0, (ArmScore("a", 1.0, 0.0),))
    >>> choice.probability_of("a")
    1.0
    """

    action_id: str
    propensity: float
    distribution: tuple[ArmScore, ...]

    def probability_of(self, action_id: str) -> float:
        """Probability of ``action_id`` (0.0 if it was not eligible).

        >>> BanditChoice("a", 1.0, (ArmScore("a", 1.0, 0.0),)).probability_of("b")
        0.0
        """
        return next((a.probability for a in self.distribution if a.action_id == action_id), 0.0)


class RewardLike(Protocol):
    """What :meth:`LinUCB.apply` needs (``pipeline.feedback.RewardUpdate`` has it).

    >>> from pipeline.feedback import RewardUpdate
    >>> update: RewardLike = RewardUpdate("d", "a", (1.0,), 1.0, 1.0, True, "clicked", 1.0, 0)
    >>> update.new_observation
    True
    """

    @property
    def action_id(self) -> str:
        """The arm the reward is for."""
        ...

    @property
    def context(self) -> Sequence[float]:
        """The context vector of the decision."""
        ...

    @property
    def reward(self) -> float:
        """Reward to add (a delta when ``new_observation`` is False)."""
        ...

    @property
    def new_observation(self) -> bool:
        """Whether this is the decision's first update (adds ``x x^T`` to ``A``)."""
        ...


def uniform_draw(seed: int, key: str) -> float:
    """A deterministic number in [0, 1) for ``key``.

    >>> uniform_draw(7, "d1") == uniform_draw(7, "d1") != uniform_draw(8, "d1")
    True
    """
    sha256 = _seeded(seed).copy()  # sha256(f"{seed}:{key}"), the seed's part hashed once
    sha256.update(key.encode())
    return int.from_bytes(sha256.digest()[:8], "big") / 2.0**64


@lru_cache(maxsize=64)
def _seeded(seed: int) -> Any:  # a hashlib hash object
    """A SHA-256 that has read ``f"{seed}:"`` (copied by every draw of the seed)."""
    return hashlib.sha256(f"{seed}:".encode())


class _Arm:
    """One arm's ridge regression: ``A``, ``b``, ``A^-1`` (kept up to date) and ``theta``.

    >>> arm = _Arm.prior(2, ridge=1.0)
    >>> arm.observe(np.array([1.0, 0.0]))
    >>> arm.a_inv.tolist(), arm.observations
    ([[0.5, 0.0], [0.0, 1.0]], 1)
    """

    __slots__ = ("a", "a_inv", "b", "observations", "theta")

    def __init__(
        self, a: np.ndarray, b: np.ndarray, observations: int, a_inv: np.ndarray | None = None
    ) -> None:
        self.a = a
        self.b = b
        self.observations = observations
        self.a_inv: np.ndarray = np.linalg.inv(a) if a_inv is None else a_inv
        self.theta: np.ndarray | None = None

    @classmethod
    def prior(cls, dimension: int, ridge: float) -> _Arm:
        """An arm that has learned nothing: ``A = ridge * I``, its inverse exactly ``I / ridge``."""
        return cls(
            ridge * np.eye(dimension), np.zeros(dimension), 0, np.eye(dimension) / ridge
        )

    def observe(self, x: np.ndarray) -> None:
        """``A += x x^T``, and ``A^-1`` by Sherman-Morrison (afresh every REINVERT_EVERY)."""
        self.a += np.outer(x, x)
        self.observations += 1
        if self.observations % REINVERT_EVERY == 0:
            self.a_inv = np.linalg.inv(self.a)
        else:
            u = self.a_inv @ x  # A^-1 x; x^T A^-1 is its transpose (A^-1 is symmetric)
            outer = u[:, None] * u  # exactly symmetric
            outer /= 1.0 + float(x @ u)  # >= 1: A^-1 is positive definite
            self.a_inv -= outer
        self.theta = None

    def solved(self) -> tuple[np.ndarray, np.ndarray]:
        if self.theta is None:
            self.theta = self.a_inv @ self.b
        return self.a_inv, self.theta


class LinUCB:
    """Disjoint LinUCB over a fixed-dimension context (see the module docstring).

    ``fingerprint`` names the featurization; :meth:`from_bytes` refuses state saved under
    another dimension or fingerprint.

    >>> LinUCB(dimension=3, fingerprint="f").version
    'linucb-f@0'
    """

    def __init__(
        self, dimension: int, options: BanditOptions | None = None, fingerprint: str = ""
    ) -> None:
        if dimension < 1:
            raise DecideOptionsError(f"dimension {dimension} must be >= 1")
        self.dimension = dimension
        self.options = options or BanditOptions()
        self.fingerprint = fingerprint
        self.n_updates = 0
        self._arms: dict[str, _Arm] = {}
        self._prior_width = self.options.alpha / math.sqrt(self.options.ridge)

    @property
    def version(self) -> str:
        """``linucb-<fingerprint>@<updates>``: names the model state behind a decision.

        >>> LinUCB(2).version
        'linucb@0'
        """
        suffix = f"-{self.fingerprint}" if self.fingerprint else ""
        return f"linucb{suffix}@{self.n_updates}"

    @property
    def arms(self) -> tuple[str, ...]:
        """Arms that have learned something.

        >>> LinUCB(1).arms
        ()
        """
        return tuple(self._arms)

    def observations(self, action_id: str) -> int:
        """Observations (first updates) learned for ``action_id``.

        >>> LinUCB(1).observations("a")
        0
        """
        arm = self._arms.get(action_id)
        return arm.observations if arm else 0

    def epsilon_for(self, action_ids: Sequence[str]) -> float:
        """The uniform share of a decision among ``action_ids`` (see :class:`BanditOptions`).

        >>> bandit = LinUCB(1)
        >>> bandit.epsilon_for(["a", "b"])
        0.1
        >>> for _ in range(50):
        ...     bandit.update([1.0], "a", 1.0)
        ...     bandit.update([1.0], "b", 0.0)
        >>> round(bandit.epsilon_for(["a", "b"]), 6), bandit.epsilon_for(["a", "new"])
        (0.06, 0.1)
        >>> LinUCB(1, BanditOptions(epsilon=0.3)).epsilon_for(["a"])
        0.3
        """
        options = self.options
        extra = options.epsilon_start - options.epsilon
        if extra <= 0.0 or options.epsilon_decay <= 0.0:
            return options.epsilon
        arms = self._arms
        if not arms:  # nothing learned yet: every arm has 0 observations
            return options.epsilon + extra * options.epsilon_decay / (options.epsilon_decay + 0)
        least = min((arms[a].observations if a in arms else 0) for a in action_ids)
        return options.epsilon + extra * options.epsilon_decay / (options.epsilon_decay + least)

    def _vector(self, x: Sequence[float] | np.ndarray) -> np.ndarray:
        return self._checked(x)[0]

    def _checked(self, x: Sequence[float] | np.ndarray) -> tuple[np.ndarray, float]:
        """The context as float64, and ``x . x`` (both read once per decision).

        ``x . x`` is finite only when every value is (an inf or a NaN makes it inf or NaN),
        so a finite one needs no look at each value; one that is not may still come from
        finite values (an overflow past ~1e154, which NumPy warns of): those are looked at
        then.

        >>> LinUCB(2)._checked([3.0, 4.0])[1]
        25.0
        >>> with np.errstate(over="ignore"):
        ...     LinUCB(1)._checked([1e200])[1]
        inf
        >>> LinUCB(1)._checked([float("nan")])
        Traceback (most recent call last):
        ...
        pipeline.decide.errors.BanditInputError: context has non-finite values
        """
        vector = np.asarray(x, dtype=np.float64)
        if vector.shape != (self.dimension,):
            raise BanditInputError(
                f"context has shape {vector.shape}, expected ({self.dimension},)"
            )
        # ndarray.dot: the same BLAS dot product as ``vector @ vector`` (the same float, bit
        # for bit: tests/unit/decide), at half the dispatch cost of the matmul operator.
        norm2 = float(vector.dot(vector))
        if not math.isfinite(norm2) and not np.isfinite(vector).all():
            raise BanditInputError("context has non-finite values")
        return vector, norm2

    def scores(self, x: Sequence[float] | np.ndarray, action_ids: Sequence[str]) -> list[float]:
        """UCB score of each arm (unseen arms: the prior's pure exploration bonus).

        Square roots of Python floats (``math.sqrt``, correctly rounded as ``np.sqrt`` is:
        the same numbers, without a NumPy scalar per arm).

        >>> LinUCB(1, BanditOptions(alpha=1.0)).scores([2.0], ["a", "b"])
        [2.0, 2.0]
        """
        vector, norm2 = self._checked(x)
        alpha = self.options.alpha
        out: list[float] = []
        prior: float | None = None  # the same for every unseen arm: computed once
        arms = self._arms
        for action_id in action_ids:
            arm = arms.get(action_id)
            if arm is None:
                if prior is None:
                    prior = self._prior_width * math.sqrt(norm2)
                out.append(prior)
                continue
            a_inv, theta = arm.solved()
            width = math.sqrt(max(float(vector @ a_inv @ vector), 0.0))
            out.append(float(theta @ vector) + alpha * width)
        return out

    def distribution(
        self, x: Sequence[float] | np.ndarray, action_ids: Sequence[str]
    ) -> tuple[ArmScore, ...]:
        """The policy's probability for every eligible arm (sums to 1).

        >>> [a.probability for a in LinUCB(1).distribution([1.0], ["a", "b"])]
        [0.5, 0.5]
        """
        if not action_ids:
            raise BanditInputError("no eligible action")
        if len(set(action_ids)) != len(action_ids):
            raise BanditInputError("eligible action ids must be unique")
        scores = self.scores(x, action_ids)
        n = len(action_ids)
        epsilon = self.epsilon_for(action_ids)
        keep, spread = 1.0 - epsilon, epsilon / n  # the same two numbers for every arm
        top = max(scores)
        if self.options.exploration == "softmax":
            weights = [math.exp((s - top) / self.options.temperature) for s in scores]
            total = sum(weights)
            probabilities = [keep * (w / total) + spread for w in weights]
        else:
            floor = top - 1e-9 * max(1.0, abs(top))  # the leaders: within 1e-9 of the top
            share = 1.0 / sum(1 for s in scores if s >= floor)
            # keep * p + spread for p = share (a leader) or 0.0: two numbers, computed once
            leader, other = keep * share + spread, keep * 0.0 + spread
            probabilities = [leader if s >= floor else other for s in scores]
        total = math.fsum(probabilities)
        new_score = _new_arm_score  # ArmScore(...) without the frozen __init__
        return tuple([  # a list first: a tuple of a generator grows as it goes
            new_score(action_id, p / total, s)
            for action_id, p, s in zip(action_ids, probabilities, scores, strict=True)
        ])

    def choose(
        self, x: Sequence[float] | np.ndarray, action_ids: Sequence[str], draw_key: str
    ) -> BanditChoice:
        """Draw an arm from :meth:`distribution`, deterministically for ``draw_key``.

        >>> LinUCB(1).choose([1.0], ["only"], "d").propensity
        1.0
        """
        distribution = self.distribution(x, action_ids)
        u = uniform_draw(self.options.seed, draw_key)
        cumulative = 0.0
        chosen = distribution[-1]
        for arm in distribution:
            cumulative += arm.probability
            if u < cumulative:
                chosen = arm
                break
        return _new_choice(chosen.action_id, chosen.probability, distribution)

    def update(
        self,
        x: Sequence[float] | np.ndarray,
        action_id: str,
        reward: float,
        *,
        new_observation: bool = True,
    ) -> None:
        """Learn a reward for ``action_id`` in context ``x``.

        ``new_observation=False`` adds a reward *correction* for a decision already counted
        (e.g. a click after the "shown" update): only ``b`` moves, so the fit equals one
        observation with the summed reward.

        >>> bandit = LinUCB(1)
        >>> bandit.update([1.0], "a", 1.0)
        >>> bandit.update([1.0], "a", 0.5, new_observation=False)
        >>> bandit.observations("a"), bandit.n_updates
        (1, 2)
        """
        vector = self._vector(x)
        if not math.isfinite(reward):
            raise BanditInputError(f"reward {reward} is not finite")
        arm = self._arms.get(action_id)
        if arm is None:
            arm = _Arm.prior(self.dimension, self.options.ridge)
            self._arms[action_id] = arm
        if new_observation:
            arm.observe(vector)
        arm.b += reward * vector
        arm.theta = None
        self.n_updates += 1

    def apply(self, update: RewardLike) -> None:
        """:meth:`update` from a reward update (``pipeline.feedback.RewardUpdate``).

        >>> from types import SimpleNamespace
        >>> bandit = LinUCB(1)
        >>> bandit.apply(SimpleNamespace(context=(1.0,), action_id="a", reward=1.0,
        ...                              new_observation=True))
        >>> bandit.observations("a")
        1
        """
        self.update(
            update.context, update.action_id, update.reward, new_observation=update.new_observation
        )

    def to_bytes(self) -> bytes:
        """Serialize: a JSON header then each arm's ``A`` and ``b`` as float64 (exact).

        ``A^-1`` is not stored: :meth:`from_bytes` inverts each ``A``, so the scores of the
        restored bandit equal these to round-off (see the module docstring).

        >>> bandit = LinUCB(2, fingerprint="abc")
        >>> bandit.update([1.0, 0.5], "a", 1.0)
        >>> restored = LinUCB.from_bytes(bandit.to_bytes())
        >>> restored.to_bytes() == bandit.to_bytes()
        True
        >>> math.isclose(restored.scores([1.0, 0.5], ["a"])[0], bandit.scores([1.0, 0.5], ["a"])[0],
        ...              rel_tol=1e-12)
        True
        """
        arms = list(self._arms.items())
        header = json.dumps(
            {
                "v": _STATE_VERSION,
                "dimension": self.dimension,
                "fingerprint": self.fingerprint,
                "options": asdict(self.options),
                "n_updates": self.n_updates,
                "arms": [[action_id, arm.observations] for action_id, arm in arms],
            },
            separators=(",", ":"),
        ).encode()
        body = b"".join(
            np.ascontiguousarray(arm.a, dtype="<f8").tobytes()
            + np.ascontiguousarray(arm.b, dtype="<f8").tobytes()
            for _id, arm in arms
        )
        return _MAGIC + _LENGTH.pack(len(header)) + header + body

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        dimension: int | None = None,
        fingerprint: str | None = None,
        options: BanditOptions | None = None,
    ) -> LinUCB:
        """Inverse of :meth:`to_bytes`.

        Raises :class:`BanditStateError` when the bytes are not bandit state, or when
        ``dimension`` / ``fingerprint`` are given and differ from the stored ones.
        ``options`` replaces the stored exploration settings (learned state is kept).

        >>> LinUCB.from_bytes(LinUCB(3, fingerprint="old").to_bytes(), fingerprint="new")
        Traceback (most recent call last):
        ...
        pipeline.decide.errors.BanditStateError: bandit state has featurizer 'old', expected 'new'
        """
        if not data.startswith(_MAGIC):
            raise BanditStateError("not rtp bandit state (bad magic bytes)")
        start = len(_MAGIC)
        try:
            (length,) = _LENGTH.unpack_from(data, start)
            start += _LENGTH.size
            header = json.loads(data[start : start + length])
            if header["v"] != _STATE_VERSION:
                raise BanditStateError(f"unsupported bandit state version {header['v']!r}")
            stored_dimension = int(header["dimension"])
            stored_fingerprint = str(header["fingerprint"])
            stored_options = BanditOptions(**header["options"])
            arms_meta = [(str(a), int(n)) for a, n in header["arms"]]
            n_updates = int(header["n_updates"])
        except BanditStateError:
            raise
        except (struct.error, ValueError, KeyError, TypeError) as error:
            raise BanditStateError(f"unreadable bandit state header: {error}") from error
        if dimension is not None and dimension != stored_dimension:
            raise BanditStateError(
                f"bandit state has dimension {stored_dimension}, expected {dimension}"
            )
        if fingerprint is not None and fingerprint != stored_fingerprint:
            raise BanditStateError(
                f"bandit state has featurizer {stored_fingerprint!r}, expected {fingerprint!r}"
            )
        body = memoryview(data)[start + length :]
        per_arm = (stored_dimension * stored_dimension + stored_dimension) * 8
        if len(body) != per_arm * len(arms_meta):
            raise BanditStateError(
                f"bandit state body has {len(body)} bytes, expected {per_arm * len(arms_meta)}"
            )
        bandit = cls(stored_dimension, options or stored_options, stored_fingerprint)
        bandit.n_updates = n_updates
        d = stored_dimension
        for index, (action_id, observations) in enumerate(arms_meta):
            chunk = body[index * per_arm : (index + 1) * per_arm]
            a = np.frombuffer(chunk[: d * d * 8], dtype="<f8").reshape(d, d).astype(np.float64)
            b = np.frombuffer(chunk[d * d * 8 :], dtype="<f8").astype(np.float64)
            bandit._arms[action_id] = _Arm(a, b, observations)  # inverts A once
        return bandit


#: Positional constructors (every field, in order: :mod:`pipeline.frozen`), for the hot path.
_new_arm_score = maker(ArmScore)
_new_choice = maker(BanditChoice)
