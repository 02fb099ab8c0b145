"""Onboarding unknown chargers: Pending and discovered, accepted, ignored, removed; settings."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.config_entries import SOURCE_IGNORE, SOURCE_RECONFIGURE, ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from ocpp.exceptions import SecurityError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.csms.const import (
    CONF_CHARGE_POINT_ID,
    CONF_MEASURANDS,
    CONF_ONBOARDING,
    CONF_PUSH_CONFIGURATION,
    CONF_REMOTE_START_ID_TAG,
    CONF_SAMPLE_INTERVAL,
    CONF_SERVER_ENTRY_ID,
    CONF_SET_PASSWORD,
    DOMAIN,
    ONBOARDING_ACCEPT,
)
from simulator import SimulatedChargePoint

from .conftest import add_charge_point, entry_id_of, server_config_entry, server_url, wait_for
from .test_charging import state


def _discovery_flows(hass: HomeAssistant) -> list[Any]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == "integration_discovery"
    ]


async def _wait_for_discovery(hass: HomeAssistant, charge_point_id: str) -> Any:
    await hass.async_block_till_done()
    await wait_for(
        lambda: any(f["context"]["unique_id"] == charge_point_id for f in _discovery_flows(hass))
    )
    (flow,) = (f for f in _discovery_flows(hass) if f["context"]["unique_id"] == charge_point_id)
    return flow


async def test_unknown_charger_stays_connected_as_pending_and_is_discovered(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point = await connect("NEW1", known=False)
    assert charge_point.connected
    assert charge_point.boot_response.status == "Pending"
    assert charge_point.boot_response.interval == 30

    flow = await _discovery_flows_for(hass, "NEW1")
    assert flow["step_id"] == "discovery_confirm"
    assert flow["context"]["title_placeholders"] == {
        "name": f"NEW1 — {charge_point.vendor} {charge_point.model} {charge_point.serial_number}"
    }
    # Until accepted it may not do anything but boot.
    with pytest.raises(SecurityError):
        await charge_point.call_raw(
            "StartTransaction",
            {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "2026-11-21T10:00:00Z"},
        )
    with pytest.raises(SecurityError):
        await charge_point.heartbeat()
    # Nothing about it is stored, and it has no device (the server's only is its site).
    assert not server_entry.runtime_data.central.as_dict()["charge_points"]
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), server_entry.entry_id)
    assert [device.identifiers for device in devices] == [{(DOMAIN, server_entry.entry_id)}]
    # Booting again does not offer it twice.
    await charge_point.boot()
    await hass.async_block_till_done()
    assert len(_discovery_flows(hass)) == 1


async def _discovery_flows_for(hass: HomeAssistant, charge_point_id: str) -> Any:
    return await _wait_for_discovery(hass, charge_point_id)


async def test_accepting_leaves_another_chargers_session_untouched(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    busy = await connect("BUSY")
    transaction_id = await busy.start_transaction(1, "TAG1")
    busy_connection = server_entry.runtime_data.server.connections["BUSY"]

    newcomer = await connect("NEW2", known=False)
    flow = await _wait_for_discovery(hass, "NEW2")
    await busy.send_meter_values(1, seconds=60, power_w=7000)

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_NAME: "Carport", CONF_SET_PASSWORD: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Carport"
    assert result["data"] == {
        CONF_SERVER_ENTRY_ID: server_entry.entry_id,
        CONF_CHARGE_POINT_ID: "NEW2",
    }
    await hass.async_block_till_done()

    # The newcomer is asked to boot again and is accepted now.
    await newcomer.wait_for_call("TriggerMessage")
    await wait_for(
        lambda: er.async_get(hass).async_get_entity_id("sensor", DOMAIN, "NEW2_1_status")
    )
    assert newcomer.boot_response.status == "Accepted"
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "NEW2"), entry_id_of(hass, "NEW2")
    )
    assert device is not None
    assert device.name == "Carport"
    assert state(hass, "sensor", "NEW2_1_status") == "available"

    # The other charger never noticed: same connection, session goes on.
    assert server_entry.runtime_data.server.connections["BUSY"] is busy_connection
    assert busy.connected
    await busy.send_meter_values(1, seconds=60, power_w=7000)
    await busy.stop_transaction(1, reason="Local")
    await hass.async_block_till_done()
    last = server_entry.runtime_data.central.charge_points["BUSY"].connectors[1].last_transaction
    assert last is not None
    assert last.transaction_id == transaction_id
    assert last.energy_wh == pytest.approx(2 * 7000 / 60, abs=2)
    assert server_entry.state is ConfigEntryState.LOADED


async def test_confirm_requires_a_name(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await connect("NEW3", known=False)
    flow = await _wait_for_discovery(hass, "NEW3")
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_NAME: "  ", CONF_SET_PASSWORD: False}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_required"}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_NAME: "Garage", CONF_SET_PASSWORD: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_ignoring_rejects_the_charger(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point = await connect("NOPE", known=False)
    flow = await _wait_for_discovery(hass, "NOPE")
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_IGNORE},
        data={"unique_id": "NOPE", "title": "NOPE"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert not any(f["flow_id"] == flow["flow_id"] for f in _discovery_flows(hass))
    response = await charge_point.boot()
    assert response.status == "Rejected"
    assert response.interval == 300
    await hass.async_block_till_done()
    assert not _discovery_flows(hass)


async def test_a_charger_of_another_server_is_rejected(
    hass: HomeAssistant, server_entry: MockConfigEntry, charge_points: list[SimulatedChargePoint]
) -> None:
    other = server_config_entry(port=0)
    other.add_to_hass(hass)
    # Both servers on port 0 would share a unique id: give the second its own.
    hass.config_entries.async_update_entry(other, unique_id="other")
    assert await hass.config_entries.async_setup(other.entry_id)
    await add_charge_point(hass, other, "ELSEWHERE")
    charge_point = SimulatedChargePoint("ELSEWHERE")
    charge_points.append(charge_point)
    response = await charge_point.connect(server_url(server_entry))
    assert response.status == "Rejected"


async def test_accept_automatically(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    result = await hass.config_entries.options.async_init(server_entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "settings"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_ONBOARDING: ONBOARDING_ACCEPT, "unknown_id_tags": "invalid"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert server_entry.options == {
        CONF_ONBOARDING: ONBOARDING_ACCEPT,
        "unknown_id_tags": "invalid",
        "ledger_retention_months": 13,
    }

    charge_point = await connect("AUTO", known=False)
    assert charge_point.boot_response.status == "Accepted"
    await hass.async_block_till_done()
    await wait_for(lambda: hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "AUTO"))
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "AUTO")
    assert entry is not None
    assert entry.title == "AUTO"
    await hass.async_block_till_done()
    assert state(hass, "binary_sensor", "AUTO_connected") == "on"
    assert not _discovery_flows(hass)
    # Accepted at its first boot, before its entry existed: configured all the same.
    await wait_for(
        lambda: (
            ("ChangeConfiguration", {"key": "ClockAlignedDataInterval", "value": "900"})
            in charge_point.calls_received
        )
    )
    assert [action for action, _ in charge_point.calls_received].count("GetConfiguration") == 1


async def test_removing_a_charger_forgets_it(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point = await connect("GONE")
    await charge_point.start_transaction(1, "TAG1")
    entry_id = entry_id_of(hass, "GONE")
    assert er.async_entries_for_config_entry(er.async_get(hass), entry_id)

    assert (await hass.config_entries.async_remove(entry_id))["require_restart"] is False
    await hass.async_block_till_done()
    assert not er.async_entries_for_config_entry(er.async_get(hass), entry_id)
    assert not dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)
    stored = json.dumps(server_entry.runtime_data.central.as_dict())
    assert "GONE" not in stored
    # It is disconnected and comes back as an unknown charger.
    await charge_point.wait_closed()
    await charge_point.connect(server_url(server_entry))
    assert charge_point.boot_response.status == "Pending"
    await _wait_for_discovery(hass, "GONE")


async def test_removing_a_server_removes_its_chargers(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await connect("CP1")
    await hass.config_entries.async_remove(server_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "CP1") is None


async def test_charge_point_settings(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point = await connect("SET1")
    entry_id = entry_id_of(hass, "SET1")
    charger = server_entry.runtime_data.central.charge_points["SET1"]
    await wait_for(lambda: charger.configuration)

    result = await hass.config_entries.options.async_init(entry_id)
    assert result["type"] is FlowResultType.FORM
    placeholders = result["description_placeholders"]
    assert placeholders["vendor"] == charge_point.vendor
    assert placeholders["serial_number"] == charge_point.serial_number
    assert placeholders["connectors"] == "1"
    assert "Core" in placeholders["feature_profiles"]

    for bad, error in (
        ({CONF_NAME: " "}, "name_required"),
        ({CONF_MEASURANDS: []}, "measurands_required"),
        ({CONF_REMOTE_START_ID_TAG: "x" * 21}, "invalid_id_tag"),
    ):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], _settings() | bad
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": error}

    charge_point.calls_received.clear()
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _settings() | {CONF_NAME: "Driveway", CONF_SAMPLE_INTERVAL: 30.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = hass.config_entries.async_get_entry(entry_id)
    assert entry is not None
    assert entry.title == "Driveway"
    assert entry.options[CONF_SAMPLE_INTERVAL] == 30
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, "SET1"), entry_id)
    assert device is not None
    assert device.name == "Driveway"
    # The new settings reach the charger right away, no reload.
    await wait_for(lambda: charge_point.configuration["MeterValueSampleInterval"].value == "30")
    assert entry.state is ConfigEntryState.LOADED


def _settings() -> dict[str, Any]:
    return {
        CONF_NAME: "Name",
        CONF_PUSH_CONFIGURATION: True,
        CONF_SAMPLE_INTERVAL: 60.0,
        CONF_MEASURANDS: ["Energy.Active.Import.Register", "Power.Active.Import"],
        CONF_REMOTE_START_ID_TAG: "HomeAssistant",
    }


async def test_without_configuration_push_only_facts_are_read(
    hass: HomeAssistant, server_entry: MockConfigEntry, charge_points: list[SimulatedChargePoint]
) -> None:
    entry = await add_charge_point(hass, server_entry, "QUIET")
    hass.config_entries.async_update_entry(entry, options={CONF_PUSH_CONFIGURATION: False})
    await hass.async_block_till_done()
    charge_point = SimulatedChargePoint("QUIET")
    charge_points.append(charge_point)
    await charge_point.connect(server_url(server_entry))
    await charge_point.wait_for_call("GetConfiguration")
    assert not [
        action for action, _ in charge_point.calls_received if action == "ChangeConfiguration"
    ]


async def test_reconfigure_of_a_charger_points_to_its_settings(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    entry = await add_charge_point(hass, server_entry, "RECONF")
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "charge_point_reconfigure"
