"""Channels end to end on the real broker: the worker decides email and SMS actions, the
channel services (topologies/channel.py, in threads, with a clock the test can move) send
them to a local SMTP server (aiosmtpd) and a JSON-lines file, and ``rtp channel`` runs as
a process once.

Visitors are story visitors (a test-only override on the worker, as the story tests use):
they are in the personalized arm and get the catalog's channel actions whenever those are
eligible, so what is decided is certain and what is checked is the channel's rules.
"""

from __future__ import annotations

import dataclasses
import email
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller  # the dev extra's local SMTP server

from pipeline.channels import (
    ContactCaps,
    FileSink,
    Outbox,
    OutboxOptions,
    QuietHours,
    SmtpOptions,
    SmtpSink,
    StaticContactResolver,
    Step,
)
from pipeline.client import EventProducer
from pipeline.client.samples import click_event
from pipeline.decide.catalog import load_catalog
from pipeline.decide.story import StoryOverride
from pipeline.engine import EngineOptions
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, DECISIONS_LOG, EVENTS, apply_topics, topic_specs
from tests.integration.topic_watch import TopicWatch
from tests.integration.worker_process import WorkerProcess, wait_caught_up
from topologies.channel import ChannelService, ChannelServiceOptions
from topologies.decision_path import VISITOR_PROFILES

QUIET = QuietHours.parse("21:00-08:00")
FIRST_PURCHASE_ACTIONS = {"cart_reminder_email", "cart_reminder_sms", "first_time_buyer_discount"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _zone_where_it_is(hours: range) -> str:
    """An Etc/GMT zone whose local hour now is in ``hours`` (Etc signs are inverted)."""
    now = time.time()
    for offset in range(-12, 15):
        name = "Etc/GMT" + (f"{-offset:+d}" if offset else "")
        if datetime.fromtimestamp(now, ZoneInfo(name)).hour in hours:
            return name
    raise AssertionError("no zone found")  # unreachable: every hour exists somewhere


class Inbox:
    """What the local SMTP server received: (recipients, parsed message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(
            envelope.content)))
        return "250 OK"

    def by_decision(self, decision_id: str) -> list[tuple[list[str], Message]]:
        return [(to, m) for to, m in self.messages if m["X-RTP-Decision-Id"] == decision_id]

    def wait_for(self, decision_id: str, timeout: float = 60.0) -> tuple[list[str], Message]:
        deadline = time.monotonic() + timeout
        while not self.by_decision(decision_id):
            assert time.monotonic() < deadline, f"no email for decision {decision_id}"
            time.sleep(0.1)
        [found] = self.by_decision(decision_id)
        return found


@dataclasses.dataclass
class Channel:
    """One channel service running in a thread, with a movable clock and its steps."""

    service: ChannelService
    stop: threading.Event
    thread: threading.Thread
    offset_s: list[float]
    steps: list[Step]

    def verdict(self, decision_id: str, timeout: float = 60.0,
                outcome: str | None = None) -> Step:
        deadline = time.monotonic() + timeout
        while True:
            mine = [s for s in list(self.steps) if s.decision_id == decision_id
                    and (outcome is None or s.outcome == outcome)]
            if mine:
                return mine[-1]
            assert self.thread.is_alive(), "the channel service stopped"
            assert time.monotonic() < deadline, f"no step for {decision_id} ({outcome})"
            time.sleep(0.1)


def _start_channel(settings: Settings, name: str, channel: str, sink: Any,
                   contacts: dict[str, dict[str, str]], tmp: Path,
                   caps: ContactCaps) -> Channel:
    offset = [0.0]
    steps: list[Step] = []
    outbox = Outbox(OutboxOptions(channel=channel, caps=caps, quiet_hours=QUIET),
                    load_catalog(EngineOptions().catalog_path))
    service = ChannelService(
        settings, ChannelServiceOptions(state_path=tmp / f"{name}.json",
                                        group_id=f"{settings.topic_prefix}{name}", tick_s=0.2),
        outbox, StaticContactResolver(contacts), sink,
        clock=lambda: time.time() + offset[0], on_step=steps.append)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    return Channel(service, stop, thread, offset, steps)


@dataclasses.dataclass
class Rig:
    settings: Settings
    worker: WorkerProcess
    prefix: str
    inbox: Inbox
    email: Channel
    sms: Channel
    night: Channel
    sms_file: Path
    actions: TopicWatch
    log: TopicWatch
    day_zone: str
    night_zone: str
    contacts: dict[str, dict[str, str]]

    def visitor(self, name: str) -> str:
        return f"{self.prefix}{name}"


@pytest.fixture(scope="module")
def rig(kafka: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    settings = dataclasses.replace(kafka, topic_prefix=f"chan-{uuid.uuid4().hex[:8]}.")
    apply_topics(settings.bootstrap, topic_specs(settings.partitions, 1, settings.topic_prefix))
    tmp = tmp_path_factory.mktemp("channels")
    prefix = f"chan-{uuid.uuid4().hex[:6]}-"
    story = StoryOverride(prefix, ("cart_reminder_email", "cart_reminder_sms",
                                   "first_time_buyer_discount"))
    worker = WorkerProcess(settings, tmp / "data", tmp / "worker.log", learner=False,
                           story=story)
    inbox = Inbox()
    port = _free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    day = _zone_where_it_is(range(10, 18))
    night = _zone_where_it_is(range(0, 5))
    v = prefix.__add__
    contacts = {  # the CRM export: visitor ids -> person, address, time zone (never on Kafka)
        v("shopper"): {"person": "p-shopper", "email": "shopper@example.com",
                       "phone": "+4915100000001", "time_zone": day},
        v("shopper-tablet"): {"person": "p-shopper", "email": "shopper@example.com",
                              "time_zone": day},
        v("other"): {"person": "p-other", "email": "other@example.com", "time_zone": day},
        v("dismisser"): {"person": "p-dismisser", "email": "dismisser@example.com",
                         "time_zone": day},
    }
    night_contacts = {
        v("buyer-laptop"): {"person": "p-buyer", "email": "buyer@example.com",
                            "time_zone": night},
        v("sleeper"): {"person": "p-sleeper", "email": "sleeper@example.com",
                       "time_zone": night},
    }
    mail = _start_channel(settings, "email", "email",
                          SmtpSink(SmtpOptions("127.0.0.1", port, "offers@shop.example")),
                          contacts, tmp, ContactCaps(per_day=1, per_week=3))
    sms_file = tmp / "sms.jsonl"
    sms = _start_channel(settings, "sms", "sms", FileSink(sms_file), contacts, tmp,
                         ContactCaps(per_day=1, per_week=3))
    late = _start_channel(settings, "email-night", "email",
                          SmtpSink(SmtpOptions("127.0.0.1", port, "offers@shop.example")),
                          night_contacts, tmp, ContactCaps(per_day=1, per_week=3))
    actions = TopicWatch(settings, settings.topic(ACTIONS))
    log = TopicWatch(settings, settings.topic(DECISIONS_LOG))
    try:
        worker.wait_ready()
        yield Rig(settings, worker, prefix, inbox, mail, sms, late, sms_file, actions, log,
                  day, night, {**contacts, **night_contacts})
    finally:
        for channel in (mail, sms, late):
            channel.stop.set()
            channel.thread.join(30)
        worker.stop()
        smtp.stop()
        actions.close()
        log.close()


def _send(settings: Settings, events: list[dict[str, Any]]) -> None:
    with EventProducer(settings) as producer:
        for event in events:
            producer.send_event(event)


def _page(visitor: str, at: int, page_type: str = "product", **kw: Any) -> dict[str, Any]:
    return click_event(visitor, "page_view", at, page_type=page_type,
                       url=f"https://shop.example/{page_type}/{at}", **kw)


def _to_checkout(visitor: str, start: int, user_id: str | None = None) -> list[dict[str, Any]]:
    """A product page, an add to cart and the checkout page: the abandoned-cart moment."""
    cart = {"product_id": "nc700", "quantity": 1, "value": 349.0, "currency": "EUR"}
    return [_page(visitor, start, user_id=user_id),
            click_event(visitor, "add_to_cart", start + 1000, cart=cart, user_id=user_id),
            _page(visitor, start + 2000, "checkout", category=None, product_id=None,
                  user_id=user_id)]


def _now() -> int:
    return int(time.time() * 1000) - 60_000


def _decided(rig: Rig, visitor: str, action: str,
             after: Callable[[dict[str, Any]], bool] = lambda r: True) -> dict[str, Any]:
    records = rig.actions.wait_for(
        lambda rs: any(r["visitor_id"] == visitor and r["action_id"] == action and after(r)
                       for r in rs), what=f"{action} for {visitor}")
    return next(r for r in records if r["visitor_id"] == visitor and r["action_id"] == action
                and after(r))


def test_the_abandoned_cart_email_arrives_with_its_content_and_the_sms_without_the_number(
        rig: Rig) -> None:
    shopper = rig.visitor("shopper")
    start = _now()
    _send(rig.settings, _to_checkout(shopper, start))
    decision = _decided(rig, shopper, "cart_reminder_email")
    assert (decision["channel"], decision["slot"]) == ("email", "message")

    to, message = rig.inbox.wait_for(decision["decision_id"])
    assert to == ["shopper@example.com"]
    assert message["Subject"] == "Still thinking it over? 10% off your first order"
    assert message["From"] == "offers@shop.example"
    assert message["X-RTP-Action-Id"] == "cart_reminder_email"
    assert message.get_payload(decode=True).decode().strip() == (
        "Your cart is saved. Use code WELCOME10 for 10% off your first order.")
    assert rig.email.verdict(decision["decision_id"]).send

    # Back at checkout: the email's per-visitor cap (the worker's) makes the SMS the choice.
    _send(rig.settings, [_page(shopper, start + 5000, "checkout", category=None,
                               product_id=None)])
    text = _decided(rig, shopper, "cart_reminder_sms")
    assert text["channel"] == "sms"
    assert rig.sms.verdict(text["decision_id"]).send
    lines = [json.loads(line) for line in rig.sms_file.read_text().splitlines()]
    assert [(r["decision_id"], r["contact_ref"], r["body"]) for r in lines] == [
        (text["decision_id"], "p-shopper",
         "Your cart is saved: code WELCOME10 for 10% off your first order.")]
    assert "+4915100000001" not in rig.sms_file.read_text()
    assert "shopper@example.com" not in rig.sms_file.read_text()
    # Each service sent only its own channel's decision, once.
    assert not [s for s in rig.sms.steps if s.decision_id == decision["decision_id"]]
    assert len(rig.inbox.by_decision(decision["decision_id"])) == 1


def test_the_frequency_cap_holds_for_the_person_on_another_device_not_for_someone_else(
        rig: Rig) -> None:
    first = _decided(rig, rig.visitor("shopper"), "cart_reminder_email")
    rig.inbox.wait_for(first["decision_id"])  # the person's one email today went out
    tablet, other = rig.visitor("shopper-tablet"), rig.visitor("other")
    start = _now()
    _send(rig.settings, _to_checkout(tablet, start) + _to_checkout(other, start))
    capped = _decided(rig, tablet, "cart_reminder_email")
    sent = _decided(rig, other, "cart_reminder_email")
    assert rig.email.verdict(capped["decision_id"]).reason == "frequency_cap"
    _, message = rig.inbox.wait_for(sent["decision_id"])
    assert message["To"] == "other@example.com"
    assert rig.inbox.by_decision(capped["decision_id"]) == []


def test_an_offer_dismissed_on_the_web_is_not_emailed(rig: Rig) -> None:
    visitor = rig.visitor("dismisser")
    start = _now() - 30_000
    # Product pages until the first-order discount overlay is shown on the web.
    for n in range(6):
        _send(rig.settings, [_page(visitor, start + n * 1000, product_id=f"p{n % 3}")])
        rig.log.wait_for(lambda rs, k=n + 1: sum(r["decision"]["visitor_id"] == visitor
                                                 for r in rs) >= k, what=f"decision {n + 1}")
        rig.actions.poll(0.5)
        if any(r["visitor_id"] == visitor and r["action_id"] == "first_time_buyer_discount"
               for r in rig.actions.records()):
            break
    web = _decided(rig, visitor, "first_time_buyer_discount")
    assert web["channel"] == "web"
    with EventProducer(rig.settings) as producer:
        producer.send_outcome({"outcome_id": f"{visitor}-dismiss", "visitor_id": visitor,
                               "decision_id": web["decision_id"], "kind": "dismissed",
                               "value": 0.0, "event_time": start + 7000,
                               "reported_by": "browser"})
    deadline = time.monotonic() + 60
    while "first_time_buyer_discount" not in rig.email.service.outbox.dismissed.get(visitor, {}):
        assert time.monotonic() < deadline, "the dismissal never reached the email channel"
        time.sleep(0.1)
    _send(rig.settings, _to_checkout(visitor, start + 8000))
    mail = _decided(rig, visitor, "cart_reminder_email")
    assert rig.email.verdict(mail["decision_id"]).reason == "dismissed"
    assert rig.inbox.by_decision(mail["decision_id"]) == []


def test_quiet_hours_hold_then_release_and_a_purchase_on_another_device_stops_every_channel(
        rig: Rig) -> None:
    laptop, phone = rig.visitor("buyer-laptop"), rig.visitor("buyer-phone")
    sleeper = rig.visitor("sleeper")
    user = f"user-{laptop}"
    start = _now()
    _send(rig.settings, _to_checkout(laptop, start) + _to_checkout(sleeper, start))
    held = _decided(rig, laptop, "cart_reminder_email")
    asleep = _decided(rig, sleeper, "cart_reminder_email")
    # It is night in their zone: both held, nothing sent.
    assert rig.night.verdict(held["decision_id"]).outcome == "held"
    assert rig.night.verdict(asleep["decision_id"]).outcome == "held"
    assert rig.inbox.by_decision(held["decision_id"]) == []
    assert rig.inbox.by_decision(asleep["decision_id"]) == []

    # The same person buys on their phone.
    with EventProducer(rig.settings) as producer:
        for n, visitor in enumerate((laptop, phone)):
            producer.send_profile_update({
                "update_id": f"{visitor}-identify", "kind": "identify", "visitor_id": visitor,
                "user_id": user, "event_time": start + 3000 + n, "traits": {},
                "consent": None})
    purchase = {"order_id": f"o-{phone}", "value": 349.0, "currency": "EUR", "kind": "purchase"}
    _send(rig.settings, [_page(phone, start + 4000, user_id=user),
                         click_event(phone, "purchase", start + 5000, purchase=purchase,
                                     user_id=user)])
    deadline = time.monotonic() + 90
    while laptop not in rig.night.service.outbox.purchased:
        assert time.monotonic() < deadline, "the purchase never reached the laptop's channel"
        time.sleep(0.2)

    # Morning in their zone: the sleeper's email goes, the buyer's first-purchase offer not.
    zone = ZoneInfo(rig.night_zone)
    now_ms = int(time.time() * 1000)
    rig.night.offset_s[0] = (QUIET.release_ms(now_ms, zone) - now_ms) / 1000 + 1
    _, message = rig.inbox.wait_for(asleep["decision_id"])
    assert message["To"] == "sleeper@example.com"
    assert rig.night.verdict(held["decision_id"], outcome="never").reason == "purchased"
    assert rig.inbox.by_decision(held["decision_id"]) == []

    # And on every other channel: the laptop's next checkout decides no first-purchase offer.
    wait_caught_up(rig.worker, [rig.settings.topic(VISITOR_PROFILES)])
    again = _page(laptop, start + 9000, "checkout", category=None, product_id=None)
    _send(rig.settings, [again])
    wait_caught_up(rig.worker, [rig.settings.topic(EVENTS)])
    records = rig.log.wait_for(lambda rs: any(
        r["decision"]["trigger_event_id"] == again["event_id"] for r in rs),
        what="the laptop's decision after the purchase")
    [after] = [r for r in records if r["decision"]["trigger_event_id"] == again["event_id"]]
    assert after["numeric_features"]["past_purchases"] >= 1  # the phone's purchase, known here
    assert after["decision"]["action_id"] not in FIRST_PURCHASE_ACTIONS
    assert not FIRST_PURCHASE_ACTIONS & {e["action_id"] for e in after["eligible"]}


def test_rtp_channel_runs_as_a_process_and_stops_cleanly_on_sigterm(
        rig: Rig, tmp_path: Path) -> None:
    visitor = rig.visitor("cli")
    contacts = tmp_path / "crm.json"
    contacts.write_text(json.dumps({visitor: {"person": "p-cli", "phone": "+4915100000009"}}))
    out = tmp_path / "sms.jsonl"
    env = {**os.environ, "RTP_TOPIC_PREFIX": rig.settings.topic_prefix,
           "RTP_KAFKA_BOOTSTRAP": rig.settings.bootstrap, "RTP_LOG_FORMAT": "json"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "channel", "sms", "--contacts", str(contacts),
         "--sink", f"file:{out}", "--quiet-hours", "off", "--state",
         str(tmp_path / "state.json")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        start = _now()
        # The email is this visitor's first choice (no contact: the email services skip it);
        # back at checkout, the SMS.
        _send(rig.settings, [*_to_checkout(visitor, start),
                             _page(visitor, start + 4000, "checkout", category=None,
                                   product_id=None)])
        text = _decided(rig, visitor, "cart_reminder_sms")
        mail = _decided(rig, visitor, "cart_reminder_email")
        # The in-test services know no contact for this visitor: nothing is sent to them.
        assert rig.email.verdict(mail["decision_id"]).reason == "no_contact"
        assert rig.sms.verdict(text["decision_id"]).reason == "no_contact"
        assert rig.inbox.by_decision(mail["decision_id"]) == []
        deadline = time.monotonic() + 60
        while not out.exists() or not out.read_text():
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "the rtp channel process sent nothing"
            time.sleep(0.2)
        [record] = [json.loads(line) for line in out.read_text().splitlines()]
        assert (record["decision_id"], record["contact_ref"]) == (text["decision_id"], "p-cli")
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, output
    assert "stopped after 1 sent" in output
    state = json.loads((tmp_path / "state.json").read_text())
    assert text["decision_id"] in state["sent_ids"]
    assert "+4915100000009" not in json.dumps(state)
