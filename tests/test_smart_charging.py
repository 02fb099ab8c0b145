"""Charging limits and site load management, with simulated chargers that obey their profiles.

The simulator applies the composite schedule of the profiles it accepted to
its simulated current, so what a test reads from its meters is what a real
car would draw.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from datetime import timedelta
import re
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.csms.central import load_manager
from custom_components.csms.central.charging_limits import managed_profile_id
from custom_components.csms.const import (
    CONF_GRID_SENSOR,
    CONF_LOAD_MANAGEMENT,
    CONF_SITE_CURRENT_LIMIT,
    DOMAIN,
)
from simulator.configuration import ConfigurationKey

from .conftest import entry_id_of, register_id_tags, server_url, wait_for
from .test_energy import restart_integration

if TYPE_CHECKING:
    from simulator import SimulatedChargePoint


@pytest.fixture(autouse=True)
def prompt_load_management(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs at once and shares rise at once: tests need not wait for the debounce."""
    monkeypatch.setattr(load_manager, "DEBOUNCE_S", 0.0)
    monkeypatch.setattr(load_manager, "RAISE_HOLD_S", 0.0)


def entity_id(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


def snake_case(value: Any) -> Any:
    """An OCPP-J payload with the keys the ocpp package uses."""
    if isinstance(value, dict):
        return {
            re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower(): snake_case(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [snake_case(item) for item in value]
    return value


def profile_calls(charge_point: SimulatedChargePoint) -> list[dict[str, Any]]:
    """The SetChargingProfile requests a charger received."""
    return [
        snake_case(payload)
        for action, payload in charge_point.calls_received
        if action == "SetChargingProfile"
    ]


def held_profiles(
    charge_point: SimulatedChargePoint, connector_id: int
) -> dict[str, dict[str, Any]]:
    """The profiles the simulator holds on a connector, by purpose."""
    return {
        profile["charging_profile_purpose"]: profile
        for profile in charge_point.charging_profiles.get(connector_id, [])
    }


def first_limit(profile: dict[str, Any]) -> float:
    return float(profile["charging_schedule"]["charging_schedule_period"][0]["limit"])


def number_value(hass: HomeAssistant, unique_id: str) -> float:
    state = hass.states.get(entity_id(hass, "number", unique_id))
    assert state is not None
    return float(state.state)


async def set_limit(hass: HomeAssistant, unique_id: str, value: float) -> None:
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": entity_id(hass, "number", unique_id), "value": value},
        blocking=True,
    )


async def charging(
    hass: HomeAssistant, charge_point: SimulatedChargePoint, connector_id: int = 1
) -> None:
    """Plug in and start a transaction, letting load management make room first."""
    await charge_point.plug_in(connector_id)
    await settle(hass)
    await charge_point.start_transaction(connector_id, "TAG1")
    await settle(hass)


async def settle(hass: HomeAssistant) -> None:
    """Let every run of load management (and what it sends) finish.

    Also the configuration after a boot: it tells which limits a charger takes.
    """
    for _ in range(3):
        await hass.async_block_till_done(wait_background_tasks=True)
        for entry in hass.config_entries.async_entries(DOMAIN):
            if entry.state.recoverable and hasattr(entry.runtime_data, "load_manager"):
                await entry.runtime_data.load_manager.async_run()
        await asyncio.sleep(0)


# Limits of one charger


async def test_connector_limit_stays_on_its_connector(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await register_id_tags(hass, "TAG1")
    charge_point = await connect("CP001", connectors=2)
    await settle(hass)
    await charging(hass, charge_point, 1)
    await charging(hass, charge_point, 2)
    assert charge_point.meters[1].current_a == charge_point.meters[2].current_a == 16

    await set_limit(hass, "CP001_1_current_limit", 10)

    assert charge_point.meters[1].current_a == 10
    # The other connector keeps charging at full current.
    assert charge_point.meters[2].current_a == 16
    calls = profile_calls(charge_point)
    assert {call["connector_id"] for call in calls} == {1}
    purposes = {call["cs_charging_profiles"]["charging_profile_purpose"] for call in calls}
    assert purposes == {"TxProfile", "TxDefaultProfile"}
    # The stack level is the highest the charger allows: above leftovers of others.
    assert {call["cs_charging_profiles"]["stack_level"] for call in calls} == {8}
    held = held_profiles(charge_point, 1)
    assert first_limit(held["TxProfile"]) == first_limit(held["TxDefaultProfile"]) == 10
    assert held["TxProfile"]["transaction_id"] == charge_point.transactions[1]
    assert not charge_point.charging_profiles.get(0)
    assert number_value(hass, "CP001_1_current_limit") == 10
    assert number_value(hass, "CP001_2_current_limit") == 32

    # The same limit again sends nothing.
    await set_limit(hass, "CP001_1_current_limit", 10)
    assert len(profile_calls(charge_point)) == len(calls)


async def test_zero_pauses_and_a_limit_resumes(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await register_id_tags(hass, "TAG1")
    charge_point = await connect("CP001")
    await settle(hass)
    await charging(hass, charge_point)

    await set_limit(hass, "CP001_1_current_limit", 0)
    await wait_for(lambda: charge_point.connectors[1].status == "SuspendedEVSE")
    await hass.async_block_till_done()
    assert charge_point.meters[1].current_a == 0
    assert hass.states.get(entity_id(hass, "sensor", "CP001_1_status")).state == "suspended_evse"

    await set_limit(hass, "CP001_1_current_limit", 13)
    await wait_for(lambda: charge_point.connectors[1].status == "Charging")
    assert charge_point.meters[1].current_a == 13


async def test_limit_below_the_minimum_is_refused(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point = await connect("CP001")
    await settle(hass)
    with pytest.raises(ServiceValidationError) as raised:
        await set_limit(hass, "CP001_1_current_limit", 3)
    assert raised.value.translation_key == "limit_below_minimum"
    assert not profile_calls(charge_point)


async def test_refused_limit_keeps_what_the_charger_holds(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point = await connect("CP001")
    await settle(hass)
    await set_limit(hass, "CP001_1_current_limit", 20)
    # A charger that no longer takes amperes (its configuration changed behind our back).
    charge_point.configuration["ChargingScheduleAllowedChargingRateUnit"] = ConfigurationKey(
        "Power", True
    )
    with pytest.raises(HomeAssistantError) as raised:
        await set_limit(hass, "CP001_1_current_limit", 12)
    assert raised.value.translation_key == "request_rejected"
    assert number_value(hass, "CP001_1_current_limit") == 20


async def test_watt_only_charger_gets_watts(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await register_id_tags(hass, "TAG1")
    charge_point = await connect(
        "CP001", configuration={"ChargingScheduleAllowedChargingRateUnit": "Power"}
    )
    await wait_for(
        lambda: (
            er.async_get(hass).async_get_entity_id("number", DOMAIN, "CP001_1_power_limit")
            is not None
        )
    )
    await charging(hass, charge_point)

    await set_limit(hass, "CP001_1_current_limit", 10)
    (call,) = profile_calls(charge_point)[-2:-1] or profile_calls(charge_point)[-1:]
    schedule = call["cs_charging_profiles"]["charging_schedule"]
    assert schedule["charging_rate_unit"] == "W"
    assert first_limit(call["cs_charging_profiles"]) == 3 * 230 * 10
    assert charge_point.meters[1].current_a == pytest.approx(10)

    await set_limit(hass, "CP001_1_power_limit", 4600)
    assert charge_point.meters[1].current_a == pytest.approx(4600 / 690, abs=0.01)
    assert number_value(hass, "CP001_1_power_limit") == 4600
    current = float(hass.states.get(entity_id(hass, "number", "CP001_1_current_limit")).state)
    assert current == pytest.approx(4600 / 690)


async def test_charge_point_limit_is_its_maximum_profile(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point = await connect("CP001", connectors=2)
    await settle(hass)
    unique_id = "CP001_charge_point_current_limit"
    registry = er.async_get(hass)
    registry.async_update_entity(entity_id(hass, "number", unique_id), disabled_by=None)
    await hass.config_entries.async_reload(
        hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "CP001").entry_id
    )
    await hass.async_block_till_done()

    await set_limit(hass, unique_id, 20)
    (call,) = profile_calls(charge_point)
    assert call["connector_id"] == 0
    assert call["cs_charging_profiles"]["charging_profile_purpose"] == "ChargePointMaxProfile"
    assert call["cs_charging_profiles"]["charging_profile_id"] == managed_profile_id(
        "ChargePointMaxProfile", 0
    )
    assert number_value(hass, unique_id) == 20


# Site load management


def site_current(charge_points: list[SimulatedChargePoint]) -> float:
    """What the simulated cars draw in total, per phase (all are three-phase)."""
    return sum(
        meter.current_a for charge_point in charge_points for meter in charge_point.meters.values()
    )


@pytest.fixture
async def sampled_site(
    charge_points: list[SimulatedChargePoint],
) -> AsyncGenerator[Callable[[], float]]:
    """Samples the site's current every few milliseconds; gives the highest seen."""
    highest = 0.0

    async def sample() -> None:
        nonlocal highest
        while True:
            highest = max(highest, site_current(charge_points))
            await asyncio.sleep(0.002)

    task = asyncio.create_task(sample())
    yield lambda: highest
    task.cancel()


async def enable_load_management(
    hass: HomeAssistant, entry: MockConfigEntry, **options: Any
) -> None:
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_LOAD_MANAGEMENT: True, **options}
    )
    await settle(hass)


def tx_default_limits(charge_points: list[SimulatedChargePoint]) -> list[float]:
    return [
        first_limit(held_profiles(charge_point, 1)["TxDefaultProfile"])
        for charge_point in charge_points
    ]


def without_timestamps(call: dict[str, Any]) -> dict[str, Any]:
    profile = {**call["cs_charging_profiles"]}
    profile.pop("valid_to", None)
    profile["charging_schedule"] = {**profile["charging_schedule"], "start_schedule": None}
    return {**call, "cs_charging_profiles": profile}


def assert_no_repeated_profiles(charge_point: SimulatedChargePoint) -> None:
    """No profile was sent twice in a row to the same connector for the same purpose."""
    last: dict[tuple[int, str], dict[str, Any]] = {}
    for call in map(without_timestamps, profile_calls(charge_point)):
        key = (call["connector_id"], call["cs_charging_profiles"]["charging_profile_purpose"])
        assert last.get(key) != call, (charge_point.id, call)
        last[key] = call


async def test_ten_chargers_share_63_a_fairly(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    charge_points: list[SimulatedChargePoint],
    sampled_site: Callable[[], float],
) -> None:
    await register_id_tags(hass, "TAG1")
    await enable_load_management(hass, server_entry, **{CONF_SITE_CURRENT_LIMIT: 63})
    chargers = [await connect(f"CP{number:03}") for number in range(1, 11)]
    await settle(hass)

    # Failsafe: what they fall back to without Home Assistant stays within the fuse.
    assert tx_default_limits(chargers) == [6.0] * 10

    for count, charger in enumerate(chargers, start=1):
        await charging(hass, charger)
        drawn = [charge_point.meters[1].current_a for charge_point in chargers[:count]]
        assert sum(drawn) <= 63
        # Everyone charges: ten times the minimum fits.
        assert min(drawn) >= 6, drawn
    assert sorted(charger.meters[1].current_a for charger in chargers) == [6] * 7 + [7] * 3
    headroom = hass.states.get(entity_id(hass, "sensor", f"{server_entry.entry_id}_site_headroom"))
    assert float(headroom.state) == 63
    assert headroom.attributes["sessions"] == 10
    assert headroom.attributes["allocated_current"] == 63
    registry = er.async_get(hass)
    allocated_sensor = entity_id(hass, "sensor", "CP001_1_allocated_current")
    registry.async_update_entity(allocated_sensor, disabled_by=None)
    await hass.config_entries.async_reload(entry_id_of(hass, "CP001"))
    await settle(hass)
    assert float(hass.states.get(allocated_sensor).state) == chargers[0].meters[1].current_a
    # The running sessions' shares are leased: without renewal they fall back to the failsafe.
    tx_profile = held_profiles(chargers[0], 1)["TxProfile"]
    assert tx_profile["valid_to"] is not None

    # A session ends: the others get more.
    await chargers[0].stop_transaction(1, reason="EVDisconnected", id_tag="TAG1")
    await settle(hass)
    assert [charger.meters[1].current_a for charger in chargers[1:]] == [7] * 9
    assert sampled_site() <= 63
    for charger in chargers:
        assert_no_repeated_profiles(charger)


async def test_grid_sensor_leaves_the_chargers_what_other_loads_do_not_use(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    charge_points: list[SimulatedChargePoint],
) -> None:
    await register_id_tags(hass, "TAG1")
    hass.states.async_set("sensor.grid_current", "0", {"unit_of_measurement": "A"})
    await enable_load_management(
        hass, server_entry, **{CONF_SITE_CURRENT_LIMIT: 40, CONF_GRID_SENSOR: "sensor.grid_current"}
    )
    first, second = [await connect(f"CP{number:03}") for number in (1, 2)]
    for charger in (first, second):
        await charging(hass, charger)
        await charger.send_meter_values(1, seconds=60)
    await settle(hass)
    assert site_current(charge_points) == 32  # both cars at their 16 A

    # An oven and a heat pump: 30 A more on the grid.
    hass.states.async_set("sensor.grid_current", str(32 + 30), {"unit_of_measurement": "A"})
    await settle(hass)
    await wait_for(lambda: second.connectors[1].status == "SuspendedEVSE")
    # 10 A left: one car at 10 A; two at 6 A would not fit.
    assert first.meters[1].current_a == 10
    assert second.meters[1].current_a == 0
    headroom = hass.states.get(entity_id(hass, "sensor", f"{server_entry.entry_id}_site_headroom"))
    assert float(headroom.state) == 10
    assert headroom.attributes["paused_sessions"] == 1

    # They are off again: the grid shows only the charging car.
    hass.states.async_set("sensor.grid_current", "10", {"unit_of_measurement": "A"})
    await settle(hass)
    await wait_for(lambda: second.connectors[1].status == "Charging")
    assert site_current(charge_points) == 32

    # A sensor that wobbles without changing the shares sends nothing.
    sent = len(profile_calls(first)) + len(profile_calls(second))
    for value in ("32.4", "31.8", "32.1"):
        hass.states.async_set("sensor.grid_current", value, {"unit_of_measurement": "A"})
        await settle(hass)
    assert len(profile_calls(first)) + len(profile_calls(second)) == sent
    assert_no_repeated_profiles(first)
    assert_no_repeated_profiles(second)


async def test_switching_load_management_off_gives_chargers_their_own_limits(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    charge_points: list[SimulatedChargePoint],
) -> None:
    await register_id_tags(hass, "TAG1")
    decisions: list[dict[str, Any]] = []
    hass.bus.async_listen(f"{DOMAIN}_load_management", lambda event: decisions.append(event.data))
    await enable_load_management(hass, server_entry, **{CONF_SITE_CURRENT_LIMIT: 20})
    first, second = [await connect(f"CP{number:03}") for number in (1, 2)]
    for charger in (first, second):
        await charging(hass, charger)
    assert site_current(charge_points) == 20
    # The logbook hears of the first decision at once, of later ones once a minute.
    assert [decision["sessions"] for decision in decisions] == [0]
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    await hass.async_block_till_done()
    assert decisions[-1]["sessions"] == 2
    assert decisions[-1]["allocated_a"] == 20
    assert decisions[-1]["budget_a"] == 20
    switch = entity_id(hass, "switch", f"{server_entry.entry_id}_load_management")
    assert hass.states.get(switch).state == "on"

    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    await settle(hass)
    assert hass.states.get(switch).state == "off"
    assert server_entry.options[CONF_LOAD_MANAGEMENT] is False
    # Without a limit of their own, their profiles are gone and the cars draw their 16 A.
    assert site_current(charge_points) == 32
    for charger in (first, second):
        assert not charger.charging_profiles.get(1)
    cleared = [
        payload for action, payload in first.calls_received if action == "ClearChargingProfile"
    ]
    assert {payload["id"] for payload in cleared} == {
        managed_profile_id("TxProfile", 1),
        managed_profile_id("TxDefaultProfile", 1),
    }
    headroom = hass.states.get(entity_id(hass, "sensor", f"{server_entry.entry_id}_site_headroom"))
    assert headroom.state == "unknown"

    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    await settle(hass)
    assert site_current(charge_points) == 20


async def test_failsafe_profiles_are_sent_again_after_a_boot(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await enable_load_management(hass, server_entry, **{CONF_SITE_CURRENT_LIMIT: 16})
    first, second = [await connect(f"CP{number:03}") for number in (1, 2)]
    await settle(hass)
    # 8 A each: the sum of what they do on their own stays within 16 A.
    assert tx_default_limits([first, second]) == [8.0, 8.0]

    first.charging_profiles.clear()  # a charger that forgets its profiles when it restarts
    await first.boot()
    await settle(hass)
    assert tx_default_limits([first]) == [8.0]


async def test_limits_survive_a_restart_without_being_sent_again(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    charge_points: list[SimulatedChargePoint],
) -> None:
    await register_id_tags(hass, "TAG1")
    await enable_load_management(hass, server_entry, **{CONF_SITE_CURRENT_LIMIT: 20})
    charger = await connect("CP001")
    await settle(hass)
    await charging(hass, charger)
    await set_limit(hass, "CP001_1_current_limit", 12)
    sent = len(profile_calls(charger))

    await restart_integration(hass, server_entry)
    await charger.wait_closed()
    # Back without a reboot, as a charger is after the central system restarted.
    await charger.connect(server_url(server_entry), boot=False)
    await settle(hass)

    assert number_value(hass, "CP001_1_current_limit") == 12
    assert charger.meters[1].current_a == 12
    # The charger holds them still: nothing is sent again.
    assert len(profile_calls(charger)) == sent
