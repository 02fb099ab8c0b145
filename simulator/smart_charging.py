"""Charging profiles of the Smart Charging feature profile and the limits they set.

Profiles are kept as the snake_case dicts the ocpp package hands to the
handlers, stamped with the moment they arrived. Everything here is pure: the
time is passed in (timezone-aware, UTC), nothing sleeps or sends.

How a limit comes about (OCPP 1.6 section 3.13):

- a profile applies at a moment when it is valid (`valid_from`/`valid_to`)
  and one of its schedule periods has begun and its `duration` has not run
  out; Absolute schedules count from `start_schedule` (from the transaction
  start without one), Relative ones from the transaction start, Recurring
  ones from `start_schedule` moved on by whole days or weeks;
- within a purpose the highest stack level among the profiles that apply
  wins, so a lower level takes over when a higher one ends;
- a connector's TxProfile overrules its TxDefaultProfile, which overrules a
  TxDefaultProfile on connector 0;
- a ChargePointMaxProfile caps the sum of the charging connectors' currents
  per phase, shared out by `share()`.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
import math
from typing import Any

TX_PROFILE = "TxProfile"
TX_DEFAULT_PROFILE = "TxDefaultProfile"
CHARGE_POINT_MAX_PROFILE = "ChargePointMaxProfile"
ABSOLUTE = "Absolute"
RELATIVE = "Relative"
RECURRING = "Recurring"
AMPERE = "A"
WATT = "W"

# Configuration keys of the Smart Charging feature profile (OCPP 1.6 section 9.4).
MAX_STACK_LEVEL_KEY = "ChargeProfileMaxStackLevel"
ALLOWED_UNITS_KEY = "ChargingScheduleAllowedChargingRateUnit"
MAX_PERIODS_KEY = "ChargingScheduleMaxPeriods"

# IEC 61851-1: the control pilot cannot offer an EV less than 6 A, so a lower
# limit pauses charging.
MIN_CURRENT_A = 6.0

# Key under which install() stamps a profile's arrival: the start of schedules
# that have nothing else to count from.
RECEIVED_AT = "received_at"

_RATE_UNITS = {"current": AMPERE, "power": WATT}
_RECURRENCE = {"Daily": timedelta(days=1), "Weekly": timedelta(weeks=1)}
# A composite schedule of a recurring profile could go on for ever; a charger
# reports a bounded number of periods.
_MAX_COMPOSITE_PERIODS = 1000
# Limits are reported and shared in steps of 0.1 (the schema's multipleOf);
# the tolerance keeps 7.3 (72.99999... tenths in binary) from losing a step.
_STEPS_PER_UNIT = 10
_TOLERANCE = 1e-9
_LATEST = datetime.max.replace(tzinfo=UTC)

type Profile = dict[str, Any]
type ProfileStore = dict[int, list[Profile]]


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What a connector's limit depends on besides the profiles."""

    max_current_a: float = 16.0
    phases: int = 3
    voltage_v: float = 230.0
    # Whether the connector draws current (a vehicle charges on it).
    charging: bool = False
    transaction_id: int | None = None
    transaction_start: datetime | None = None


@dataclass(frozen=True, slots=True)
class Limit:
    """Current per phase a connector (or the charge point) may draw, on how many phases."""

    current_a: float
    phases: int


@dataclass(frozen=True, slots=True)
class SchedulePeriod:
    """The schedule period of a profile in effect at some moment."""

    limit: float
    unit: str
    number_phases: int | None = None


# ----------------------------------------------------------------------
# Bookkeeping
# ----------------------------------------------------------------------


def parse_time(value: object) -> datetime | None:
    """An OCPP timestamp as an aware datetime; None when absent or unreadable."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """A timestamp as OCPP wants it: ISO 8601 in UTC with a 'Z'."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def install(
    store: ProfileStore,
    connector_id: int,
    profile: Profile,
    *,
    received_at: datetime | None = None,
) -> None:
    """Add `profile`, replacing one with the same id or purpose and stack level."""
    profile = {**profile, RECEIVED_AT: received_at or datetime.now(UTC)}
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


# ----------------------------------------------------------------------
# What a charger accepts
# ----------------------------------------------------------------------


def allowed_units(configured: Iterable[str]) -> frozenset[str]:
    """Rate units of ChargingScheduleAllowedChargingRateUnit ("Current", "Power") as A and W.

    A charger without the key takes both.
    """
    units = frozenset(
        unit for item in configured if (unit := _RATE_UNITS.get(item.strip().lower()))
    )
    return units or frozenset({AMPERE, WATT})


def preferred_unit(units: Iterable[str]) -> str:
    """The unit a charger reports in unless asked otherwise: A when it takes A."""
    return AMPERE if AMPERE in units else WATT


def rejection(
    profile: Mapping[str, Any],
    connector_id: int,
    *,
    connector_count: int,
    running_transaction_id: int | None,
    max_stack_level: int,
    units: Iterable[str],
    max_periods: int = 0,
) -> str | None:
    """Why a strict charger answers SetChargingProfile with Rejected; None when it accepts.

    `running_transaction_id` is the transaction on `connector_id`, `units`
    the allowed rate units (A, W) and `max_periods` the most periods a
    schedule may have (0: no limit).
    """
    purpose = profile.get("charging_profile_purpose")
    schedule = profile.get("charging_schedule") or {}
    periods = schedule.get("charging_schedule_period") or []
    checks = (
        (not 0 <= connector_id <= connector_count, f"no connector {connector_id}"),
        (
            int(profile.get("stack_level", 0)) > max_stack_level,
            f"stack level above {max_stack_level}",
        ),
        (
            purpose == CHARGE_POINT_MAX_PROFILE and connector_id != 0,
            "a ChargePointMaxProfile belongs on connector 0",
        ),
        # Section 5.16: a TxProfile is only set for the running transaction.
        (
            purpose == TX_PROFILE and running_transaction_id is None,
            f"no transaction on connector {connector_id}",
        ),
        (
            purpose == TX_PROFILE
            and profile.get("transaction_id") not in (None, running_transaction_id),
            f"transaction {profile.get('transaction_id')} is not running",
        ),
        (
            schedule.get("charging_rate_unit") not in set(units),
            f"rate unit {schedule.get('charging_rate_unit')} not allowed",
        ),
        (not periods, "a schedule without periods"),
        (0 < max_periods < len(periods), f"more than {max_periods} periods"),
        (
            profile.get("charging_profile_kind") == RECURRING
            and profile.get("recurrency_kind") not in _RECURRENCE,
            "a Recurring profile without its recurrency kind",
        ),
        (not _readable_times(profile), "an unreadable timestamp"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _readable_times(profile: Mapping[str, Any]) -> bool:
    schedule = profile.get("charging_schedule") or {}
    values = (profile.get("valid_from"), profile.get("valid_to"), schedule.get("start_schedule"))
    return all(value is None or parse_time(value) is not None for value in values)


# ----------------------------------------------------------------------
# One profile over time
# ----------------------------------------------------------------------


def schedule_anchor(
    profile: Mapping[str, Any], now: datetime, transaction_start: datetime | None = None
) -> datetime | None:
    """The moment the schedule's periods count from, as it stands at `now`.

    None when there is none: a Relative TxDefaultProfile without a
    transaction. A ChargePointMaxProfile has no transaction of its own, so
    when its schedule needs one it counts from the profile's arrival.
    """
    schedule = profile.get("charging_schedule") or {}
    start = parse_time(schedule.get("start_schedule"))
    received = parse_time(profile.get(RECEIVED_AT))
    if profile.get("charging_profile_purpose") == CHARGE_POINT_MAX_PROFILE:
        transaction_start = received
    kind = profile.get("charging_profile_kind")
    if kind == RELATIVE:
        return transaction_start
    if kind == RECURRING:
        base = start or received
        length = _RECURRENCE.get(str(profile.get("recurrency_kind")))
        if base is None or length is None:
            return None
        return base + (now - base) // length * length
    return start or transaction_start or received


def _sorted_periods(schedule: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return sorted(
        schedule.get("charging_schedule_period") or [],
        key=lambda period: int(period.get("start_period", 0)),
    )


def _valid_at(profile: Mapping[str, Any], now: datetime) -> bool:
    valid_from = parse_time(profile.get("valid_from"))
    valid_to = parse_time(profile.get("valid_to"))
    return (valid_from is None or valid_from <= now) and (valid_to is None or now < valid_to)


def active_period(
    profile: Mapping[str, Any], now: datetime, transaction_start: datetime | None = None
) -> SchedulePeriod | None:
    """The schedule period of `profile` in effect at `now`; None when it does not apply."""
    if not _valid_at(profile, now):
        return None
    anchor = schedule_anchor(profile, now, transaction_start)
    if anchor is None:
        return None
    schedule = profile.get("charging_schedule") or {}
    offset = (now - anchor).total_seconds()
    duration = schedule.get("duration")
    if offset < 0 or (duration is not None and offset >= int(duration)):
        return None
    current = None
    for period in _sorted_periods(schedule):
        if int(period.get("start_period", 0)) > offset:
            break
        current = period
    if current is None:
        return None
    phases = current.get("number_phases")
    return SchedulePeriod(
        limit=float(current["limit"]),
        unit=str(schedule.get("charging_rate_unit", AMPERE)),
        number_phases=None if phases is None else int(phases),
    )


def next_change(
    profile: Mapping[str, Any], now: datetime, transaction_start: datetime | None = None
) -> datetime | None:
    """The first moment after `now` at which what `profile` says may change."""
    moments = [parse_time(profile.get("valid_from")), parse_time(profile.get("valid_to"))]
    anchor = schedule_anchor(profile, now, transaction_start)
    if anchor is not None:
        schedule = profile.get("charging_schedule") or {}
        moments.extend(
            anchor + timedelta(seconds=int(period.get("start_period", 0)))
            for period in _sorted_periods(schedule)
        )
        if schedule.get("duration") is not None:
            moments.append(anchor + timedelta(seconds=int(schedule["duration"])))
        length = _RECURRENCE.get(str(profile.get("recurrency_kind")))
        if profile.get("charging_profile_kind") == RECURRING and length is not None:
            moments.append(anchor + length)
    return min((moment for moment in moments if moment is not None and moment > now), default=None)


# ----------------------------------------------------------------------
# Limits of connectors and of the charge point
# ----------------------------------------------------------------------


def _prevailing(
    profiles: Iterable[Mapping[str, Any]],
    purpose: str,
    now: datetime,
    transaction_start: datetime | None,
    transaction_id: int | None = None,
) -> SchedulePeriod | None:
    """Period of the highest stack level among the profiles of `purpose` that apply now."""
    candidates = [
        profile
        for profile in profiles
        if profile.get("charging_profile_purpose") == purpose
        and (purpose != TX_PROFILE or profile.get("transaction_id") in (None, transaction_id))
    ]
    candidates.sort(key=lambda profile: int(profile.get("stack_level", 0)), reverse=True)
    for profile in candidates:
        period = active_period(profile, now, transaction_start)
        if period is not None:
            return period
    return None


def _in_amperes(period: SchedulePeriod, phases: int, voltage_v: float) -> Limit:
    """A period's limit per phase, on the phases it lets the vehicle use."""
    used = min(phases, period.number_phases or phases)
    current = period.limit
    if period.unit == WATT:
        current = period.limit / (used * voltage_v)
    return Limit(max(current, 0.0), used)


def _narrower(first: Limit, second: Limit) -> Limit:
    return Limit(min(first.current_a, second.current_a), min(first.phases, second.phases))


def _site(contexts: Mapping[int, ConnectorContext]) -> ConnectorContext:
    """The charge point as a whole: its phases, voltage and total rating."""
    if not contexts:
        return ConnectorContext()
    first = contexts[min(contexts)]
    return ConnectorContext(
        max_current_a=sum(context.max_current_a for context in contexts.values()),
        phases=max(context.phases for context in contexts.values()),
        voltage_v=first.voltage_v,
    )


def connector_limit(
    store: ProfileStore, connector_id: int, context: ConnectorContext, now: datetime
) -> Limit:
    """A connector's own limit: its rating and its (default) transaction profiles."""
    start = context.transaction_start
    period = None
    if context.transaction_id is not None:
        period = _prevailing(
            store.get(connector_id, []), TX_PROFILE, now, start, context.transaction_id
        )
    period = (
        period
        or _prevailing(store.get(connector_id, []), TX_DEFAULT_PROFILE, now, start)
        or _prevailing(store.get(0, []), TX_DEFAULT_PROFILE, now, start)
    )
    rating = Limit(context.max_current_a, context.phases)
    if period is None:
        return rating
    return _narrower(rating, _in_amperes(period, context.phases, context.voltage_v))


def charge_point_limit(
    store: ProfileStore, contexts: Mapping[int, ConnectorContext], now: datetime
) -> Limit | None:
    """The ChargePointMaxProfile limit per phase at `now`; None when none applies.

    A limit in W is converted with the most phases any connector has.
    """
    period = _prevailing(store.get(0, []), CHARGE_POINT_MAX_PROFILE, now, None)
    if period is None:
        return None
    site = _site(contexts)
    return _in_amperes(period, site.phases, site.voltage_v)


def _pilot(limit: Limit, context: ConnectorContext) -> Limit:
    """What the control pilot can offer: nothing below the IEC 61851 minimum."""
    if limit.current_a < min(MIN_CURRENT_A, context.max_current_a):
        return replace(limit, current_a=0.0)
    return limit


def _round_down(value: float) -> float:
    return math.floor(value * _STEPS_PER_UNIT + _TOLERANCE) / _STEPS_PER_UNIT


def _fill(total: float, demands: Mapping[int, float]) -> dict[int, float]:
    """Share `total` out: every demand up to an equal level, the level as high as fits."""
    allocation: dict[int, float] = {}
    remaining = max(total, 0.0)
    waiting = sorted(demands, key=lambda key: demands[key])
    while waiting:
        level = remaining / len(waiting)
        smallest = waiting[0]
        if demands[smallest] <= level:
            allocation[smallest] = demands[smallest]
            remaining = max(remaining - demands[smallest], 0.0)
            waiting.pop(0)
            continue
        # Whole steps keep the sum from passing the total by a rounding error.
        allocation.update(dict.fromkeys(waiting, _round_down(level)))
        break
    return allocation


def share(maximum: float, demands: Sequence[tuple[int, float]]) -> dict[int, float]:
    """Share a charge point's `maximum` among charging connectors.

    `demands` are (connector, own limit) in order of priority. Every
    connector gets its own limit when that is below an equal share; what is
    left is shared equally among those that want more. When the equal share
    falls below the 6 A minimum, the connectors last in line get nothing
    (they pause) until it is enough for the others.
    """
    served = [(connector, demand) for connector, demand in demands if demand > 0]
    allocation: dict[int, float] = {}
    while served:
        allocation = _fill(maximum, dict(served))
        if all(allocation[connector] >= min(MIN_CURRENT_A, demand) for connector, demand in served):
            break
        served.pop()
        allocation = {}
    return {connector: allocation.get(connector, 0.0) for connector, _ in demands}


def applied_limits(
    store: ProfileStore, contexts: Mapping[int, ConnectorContext], now: datetime
) -> dict[int, Limit]:
    """The limit every connector applies at `now`.

    A connector gets the lowest of its rating, its profiles and the
    ChargePointMaxProfile; a charging connector at most its share of the
    maximum. Limits below 6 A become 0.
    """
    maximum = charge_point_limit(store, contexts, now)
    limits: dict[int, Limit] = {}
    for connector_id, context in contexts.items():
        limit = connector_limit(store, connector_id, context, now)
        if maximum is not None:
            limit = _narrower(limit, maximum)
        limits[connector_id] = _pilot(limit, context)
    if maximum is None:
        return limits
    # First come, first served: a connector charging longer keeps its current.
    charging = sorted(
        (c for c, context in contexts.items() if context.charging and limits[c].current_a > 0),
        key=lambda c: (contexts[c].transaction_start or _LATEST, c),
    )
    shares = share(maximum.current_a, [(c, limits[c].current_a) for c in charging])
    for connector_id, current in shares.items():
        limits[connector_id] = replace(limits[connector_id], current_a=current)
    return limits


def _relevant(
    store: ProfileStore, contexts: Mapping[int, ConnectorContext], connector_id: int | None
) -> Iterator[tuple[Profile, datetime | None]]:
    """Profiles that matter to the connector(s), each with its transaction start."""
    if connector_id == 0:
        for profile in store.get(0, []):
            if profile.get("charging_profile_purpose") == CHARGE_POINT_MAX_PROFILE:
                yield profile, None
        return
    for connector, context in contexts.items():
        if connector_id is not None and connector != connector_id:
            continue
        for profile in (*store.get(connector, []), *store.get(0, [])):
            yield profile, context.transaction_start


def next_limit_change(
    store: ProfileStore,
    contexts: Mapping[int, ConnectorContext],
    now: datetime,
    connector_id: int | None = None,
) -> datetime | None:
    """The first moment after `now` at which a limit may change; None when none will.

    Without `connector_id` for any connector, with 0 for the charge point's maximum.
    """
    moments = (
        next_change(profile, now, start)
        for profile, start in _relevant(store, contexts, connector_id)
    )
    return min((moment for moment in moments if moment is not None), default=None)


def composite_limit(
    store: ProfileStore, connector_id: int, contexts: Mapping[int, ConnectorContext], now: datetime
) -> Limit:
    """The composite limit at `now`: rating and profiles, the charge point's maximum included.

    Connector 0 stands for the charge point: the sum of the ratings, capped
    by the ChargePointMaxProfile. The share of the maximum and the 6 A
    minimum are not part of it: they depend on the other connectors.
    """
    maximum = charge_point_limit(store, contexts, now)
    if connector_id == 0:
        site = _site(contexts)
        limit = Limit(site.max_current_a, site.phases)
    else:
        limit = connector_limit(store, connector_id, contexts[connector_id], now)
    return limit if maximum is None else _narrower(limit, maximum)


def _composite_period(
    offset: int, limit: Limit, unit: str, context: ConnectorContext
) -> dict[str, Any]:
    value = limit.current_a
    if unit == WATT:
        value = limit.current_a * limit.phases * context.voltage_v
    period: dict[str, Any] = {"start_period": offset, "limit": round(_round_down(value), 1)}
    if limit.phases < context.phases:
        period["number_phases"] = limit.phases
    return period


def composite_schedule(
    store: ProfileStore,
    connector_id: int,
    contexts: Mapping[int, ConnectorContext],
    now: datetime,
    *,
    duration: int,
    unit: str,
) -> dict[str, Any]:
    """GetCompositeSchedule's chargingSchedule: the limits from `now` for `duration` seconds.

    The schedule starts at `now` in whole seconds; limits are rounded down
    to 0.1 in `unit`.
    """
    context = _site(contexts) if connector_id == 0 else contexts[connector_id]
    start = now.replace(microsecond=0)
    periods: list[dict[str, Any]] = []
    moment, offset = now, 0
    for _ in range(_MAX_COMPOSITE_PERIODS):
        limit = composite_limit(store, connector_id, contexts, moment)
        period = _composite_period(offset, limit, unit, context)
        if periods and periods[-1]["start_period"] == offset:
            periods.pop()
        if not periods or {**periods[-1], "start_period": offset} != period:
            periods.append(period)
        following = next_limit_change(store, contexts, moment, connector_id)
        if following is None:
            break
        offset = math.ceil((following - start).total_seconds())
        if offset >= duration:
            break
        moment = following
    return {
        "duration": duration,
        "start_schedule": format_time(start),
        "charging_rate_unit": unit,
        "charging_schedule_period": periods,
    }
