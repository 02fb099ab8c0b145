"""Every entity of a charge point entry, driven by simulated chargers over real websockets."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.components.button.const import DATA_COMPONENT as BUTTONS
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, EntityCategory
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.csms.central import server
from custom_components.csms.const import CONF_REMOTE_START_ID_TAG, DOMAIN
from custom_components.csms.sensor import highest_current, phase_value

from .conftest import entry_id_of, wait_for

if TYPE_CHECKING:
    from simulator import SimulatedChargePoint


def entity_id(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """The entity id behind a unique id."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


def get(hass: HomeAssistant, platform: str, unique_id: str) -> State:
    """The state object of the entity behind a unique id."""
    current = hass.states.get(entity_id(hass, platform, unique_id))
    assert current is not None, unique_id
    return current


def state(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """The state of the entity behind a unique id."""
    return get(hass, platform, unique_id).state


def registry_entry(hass: HomeAssistant, platform: str, unique_id: str) -> er.RegistryEntry:
    """The entity registry entry behind a unique id."""
    found = er.async_get(hass).async_get(entity_id(hass, platform, unique_id))
    assert found is not None
    return found


def ocpp_time(moment: datetime) -> str:
    """An OCPP timestamp."""
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


async def settle(hass: HomeAssistant, charge_point: SimulatedChargePoint) -> None:
    """Let what a call set in motion at the charger reach Home Assistant."""
    await charge_point.wait_background()
    await hass.async_block_till_done()


async def call_service(hass: HomeAssistant, domain: str, service: str, target: str) -> None:
    """Call an entity service and wait for the charger's answer."""
    await hass.services.async_call(domain, service, {"entity_id": target}, blocking=True)


def sampled(measurand: str, value: float, unit: str, **extra: str) -> dict[str, Any]:
    """One sampledValue (camelCase, as a charger sends it)."""
    return {"value": str(value), "measurand": measurand, "unit": unit, **extra}


async def send_meter_values(
    charge_point: SimulatedChargePoint,
    connector_id: int,
    values: list[dict[str, Any]],
    transaction_id: int | None = None,
) -> None:
    """Send MeterValues with exactly these sampled values."""
    payload: dict[str, Any] = {
        "connectorId": connector_id,
        "meterValue": [{"timestamp": ocpp_time(dt_util.utcnow()), "sampledValue": values}],
    }
    if transaction_id is not None:
        payload["transactionId"] = transaction_id
    assert await charge_point.call_raw("MeterValues", payload) == {}


# Power, current and voltage per phase, state of charge and temperature.
EVERY_MEASUREMENT = [
    sampled("Power.Active.Import", 7400, "W"),
    sampled("Current.Import", 10.5, "A", phase="L1"),
    sampled("Current.Import", 10.6, "A", phase="L2"),
    sampled("Current.Import", 10.7, "A", phase="L3"),
    sampled("Voltage", 229.5, "V", phase="L1-N"),
    sampled("Voltage", 230.5, "V", phase="L2-N"),
    sampled("Voltage", 231.5, "V", phase="L3-N"),
    sampled("SoC", 57, "Percent", location="EV"),
    sampled("Temperature", 31.5, "Celsius", location="Body"),
]


def test_phase_names_from_ocpp() -> None:
    readings = {"L1-N": 230.0, "L2": 231.0, "L3-L1": 400.0, "total": 1.0}
    assert phase_value(readings, "L1") == 230.0
    assert phase_value(readings, "L2") == 231.0
    # A line-to-line voltage is no phase's own.
    assert phase_value(readings, "L3") is None
    assert phase_value(readings, None) == 1.0


def test_the_current_is_the_total_or_the_highest_phase() -> None:
    assert highest_current({"L1": 10.0, "L2-N": 12.5, "L3": 11.0}) == 12.5
    assert highest_current({"total": 16.0, "L1": 10.0}) == 16.0
    # Line-to-line readings are no phase's own.
    assert highest_current({"L1-L2": 400.0}) is None
    assert highest_current({}) is None


async def test_a_reading_writes_only_the_states_it_changes(
    hass: HomeAssistant, connect: Any
) -> None:
    charge_point = await connect("CP001")
    transaction_id = await charge_point.start_transaction(1, "TAG1")
    await send_meter_values(charge_point, 1, [sampled("Power.Active.Import", 7000, "W")])
    await hass.async_block_till_done()
    # The state machine updates a state's last_reported in place.
    status_reported = get(hass, "sensor", "CP001_1_status").last_reported
    energy_reported = get(hass, "sensor", "CP001_1_energy").last_reported
    power_reported = get(hass, "sensor", "CP001_1_power").last_reported

    await send_meter_values(
        charge_point, 1, [sampled("Power.Active.Import", 7200, "W")], transaction_id
    )
    await hass.async_block_till_done()

    assert float(state(hass, "sensor", "CP001_1_power")) == 7200
    assert get(hass, "sensor", "CP001_1_power").last_reported > power_reported
    # Not even reported again: an unchanged state is not worked out at all.
    assert get(hass, "sensor", "CP001_1_status").last_reported == status_reported
    assert get(hass, "sensor", "CP001_1_energy").last_reported == energy_reported

    # A lost connection still reaches every entity.
    await charge_point.disconnect()
    await wait_for(lambda: state(hass, "sensor", "CP001_1_status") == STATE_UNAVAILABLE)
    assert state(hass, "sensor", "CP001_1_energy") == STATE_UNAVAILABLE
    assert state(hass, "binary_sensor", "CP001_1_charging") == STATE_UNAVAILABLE
    assert state(hass, "button", "CP001_soft_reset") == STATE_UNAVAILABLE


async def test_charge_point_entities(hass: HomeAssistant, connect: Any, enable_all: None) -> None:
    charge_point = await connect("CP001")

    assert state(hass, "binary_sensor", "CP001_connected") == "on"
    assert state(hass, "sensor", "CP001_charge_point_status") == "available"
    assert state(hass, "sensor", "CP001_charge_point_error_code") == "no_error"
    assert state(hass, "sensor", "CP001_firmware_version") == charge_point.firmware_version
    assert state(hass, "sensor", "CP001_last_heartbeat") == STATE_UNKNOWN
    assert state(hass, "switch", "CP001_charge_point_available") == "on"
    booted = get(hass, "event", "CP001_charge_point_event")
    assert booted.attributes["event_type"] == "booted"
    assert booted.attributes["registration_status"] == "Accepted"
    assert booted.attributes["connector_id"] == 0

    # Timestamps are shown to the second.
    before = dt_util.utcnow().replace(microsecond=0)
    await charge_point.heartbeat()
    await hass.async_block_till_done()
    heartbeat = datetime.fromisoformat(state(hass, "sensor", "CP001_last_heartbeat"))
    assert before <= heartbeat <= dt_util.utcnow()

    await charge_point.authorize("TAG7")
    await hass.async_block_till_done()
    presented = get(hass, "event", "CP001_charge_point_event")
    assert presented.attributes["event_type"] == "id_tag_presented"
    assert presented.attributes["id_tag"] == "TAG7"

    await charge_point.status(0, "Faulted", error_code="HighTemperature", info="too hot")
    await hass.async_block_till_done()
    assert state(hass, "sensor", "CP001_charge_point_status") == "faulted"
    assert state(hass, "sensor", "CP001_charge_point_error_code") == "high_temperature"
    error = get(hass, "event", "CP001_charge_point_event")
    assert error.attributes["event_type"] == "error_reported"
    assert error.attributes["error_code"] == "HighTemperature"
    assert error.attributes["info"] == "too hot"
    assert error.attributes["connector_id"] == 0

    # A connector's error is news of the charge point as well as of the connector.
    await charge_point.status(1, "Faulted", error_code="GroundFailure")
    await hass.async_block_till_done()
    assert state(hass, "sensor", "CP001_1_error_code") == "ground_failure"
    assert get(hass, "event", "CP001_charge_point_event").attributes["connector_id"] == 1


async def test_a_session_moves_the_connector_entities(
    hass: HomeAssistant, connect: Any, enable_all: None
) -> None:
    charge_point = await connect("CP001", connectors=2)
    for unique_id in ("CP001_1_plugged_in", "CP001_1_charging"):
        assert state(hass, "binary_sensor", unique_id) == "off"
    assert state(hass, "switch", "CP001_1_charging") == "off"
    for unique_id in (
        "CP001_1_session_energy",
        "CP001_1_session_duration",
        "CP001_1_session_start",
        "CP001_1_session_id_tag",
        "CP001_1_stop_reason",
    ):
        assert state(hass, "sensor", unique_id) == STATE_UNKNOWN, unique_id
    # Measurements the charger has not reported have no entity yet.
    registry = er.async_get(hass)
    for key in ("current", "current_l1", "voltage_l1", "soc", "temperature"):
        assert registry.async_get_entity_id("sensor", DOMAIN, f"CP001_1_{key}") is None

    await charge_point.plug_in(1)
    await hass.async_block_till_done()
    assert state(hass, "binary_sensor", "CP001_1_plugged_in") == "on"
    assert state(hass, "binary_sensor", "CP001_1_charging") == "off"

    started = dt_util.utcnow().replace(microsecond=0) - timedelta(minutes=10)
    meter_start = charge_point.meters[1].register_wh
    transaction_id = await charge_point.start_transaction(1, "TAG1", timestamp=ocpp_time(started))
    await hass.async_block_till_done()
    assert state(hass, "binary_sensor", "CP001_1_charging") == "on"
    assert state(hass, "switch", "CP001_1_charging") == "on"
    assert datetime.fromisoformat(state(hass, "sensor", "CP001_1_session_start")) == started
    assert state(hass, "sensor", "CP001_1_session_id_tag") == "TAG1"
    assert float(state(hass, "sensor", "CP001_1_session_energy")) == 0
    assert 9.9 < float(state(hass, "sensor", "CP001_1_session_duration")) < 10.5
    session = get(hass, "event", "CP001_1_session")
    assert session.attributes["event_type"] == "started"
    assert session.attributes["transaction_id"] == transaction_id
    assert session.attributes["id_tag"] == "TAG1"
    # Events of connector 1 are not connector 2's.
    assert state(hass, "event", "CP001_2_session") == STATE_UNKNOWN

    register = meter_start + 4321
    await send_meter_values(
        charge_point,
        1,
        [sampled("Energy.Active.Import.Register", register, "Wh"), *EVERY_MEASUREMENT],
        transaction_id,
    )
    await hass.async_block_till_done()
    assert float(state(hass, "sensor", "CP001_1_power")) == 7400
    assert float(state(hass, "sensor", "CP001_1_energy")) == register / 1000
    assert float(state(hass, "sensor", "CP001_1_session_energy")) == 4.321
    for phase, current in (("l1", 10.5), ("l2", 10.6), ("l3", 10.7)):
        reading = get(hass, "sensor", f"CP001_1_current_{phase}")
        assert float(reading.state) == current
        assert reading.attributes["unit_of_measurement"] == "A"
        assert reading.attributes["friendly_name"] == f"Connector 1 Current {phase.upper()}"
    for phase, voltage in (("l1", 229.5), ("l2", 230.5), ("l3", 231.5)):
        assert float(state(hass, "sensor", f"CP001_1_voltage_{phase}")) == voltage
    soc = get(hass, "sensor", "CP001_1_soc")
    assert float(soc.state) == 57
    assert soc.attributes["unit_of_measurement"] == "%"
    assert soc.attributes["device_class"] == "battery"
    temperature = get(hass, "sensor", "CP001_1_temperature")
    assert float(temperature.state) == 31.5
    assert temperature.attributes["unit_of_measurement"] == "°C"
    # Reported with phases only: the current is the highest phase's.
    assert float(state(hass, "sensor", "CP001_1_current")) == 10.7

    await charge_point.status(1, "SuspendedEV")
    await hass.async_block_till_done()
    assert state(hass, "binary_sensor", "CP001_1_plugged_in") == "on"
    assert state(hass, "binary_sensor", "CP001_1_charging") == "off"
    assert state(hass, "switch", "CP001_1_charging") == "on"

    meter_stop = charge_point.meters[1].register_wh
    await charge_point.stop_transaction(1, reason="EVDisconnected", id_tag="TAG1")
    await hass.async_block_till_done()
    assert state(hass, "switch", "CP001_1_charging") == "off"
    reason = get(hass, "sensor", "CP001_1_stop_reason")
    assert reason.state == "ev_disconnected"
    assert "local" in reason.attributes["options"]
    assert float(state(hass, "sensor", "CP001_1_session_energy")) == (
        (meter_stop - meter_start) / 1000
    )
    # The finished session stays on show until the next one.
    assert state(hass, "sensor", "CP001_1_session_id_tag") == "TAG1"
    assert 9.9 < float(state(hass, "sensor", "CP001_1_session_duration")) < 10.5
    for phase in ("l1", "l2", "l3"):
        assert float(state(hass, "sensor", f"CP001_1_current_{phase}")) == 0
    assert float(state(hass, "sensor", "CP001_1_current")) == 0
    stopped = get(hass, "event", "CP001_1_session")
    assert stopped.attributes["event_type"] == "stopped"
    assert stopped.attributes["transaction_id"] == transaction_id
    assert stopped.attributes["reason"] == "EVDisconnected"
    assert stopped.attributes["energy_kwh"] == round((meter_stop - meter_start) / 1000, 3)
    assert state(hass, "binary_sensor", "CP001_1_plugged_in") == "on"  # Finishing

    await charge_point.unplug(1)
    await hass.async_block_till_done()
    assert state(hass, "binary_sensor", "CP001_1_plugged_in") == "off"
    assert state(hass, "event", "CP001_2_session") == STATE_UNKNOWN


async def test_current_and_voltage_without_phase(
    hass: HomeAssistant, connect: Any, enable_all: None
) -> None:
    charge_point = await connect("CP001")
    await send_meter_values(
        charge_point,
        1,
        [sampled("Current.Import", 15.5, "A"), sampled("Voltage", 231, "V")],
    )
    await hass.async_block_till_done()

    assert float(state(hass, "sensor", "CP001_1_current")) == 15.5
    assert float(state(hass, "sensor", "CP001_1_voltage")) == 231
    registry = er.async_get(hass)
    for key in ("current_l1", "voltage_l1", "soc", "temperature"):
        assert registry.async_get_entity_id("sensor", DOMAIN, f"CP001_1_{key}") is None


async def test_categories_classes_and_defaults(hass: HomeAssistant, connect: Any) -> None:
    charge_point = await connect("CP001", connectors=2)
    transaction_id = await charge_point.start_transaction(1, "TAG1")
    await send_meter_values(charge_point, 1, EVERY_MEASUREMENT, transaction_id)
    await charge_point.stop_transaction(1)
    # Also the configuration read after the boot: the limits depend on it.
    await hass.async_block_till_done(wait_background_tasks=True)

    entries = er.async_entries_for_config_entry(er.async_get(hass), entry_id_of(hass, "CP001"))
    disabled = {entry.unique_id for entry in entries if entry.disabled_by is not None}
    assert disabled == {
        "CP001_firmware_version",
        "CP001_hard_reset",
        "CP001_charge_point_current_limit",
        "CP001_charge_point_error_code",
        "CP001_last_heartbeat",
        "CP001_local_list_version",
        *(
            f"CP001_{c}_{key}"
            for c in (1, 2)
            for key in (
                "session_duration",
                "available",
                "power_limit",
                "allocated_current",
                "error_code",
                "last_quarter_hour_energy",
                "session_id_tag",
                "stop_reason",
                "reservation",
                "unlock",
            )
        ),
        *(
            f"CP001_1_{kind}_{phase}"
            for kind in ("current", "voltage")
            for phase in ("l1", "l2", "l3")
        ),
    }
    # A site has hundreds of chargers, each entity costs memory and each
    # state change a row in the recorder: what is enabled by default is what
    # dashboards and automations use.
    assert len(entries) - len(disabled) <= 32

    expectations = {
        ("binary_sensor", "CP001_connected"): (EntityCategory.DIAGNOSTIC, "connectivity"),
        ("binary_sensor", "CP001_1_plugged_in"): (None, "plug"),
        ("binary_sensor", "CP001_1_charging"): (None, "battery_charging"),
        ("sensor", "CP001_charge_point_error_code"): (EntityCategory.DIAGNOSTIC, "enum"),
        ("sensor", "CP001_last_heartbeat"): (EntityCategory.DIAGNOSTIC, "timestamp"),
        ("sensor", "CP001_firmware_version"): (EntityCategory.DIAGNOSTIC, None),
        ("sensor", "CP001_1_error_code"): (EntityCategory.DIAGNOSTIC, "enum"),
        ("sensor", "CP001_1_current_l1"): (None, "current"),
        ("sensor", "CP001_1_voltage_l1"): (None, "voltage"),
        ("sensor", "CP001_1_soc"): (None, "battery"),
        ("sensor", "CP001_1_temperature"): (EntityCategory.DIAGNOSTIC, "temperature"),
        ("sensor", "CP001_1_session_energy"): (None, "energy"),
        ("sensor", "CP001_1_session_duration"): (None, "duration"),
        ("sensor", "CP001_1_session_start"): (None, "timestamp"),
        ("sensor", "CP001_1_session_id_tag"): (None, None),
        ("sensor", "CP001_1_stop_reason"): (None, "enum"),
        ("switch", "CP001_charge_point_available"): (EntityCategory.CONFIG, None),
        ("switch", "CP001_1_available"): (EntityCategory.CONFIG, None),
        ("switch", "CP001_1_charging"): (None, None),
        ("button", "CP001_soft_reset"): (EntityCategory.CONFIG, "restart"),
        ("button", "CP001_hard_reset"): (EntityCategory.CONFIG, "restart"),
        ("button", "CP001_1_unlock"): (None, None),
        ("event", "CP001_charge_point_event"): (None, None),
        ("event", "CP001_1_session"): (None, None),
    }
    for (platform, unique_id), (category, device_class) in expectations.items():
        entry = registry_entry(hass, platform, unique_id)
        assert entry.entity_category == category, unique_id
        assert entry.original_device_class == device_class, unique_id
        assert entry.translation_key is not None, unique_id

    session_energy = get(hass, "sensor", "CP001_1_session_energy")
    # Each session starts again from 0: a total with its start as last reset.
    assert session_energy.attributes["state_class"] == "total"
    assert session_energy.attributes["unit_of_measurement"] == "kWh"
    events = get(hass, "event", "CP001_1_session")
    assert events.attributes["event_types"] == ["started", "stopped"]
    assert get(hass, "event", "CP001_charge_point_event").attributes["event_types"] == [
        "booted",
        "id_tag_presented",
        "error_reported",
        "security_event",
    ]


async def test_disconnect_makes_all_but_the_connection_unavailable(
    hass: HomeAssistant, connect: Any, enable_all: None
) -> None:
    charge_point = await connect("CP001", connectors=2)
    await charge_point.send_meter_values(1, seconds=60)
    await hass.async_block_till_done()
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry_id_of(hass, "CP001"))
    assert len(entries) > 40
    assert not any(hass.states.is_state(e.entity_id, STATE_UNAVAILABLE) for e in entries)

    await charge_point.disconnect()
    await hass.async_block_till_done()

    connection = entity_id(hass, "binary_sensor", "CP001_connected")
    assert hass.states.is_state(connection, "off")
    for entry in entries:
        if entry.entity_id != connection:
            assert hass.states.is_state(entry.entity_id, STATE_UNAVAILABLE), entry.entity_id


async def test_charging_switch_starts_and_stops_a_transaction(
    hass: HomeAssistant, connect: Any, enable_all: None
) -> None:
    charge_point = await connect("CP001")
    switch = entity_id(hass, "switch", "CP001_1_charging")

    await call_service(hass, "switch", "turn_on", switch)
    assert await charge_point.wait_for_call("RemoteStartTransaction") == {
        "connectorId": 1,
        "idTag": "HomeAssistant",
    }
    await settle(hass, charge_point)
    assert hass.states.is_state(switch, "on")
    transaction_id = charge_point.transactions[1]
    assert state(hass, "sensor", "CP001_1_session_id_tag") == "HomeAssistant"

    # Already charging: nothing to ask.
    await call_service(hass, "switch", "turn_on", switch)

    await call_service(hass, "switch", "turn_off", switch)
    assert await charge_point.wait_for_call("RemoteStopTransaction") == {
        "transactionId": transaction_id
    }
    await settle(hass, charge_point)
    assert hass.states.is_state(switch, "off")
    assert state(hass, "sensor", "CP001_1_stop_reason") == "remote"

    # Not charging: nothing to ask.
    await call_service(hass, "switch", "turn_off", switch)
    await settle(hass, charge_point)
    actions = [action for action, _ in charge_point.calls_received]
    assert actions.count("RemoteStartTransaction") == 1
    assert actions.count("RemoteStopTransaction") == 1

    # The id tag comes from the entry's options, as they are now.
    await charge_point.unplug(1)
    entry = hass.config_entries.async_get_entry(entry_id_of(hass, "CP001"))
    assert entry is not None
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_REMOTE_START_ID_TAG: "GARAGE"}
    )
    await hass.async_block_till_done()
    await call_service(hass, "switch", "turn_on", switch)
    assert (await charge_point.wait_for_call("RemoteStartTransaction"))["idTag"] == "GARAGE"
    await settle(hass, charge_point)


async def test_availability_switches(hass: HomeAssistant, connect: Any, enable_all: None) -> None:
    charge_point = await connect("CP001")
    whole = entity_id(hass, "switch", "CP001_charge_point_available")
    outlet = entity_id(hass, "switch", "CP001_1_available")
    charging = entity_id(hass, "switch", "CP001_1_charging")
    assert hass.states.is_state(outlet, "on")

    await call_service(hass, "switch", "turn_off", outlet)
    assert await charge_point.wait_for_call("ChangeAvailability") == {
        "connectorId": 1,
        "type": "Inoperative",
    }
    await settle(hass, charge_point)
    assert hass.states.is_state(outlet, "off")
    assert state(hass, "sensor", "CP001_1_status") == "out_of_service"

    # An inoperative connector refuses to start.
    with pytest.raises(HomeAssistantError) as refused:
        await call_service(hass, "switch", "turn_on", charging)
    assert refused.value.translation_domain == DOMAIN
    assert refused.value.translation_key == "request_rejected"
    assert refused.value.translation_placeholders == {
        "charge_point_id": "CP001",
        "action": "RemoteStartTransaction",
        "status": "Rejected",
    }

    await call_service(hass, "switch", "turn_on", outlet)
    assert (await charge_point.wait_for_call("ChangeAvailability"))["type"] == "Operative"
    await settle(hass, charge_point)
    assert hass.states.is_state(outlet, "on")

    # While charging, the charger takes the change for when the session ends.
    await charge_point.start_transaction(1, "TAG1")
    await call_service(hass, "switch", "turn_off", whole)
    assert await charge_point.wait_for_call("ChangeAvailability") == {
        "connectorId": 0,
        "type": "Inoperative",
    }
    await settle(hass, charge_point)
    assert hass.states.is_state(whole, "on")
    await charge_point.stop_transaction(1)
    await hass.async_block_till_done()
    assert hass.states.is_state(whole, "off")
    assert state(hass, "sensor", "CP001_charge_point_status") == "out_of_service"

    await call_service(hass, "switch", "turn_on", whole)
    assert await charge_point.wait_for_call("ChangeAvailability") == {
        "connectorId": 0,
        "type": "Operative",
    }
    await settle(hass, charge_point)
    assert hass.states.is_state(whole, "on")
    assert state(hass, "sensor", "CP001_charge_point_status") == "available"


async def test_buttons_reach_the_charger(
    hass: HomeAssistant, connect: Any, enable_all: None
) -> None:
    charge_point = await connect("CP001")

    await charge_point.start_transaction(1, "TAG1")
    await call_service(hass, "button", "press", entity_id(hass, "button", "CP001_1_unlock"))
    assert await charge_point.wait_for_call("UnlockConnector") == {"connectorId": 1}
    await settle(hass, charge_point)
    assert state(hass, "sensor", "CP001_1_stop_reason") == "unlock_command"

    for unique_id, kind in (("CP001_soft_reset", "Soft"), ("CP001_hard_reset", "Hard")):
        await call_service(hass, "button", "press", entity_id(hass, "button", unique_id))
        assert await charge_point.wait_for_call("Reset") == {"type": kind}
        # The charger reboots: it reconnects and boots again.
        await settle(hass, charge_point)
        await wait_for(lambda: charge_point.online)
        await hass.async_block_till_done()
        assert state(hass, "binary_sensor", "CP001_connected") == "on"
        assert state(hass, "event", "CP001_charge_point_event") != STATE_UNKNOWN


async def test_request_failures_are_explained(
    hass: HomeAssistant,
    connect: Any,
    server_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    enable_all: None,
) -> None:
    monkeypatch.setattr(server, "RESPONSE_TIMEOUT", 0.2)
    charge_point = await connect("CP001")
    await charge_point.wait_for_call("GetConfiguration")
    await hass.async_block_till_done()
    unlock = entity_id(hass, "button", "CP001_1_unlock")

    # A charger without the feature answers with a CALLERROR.
    del charge_point.route_map["UnlockConnector"]
    with pytest.raises(HomeAssistantError) as call_error:
        await call_service(hass, "button", "press", unlock)
    assert call_error.value.translation_key == "charge_point_call_error"
    placeholders = call_error.value.translation_placeholders
    assert placeholders is not None
    assert placeholders["charge_point_id"] == "CP001"
    assert placeholders["action"] == "UnlockConnector"
    assert placeholders["code"] == "NotImplemented"

    # A charger that stops answering.
    async def ignore(raw: str) -> None:
        """Drop every frame."""

    charge_point.route_message = ignore  # type: ignore[method-assign]
    with pytest.raises(HomeAssistantError) as timeout:
        await call_service(hass, "button", "press", entity_id(hass, "button", "CP001_soft_reset"))
    assert timeout.value.translation_key == "charge_point_timeout"
    assert timeout.value.translation_placeholders == {
        "charge_point_id": "CP001",
        "action": "Reset",
        "timeout": "0.2",
    }

    # Gone: the entity is unavailable, and a direct press says why.
    await charge_point.disconnect()
    await hass.async_block_till_done()
    assert hass.states.is_state(unlock, STATE_UNAVAILABLE)
    button = hass.data[BUTTONS].get_entity(unlock)
    assert button is not None
    with pytest.raises(HomeAssistantError) as gone:
        await button.async_press()
    assert gone.value.translation_key == "charge_point_not_connected"
    assert gone.value.translation_placeholders == {"charge_point_id": "CP001"}
