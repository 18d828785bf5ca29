"""``rtp report`` / ``rtp evaluate`` on files read the erasure marks of ``privacy.erasures``.

Real broker: a mark for Ann (as the profile side writes it: key ``x.<hex>``) on the topic of
a fresh prefix; the files hold Ann and Bob. With ``--erasures topic`` (and by default) each
command's result equals its result on files that never held Ann, and differs from
``--erasures none``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from confluent_kafka import Producer

from pipeline.profiles.erasures import encode_mark_value, erasure_mark
from pipeline.profiles.pseudonym import Pseudonyms
from pipeline.settings import Settings
from pipeline.topics import ERASURES
from tests.unit.replay.test_report_file_erasures import _evaluate, _files, _report

KEY = "report-erasure-topic-key-0"


def test_file_reports_leave_out_who_the_erasures_topic_marks(
        topics: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = dataclasses.replace(topics, pseudonym_keys=KEY)
    monkeypatch.setattr("tests.unit.replay.test_report_file_erasures.SETTINGS", settings)
    producer = Producer({"bootstrap.servers": settings.bootstrap})
    producer.produce(settings.topic(ERASURES), key=erasure_mark("v-ann", Pseudonyms((KEY,))),
                     value=encode_mark_value(1, "erase-it", ids=1))
    assert producer.flush(30) == 0
    both = _files(tmp_path / "both", ["v-ann", "v-bob"])
    bob = _files(tmp_path / "bob", ["v-bob"])
    capsys.readouterr()
    honoured = _report(both, "topic", capsys)
    assert honoured == _report(bob, "none", capsys)
    assert honoured != _report(both, "none", capsys)
    assert _report(both, "auto", capsys) == honoured  # the default reads the topic too
    evaluated = _evaluate(both, "topic", capsys)
    assert evaluated == _evaluate(bob, "none", capsys)
    assert evaluated != _evaluate(both, "none", capsys)
