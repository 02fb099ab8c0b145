"""Charging sessions end to end: simulated chargers, the real server, Home Assistant entities."""

from __future__ import annotations

from typing import Any

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.csms.const import DOMAIN

from .conftest import entry_id_of, register_id_tags, wait_for


def entity_id(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """The entity id behind a unique id."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


def state(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """The state of the entity behind a unique id."""
    current = hass.states.get(entity_id(hass, platform, unique_id))
    assert current is not None
    return current.state


async def test_full_session_moves_the_entities(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await register_id_tags(hass, "TAG1")
    charge_point = await connect("CP001")

    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "CP001"), entry_id_of(hass, "CP001")
    )
    assert device is not None
    assert device.manufacturer == charge_point.vendor
    assert device.model == charge_point.model
    assert device.serial_number == charge_point.serial_number
    assert device.sw_version == charge_point.firmware_version

    assert state(hass, "binary_sensor", "CP001_connected") == "on"
    assert state(hass, "sensor", "CP001_charge_point_status") == "available"
    assert state(hass, "sensor", "CP001_1_status") == "available"
    # One connector: its entities sit on the charge point's device.
    status_entry = er.async_get(hass).async_get(entity_id(hass, "sensor", "CP001_1_status"))
    assert status_entry is not None
    assert status_entry.device_id == device.id
    assert status_entry.translation_key == "status"

    await charge_point.plug_in(1)
    await hass.async_block_till_done()
    assert state(hass, "sensor", "CP001_1_status") == "preparing"

    meter_start = charge_point.meters[1].register_wh
    transaction_id = await charge_point.start_transaction(1, "TAG1")
    assert transaction_id > 0
    await hass.async_block_till_done()
    assert state(hass, "sensor", "CP001_1_status") == "charging"

    await charge_point.send_meter_values(1, seconds=600, power_w=11000)
    await hass.async_block_till_done()
    assert float(state(hass, "sensor", "CP001_1_power")) == 11000
    energy_kwh = float(state(hass, "sensor", "CP001_1_energy"))
    assert energy_kwh == charge_point.meters[1].register_wh / 1000
    assert energy_kwh > meter_start / 1000

    energy = hass.states.get(entity_id(hass, "sensor", "CP001_1_energy"))
    assert energy is not None
    assert energy.attributes["device_class"] == "energy"
    assert energy.attributes["state_class"] == "total_increasing"
    assert energy.attributes["unit_of_measurement"] == "kWh"

    await charge_point.send_meter_values(1, seconds=600, power_w=11000)
    meter_stop = charge_point.meters[1].register_wh
    response = await charge_point.stop_transaction(1, reason="EVDisconnected", id_tag="TAG1")
    assert response.id_tag_info["status"] == "Accepted"
    await charge_point.unplug(1)
    await hass.async_block_till_done()

    assert state(hass, "sensor", "CP001_1_status") == "available"
    assert float(state(hass, "sensor", "CP001_1_power")) == 0
    assert float(state(hass, "sensor", "CP001_1_energy")) == meter_stop / 1000
    connector = server_entry.runtime_data.central.charge_points["CP001"].connectors[1]
    assert connector.transaction is None
    finished = connector.last_transaction
    assert finished is not None
    assert finished.transaction_id == transaction_id
    assert finished.energy_wh == meter_stop - meter_start
    assert finished.stop_reason == "EVDisconnected"


async def test_transaction_ids_are_unique(hass: HomeAssistant, connect: Any) -> None:
    charge_point = await connect("CP001", connectors=2)
    seen = set()
    for _ in range(3):
        for connector_id in (1, 2):
            transaction_id = await charge_point.start_transaction(connector_id, "TAG")
            seen.add(transaction_id)
        for connector_id in (1, 2):
            await charge_point.stop_transaction(connector_id)
    assert len(seen) == 6
    assert all(transaction_id > 0 for transaction_id in seen)


async def test_two_chargers_and_a_two_connector_charger(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    single = await connect("SINGLE")
    double = await connect("DOUBLE", connectors=2)
    registry = dr.async_get(hass)
    parent = registry.async_get_device_by_identifier(
        (DOMAIN, "DOUBLE"), entry_id_of(hass, "DOUBLE")
    )
    assert parent is not None

    for connector_id in (1, 2):
        child = registry.async_get_child_device_by_identifier(
            (DOMAIN, f"DOUBLE_connector_{connector_id}"), entry_id_of(hass, "DOUBLE")
        )
        assert child is not None
        assert child.parent_device_id == parent.id
        assert child.name == f"Connector {connector_id}"
        assert entity_id(hass, "sensor", f"DOUBLE_{connector_id}_status") == (
            f"sensor.double_connector_{connector_id}_status"
        )
        entry = er.async_get(hass).async_get(
            entity_id(hass, "sensor", f"DOUBLE_{connector_id}_status")
        )
        assert entry is not None
        assert entry.device_id == child.id
    assert (
        registry.async_get_child_device_by_identifier(
            (DOMAIN, "SINGLE_connector_1"), entry_id_of(hass, "SINGLE")
        )
        is None
    )

    # Three sessions at once, each with its own meter.
    await single.start_transaction(1, "A")
    await double.start_transaction(1, "B")
    await double.start_transaction(2, "C")
    await single.send_meter_values(1, seconds=3600, power_w=3700)
    await double.send_meter_values(1, seconds=3600, power_w=7400)
    await double.send_meter_values(2, seconds=1800, power_w=11000)
    await hass.async_block_till_done()

    assert float(state(hass, "sensor", "SINGLE_1_power")) == 3700
    assert float(state(hass, "sensor", "DOUBLE_1_power")) == 7400
    assert float(state(hass, "sensor", "DOUBLE_2_power")) == 11000
    for charge_point, prefix, connector_id in (
        (single, "SINGLE", 1),
        (double, "DOUBLE", 1),
        (double, "DOUBLE", 2),
    ):
        assert state(hass, "sensor", f"{prefix}_{connector_id}_status") == "charging"
        assert (
            float(state(hass, "sensor", f"{prefix}_{connector_id}_energy"))
            == charge_point.meters[connector_id].register_wh / 1000
        )


async def test_second_connector_appearing_later_moves_the_first(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point = await connect("LATE")
    assert entity_id(hass, "sensor", "LATE_1_status") == "sensor.late_status"
    er.async_get(hass).async_update_entity(
        entity_id(hass, "sensor", "LATE_1_power"), new_entity_id="sensor.my_wallbox_power"
    )
    registry = dr.async_get(hass)
    parent = registry.async_get_device_by_identifier((DOMAIN, "LATE"), entry_id_of(hass, "LATE"))
    assert parent is not None
    await charge_point.status(2, "Available")
    await hass.async_block_till_done()

    first = registry.async_get_child_device_by_identifier(
        (DOMAIN, "LATE_connector_1"), entry_id_of(hass, "LATE")
    )
    assert first is not None
    assert first.parent_device_id == parent.id
    # Moved to the connector's device; generated entity ids follow, the user's stay.
    status_id = entity_id(hass, "sensor", "LATE_1_status")
    assert status_id == "sensor.late_connector_1_status"
    assert entity_id(hass, "sensor", "LATE_1_power") == "sensor.my_wallbox_power"
    for unique_id in ("LATE_1_status", "LATE_1_power", "LATE_1_energy"):
        entry = er.async_get(hass).async_get(entity_id(hass, "sensor", unique_id))
        assert entry is not None
        assert entry.device_id == first.id
    assert state(hass, "sensor", "LATE_1_status") == "available"
    assert state(hass, "sensor", "LATE_2_status") == "available"


async def test_entities_follow_the_connection(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point = await connect("CP001")
    await charge_point.disconnect()
    await wait_for(lambda: not server_entry.runtime_data.central.charge_points["CP001"].connected)
    await hass.async_block_till_done()
    assert state(hass, "binary_sensor", "CP001_connected") == "off"
    for unique_id in ("CP001_charge_point_status", "CP001_1_status", "CP001_1_energy"):
        assert state(hass, "sensor", unique_id) == STATE_UNAVAILABLE

    again = await connect("CP001")
    await hass.async_block_till_done()
    assert again.connected
    assert state(hass, "binary_sensor", "CP001_connected") == "on"
    assert state(hass, "sensor", "CP001_1_status") == "available"
    assert state(hass, "sensor", "CP001_1_power") == STATE_UNKNOWN


async def test_connectors_announced_out_of_order(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point = await connect("REV", boot=False)
    await charge_point.boot()
    await charge_point.status(2, "Available")
    await charge_point.status(1, "Available")
    await hass.async_block_till_done()
    registry = dr.async_get(hass)
    for connector_id in (1, 2):
        child = registry.async_get_child_device_by_identifier(
            (DOMAIN, f"REV_connector_{connector_id}"), entry_id_of(hass, "REV")
        )
        assert child is not None
        status_id = entity_id(hass, "sensor", f"REV_{connector_id}_status")
        assert status_id == f"sensor.rev_connector_{connector_id}_status"
        entry = er.async_get(hass).async_get(status_id)
        assert entry is not None
        assert entry.device_id == child.id


async def test_ocpp_unavailable_is_not_home_assistant_unavailable(
    hass: HomeAssistant, connect: Any
) -> None:
    charge_point = await connect("CP001")
    await charge_point.status(0, "Unavailable")
    await charge_point.status(1, "Faulted", error_code="GroundFailure")
    await hass.async_block_till_done()
    assert state(hass, "sensor", "CP001_charge_point_status") == "out_of_service"
    assert state(hass, "sensor", "CP001_1_status") == "faulted"
