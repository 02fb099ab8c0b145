"""Smart charging services: set_charging_profile, clear_charging_profile, get_composite_schedule.

End to end with simulated chargers that obey the profiles they accept, so a
test reads the effect of a profile from the simulated car's current.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import Context, HomeAssistant, ServiceResponse
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.csms.central.charging_limits import managed_profile_id
from custom_components.csms.const import DOMAIN

from .conftest import entry_id_of, register_id_tags, wait_for
from .test_smart_charging import (
    charging,
    entity_id,
    first_limit,
    held_profiles,
    set_limit,
    settle,
)

if TYPE_CHECKING:
    from simulator import SimulatedChargePoint


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], context: Context | None = None
) -> ServiceResponse:
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"charge_point_id": "CP001", **data},
        blocking=True,
        return_response=True,
        context=context,
    )


def profile(**changes: Any) -> dict[str, Any]:
    """A valid TxDefaultProfile of 10 A, with ``changes`` on top (schedule keys included)."""
    schedule = {
        "charging_rate_unit": "A",
        "charging_schedule_period": [{"start_period": 0, "limit": 10}],
        **changes.pop("charging_schedule", {}),
    }
    return {
        "charging_profile_id": 1,
        "stack_level": 1,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": schedule,
        **changes,
    }


def received(charge_point: SimulatedChargePoint, action: str) -> list[dict[str, Any]]:
    """The (camelCase) payloads of one action the charger received."""
    return [payload for name, payload in charge_point.calls_received if name == action]


def held_ids(charge_point: SimulatedChargePoint) -> dict[int, set[int]]:
    """The ids of the profiles the simulator holds, by connector."""
    return {
        connector_id: {profile["charging_profile_id"] for profile in profiles}
        for connector_id, profiles in charge_point.charging_profiles.items()
        if profiles
    }


@pytest.fixture
async def ready(hass: HomeAssistant, connect: Any) -> Callable[..., Any]:
    """Connect CP001 and wait until csms has read its configuration."""

    async def _ready(**kwargs: Any) -> SimulatedChargePoint:
        charge_point: SimulatedChargePoint = await connect("CP001", **kwargs)
        entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "CP001")
        assert entry is not None
        # The configuration is replaced as a whole once it has been read.
        await wait_for(
            lambda: "SupportedFeatureProfiles" in entry.runtime_data.charge_point.configuration
        )
        await settle(hass)
        return charge_point

    return _ready


# set_charging_profile


async def test_recurring_default_profile_limits_the_running_session(
    hass: HomeAssistant, ready: Callable[..., Any]
) -> None:
    await register_id_tags(hass, "TAG1")
    charge_point = await ready()
    await charging(hass, charge_point)
    assert charge_point.meters[1].current_a == 16

    # Started a minute ago: the first period (10 A for twelve hours) applies now.
    start = dt_util.utcnow() - timedelta(minutes=1)
    daily = profile(
        charging_profile_id=7,
        charging_profile_kind="Recurring",
        recurrency_kind="Daily",
        charging_schedule={
            "start_schedule": start.isoformat(),
            "charging_schedule_period": [
                {"start_period": 0, "limit": 10},
                {"start_period": 12 * 3600, "limit": 13},
            ],
        },
    )
    response = await call(
        hass, "set_charging_profile", {"connector_id": 1, "cs_charging_profiles": daily}
    )

    assert response == {"status": "Accepted"}
    held = held_profiles(charge_point, 1)["TxDefaultProfile"]
    assert held["charging_profile_id"] == 7
    assert held["recurrency_kind"] == "Daily"
    periods = held["charging_schedule"]["charging_schedule_period"]
    assert [(period["start_period"], period["limit"]) for period in periods] == [
        (0, 10),
        (12 * 3600, 13),
    ]
    assert charge_point.meters[1].current_a == 10
    await settle(hass)
    # No limit of csms's own was in the way: nothing else was sent.
    assert len(received(charge_point, "SetChargingProfile")) == 1


async def test_tx_profile_gets_the_running_transaction(
    hass: HomeAssistant, ready: Callable[..., Any]
) -> None:
    await register_id_tags(hass, "TAG1")
    charge_point = await ready()
    await charging(hass, charge_point)
    tx_profile = profile(charging_profile_purpose="TxProfile", stack_level=2)
    tx_profile["charging_schedule"]["charging_schedule_period"] = [{"start_period": 0, "limit": 8}]

    response = await call(
        hass, "set_charging_profile", {"connector_id": 1, "cs_charging_profiles": tx_profile}
    )

    assert response == {"status": "Accepted"}
    (payload,) = received(charge_point, "SetChargingProfile")
    assert payload["connectorId"] == 1
    assert payload["csChargingProfiles"]["transactionId"] == charge_point.transactions[1]
    assert charge_point.meters[1].current_a == 8


async def test_charge_point_max_profile_goes_to_connector_0(
    hass: HomeAssistant, ready: Callable[..., Any]
) -> None:
    await register_id_tags(hass, "TAG1")
    charge_point = await ready(connectors=2)
    await charging(hass, charge_point, 1)
    await charging(hass, charge_point, 2)
    maximum = profile(charging_profile_id=3, charging_profile_purpose="ChargePointMaxProfile")
    maximum["charging_schedule"]["charging_schedule_period"] = [{"start_period": 0, "limit": 20}]

    response = await call(hass, "set_charging_profile", {"cs_charging_profiles": maximum})

    assert response == {"status": "Accepted"}
    (payload,) = received(charge_point, "SetChargingProfile")
    assert payload["connectorId"] == 0
    assert held_ids(charge_point) == {0: {3}}
    # Both sessions share the charge point's 20 A.
    assert charge_point.meters[1].current_a + charge_point.meters[2].current_a == 20


# Each case: the charger's configuration, whether a session runs on connector 1,
# the call's fields, the translation key and the placeholders (given the running
# transaction's id, if any).
VALIDATION_CASES = [
    pytest.param(
        {},
        False,
        {
            "connector_id": 1,
            "cs_charging_profiles": profile(charging_profile_purpose="ChargePointMaxProfile"),
        },
        "profile_charge_point_max_connector",
        lambda running: {"charge_point_id": "CP001"},
        id="charge_point_max_on_a_connector",
    ),
    pytest.param(
        {},
        False,
        {"connector_id": 1, "cs_charging_profiles": profile(charging_profile_purpose="TxProfile")},
        "profile_tx_profile_no_transaction",
        lambda running: {"charge_point_id": "CP001"},
        id="tx_profile_without_a_transaction",
    ),
    pytest.param(
        {},
        True,
        {
            "connector_id": 1,
            "cs_charging_profiles": profile(
                charging_profile_purpose="TxProfile", transaction_id=999_999
            ),
        },
        "profile_tx_profile_wrong_transaction",
        lambda running: {
            "charge_point_id": "CP001",
            "transaction_id": "999999",
            "running_transaction_id": str(running),
        },
        id="tx_profile_of_another_transaction",
    ),
    pytest.param(
        {},
        True,
        {"connector_id": 1, "cs_charging_profiles": profile(transaction_id=1)},
        "profile_transaction_id_not_allowed",
        lambda running: {"charge_point_id": "CP001"},
        id="transaction_id_on_a_default_profile",
    ),
    pytest.param(
        {"ChargeProfileMaxStackLevel": "3"},
        False,
        {"connector_id": 1, "cs_charging_profiles": profile(stack_level=4)},
        "profile_stack_level_too_high",
        lambda running: {"charge_point_id": "CP001", "stack_level": "4", "max_stack_level": "3"},
        id="stack_level_above_the_maximum",
    ),
    pytest.param(
        {"ChargingScheduleAllowedChargingRateUnit": "Current"},
        False,
        {
            "connector_id": 1,
            "cs_charging_profiles": profile(charging_schedule={"charging_rate_unit": "W"}),
        },
        "profile_unit_not_supported",
        lambda running: {"charge_point_id": "CP001", "unit": "W", "units": "A"},
        id="watts_on_an_ampere_charger",
    ),
    pytest.param(
        {"ChargingScheduleAllowedChargingRateUnit": "Power"},
        False,
        {"connector_id": 1, "cs_charging_profiles": profile()},
        "profile_unit_not_supported",
        lambda running: {"charge_point_id": "CP001", "unit": "A", "units": "W"},
        id="amperes_on_a_watt_charger",
    ),
    pytest.param(
        {},
        False,
        {
            "connector_id": 1,
            "cs_charging_profiles": profile(
                charging_schedule={
                    "charging_schedule_period": [
                        {"start_period": 0, "limit": 10},
                        {"start_period": 600, "limit": 12},
                        {"start_period": 300, "limit": 8},
                    ]
                }
            ),
        },
        "profile_periods_not_ascending",
        lambda running: {"charge_point_id": "CP001"},
        id="periods_not_ascending",
    ),
    pytest.param(
        {},
        False,
        {
            "connector_id": 1,
            "cs_charging_profiles": profile(
                charging_profile_kind="Recurring",
                charging_schedule={"start_schedule": "2030-01-01T06:00:00Z"},
            ),
        },
        "profile_recurrency_kind_required",
        lambda running: {"charge_point_id": "CP001"},
        id="recurring_without_recurrency_kind",
    ),
    pytest.param(
        {},
        False,
        {
            "connector_id": 1,
            "cs_charging_profiles": profile(
                charging_profile_kind="Relative",
                charging_schedule={"start_schedule": "2030-01-01T06:00:00Z"},
            ),
        },
        "profile_start_schedule_not_allowed",
        lambda running: {"charge_point_id": "CP001"},
        id="relative_with_a_start",
    ),
    pytest.param(
        {},
        False,
        {
            "connector_id": 1,
            "cs_charging_profiles": profile(
                valid_from="2030-01-02T00:00:00Z", valid_to="2030-01-01T00:00:00Z"
            ),
        },
        "profile_validity_reversed",
        lambda running: {
            "charge_point_id": "CP001",
            "valid_from": "2030-01-02T00:00:00.000Z",
            "valid_to": "2030-01-01T00:00:00.000Z",
        },
        id="valid_from_after_valid_to",
    ),
    pytest.param(
        {},
        False,
        {
            "connector_id": 0,
            "cs_charging_profiles": profile(
                charging_profile_purpose="ChargePointMaxProfile", charging_profile_kind="Relative"
            ),
        },
        "profile_charge_point_max_relative",
        lambda running: {"charge_point_id": "CP001"},
        id="relative_charge_point_max",
    ),
    pytest.param(
        {},
        True,
        {"connector_id": 0, "cs_charging_profiles": profile(charging_profile_purpose="TxProfile")},
        "profile_tx_profile_connector",
        lambda running: {"charge_point_id": "CP001"},
        id="tx_profile_on_connector_0",
    ),
    pytest.param(
        {},
        False,
        {"connector_id": 1, "cs_charging_profiles": profile(recurrency_kind="Daily")},
        "profile_recurrency_kind_not_allowed",
        lambda running: {"charge_point_id": "CP001"},
        id="recurrency_kind_on_an_absolute_profile",
    ),
    pytest.param(
        {},
        False,
        {
            "connector_id": 1,
            "cs_charging_profiles": profile(
                charging_profile_kind="Recurring", recurrency_kind="Weekly"
            ),
        },
        "profile_start_schedule_required",
        lambda running: {"charge_point_id": "CP001"},
        id="recurring_without_a_start",
    ),
    pytest.param(
        {"ChargingScheduleMaxPeriods": "2"},
        False,
        {
            "connector_id": 1,
            "cs_charging_profiles": profile(
                charging_schedule={
                    "charging_schedule_period": [
                        {"start_period": 0, "limit": 10},
                        {"start_period": 600, "limit": 12},
                        {"start_period": 1200, "limit": 8},
                    ]
                }
            ),
        },
        "profile_too_many_periods",
        lambda running: {"charge_point_id": "CP001", "periods": "3", "max_periods": "2"},
        id="more_periods_than_the_charger_takes",
    ),
    pytest.param(
        {},
        False,
        {"connector_id": 2, "cs_charging_profiles": profile()},
        "unknown_connector",
        lambda running: {"charge_point_id": "CP001", "connector_id": "2"},
        id="unknown_connector",
    ),
    pytest.param(
        {"SupportedFeatureProfiles": "Core,RemoteTrigger"},
        False,
        {"connector_id": 1, "cs_charging_profiles": profile()},
        "smart_charging_not_supported",
        lambda running: {"charge_point_id": "CP001"},
        id="charger_without_smart_charging",
    ),
]


@pytest.mark.parametrize(
    ("configuration", "session", "data", "translation_key", "placeholders"), VALIDATION_CASES
)
async def test_profile_rules(
    hass: HomeAssistant,
    ready: Callable[..., Any],
    *,
    configuration: dict[str, str],
    session: bool,
    data: dict[str, Any],
    translation_key: str,
    placeholders: Callable[[int | None], dict[str, str]],
) -> None:
    await register_id_tags(hass, "TAG1")
    charge_point = await ready(configuration=configuration)
    if session:
        await charging(hass, charge_point)
    sent = len(received(charge_point, "SetChargingProfile"))

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "set_charging_profile", data)

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == translation_key
    assert err.value.translation_placeholders == placeholders(charge_point.transactions.get(1))
    await settle(hass)
    assert len(received(charge_point, "SetChargingProfile")) == sent


@pytest.mark.parametrize(
    "cs_charging_profiles",
    [
        pytest.param(
            profile(charging_profile_id=managed_profile_id("TxDefaultProfile", 1)),
            id="managed_profile_id",
        ),
        pytest.param(profile(charging_schedule={"charging_rate_unit": "kW"}), id="unknown_unit"),
        pytest.param(profile(priority=1), id="unknown_key"),
    ],
)
async def test_profile_schema_faults(
    hass: HomeAssistant, ready: Callable[..., Any], cs_charging_profiles: dict[str, Any]
) -> None:
    charge_point = await ready()
    sent = len(received(charge_point, "SetChargingProfile"))

    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "set_charging_profile",
            {"connector_id": 1, "cs_charging_profiles": cs_charging_profiles},
        )

    assert err.value.translation_key == "invalid_service_data"
    assert len(received(charge_point, "SetChargingProfile")) == sent


async def test_managed_profile_ids_are_explained(
    hass: HomeAssistant, ready: Callable[..., Any]
) -> None:
    await ready()
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "set_charging_profile",
            {"connector_id": 1, "cs_charging_profiles": profile(charging_profile_id=9201)},
        )
    assert "reserved for csms's own limits" in (err.value.translation_placeholders or {})["error"]


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        # Summer time in Zurich is UTC+2, winter time UTC+1.
        ("2030-07-01T08:00:00", "2030-07-01T06:00:00.000Z"),
        ("2030-01-15T08:00:00", "2030-01-15T07:00:00.000Z"),
        # An explicit offset is kept as it is.
        ("2030-01-15T08:00:00+00:00", "2030-01-15T08:00:00.000Z"),
    ],
)
async def test_times_without_offset_are_local(
    hass: HomeAssistant, ready: Callable[..., Any], local: str, utc: str
) -> None:
    await hass.config.async_set_time_zone("Europe/Zurich")
    charge_point = await ready()
    timed = profile(valid_from=local, charging_schedule={"start_schedule": local})

    response = await call(
        hass, "set_charging_profile", {"connector_id": 1, "cs_charging_profiles": timed}
    )

    assert response == {"status": "Accepted"}
    (payload,) = received(charge_point, "SetChargingProfile")
    assert payload["csChargingProfiles"]["validFrom"] == utc
    assert payload["csChargingProfiles"]["chargingSchedule"]["startSchedule"] == utc


# clear_charging_profile


async def test_clear_by_id_and_by_purpose(hass: HomeAssistant, ready: Callable[..., Any]) -> None:
    charge_point = await ready()
    maximum = profile(charging_profile_id=2, charging_profile_purpose="ChargePointMaxProfile")
    await call(hass, "set_charging_profile", {"connector_id": 1, "cs_charging_profiles": profile()})
    await call(hass, "set_charging_profile", {"connector_id": 0, "cs_charging_profiles": maximum})
    assert held_ids(charge_point) == {0: {2}, 1: {1}}

    assert await call(hass, "clear_charging_profile", {"id": 1}) == {"status": "Accepted"}
    assert held_ids(charge_point) == {0: {2}}
    assert received(charge_point, "ClearChargingProfile")[-1] == {"id": 1}

    assert await call(
        hass, "clear_charging_profile", {"charging_profile_purpose": "ChargePointMaxProfile"}
    ) == {"status": "Accepted"}
    assert held_ids(charge_point) == {}
    assert received(charge_point, "ClearChargingProfile")[-1] == {
        "chargingProfilePurpose": "ChargePointMaxProfile"
    }

    # Nothing left to match.
    assert await call(hass, "clear_charging_profile", {"id": 1}) == {"status": "Unknown"}
    assert await call(
        hass,
        "clear_charging_profile",
        {"connector_id": 1, "charging_profile_purpose": "TxDefaultProfile", "stack_level": 1},
    ) == {"status": "Unknown"}
    assert received(charge_point, "ClearChargingProfile")[-1] == {
        "connectorId": 1,
        "chargingProfilePurpose": "TxDefaultProfile",
        "stackLevel": 1,
    }


async def test_clearing_csms_limit_sends_it_again(
    hass: HomeAssistant, ready: Callable[..., Any]
) -> None:
    charge_point = await ready()
    await set_limit(hass, "CP001_1_current_limit", 10)
    managed = managed_profile_id("TxDefaultProfile", 1)
    assert held_ids(charge_point) == {1: {managed}}

    response = await call(
        hass,
        "clear_charging_profile",
        {"connector_id": 1, "charging_profile_purpose": "TxDefaultProfile"},
    )
    assert response == {"status": "Accepted"}
    assert held_ids(charge_point) == {}

    await settle(hass)
    assert held_ids(charge_point) == {1: {managed}}
    assert first_limit(held_profiles(charge_point, 1)["TxDefaultProfile"]) == 10


async def test_clearing_csms_charge_point_limit_sends_it_again(
    hass: HomeAssistant, ready: Callable[..., Any]
) -> None:
    charge_point = await ready()
    unique_id = "CP001_charge_point_current_limit"
    # Disabled by default: most need only the connectors' limits.
    er.async_get(hass).async_update_entity(entity_id(hass, "number", unique_id), disabled_by=None)
    await hass.config_entries.async_reload(entry_id_of(hass, "CP001"))
    await settle(hass)
    await set_limit(hass, unique_id, 20)
    managed = managed_profile_id("ChargePointMaxProfile", 0)
    assert held_ids(charge_point) == {0: {managed}}

    response = await call(
        hass, "clear_charging_profile", {"charging_profile_purpose": "ChargePointMaxProfile"}
    )
    assert response == {"status": "Accepted"}
    assert held_ids(charge_point) == {}

    await settle(hass)
    assert held_ids(charge_point) == {0: {managed}}
    assert first_limit(held_profiles(charge_point, 0)["ChargePointMaxProfile"]) == 20


async def test_a_profile_that_replaces_csms_limit_is_followed_by_it(
    hass: HomeAssistant, ready: Callable[..., Any]
) -> None:
    charge_point = await ready()
    await set_limit(hass, "CP001_1_current_limit", 10)
    managed = managed_profile_id("TxDefaultProfile", 1)
    # The same purpose and stack level as csms's own limit: the charger replaces it.
    replacing = profile(charging_profile_id=5, stack_level=8)

    response = await call(
        hass, "set_charging_profile", {"connector_id": 1, "cs_charging_profiles": replacing}
    )
    assert response == {"status": "Accepted"}
    assert held_ids(charge_point) == {1: {5}}

    await settle(hass)
    assert managed in held_ids(charge_point)[1]
    assert first_limit(held_profiles(charge_point, 1)["TxDefaultProfile"]) == 10


# get_composite_schedule


async def test_composite_schedule_shows_the_profile(
    hass: HomeAssistant, ready: Callable[..., Any]
) -> None:
    charge_point = await ready()
    await call(hass, "set_charging_profile", {"connector_id": 1, "cs_charging_profiles": profile()})

    response = await call(hass, "get_composite_schedule", {"connector_id": 1, "duration": 3600})

    assert response is not None
    assert response["status"] == "Accepted"
    assert response["connector_id"] == 1
    schedule: dict[str, Any] = response["charging_schedule"]  # type: ignore[assignment]
    assert schedule["charging_rate_unit"] == "A"
    assert schedule["charging_schedule_period"][0]["limit"] == 10
    assert received(charge_point, "GetCompositeSchedule")[-1] == {
        "connectorId": 1,
        "duration": 3600,
    }

    in_watts = await call(
        hass,
        "get_composite_schedule",
        {"connector_id": 1, "duration": 3600, "charging_rate_unit": "W"},
    )
    assert in_watts is not None
    schedule = in_watts["charging_schedule"]  # type: ignore[assignment]
    assert schedule["charging_rate_unit"] == "W"
    assert schedule["charging_schedule_period"][0]["limit"] == 10 * 3 * 230


async def test_composite_schedule_in_a_unit_the_charger_does_not_take(
    hass: HomeAssistant, ready: Callable[..., Any]
) -> None:
    charge_point = await ready(configuration={"ChargingScheduleAllowedChargingRateUnit": "Current"})

    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "get_composite_schedule",
            {"connector_id": 1, "duration": 600, "charging_rate_unit": "W"},
        )

    assert err.value.translation_key == "profile_unit_not_supported"
    assert err.value.translation_placeholders == {
        "charge_point_id": "CP001",
        "unit": "W",
        "units": "A",
    }
    assert not received(charge_point, "GetCompositeSchedule")


# Who may call them


async def test_only_admins_change_profiles(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    ready: Callable[..., Any],
    hass_read_only_user: MockUser,
) -> None:
    charge_point = await ready()
    context = Context(user_id=hass_read_only_user.id)

    with pytest.raises(Unauthorized):
        await call(
            hass,
            "set_charging_profile",
            {"connector_id": 1, "cs_charging_profiles": profile()},
            context,
        )
    with pytest.raises(Unauthorized):
        await call(hass, "clear_charging_profile", {"id": 1}, context)
    assert not received(charge_point, "SetChargingProfile")
    assert not received(charge_point, "ClearChargingProfile")

    # Reading the schedule is for every user.
    response = await call(
        hass, "get_composite_schedule", {"connector_id": 1, "duration": 60}, context
    )
    assert response is not None
    assert response["status"] == "Accepted"


@pytest.mark.parametrize(
    ("service", "data", "action"),
    [
        ("clear_charging_profile", {"id": 1}, "ClearChargingProfile"),
        ("get_composite_schedule", {"connector_id": 1, "duration": 60}, "GetCompositeSchedule"),
        (
            "get_composite_schedule",
            {"connector_id": 1, "duration": 60, "charging_rate_unit": "A"},
            "GetCompositeSchedule",
        ),
    ],
)
async def test_a_charger_without_smart_charging_is_not_asked(
    hass: HomeAssistant,
    ready: Callable[..., Any],
    service: str,
    data: dict[str, Any],
    action: str,
) -> None:
    charge_point = await ready(configuration={"SupportedFeatureProfiles": "Core,RemoteTrigger"})

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, data)

    assert err.value.translation_key == "smart_charging_not_supported"
    assert err.value.translation_placeholders == {"charge_point_id": "CP001"}
    assert not received(charge_point, action)
