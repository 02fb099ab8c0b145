"""The simulator applies the charging profiles it accepts like a correct charger (OCPP 1.6 3.13)."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simulator import ConfigurationKey, SimulatedChargePoint
from simulator.smart_charging import (
    AMPERE,
    CHARGE_POINT_MAX_PROFILE,
    RECEIVED_AT,
    TX_DEFAULT_PROFILE,
    TX_PROFILE,
    WATT,
    ConnectorContext,
    Limit,
    Profile,
    ProfileStore,
    SchedulePeriod,
    active_period,
    allowed_units,
    applied_limits,
    clear,
    composite_limit,
    composite_schedule,
    connector_limit,
    install,
    next_change,
    next_limit_change,
    preferred_unit,
    rejection,
    share,
)

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def make_profile(
    purpose: str = TX_DEFAULT_PROFILE,
    *,
    periods: tuple[tuple[int, float], ...] = ((0, 16.0),),
    unit: str = AMPERE,
    kind: str = "Absolute",
    start: datetime | None = NOW,
    stack_level: int = 0,
    profile_id: int = 1,
    number_phases: int | None = None,
    duration: int | None = None,
    received_at: datetime = NOW - 24 * HOUR,
    **extra: Any,
) -> Profile:
    schedule: dict[str, Any] = {
        "charging_rate_unit": unit,
        "charging_schedule_period": [
            {"start_period": start_period, "limit": limit}
            | ({} if number_phases is None else {"number_phases": number_phases})
            for start_period, limit in periods
        ],
    }
    if start is not None:
        schedule["start_schedule"] = start.isoformat().replace("+00:00", "Z")
    if duration is not None:
        schedule["duration"] = duration
    return {
        "charging_profile_id": profile_id,
        "stack_level": stack_level,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": kind,
        "charging_schedule": schedule,
        RECEIVED_AT: received_at,
        **extra,
    }


def limit_at(
    profile: Profile, moment: datetime, transaction_start: datetime | None = None
) -> float | None:
    period = active_period(profile, moment, transaction_start)
    return None if period is None else period.limit


def store_of(*entries: tuple[int, Profile]) -> ProfileStore:
    store: ProfileStore = {}
    for connector_id, profile in entries:
        install(store, connector_id, profile, received_at=profile[RECEIVED_AT])
    return store


def charging(connector_id: int = 1, started: datetime = NOW - HOUR) -> ConnectorContext:
    return ConnectorContext(
        charging=True, transaction_id=100 + connector_id, transaction_start=started
    )


# ----------------------------------------------------------------------
# One profile over time
# ----------------------------------------------------------------------


def test_the_period_in_effect_now_applies_not_the_first() -> None:
    profile = make_profile(
        periods=((0, 10.0), (600, 8.0), (1200, 13.0)), start=NOW - timedelta(minutes=15)
    )
    assert active_period(profile, NOW) == SchedulePeriod(8.0, AMPERE)
    assert active_period(profile, NOW + timedelta(minutes=5)) == SchedulePeriod(13.0, AMPERE)
    assert next_change(profile, NOW) == NOW + timedelta(minutes=5)


def test_an_absolute_schedule_waits_for_its_start_and_ends_with_its_duration() -> None:
    profile = make_profile(start=NOW + HOUR, duration=1800)
    assert active_period(profile, NOW) is None
    assert next_change(profile, NOW) == NOW + HOUR
    assert active_period(profile, NOW + HOUR) == SchedulePeriod(16.0, AMPERE)
    assert next_change(profile, NOW + HOUR) == NOW + 90 * timedelta(minutes=1)
    assert active_period(profile, NOW + 90 * timedelta(minutes=1)) is None
    assert next_change(profile, NOW + 90 * timedelta(minutes=1)) is None


def test_a_profile_applies_only_within_its_validity() -> None:
    profile = make_profile(
        valid_from=(NOW + HOUR).isoformat(), valid_to=(NOW + 2 * HOUR).isoformat()
    )
    assert active_period(profile, NOW) is None
    assert next_change(profile, NOW) == NOW + HOUR
    assert active_period(profile, NOW + HOUR) is not None
    assert next_change(profile, NOW + HOUR) == NOW + 2 * HOUR
    assert active_period(profile, NOW + 2 * HOUR) is None


def test_an_absolute_schedule_without_start_counts_from_the_transaction() -> None:
    profile = make_profile(periods=((0, 6.0), (3600, 10.0)), start=None)
    assert limit_at(profile, NOW, NOW - 30 * timedelta(minutes=1)) == 6.0
    assert limit_at(profile, NOW, NOW - 2 * HOUR) == 10.0
    # Without a transaction it counts from its arrival.
    arrived = make_profile(periods=((0, 6.0), (3600, 10.0)), start=None, received_at=NOW)
    assert limit_at(arrived, NOW + timedelta(minutes=59)) == 6.0
    assert limit_at(arrived, NOW + HOUR) == 10.0


def test_a_relative_schedule_needs_a_transaction() -> None:
    profile = make_profile(kind="Relative", start=None, periods=((0, 7.0), (600, 12.0)))
    assert active_period(profile, NOW) is None
    assert next_change(profile, NOW) is None
    assert limit_at(profile, NOW, NOW - timedelta(minutes=5)) == 7.0
    assert limit_at(profile, NOW, NOW - timedelta(minutes=10)) == 12.0


def test_a_charge_point_maximum_counts_a_relative_schedule_from_its_arrival() -> None:
    profile = make_profile(
        CHARGE_POINT_MAX_PROFILE,
        kind="Relative",
        start=None,
        periods=((0, 20.0), (60, 30.0)),
        received_at=NOW,
    )
    assert limit_at(profile, NOW) == 20.0
    assert limit_at(profile, NOW + timedelta(seconds=60)) == 30.0


def test_a_daily_schedule_repeats_from_its_start() -> None:
    profile = make_profile(
        kind="Recurring",
        recurrency_kind="Daily",
        # Cheap night hours: 22:00 to 06:00 at 16 A, 6 A during the day.
        start=datetime(2025, 1, 1, 22, 0, tzinfo=UTC),
        periods=((0, 16.0), (8 * 3600, 6.0)),
    )
    assert limit_at(profile, NOW) == 6.0
    assert next_change(profile, NOW) == datetime(2025, 3, 4, 22, 0, tzinfo=UTC)
    assert limit_at(profile, datetime(2025, 3, 5, 5, 59, tzinfo=UTC)) == 16.0
    assert next_change(profile, datetime(2025, 3, 5, 5, 59, tzinfo=UTC)) == datetime(
        2025, 3, 5, 6, 0, tzinfo=UTC
    )
    # Before its start too, as the start modulo the recurrence.
    assert limit_at(profile, datetime(2024, 6, 1, 23, 0, tzinfo=UTC)) == 16.0


def test_a_weekly_schedule_ends_each_week_after_its_duration() -> None:
    monday = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)
    profile = make_profile(
        kind="Recurring",
        recurrency_kind="Weekly",
        start=monday - 4 * timedelta(weeks=1),
        periods=((0, 8.0),),
        duration=2 * 24 * 3600,
    )
    assert limit_at(profile, monday + timedelta(days=1)) == 8.0
    assert active_period(profile, monday + timedelta(days=3)) is None
    assert next_change(profile, monday + timedelta(days=3)) == monday + timedelta(weeks=1)


# ----------------------------------------------------------------------
# Precedence
# ----------------------------------------------------------------------


def test_the_highest_stack_level_that_applies_wins() -> None:
    store = store_of(
        (1, make_profile(periods=((0, 12.0),), profile_id=1)),
        (1, make_profile(periods=((0, 8.0),), stack_level=2, profile_id=2, duration=3600)),
    )
    idle = ConnectorContext()
    assert connector_limit(store, 1, idle, NOW + timedelta(minutes=30)) == Limit(8.0, 3)
    # After its duration the lower stack level takes over again.
    assert connector_limit(store, 1, idle, NOW + HOUR) == Limit(12.0, 3)
    assert next_limit_change(store, {1: idle}, NOW + timedelta(minutes=30)) == NOW + HOUR


def test_tx_profile_overrules_defaults_which_overrule_connector_zero() -> None:
    store = store_of(
        (0, make_profile(periods=((0, 14.0),), profile_id=1)),
        (1, make_profile(periods=((0, 12.0),), profile_id=2)),
        (1, make_profile(TX_PROFILE, periods=((0, 9.0),), profile_id=3, transaction_id=101)),
    )
    assert connector_limit(store, 1, charging(1), NOW).current_a == 9.0
    # Without its transaction the TxProfile is nobody's.
    other = ConnectorContext(charging=True, transaction_id=555, transaction_start=NOW)
    assert connector_limit(store, 1, other, NOW).current_a == 12.0
    assert connector_limit(store, 2, charging(2), NOW).current_a == 14.0
    assert connector_limit({}, 2, charging(2), NOW) == Limit(16.0, 3)


def test_a_profile_never_raises_the_connector_rating() -> None:
    store = store_of((1, make_profile(periods=((0, 32.0),))))
    assert connector_limit(store, 1, ConnectorContext(max_current_a=20.0), NOW).current_a == 20.0


def test_a_power_limit_is_converted_with_the_phases_and_voltage() -> None:
    store = store_of((1, make_profile(unit=WATT, periods=((0, 6900.0),))))
    three_phase = ConnectorContext(phases=3, voltage_v=230.0)
    single_phase = ConnectorContext(phases=1, voltage_v=230.0)
    assert connector_limit(store, 1, three_phase, NOW).current_a == pytest.approx(10.0)
    assert connector_limit(store, 1, single_phase, NOW).current_a == pytest.approx(16.0)


def test_number_phases_moves_the_session_to_fewer_phases() -> None:
    store = store_of((1, make_profile(unit=WATT, periods=((0, 2300.0),), number_phases=1)))
    limit = connector_limit(store, 1, ConnectorContext(), NOW)
    assert limit.phases == 1
    assert limit.current_a == pytest.approx(10.0)


# ----------------------------------------------------------------------
# The charge point's maximum
# ----------------------------------------------------------------------


def test_sharing_gives_small_demands_their_due_and_splits_the_rest() -> None:
    assert share(32.0, [(1, 16.0), (2, 16.0)]) == {1: 16.0, 2: 16.0}
    assert share(20.0, [(1, 16.0), (2, 16.0)]) == {1: 10.0, 2: 10.0}
    assert share(24.0, [(1, 6.0), (2, 16.0), (3, 16.0)]) == {1: 6.0, 2: 9.0, 3: 9.0}
    shares = share(20.0, [(1, 16.0), (2, 16.0), (3, 16.0)])
    assert sum(shares.values()) <= 20.0
    assert shares == {1: 6.6, 2: 6.6, 3: 6.6}


def test_when_the_share_falls_below_6_a_the_last_in_line_pause() -> None:
    assert share(16.0, [(3, 16.0), (1, 16.0), (2, 16.0)]) == {3: 8.0, 1: 8.0, 2: 0.0}
    assert share(5.0, [(1, 16.0)]) == {1: 0.0}
    assert share(0.0, [(1, 16.0), (2, 16.0)]) == {1: 0.0, 2: 0.0}


def test_the_charging_connectors_stay_within_the_maximum_together() -> None:
    store = store_of((0, make_profile(CHARGE_POINT_MAX_PROFILE, periods=((0, 20.0),))))
    contexts = {
        1: charging(1, NOW - 2 * HOUR),
        2: charging(2, NOW - HOUR),
        3: ConnectorContext(),
    }
    limits = applied_limits(store, contexts, NOW)
    assert limits[1].current_a + limits[2].current_a <= 20.0
    assert limits[1] == limits[2] == Limit(10.0, 3)
    # An idle connector may start with up to the maximum; it is shared once it charges.
    assert limits[3] == Limit(16.0, 3)


def test_a_connector_limited_by_its_own_profile_leaves_the_rest_to_others() -> None:
    store = store_of(
        (0, make_profile(CHARGE_POINT_MAX_PROFILE, periods=((0, 24.0),))),
        (1, make_profile(periods=((0, 7.0),), profile_id=2)),
    )
    limits = applied_limits(store, {1: charging(1), 2: charging(2)}, NOW)
    assert limits[1].current_a == 7.0
    assert limits[2].current_a == 16.0
    tighter = store_of(
        (0, make_profile(CHARGE_POINT_MAX_PROFILE, periods=((0, 18.0),))),
        (1, make_profile(periods=((0, 7.0),), profile_id=2)),
    )
    limits = applied_limits(tighter, {1: charging(1), 2: charging(2)}, NOW)
    assert (limits[1].current_a, limits[2].current_a) == (7.0, 11.0)


def test_the_first_to_charge_keeps_charging_when_the_maximum_is_short() -> None:
    store = store_of((0, make_profile(CHARGE_POINT_MAX_PROFILE, periods=((0, 10.0),))))
    limits = applied_limits(
        store, {1: charging(1, NOW - HOUR), 2: charging(2, NOW - 2 * HOUR)}, NOW
    )
    assert (limits[1].current_a, limits[2].current_a) == (0.0, 10.0)


def test_limits_below_6_a_pause_charging() -> None:
    store = store_of((1, make_profile(periods=((0, 5.9),))), (2, make_profile(profile_id=2)))
    limits = applied_limits(store, {1: charging(1), 2: charging(2)}, NOW)
    assert limits[1].current_a == 0.0
    assert limits[2].current_a == 16.0


def test_a_power_maximum_converts_with_the_most_phases() -> None:
    store = store_of(
        (0, make_profile(CHARGE_POINT_MAX_PROFILE, unit=WATT, periods=((0, 11040.0),)))
    )
    limits = applied_limits(store, {1: charging(1), 2: charging(2)}, NOW)
    assert limits[1].current_a + limits[2].current_a <= 16.0
    assert limits[1].current_a == pytest.approx(8.0)


# ----------------------------------------------------------------------
# Composite schedule
# ----------------------------------------------------------------------


def test_the_composite_schedule_follows_the_profiles_over_its_duration() -> None:
    store = store_of(
        (
            0,
            make_profile(
                CHARGE_POINT_MAX_PROFILE, periods=((0, 20.0),), valid_to="2025-03-04T12:30:00Z"
            ),
        ),
        (1, make_profile(periods=((0, 10.0), (600, 24.0)), start=NOW, profile_id=2)),
    )
    contexts = {1: ConnectorContext(max_current_a=32.0)}
    schedule = composite_schedule(store, 1, contexts, NOW, duration=3600, unit=AMPERE)
    assert schedule["start_schedule"] == "2025-03-04T12:00:00.000Z"
    assert schedule["charging_rate_unit"] == AMPERE
    assert schedule["duration"] == 3600
    assert schedule["charging_schedule_period"] == [
        {"start_period": 0, "limit": 10.0},
        {"start_period": 600, "limit": 20.0},
        {"start_period": 1800, "limit": 24.0},
    ]
    short = composite_schedule(store, 1, contexts, NOW, duration=600, unit=AMPERE)
    assert short["charging_schedule_period"] == [{"start_period": 0, "limit": 10.0}]


def test_the_composite_schedule_in_watts_and_for_the_charge_point() -> None:
    store = store_of(
        (0, make_profile(CHARGE_POINT_MAX_PROFILE, periods=((0, 20.0),))),
        (1, make_profile(periods=((0, 10.0),), number_phases=1, profile_id=2)),
    )
    contexts = {1: ConnectorContext(), 2: ConnectorContext()}
    watts = composite_schedule(store, 1, contexts, NOW, duration=60, unit=WATT)
    assert watts["charging_schedule_period"] == [
        {"start_period": 0, "limit": 2300.0, "number_phases": 1}
    ]
    site = composite_schedule(store, 0, contexts, NOW, duration=60, unit=AMPERE)
    assert site["charging_schedule_period"] == [{"start_period": 0, "limit": 20.0}]
    assert composite_limit({}, 0, contexts, NOW) == Limit(32.0, 3)


# ----------------------------------------------------------------------
# What a charger accepts
# ----------------------------------------------------------------------


def reason_for(profile: Profile, connector_id: int = 1, **overrides: Any) -> str | None:
    arguments: dict[str, Any] = {
        "connector_count": 2,
        "running_transaction_id": 101,
        "max_stack_level": 8,
        "units": {AMPERE, WATT},
        "max_periods": 24,
    }
    return rejection(profile, connector_id, **(arguments | overrides))


def test_a_valid_profile_is_accepted() -> None:
    assert reason_for(make_profile(TX_PROFILE, transaction_id=101)) is None
    assert reason_for(make_profile(CHARGE_POINT_MAX_PROFILE), 0) is None
    assert reason_for(make_profile(kind="Recurring", recurrency_kind="Daily")) is None


@pytest.mark.parametrize(
    ("profile", "connector_id", "overrides", "reason"),
    [
        (make_profile(), 3, {}, "no connector 3"),
        (make_profile(stack_level=9), 1, {}, "stack level above 8"),
        (make_profile(stack_level=3), 1, {"max_stack_level": 2}, "stack level above 2"),
        (make_profile(CHARGE_POINT_MAX_PROFILE), 1, {}, "ChargePointMaxProfile"),
        (make_profile(TX_PROFILE), 0, {"running_transaction_id": None}, "no transaction"),
        (make_profile(TX_PROFILE, transaction_id=7), 1, {}, "transaction 7 is not running"),
        (make_profile(unit=AMPERE), 1, {"units": {WATT}}, "rate unit A not allowed"),
        (make_profile(periods=tuple((60 * i, 16.0) for i in range(25))), 1, {}, "24 periods"),
        (make_profile(periods=()), 1, {}, "without periods"),
        (make_profile(kind="Recurring"), 1, {}, "recurrency kind"),
        (make_profile(valid_to="tomorrow"), 1, {}, "unreadable timestamp"),
    ],
)
def test_a_strict_charger_rejects(
    profile: Profile, connector_id: int, overrides: dict[str, Any], reason: str
) -> None:
    found = reason_for(profile, connector_id, **overrides)
    assert found is not None
    assert reason in found


def test_allowed_units_come_from_the_configuration() -> None:
    assert allowed_units(["Current", "Power"]) == {AMPERE, WATT}
    assert allowed_units(["Power"]) == {WATT}
    assert allowed_units([" current "]) == {AMPERE}
    assert allowed_units([]) == {AMPERE, WATT}
    assert preferred_unit({AMPERE, WATT}) == AMPERE
    assert preferred_unit({WATT}) == WATT


def test_install_replaces_by_id_and_by_purpose_and_stack_level() -> None:
    store: ProfileStore = {}
    install(store, 1, make_profile(profile_id=1), received_at=NOW)
    install(store, 1, make_profile(profile_id=2, stack_level=1), received_at=NOW)
    install(store, 1, make_profile(profile_id=3), received_at=NOW)
    assert [p["charging_profile_id"] for p in store[1]] == [2, 3]
    install(store, 2, make_profile(profile_id=2), received_at=NOW + HOUR)
    assert [p["charging_profile_id"] for p in store[1]] == [3]
    assert store[2][0][RECEIVED_AT] == NOW + HOUR
    assert clear(store, purpose=TX_DEFAULT_PROFILE, connector_id=2)
    assert store[2] == []
    assert not clear(store, profile_id=2)


# ----------------------------------------------------------------------
# A simulated charge point, driven through its handlers (no network)
# ----------------------------------------------------------------------


@pytest.fixture
async def charge_point() -> Any:
    charge_point = SimulatedChargePoint("CP-SC", connectors=2)
    yield charge_point
    await charge_point.disconnect()


def pretend_charging(charge_point: SimulatedChargePoint, connector_id: int) -> None:
    charge_point.transactions[connector_id] = 100 + connector_id
    charge_point.connectors[connector_id].status = "Charging"
    charge_point.connectors[connector_id].transaction_start_time = datetime.now(UTC).isoformat()
    charge_point.meters[connector_id].charging = True


def set_profile(
    charge_point: SimulatedChargePoint, connector_id: int, profile: Profile, call_id: str = "1"
) -> str:
    result = charge_point._on_set_charging_profile(
        connector_id=connector_id, cs_charging_profiles=profile, call_unique_id=call_id
    )
    charge_point._after_set_charging_profile(call_unique_id=call_id)
    return str(result.status)


def live_profile(purpose: str = TX_PROFILE, limit: float = 10.0, **extra: Any) -> Profile:
    profile = make_profile(purpose, periods=((0, limit),), start=None, **extra)
    del profile[RECEIVED_AT]
    return profile


async def test_the_meters_follow_an_accepted_profile(charge_point: SimulatedChargePoint) -> None:
    pretend_charging(charge_point, 1)
    assert set_profile(charge_point, 1, live_profile(limit=10.0)) == "Accepted"
    assert charge_point.meters[1].current_limit_a == 10.0
    assert charge_point.meters[1].current_a == 10.0
    assert charge_point.meters[2].current_limit_a == 16.0


async def test_a_limit_of_zero_suspends_and_clearing_resumes(
    charge_point: SimulatedChargePoint,
) -> None:
    pretend_charging(charge_point, 1)
    assert set_profile(charge_point, 1, live_profile(limit=0.0)) == "Accepted"
    await charge_point.wait_background()
    assert charge_point.connectors[1].status == "SuspendedEVSE"
    assert charge_point.meters[1].current_a == 0.0

    result = charge_point._on_clear_charging_profile(call_unique_id="2", id=1)
    charge_point._after_clear_charging_profile(call_unique_id="2")
    assert str(result.status) == "Accepted"
    await charge_point.wait_background()
    assert charge_point.connectors[1].status == "Charging"
    assert charge_point.meters[1].current_a == 16.0


async def test_the_charge_point_maximum_is_shared(charge_point: SimulatedChargePoint) -> None:
    pretend_charging(charge_point, 1)
    pretend_charging(charge_point, 2)
    maximum = live_profile(CHARGE_POINT_MAX_PROFILE, limit=20.0)
    assert set_profile(charge_point, 0, maximum) == "Accepted"
    currents = [charge_point.meters[c].current_a for c in (1, 2)]
    assert currents == [10.0, 10.0]
    # Too little for two: one of them pauses.
    lower = live_profile(CHARGE_POINT_MAX_PROFILE, limit=10.0, stack_level=1, profile_id=2)
    assert set_profile(charge_point, 0, lower) == "Accepted"
    await charge_point.wait_background()
    assert sum(charge_point.meters[c].current_a for c in (1, 2)) <= 10.0
    assert sorted(charge_point.connectors[c].status for c in (1, 2)) == [
        "Charging",
        "SuspendedEVSE",
    ]


async def test_a_power_only_charger(charge_point: SimulatedChargePoint) -> None:
    charge_point.configuration["ChargingScheduleAllowedChargingRateUnit"] = ConfigurationKey(
        "Power", True
    )
    pretend_charging(charge_point, 1)
    assert set_profile(charge_point, 1, live_profile(limit=10.0)) == "Rejected"
    assert set_profile(charge_point, 1, live_profile(limit=6900.0, unit=WATT)) == "Accepted"
    assert charge_point.meters[1].current_limit_a == pytest.approx(10.0)
    result = charge_point._on_get_composite_schedule(connector_id=1, duration=300)
    assert result.charging_schedule["charging_rate_unit"] == WATT
    assert result.charging_schedule["charging_schedule_period"] == [
        {"start_period": 0, "limit": 6900.0}
    ]


async def test_the_stack_level_limit_is_configurable(charge_point: SimulatedChargePoint) -> None:
    charge_point.configuration["ChargeProfileMaxStackLevel"] = ConfigurationKey("1", True)
    assert set_profile(charge_point, 1, live_profile(TX_DEFAULT_PROFILE, stack_level=2)) == (
        "Rejected"
    )
    assert set_profile(charge_point, 1, live_profile(TX_DEFAULT_PROFILE, stack_level=1)) == (
        "Accepted"
    )


async def test_a_tx_profile_needs_the_running_transaction(
    charge_point: SimulatedChargePoint,
) -> None:
    assert set_profile(charge_point, 1, live_profile()) == "Rejected"
    pretend_charging(charge_point, 1)
    assert set_profile(charge_point, 1, live_profile(transaction_id=999)) == "Rejected"
    assert set_profile(charge_point, 1, live_profile(transaction_id=101)) == "Accepted"
    assert set_profile(charge_point, 3, live_profile(TX_DEFAULT_PROFILE)) == "Rejected"
    assert charge_point.configuration["ChargingScheduleMaxPeriods"] == ConfigurationKey("24", True)


async def test_the_limit_follows_the_clock(charge_point: SimulatedChargePoint) -> None:
    pretend_charging(charge_point, 1)
    # The second period begins 0.3 s from now.
    start = datetime.now(UTC) - timedelta(seconds=59.7)
    profile = make_profile(TX_PROFILE, periods=((0, 16.0), (60, 0.0)), start=start)
    del profile[RECEIVED_AT]
    assert set_profile(charge_point, 1, profile) == "Accepted"
    assert charge_point.meters[1].current_limit_a == 16.0
    await asyncio.sleep(0.5)
    await charge_point.wait_background()
    assert charge_point.meters[1].current_limit_a == 0.0
    assert charge_point.connectors[1].status == "SuspendedEVSE"


async def test_the_composite_schedule_of_the_charge_point(
    charge_point: SimulatedChargePoint,
) -> None:
    assert set_profile(charge_point, 0, live_profile(CHARGE_POINT_MAX_PROFILE, limit=20.0)) == (
        "Accepted"
    )
    result = charge_point._on_get_composite_schedule(
        connector_id=0, duration=3600, charging_rate_unit=AMPERE
    )
    assert str(result.status) == "Accepted"
    assert result.charging_schedule["charging_schedule_period"] == [
        {"start_period": 0, "limit": 20.0}
    ]
    rejected = charge_point._on_get_composite_schedule(connector_id=5, duration=60)
    assert str(rejected.status) == "Rejected"
