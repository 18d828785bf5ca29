"""The story override: a test-only switch that makes a scripted visitor's story certain.

``rtp demo --story`` and the story browser tests drive one scripted visitor through the real
worker. Two things would otherwise make the seed's action a matter of luck for that visitor:
the sticky control group (10% of people get nothing, by design) and the bandit's draw among
the eligible actions (with a fresh model every eligible action ties with ``no_action``).
The override removes both for the run's own visitors, and only for them:

- it applies to visitor ids that start with :attr:`StoryOverride.visitor_prefix` (the
  demo makes a random one per run, e.g. ``story-3fa9c1-``);
- those visitors are in the personalized arm, and when one of :attr:`StoryOverride.actions`
  is eligible (catalog, guardrails and payload as for anyone) it is chosen, first listed
  first; otherwise the bandit chooses as usual;
- such decisions are logged with ``policy`` :data:`STORY_POLICY` and propensity 1.0, so an
  analyst can leave them out of an off-policy evaluation.

It is never read from request data, the config file or ``RTP_*`` variables: only a worker
started with the hidden ``--story-override`` flag (which ``rtp demo --story`` and the tests
pass) has one. A worker configured for production has none, and a visitor id that merely
*looks* like a story visitor is decided like any other.

>>> story = StoryOverride("story-ab12-", ("free_express_shipping",))
>>> story.applies_to("story-ab12-1"), story.applies_to("v-42")
(True, False)
>>> StoryOverride.parse(story.flag()) == story
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.decide.errors import DecideOptionsError

__all__ = ["STORY_POLICY", "StoryOverride"]

#: ``Decision.policy`` of a decision the override chose.
STORY_POLICY = "story-override"

#: The shortest prefix accepted: a prefix such as "v" would catch real visitors.
_MIN_PREFIX = 8


@dataclass(frozen=True)
class StoryOverride:
    """Force the personalized arm and the story's action for visitors of one scripted run.

    Parameters
    ----------
    visitor_prefix
        Visitor ids that start with it are the run's (at least 8 characters).
    actions
        Catalog action ids to choose when eligible, in order of preference.

    >>> StoryOverride("v", ("x",))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.decide.errors.DecideOptionsError: story override: the visitor prefix 'v' is too ...
    """

    visitor_prefix: str
    actions: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.visitor_prefix) < _MIN_PREFIX:
            raise DecideOptionsError(
                f"story override: the visitor prefix {self.visitor_prefix!r} is too short "
                f"(at least {_MIN_PREFIX} characters)")
        if not self.actions or any(not a or "," in a for a in self.actions):
            raise DecideOptionsError(f"story override: bad action list {self.actions!r}")

    def applies_to(self, visitor_id: str) -> bool:
        """Whether ``visitor_id`` is one of the run's scripted visitors.

        >>> StoryOverride("story-run1-", ("a",)).applies_to("story-run2-x")
        False
        """
        return visitor_id.startswith(self.visitor_prefix)

    def pick(self, visitor_id: str, candidates: Sequence[str]) -> str | None:
        """The story's action among ``candidates`` (eligible, after guardrails) for
        ``visitor_id``, or None (not a story visitor, or none of its actions is eligible).

        >>> story = StoryOverride("story-run1-", ("rooms_left_cue", "reorder_by_availability"))
        >>> story.pick("story-run1-a", ["no_action", "reorder_by_availability", "rooms_left_cue"])
        'rooms_left_cue'
        >>> story.pick("story-run1-a", ["no_action"]) is None
        True
        >>> story.pick("v-1", ["rooms_left_cue"]) is None
        True
        """
        if not self.applies_to(visitor_id):
            return None
        return next((a for a in self.actions if a in candidates), None)

    def flag(self) -> str:
        """The value of ``rtp worker --story-override``: ``PREFIX=ACTION,ACTION``.

        >>> StoryOverride("story-run1-", ("a", "b")).flag()
        'story-run1-=a,b'
        """
        return f"{self.visitor_prefix}={','.join(self.actions)}"

    @classmethod
    def parse(cls, value: str) -> StoryOverride:
        """Inverse of :meth:`flag`.

        >>> StoryOverride.parse("story-run1-=one_click_eligibility_check").actions
        ('one_click_eligibility_check',)
        >>> StoryOverride.parse("story-run1-")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pipeline.decide.errors.DecideOptionsError: story override: expected PREFIX=ACTION...
        """
        prefix, sep, actions = value.partition("=")
        if not sep:
            raise DecideOptionsError(
                f"story override: expected PREFIX=ACTION[,ACTION...] (got {value!r})")
        return cls(prefix, tuple(actions.split(",")))
