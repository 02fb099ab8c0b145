"""Local authorization lists at real chargers: full and differential updates, recovery."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest

from custom_components.csms.central.authorization import IdTagRecord
from custom_components.csms.const import DOMAIN
from custom_components.csms.id_tags import ID_TAGS
from custom_components.csms.runtime import CsmsRuntimeData
from simulator import SimulatedChargePoint
from simulator.configuration import ConfigurationKey

from .conftest import add_charge_point, server_url, wait_for


@pytest.fixture(autouse=True)
def quick_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tag changes reach the chargers at once rather than after two seconds."""
    monkeypatch.setattr("custom_components.csms.local_lists.SYNC_DELAY_S", 0.01)


def runtime(hass: HomeAssistant, charge_point_id: str = "CP001") -> CsmsRuntimeData:
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, charge_point_id)
    assert entry is not None
    data: CsmsRuntimeData = entry.runtime_data
    return data


def list_updates(charger: SimulatedChargePoint) -> list[dict[str, Any]]:
    return [payload for action, payload in charger.calls_received if action == "SendLocalList"]


async def synced(hass: HomeAssistant, charger: SimulatedChargePoint, count: int) -> None:
    """Wait for the charger's ``count``-th list update and its outcome."""
    await wait_for(lambda: len(list_updates(charger)) >= count)
    state = runtime(hass, charger.id).charge_point.local_list
    await wait_for(lambda: state.version == charger.local_list_version)
    await hass.async_block_till_done()


def sensor(hass: HomeAssistant, key: str, charge_point_id: str = "CP001") -> str:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{charge_point_id}_{key}")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def test_the_list_follows_the_tags(
    hass: HomeAssistant, connect: Any, enable_all: None
) -> None:
    registry = hass.data[ID_TAGS]
    await registry.async_add(IdTagRecord("ALICE", tenant="Flat 1"), None)
    await registry.async_add(IdTagRecord("BOB", status="Blocked"), None)
    await registry.async_add(IdTagRecord("CAROL", charge_points=frozenset({"CP002"})), None)
    charger: SimulatedChargePoint = await connect("CP001")

    # After its boot: a full list with version 1.
    await synced(hass, charger, 1)
    (first,) = list_updates(charger)
    assert first["updateType"] == "Full"
    assert first["listVersion"] == 1
    assert charger.local_list == {
        "ALICE": {"status": "Accepted"},
        # Blocked cards are listed too: the list overrides the charger's cache.
        "BOB": {"status": "Blocked"},
        # The charger's own remote-start tag.
        "HomeAssistant": {"status": "Accepted"},
    }
    assert sensor(hass, "local_list_version") == "1"
    assert sensor(hass, "local_list_sync") == "accepted"

    # A new card: a differential update with that card only.
    await hass.services.async_call(
        DOMAIN, "add_tag", {"id_tag": "DAVE", "parent_id_tag": "FAMILY"}, blocking=True
    )
    await synced(hass, charger, 2)
    assert list_updates(charger)[-1] == {
        "listVersion": 2,
        "updateType": "Differential",
        "localAuthorizationList": [
            {"idTag": "DAVE", "idTagInfo": {"status": "Accepted", "parentIdTag": "FAMILY"}}
        ],
    }

    # Blocking, then forgetting a card: each one differential update.
    await hass.services.async_call(
        DOMAIN, "update_tag", {"id_tag": "ALICE", "status": "Blocked"}, blocking=True
    )
    await synced(hass, charger, 3)
    assert list_updates(charger)[-1]["localAuthorizationList"] == [
        {"idTag": "ALICE", "idTagInfo": {"status": "Blocked"}}
    ]
    await hass.services.async_call(DOMAIN, "remove_tag", {"id_tag": "BOB"}, blocking=True)
    await synced(hass, charger, 4)
    assert list_updates(charger)[-1]["localAuthorizationList"] == [{"idTag": "BOB"}]
    assert list_updates(charger)[-1]["listVersion"] == 4
    assert set(charger.local_list) == {"ALICE", "DAVE", "HomeAssistant"}
    assert sensor(hass, "local_list_version") == "4"


async def test_several_changes_in_a_row_make_one_update(hass: HomeAssistant, connect: Any) -> None:
    charger: SimulatedChargePoint = await connect("CP001")
    await synced(hass, charger, 1)

    for id_tag in ("A1", "A2", "A3"):
        await hass.services.async_call(DOMAIN, "add_tag", {"id_tag": id_tag}, blocking=True)
    await synced(hass, charger, 2)
    await hass.async_block_till_done()

    assert len(list_updates(charger)) == 2
    assert [entry["idTag"] for entry in list_updates(charger)[-1]["localAuthorizationList"]] == [
        "A1",
        "A2",
        "A3",
    ]


async def test_a_version_mismatch_is_repaired_with_a_full_list(
    hass: HomeAssistant, connect: Any
) -> None:
    await hass.data[ID_TAGS].async_add(IdTagRecord("ALICE"), None)
    charger: SimulatedChargePoint = await connect("CP001")
    await synced(hass, charger, 1)
    await hass.data[ID_TAGS].async_add(IdTagRecord("BOB"), None)
    await synced(hass, charger, 2)

    # A differential update with a version the charger has already: it
    # answers VersionMismatch, and gets the whole list with a newer version.
    response = await hass.services.async_call(
        DOMAIN,
        "send_local_list",
        {"charge_point_id": "CP001", "update_type": "Differential", "list_version": 1},
        blocking=True,
        return_response=True,
    )

    first_try, recovery = list_updates(charger)[-2:]
    assert first_try["updateType"] == "Differential"
    assert first_try["listVersion"] == 1
    assert recovery["updateType"] == "Full"
    assert recovery["listVersion"] == 3
    assert response == {
        "status": "accepted",
        "list_version": 3,
        "update_type": "Full",
        "entries": 3,
    }
    assert charger.local_list_version == 3
    assert set(charger.local_list) == {"ALICE", "BOB", "HomeAssistant"}


async def test_a_charger_that_lost_its_list_gets_it_again(
    hass: HomeAssistant, connect: Any
) -> None:
    await hass.data[ID_TAGS].async_add(IdTagRecord("ALICE"), None)
    charger: SimulatedChargePoint = await connect("CP001")
    await synced(hass, charger, 1)

    # A factory reset while it was away: it reports version 0 with no list.
    await charger.disconnect()
    charger.local_list = {}
    charger.local_list_version = 0
    await charger.connect(charger.url)
    await synced(hass, charger, 2)

    assert list_updates(charger)[-1]["updateType"] == "Full"
    assert list_updates(charger)[-1]["listVersion"] == 2
    assert set(charger.local_list) == {"ALICE", "HomeAssistant"}
    # Versions never go back to 0 or -1: they keep counting up.
    response = await hass.services.async_call(
        DOMAIN,
        "get_local_list_version",
        {"charge_point_id": "CP001"},
        blocking=True,
        return_response=True,
    )
    assert response == {"list_version": 2}


async def test_a_reconnect_without_boot_brings_missed_changes(
    hass: HomeAssistant, connect: Any
) -> None:
    charger: SimulatedChargePoint = await connect("CP001")
    await synced(hass, charger, 1)
    await charger.disconnect()
    await hass.data[ID_TAGS].async_add(IdTagRecord("ALICE"), None)
    await hass.async_block_till_done()
    assert len(list_updates(charger)) == 1

    # The websocket drops and comes back; the charger does not reboot.
    await charger.connect(charger.url, boot=False)
    await synced(hass, charger, 2)

    assert list_updates(charger)[-1]["updateType"] == "Differential"
    assert list_updates(charger)[-1]["localAuthorizationList"] == [
        {"idTag": "ALICE", "idTagInfo": {"status": "Accepted"}}
    ]


async def test_lists_are_split_to_what_the_charger_takes_at_once(
    hass: HomeAssistant, server_entry: Any, charge_points: list[SimulatedChargePoint]
) -> None:
    for number in range(5):
        await hass.data[ID_TAGS].async_add(IdTagRecord(f"CARD{number}"), None)
    await add_charge_point(hass, server_entry, "CP001")
    charger = SimulatedChargePoint("CP001")
    charger.configuration["SendLocalListMaxLength"] = ConfigurationKey("2", True)
    charge_points.append(charger)
    await charger.connect(server_url(server_entry))
    await synced(hass, charger, 3)

    updates = list_updates(charger)
    assert [(u["updateType"], u["listVersion"]) for u in updates] == [
        ("Full", 1),
        ("Differential", 2),
        ("Differential", 3),
    ]
    assert len(charger.local_list) == 6


async def test_offline_authorization_is_configured(hass: HomeAssistant, connect: Any) -> None:
    charger: SimulatedChargePoint = await connect("CP001")
    for key in ("LocalAuthorizeOffline", "LocalAuthListEnabled", "AuthorizationCacheEnabled"):
        charger.configuration[key] = ConfigurationKey("false", False)
    charger.configuration["AllowOfflineTxForUnknownId"] = ConfigurationKey("true", False)

    await charger.boot()
    await synced(hass, charger, 1)
    wanted = {
        "LocalAuthorizeOffline": "true",
        "LocalAuthListEnabled": "true",
        "AuthorizationCacheEnabled": "true",
        "AllowOfflineTxForUnknownId": "false",
    }

    def configured() -> dict[str, str]:
        return {key: charger.configuration[key].value for key in wanted}

    # Written one key after the other, after the keys were read.
    await wait_for(lambda: configured() == wanted)


async def test_a_charger_without_local_lists(
    hass: HomeAssistant, server_entry: Any, charge_points: list[SimulatedChargePoint]
) -> None:
    await add_charge_point(hass, server_entry, "CP001")
    charger = SimulatedChargePoint("CP001")
    charger.configuration["SupportedFeatureProfiles"] = ConfigurationKey("Core,RemoteTrigger", True)
    del charger.configuration["LocalAuthListEnabled"]
    charge_points.append(charger)
    await charger.connect(server_url(server_entry))
    charge_point = runtime(hass).charge_point
    await wait_for(lambda: bool(charge_point.configuration))
    await hass.data[ID_TAGS].async_add(IdTagRecord("ALICE"), None)
    await hass.async_block_till_done()

    assert list_updates(charger) == []

    # Its keys are read before anything is written: LocalAuthListEnabled is
    # not even tried, at its first boot or later.
    def tried() -> int:
        return charger.calls_received.count(
            ("ChangeConfiguration", {"key": "LocalAuthListEnabled", "value": "true"})
        )

    assert tried() == 0
    assert not ir.async_get(hass).issues

    def facts_read() -> int:
        return sum(action == "GetConfiguration" for action, _ in charger.calls_received)

    reads = facts_read()
    await charger.boot()
    await wait_for(lambda: facts_read() > reads)
    await hass.async_block_till_done()
    assert tried() == 0
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN, "send_local_list", {"charge_point_id": "CP001"}, blocking=True
        )
    assert raised.value.translation_key == "local_list_not_supported"
    assert (
        er.async_get(hass).async_get_entity_id("sensor", DOMAIN, "CP001_local_list_version") is None
    )


async def test_clear_cache_empties_the_chargers_cache(hass: HomeAssistant, connect: Any) -> None:
    await hass.data[ID_TAGS].async_add(IdTagRecord("ALICE"), None)
    charger: SimulatedChargePoint = await connect("CP001")
    await charger.authorize("ALICE")
    assert "ALICE" in charger.auth_cache

    response = await hass.services.async_call(
        DOMAIN, "clear_cache", {"charge_point_id": "CP001"}, blocking=True, return_response=True
    )

    assert response == {"status": "Accepted"}
    assert charger.auth_cache == {}
