"""Entry lifecycle: setup, unload, reload, restarts with chargers connected."""

from __future__ import annotations

import socket
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.csms.central.central_system import CentralSystem
from custom_components.csms.const import DOMAIN
from custom_components.csms.store import HomeAssistantStateStore
from simulator import SimulatedChargePoint

from .conftest import add_charge_point, server_config_entry, server_url
from .test_charging import state
from .test_config_flow import free_port


async def test_port_taken_retries_setup(hass: HomeAssistant) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        entry = server_config_entry(port=blocker.getsockname()[1])
        entry.add_to_hass(hass)
        assert not await hass.config_entries.async_setup(entry.entry_id)
        assert entry.state is ConfigEntryState.SETUP_RETRY
        assert "Cannot listen for chargers on 127.0.0.1" in (entry.reason or "")


async def test_unload_closes_every_connection_and_reload_brings_them_back(
    hass: HomeAssistant, charge_points: list[SimulatedChargePoint]
) -> None:
    entry = server_config_entry(port=free_port())
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    url = server_url(entry)
    await add_charge_point(hass, entry, "CP001")
    await add_charge_point(hass, entry, "CP002")
    first = SimulatedChargePoint("CP001")
    second = SimulatedChargePoint("CP002", connectors=2)
    charge_points.extend([first, second])
    for charge_point in charge_points:
        await charge_point.connect(url)
    await hass.async_block_till_done()

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    for charge_point in charge_points:
        await charge_point.wait_closed()
    await hass.async_block_till_done()
    # The chargers' own entries stay: their entities show the lost connection.
    assert state(hass, "binary_sensor", "CP001_connected") == "off"
    assert state(hass, "sensor", "CP002_2_status") == STATE_UNAVAILABLE
    # The port is free again.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", entry.data["port"]))

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    # Known chargers have their entities right away, unavailable until they connect.
    assert state(hass, "sensor", "CP002_2_status") == STATE_UNAVAILABLE
    for charge_point in charge_points:
        await charge_point.connect(url)
    await hass.async_block_till_done()
    assert state(hass, "sensor", "CP002_2_status") == "available"
    assert state(hass, "binary_sensor", "CP001_connected") == "on"

    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    for charge_point in charge_points:
        await charge_point.wait_closed()
        await charge_point.connect(url)
    await hass.async_block_till_done()
    assert state(hass, "binary_sensor", "CP002_connected") == "on"


async def test_home_assistant_stopping_closes_the_connections_quietly(
    hass: HomeAssistant, connect: Any
) -> None:
    charge_point = await connect("CP001")
    assert state(hass, "sensor", "CP001_1_status") == "available"

    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await charge_point.wait_closed()
    await hass.async_block_till_done()

    # Closed without a state written per entity: Home Assistant starts them
    # unavailable anyway.
    assert not charge_point.connected
    assert state(hass, "sensor", "CP001_1_status") == "available"
    assert state(hass, "binary_sensor", "CP001_connected") == "on"


async def test_restart_in_the_middle_of_a_transaction(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    charge_points: list[SimulatedChargePoint],
) -> None:
    entry = server_config_entry(port=free_port())
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    url = server_url(entry)
    await add_charge_point(hass, entry, "CP001")
    charge_point = SimulatedChargePoint("CP001")
    charge_points.append(charge_point)
    await charge_point.connect(url)
    meter_start = charge_point.meters[1].register_wh
    transaction_id = await charge_point.start_transaction(1, "TAG1")
    await charge_point.send_meter_values(1, seconds=900, power_w=11000)

    # Home Assistant goes down: the server stops, the state is written.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await charge_point.wait_closed()
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]
    (saved_charge_point,) = stored["charge_points"]
    (saved_transaction,) = saved_charge_point["transactions"]
    assert saved_transaction["transaction_id"] == transaction_id
    assert saved_transaction["meter_start_wh"] == meter_start

    # Meanwhile the charger keeps charging offline.
    charge_point.meters[1].advance(900)
    meter_stop = charge_point.meters[1].register_wh

    # Back up: a fresh central system restored from storage.
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await charge_point.connect(url)
    await charge_point.stop_transaction(1, reason="Local")
    await hass.async_block_till_done()

    central = entry.runtime_data.central
    connector = central.charge_points["CP001"].connectors[1]
    assert connector.transaction is None
    finished = connector.last_transaction
    assert finished is not None
    assert finished.transaction_id == transaction_id
    assert finished.energy_wh == meter_stop - meter_start
    assert float(state(hass, "sensor", "CP001_1_energy")) == meter_stop / 1000

    # New transactions never reuse an id handed out before the restart.
    assert await charge_point.start_transaction(1, "TAG1") > transaction_id


async def test_a_crash_loses_no_transaction(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    charge_points: list[SimulatedChargePoint],
) -> None:
    entry = server_config_entry(port=free_port())
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await add_charge_point(hass, entry, "CP001")
    charge_point = SimulatedChargePoint("CP001")
    charge_points.append(charge_point)
    await charge_point.connect(server_url(entry))
    transaction_id = await charge_point.start_transaction(1, "TAG1")

    async def after_a_crash() -> CentralSystem:
        """What Home Assistant, killed now, would find at its next start."""
        central = CentralSystem(HomeAssistantStateStore(hass, entry.entry_id))
        await central.async_load()
        return central

    # The answered start is on disk, though the document is written only later.
    document = hass_storage.get(f"{DOMAIN}.{entry.entry_id}", {}).get("data", {})
    assert not any(cp["transactions"] for cp in document.get("charge_points", []))
    restored = (await after_a_crash()).charge_points["CP001"]
    assert restored.connectors[1].transaction is not None
    assert restored.connectors[1].transaction.transaction_id == transaction_id

    await charge_point.stop_transaction(1, reason="Local")
    restored = (await after_a_crash()).charge_points["CP001"]
    assert restored.connectors[1].transaction is None
    assert restored.transactions == {}
    finished = restored.connectors[1].last_transaction
    assert finished is not None
    assert finished.transaction_id == transaction_id
    assert finished.stop_reason == "Local"
    # The id counter came back too: no id is handed out twice.
    assert (await after_a_crash()).as_dict()["last_transaction_id"] == transaction_id


async def test_stop_for_a_transaction_never_seen_is_accepted(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point = await connect("CP001")
    response = await charge_point.call_raw(
        "StopTransaction",
        {
            "transactionId": 987654,
            "meterStop": 5000,
            "timestamp": "2026-11-21T10:00:00Z",
            "idTag": "LOST",
            "transactionData": [
                {
                    "timestamp": "2026-11-21T09:00:00Z",
                    "sampledValue": [{"value": "1200", "context": "Transaction.Begin"}],
                }
            ],
        },
    )
    # Taken all the same; the idTagInfo tells the standing of the unknown tag.
    assert response == {"idTagInfo": {"status": "Invalid"}}
    connector = server_entry.runtime_data.central.charge_points["CP001"].connectors[1]
    finished = connector.last_transaction
    assert finished is not None
    assert finished.transaction_id == 987654
    assert finished.energy_wh == 3800


async def test_listening_on_every_interface_includes_ipv4(
    hass: HomeAssistant, charge_points: list[SimulatedChargePoint]
) -> None:
    port = free_port()
    entry = server_config_entry(port=port, host="::")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await add_charge_point(hass, entry, "CP001")
    charge_point = SimulatedChargePoint("CP001")
    charge_points.append(charge_point)
    await charge_point.connect(f"ws://127.0.0.1:{port}")
    await hass.async_block_till_done()
    assert state(hass, "binary_sensor", "CP001_connected") == "on"
