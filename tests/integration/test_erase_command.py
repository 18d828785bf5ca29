"""``rtp erase`` on the real broker: the erasure lands on profiles.updates, keyed by the
person's pseudonym under every key when pseudonym keys are set."""

from __future__ import annotations

import pytest

from pipeline.cli import main
from pipeline.profiles import Pseudonyms
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import PROFILES
from tests.integration.kafka_reader import read_topic

KEYS = "erase-key-new-0123456789,erase-key-old-0123456789"


def test_rtp_erase_produces_an_erasure_per_pseudonym_key(
        topics: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RTP_PSEUDONYM_KEYS", KEYS)
    email = "dee@example.com"
    code = main(["--bootstrap", topics.bootstrap, "--topic-prefix", topics.topic_prefix,
                 "erase", "--user-id", email, "--visitor-id", "v-dee", "--wait", "0"])
    out = capsys.readouterr().out
    assert code == 0, out
    messages = read_topic(topics, topics.topic(PROFILES), 2)
    names = Pseudonyms(tuple(KEYS.split(",")))
    assert sorted(m.key() for m in messages) == sorted(p.encode() for p in names.every(email))
    records = [Codec.default().decode(m.value())[1] for m in messages]
    assert {(r["kind"], r["visitor_id"]) for r in records} == {("erasure", "v-dee")}
    assert all(email.encode() not in (m.value() or b"") + (m.key() or b"") for m in messages)
    assert sorted(line.split()[1] for line in out.splitlines()) == sorted(
        r["update_id"] for r in records)
