"""OCPP 1.6 smart charging rules: capabilities, limit profiles and profile validation."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custom_components.csms.central.smart_charging import (
    AMPERE,
    CHARGE_POINT_MAX_PROFILE,
    MIN_CURRENT_A,
    NOMINAL_VOLTAGE_V,
    TX_DEFAULT_PROFILE,
    TX_PROFILE,
    WATT,
    ChargingCapabilities,
    ProfileError,
    amps_to_watts,
    check_profile,
    composite_limit_a,
    limit_profile,
    profile_limit_a,
    same_limit,
    watts_to_amps,
)

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
EVERYTHING = ChargingCapabilities(units=(AMPERE, WATT), max_stack_level=8, max_periods=24)


def steady(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "profile_id": 1,
        "purpose": TX_DEFAULT_PROFILE,
        "limit_a": 16.0,
        "unit": AMPERE,
        "phases": 3,
        "voltage_v": NOMINAL_VOLTAGE_V,
        "start": NOW,
    }
    arguments.update(overrides)
    return limit_profile(**arguments)


def user_profile(**overrides: Any) -> dict[str, Any]:
    """A valid TxDefaultProfile; schedule keys go through ``schedule``."""
    profile: dict[str, Any] = {
        "charging_profile_id": 7,
        "stack_level": 1,
        "charging_profile_purpose": TX_DEFAULT_PROFILE,
        "charging_profile_kind": "Absolute",
        "charging_schedule": {
            "charging_rate_unit": AMPERE,
            "charging_schedule_period": [
                {"start_period": 0, "limit": 16.0},
                {"start_period": 3600, "limit": 10.0},
            ],
            "start_schedule": "2026-11-21T10:00:00Z",
        },
    }
    schedule = overrides.pop("schedule", {})
    profile.update(overrides)
    profile["charging_schedule"].update(schedule)
    return profile


def check(
    profile: dict[str, Any],
    connector_id: int = 1,
    *,
    capabilities: ChargingCapabilities = EVERYTHING,
    running_transaction_id: int | None = 42,
    connector_ids: set[int] | None = None,
) -> None:
    check_profile(
        profile,
        connector_id,
        capabilities=capabilities,
        running_transaction_id=running_transaction_id,
        connector_ids=connector_ids,
    )


# Capabilities


def test_capabilities_from_full_configuration() -> None:
    capabilities = ChargingCapabilities.from_configuration(
        {
            "ChargingScheduleAllowedChargingRateUnit": "Current,Power",
            "ChargeProfileMaxStackLevel": "8",
            "ChargingScheduleMaxPeriods": "24",
            "SupportedFeatureProfiles": "Core,FirmwareManagement,SmartCharging,RemoteTrigger",
        }
    )
    assert capabilities == ChargingCapabilities(
        units=(AMPERE, WATT), max_stack_level=8, max_periods=24, supported=True
    )
    assert capabilities.unit == AMPERE


@pytest.mark.parametrize(
    ("value", "units"),
    [
        ("Current", (AMPERE,)),
        ("Power", (WATT,)),
        ("power", (WATT,)),
        (" Power , Current ", (WATT, AMPERE)),
        ("CURRENT,current", (AMPERE,)),
        ("Energy", (AMPERE,)),
        ("Power,Energy", (AMPERE,)),
        ("", (AMPERE,)),
    ],
)
def test_allowed_rate_units(value: str, units: tuple[str, ...]) -> None:
    configuration = {"ChargingScheduleAllowedChargingRateUnit": value}
    assert ChargingCapabilities.from_configuration(configuration).units == units


def test_power_only_charger_gets_watts() -> None:
    capabilities = ChargingCapabilities.from_configuration(
        {"ChargingScheduleAllowedChargingRateUnit": "Power"}
    )
    assert capabilities.unit == WATT
    with pytest.raises(ProfileError) as caught:
        check(user_profile(), capabilities=capabilities)
    assert caught.value.translation_key == "unit_not_supported"
    assert caught.value.placeholders == {"unit": AMPERE, "units": WATT}


def test_unknown_configuration() -> None:
    capabilities = ChargingCapabilities.from_configuration({})
    assert capabilities == ChargingCapabilities(
        units=(AMPERE,), max_stack_level=None, max_periods=None, supported=True
    )
    assert capabilities.unit == AMPERE


@pytest.mark.parametrize(
    ("configuration", "max_stack_level", "max_periods"),
    [
        ({"ChargeProfileMaxStackLevel": " 3 ", "ChargingScheduleMaxPeriods": "1"}, 3, 1),
        ({"ChargeProfileMaxStackLevel": "0", "ChargingScheduleMaxPeriods": "0"}, 0, None),
        ({"ChargeProfileMaxStackLevel": "-1", "ChargingScheduleMaxPeriods": "many"}, None, None),
        ({"chargeprofilemaxstacklevel": "3", "chargingschedulemaxperiods": "5"}, None, None),
    ],
)
def test_numeric_capabilities(
    configuration: dict[str, str], max_stack_level: int | None, max_periods: int | None
) -> None:
    capabilities = ChargingCapabilities.from_configuration(configuration)
    assert capabilities.max_stack_level == max_stack_level
    assert capabilities.max_periods == max_periods


@pytest.mark.parametrize(
    ("value", "supported"),
    [
        ("Core,SmartCharging", True),
        ("Core, smartcharging ,Reservation", True),
        ("Core,FirmwareManagement", False),
        ("", False),
    ],
)
def test_smart_charging_feature_profile(value: str, supported: bool) -> None:
    configuration = {"SupportedFeatureProfiles": value}
    assert ChargingCapabilities.from_configuration(configuration).supported is supported


# Conversions


@pytest.mark.parametrize(
    ("current_a", "phases", "voltage_v", "power_w"),
    [
        (16.0, 3, 230.0, 11040.0),
        (16.0, 1, 230.0, 3680.0),
        (MIN_CURRENT_A, 3, 230.0, 4140.0),
        (10.0, 2, 240.0, 4800.0),
        (0.0, 3, 230.0, 0.0),
    ],
)
def test_conversions(current_a: float, phases: int, voltage_v: float, power_w: float) -> None:
    assert amps_to_watts(current_a, phases, voltage_v) == pytest.approx(power_w)
    assert watts_to_amps(power_w, phases, voltage_v) == pytest.approx(current_a)


def test_conversions_default_to_nominal_voltage() -> None:
    assert amps_to_watts(10.0, 1) == pytest.approx(10.0 * NOMINAL_VOLTAGE_V)
    assert watts_to_amps(2300.0, 1) == pytest.approx(2300.0 / NOMINAL_VOLTAGE_V)


@pytest.mark.parametrize(("phases", "voltage_v"), [(0, 230.0), (3, 0.0), (1, -230.0)])
def test_conversions_refuse_impossible_electrics(phases: int, voltage_v: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        amps_to_watts(16.0, phases, voltage_v)
    with pytest.raises(ValueError, match="must be"):
        watts_to_amps(3680.0, phases, voltage_v)


# Limit profiles


def test_limit_profile_in_amperes() -> None:
    valid_to = NOW + timedelta(hours=1)
    profile = steady(profile_id=5, stack_level=2, valid_to=valid_to)
    assert profile == {
        "charging_profile_id": 5,
        "stack_level": 2,
        "charging_profile_purpose": TX_DEFAULT_PROFILE,
        "charging_profile_kind": "Absolute",
        "charging_schedule": {
            "charging_rate_unit": AMPERE,
            "charging_schedule_period": [{"start_period": 0, "limit": 16.0}],
            "start_schedule": "2026-11-21T10:00:00.000Z",
        },
        "valid_to": "2026-11-21T11:00:00.000Z",
    }
    check(profile)


@pytest.mark.parametrize(
    ("limit_a", "phases", "expected"),
    [
        (16.0, 3, 11040.0),
        (16.0, 1, 3680.0),
        (6.1, 1, 1403.0),
        (6.15, 1, 1414.0),  # 1414.5 W
        (7.33, 3, 5057.0),  # 5057.7 W
        (0.0, 3, 0.0),
    ],
)
def test_limit_profile_in_watts_rounds_down_to_whole_watts(
    limit_a: float, phases: int, expected: float
) -> None:
    profile = steady(unit=WATT, limit_a=limit_a, phases=phases)
    schedule = profile["charging_schedule"]
    assert schedule["charging_rate_unit"] == WATT
    assert schedule["charging_schedule_period"][0]["limit"] == expected
    assert expected <= amps_to_watts(limit_a, phases) + 1e-9


@pytest.mark.parametrize(
    ("limit_a", "expected"),
    [(16.0, 16.0), (7.3, 7.3), (7.39, 7.3), (6.05, 6.0), (0.7, 0.7), (10.99, 10.9), (0.0, 0.0)],
)
def test_limit_profile_in_amperes_rounds_down_to_tenths(limit_a: float, expected: float) -> None:
    period = steady(limit_a=limit_a)["charging_schedule"]["charging_schedule_period"][0]
    assert period["limit"] == expected


@pytest.mark.parametrize(("phases", "number_phases"), [(1, 1), (2, 2), (3, None)])
def test_number_phases_only_below_three(phases: int, number_phases: int | None) -> None:
    period = steady(phases=phases)["charging_schedule"]["charging_schedule_period"][0]
    assert period.get("number_phases") == number_phases


def test_tx_profile_carries_the_transaction() -> None:
    profile = steady(purpose=TX_PROFILE, transaction_id=42)
    assert profile["transaction_id"] == 42
    check(profile, running_transaction_id=42)


@pytest.mark.parametrize("purpose", [TX_DEFAULT_PROFILE, CHARGE_POINT_MAX_PROFILE])
def test_other_purposes_carry_no_transaction(purpose: str) -> None:
    assert "transaction_id" not in steady(purpose=purpose)
    with pytest.raises(ValueError, match="transaction"):
        steady(purpose=purpose, transaction_id=42)


@pytest.mark.parametrize(
    "overrides",
    [
        {"unit": "kW"},
        {"phases": 0},
        {"phases": 4},
        {"limit_a": -1.0},
        {"start": datetime(2026, 11, 21, 10, 0)},  # naive on purpose
        {"valid_to": datetime(2026, 11, 21, 11, 0)},  # naive on purpose
    ],
)
def test_limit_profile_refuses_nonsense(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        steady(**overrides)


@pytest.mark.parametrize(
    ("unit", "limit_a", "phases", "expected"),
    [
        (AMPERE, 16.0, 3, 16.0),
        (AMPERE, 7.39, 1, 7.3),
        (WATT, 16.0, 3, 16.0),
        (WATT, 16.0, 1, 16.0),
        (WATT, 6.1, 2, 6.1),
        (WATT, 0.0, 3, 0.0),
    ],
)
def test_profile_limit_round_trip(unit: str, limit_a: float, phases: int, expected: float) -> None:
    profile = steady(unit=unit, limit_a=limit_a, phases=phases)
    assert profile_limit_a(profile, phases, NOMINAL_VOLTAGE_V) == pytest.approx(expected)


def test_profile_limit_uses_the_period_phases() -> None:
    profile = steady(unit=WATT, phases=1)  # 3680 W for one phase
    assert profile_limit_a(profile, 3, NOMINAL_VOLTAGE_V) == pytest.approx(16.0)


@pytest.mark.parametrize(
    "profile",
    [
        {},
        {"charging_schedule": {"charging_rate_unit": AMPERE}},
        {"charging_schedule": {"charging_rate_unit": AMPERE, "charging_schedule_period": []}},
    ],
)
def test_profile_limit_without_periods(profile: dict[str, Any]) -> None:
    assert profile_limit_a(profile, 3, NOMINAL_VOLTAGE_V) is None


@pytest.mark.parametrize(
    ("schedule", "phases", "expected"),
    [
        (
            {
                "charging_rate_unit": AMPERE,
                "charging_schedule_period": [
                    {"start_period": 0, "limit": 10.0},
                    {"start_period": 600, "limit": 16.0},
                ],
            },
            3,
            10.0,
        ),
        (
            {
                "duration": 86400,
                "start_schedule": "2026-11-21T10:00:00Z",
                "charging_rate_unit": WATT,
                "charging_schedule_period": [{"start_period": 0, "limit": 6900.0}],
            },
            3,
            10.0,
        ),
        (
            {
                "charging_rate_unit": WATT,
                "charging_schedule_period": [
                    {"start_period": 0, "limit": 2300, "number_phases": 1}
                ],
            },
            3,
            10.0,
        ),
        ({"charging_rate_unit": AMPERE, "charging_schedule_period": []}, 3, None),
        ({}, 3, None),
        (
            {"charging_rate_unit": "kW", "charging_schedule_period": [{"start_period": 0}]},
            3,
            None,
        ),
    ],
)
def test_composite_limit(schedule: dict[str, Any], phases: int, expected: float | None) -> None:
    assert composite_limit_a(schedule, phases, NOMINAL_VOLTAGE_V) == expected


# same_limit


def test_same_limit_ignores_timestamps() -> None:
    first = steady(valid_to=NOW + timedelta(minutes=5))
    later = steady(start=NOW + timedelta(minutes=3), valid_to=NOW + timedelta(minutes=8))
    assert first != later
    assert same_limit(first, later)
    assert same_limit(steady(), steady(valid_to=NOW + timedelta(hours=1)))


@pytest.mark.parametrize(
    "overrides",
    [
        {"limit_a": 15.9},
        {"unit": WATT},
        {"phases": 1},
        {"profile_id": 2},
        {"stack_level": 1},
        {"purpose": CHARGE_POINT_MAX_PROFILE},
        {"purpose": TX_PROFILE, "transaction_id": 42},
    ],
)
def test_same_limit_sees_a_different_request(overrides: dict[str, Any]) -> None:
    assert not same_limit(steady(), steady(**overrides))
    assert not same_limit(steady(**overrides), steady())


def test_same_limit_with_missing_profiles() -> None:
    assert same_limit(None, None)
    assert not same_limit(steady(), None)
    assert not same_limit(None, steady())


def test_same_limit_leaves_profiles_untouched() -> None:
    profile = steady(valid_to=NOW + timedelta(hours=1))
    kept = copy.deepcopy(profile)
    same_limit(profile, steady())
    assert profile == kept


# check_profile


@pytest.mark.parametrize(
    ("profile", "connector_id", "kwargs"),
    [
        (user_profile(), 1, {}),
        (user_profile(), 0, {}),
        (user_profile(charging_profile_purpose=CHARGE_POINT_MAX_PROFILE), 0, {}),
        (user_profile(charging_profile_purpose=TX_PROFILE), 1, {}),
        (user_profile(charging_profile_purpose=TX_PROFILE, transaction_id=42), 1, {}),
        (
            user_profile(
                charging_profile_kind="Recurring",
                recurrency_kind="Daily",
                valid_from="2026-11-21T00:00:00Z",
                valid_to=datetime(2026, 12, 21, tzinfo=UTC),
            ),
            1,
            {},
        ),
        (
            user_profile(charging_profile_kind="Relative", schedule={"start_schedule": None}),
            2,
            {"connector_ids": {1, 2}},
        ),
        (user_profile(), 0, {"connector_ids": {1}}),
        (user_profile(stack_level=8), 1, {}),
        (
            user_profile(),
            1,
            {"capabilities": ChargingCapabilities(max_stack_level=1, max_periods=2)},
        ),
    ],
)
def test_valid_profiles_pass(
    profile: dict[str, Any], connector_id: int, kwargs: dict[str, Any]
) -> None:
    check(profile, connector_id, **kwargs)


@pytest.mark.parametrize(
    ("profile", "connector_id", "kwargs", "key", "placeholders"),
    [
        pytest.param(
            user_profile(charging_profile_purpose=CHARGE_POINT_MAX_PROFILE),
            1,
            {},
            "charge_point_max_connector",
            {},
            id="charge_point_max_connector",
        ),
        pytest.param(
            user_profile(charging_profile_purpose=TX_PROFILE),
            0,
            {},
            "tx_profile_connector",
            {},
            id="tx_profile_connector",
        ),
        pytest.param(
            user_profile(charging_profile_purpose=TX_PROFILE),
            1,
            {"running_transaction_id": None},
            "tx_profile_no_transaction",
            {},
            id="tx_profile_no_transaction",
        ),
        pytest.param(
            user_profile(charging_profile_purpose=TX_PROFILE, transaction_id=41),
            1,
            {},
            "tx_profile_wrong_transaction",
            {"transaction_id": "41", "running_transaction_id": "42"},
            id="tx_profile_wrong_transaction",
        ),
        pytest.param(
            user_profile(transaction_id=42),
            1,
            {},
            "transaction_id_not_allowed",
            {},
            id="transaction_id_not_allowed",
        ),
        pytest.param(
            user_profile(charging_profile_purpose=CHARGE_POINT_MAX_PROFILE, transaction_id=42),
            0,
            {},
            "transaction_id_not_allowed",
            {},
            id="transaction_id_on_charge_point_max",
        ),
        pytest.param(
            user_profile(stack_level=9),
            1,
            {},
            "stack_level_too_high",
            {"stack_level": "9", "max_stack_level": "8"},
            id="stack_level_too_high",
        ),
        pytest.param(
            user_profile(schedule={"charging_rate_unit": WATT}),
            1,
            {"capabilities": ChargingCapabilities(units=(AMPERE,))},
            "unit_not_supported",
            {"unit": WATT, "units": AMPERE},
            id="unit_not_supported",
        ),
        pytest.param(
            user_profile(),
            1,
            {"capabilities": ChargingCapabilities(max_periods=1)},
            "too_many_periods",
            {"periods": "2", "max_periods": "1"},
            id="too_many_periods",
        ),
        pytest.param(
            user_profile(schedule={"charging_schedule_period": [{"start_period": 60, "limit": 6}]}),
            1,
            {},
            "periods_not_ascending",
            {},
            id="first_period_not_at_zero",
        ),
        pytest.param(
            user_profile(
                schedule={
                    "charging_schedule_period": [
                        {"start_period": 0, "limit": 6},
                        {"start_period": 600, "limit": 8},
                        {"start_period": 600, "limit": 10},
                    ]
                }
            ),
            1,
            {},
            "periods_not_ascending",
            {},
            id="periods_repeat_a_start",
        ),
        pytest.param(
            user_profile(
                schedule={
                    "charging_schedule_period": [
                        {"start_period": 0, "limit": 6},
                        {"start_period": 900, "limit": 8},
                        {"start_period": 600, "limit": 10},
                    ]
                }
            ),
            1,
            {},
            "periods_not_ascending",
            {},
            id="periods_go_back",
        ),
        pytest.param(
            user_profile(schedule={"charging_schedule_period": []}),
            1,
            {},
            "periods_not_ascending",
            {},
            id="no_periods",
        ),
        pytest.param(
            user_profile(charging_profile_kind="Recurring"),
            1,
            {},
            "recurrency_kind_required",
            {},
            id="recurrency_kind_required",
        ),
        pytest.param(
            user_profile(recurrency_kind="Weekly"),
            1,
            {},
            "recurrency_kind_not_allowed",
            {},
            id="recurrency_kind_not_allowed",
        ),
        pytest.param(
            user_profile(
                charging_profile_kind="Recurring",
                recurrency_kind="Daily",
                schedule={"start_schedule": None},
            ),
            1,
            {},
            "start_schedule_required",
            {},
            id="start_schedule_required",
        ),
        pytest.param(
            user_profile(charging_profile_kind="Relative"),
            1,
            {},
            "start_schedule_not_allowed",
            {},
            id="start_schedule_not_allowed",
        ),
        pytest.param(
            user_profile(valid_from="2026-11-22T10:00:00Z", valid_to="2026-11-21T10:00:00Z"),
            1,
            {},
            "validity_reversed",
            {"valid_from": "2026-11-22T10:00:00.000Z", "valid_to": "2026-11-21T10:00:00.000Z"},
            id="validity_reversed_strings",
        ),
        pytest.param(
            user_profile(
                valid_from=datetime(2026, 11, 21, 11, 0, tzinfo=UTC),
                valid_to="2026-11-21T12:00:00+01:00",
            ),
            1,
            {},
            "validity_reversed",
            {"valid_from": "2026-11-21T11:00:00.000Z", "valid_to": "2026-11-21T11:00:00.000Z"},
            id="validity_empty_mixed_types",
        ),
        pytest.param(
            user_profile(valid_from="yesterday"),
            1,
            {},
            "invalid_timestamp",
            {"field": "valid_from", "value": "yesterday"},
            id="invalid_timestamp",
        ),
        pytest.param(
            user_profile(),
            3,
            {"connector_ids": {1, 2}},
            "unknown_connector",
            {"connector_id": "3"},
            id="unknown_connector",
        ),
        pytest.param(
            user_profile(
                charging_profile_purpose=CHARGE_POINT_MAX_PROFILE,
                charging_profile_kind="Relative",
                schedule={"start_schedule": None},
            ),
            0,
            {},
            "charge_point_max_relative",
            {},
            id="charge_point_max_relative",
        ),
    ],
)
def test_profile_rules(
    profile: dict[str, Any],
    connector_id: int,
    kwargs: dict[str, Any],
    key: str,
    placeholders: dict[str, str],
) -> None:
    with pytest.raises(ProfileError) as caught:
        check(profile, connector_id, **kwargs)
    assert caught.value.translation_key == key
    assert caught.value.placeholders == placeholders
    assert all(isinstance(value, str) for value in caught.value.placeholders.values())
    assert key in str(caught.value)


def test_validity_accepts_naive_times_as_utc() -> None:
    profile = user_profile(
        valid_from=datetime(2026, 11, 21, 10, 0),  # UTC without an offset
        valid_to="2026-11-21T10:00:00",
    )
    with pytest.raises(ProfileError) as caught:
        check(profile)
    assert caught.value.translation_key == "validity_reversed"


def test_profile_error_is_a_value_error() -> None:
    error = ProfileError("stack_level_too_high", {"stack_level": "9", "max_stack_level": "8"})
    assert isinstance(error, ValueError)
    assert str(error) == "stack_level_too_high (stack_level=9, max_stack_level=8)"
    assert ProfileError("tx_profile_connector").placeholders == {}
