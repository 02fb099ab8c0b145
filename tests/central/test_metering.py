"""Meter value rules: units, defaults, phases and the register guard."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custom_components.csms.central.metering import (
    apply_samples,
    parse_meter_values,
    register_in,
    register_readings,
    to_base_unit,
)
from custom_components.csms.central.model import Connector

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _meter_value(*sampled: dict[str, str], timestamp: str = "2026-11-21T12:00:00Z") -> list:
    return [{"timestamp": timestamp, "sampled_value": list(sampled)}]


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (1.5, "kWh", (1500.0, "Wh")),
        (2.0, "kW", (2000.0, "W")),
        (3.0, "kvarh", (3000.0, "varh")),
        (7.0, "Wh", (7.0, "Wh")),
        (16.0, "A", (16.0, "A")),
        (212.0, "Fahrenheit", (100.0, "Celsius")),
        (300.15, "K", (pytest.approx(27.0), "Celsius")),
        (5.0, "", (5.0, "")),
    ],
)
def test_units_convert_to_base_units(value: float, unit: str, expected: tuple) -> None:
    assert to_base_unit(value, unit) == expected


def test_defaults_quirks_and_unreadable_values() -> None:
    samples = parse_meter_values(
        _meter_value(
            {"value": "12.5"},  # no measurand, no unit: the Wh register
            {"value": "31", "measurand": "Temperature", "unit": "Celcius"},
            {"value": "abc", "measurand": "Power.Active.Import"},
            {"value": "00ff", "format": "SignedData"},
            {"measurand": "SoC"},
        ),
        fallback_time=NOW,
    )
    assert [(s.measurand, s.value, s.unit, s.context) for s in samples] == [
        ("Energy.Active.Import.Register", 12.5, "Wh", "Sample.Periodic"),
        ("Temperature", 31.0, "Celsius", "Sample.Periodic"),
    ]
    assert samples[0].timestamp == NOW


def test_unreadable_timestamp_falls_back() -> None:
    samples = parse_meter_values(
        _meter_value({"value": "1"}, timestamp="yesterday"), fallback_time=NOW
    )
    assert samples[0].timestamp == NOW


def test_apply_samples_reads_totals_and_phases() -> None:
    connector = Connector(1)
    samples = parse_meter_values(
        _meter_value(
            {"value": "7.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
            {"value": "3680", "measurand": "Power.Active.Import", "phase": "L1"},
            {"value": "3680", "measurand": "Power.Active.Import", "phase": "L2"},
            {"value": "16", "measurand": "Current.Import", "phase": "L1"},
            {"value": "230", "measurand": "Voltage", "phase": "L1-N"},
            {"value": "55", "measurand": "SoC", "unit": "Percent", "location": "EV"},
            {"value": "99", "measurand": "Power.Active.Import", "location": "EV"},
        ),
        fallback_time=NOW,
    )
    assert apply_samples(connector, samples)
    assert register_readings(samples) == [(NOW, 7500.0, False)]
    assert connector.power_w == 7360.0
    assert connector.current_a == {"L1": 16.0}
    assert connector.voltage_v == {"L1-N": 230.0}
    assert connector.soc_percent == 55.0
    assert connector.measured_at == NOW
    assert not apply_samples(connector, [])


def test_total_prefers_the_chargers_own_total_and_skips_neutral() -> None:
    connector = Connector(1)
    samples = parse_meter_values(
        _meter_value(
            {"value": "5", "measurand": "Power.Active.Import", "phase": "N"},
            {"value": "1000", "measurand": "Power.Active.Import", "phase": "L1-N"},
            {"value": "1000", "measurand": "Power.Active.Import", "phase": "L1"},
            {"value": "2000", "measurand": "Power.Active.Import", "phase": "L2"},
        ),
        fallback_time=NOW,
    )
    apply_samples(connector, samples)
    assert connector.power_w == 3000.0
    apply_samples(
        connector,
        parse_meter_values(
            _meter_value(
                {"value": "4200", "measurand": "Power.Active.Import", "phase": "L1"},
                {"value": "4100", "measurand": "Power.Active.Import"},
            ),
            fallback_time=NOW,
        ),
    )
    assert connector.power_w == 4100.0


def test_register_readings_one_per_timestamp_with_clock_flag() -> None:
    samples = parse_meter_values(
        [
            {
                "timestamp": "2026-11-21T12:15:00Z",
                "sampled_value": [
                    {"value": "2", "phase": "L1", "context": "Sample.Clock"},
                    {"value": "3", "phase": "L2", "context": "Sample.Clock"},
                    {"value": "9", "location": "EV"},
                ],
            },
            {"timestamp": "2026-11-21T12:00:00Z", "sampled_value": [{"value": "1"}]},
        ],
        fallback_time=NOW,
    )
    assert register_readings(samples) == [
        (NOW, 1.0, False),
        (datetime(2026, 11, 21, 12, 15, tzinfo=UTC), 5.0, True),
    ]


def test_register_in_picks_context_and_newest_reading() -> None:
    samples = parse_meter_values(
        [
            {
                "timestamp": "2026-11-21T11:00:00Z",
                "sampled_value": [{"value": "100", "context": "Transaction.Begin"}],
            },
            {
                "timestamp": "2026-11-21T12:00:00Z",
                "sampled_value": [{"value": "900", "context": "Transaction.End"}],
            },
        ],
        fallback_time=NOW,
    )
    assert register_in(samples, "Transaction.Begin") == 100.0
    assert register_in(samples) == 900.0
    assert register_in(samples, "Sample.Clock") is None


def test_each_measurand_keeps_its_own_newest_reading() -> None:
    """Chargers that send one measurand per meterValue, a moment apart."""
    connector = Connector(1)
    samples = parse_meter_values(
        [
            {"timestamp": "2026-11-21T12:00:00.100Z", "sampled_value": [{"value": "1234"}]},
            {
                "timestamp": "2026-11-21T12:00:00.300Z",
                "sampled_value": [{"value": "7000", "measurand": "Power.Active.Import"}],
            },
            "not a meter value",
            {"timestamp": "2026-11-21T12:00:00Z", "sampled_value": ["junk", {"value": "1"}]},
            {"sampled_value": "junk"},
        ],
        fallback_time=NOW,
    )
    apply_samples(connector, samples)
    assert register_readings(samples)[-1][1] == 1234.0
    assert connector.power_w == 7000.0
