"""Logbook entries of a real session: recorded, read back and described by the logbook."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    RecorderInstanceContextManager,
    WebSocketGenerator,
)

from custom_components.csms.const import CONF_LOAD_MANAGEMENT, CONF_SITE_CURRENT_LIMIT, DOMAIN
from simulator import SimulatedChargePoint

from .conftest import add_charge_point, register_id_tags, server_config_entry, server_url

ID_TAG = "Alice"


async def _setup_logbook(hass: HomeAssistant) -> bool:
    """Set up the real logbook without the web frontend it depends on.

    The frontend needs the 110 MB home-assistant-frontend package, which only
    the development setup installs; the logbook's websocket API does not use it.
    """
    hass.config.components.add("frontend")
    return await async_setup_component(hass, "logbook", {})


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """Prepare the recorder's database before Home Assistant starts (as the logbook needs)."""


async def logbook_entries(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, **query: Any
) -> list[str]:
    """The csms entries of the logbook, as "name message"."""
    await async_wait_recording_done(hass)
    client = await hass_ws_client()
    await client.send_json_auto_id(
        {
            "type": "logbook/get_events",
            "start_time": (dt_util.utcnow() - timedelta(hours=1)).isoformat(),
            **query,
        }
    )
    response = await client.receive_json()
    assert response["success"], response
    return [
        f"{entry['name']} {entry['message']}"
        for entry in response["result"]
        if entry.get("domain") == DOMAIN
    ]


async def test_session_in_the_logbook(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> None:
    assert await _setup_logbook(hass)
    await register_id_tags(hass, ID_TAG)
    entry = await add_charge_point(hass, server_entry, "CP001", title="Carport")
    charger = SimulatedChargePoint("CP001")
    charge_points.append(charger)
    await charger.connect(server_url(server_entry))
    # The user named the device; that name is used.
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, "CP001"), entry.entry_id)
    assert device is not None
    dr.async_get(hass).async_update_device(device.id, name_by_user="Carport 1")

    await charger.plug_in(1)
    await charger.authorize(ID_TAG)
    await charger.start_transaction(1, ID_TAG)
    await charger.send_meter_values(1, seconds=3600, power_w=12300)
    await charger.stop_transaction(1, reason="EVDisconnected", id_tag=ID_TAG)
    await charger.status(1, "Faulted", error_code="GroundFailure")
    await charger.status(0, "Faulted", error_code="OtherError", info="Relay stuck")
    await hass.async_block_till_done()

    entries = await logbook_entries(hass, hass_ws_client, device_ids=[device.id])

    assert entries == [
        "Carport 1 booted (Accepted)",
        "Carport 1 read tag Alice",
        "Carport 1 started charging (tag Alice)",
        "Carport 1 stopped charging: 12.3 kWh (EVDisconnected)",
        "Carport 1 reported error GroundFailure",
        "Carport 1 reported error OtherError: Relay stuck",
    ]


async def test_connector_devices_are_named_with_their_charger(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> None:
    assert await _setup_logbook(hass)
    await add_charge_point(hass, server_entry, "CP002", title="Garage")
    charger = SimulatedChargePoint("CP002", connectors=2)
    charge_points.append(charger)
    await charger.connect(server_url(server_entry))
    await charger.plug_in(2)
    await charger.start_transaction(2, ID_TAG)
    await charger.stop_transaction(2, reason="Local")
    await hass.async_block_till_done()

    entries = await logbook_entries(hass, hass_ws_client)

    assert entries == [
        "Garage booted (Accepted)",
        # The card was not authorized before: StartTransaction is its swipe.
        "Garage Connector 2 read tag Alice (Invalid)",
        "Garage Connector 2 started charging (tag Alice)",
        "Garage Connector 2 stopped charging: 0.0 kWh (Local)",
    ]


async def test_charger_without_a_device_is_named_by_its_id(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> None:
    assert await _setup_logbook(hass)
    entry = await add_charge_point(hass, server_entry, "CP003")
    charger = SimulatedChargePoint("CP003")
    charge_points.append(charger)
    await charger.connect(server_url(server_entry))
    await charger.authorize(ID_TAG)
    await hass.async_block_till_done()
    # The charger was removed since; its events stay in the logbook.
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    entries = await logbook_entries(hass, hass_ws_client)

    assert entries == ["CP003 booted (Accepted)", "CP003 read tag Alice (Invalid)"]


async def test_load_management_decisions_in_the_logbook(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    charge_points: list[SimulatedChargePoint],
) -> None:
    assert await _setup_logbook(hass)
    server = server_config_entry(options={CONF_LOAD_MANAGEMENT: True, CONF_SITE_CURRENT_LIMIT: 10})
    server.add_to_hass(hass)
    assert await hass.config_entries.async_setup(server.entry_id)
    await register_id_tags(hass, ID_TAG)
    await add_charge_point(hass, server, "CP001", title="Carport")
    first, second = SimulatedChargePoint("CP001"), SimulatedChargePoint("CP002")
    await add_charge_point(hass, server, "CP002", title="Garage")
    for charger in (first, second):
        charge_points.append(charger)
        await charger.connect(server_url(server))
        await hass.async_block_till_done(wait_background_tasks=True)
    await server.runtime_data.load_manager.async_run()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    for charger in (first, second):
        await charger.plug_in(1)
        await charger.start_transaction(1, ID_TAG)
    await hass.async_block_till_done(wait_background_tasks=True)
    await server.runtime_data.load_manager.async_run()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=122))
    await hass.async_block_till_done()

    site = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, server.entry_id), server.entry_id
    )
    assert site is not None
    entries = await logbook_entries(hass, hass_ws_client, device_ids=[site.id])

    # Two sessions do not fit at 6 A each under 10 A: one waits.
    assert entries[0] == "OCPP server on port 0 shares 0 A among 0 session(s) (headroom 10 A)"
    assert entries[-1] == (
        "OCPP server on port 0 shares 10 A among 2 session(s) (headroom 10 A), 1 paused"
    )
