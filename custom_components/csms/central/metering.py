"""Meter value rules: units, measurands and which reading feeds which figure.

Pure functions over OCPP 1.6 ``MeterValues`` / ``transactionData`` payloads
(as the ``ocpp`` package hands them over: snake_case keys).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
import logging
from typing import Any

from .model import Connector, Sample
from .timestamps import parse_timestamp

_LOGGER = logging.getLogger(__name__)

ENERGY_REGISTER = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
VOLTAGE = "Voltage"
SOC = "SoC"
TEMPERATURE = "Temperature"

# OCPP 1.6 section 7.31: an absent measurand means the energy register.
DEFAULT_MEASURAND = ENERGY_REGISTER
DEFAULT_CONTEXT = "Sample.Periodic"
# Readings taken at the ClockAlignedDataInterval (quarter hours for billing).
CLOCK_CONTEXT = "Sample.Clock"

# Scale factors to the base unit of each quantity.
_UNIT_SCALE: dict[str, float] = {
    "Wh": 1.0,
    "kWh": 1000.0,
    "varh": 1.0,
    "kvarh": 1000.0,
    "W": 1.0,
    "kW": 1000.0,
    "VA": 1.0,
    "kVA": 1000.0,
    "var": 1.0,
    "kvar": 1000.0,
    "A": 1.0,
    "V": 1.0,
    "Percent": 1.0,
    "Celsius": 1.0,
}

# Default unit per measurand prefix when a charger leaves the unit out.
_DEFAULT_UNITS: tuple[tuple[str, str], ...] = (
    ("Energy.Reactive", "varh"),
    ("Energy", "Wh"),
    ("Power.Reactive", "var"),
    ("Power.Factor", ""),
    ("Power", "W"),
    ("Current", "A"),
    ("Voltage", "V"),
    ("SoC", "Percent"),
    ("Temperature", "Celsius"),
    ("Frequency", ""),
    ("RPM", ""),
)


def default_unit(measurand: str) -> str:
    """The unit OCPP implies for a measurand sent without one."""
    for prefix, unit in _DEFAULT_UNITS:
        if measurand.startswith(prefix):
            return unit
    return ""


def normalize_unit(unit: str | None, measurand: str) -> str:
    """Map a charger's unit spelling to the OCPP one."""
    if not unit:
        return default_unit(measurand)
    # The 1.6 schema itself lists the misspelling "Celcius"; chargers use both.
    if unit == "Celcius":
        return "Celsius"
    return unit


def to_base_unit(value: float, unit: str) -> tuple[float, str]:
    """Convert kWh to Wh, kW to W, Fahrenheit and Kelvin to Celsius, ..."""
    if unit == "Fahrenheit":
        return (value - 32.0) * 5.0 / 9.0, "Celsius"
    if unit == "K":
        return value - 273.15, "Celsius"
    scale = _UNIT_SCALE.get(unit)
    if scale is None or scale == 1.0:
        return value, unit
    return value * scale, unit[1:]


def parse_meter_values(meter_values: Iterable[Any], *, fallback_time: datetime) -> list[Sample]:
    """Turn the ``meterValue`` list of a message into samples.

    Values that are not numbers (signed data, garbage) are skipped with a
    debug log: one unreadable value must not cost the others.
    """
    samples: list[Sample] = []
    for meter_value in meter_values:
        # Transaction messages are taken even when partly malformed (see
        # frames.validate_call): skip what is not shaped like a meter value.
        if not isinstance(meter_value, Mapping):
            continue
        timestamp = parse_timestamp(meter_value.get("timestamp"), fallback=fallback_time)
        sampled_values = meter_value.get("sampled_value")
        for sampled in sampled_values if isinstance(sampled_values, list) else []:
            if not isinstance(sampled, Mapping) or sampled.get("format") == "SignedData":
                continue
            measurand = str(sampled.get("measurand") or DEFAULT_MEASURAND)
            try:
                raw = float(sampled["value"])
            except KeyError, TypeError, ValueError:
                _LOGGER.debug("Skipping unreadable sampled value %s", sampled)
                continue
            value, unit = to_base_unit(raw, normalize_unit(sampled.get("unit"), measurand))
            samples.append(
                Sample(
                    timestamp=timestamp,
                    measurand=measurand,
                    value=value,
                    unit=unit,
                    context=sampled.get("context") or DEFAULT_CONTEXT,
                    phase=sampled.get("phase"),
                    location=sampled.get("location"),
                )
            )
    return samples


def _total(samples: list[Sample]) -> float | None:
    """The charger's own total if it sent one, else the sum over phases.

    Line-to-neutral and line-to-line readings of one phase are not added up.
    """
    if not samples:
        return None
    for sample in samples:
        if sample.phase is None:
            return sample.value
    per_phase: dict[str, float] = {}
    for sample in samples:
        if sample.phase is not None and sample.phase != "N":
            per_phase.setdefault(sample.phase[:2], sample.value)
    return sum(per_phase.values()) if per_phase else None


def _by_phase(samples: list[Sample]) -> dict[str, float]:
    return {sample.phase or "total": sample.value for sample in samples}


def _latest(samples: list[Sample]) -> list[Sample]:
    """Keep only the samples of the newest timestamp."""
    newest = max(sample.timestamp for sample in samples)
    return [sample for sample in samples if sample.timestamp == newest]


def _latest_per_measurand(samples: list[Sample]) -> dict[str, list[Sample]]:
    """Group by measurand, keeping each measurand's newest readings.

    Some chargers send each measurand in its own meterValue with a slightly
    different timestamp; the newest of one measurand must not hide another.
    """
    grouped: dict[str, list[Sample]] = {}
    for sample in samples:
        grouped.setdefault(sample.measurand, []).append(sample)
    return {measurand: _latest(group) for measurand, group in grouped.items()}


def apply_samples(connector: Connector, samples: list[Sample]) -> bool:
    """Update a connector's measurements but the energy register; return whether any changed.

    Only outlet (or unlabelled) readings count: an EV-side energy or power
    figure is not the meter.
    """
    by_measurand = _latest_per_measurand(
        [
            sample
            for sample in samples
            if sample.location in (None, "Outlet", "Body") or sample.measurand == SOC
        ]
    )

    by_measurand.pop(ENERGY_REGISTER, None)
    changed = False
    if (power := _total(by_measurand.get(POWER, []))) is not None:
        connector.power_w = power
        changed = True
    if current := by_measurand.get(CURRENT):
        connector.current_a = _by_phase(current)
        changed = True
    if voltage := by_measurand.get(VOLTAGE):
        connector.voltage_v = _by_phase(voltage)
        changed = True
    if soc := by_measurand.get(SOC):
        connector.soc_percent = soc[0].value
        changed = True
    if temperature := by_measurand.get(TEMPERATURE):
        connector.temperature_c = temperature[0].value
        changed = True
    if changed:
        connector.measured_at = max(group[0].timestamp for group in by_measurand.values())
    return changed


def register_readings(samples: list[Sample]) -> list[tuple[datetime, float, bool]]:
    """The energy register readings: (time, Wh, clock-aligned), one per timestamp, oldest first.

    What a reading means (a glitch, a reset, relative to the session) is
    decided in :mod:`.register`.
    """
    by_time: dict[datetime, list[Sample]] = {}
    for sample in samples:
        if sample.measurand == ENERGY_REGISTER and sample.location in (None, "Outlet"):
            by_time.setdefault(sample.timestamp, []).append(sample)
    readings = []
    for timestamp in sorted(by_time):
        group = by_time[timestamp]
        total = _total(group)
        if total is not None:
            readings.append(
                (timestamp, total, any(sample.context == CLOCK_CONTEXT for sample in group))
            )
    return readings


def register_in(samples: list[Sample], context: str | None = None) -> float | None:
    """The energy register reading (of a given context, if named), if any.

    With several readings the first one of the newest timestamp counts.
    """
    readings = [
        sample
        for sample in samples
        if sample.measurand == ENERGY_REGISTER
        and (context is None or sample.context == context)
        and sample.location in (None, "Outlet")
    ]
    return _total(_latest(readings)) if readings else None
