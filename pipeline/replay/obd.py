"""Import the Open Bandit Dataset (OBD) as our decision logs, and check OPE against it.

OBD (Saito et al., NeurIPS 2021) is real logged bandit feedback from ZOZOTOWN:
for each impression a policy picked one of 80 items for one of 3 positions and
recorded whether the user clicked, with the propensity of its pick. The folder
passed in holds ``random/`` (uniform random policy) and ``bts/`` (Bernoulli
Thompson sampling), each with ``all.csv`` and ``item_context.csv``; the 10,000-row
sample is fetched and checked by :mod:`pipeline.replay.obd_sample` (``rtp data obd``).

Mapping of one CSV row to ``rtp.DecisionLog`` + ``rtp.Outcome``:

- ``decision_id`` = ``obd:<behavior>/all.csv:<row>`` (file and 0-based data row:
  deterministic); ``trigger_event_id`` the same; ``created_at`` the timestamp.
- ``visitor_id`` = ``obd-`` + a hash of ``user_feature_0..3`` (the dataset has no
  user id, so equal features are one "visitor"); ``session_id`` = visitor + day.
- ``action_id`` = ``item_<item_id>``, ``slot`` = ``grid``; ``payload`` holds
  ``position``, ``item_id``, the item's ``item_feature_0..3`` and
  ``eligible_probabilities`` (see below).
- ``propensity`` = ``propensity_score``; ``policy`` = ``uniform_random`` or
  ``bernoulli_ts``; arm ``personalized`` and ``served`` true (OBD has no control).
- ``categorical_features``: ``user_feature_0..3`` and ``position``;
  ``numeric_features``: ``user_item_affinity_<k>`` for the 80 items.
- ``eligible``: all items of ``item_context.csv``. The random log knows every
  probability: ``1/80`` each (``eligible_probabilities=exact``). For BTS only the
  chosen item's probability is known; the others get ``(1 - p) / 79``, a
  **labelled approximation** (``eligible_probabilities=chosen_exact_others_approx``)
  that keeps the list a distribution. IPS, SNIPS, DR and every target policy
  that ignores logged probabilities (uniform, always, greedy) use only the
  exact chosen propensity, so they are unaffected; only the ``logged`` target's
  direct-method term would read the approximation.
- Outcome: ``clicked`` when ``click == 1``, else ``ignored``, at the decision's
  time (OBD records no click time).

:func:`compare_obd` is the headline check: estimate the uniform random policy's
click rate from the BTS log (IPS, SNIPS, DR, bootstrap intervals) and put it
beside the click rate the random log actually observed (Wilson interval).

>>> OBD_POLICIES["bts"], OBD_POLICIES["random"]
('bernoulli_ts', 'uniform_random')
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pipeline.replay.errors import EmptyLog, InvalidOptions, ObdFormatError
from pipeline.replay.intervals import Interval, wilson_interval
from pipeline.replay.join import join_records
from pipeline.replay.logfile import LogFileOptions, write_decision_logs, write_outcomes
from pipeline.replay.ope import EvaluationResult, OpeOptions, evaluate_rows
from pipeline.replay.policies import uniform_policy
from pipeline.replay.reward_model import RewardModelOptions

__all__ = [
    "OBD_POLICIES",
    "ImportResult",
    "ImportedLog",
    "ObdComparison",
    "ObdLog",
    "compare_obd",
    "import_obd",
    "obd_reward_model_options",
    "read_obd",
]

Behavior = Literal["random", "bts"]

#: Logging policy name of each OBD behavior folder.
OBD_POLICIES: dict[str, str] = {"random": "uniform_random", "bts": "bernoulli_ts"}

_USER_FEATURES = tuple(f"user_feature_{k}" for k in range(4))
_REQUIRED = ("timestamp", "item_id", "position", "click", "propensity_score", *_USER_FEATURES)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ObdLog:
    """One OBD behavior folder as ``rtp.DecisionLog`` and ``rtp.Outcome`` dicts.

    >>> ObdLog("random", "uniform_random", Path("random/all.csv"), [], []).clicks
    0
    """

    behavior: str
    policy: str
    source: Path
    logs: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]

    @property
    def clicks(self) -> int:
        """How many decisions were clicked."""
        return sum(1 for o in self.outcomes if o["kind"] == "clicked")


def _read_items(path: Path) -> dict[str, dict[str, str]]:
    if not path.is_file():
        raise ObdFormatError(path, None, "item_context.csv not found")
    items: dict[str, dict[str, str]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "item_id" not in reader.fieldnames:
            raise ObdFormatError(path, 1, "missing column 'item_id'")
        for line, rec in enumerate(reader, start=2):
            item = (rec.get("item_id") or "").strip()
            if not item.isdigit():
                raise ObdFormatError(path, line, f"item_id must be an integer, got {item!r}")
            items[item] = {
                k: v
                for k, v in rec.items()
                if k and k.startswith("item_feature_") and v is not None
            }
    if not items:
        raise ObdFormatError(path, None, "no items")
    return items


def _epoch_ms(text: str) -> int:
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _visitor(rec: dict[str, str]) -> str:
    joined = "|".join(rec[k] for k in _USER_FEATURES)
    return "obd-" + hashlib.blake2b(joined.encode("utf-8"), digest_size=8).hexdigest()


def _iter_rows(path: Path, limit: int | None) -> Iterator[tuple[int, int, dict[str, str]]]:
    if not path.is_file():
        raise ObdFormatError(path, None, "all.csv not found")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ObdFormatError(path, 1, f"missing columns {missing}")
        for index, rec in enumerate(reader):
            if limit is not None and index >= limit:
                return
            yield index, index + 2, rec


def read_obd(directory: str | Path, behavior: Behavior, limit: int | None = None) -> ObdLog:
    """Read ``<directory>/<behavior>/all.csv`` (+ ``item_context.csv``) as our records.

    ``limit`` reads only the first rows. See the module docstring for the mapping.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "bts").mkdir()
    >>> _ = (folder / "bts" / "item_context.csv").write_text(
    ...     ",item_id,item_feature_0\\n0,0,0.5\\n1,1,-0.5\\n")
    >>> _ = (folder / "bts" / "all.csv").write_text(
    ...     ",timestamp,item_id,position,click,propensity_score,user_feature_0,user_feature_1,"
    ...     "user_feature_2,user_feature_3,user-item_affinity_0,user-item_affinity_1\\n"
    ...     "0,2019-11-24 00:00:34.762830+00:00,1,2,1,0.25,a,b,c,d,0.0,1.0\\n")
    >>> log = read_obd(folder, "bts")
    >>> d = log.logs[0]
    >>> d["decision"]["decision_id"], d["decision"]["action_id"], d["decision"]["propensity"]
    ('obd:bts/all.csv:0', 'item_1', 0.25)
    >>> [(e["action_id"], e["probability"]) for e in d["eligible"]]
    [('item_0', 0.75), ('item_1', 0.25)]
    >>> log.outcomes[0]["kind"], d["decision"]["payload"]["eligible_probabilities"]
    ('clicked', 'chosen_exact_others_approx')
    """
    if behavior not in OBD_POLICIES:
        raise InvalidOptions(f"behavior must be 'random' or 'bts', got {behavior!r}")
    folder = Path(directory) / behavior
    items = _read_items(folder / "item_context.csv")
    item_ids = sorted(items, key=int)
    item_actions = [(i, f"item_{i}") for i in item_ids]
    n_items = len(item_ids)
    policy = OBD_POLICIES[behavior]
    path = folder / "all.csv"
    logs: list[dict[str, Any]] = []
    outcomes: list[dict[str, Any]] = []
    renamed: dict[str, str] = {}
    for index, line, rec in _iter_rows(path, limit):
        if not renamed:
            renamed = {
                k: k.replace("user-item_affinity_", "user_item_affinity_")
                for k in rec
                if k and k.startswith("user-item_affinity_")
            }
        try:
            item = rec["item_id"].strip()
            if item not in items:
                raise ValueError(f"item_id {item!r} is not in item_context.csv")
            propensity = float(rec["propensity_score"])
            if not 0.0 < propensity <= 1.0:
                raise ValueError(f"propensity_score must be in (0, 1], got {propensity}")
            click = rec["click"].strip()
            if click not in ("0", "1"):
                raise ValueError(f"click must be 0 or 1, got {click!r}")
            position = str(int(rec["position"]))
            created = _epoch_ms(rec["timestamp"])
            affinities = {name: float(rec[column]) for column, name in renamed.items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise ObdFormatError(path, line, str(exc)) from exc
        if not math.isfinite(sum(affinities.values())):
            raise ObdFormatError(path, line, "non-finite user-item affinity")
        decision_id = f"obd:{behavior}/all.csv:{index}"
        visitor = _visitor(rec)
        day = datetime.fromtimestamp(created / 1000, tz=UTC).strftime("%Y%m%d")
        action = f"item_{item}"
        if behavior == "random":
            label, rest = "exact", 1.0 / n_items
        else:
            label = "chosen_exact_others_approx"
            rest = (1.0 - propensity) / (n_items - 1) if n_items > 1 else 0.0
        eligible = [
            {"action_id": name, "probability": propensity if i == item else rest, "score": 0.0}
            for i, name in item_actions
        ]
        payload = {"position": position, "item_id": item, "eligible_probabilities": label}
        payload.update(items[item])
        logs.append(
            {
                "decision": {
                    "decision_id": decision_id,
                    "visitor_id": visitor,
                    "session_id": f"{visitor}-{day}",
                    "action_id": action,
                    "slot": "grid",
                    "payload": payload,
                    "propensity": propensity,
                    "policy": policy,
                    "policy_version": "obp-0.5.7",
                    "model_version": "obd",
                    "experiment_arm": "personalized",
                    "ttl_ms": 0,
                    "trigger_event_id": decision_id,
                    "created_at": created,
                },
                "numeric_features": affinities,
                "categorical_features": {
                    **{k: rec[k] for k in _USER_FEATURES},
                    "position": position,
                },
                "eligible": eligible,
                "guardrails_fired": [],
                "intent_probability": 0.0,
                "intent_class": "browsing",
                "served": True,
            }
        )
        kind = "clicked" if click == "1" else "ignored"
        outcomes.append(
            {
                "outcome_id": f"{decision_id}:{kind}",
                "decision_id": decision_id,
                "visitor_id": visitor,
                "kind": kind,
                "value": 0.0,
                "event_time": created,
            }
        )
    return ObdLog(behavior, policy, path, logs, outcomes)


@dataclass(frozen=True)
class ImportedLog:
    """Where one behavior's records were written, and how many.

    >>> ImportedLog("bts", Path("d.jsonl"), Path("o.jsonl"), 2, 2, 1).clicks
    1
    """

    behavior: str
    log_path: Path
    outcomes_path: Path
    decisions: int
    outcomes: int
    clicks: int


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_obd` wrote.

    >>> ImportResult(()).to_text()
    'imported nothing'
    """

    logs: tuple[ImportedLog, ...]

    def to_text(self) -> str:
        """One line per written log."""
        if not self.logs:
            return "imported nothing"
        return "\n".join(
            f"{x.behavior}: {x.decisions} decisions -> {x.log_path}; {x.outcomes} outcomes "
            f"({x.clicks} clicks) -> {x.outcomes_path}"
            for x in self.logs
        )


def import_obd(
    directory: str | Path,
    out_dir: str | Path,
    fmt: Literal["jsonl", "avro"] = "jsonl",
    behaviors: Sequence[Behavior] = ("random", "bts"),
    limit: int | None = None,
    file_options: LogFileOptions | None = None,
) -> ImportResult:
    """Convert OBD folders to ``obd_<behavior>_decisions.<fmt>`` and ``..._outcomes.<fmt>``.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "random").mkdir()
    >>> _ = (folder / "random" / "item_context.csv").write_text(",item_id\\n0,0\\n1,1\\n")
    >>> _ = (folder / "random" / "all.csv").write_text(
    ...     ",timestamp,item_id,position,click,propensity_score,user_feature_0,user_feature_1,"
    ...     "user_feature_2,user_feature_3\\n0,2019-11-24 00:00:00+00:00,0,1,0,0.5,a,b,c,d\\n")
    >>> res = import_obd(folder, folder / "out", behaviors=("random",))
    >>> res.logs[0].log_path.name, res.logs[0].decisions
    ('obd_random_decisions.jsonl', 1)
    """
    if fmt not in ("jsonl", "avro"):
        raise InvalidOptions(f"fmt must be 'jsonl' or 'avro', got {fmt!r}")
    out = Path(out_dir)
    written: list[ImportedLog] = []
    for behavior in behaviors:
        log = read_obd(directory, behavior, limit)
        log_path = out / f"obd_{behavior}_decisions.{fmt}"
        outcomes_path = out / f"obd_{behavior}_outcomes.{fmt}"
        n_logs = write_decision_logs(log_path, log.logs, file_options)
        n_outcomes = write_outcomes(outcomes_path, log.outcomes, file_options)
        written.append(
            ImportedLog(behavior, log_path, outcomes_path, n_logs, n_outcomes, log.clicks)
        )
    return ImportResult(tuple(written))


def obd_reward_model_options(seed: int = 0) -> RewardModelOptions:
    """The DR reward model used on OBD: user features + position, no interactions.

    With ~40 clicks in 10,000 rows, per-item slopes on the context would only
    memorise noise, so the model is additive: an intercept per item plus shared
    context effects. The 80 affinity columns are left out (they are item-specific
    and would make every context unique).

    >>> obd_reward_model_options().interactions
    False
    """
    return RewardModelOptions(
        numeric_features=(),
        categorical_features=(*_USER_FEATURES, "position"),
        use_intent_class=False,
        interactions=False,
        seed=seed,
    )


@dataclass(frozen=True)
class ObdComparison:
    """The uniform policy's click rate estimated from BTS, beside the random log's actual rate.

    ``covered`` says, per estimator, whether its interval contains the observed
    random click rate.

    >>> from pipeline.replay.ope import Estimate, WeightDiagnostics
    >>> est = Estimate("ips", 0.003, 0.001, 0.005, 0.001, 100)
    >>> diag = WeightDiagnostics(100, 50.0, 0.5, 3.0, 1.0, 0.01, 0)
    >>> res = EvaluationResult("uniform", 100, 0, (est,), est, diag, (), 10, 0, 0.95)
    >>> cmp = ObdComparison(res, 0.004, Interval(0.002, 0.006), 4, 1000)
    >>> cmp.covered
    {'ips': True}
    """

    bts: EvaluationResult
    random_rate: float
    random_interval: Interval
    random_clicks: int
    random_n: int

    @property
    def covered(self) -> dict[str, bool]:
        """Estimator -> whether its interval contains the observed random click rate."""
        return {e.estimator: e.covers(self.random_rate) for e in self.bts.estimates}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "bts_estimate_of_uniform": self.bts.to_dict(),
            "random_observed": {
                "click_rate": self.random_rate,
                "ci": [self.random_interval.low, self.random_interval.high],
                "clicks": self.random_clicks,
                "n": self.random_n,
                "method": "wilson",
            },
            "covered": self.covered,
        }

    def to_text(self) -> str:
        """Plain-text comparison with an honest reading of the interval widths."""
        level = f"{self.bts.confidence:.0%}"
        r = self.random_interval
        lines = [
            "Open Bandit Dataset: the uniform random policy's click rate",
            "",
            f"observed in the random log: {self.random_rate:.5f} "
            f"({self.random_clicks} clicks / {self.random_n}), {level} Wilson CI "
            f"[{r.low:.5f}, {r.high:.5f}]",
            f"estimated from the BTS log ({self.bts.n_rows} rows; BTS itself observed "
            f"{self.bts.logged.value:.5f}):",
            "",
            f"{'estimator':<10} {'estimate':>9}  {level + ' bootstrap CI':<22} {'width':>8} "
            f"{'width/est':>9}  covers observed?",
        ]
        for est in self.bts.estimates:
            rel = est.width / est.value if est.value else float("nan")
            verdict = "yes" if est.covers(self.random_rate) else "NO - NOT COVERED"
            lines.append(
                f"{est.estimator:<10} {est.value:>9.5f}  [{est.ci_low:.5f}, {est.ci_high:.5f}]"
                f"{'':<2} {est.width:>8.5f} {rel:>9.2f}  {verdict}"
            )
        d = self.bts.diagnostics
        lines += [
            "",
            f"effective sample size {d.ess:.0f} of {d.n} ({d.ess_fraction:.1%}); max weight "
            f"{d.max_weight:.1f}; smallest propensity {d.min_propensity:.2g}",
            f"honest reading: clicks are rare ({self.random_clicks} in {self.random_n} random "
            f"rows, {round(self.bts.logged.value * self.bts.n_rows)} in {self.bts.n_rows} BTS "
            f"rows) and the weights are uneven, so the intervals are {_ratio_span(self.bts)} "
            "as wide as the estimates: the check rules out gross errors, not small biases.",
        ]
        misses = [name for name, ok in self.covered.items() if not ok]
        if misses:
            lines.append(f"NOT COVERED by: {', '.join(misses)}")
        if self.bts.warnings:
            lines.append("warnings:")
            lines += [f"  - [{w.code}] {w.message}" for w in self.bts.warnings]
        return "\n".join(lines)


def _ratio_span(result: EvaluationResult) -> str:
    ratios = [e.width / e.value for e in result.estimates if e.value > 0 and math.isfinite(e.width)]
    if not ratios:
        return "undefined times"
    low, high = min(ratios), max(ratios)
    return f"{low:.1f}x" if round(low, 1) == round(high, 1) else f"{low:.1f}x-{high:.1f}x"


def compare_obd(
    directory: str | Path,
    seed: int = 0,
    n_boot: int = 2000,
    estimators: Sequence[str] = ("ips", "snips", "dr"),
    options: OpeOptions | None = None,
) -> ObdComparison:
    """Estimate the uniform policy's click rate from BTS and compare with the random log.

    ``options`` default to :class:`~pipeline.replay.ope.OpeOptions` with
    :func:`obd_reward_model_options`. Reward is the click.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> head = ",timestamp,item_id,position,click,propensity_score," + ",".join(
    ...     f"user_feature_{k}" for k in range(4))
    >>> for name, p in (("random", 0.5), ("bts", 0.25)):
    ...     (folder / name).mkdir()
    ...     _ = (folder / name / "item_context.csv").write_text(",item_id\\n0,0\\n1,1\\n")
    ...     rows = [f"{i},2019-11-24 00:00:0{i}+00:00,{i % 2},1,{int(i < 2)},{p},a,b,c,d"
    ...             for i in range(8)]
    ...     _ = (folder / name / "all.csv").write_text("\\n".join([head, *rows]) + "\\n")
    >>> cmp = compare_obd(folder, n_boot=50, estimators=("ips",))
    >>> cmp.random_rate, cmp.bts.estimate("ips").value  # 2 clicks of 8; IPS: (0.5/0.25)*2/8
    (0.25, 0.5)
    """
    opts = options or OpeOptions(reward_model=obd_reward_model_options(seed))
    bts = read_obd(directory, "bts")
    rows = join_records(bts.logs, bts.outcomes, opts.weights).rows
    result = evaluate_rows(rows, uniform_policy, "uniform", estimators, n_boot, seed, opts)
    random = read_obd(directory, "random")
    n = len(random.logs)
    if n == 0:
        raise EmptyLog(f"{random.source}: no rows")
    clicks = random.clicks
    return ObdComparison(
        bts=result,
        random_rate=clicks / n,
        random_interval=wilson_interval(clicks, n, opts.confidence),
        random_clicks=clicks,
        random_n=n,
    )
