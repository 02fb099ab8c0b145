"""The continued energy register: glitches, resets, replacements, unit mix-ups, relative values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.csms.central.model import Connector, Transaction
from custom_components.csms.central.register import (
    EnergyRegister,
    fix_unit_mixup,
    transaction_reading,
    transaction_stop_reading,
)

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def feed(register: EnergyRegister, *readings: float) -> list[float | None]:
    """Take readings a minute apart; return the total after each."""
    totals = []
    for minute, reading in enumerate(readings):
        register.take(reading, T0 + timedelta(minutes=minute))
        totals.append(register.total_wh)
    return totals


def test_first_reading_is_taken_as_it_is() -> None:
    register = EnergyRegister()
    assert register.total_wh is None
    assert register.take(5000.0)
    assert register.total_wh == 5000.0


@pytest.mark.parametrize(
    ("readings", "totals"),
    [
        # A stray 0 (and a run of zeros) is no reset.
        ((1000, 0, 0, 0, 1100), [1000, 1000, 1000, 1000, 1100]),
        # A stale lower reading in between.
        ((1000, 900, 1050), [1000, 1000, 1050]),
        # The meter starts over and counts: the total carries on.
        ((1000, 0, 50, 200, 300), [1000, 1000, 1000, 1200, 1300]),
        # Rising readings below the old ones, then the old count returns.
        ((1000, 10, 20, 30, 1040), [1000, 1000, 1000, 1020, 1040]),
    ],
)
def test_register_totals(readings: tuple[float, ...], totals: list[float]) -> None:
    assert feed(EnergyRegister(reading_wh=None), *readings) == totals


def test_total_never_decreases_on_random_glitches() -> None:
    import random  # noqa: PLC0415

    rng = random.Random(7)
    register = EnergyRegister()
    value, last_total = 10_000.0, 0.0
    for minute in range(2000):
        value += rng.choice((0, 0, 5, 50, 120))
        glitch = rng.random()
        reading = 0.0 if glitch < 0.03 else value / 1000 if glitch < 0.05 else value
        register.take(reading, T0 + timedelta(minutes=minute))
        assert register.total_wh is not None
        assert register.total_wh >= last_total
        last_total = register.total_wh
    assert last_total == pytest.approx(value)


def test_old_readings_delivered_late_are_no_reset() -> None:
    register = EnergyRegister()
    register.take(2000.0, T0)
    for minute in range(1, 5):
        assert not register.take(1000.0 + minute, T0 - timedelta(minutes=minute))
    assert register.total_wh == 2000.0
    assert register.suspects == []


def test_replaced_meter_counts_from_its_first_reading() -> None:
    register = EnergyRegister()
    register.take(900_000.0, T0)
    register.replaced = True
    assert not register.take(500_000.0, T0 + timedelta(minutes=1))
    assert register.total_wh == 900_000.0
    assert register.take(500_250.0, T0 + timedelta(minutes=2))
    assert register.total_wh == 900_250.0


def test_register_round_trips_through_storage() -> None:
    register = EnergyRegister()
    feed(register, 1000, 0, 50, 200)
    restored = EnergyRegister.from_dict(register.to_dict())
    assert restored.total_wh == register.total_wh
    assert restored.before_reset_wh == 1000
    # Stored by 0.2: the plain register.
    legacy = Connector.from_dict({"connector_id": 1, "energy_register_wh": 1234.0})
    assert legacy.energy_register_wh == 1234.0


@pytest.mark.parametrize(
    ("reading", "last", "minutes", "expected"),
    [
        (12.5, 12_345.0, 1, 12_500.0),  # kWh labelled Wh
        (12.3, 12_345.0, 1, 12_300.0),  # ... with two decimals only
        (12_400_000.0, 12_345.0, 1, 12_400.0),  # Wh labelled kWh
        (100.0, 80_000.0, 1, 100.0),  # a meter that started over, not kWh
        (12.5, 500.0, 1, 12.5),  # near 0 a factor of 1000 proves nothing
        (12_500.0, 12_345.0, 1, 12_500.0),  # nothing to fix
    ],
)
def test_unit_mixups(reading: float, last: float, minutes: int, expected: float) -> None:
    assert fix_unit_mixup(reading, last, timedelta(minutes=minutes)) == expected


def _transaction(meter_start: int = 5_000_000) -> Transaction:
    return Transaction(
        transaction_id=1, connector_id=1, id_tag="T", meter_start_wh=meter_start, started_at=T0
    )


def test_relative_meter_values_are_recognised_after_two_readings() -> None:
    transaction = _transaction()
    at = T0 + timedelta(minutes=1)
    assert transaction_reading(transaction, 0.0, at) is None
    assert transaction_reading(transaction, 150.0, at) == 5_000_150.0
    assert transaction.relative
    assert transaction_reading(transaction, 300.0, at) == 5_000_300.0
    # Some send the session's energy as meterStop too.
    assert transaction_stop_reading(transaction, 450) == 5_000_450
    assert transaction_stop_reading(transaction, 5_000_450) == 5_000_450


def test_a_stray_zero_is_no_relative_count() -> None:
    transaction = _transaction()
    at = T0 + timedelta(minutes=1)
    assert transaction_reading(transaction, 0.0, at) is None
    assert transaction_reading(transaction, 5_000_100.0, at) == 5_000_100.0
    assert transaction_reading(transaction, 7.0, at) is None
    assert not transaction.relative
    assert transaction_stop_reading(transaction, 450) == 450


def test_a_spike_needs_confirmation() -> None:
    register = EnergyRegister()
    assert feed(register, 1000, 999_999_999, 1050) == [1000, 1000, 1050]
    # A meter that really counts from a higher reading now: the total carries on.
    assert feed(EnergyRegister(), 1000, 50_000_000, 50_000_100) == [1000, 1000, 1100]


def test_a_spike_during_a_transaction_is_ignored() -> None:
    transaction = _transaction(1000)
    at = T0 + timedelta(minutes=2)
    assert transaction_reading(transaction, 999_999_999.0, at) is None
    assert transaction_reading(transaction, 1100.0, at) == 1100.0
