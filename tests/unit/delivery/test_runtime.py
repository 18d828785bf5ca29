"""The delivery service's event loop choice and its heap settling after the read-back."""

from __future__ import annotations

import asyncio
import gc
import importlib.util

import pytest

from pipeline.delivery.feed import FeedStatus
from pipeline.delivery.options import DeliveryOptions
from pipeline.delivery.runtime import (
    GEN0_THRESHOLD,
    loop_factory,
    loop_name,
    settle_heap,
    unsettle_heap,
)
from pipeline.delivery.service import DeliveryService
from pipeline.settings import Settings

HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


def test_asyncio_loop_on_request_and_uvloop_only_when_installed() -> None:
    assert loop_factory("asyncio") is None
    auto = loop_factory("auto")
    if HAS_UVLOOP:
        assert auto is not None
        loop = auto()
        try:
            assert loop_name(loop) == "uvloop"
        finally:
            loop.close()
    else:
        assert auto is None
        with pytest.raises(ValueError, match="not installed"):
            loop_factory("uvloop")
    with pytest.raises(ValueError, match="not one of"):
        loop_factory("tokio")


def test_event_loop_and_cache_options_are_checked() -> None:
    assert DeliveryOptions.from_env({"RTP_DELIVERY_EVENT_LOOP": "asyncio"}).event_loop == "asyncio"
    assert DeliveryOptions.from_env({"RTP_DELIVERY_ANSWER_CACHE": "0"}).answer_cache == 0
    with pytest.raises(ValueError, match="event_loop"):
        DeliveryOptions(event_loop="fast")
    with pytest.raises(ValueError, match="answer_cache"):
        DeliveryOptions(answer_cache=-1)


def test_settled_objects_are_out_of_the_collectors_view_until_unsettled() -> None:
    before = gc.get_threshold()
    assert settle_heap() == gc.get_freeze_count() > 0
    assert gc.get_threshold() == (max(before[0], GEN0_THRESHOLD), *before[1:])
    settle_heap()  # twice (as a restarted feed may): unsettling still restores the first
    unsettle_heap()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


@pytest.mark.parametrize("settle", [True, False])
async def test_service_settles_the_heap_once_caught_up_and_undoes_it_on_stop(
        settle: bool) -> None:
    service = DeliveryService(Settings(kafka_port=1),
                              DeliveryOptions(http_port=0, settle_heap=settle))
    housekeeping = asyncio.create_task(service._housekeep())
    service._housekeeping = housekeeping
    try:
        await asyncio.sleep(1.3)  # one housekeeping round, not caught up yet
        assert gc.get_freeze_count() == 0
        # readiness waits for the settle's pause (only when there is one to come)
        assert service.state.settling() is settle
        service.feed.status = FeedStatus(started=True, caught_up=True)
        await asyncio.sleep(1.3)
        assert (gc.get_freeze_count() > 0) is settle
        assert service.state.settling() is False
    finally:
        await service.stop()
    assert gc.get_freeze_count() == 0
