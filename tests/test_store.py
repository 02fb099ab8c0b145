"""Persistence: state reaches storage while changes keep coming."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util.file import WriteError
import pytest
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


def journal_of(hass: HomeAssistant, entry_id: str) -> Path:
    return Path(hass.config.path(".storage", f"csms.{entry_id}.journal"))


async def journal_seqs(hass: HomeAssistant, entry_id: str) -> list[int]:
    """What a Home Assistant starting now would replay."""
    records = await HomeAssistantStateStore(hass, entry_id).async_load_journal()
    return [record["seq"] for record in records]


async def test_journal_records_are_durable_until_a_saved_document_holds_them(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    store = HomeAssistantStateStore(hass, "entry1")
    await store.async_append({"seq": 1, "kind": "transaction_started"})
    await store.async_append({"seq": 2, "kind": "transaction_stopped"})
    assert await journal_seqs(hass, "entry1") == [1, 2]

    await store.async_save({"journal_seq": 1})
    assert await journal_seqs(hass, "entry1") == [2]
    await store.async_save({"journal_seq": 2})
    assert await journal_seqs(hass, "entry1") == []
    assert not journal_of(hass, "entry1").exists()


async def test_appends_at_the_same_time_are_all_written_once(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    store = HomeAssistantStateStore(hass, "entry1")
    # A reconnect storm: many chargers deliver their queued transactions at once.
    await asyncio.gather(*(store.async_append({"seq": seq}) for seq in range(1, 101)))
    assert await journal_seqs(hass, "entry1") == list(range(1, 101))


async def test_a_line_torn_by_a_crash_is_skipped(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    store = HomeAssistantStateStore(hass, "entry1")
    await store.async_append({"seq": 1})
    with journal_of(hass, "entry1").open("ab") as journal:
        journal.write(b'{"seq": 2, "kind": "transac')
    assert await journal_seqs(hass, "entry1") == [1]


async def test_the_delayed_save_drops_what_it_wrote(
    hass: HomeAssistant, hass_storage: dict[str, Any], freezer: FrozenDateTimeFactory
) -> None:
    store = HomeAssistantStateStore(hass, "entry1")
    await store.async_append({"seq": 1})
    store.schedule_save(lambda: {"journal_seq": 1})
    await store.async_append({"seq": 2})
    freezer.tick(timedelta(seconds=SAVE_DELAY + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass_storage["csms.entry1"]["data"] == {"journal_seq": 1}
    assert await journal_seqs(hass, "entry1") == [2]


async def test_removing_the_entry_removes_the_journal(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    store = HomeAssistantStateStore(hass, "entry1")
    store.schedule_save(dict)
    await store.async_save({"journal_seq": 0})
    await store.async_append({"seq": 1})
    await store.async_remove()
    assert "csms.entry1" not in hass_storage
    assert not journal_of(hass, "entry1").exists()


async def test_an_append_after_a_torn_line_is_kept(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    store = HomeAssistantStateStore(hass, "entry1")
    await store.async_append({"seq": 1})
    with journal_of(hass, "entry1").open("ab") as journal:
        journal.write(b'{"seq": 2, "kind": "transac')
    # Home Assistant starts again after the crash; the chargers deliver what they queued.
    restarted = HomeAssistantStateStore(hass, "entry1")
    assert [record["seq"] for record in await restarted.async_load_journal()] == [1]
    await restarted.async_append({"seq": 2})
    assert await journal_seqs(hass, "entry1") == [1, 2]


async def test_a_failed_append_raises_and_is_written_by_the_next(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    store = HomeAssistantStateStore(hass, "entry1")
    # A full disk cannot be had here: the write fails as it would.
    with (
        patch("custom_components.csms.store._append", side_effect=OSError(28, "No space")),
        pytest.raises(OSError, match="No space"),
    ):
        await store.async_append({"seq": 1})
    await store.async_append({"seq": 2})
    assert await journal_seqs(hass, "entry1") == [1, 2]


async def test_the_journal_stays_until_the_document_is_really_written(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    store = HomeAssistantStateStore(hass, "entry1")
    await store.async_append({"seq": 1})
    # The Store logs a failed write instead of raising.
    with patch.object(Store, "_async_write_data", side_effect=WriteError("disk full")):
        await store.async_save({"journal_seq": 1})
    assert await journal_seqs(hass, "entry1") == [1]

    # While Home Assistant stops, the Store writes only at the final write.
    hass.set_state(CoreState.stopping)
    await store.async_save({"journal_seq": 1})
    assert await journal_seqs(hass, "entry1") == [1]
    hass.set_state(CoreState.running)
    await store.async_save({"journal_seq": 1})
    assert await journal_seqs(hass, "entry1") == []
