"""Charging profile bookkeeping for the Smart Charging feature profile.

Profiles are kept as the snake_case dicts the ocpp package hands to the
handlers. Only the first period of a schedule is applied to the meter; a
simulated session is short compared to a real schedule.
"""

from collections.abc import Iterable
from typing import Any

TX_PROFILE = "TxProfile"
TX_DEFAULT_PROFILE = "TxDefaultProfile"
CHARGE_POINT_MAX_PROFILE = "ChargePointMaxProfile"
AMPERE = "A"
WATT = "W"

type Profile = dict[str, Any]
type ProfileStore = dict[int, list[Profile]]


def highest(profiles: Iterable[Profile], purpose: str) -> Profile | None:
    """Profile with `purpose` and the highest stack level, which takes precedence."""
    matching = [p for p in profiles if p.get("charging_profile_purpose") == purpose]
    return max(matching, key=lambda p: int(p.get("stack_level", 0)), default=None)


def install(store: ProfileStore, connector_id: int, profile: Profile) -> None:
    """Add `profile`, replacing one with the same id or purpose and stack level."""
    profile_id = profile.get("charging_profile_id")
    for profiles in store.values():
        profiles[:] = [p for p in profiles if p.get("charging_profile_id") != profile_id]
    same_slot = (profile.get("charging_profile_purpose"), profile.get("stack_level"))
    profiles = store.setdefault(connector_id, [])
    profiles[:] = [
        p
        for p in profiles
        if (p.get("charging_profile_purpose"), p.get("stack_level")) != same_slot
    ]
    profiles.append(profile)


def clear(
    store: ProfileStore,
    *,
    profile_id: int | None = None,
    connector_id: int | None = None,
    purpose: str | None = None,
    stack_level: int | None = None,
) -> bool:
    """Remove matching profiles; return whether anything was removed.

    An id selects one profile on its own; otherwise all given criteria must
    match (OCPP 1.6 ClearChargingProfile.req).
    """

    def matches(connector: int, profile: Profile) -> bool:
        if profile_id is not None:
            return bool(profile.get("charging_profile_id") == profile_id)
        return (
            (connector_id is None or connector == connector_id)
            and (purpose is None or profile.get("charging_profile_purpose") == purpose)
            and (stack_level is None or profile.get("stack_level") == stack_level)
        )

    removed = False
    for connector, profiles in store.items():
        kept = [p for p in profiles if not matches(connector, p)]
        removed = removed or len(kept) != len(profiles)
        profiles[:] = kept
    return removed


def transaction_profile(
    store: ProfileStore, connector_id: int, *, in_transaction: bool
) -> Profile | None:
    """Profile that governs a (future) transaction on `connector_id`.

    A TxProfile overrules the defaults while its transaction runs, and a
    connector's own TxDefaultProfile overrules the one set on connector 0.
    """
    own = store.get(connector_id, [])
    if in_transaction and (profile := highest(own, TX_PROFILE)) is not None:
        return profile
    return highest(own, TX_DEFAULT_PROFILE) or highest(store.get(0, []), TX_DEFAULT_PROFILE)


def convert(limit: float, from_unit: str, to_unit: str, phases: int, voltage_v: float) -> float:
    """Convert a limit between A (per phase) and W."""
    if from_unit == to_unit:
        return limit
    if to_unit == WATT:
        return limit * phases * voltage_v
    return limit / (phases * voltage_v)


def periods(profile: Profile, unit: str, phases: int, voltage_v: float) -> list[tuple[int, float]]:
    """Schedule periods of `profile` as (start second, limit in `unit`)."""
    schedule = profile["charging_schedule"]
    from_unit = str(schedule.get("charging_rate_unit", AMPERE))
    result = []
    for period in sorted(
        schedule.get("charging_schedule_period", []),
        key=lambda p: int(p.get("start_period", 0)),
    ):
        period_phases = int(period.get("number_phases") or phases)
        limit = convert(float(period["limit"]), from_unit, unit, period_phases, voltage_v)
        result.append((int(period.get("start_period", 0)), limit))
    return result


def first_limit(profile: Profile, unit: str, phases: int, voltage_v: float) -> float | None:
    """Limit of the first schedule period in `unit`, None for an empty schedule."""
    schedule_periods = periods(profile, unit, phases, voltage_v)
    return schedule_periods[0][1] if schedule_periods else None
