"""The claim index both ways (pipeline.profiles.claims): an erasure of a device unclaims it.

The entry logic is checked against a model list; then the whole index — the person's side
(``claims``), the device's side (``device_claims`` and the erasure times) and the internal
claim-link topic between them — is run in memory the way the profile side runs it: one
FIFO queue per key (Kafka's order: per partition, none across partitions or topics), the
queues served in any order hypothesis picks, with replays (at-least-once redelivery of what
a queue had already served). Whatever the interleaving, an entry ends up naming a device
exactly when a claim of it came after the device's last erasure, and nothing else is left.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.profiles import Pseudonyms
from pipeline.profiles.claims import (
    CLAIMED,
    CONFIRMED,
    ERASED,
    UNCLAIM,
    ClaimLink,
    add_claim,
    claimed_devices,
    decode_link,
    device_step,
    encode_link,
    link_keys,
    person_step,
    remove_claim,
)
from pipeline.profiles.errors import ProfileError

NAMES = Pseudonyms(("claim-links-test-key-0123",))
DEVICE = st.sampled_from(["d0", "d1", "d2"])
PERSON = st.sampled_from(["u.0", "u.1"])


@given(st.lists(st.tuples(st.booleans(), DEVICE), max_size=40))
def test_an_entry_follows_adds_and_removes_in_any_order(ops: list[tuple[bool, str]]) -> None:
    stored: bytes | None = None
    model: list[str] = []
    for add, device in ops:
        if add:
            stored = add_claim(stored, device) or stored
            if device not in model:
                model.append(device)
        else:
            changed, stored = person_step(stored, ClaimLink(UNCLAIM, device, "u.0", 1))
            assert changed == (device in model)
            model = [d for d in model if d != device]
        assert claimed_devices(stored) == tuple(model)
        assert (stored is None) == (not model)  # an emptied entry goes


@given(st.lists(DEVICE, max_size=5), DEVICE)
def test_an_unclaim_twice_or_before_its_claim_changes_nothing_more(devices: list[str],
                                                                   device: str) -> None:
    stored = None
    for d in devices:
        stored = add_claim(stored, d) or stored
    unclaim = ClaimLink(UNCLAIM, device, "u.0", 1)
    _, once = person_step(stored, unclaim)
    assert person_step(once, unclaim) == (False, once)
    assert person_step(None, unclaim) == (False, None)
    assert remove_claim(once, device) is None


def test_a_link_round_trips_and_garbage_is_refused() -> None:
    for link in (ClaimLink(CLAIMED, "v1", "u.1", 5), ClaimLink(ERASED, "v1", None, 6),
                 ClaimLink(UNCLAIM, "v1", "u.1", 7), ClaimLink(CONFIRMED, "v1", "u.1", 8)):
        assert decode_link(encode_link(link)) == link
    for bad in (b"", b"[]", b'{"op":"erase","device":"v1","person":null,"at":1}',
                b'{"op":"erased","device":"","person":null,"at":1}',
                b'{"op":"erased","device":"v1","person":null,"at":true}'):
        try:
            decode_link(bad)
        except ProfileError:
            continue
        raise AssertionError(f"decoded {bad!r}")


def test_link_keys_name_no_id() -> None:
    keys = link_keys(ClaimLink(CLAIMED, "visitor-7", "u.abc", 5), NAMES)
    assert all(b"visitor-7" not in k and b"u.abc" not in k for k in keys)
    assert keys != link_keys(ClaimLink(UNCLAIM, "visitor-7", "u.abc", 5), NAMES)


def test_an_erased_device_leaves_its_entry_and_its_claims() -> None:
    step = device_step(b'["u.1","u.2"]', None, ClaimLink(ERASED, "v1", None, 9))
    assert step.entry is None and step.erased_at == 9
    assert [(s.op, s.device, s.person) for s in step.sends] == [
        (UNCLAIM, "v1", "u.1"), (UNCLAIM, "v1", "u.2")]
    assert {(d.op, d.person) for d in step.done} == {(ERASED, None), (CLAIMED, "u.1"),
                                                     (CLAIMED, "u.2")}
    # an older erasure arriving later does not move the time back
    assert device_step(None, 9, ClaimLink(ERASED, "v1", None, 4)).erased_at == 9


# --- the whole index, in memory --------------------------------------------------------


@dataclass
class Index:
    """The profile side's claim index as the agents run it, one FIFO queue per key."""

    clock: int = 0
    queues: dict[str, deque[tuple]] = field(default_factory=dict)
    served: dict[str, list[tuple]] = field(default_factory=dict)
    claims: dict[str, bytes] = field(default_factory=dict)
    reverse: dict[str, bytes] = field(default_factory=dict)
    erased: dict[str, int] = field(default_factory=dict)
    #: the internal topic's newest record per key (None: a tombstone)
    topic: dict[bytes, ClaimLink | None] = field(default_factory=dict)
    #: what the model expects: the claims the collector sent, the devices' erasure times
    sent: list[tuple[str, str, int]] = field(default_factory=list)
    erasures: dict[str, int] = field(default_factory=dict)

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def put(self, queue: str, record: tuple) -> None:
        self.queues.setdefault(queue, deque()).append(record)

    def send(self, link: ClaimLink) -> None:
        self.topic[link_keys(link, NAMES)[0]] = link
        self.put(f"links:{link.home}", ("link", link))

    def drop(self, link: ClaimLink) -> None:
        for key in link_keys(link, NAMES):
            self.topic[key] = None

    # the collector and the eraser
    def claim(self, device: str, person: str) -> None:
        at = self.tick()
        self.sent.append((device, person, at))
        self.put(f"updates:{person}", ("claim", device, person, at))

    def erase(self, who: str) -> None:
        self.tick()
        self.put(f"updates:{who}", ("erasure", who))

    # the agents
    def serve(self, queue: str) -> None:
        record = self.queues[queue].popleft()
        self.served.setdefault(queue, []).append(record)
        now = self.tick()
        if record[0] == "claim":  # on_profiles, kind claim
            _, device, person, at = record
            self.claims[person] = add_claim(self.claims.get(person), device) or self.claims[
                person]
            self.send(ClaimLink(CLAIMED, device, person, at))
        elif record[0] == "erasure":  # on_profiles, kind erasure
            who = record[1]
            if who.startswith("u."):  # a user id: its claiming devices are erased too
                for device in claimed_devices(self.claims.pop(who, None)):
                    self.put(f"updates:{device}", ("erasure", device))
            else:
                self.erasures[who] = max(self.erasures.get(who, 0), now)
            self.send(ClaimLink(ERASED, who, None, now))
        else:  # on_links
            link: ClaimLink = record[1]
            if link.op in (UNCLAIM, CONFIRMED):
                assert link.person is not None
                changed, entry = person_step(self.claims.get(link.person), link)
                if changed and entry is None:
                    del self.claims[link.person]
                elif changed and entry is not None:
                    self.claims[link.person] = entry
                self.drop(link)
                return
            step = device_step(self.reverse.get(link.device), self.erased.get(link.device),
                               link)
            if step.entry is None:
                self.reverse.pop(link.device, None)
            else:
                self.reverse[link.device] = step.entry
            if step.erased_at is not None:
                self.erased[link.device] = step.erased_at
            for sent in step.sends:
                self.send(sent)
            for done in step.done:
                self.drop(done)

    def replay(self, queue: str, n: int) -> None:
        """At-least-once: the last ``n`` records served from ``queue`` come again, in order
        (the tables keep what they had: their changelog is ahead of the committed offset)."""
        again = self.served.get(queue, [])[-n:]
        self.queues.setdefault(queue, deque()).extendleft(reversed(again))

    def pending(self) -> list[str]:
        return sorted(q for q, records in self.queues.items() if records)


SIM_DEVICE = st.sampled_from(["d0", "d1"])  # few ids: claims and erasures meet often
ACTION = st.one_of(
    st.tuples(st.just("claim"), SIM_DEVICE, PERSON),
    st.tuples(st.just("erase"), st.one_of(SIM_DEVICE, PERSON)),
    st.tuples(st.just("serve"), st.integers(0, 30)),
    st.tuples(st.just("replay"), st.integers(0, 30), st.integers(1, 3)),
)


def run(actions: list[tuple], drain: list[int]) -> Index:
    """Play ``actions`` (collector, eraser, serving and replays), then serve every queue
    (in the order ``drain`` picks) until nothing is left."""
    index = Index()
    for action in actions:
        if action[0] == "claim":
            index.claim(action[1], action[2])
        elif action[0] == "erase":
            index.erase(action[1])
        elif (pending := index.pending()) and action[0] == "serve":
            index.serve(pending[action[1] % len(pending)])
        elif action[0] == "replay" and index.served:
            queues = sorted(index.served)
            index.replay(queues[action[1] % len(queues)], action[2])
    picks = iter(drain)
    while pending := index.pending():
        index.serve(pending[next(picks, 0) % len(pending)])
    return index


def check(index: Index) -> None:
    """An entry (both ways) names a device exactly when it claimed after its last erasure;
    nothing else stays on the internal topic."""

    def expected(device: str, person: str) -> bool:
        return any(d == device and p == person and at > index.erasures.get(device, 0)
                   for d, p, at in index.sent)

    for device in ("d0", "d1", "d2"):
        for person in ("u.0", "u.1"):
            want = expected(device, person)
            assert (device in claimed_devices(index.claims.get(person))) == want, (
                device, person)
            assert (person in claimed_devices(index.reverse.get(device))) == want, (
                device, person)
    assert all(entry for entry in (*index.claims.values(), *index.reverse.values()))
    # what stays on the internal topic: the claims the reverse entries hold, nothing else
    live = {(link.op, link.device, link.person) for link in index.topic.values()
            if link is not None}
    assert live <= {(CLAIMED, d, p) for d, entry in index.reverse.items()
                    for p in claimed_devices(entry)}


@settings(max_examples=400, deadline=None)
@given(st.lists(ACTION, max_size=60), st.lists(st.integers(0, 30), max_size=200))
def test_the_index_names_a_device_exactly_when_it_claimed_after_its_last_erasure(
        actions: list[tuple], drain: list[int]) -> None:
    check(run(actions, drain))


def serve(queue: str) -> tuple:
    return ("serve_queue", queue)


def play(index: Index, steps: list[tuple], drain: bool = True) -> Index:
    """Play ``steps``; then, when ``drain``, serve what is left (queues in name order)."""
    for step in steps:
        if step[0] == "claim":
            index.claim(step[1], step[2])
        elif step[0] == "erase":
            index.erase(step[1])
        elif step[0] == "replay":
            index.replay(step[1], step[2])
        else:
            index.serve(step[1])
    while drain and (pending := index.pending()):
        index.serve(pending[0])
    return index


def test_an_erasure_by_device_takes_it_out_of_the_entry_and_keeps_the_others() -> None:
    index = play(Index(), [("claim", "d0", "u.0"), ("claim", "d1", "u.0"),
                           ("claim", "d0", "u.1")])
    assert claimed_devices(index.claims["u.0"]) == ("d0", "d1")
    index = play(index, [("erase", "d0")])
    assert claimed_devices(index.claims["u.0"]) == ("d1",)
    assert "u.1" not in index.claims and "d0" not in index.reverse  # emptied: gone
    check(index)


def test_a_claim_in_flight_while_its_device_is_erased_is_unclaimed() -> None:
    # the collector took the claim, then the device was erased before the claim was indexed
    index = play(Index(), [("claim", "d0", "u.0"), ("erase", "d0"), serve("updates:d0"),
                           serve("links:d0"), serve("updates:u.0")])
    assert "u.0" not in index.claims and "d0" not in index.reverse
    check(index)


def test_a_claim_after_the_erasure_stays_though_an_older_one_was_unclaimed_after_it() -> None:
    # the older claim's unclaim reaches the entry after the newer claim: it is confirmed
    index = play(Index(), [("claim", "d0", "u.0"), ("erase", "d0"), serve("updates:d0"),
                           serve("links:d0"), ("claim", "d0", "u.0"), serve("updates:u.0"),
                           serve("updates:u.0"), serve("links:d0"), serve("links:d0")],
                 drain=False)
    assert [link.op for _, link in index.queues["links:u.0"]] == [UNCLAIM, CONFIRMED]
    index = play(index, [])
    assert claimed_devices(index.claims["u.0"]) == ("d0",)
    check(index)


def test_a_replayed_older_claim_does_not_unclaim_a_newer_one() -> None:
    index = play(Index(), [("claim", "d0", "u.0"), ("erase", "d0"), serve("updates:d0"),
                           serve("links:d0"), serve("updates:u.0"), serve("links:d0"),
                           serve("links:u.0"), ("claim", "d0", "u.0")], drain=False)
    assert "u.0" not in index.claims
    index = play(index, [serve("updates:u.0"), serve("links:d0"), serve("links:u.0"),
                         ("replay", "updates:u.0", 2),  # both claims come again
                         serve("updates:u.0"), serve("updates:u.0"), serve("links:d0"),
                         serve("links:d0")])
    assert claimed_devices(index.claims["u.0"]) == ("d0",)
    check(index)


def test_erasing_the_user_id_after_the_device_erases_the_others_and_not_it_again() -> None:
    index = play(Index(), [("claim", "d0", "u.0"), ("claim", "d1", "u.0"), ("erase", "d0")])
    assert claimed_devices(index.claims["u.0"]) == ("d1",)
    erased_before = dict(index.erasures)
    index = play(index, [("erase", "u.0")])
    assert index.claims == {} and index.reverse == {}
    assert set(index.erasures) == {"d0", "d1"}
    assert index.erasures["d0"] == erased_before["d0"]  # d0 not erased a second time
    check(index)
