"""Site load management: budgets, sharing, reclaim and failsafe limits."""

from __future__ import annotations

import math
import random

import pytest

from custom_components.csms.central.load_management import (
    MIN_CURRENT_A,
    NOMINAL_VOLTAGE_V,
    Budget,
    ConnectorKey,
    GridReading,
    Participant,
    SiteLimits,
    Slot,
    allocate,
    changes,
    demand_after_reading,
    ev_budget,
    failsafe_limits,
    total_current_a,
)

# Power comparisons add floats; a nano-watt is no overload.
TOLERANCE = 1e-6


def _sessions(count: int) -> list[Participant]:
    return [
        Participant(key=(f"CP{index:03d}", 1), max_a=32.0, order=float(index))
        for index in range(count)
    ]


def _power_w(participants: list[Participant], allocations: dict[ConnectorKey, float]) -> float:
    return sum(allocations[p.key] * p.phases * p.voltage_v for p in participants)


# --- sharing -------------------------------------------------------------------------------


def test_ten_sessions_share_63_amperes() -> None:
    sessions = _sessions(10)
    allocations = allocate(sessions, Budget(current_a=63.0, power_w=None))
    assert set(allocations) == {session.key for session in sessions}
    assert total_current_a(allocations) <= 63.0
    assert all(amps in {6.0, 7.0} for amps in allocations.values())
    # The 3 A left after 6 A each go to the earliest sessions, not lost to rounding.
    assert total_current_a(allocations) == 63.0
    assert [allocations[s.key] for s in sessions] == [7.0] * 3 + [6.0] * 7


def test_when_one_session_ends_nine_get_seven_amperes() -> None:
    sessions = _sessions(10)[1:]
    allocations = allocate(sessions, Budget(current_a=63.0, power_w=None))
    assert list(allocations.values()) == [7.0] * 9


def test_allocations_are_whole_amperes_rounded_down() -> None:
    allocations = allocate(_sessions(3), Budget(current_a=40.9, power_w=None))
    assert sorted(allocations.values()) == [13.0, 13.0, 14.0]
    assert all(amps == int(amps) for amps in allocations.values())


def test_no_budget_gives_everyone_their_cap() -> None:
    sessions = [
        Participant(key=("A", 1), max_a=16.0),
        Participant(key=("B", 1), max_a=32.0, demand_a=10.4),
    ]
    assert allocate(sessions, Budget(current_a=None, power_w=None)) == {
        ("A", 1): 16.0,
        ("B", 1): 10.0,
    }


def test_caps_free_capacity_for_others() -> None:
    sessions = [
        Participant(key=("small", 1), max_a=10.0, order=0.0),
        Participant(key=("big", 1), max_a=32.0, order=1.0),
        Participant(key=("car", 1), max_a=32.0, demand_a=8.2, order=2.0),
    ]
    allocations = allocate(sessions, Budget(current_a=50.0, power_w=None))
    # demand 8.2 A caps at 8 A (whole amperes down), the 10 A connector at 10 A.
    assert allocations == {("small", 1): 10.0, ("big", 1): 32.0, ("car", 1): 8.0}


def test_demand_below_minimum_still_gets_the_minimum() -> None:
    sessions = [Participant(key=("A", 1), max_a=32.0, demand_a=2.0)]
    assert allocate(sessions, Budget(current_a=63.0, power_w=None)) == {("A", 1): MIN_CURRENT_A}


def test_maximum_below_minimum_cannot_charge() -> None:
    sessions = [
        Participant(key=("low", 1), max_a=5.0),
        Participant(key=("ok", 1), max_a=16.0),
    ]
    assert allocate(sessions, Budget(current_a=63.0, power_w=None)) == {
        ("low", 1): 0.0,
        ("ok", 1): 16.0,
    }


def test_fractional_minimum_rounds_up() -> None:
    sessions = [Participant(key=("A", 1), max_a=32.0, min_a=6.5)]
    assert allocate(sessions, Budget(current_a=6.9, power_w=None)) == {("A", 1): 0.0}
    assert allocate(sessions, Budget(current_a=7.0, power_w=None)) == {("A", 1): 7.0}


def test_higher_priority_class_is_filled_first() -> None:
    sessions = [
        Participant(key=("low", 1), max_a=32.0, priority=0, order=0.0),
        Participant(key=("high1", 1), max_a=16.0, priority=5, order=1.0),
        Participant(key=("high2", 1), max_a=20.0, priority=5, order=2.0),
    ]
    allocations = allocate(sessions, Budget(current_a=40.0, power_w=None))
    assert allocations == {("low", 1): 6.0, ("high1", 1): 16.0, ("high2", 1): 18.0}

    allocations = allocate(sessions, Budget(current_a=50.0, power_w=None))
    assert allocations == {("low", 1): 14.0, ("high1", 1): 16.0, ("high2", 1): 20.0}


def test_more_sessions_than_fit_pause_lowest_priority_then_newest() -> None:
    sessions = [*_sessions(10), Participant(key=("VIP", 1), max_a=32.0, priority=1, order=99.0)]
    allocations = allocate(sessions, Budget(current_a=40.0, power_w=None))
    charging = [key for key, amps in allocations.items() if amps > 0]
    assert ("VIP", 1) in charging
    assert sorted(charging) == sorted([("VIP", 1)] + [(f"CP{i:03d}", 1) for i in range(5)])
    assert all(allocations[(f"CP{i:03d}", 1)] == 0.0 for i in range(5, 10))
    assert total_current_a(allocations) <= 40.0
    assert all(amps >= MIN_CURRENT_A for amps in allocations.values() if amps > 0)


def test_zero_or_negative_budget_pauses_everyone() -> None:
    sessions = _sessions(3)
    assert set(allocate(sessions, Budget(current_a=0.0, power_w=None)).values()) == {0.0}
    assert set(allocate(sessions, Budget(current_a=None, power_w=-50.0)).values()) == {0.0}


def test_power_budget_with_mixed_phases() -> None:
    sessions = [
        Participant(key=("three", 1), max_a=32.0, phases=3, order=0.0),
        Participant(key=("one", 1), max_a=32.0, phases=1, order=1.0),
    ]
    allocations = allocate(sessions, Budget(current_a=None, power_w=11_000.0))
    # A common level of 11 A costs 11 * (690 + 230) = 10 120 W; the 880 W left buy one
    # more three-phase ampere (690 W), the 190 W after that not even a one-phase ampere.
    assert allocations == {("three", 1): 12.0, ("one", 1): 11.0}
    assert _power_w(sessions, allocations) == 10_810.0


def test_power_remainder_goes_to_whoever_it_still_fits() -> None:
    sessions = [
        Participant(key=("three", 1), max_a=32.0, phases=3, order=0.0),
        Participant(key=("one", 1), max_a=32.0, phases=1, order=1.0),
    ]
    allocations = allocate(sessions, Budget(current_a=None, power_w=11_500.0))
    # 12 A each costs 11 040 W; the 460 W left are no three-phase ampere (690 W) but two
    # one-phase amperes: whatever still fits is handed out, not lost.
    assert allocations == {("three", 1): 12.0, ("one", 1): 14.0}
    assert _power_w(sessions, allocations) == 11_500.0


def test_power_and_current_budgets_both_hold() -> None:
    sessions = _sessions(4)
    budget = Budget(current_a=60.0, power_w=22_080.0)  # 32 A * 3 phases * 230 V
    allocations = allocate(sessions, budget)
    assert total_current_a(allocations) <= 60.0
    assert _power_w(sessions, allocations) <= 22_080.0
    assert list(allocations.values()) == [8.0] * 4


def test_allocation_is_deterministic_whatever_the_input_order() -> None:
    sessions = _sessions(12)
    budget = Budget(current_a=80.0, power_w=50_000.0)
    shuffled = sessions[:]
    random.Random(7).shuffle(shuffled)
    assert allocate(sessions, budget) == allocate(shuffled, budget)


def test_duplicate_keys_are_refused() -> None:
    sessions = [Participant(key=("A", 1), max_a=16.0), Participant(key=("A", 1), max_a=32.0)]
    with pytest.raises(ValueError, match="distinct"):
        allocate(sessions, Budget(current_a=63.0, power_w=None))


def _random_participant(rng: random.Random, index: int) -> Participant:
    max_a = rng.choice([5.0, 6.0, 10.0, 13.0, 16.0, 20.0, 32.0, 40.5, 63.0])
    return Participant(
        key=(f"CP{index}", rng.randint(1, 2)),
        max_a=max_a,
        min_a=rng.choice([6.0, 6.0, 6.0, 8.0, 6.5]),
        phases=rng.choice([1, 2, 3]),
        priority=rng.randint(0, 2),
        demand_a=rng.choice([None, None, rng.uniform(0.0, 40.0)]),
        order=rng.uniform(0.0, 1e9),
        voltage_v=rng.choice([NOMINAL_VOLTAGE_V, 220.0, 240.5]),
    )


def _cap(participant: Participant) -> float:
    cap = participant.max_a
    if participant.demand_a is not None:
        cap = min(cap, max(participant.min_a, participant.demand_a))
    return cap


def test_invariants_hold_for_random_inputs() -> None:
    rng = random.Random(20261121)
    for _ in range(500):
        participants = [_random_participant(rng, index) for index in range(rng.randint(0, 40))]
        budget = Budget(
            current_a=rng.choice([None, rng.uniform(-10.0, 400.0)]),
            power_w=rng.choice([None, rng.uniform(-1000.0, 250_000.0)]),
        )
        allocations = allocate(participants, budget)
        assert set(allocations) == {p.key for p in participants}
        if budget.current_a is not None:
            assert total_current_a(allocations) <= max(0.0, budget.current_a) + TOLERANCE
        if budget.power_w is not None:
            assert _power_w(participants, allocations) <= max(0.0, budget.power_w) + TOLERANCE
        for participant in participants:
            amps = allocations[participant.key]
            assert amps == int(amps)
            if amps:
                assert participant.min_a <= amps <= _cap(participant)
                assert amps <= participant.max_a
        # Nobody is paused while its minimum would still fit in what is left.
        spare_a = None if budget.current_a is None else budget.current_a - sum(allocations.values())
        spare_w = (
            None if budget.power_w is None else budget.power_w - _power_w(participants, allocations)
        )
        for participant in participants:
            low = math.ceil(participant.min_a)
            if allocations[participant.key] or low > math.floor(_cap(participant)):
                continue
            assert not (
                (spare_a is None or low <= spare_a)
                and (spare_w is None or low * participant.phases * participant.voltage_v <= spare_w)
            )
        assert allocate(list(reversed(participants)), budget) == allocations


# --- reclaim -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measured", "previous", "expected"),
    [
        (9.5, None, 12.0),  # clearly below 16 A: draw + 2 A, rounded up
        (13.9, None, 16.0),  # just over 2 A below
        (2.0, None, MIN_CURRENT_A),  # never below the minimum
        (14.0, 11.0, 11.0),  # between the thresholds: keep what was known
        (14.5, 12.0, 12.0),
        (15.0, 11.0, None),  # within 1 A of the allocation: it may want more
        (16.0, 11.0, None),
    ],
)
def test_demand_after_reading_hysteresis(
    measured: float, previous: float | None, expected: float | None
) -> None:
    assert demand_after_reading(allocated_a=16.0, measured_a=measured, previous=previous) == (
        expected
    )


def test_a_reclaimed_car_drawing_the_same_keeps_its_demand() -> None:
    demand = demand_after_reading(allocated_a=16.0, measured_a=9.2, previous=None)
    assert demand == 12.0
    # Its next reading at the new share: unchanged, so no flip back and forth.
    assert demand_after_reading(allocated_a=demand, measured_a=9.2, previous=demand) == demand


def test_reclaimed_capacity_goes_to_the_others() -> None:
    sessions = _sessions(2)
    budget = Budget(current_a=32.0, power_w=None)
    assert list(allocate(sessions, budget).values()) == [16.0, 16.0]
    demand = demand_after_reading(allocated_a=16.0, measured_a=9.2, previous=None)
    sessions[1] = Participant(key=sessions[1].key, max_a=32.0, order=1.0, demand_a=demand)
    assert list(allocate(sessions, budget).values()) == [20.0, 12.0]


# --- budgets -------------------------------------------------------------------------------


def test_budget_without_reading_is_the_limits() -> None:
    limits = SiteLimits(current_a=63.0, power_w=40_000.0)
    assert ev_budget(limits, None, ev_current_a=20.0, ev_power_w=9000.0) == Budget(63.0, 40_000.0)
    assert ev_budget(SiteLimits(None, None), None, ev_current_a=0.0, ev_power_w=0.0) == Budget(
        None, None
    )


def test_budget_from_grid_current() -> None:
    limits = SiteLimits(current_a=63.0, power_w=None)
    reading = GridReading(current_a=50.0)
    # 50 A measured, 20 A of it the chargers: 30 A other load leaves 33 A.
    assert ev_budget(limits, reading, ev_current_a=20.0, ev_power_w=0.0) == Budget(33.0, None)


def test_budget_from_grid_power() -> None:
    limits = SiteLimits(current_a=None, power_w=30_000.0)
    reading = GridReading(power_w=25_000.0)
    assert ev_budget(limits, reading, ev_current_a=0.0, ev_power_w=11_000.0) == Budget(
        None, 16_000.0
    )


def test_budget_clamps() -> None:
    limits = SiteLimits(current_a=63.0, power_w=30_000.0)
    # Other load above the limit: the budget is 0, never negative.
    heavy = GridReading(current_a=90.0, power_w=45_000.0)
    assert ev_budget(limits, heavy, ev_current_a=10.0, ev_power_w=2000.0) == Budget(0.0, 0.0)
    # A sensor lagging behind the chargers: other load never counts below 0.
    lagging = GridReading(current_a=5.0, power_w=-3000.0)
    assert ev_budget(limits, lagging, ev_current_a=10.0, ev_power_w=2000.0) == Budget(
        63.0, 30_000.0
    )


def test_solar_budget_is_the_surplus() -> None:
    limits = SiteLimits(current_a=63.0, power_w=None, solar_only=True)
    # Exporting 4 kW while the chargers take 3 kW: 7 kW of PV is free for them.
    exporting = GridReading(power_w=-4000.0)
    assert ev_budget(limits, exporting, ev_current_a=5.0, ev_power_w=3000.0) == Budget(63.0, 7000.0)
    # Importing more than the chargers use: no surplus at all.
    importing = GridReading(power_w=5000.0)
    assert ev_budget(limits, importing, ev_current_a=5.0, ev_power_w=3000.0) == Budget(63.0, 0.0)


def test_solar_budget_is_capped_by_the_power_limit() -> None:
    limits = SiteLimits(current_a=None, power_w=5000.0, solar_only=True)
    reading = GridReading(power_w=-9000.0)
    assert ev_budget(limits, reading, ev_current_a=0.0, ev_power_w=0.0) == Budget(None, 5000.0)


def test_solar_budget_with_a_current_sensor_only_protects_the_fuse() -> None:
    limits = SiteLimits(current_a=63.0, power_w=20_000.0, solar_only=True)
    reading = GridReading(current_a=40.0)
    assert ev_budget(limits, reading, ev_current_a=10.0, ev_power_w=6900.0) == Budget(
        33.0, 20_000.0
    )


def test_solar_budget_with_both_readings() -> None:
    limits = SiteLimits(current_a=32.0, power_w=None, solar_only=True)
    reading = GridReading(current_a=30.0, power_w=-2000.0)
    assert ev_budget(limits, reading, ev_current_a=10.0, ev_power_w=4600.0) == Budget(12.0, 6600.0)


# --- failsafe ------------------------------------------------------------------------------


def _slots(count: int, max_a: float = 32.0) -> list[Slot]:
    return [
        Slot(key=(f"CP{index:03d}", 1), max_a=32.0, order=float(index)) for index in range(count)
    ]


def test_failsafe_for_ten_slots_is_an_equal_share() -> None:
    failsafe = failsafe_limits(_slots(10), SiteLimits(current_a=63.0, power_w=None))
    assert list(failsafe.values()) == [6.0] * 10
    assert total_current_a(failsafe) <= 63.0


def test_failsafe_for_200_slots_gives_the_minimum_to_the_first() -> None:
    slots = _slots(200)
    failsafe = failsafe_limits(slots, SiteLimits(current_a=63.0, power_w=None))
    assert total_current_a(failsafe) <= 63.0
    assert [failsafe[slot.key] for slot in slots[:10]] == [MIN_CURRENT_A] * 10
    assert {failsafe[slot.key] for slot in slots[10:]} == {0.0}


def test_failsafe_priority_goes_first_when_the_share_is_below_minimum() -> None:
    slots = [*_slots(20), Slot(key=("VIP", 1), max_a=32.0, priority=1, order=50.0)]
    failsafe = failsafe_limits(slots, SiteLimits(current_a=20.0, power_w=None))
    assert failsafe[("VIP", 1)] == MIN_CURRENT_A
    assert [key for key, amps in failsafe.items() if amps] == [
        ("CP000", 1),
        ("CP001", 1),
        ("VIP", 1),
    ]


def test_failsafe_caps_and_power() -> None:
    slots = [
        Slot(key=("small", 1), max_a=10.0),
        Slot(key=("three", 1), max_a=32.0, phases=3),
        Slot(key=("one", 1), max_a=32.0, phases=1),
    ]
    failsafe = failsafe_limits(slots, SiteLimits(current_a=100.0, power_w=30_000.0))
    power = sum(failsafe[s.key] * s.phases * s.voltage_v for s in slots)
    assert power <= 30_000.0
    assert total_current_a(failsafe) <= 100.0
    # Level 25 A: 10 * 690 + 25 * 690 + 25 * 230 = 29 900 W; 26 A would be 30 820 W.
    assert failsafe == {("small", 1): 10.0, ("three", 1): 25.0, ("one", 1): 25.0}


def test_failsafe_ignores_the_sun() -> None:
    slots = _slots(2)
    sunny = failsafe_limits(slots, SiteLimits(current_a=40.0, power_w=None, solar_only=True))
    plain = failsafe_limits(slots, SiteLimits(current_a=40.0, power_w=None))
    assert sunny == plain == {("CP000", 1): 20.0, ("CP001", 1): 20.0}


def test_failsafe_without_limits_is_each_maximum() -> None:
    slots = [Slot(key=("A", 1), max_a=16.0), Slot(key=("B", 2), max_a=32.0)]
    assert failsafe_limits(slots, SiteLimits(current_a=None, power_w=None)) == {
        ("A", 1): 16.0,
        ("B", 2): 32.0,
    }


def test_failsafe_sums_hold_for_random_slots() -> None:
    rng = random.Random(61851)
    for _ in range(200):
        slots = [
            Slot(
                key=(f"CP{index}", 1),
                max_a=rng.choice([6.0, 16.0, 32.0, 4.0]),
                phases=rng.choice([1, 3]),
                priority=rng.randint(0, 1),
                order=rng.random(),
            )
            for index in range(rng.randint(1, 250))
        ]
        limits = SiteLimits(current_a=rng.uniform(0.0, 500.0), power_w=rng.uniform(0.0, 3e5))
        failsafe = failsafe_limits(slots, limits)
        assert limits.current_a is not None
        assert limits.power_w is not None
        assert total_current_a(failsafe) <= limits.current_a
        power = sum(failsafe[s.key] * s.phases * s.voltage_v for s in slots)
        assert power <= limits.power_w + TOLERANCE
        for slot in slots:
            amps = failsafe[slot.key]
            assert amps == 0.0 or MIN_CURRENT_A <= amps <= slot.max_a


# --- changes -------------------------------------------------------------------------------


def test_changes_split_decreases_from_increases() -> None:
    old = {("A", 1): 16.0, ("B", 1): 10.0, ("C", 1): 8.0, ("gone", 1): 6.0}
    new = {("A", 1): 12.0, ("B", 1): 10.0, ("C", 1): 11.0, ("D", 1): 6.0}
    assert changes(old, new) == ([("A", 1)], [("C", 1), ("D", 1)])


def test_sending_decreases_first_never_exceeds_the_budget() -> None:
    budget = Budget(current_a=63.0, power_w=None)
    old = allocate(_sessions(9), budget)
    new = allocate(_sessions(10), budget)
    down, up = changes(old, new)
    applied = dict(old)
    for key in [*down, *up]:
        applied[key] = new[key]
        assert total_current_a(applied) <= 63.0
    assert applied == new
