"""OCPP 1.6 smart charging rules: capabilities, steady limit profiles, validation.

Profiles are the snake_case dicts the ocpp package sends and receives. The
central system mostly holds a charger at one steady limit (a one-period
Absolute profile); users may also send their own profiles, which are checked
here against OCPP 1.6 sections 3.13, 6.43 and 7.8 before they go out, so a
mistake is explained to the user instead of ending in a bare ``Rejected``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
import math
from typing import Any, Final

from .timestamps import format_timestamp

AMPERE: Final = "A"
WATT: Final = "W"

CHARGE_POINT_MAX_PROFILE: Final = "ChargePointMaxProfile"
TX_DEFAULT_PROFILE: Final = "TxDefaultProfile"
TX_PROFILE: Final = "TxProfile"

ABSOLUTE: Final = "Absolute"
RECURRING: Final = "Recurring"
RELATIVE: Final = "Relative"

# IEC 61851-1: the control pilot cannot offer less than 6 A, so no EV charges
# below it; a limit of 0 pauses charging instead.
MIN_CURRENT_A: Final = 6.0
NOMINAL_VOLTAGE_V: Final = 230.0

# Configuration keys of the Smart Charging feature profile (OCPP 1.6 section 9.4)
# and the Core key listing the feature profiles (section 9.1).
ALLOWED_RATE_UNIT_KEY: Final = "ChargingScheduleAllowedChargingRateUnit"
MAX_STACK_LEVEL_KEY: Final = "ChargeProfileMaxStackLevel"
MAX_PERIODS_KEY: Final = "ChargingScheduleMaxPeriods"
FEATURE_PROFILES_KEY: Final = "SupportedFeatureProfiles"
SMART_CHARGING_FEATURE: Final = "SmartCharging"

_RATE_UNITS: Final = {"current": AMPERE, "power": WATT}
_DEFAULT_UNITS: Final = (AMPERE,)
# The schema declares limits a multiple of 0.1; the tolerance keeps a value
# such as 7.3 A (72.99999... tenths in binary) from being rounded down a step.
_ROUNDING_TOLERANCE: Final = 1e-9
_READ_BACK_DECIMALS: Final = 2
_MAX_PHASES: Final = 3


@dataclass(frozen=True, slots=True)
class ChargingCapabilities:
    """What a charger accepts in a charging profile, from its configuration."""

    units: tuple[str, ...] = _DEFAULT_UNITS
    max_stack_level: int | None = None
    max_periods: int | None = None
    supported: bool = True

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, str]) -> ChargingCapabilities:
        """Read the capabilities from configuration keys as GetConfiguration returns them."""
        return cls(
            units=_rate_units(configuration.get(ALLOWED_RATE_UNIT_KEY)),
            max_stack_level=_configured_int(configuration.get(MAX_STACK_LEVEL_KEY), minimum=0),
            max_periods=_configured_int(configuration.get(MAX_PERIODS_KEY), minimum=1),
            supported=_smart_charging_supported(configuration.get(FEATURE_PROFILES_KEY)),
        )

    @property
    def unit(self) -> str:
        """The rate unit to send: amperes when allowed, they map directly onto the pilot."""
        return AMPERE if AMPERE in self.units else WATT


def _csv_items(value: str) -> list[str]:
    """Comma separated items, lower case, without spaces."""
    return ["".join(item.split()).lower() for item in value.split(",")]


def _rate_units(value: str | None) -> tuple[str, ...]:
    """Parse ``ChargingScheduleAllowedChargingRateUnit``; amperes when unreadable."""
    if value is None:
        return _DEFAULT_UNITS
    units: list[str] = []
    for item in _csv_items(value):
        unit = _RATE_UNITS.get(item)
        if unit is None:
            return _DEFAULT_UNITS
        if unit not in units:
            units.append(unit)
    return tuple(units) or _DEFAULT_UNITS


def _configured_int(value: str | None, *, minimum: int) -> int | None:
    """An integer configuration value; None when missing or unusable."""
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number >= minimum else None


def _smart_charging_supported(value: str | None) -> bool:
    """Whether ``SupportedFeatureProfiles`` lists SmartCharging; True while unknown."""
    if value is None:
        return True
    return SMART_CHARGING_FEATURE.lower() in _csv_items(value)


def _check_electrics(phases: int, voltage_v: float) -> None:
    if phases < 1:
        raise ValueError(f"phases must be at least 1, not {phases}")
    if voltage_v <= 0:
        raise ValueError(f"voltage must be positive, not {voltage_v}")


def amps_to_watts(current_a: float, phases: int, voltage_v: float = NOMINAL_VOLTAGE_V) -> float:
    """Power drawn at ``current_a`` per phase."""
    _check_electrics(phases, voltage_v)
    return current_a * phases * voltage_v


def watts_to_amps(power_w: float, phases: int, voltage_v: float = NOMINAL_VOLTAGE_V) -> float:
    """Current per phase that draws ``power_w``."""
    _check_electrics(phases, voltage_v)
    return power_w / (phases * voltage_v)


def _round_down(value: float, step: float) -> float:
    """Round down to a multiple of ``step``, never above ``value``."""
    steps = math.floor(value / step + _ROUNDING_TOLERANCE)
    return round(steps * step, 6)


def limit_profile(
    *,
    profile_id: int,
    purpose: str,
    limit_a: float,
    unit: str,
    phases: int,
    voltage_v: float,
    stack_level: int = 0,
    transaction_id: int | None = None,
    valid_to: datetime | None = None,
    start: datetime,
) -> dict[str, Any]:
    """A one-period Absolute profile holding a steady limit of ``limit_a`` per phase.

    Limits are rounded down so the charger never gets more than asked for:
    to a whole W, or to 0.1 A (the schema's multiple of 0.1).
    """
    if unit not in (AMPERE, WATT):
        raise ValueError(f"Unknown charging rate unit {unit!r}")
    if not 1 <= phases <= _MAX_PHASES:
        raise ValueError(f"phases must be 1 to 3, not {phases}")
    if limit_a < 0:
        raise ValueError(f"A limit cannot be negative: {limit_a}")
    if transaction_id is not None and purpose != TX_PROFILE:
        raise ValueError(f"Only a {TX_PROFILE} names a transaction, not a {purpose}")
    if start.tzinfo is None or (valid_to is not None and valid_to.tzinfo is None):
        raise ValueError("Profile timestamps must be timezone-aware")
    if unit == WATT:
        limit = _round_down(amps_to_watts(limit_a, phases, voltage_v), 1.0)
    else:
        limit = _round_down(limit_a, 0.1)
    period: dict[str, Any] = {"start_period": 0, "limit": limit}
    # A ChargingSchedulePeriod without number_phases means three phases (OCPP 1.6).
    if phases < _MAX_PHASES:
        period["number_phases"] = phases
    profile: dict[str, Any] = {
        "charging_profile_id": profile_id,
        "stack_level": stack_level,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": ABSOLUTE,
        "charging_schedule": {
            "charging_rate_unit": unit,
            "charging_schedule_period": [period],
            "start_schedule": format_timestamp(start),
        },
    }
    if transaction_id is not None:
        profile["transaction_id"] = transaction_id
    if valid_to is not None:
        profile["valid_to"] = format_timestamp(valid_to)
    return profile


def _schedule_limit_a(schedule: Mapping[str, Any], phases: int, voltage_v: float) -> float | None:
    """The first period's limit of a charging schedule, per phase in A."""
    periods = schedule.get("charging_schedule_period") or []
    if not periods:
        return None
    first = periods[0]
    try:
        limit = float(first["limit"])
    except KeyError, TypeError, ValueError:
        return None
    unit = str(schedule.get("charging_rate_unit", AMPERE)).upper()
    if unit == AMPERE:
        return limit
    if unit != WATT:
        return None
    # A period's own number of phases is what the limit was meant for.
    period_phases = first.get("number_phases") or phases
    return round(watts_to_amps(limit, int(period_phases), voltage_v), _READ_BACK_DECIMALS)


def profile_limit_a(profile: Mapping[str, Any], phases: int, voltage_v: float) -> float | None:
    """The steady limit (first period) of a profile in A; None without periods."""
    return _schedule_limit_a(profile.get("charging_schedule") or {}, phases, voltage_v)


def composite_limit_a(schedule: Mapping[str, Any], phases: int, voltage_v: float) -> float | None:
    """The current limit of a GetCompositeSchedule.conf ``charging_schedule`` in A.

    A composite schedule starts at the time it was asked for, so its first
    period is the limit the charger applies now.
    """
    return _schedule_limit_a(schedule, phases, voltage_v)


def _request_part(profile: Mapping[str, Any]) -> dict[str, Any]:
    """A profile without the timestamps that move on with every resend."""
    request = {key: value for key, value in profile.items() if key != "valid_to"}
    schedule = request.get("charging_schedule")
    if isinstance(schedule, Mapping):
        request["charging_schedule"] = {
            key: value for key, value in schedule.items() if key != "start_schedule"
        }
    return request


def same_limit(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether two profiles ask for the same thing, apart from their timestamps."""
    if a is None or b is None:
        return a is b
    return _request_part(a) == _request_part(b)


class ProfileError(ValueError):
    """A charging profile breaks an OCPP 1.6 rule; keys name the rule for translations."""

    def __init__(self, translation_key: str, placeholders: Mapping[str, str] | None = None) -> None:
        """Keep the rule's translation key and the values that explain it."""
        self.translation_key = translation_key
        self.placeholders: dict[str, str] = dict(placeholders or {})
        details = ", ".join(f"{key}={value}" for key, value in self.placeholders.items())
        super().__init__(f"{translation_key} ({details})" if details else translation_key)


def _timestamp(value: object, field: str) -> datetime:
    """A profile timestamp given as datetime or ISO 8601 string, in UTC."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise ProfileError("invalid_timestamp", {"field": field, "value": str(value)}) from None
    # OCPP 1.6 section 3.1: timestamps are UTC; one without an offset means it.
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def check_profile(
    profile: Mapping[str, Any],
    connector_id: int,
    *,
    capabilities: ChargingCapabilities,
    running_transaction_id: int | None,
    connector_ids: set[int] | None,
) -> None:
    """Raise ProfileError when a SetChargingProfile.req would break an OCPP 1.6 rule.

    ``running_transaction_id`` is the transaction running on ``connector_id``;
    ``connector_ids`` the charger's connectors when known.
    """
    if connector_ids is not None and connector_id != 0 and connector_id not in connector_ids:
        raise ProfileError("unknown_connector", {"connector_id": str(connector_id)})
    _check_purpose(profile, connector_id, running_transaction_id)
    _check_stack_level(profile, capabilities)
    _check_kind(profile)
    _check_validity(profile)
    _check_schedule(profile.get("charging_schedule") or {}, capabilities)


def _check_purpose(
    profile: Mapping[str, Any], connector_id: int, running_transaction_id: int | None
) -> None:
    """Where each purpose may be set (OCPP 1.6 sections 3.13 and 5.16)."""
    purpose = profile.get("charging_profile_purpose")
    transaction_id = profile.get("transaction_id")
    if purpose == CHARGE_POINT_MAX_PROFILE:
        if connector_id != 0:
            raise ProfileError("charge_point_max_connector")
        # A Relative schedule starts with a transaction; the whole charge
        # point's limit has none to start with.
        if profile.get("charging_profile_kind") == RELATIVE:
            raise ProfileError("charge_point_max_relative")
    if purpose != TX_PROFILE:
        if transaction_id is not None:
            raise ProfileError("transaction_id_not_allowed")
        return
    if connector_id == 0:
        raise ProfileError("tx_profile_connector")
    # Section 5.16: a TxProfile is only set on a connector with a running transaction.
    if running_transaction_id is None:
        raise ProfileError("tx_profile_no_transaction")
    if transaction_id is not None and transaction_id != running_transaction_id:
        raise ProfileError(
            "tx_profile_wrong_transaction",
            {
                "transaction_id": str(transaction_id),
                "running_transaction_id": str(running_transaction_id),
            },
        )


def _check_stack_level(profile: Mapping[str, Any], capabilities: ChargingCapabilities) -> None:
    """ChargeProfileMaxStackLevel bounds the stack levels a charger keeps."""
    stack_level = profile.get("stack_level")
    maximum = capabilities.max_stack_level
    if maximum is not None and stack_level is not None and int(stack_level) > maximum:
        raise ProfileError(
            "stack_level_too_high",
            {"stack_level": str(stack_level), "max_stack_level": str(maximum)},
        )


def _check_kind(profile: Mapping[str, Any]) -> None:
    """What each profile kind needs (OCPP 1.6 section 7.8)."""
    kind = profile.get("charging_profile_kind")
    schedule = profile.get("charging_schedule") or {}
    has_start = schedule.get("start_schedule") is not None
    if kind == RECURRING:
        if profile.get("recurrency_kind") is None:
            raise ProfileError("recurrency_kind_required")
        # A recurring schedule repeats from its start; without one there is nothing to repeat.
        if not has_start:
            raise ProfileError("start_schedule_required")
    elif profile.get("recurrency_kind") is not None:
        raise ProfileError("recurrency_kind_not_allowed")
    # A Relative schedule starts when the transaction does.
    if kind == RELATIVE and has_start:
        raise ProfileError("start_schedule_not_allowed")


def _check_validity(profile: Mapping[str, Any]) -> None:
    """Timestamps must be readable and the validity window must not be empty."""
    schedule = profile.get("charging_schedule") or {}
    if schedule.get("start_schedule") is not None:
        _timestamp(schedule["start_schedule"], "start_schedule")
    valid_from = profile.get("valid_from")
    valid_to = profile.get("valid_to")
    start = None if valid_from is None else _timestamp(valid_from, "valid_from")
    end = None if valid_to is None else _timestamp(valid_to, "valid_to")
    if start is not None and end is not None and start >= end:
        raise ProfileError(
            "validity_reversed",
            {"valid_from": format_timestamp(start), "valid_to": format_timestamp(end)},
        )


def _check_schedule(schedule: Mapping[str, Any], capabilities: ChargingCapabilities) -> None:
    """Unit and periods against the charger's configuration (OCPP 1.6 section 9.4)."""
    unit = schedule.get("charging_rate_unit")
    if unit not in capabilities.units:
        raise ProfileError(
            "unit_not_supported", {"unit": str(unit), "units": ", ".join(capabilities.units)}
        )
    periods = schedule.get("charging_schedule_period") or []
    maximum = capabilities.max_periods
    if maximum is not None and len(periods) > maximum:
        raise ProfileError(
            "too_many_periods", {"periods": str(len(periods)), "max_periods": str(maximum)}
        )
    starts = [period.get("start_period") for period in periods]
    # The first period starts with the schedule, each later one after its predecessor.
    if (
        not starts
        or starts[0] != 0
        or any(start is None for start in starts)
        or any(later <= earlier for earlier, later in pairwise(starts))
    ):
        raise ProfileError("periods_not_ascending")
