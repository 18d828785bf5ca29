"""The claim index (pipeline.profiles.claims): entries, their limit and the device erasures."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.profiles import ProfileUpdateError, apply_profile_update
from pipeline.profiles.claims import add_claim, claim_update, claimed_devices, device_erasures
from pipeline.serde import Codec, InvalidEvent, check_meaning

CODEC = Codec.default()
PERSON = "u." + "1" * 32
DEVICES = st.lists(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12),
                   max_size=30)


@given(DEVICES)
def test_an_entry_holds_every_device_once_in_the_order_first_seen(devices: list[str]) -> None:
    stored: bytes | None = None
    for device in devices:
        stored = add_claim(stored, device) or stored
    assert claimed_devices(stored) == tuple(dict.fromkeys(devices))


def test_a_full_entry_keeps_its_devices_and_takes_no_more() -> None:
    stored = add_claim(add_claim(None, "v1", limit=2), "v2", limit=2)
    assert add_claim(stored, "v3", limit=2) is None
    assert claimed_devices(stored) == ("v1", "v2")


def test_a_claim_update_is_a_valid_profile_update_that_no_profile_applies() -> None:
    update = claim_update("v1", PERSON, 1_800_000_000_000)
    assert CODEC.decode(CODEC.encode("ProfileUpdate", update))[1] == update
    check_meaning("ProfileUpdate", update, 1_800_000_000_000)
    try:
        check_meaning("ProfileUpdate", {**update, "user_id": None}, 1_800_000_000_000)
    except InvalidEvent as exc:
        assert "kind claim must carry a user_id" in str(exc)
    else:
        raise AssertionError("a claim without a user id passed")
    try:
        apply_profile_update(None, update)
    except ProfileUpdateError as exc:
        assert "claim index entry" in str(exc)
    else:
        raise AssertionError("a claim was applied to a profile")


def test_device_erasures_erase_each_device_as_a_visitor() -> None:
    updates = device_erasures("erase-7", ["v1", "v2"], 1_800_000_000_000)
    assert [(u["update_id"], u["visitor_id"], u["kind"], u["user_id"]) for u in updates] == [
        ("erase-7-claim-0", "v1", "erasure", None), ("erase-7-claim-1", "v2", "erasure", None)]
    for update in updates:
        effect = apply_profile_update(None, CODEC.decode(CODEC.encode("ProfileUpdate",
                                                                      update))[1])
        assert effect.state is None and effect.erase_keys == (update["visitor_id"],)
