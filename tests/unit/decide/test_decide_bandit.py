"""LinUCB: exact propensities, learning, determinism, serialization, the kept-up inverse."""

from __future__ import annotations

import math
import random
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.decide import (
    BanditInputError,
    BanditOptions,
    BanditStateError,
    DecideOptionsError,
    Featurizer,
    FeaturizerOptions,
    LinUCB,
)
from pipeline.decide import bandit as bandit_module
from pipeline.decide.bandit import REINVERT_EVERY
from pipeline.decide.vocabulary import INTENT_CLASSES, PAGE_TYPES, SECTORS, SIGNAL_RULES

ARMS = ["no_action", "comparison_guide", "cta_change", "free_express_shipping"]
FEATURIZER = Featurizer()


def _x(sector: str, signal: str | None) -> np.ndarray:
    signals = frozenset({signal}) if signal else frozenset()
    return FEATURIZER.transform({"page_views": 4.0}, {"sector": sector}, signals, 0.2, "at_risk")


def _share(bandit: LinUCB, x: np.ndarray, arm: str, n: int, prefix: str) -> float:
    return sum(bandit.choose(x, ARMS, f"{prefix}-{i}").action_id == arm for i in range(n)) / n


@pytest.mark.parametrize("exploration", ["epsilon_greedy", "softmax"])
def test_learns_to_favour_the_rewarded_action_in_its_context(exploration: str) -> None:
    bandit = LinUCB(
        FEATURIZER.dimension,
        BanditOptions(exploration=exploration, seed=11),  # type: ignore[arg-type]
        FEATURIZER.fingerprint,
    )
    hesitating = _x("ecommerce", "hesitation")
    pogo = _x("travel", "pogo_sticking")
    before = _share(bandit, hesitating, "free_express_shipping", 400, "before")
    rng = random.Random(5)
    for i in range(400):  # closed loop: the bandit's own choices, noisy rewards
        for name, x, best in (
            ("h", hesitating, "free_express_shipping"),
            ("p", pogo, "comparison_guide"),
        ):
            choice = bandit.choose(x, ARMS, f"train-{name}-{i}")
            p_reward = 0.7 if choice.action_id == best else 0.1
            bandit.update(x, choice.action_id, float(rng.random() < p_reward))
    after = _share(bandit, hesitating, "free_express_shipping", 400, "after")
    assert before == pytest.approx(0.25, abs=0.08)
    assert after >= 0.8
    assert _share(bandit, pogo, "comparison_guide", 400, "after") >= 0.8


@settings(max_examples=60, deadline=None)
@given(
    rewards=st.lists(
        st.tuples(st.sampled_from(ARMS), st.floats(-1, 2), st.booleans()), max_size=20
    ),
    eligible=st.lists(st.sampled_from(ARMS), min_size=1, max_size=4, unique=True),
    epsilon=st.sampled_from([0.0, 0.05, 0.1, 0.5, 1.0]),
    exploration=st.sampled_from(["epsilon_greedy", "softmax"]),
    key=st.text(max_size=8),
)
def test_distribution_is_a_distribution_and_the_propensity_is_exact(
    rewards: list[tuple[str, float, bool]],
    eligible: list[str],
    epsilon: float,
    exploration: str,
    key: str,
) -> None:
    bandit = LinUCB(3, BanditOptions(epsilon=epsilon, exploration=exploration))  # type: ignore[arg-type]
    x = np.array([1.0, 0.5, 0.0])
    for arm, reward, first in rewards:
        bandit.update(x, arm, reward, new_observation=first)
    choice = bandit.choose(x, eligible, key)
    probabilities = [a.probability for a in choice.distribution]
    assert [a.action_id for a in choice.distribution] == eligible
    assert math.fsum(probabilities) == pytest.approx(1.0, abs=1e-12)
    assert all(p >= epsilon / len(eligible) - 1e-12 for p in probabilities)
    assert choice.propensity == choice.probability_of(choice.action_id) > 0.0
    assert choice.action_id in eligible


def test_epsilon_greedy_probabilities_are_exactly_known() -> None:
    bandit = LinUCB(1, BanditOptions(alpha=0.5, epsilon=0.2))
    bandit.update([1.0], "good", 1.0)  # score 0.5 + 0.5 * sqrt(1/2) > unseen arms' 0.5
    distribution = {
        a.action_id: a.probability for a in bandit.distribution([1.0], ["good", "x", "y"])
    }
    assert distribution["good"] == pytest.approx(0.8 + 0.2 / 3)
    assert distribution["x"] == distribution["y"] == pytest.approx(0.2 / 3)
    ties = {a.action_id: a.probability for a in LinUCB(1).distribution([1.0], ARMS)}
    assert all(p == pytest.approx(0.25) for p in ties.values())


def test_empirical_choice_frequencies_match_the_propensities() -> None:
    bandit = LinUCB(2, BanditOptions(epsilon=0.3))
    x = [1.0, 1.0]
    for _ in range(20):
        bandit.update(x, "cta_change", 1.0)
        bandit.update(x, "no_action", 0.0)
    distribution = {a.action_id: a.probability for a in bandit.distribution(x, ARMS)}
    n = 4000
    counts = {arm: 0 for arm in ARMS}
    for i in range(n):
        counts[bandit.choose(x, ARMS, f"d{i}").action_id] += 1
    for arm in ARMS:
        assert counts[arm] / n == pytest.approx(distribution[arm], abs=0.03)


def test_choice_is_deterministic_per_draw_key_and_seed() -> None:
    bandit = LinUCB(1)
    picks = [bandit.choose([1.0], ARMS, "decision-7").action_id for _ in range(5)]
    assert len(set(picks)) == 1
    seeds = {LinUCB(1, BanditOptions(seed=s)).choose([1.0], ARMS, "k").action_id for s in range(40)}
    assert len(seeds) > 1


def test_reward_corrections_equal_one_observation_with_the_summed_reward() -> None:
    x = [1.0, 0.3]
    split = LinUCB(2)
    split.update(x, "a", 0.0)  # shown
    split.update(x, "a", 1.0, new_observation=False)  # clicked
    split.update(x, "a", 1.0, new_observation=False)  # converted
    whole = LinUCB(2)
    whole.update(x, "a", 2.0)
    assert split.scores(x, ["a"]) == pytest.approx(whole.scores(x, ["a"]))
    assert split.observations("a") == 1


def test_bad_inputs_are_refused() -> None:
    bandit = LinUCB(2)
    with pytest.raises(BanditInputError, match="shape"):
        bandit.update([1.0], "a", 1.0)
    with pytest.raises(BanditInputError, match="non-finite"):
        bandit.update([math.nan, 1.0], "a", 1.0)
    with pytest.raises(BanditInputError, match="not finite"):
        bandit.update([1.0, 1.0], "a", math.inf)
    with pytest.raises(BanditInputError, match="no eligible"):
        bandit.choose([1.0, 1.0], [], "k")
    with pytest.raises(BanditInputError, match="unique"):
        bandit.distribution([1.0, 1.0], ["a", "a"])


@settings(max_examples=40, deadline=None)
@given(
    updates=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.lists(st.floats(-5, 5), min_size=3, max_size=3),
            st.floats(-1, 2),
            st.booleans(),
        ),
        max_size=15,
    ),
    probe=st.lists(st.floats(-5, 5), min_size=3, max_size=3),
)
def test_serialization_round_trips_exactly(
    updates: list[tuple[str, list[float], float, bool]], probe: list[float]
) -> None:
    bandit = LinUCB(3, fingerprint="fp")
    for arm, x, reward, first in updates:
        bandit.update(x, arm, reward, new_observation=first)
    restored = LinUCB.from_bytes(bandit.to_bytes(), dimension=3, fingerprint="fp")
    assert restored.to_bytes() == bandit.to_bytes()
    # The restored bandit inverts each A afresh; the live one kept its inverse up to date by
    # Sherman-Morrison, so the scores agree to round-off, not always to the last bit.
    restored_scores = restored.scores(probe, ["a", "b", "c"])
    for got, want in zip(restored_scores, bandit.scores(probe, ["a", "b", "c"]), strict=True):
        assert abs(got - want) <= 1e-9 * max(1.0, abs(want))
    assert restored.version == bandit.version


def test_state_of_another_featurizer_is_refused() -> None:
    small = Featurizer(FeaturizerOptions(numeric_caps=(("page_views", 10.0),)))
    data = LinUCB(small.dimension, fingerprint=small.fingerprint).to_bytes()
    with pytest.raises(BanditStateError, match="dimension"):
        LinUCB.from_bytes(data, dimension=FEATURIZER.dimension)
    with pytest.raises(BanditStateError, match="featurizer"):
        LinUCB.from_bytes(data, fingerprint=FEATURIZER.fingerprint)


@pytest.mark.parametrize(
    "data",
    [b"", b"junk", b"rtp-linucb\n", b"rtp-linucb\n\x00\x00\x00\x02{}"],
)
def test_garbage_state_is_refused(data: bytes) -> None:
    with pytest.raises(BanditStateError):
        LinUCB.from_bytes(data)


def test_truncated_state_is_refused() -> None:
    bandit = LinUCB(2)
    bandit.update([1.0, 1.0], "a", 1.0)
    with pytest.raises(BanditStateError, match="body"):
        LinUCB.from_bytes(bandit.to_bytes()[:-8])


def test_options_can_change_on_load_without_losing_what_was_learned() -> None:
    bandit = LinUCB(1, BanditOptions(alpha=0.5))
    bandit.update([1.0], "a", 1.0)
    greedy = LinUCB.from_bytes(bandit.to_bytes(), options=BanditOptions(alpha=0.0))
    assert greedy.scores([1.0], ["a"]) == pytest.approx([0.5])  # theta = 1 / (ridge + 1)
    assert greedy.observations("a") == 1


def test_featurizer_vector_is_bounded_and_stable() -> None:
    x = FEATURIZER.transform(
        {"page_views": 1e9, "cart_value": -5.0, "dwell_product_s": math.nan},
        {"sector": "crypto", "device": "mobile", "page_type": "other"},
        frozenset({"rage_click", "unknown_rule"}),
        7.0,
        "unknown_class",
    )
    assert x.shape == (FEATURIZER.dimension,)
    assert np.all((x >= 0.0) & (x <= 1.0))
    assert x[FEATURIZER.index("num:page_views")] == 1.0
    assert x[FEATURIZER.index("cat:sector=other")] == 1.0
    assert x[FEATURIZER.index("cat:page_type=other")] == 1.0
    assert x[FEATURIZER.index("intent:probability")] == 1.0
    assert x[FEATURIZER.index("signal:rage_click")] == 1.0
    assert Featurizer().fingerprint == FEATURIZER.fingerprint


# -- the inverse kept up to date (Sherman-Morrison) against a fresh np.linalg.inv -----------


class FreshInverse:
    """LinUCB's scores the textbook way: ``A`` and ``b`` accumulated, ``A`` inverted afresh."""

    def __init__(self, dimension: int, options: BanditOptions) -> None:
        self.dimension, self.options = dimension, options
        self.arms: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def update(self, x: np.ndarray, action_id: str, reward: float, first: bool) -> None:
        d = self.dimension
        a, b = self.arms.setdefault(action_id, (self.options.ridge * np.eye(d), np.zeros(d)))
        if first:
            a += np.outer(x, x)
        b += reward * x

    def scores(self, x: np.ndarray, action_ids: list[str]) -> list[float]:
        out = []
        for action_id in action_ids:
            if action_id not in self.arms:
                out.append(self.options.alpha / math.sqrt(self.options.ridge) * math.sqrt(x @ x))
                continue
            a, b = self.arms[action_id]
            a_inv = np.linalg.inv(a)
            out.append(float((a_inv @ b) @ x) + self.options.alpha * math.sqrt(x @ a_inv @ x))
        return out


def assert_close_scores(got: list[float], want: list[float]) -> None:
    """Within the policy's own tie tolerance: ``1e-9 * max(1, |score|)``."""
    for g, w in zip(got, want, strict=True):
        assert abs(g - w) <= 1e-9 * max(1.0, abs(w)), (got, want)


NUMERIC_NAMES = [name for name, _cap in FEATURIZER.options.numeric_caps]
CATEGORY_VALUES = st.sampled_from([*SECTORS, *PAGE_TYPES, "desktop", "mobile", "search", "ads",
                                   "?"])
#: Context vectors as the decider builds them (one-hots, [0, 1] scaled numbers, flags).
CONTEXTS = st.builds(
    FEATURIZER.transform,
    st.dictionaries(st.sampled_from(NUMERIC_NAMES), st.floats(0.0, 5000.0), max_size=10),
    st.dictionaries(st.sampled_from(["sector", "device", "traffic_source", "page_type"]),
                    CATEGORY_VALUES),
    st.frozensets(st.sampled_from(SIGNAL_RULES)),
    st.floats(0.0, 1.0),
    st.sampled_from(INTENT_CLASSES),
)
#: Small vectors of any sign (not what the featurizer makes, but LinUCB must not care).
SMALL = st.lists(st.floats(-5.0, 5.0), min_size=4, max_size=4).map(np.array)


@st.composite
def update_runs(draw: st.DrawFn) -> tuple[int, list[np.ndarray], list[tuple[str, int, float,
                                                                            bool]]]:
    """A dimension, a few distinct contexts (repeated: real traffic repeats contexts) and
    updates over them."""
    vectors = draw(st.sampled_from([CONTEXTS, SMALL]))
    pool = draw(st.lists(vectors, min_size=1, max_size=6))
    updates = draw(st.lists(
        st.tuples(st.sampled_from(ARMS[:3]), st.integers(0, len(pool) - 1),
                  st.floats(-1.0, 3.0), st.booleans()),
        max_size=80))
    return len(pool[0]), pool, updates


@settings(max_examples=150, deadline=None)
@given(run=update_runs(), reinvert_every=st.sampled_from([REINVERT_EVERY, 7, 2]),
       exploration=st.sampled_from(["epsilon_greedy", "softmax"]),
       eligible=st.lists(st.sampled_from(ARMS), min_size=1, max_size=4, unique=True),
       probe=st.integers(0, 5), key=st.text(max_size=8))
def test_the_kept_up_inverse_scores_and_decides_as_a_fresh_inverse(
        run: tuple[int, list[np.ndarray], list[tuple[str, int, float, bool]]],
        reinvert_every: int, exploration: str, eligible: list[str], probe: int,
        key: str) -> None:
    dimension, pool, updates = run
    options = BanditOptions(exploration=exploration)  # type: ignore[arg-type]
    bandit, fresh = LinUCB(dimension, options), FreshInverse(dimension, options)
    with mock.patch.object(bandit_module, "REINVERT_EVERY", reinvert_every):
        for step, (arm, index, reward, first) in enumerate(updates):
            bandit.update(pool[index], arm, reward, new_observation=first)
            fresh.update(pool[index], arm, reward, first)
            if step % 9 == 8:  # scores between updates too: theta must follow b and A
                x = pool[step % len(pool)]
                assert_close_scores(bandit.scores(x, ARMS), fresh.scores(x, ARMS))
    x = pool[probe % len(pool)]
    assert_close_scores(bandit.scores(x, ARMS), fresh.scores(x, ARMS))
    # The same policy over freshly inverted A's (state loaded: each A inverted once).
    reloaded = LinUCB.from_bytes(bandit.to_bytes())
    assert_close_scores(reloaded.scores(x, ARMS), fresh.scores(x, ARMS))
    got, want = bandit.choose(x, eligible, key), reloaded.choose(x, eligible, key)
    assert got.action_id == want.action_id
    for g, w in zip(got.distribution, want.distribution, strict=True):
        assert g.action_id == w.action_id
        assert g.probability == pytest.approx(w.probability, rel=1e-9, abs=1e-12)


def _traffic(rng: random.Random) -> np.ndarray:
    """A context vector like the decider's: a few of the numbers set, one-hots, flags."""
    numeric = {name: rng.expovariate(1.0 / (cap / 4.0))
               for name, cap in FEATURIZER.options.numeric_caps if rng.random() < 0.6}
    categorical = {feature: rng.choice([*vocabulary, "unknown"])
                   for feature, vocabulary in FEATURIZER.options.categorical_vocabulary
                   if rng.random() < 0.9}
    signals = frozenset(rule for rule in SIGNAL_RULES if rng.random() < 0.15)
    return FEATURIZER.transform(numeric, categorical, signals, rng.random(),
                                rng.choice(INTENT_CLASSES))


@pytest.mark.parametrize("distinct", [1, 5, 2000])
def test_drift_stays_below_1e9_relative_over_50000_updates_of_one_arm(distinct: int) -> None:
    """Round-off of 50,000 rank-1 updates of one arm, checked just before each re-inversion.

    ``distinct`` contexts cycle (real traffic repeats contexts). One context repeated is
    the worst case measured: without the re-inversion every REINVERT_EVERY observations
    the scores drift past 1e-9 relative after about 20,000 updates.
    """
    rng = random.Random(distinct)
    pool = [_traffic(rng) for _ in range(distinct)]
    probes = pool[:5] + [_traffic(rng) for _ in range(5)]
    bandit = LinUCB(FEATURIZER.dimension)
    fresh = FreshInverse(FEATURIZER.dimension, BanditOptions())
    worst = 0.0
    for n in range(1, 50_001):
        x, reward = pool[n % distinct], float(rng.random() < 0.3)
        bandit.update(x, "a", reward)
        fresh.update(x, "a", reward, True)
        if n % REINVERT_EVERY == REINVERT_EVERY - 1:  # the most drift: 999, 1,999, ...
            for probe in probes:
                (got,), (want,) = bandit.scores(probe, ["a"]), fresh.scores(probe, ["a"])
                worst = max(worst, abs(got - want) / max(1.0, abs(want)))
    assert bandit.observations("a") == 50_000
    assert worst < 1e-9


def test_a_restored_bandit_is_bit_identical_again_from_the_next_reinversion() -> None:
    rng = random.Random(3)
    steps = [([rng.random() for _ in range(3)], rng.random()) for _ in range(REINVERT_EVERY)]
    live = LinUCB(3)
    for x, reward in steps[:10]:
        live.update(x, "a", reward)
    restored = LinUCB.from_bytes(live.to_bytes())
    for x, reward in steps[10:]:
        for bandit in (live, restored):
            bandit.update(x, "a", reward)
            bandit.update(x, "a", 0.5, new_observation=False)
    assert live.observations("a") == REINVERT_EVERY  # both inverted A afresh just now
    assert restored.to_bytes() == live.to_bytes()
    probe = [0.3, 0.2, 0.9]
    assert restored.scores(probe, ["a"]) == live.scores(probe, ["a"])


def test_exploration_decays_as_the_eligible_arms_learn_and_comes_back_for_a_new_arm() -> None:
    bandit = LinUCB(1)  # epsilon 0.1 at first, floor 0.02, halfway at 50 observations
    x = [1.0]
    assert bandit.epsilon_for(["good", "bad"]) == pytest.approx(0.1)
    for _ in range(1_000):
        bandit.update(x, "good", 1.0)
        bandit.update(x, "bad", 0.0)
    decayed = bandit.epsilon_for(["good", "bad"])
    assert 0.02 < decayed < 0.03
    probabilities = {a.action_id: a.probability for a in bandit.distribution(x, ["good", "bad"])}
    assert probabilities["bad"] == pytest.approx(decayed / 2)
    assert probabilities["bad"] >= bandit.options.epsilon / 2  # the floor off-policy needs
    # A new action among them is explored as at the start: it knows nothing yet.
    assert bandit.epsilon_for(["good", "bad", "new"]) == pytest.approx(0.1)
    # A fixed share when asked for: start <= floor, or no decay.
    fixed = LinUCB(1, BanditOptions(epsilon=0.1, epsilon_start=0.1))
    no_decay = LinUCB(1, BanditOptions(epsilon_decay=0.0))
    for bandit_ in (fixed, no_decay):
        for _ in range(100):
            bandit_.update(x, "good", 1.0)
        assert bandit_.epsilon_for(["good"]) == bandit_.options.epsilon


@pytest.mark.parametrize("bad", [{"epsilon_start": 1.5}, {"epsilon_start": -0.1},
                                 {"epsilon_decay": -1.0}, {"epsilon_decay": float("nan")}])
def test_exploration_schedule_options_are_checked(bad: dict[str, float]) -> None:
    with pytest.raises(DecideOptionsError):
        BanditOptions(**bad)  # type: ignore[arg-type]
