"""Persistence: state reaches storage while changes keep coming."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.csms.store import SAVE_DELAY, HomeAssistantStateStore


async def test_a_steady_stream_of_changes_is_still_written(
    hass: HomeAssistant, hass_storage: dict[str, Any], freezer: FrozenDateTimeFactory
) -> None:
    store = HomeAssistantStateStore(hass, "entry1")
    state = {"readings": 0}
    # A change every second for three save delays: writes must not wait for a pause.
    for second in range(3 * SAVE_DELAY):
        state["readings"] = second
        store.schedule_save(lambda: dict(state))
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        if second == SAVE_DELAY + 1:
            assert hass_storage["csms.entry1"]["data"]["readings"] >= SAVE_DELAY - 1
    assert hass_storage["csms.entry1"]["data"]["readings"] >= 2 * SAVE_DELAY
    await store.async_save({"readings": -1})
    assert await store.async_load() == {"readings": -1}
