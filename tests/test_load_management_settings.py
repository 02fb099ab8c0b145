"""Load management settings: the server's options step, a charger's share settings, and onboarding.

The settings are driven through the options flows as a user would, and their
effect is read from simulated chargers that obey their charging profiles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    SOURCE_INTEGRATION_DISCOVERY,
    SOURCE_RECONFIGURE,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.csms.central import load_manager
from custom_components.csms.central.load_manager import ChargerSettings
from custom_components.csms.const import (
    CONF_CHARGE_POINT_ID,
    CONF_GRID_SENSOR,
    CONF_LOAD_MANAGEMENT,
    CONF_MAX_CURRENT,
    CONF_MEASURANDS,
    CONF_ONBOARDING,
    CONF_PHASES,
    CONF_PRIORITY,
    CONF_PUSH_CONFIGURATION,
    CONF_REMOTE_START_ID_TAG,
    CONF_SAMPLE_INTERVAL,
    CONF_SERVER_ENTRY_ID,
    CONF_SET_PASSWORD,
    CONF_SITE_CURRENT_LIMIT,
    CONF_SITE_POWER_LIMIT,
    CONF_SOLAR_ONLY,
    DOMAIN,
    ONBOARDING_ACCEPT,
)

from .conftest import add_charge_point, entry_id_of, register_id_tags, wait_for
from .test_smart_charging import charging, first_limit, held_profiles, settle

if TYPE_CHECKING:
    from simulator import SimulatedChargePoint


@pytest.fixture(autouse=True)
def prompt_load_management(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs at once and shares rise at once: tests need not wait for the debounce."""
    monkeypatch.setattr(load_manager, "DEBOUNCE_S", 0.0)
    monkeypatch.setattr(load_manager, "RAISE_HOLD_S", 0.0)


def site_input(**changes: Any) -> dict[str, Any]:
    """The load management form as submitted: the two switches, and what is filled in."""
    return {CONF_LOAD_MANAGEMENT: True, CONF_SOLAR_ONLY: False, **changes}


async def open_load_management(hass: HomeAssistant, entry: MockConfigEntry) -> ConfigFlowResult:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert "load_management" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "load_management"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "load_management"
    return result


async def save_load_management(
    hass: HomeAssistant, entry: MockConfigEntry, user_input: dict[str, Any]
) -> None:
    result = await open_load_management(hass, entry)
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    await settle(hass)


def suggested(result: ConfigFlowResult, field: str) -> Any:
    """What a form shows in a field: its suggested value, else its default."""
    schema = result["data_schema"]
    assert schema is not None
    for key in schema.schema:
        if key == field:
            if key.description and "suggested_value" in key.description:
                return key.description["suggested_value"]
            return key.default()
    raise AssertionError(field)


def charge_point_input(**changes: Any) -> dict[str, Any]:
    """A charger's settings form as submitted (numbers come as floats from the selectors)."""
    return {
        CONF_NAME: "Carport",
        CONF_PUSH_CONFIGURATION: True,
        CONF_SAMPLE_INTERVAL: 60.0,
        CONF_MEASURANDS: ["Energy.Active.Import.Register", "Current.Import"],
        CONF_REMOTE_START_ID_TAG: "HomeAssistant",
        CONF_PHASES: "3",
        CONF_MAX_CURRENT: 32.0,
        CONF_PRIORITY: 0.0,
        **changes,
    }


async def save_charge_point(hass: HomeAssistant, entry_id: str, **changes: Any) -> None:
    result = await hass.config_entries.options.async_init(entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], charge_point_input(**changes)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    await settle(hass)


# The server's load management step


@pytest.mark.parametrize(
    ("sensor", "user_input", "error"),
    [
        pytest.param(
            ("5", "kWh"),
            site_input(**{CONF_SITE_CURRENT_LIMIT: 25.0, CONF_GRID_SENSOR: "sensor.grid"}),
            "grid_sensor_unit",
            id="energy_sensor",
        ),
        pytest.param(
            ("12", "A"),
            site_input(**{CONF_SOLAR_ONLY: True, CONF_GRID_SENSOR: "sensor.grid"}),
            "grid_power_sensor_required",
            id="solar_with_a_current_sensor",
        ),
        pytest.param(
            None,
            site_input(**{CONF_SOLAR_ONLY: True}),
            "grid_power_sensor_required",
            id="solar_without_a_sensor",
        ),
        pytest.param(
            # Named, but gone from the state machine: it cannot tell the surplus either.
            None,
            site_input(**{CONF_SOLAR_ONLY: True, CONF_GRID_SENSOR: "sensor.grid"}),
            "grid_power_sensor_required",
            id="solar_with_a_missing_sensor",
        ),
        pytest.param(None, site_input(), "site_limit_required", id="enabled_without_a_limit"),
        pytest.param(
            ("1500", "W"),
            site_input(**{CONF_GRID_SENSOR: "sensor.grid"}),
            "site_limit_required",
            id="a_sensor_is_no_limit",
        ),
    ],
)
async def test_load_management_errors_and_recovery(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    sensor: tuple[str, str] | None,
    user_input: dict[str, Any],
    error: str,
) -> None:
    if sensor is not None:
        value, unit = sensor
        hass.states.async_set("sensor.grid", value, {"unit_of_measurement": unit})
    result = await open_load_management(hass, server_entry)

    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    # The form keeps what was entered.
    assert suggested(result, CONF_SOLAR_ONLY) == user_input[CONF_SOLAR_ONLY]
    assert server_entry.options == {}

    hass.states.async_set("sensor.grid_power", "-0.5", {"unit_of_measurement": "kW"})
    fixed = site_input(**{CONF_SITE_CURRENT_LIMIT: 25.0, CONF_GRID_SENSOR: "sensor.grid_power"})
    result = await hass.config_entries.options.async_configure(result["flow_id"], fixed)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert server_entry.options == fixed
    assert server_entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("unit", ["A", "W", "kW", "MW"])
async def test_grid_sensor_units_that_are_followed(
    hass: HomeAssistant, server_entry: MockConfigEntry, unit: str
) -> None:
    hass.states.async_set("sensor.grid", "1", {"unit_of_measurement": unit})
    await save_load_management(
        hass,
        server_entry,
        site_input(**{CONF_SITE_POWER_LIMIT: 11000.0, CONF_GRID_SENSOR: "sensor.grid"}),
    )
    assert server_entry.options[CONF_GRID_SENSOR] == "sensor.grid"


async def test_solar_only_needs_no_site_limit(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    hass.states.async_set("sensor.grid", "-2", {"unit_of_measurement": "kW"})
    await save_load_management(
        hass, server_entry, site_input(**{CONF_SOLAR_ONLY: True, CONF_GRID_SENSOR: "sensor.grid"})
    )
    assert server_entry.options == {
        CONF_LOAD_MANAGEMENT: True,
        CONF_SOLAR_ONLY: True,
        CONF_GRID_SENSOR: "sensor.grid",
    }


async def test_emptied_fields_are_removed(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(server_entry, options={CONF_ONBOARDING: "accept"})
    hass.states.async_set("sensor.grid", "3000", {"unit_of_measurement": "W"})
    full = site_input(
        **{
            CONF_SITE_CURRENT_LIMIT: 35.0,
            CONF_SITE_POWER_LIMIT: 22000.0,
            CONF_GRID_SENSOR: "sensor.grid",
        }
    )
    await save_load_management(hass, server_entry, full)
    assert server_entry.options == {CONF_ONBOARDING: "accept", **full}

    # The form shows what was saved.
    result = await open_load_management(hass, server_entry)
    assert suggested(result, CONF_SITE_CURRENT_LIMIT) == 35.0
    assert suggested(result, CONF_SITE_POWER_LIMIT) == 22000.0
    assert suggested(result, CONF_GRID_SENSOR) == "sensor.grid"
    assert suggested(result, CONF_LOAD_MANAGEMENT) is True

    # Emptied optional fields are left out of the input.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_LOAD_MANAGEMENT: False, CONF_SOLAR_ONLY: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The server's other settings stay.
    assert server_entry.options == {
        CONF_ONBOARDING: "accept",
        CONF_LOAD_MANAGEMENT: False,
        CONF_SOLAR_ONLY: False,
    }


async def test_settings_apply_without_a_reload(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point: SimulatedChargePoint = await connect("CP001")
    await settle(hass)
    runtime = server_entry.runtime_data
    assert not charge_point.charging_profiles.get(1)

    await save_load_management(hass, server_entry, site_input(**{CONF_SITE_CURRENT_LIMIT: 16.0}))

    assert server_entry.state is ConfigEntryState.LOADED
    assert server_entry.runtime_data is runtime
    # The charger kept its connection (it does not reconnect on its own).
    assert charge_point.connected
    assert runtime.central.charge_point("CP001").connected
    tx_default = held_profiles(charge_point, 1)["TxDefaultProfile"]
    assert first_limit(tx_default) <= 16

    # Switched off again: csms's limits are withdrawn.
    await save_load_management(
        hass, server_entry, {CONF_LOAD_MANAGEMENT: False, CONF_SOLAR_ONLY: False}
    )
    assert charge_point.connected
    assert not charge_point.charging_profiles.get(1)


# A charger's share settings


@pytest.mark.parametrize(
    ("refused", "error"),
    [
        ({CONF_NAME: " "}, "name_required"),
        ({CONF_MEASURANDS: []}, "measurands_required"),
        ({CONF_REMOTE_START_ID_TAG: "T" * 21}, "invalid_id_tag"),
    ],
)
async def test_charge_point_settings_are_stored_as_numbers(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    refused: dict[str, Any],
    error: str,
) -> None:
    await connect("CP001")
    entry_id = entry_id_of(hass, "CP001")
    result = await hass.config_entries.options.async_init(entry_id)
    assert result["type"] is FlowResultType.FORM
    # Until changed: three phases, 32 A, no priority.
    assert suggested(result, CONF_PHASES) == "3"
    assert suggested(result, CONF_MAX_CURRENT) == 32
    assert suggested(result, CONF_PRIORITY) == 0

    # A refused form keeps the share settings entered.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        charge_point_input(
            **{CONF_PHASES: "1", CONF_MAX_CURRENT: 20.0, CONF_PRIORITY: 2.0, **refused}
        ),
    )
    assert result["errors"] == {"base": error}
    assert suggested(result, CONF_PHASES) == "1"
    assert suggested(result, CONF_MAX_CURRENT) == 20
    assert suggested(result, CONF_PRIORITY) == 2

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        charge_point_input(**{CONF_PHASES: "1", CONF_MAX_CURRENT: 20.0, CONF_PRIORITY: 2.0}),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = hass.config_entries.async_get_entry(entry_id)
    assert entry is not None
    for key, value in ((CONF_PHASES, 1), (CONF_MAX_CURRENT, 20), (CONF_PRIORITY, 2)):
        assert entry.options[key] == value
        assert type(entry.options[key]) is int, key
    assert server_entry.runtime_data.charger_settings("CP001") == ChargerSettings(
        phases=1, max_current_a=20.0, priority=2
    )


async def test_priority_is_served_first(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await register_id_tags(hass, "TAG1")
    await save_load_management(hass, server_entry, site_input(**{CONF_SITE_CURRENT_LIMIT: 20.0}))
    first: SimulatedChargePoint = await connect("CP001")
    second: SimulatedChargePoint = await connect("CP002")
    await settle(hass)
    await save_charge_point(hass, entry_id_of(hass, "CP002"), **{CONF_PRIORITY: 1.0})

    # The first one started first; the second one has priority all the same.
    await charging(hass, first)
    await charging(hass, second)

    assert second.meters[1].current_a == 14
    assert first.meters[1].current_a == 6


async def test_max_current_caps_the_share(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await register_id_tags(hass, "TAG1")
    await save_load_management(hass, server_entry, site_input(**{CONF_SITE_CURRENT_LIMIT: 40.0}))
    charge_point: SimulatedChargePoint = await connect("CP001")
    await settle(hass)
    await save_charge_point(hass, entry_id_of(hass, "CP001"), **{CONF_MAX_CURRENT: 10.0})
    # Its failsafe is its maximum: one charger, room for more.
    assert first_limit(held_profiles(charge_point, 1)["TxDefaultProfile"]) == 10

    await charging(hass, charge_point)
    assert charge_point.meters[1].current_a == 10


# The grid sensor


async def test_solar_surplus_from_a_kilowatt_sensor(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await register_id_tags(hass, "TAG1")
    hass.states.async_set("sensor.grid_power", "-3", {"unit_of_measurement": "kW"})
    await save_load_management(
        hass,
        server_entry,
        site_input(**{CONF_SOLAR_ONLY: True, CONF_GRID_SENSOR: "sensor.grid_power"}),
    )
    charge_point: SimulatedChargePoint = await connect("CP001")
    await settle(hass)

    # 3 kW exported: 4.3 A on three phases, below the 6 A a car needs.
    await charging(hass, charge_point)
    await wait_for(lambda: charge_point.connectors[1].status == "SuspendedEVSE")
    assert charge_point.meters[1].current_a == 0

    # 7 kW exported: 7000 W / 690 V = 10.1 A, whole amperes down.
    hass.states.async_set("sensor.grid_power", "-7", {"unit_of_measurement": "kW"})
    await settle(hass)
    await wait_for(lambda: charge_point.connectors[1].status == "Charging")
    assert charge_point.meters[1].current_a == 10

    # The car's 6.9 kW now shows on the grid: the surplus it uses stays its own.
    await charge_point.send_meter_values(1, seconds=60)
    hass.states.async_set("sensor.grid_power", "-0.1", {"unit_of_measurement": "kW"})
    await settle(hass)
    assert charge_point.meters[1].current_a == 10


# Onboarding: an accepted charger takes part with the default settings


async def test_discovered_charger_gets_default_settings(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    discovery = {
        CONF_CHARGE_POINT_ID: "NEW1",
        CONF_SERVER_ENTRY_ID: server_entry.entry_id,
        "vendor": "Acme",
        "model": "Wallbox 11",
    }
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=discovery
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "discovery_confirm"
    assert result["description_placeholders"] == {
        "charge_point_id": "NEW1",
        "vendor": "Acme",
        "model": "Wallbox 11",
        "serial_number": "-",
    }
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["title_placeholders"] == {"name": "NEW1 — Acme Wallbox 11"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: " ", CONF_SET_PASSWORD: False}
    )
    assert result["errors"] == {CONF_NAME: "name_required"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: " Carport ", CONF_SET_PASSWORD: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Carport"
    assert result["data"] == {
        CONF_SERVER_ENTRY_ID: server_entry.entry_id,
        CONF_CHARGE_POINT_ID: "NEW1",
    }
    await hass.async_block_till_done()
    assert server_entry.runtime_data.charger_settings("NEW1") == ChargerSettings(
        phases=3, max_current_a=32.0, priority=0
    )

    # Found again: it is known already.
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=discovery
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_discovered_charger_without_details(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={CONF_CHARGE_POINT_ID: "NEW2", CONF_SERVER_ENTRY_ID: server_entry.entry_id},
    )
    assert result["type"] is FlowResultType.FORM
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["title_placeholders"] == {"name": "NEW2"}
    assert result["description_placeholders"] == {
        "charge_point_id": "NEW2",
        "vendor": "-",
        "model": "-",
        "serial_number": "-",
    }


async def test_accepted_automatically_with_default_settings(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        server_entry, options={CONF_ONBOARDING: ONBOARDING_ACCEPT}
    )
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_INTEGRATION_DISCOVERY},
        data={
            CONF_CHARGE_POINT_ID: "NEW3",
            CONF_SERVER_ENTRY_ID: server_entry.entry_id,
            "accept": True,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "NEW3"
    await hass.async_block_till_done()
    assert server_entry.runtime_data.charger_settings("NEW3") == ChargerSettings()


async def test_a_chargers_settings_are_its_options_not_a_reconfigure(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    entry = await add_charge_point(hass, server_entry, "CP009")
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "charge_point_reconfigure"

    # Its settings form works before it ever connected: the facts are unknown.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["description_placeholders"] == {
        "charge_point_id": "CP009",
        "vendor": "-",
        "model": "-",
        "serial_number": "-",
        "firmware_version": "-",
        "connectors": "-",
        "feature_profiles": "-",
    }
