"""Repair issues: a charger refusing its configuration, a wrong clock, a port taken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http import HTTPStatus
import socket
from typing import Any

from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.csms.central.commissioning import DEFAULT_MEASURANDS
from custom_components.csms.const import CONF_PUSH_CONFIGURATION, DOMAIN
from simulator import SimulatedChargePoint
from simulator.configuration import ConfigurationKey

from .conftest import add_charge_point, server_config_entry, server_url, wait_for


def issue(hass: HomeAssistant, issue_id: str) -> ir.IssueEntry | None:
    """An issue of this integration."""
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id)


async def stubborn_charger(
    hass: HomeAssistant, server: MockConfigEntry, charge_points: list[SimulatedChargePoint]
) -> tuple[MockConfigEntry, SimulatedChargePoint]:
    """A charger whose MeterValuesSampledData cannot be changed, once it was configured."""
    entry = await add_charge_point(hass, server, "CP001", title="Carport")
    charger = SimulatedChargePoint("CP001")
    factory_value = charger.configuration["MeterValuesSampledData"].value
    charger.configuration["MeterValuesSampledData"] = ConfigurationKey(factory_value, True)
    charge_points.append(charger)
    await charger.connect(server_url(server))
    # Configured: the facts (read first, then what was written) are stored.
    await wait_for(lambda: bool(entry.runtime_data.charge_point.configuration))
    await hass.async_block_till_done()
    return entry, charger


def configuration_calls(charger: SimulatedChargePoint) -> int:
    return sum(action == "ChangeConfiguration" for action, _ in charger.calls_received)


async def test_refused_configuration_is_fixed_by_not_configuring(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> None:
    entry, charger = await stubborn_charger(hass, server_entry, charge_points)

    found = issue(hass, "configuration_rejected_CP001")
    assert found is not None
    assert found.is_fixable
    assert found.severity is ir.IssueSeverity.WARNING
    assert found.translation_key == "configuration_rejected"
    assert found.translation_placeholders == {"name": "Carport", "keys": "MeterValuesSampledData"}

    # The user fixes it from the repairs dashboard.
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": found.issue_id}
    )
    assert response.status == HTTPStatus.OK
    flow: dict[str, Any] = await response.json()
    assert flow["type"] == "form"
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"] == found.translation_placeholders
    pushed = configuration_calls(charger)
    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert response.status == HTTPStatus.OK
    assert (await response.json())["type"] == "create_entry"
    await hass.async_block_till_done()

    assert entry.options[CONF_PUSH_CONFIGURATION] is False
    assert issue(hass, "configuration_rejected_CP001") is None
    # Its facts are read again, nothing is written; nor at its next boot.
    await charger.wait_for_call("GetConfiguration")
    await charger.boot()
    await charger.wait_for_call("GetConfiguration")
    await hass.async_block_till_done()
    assert configuration_calls(charger) == pushed
    assert issue(hass, "configuration_rejected_CP001") is None


async def test_configuration_accepted_later_clears_the_issue(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> None:
    _, charger = await stubborn_charger(hass, server_entry, charge_points)
    assert issue(hass, "configuration_rejected_CP001") is not None

    # A firmware update made the key writable.
    value = charger.configuration["MeterValuesSampledData"].value
    charger.configuration["MeterValuesSampledData"] = ConfigurationKey(value, False)
    await charger.boot()
    # Read, then written: the issue goes once the charger took the key.
    await wait_for(lambda: issue(hass, "configuration_rejected_CP001") is None)
    assert charger.configuration["MeterValuesSampledData"].value == ",".join(DEFAULT_MEASURANDS)


async def test_turning_configuration_off_in_the_options_clears_the_issue(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> None:
    entry, charger = await stubborn_charger(hass, server_entry, charge_points)
    assert issue(hass, "configuration_rejected_CP001") is not None

    hass.config_entries.async_update_entry(entry, options={CONF_PUSH_CONFIGURATION: False})
    await charger.wait_for_call("GetConfiguration")
    await hass.async_block_till_done()

    assert issue(hass, "configuration_rejected_CP001") is None


async def test_clock_far_off_raises_an_issue_until_the_time_is_right(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charger = await connect("CP001")
    assert issue(hass, "clock_skew_CP001") is None

    an_hour_ahead = datetime.now(UTC) + timedelta(hours=1)
    await charger.call_raw(
        "StatusNotification",
        {
            "connectorId": 1,
            "errorCode": "NoError",
            "status": "Available",
            "timestamp": an_hour_ahead.isoformat(),
        },
    )
    await hass.async_block_till_done()

    found = issue(hass, "clock_skew_CP001")
    assert found is not None
    assert not found.is_fixable
    assert found.severity is ir.IssueSeverity.WARNING
    assert found.translation_key == "clock_skew"
    assert found.translation_placeholders == {"name": "CP001", "minutes": "60"}

    # Long after the boot, a timestamp close to ours still shows the clock was set right.
    model = server_entry.runtime_data.central.charge_points["CP001"]
    model.booted_at = datetime.now(UTC) - timedelta(hours=1)
    # An old timestamp then could come from the offline queue: it proves nothing.
    await charger.call_raw(
        "StatusNotification",
        {
            "connectorId": 1,
            "errorCode": "NoError",
            "status": "Available",
            "timestamp": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        },
    )
    await hass.async_block_till_done()
    assert issue(hass, "clock_skew_CP001") is not None
    await charger.status(1, "Available")
    await hass.async_block_till_done()

    assert issue(hass, "clock_skew_CP001") is None


async def test_disabled_charger_leaves_no_issues_behind(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> None:
    entry, charger = await stubborn_charger(hass, server_entry, charge_points)
    an_hour_ahead = datetime.now(UTC) + timedelta(hours=1)
    await charger.call_raw(
        "StatusNotification",
        {
            "connectorId": 0,
            "errorCode": "NoError",
            "status": "Available",
            "timestamp": an_hour_ahead.isoformat(),
        },
    )
    await hass.async_block_till_done()
    assert issue(hass, "clock_skew_CP001") is not None
    assert issue(hass, "configuration_rejected_CP001") is not None

    await hass.config_entries.async_set_disabled_by(entry.entry_id, ConfigEntryDisabler.USER)
    await hass.async_block_till_done()

    assert issue(hass, "clock_skew_CP001") is None
    assert issue(hass, "configuration_rejected_CP001") is None


async def test_port_taken_raises_an_issue_until_the_server_listens(hass: HomeAssistant) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        entry = server_config_entry(port=port)
        entry.add_to_hass(hass)
        assert not await hass.config_entries.async_setup(entry.entry_id)
        assert entry.state is ConfigEntryState.SETUP_RETRY

        found = issue(hass, f"port_unavailable_{entry.entry_id}")
        assert found is not None
        assert not found.is_fixable
        assert found.severity is ir.IssueSeverity.ERROR
        assert found.translation_key == "port_unavailable"
        placeholders = found.translation_placeholders or {}
        assert placeholders["host"] == "127.0.0.1"
        assert placeholders["port"] == str(port)
        assert placeholders["error"]

    # The port is free now; Home Assistant retries on its own.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=10))
    await hass.async_block_till_done()
    await wait_for(lambda: entry.state is ConfigEntryState.LOADED)

    assert issue(hass, f"port_unavailable_{entry.entry_id}") is None
    assert entry.runtime_data.server.port == port
    await hass.config_entries.async_unload(entry.entry_id)
