"""Site load management: share a building connection's headroom among chargers.

Many chargers behind one grid connection share its fuse. The central system
works out what the chargers may use in total (the budget), shares it among the
active charging sessions and sends each a limit in A per phase. Everything here
is pure: the caller reads the grid sensor and sends the charging profiles.

All limits handed out are whole amperes: chargers differ in the decimals they
accept in a ``chargingSchedulePeriod.limit``, whole amperes are accepted by all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
import math

# Re-exported: an allocation below MIN_CURRENT_A (IEC 61851-1) is 0 A, a pause.
from .smart_charging import MIN_CURRENT_A, NOMINAL_VOLTAGE_V

__all__ = [
    "MIN_CURRENT_A",
    "NOMINAL_VOLTAGE_V",
    "Budget",
    "ConnectorKey",
    "GridReading",
    "Participant",
    "SiteLimits",
    "Slot",
    "allocate",
    "changes",
    "demand_after_reading",
    "ev_budget",
    "failsafe_limits",
    "total_current_a",
]

# A car drawing this much less than its allocation has reached its own limit
# (battery management, onboard charger); its unused share goes to others.
RECLAIM_BELOW_A = 2.0
# A car drawing within this margin of its allocation may want more.
RELEASE_WITHIN_A = 1.0
# What a reclaimed car keeps above its draw, so it can drift up a little. More
# than RELEASE_WITHIN_A: a car that keeps drawing the same is not released at
# its next reading (and reclaimed again at the one after).
RECLAIM_MARGIN_A = 2.0

# Guards floor/ceil against values such as 15.999999999 from unit conversions.
_ROUNDING_SLACK = 1e-9

type ConnectorKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class SiteLimits:
    """What the grid connection allows.

    ``current_a`` is in A per phase at the connection, ``power_w`` in W. With
    ``solar_only`` the chargers may use only the PV surplus: the grid import
    target is 0 W instead of the limits (see ``ev_budget``).
    """

    current_a: float | None
    power_w: float | None
    solar_only: bool = False


@dataclass(frozen=True, slots=True)
class GridReading:
    """The building's grid import as measured by a sensor.

    ``current_a`` is the highest phase in A; ``power_w`` is in W, negative when
    the building exports.
    """

    current_a: float | None = None
    power_w: float | None = None
    # When it was measured: the chargers' draw then is what it includes.
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Budget:
    """What the chargers may use in total; ``None`` means no constraint of that kind."""

    current_a: float | None
    power_w: float | None


@dataclass(frozen=True, slots=True)
class Participant:
    """An active charging session that takes part in the sharing.

    ``max_a`` is the connector's maximum, including the user's own limit.
    ``demand_a`` is what the car draws at most right now (``None``: unknown,
    assume ``max_a``). Higher ``priority`` is served first; ``order`` breaks
    ties, lower first (e.g. the session's start timestamp).
    """

    key: ConnectorKey
    max_a: float
    min_a: float = MIN_CURRENT_A
    phases: int = 3
    priority: int = 0
    demand_a: float | None = None
    order: float = 0.0
    voltage_v: float = NOMINAL_VOLTAGE_V


@dataclass(frozen=True, slots=True)
class Slot:
    """A connector that needs a failsafe limit (its TxDefaultProfile)."""

    key: ConnectorKey
    max_a: float
    phases: int = 3
    priority: int = 0
    order: float = 0.0
    voltage_v: float = NOMINAL_VOLTAGE_V


def ev_budget(
    limits: SiteLimits,
    reading: GridReading | None,
    *,
    ev_current_a: float,
    ev_power_w: float,
) -> Budget:
    """Return what the chargers may use in total.

    ``ev_current_a`` and ``ev_power_w`` are what the chargers draw now (the
    highest phase, and the sum of their power); a grid sensor sees them as part
    of the building's import, so they are taken out to find the other load.

    Without a reading the chargers are taken to be the only load. In solar mode
    the power budget is the surplus: what is exported now plus what the chargers
    already use. A current sensor has no sign, so it cannot tell import from
    export: in solar mode a current reading only protects the fuse, and without
    a power reading there is no surplus information, so the budget falls back
    to the limits as in normal mode.
    """
    current = _limit_less_other_load(
        limits.current_a, None if reading is None else reading.current_a, ev_current_a
    )
    power: float | None
    if limits.solar_only and reading is not None and reading.power_w is not None:
        surplus = max(0.0, ev_power_w - reading.power_w)
        power = surplus if limits.power_w is None else min(surplus, max(0.0, limits.power_w))
    else:
        power = _limit_less_other_load(
            limits.power_w, None if reading is None else reading.power_w, ev_power_w
        )
    return Budget(current_a=current, power_w=power)


def _limit_less_other_load(
    limit: float | None, measured: float | None, ev_part: float
) -> float | None:
    if limit is None:
        return None
    # Export is not headroom for the fuse in normal mode: other load never counts below 0.
    other_load = 0.0 if measured is None else max(0.0, measured - ev_part)
    return max(0.0, limit - other_load)


class _Headroom:
    """What is still free of a budget while allocations are handed out."""

    __slots__ = ("_budget", "_used_a", "_used_w")

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._used_a = 0.0
        self._used_w = 0.0

    def fits(self, amps: float, watts: float) -> bool:
        """Tell whether ``amps`` (costing ``watts``) more stay within the budget."""
        limit_a, limit_w = self._budget.current_a, self._budget.power_w
        return (limit_a is None or self._used_a + amps <= limit_a) and (
            limit_w is None or self._used_w + watts <= limit_w
        )

    def take(self, amps: float, watts: float) -> None:
        """Book ``amps`` (costing ``watts``) as used."""
        self._used_a += amps
        self._used_w += watts


@dataclass(slots=True)
class _Share:
    """A participant's whole-ampere bounds and its allocation so far."""

    key: ConnectorKey
    priority: int
    low: int
    high: int
    watts_per_a: float
    amps: int = 0


def allocate(participants: Sequence[Participant], budget: Budget) -> dict[ConnectorKey, float]:
    """Share ``budget`` among ``participants``; return A per phase per key.

    Every participant gets 0 (paused) or a whole number of amperes between its
    minimum and its cap (its maximum, lowered to its demand but not below its
    minimum). Every participant's amperes count against the current budget
    whatever its phases: a single-phase charger may sit on any phase.

    The minimum goes first to as many participants as fit, by priority and
    then order; the others are paused. What is left is filled like water, one
    priority class after the other: equal amperes for everyone in the class up
    to their caps, then the leftover amperes one by one in order. A lower class
    gets more than its minimum only when the higher classes cannot take more.
    """
    keys = [participant.key for participant in participants]
    if len(set(keys)) != len(keys):
        raise ValueError("participants must have distinct keys")
    headroom = _Headroom(budget)
    admitted: list[_Share] = []
    for participant in sorted(participants, key=_participant_rank):
        share = _share_of(participant)
        if share.low > share.high:
            continue  # its maximum is below the current it needs to charge at all
        if headroom.fits(share.low, share.low * share.watts_per_a):
            headroom.take(share.low, share.low * share.watts_per_a)
            share.amps = share.low
            admitted.append(share)
    for _, members in groupby(admitted, key=lambda share: share.priority):
        _fill_class(list(members), headroom)
    allocations = dict.fromkeys(keys, 0.0)
    allocations.update({share.key: float(share.amps) for share in admitted})
    return allocations


def _participant_rank(participant: Participant) -> tuple[int, float, ConnectorKey]:
    return (-participant.priority, participant.order, participant.key)


def _share_of(participant: Participant) -> _Share:
    cap = participant.max_a
    if participant.demand_a is not None:
        # A car drawing little still needs the minimum to be allowed to charge at all.
        cap = min(cap, max(participant.min_a, participant.demand_a))
    return _Share(
        key=participant.key,
        priority=participant.priority,
        low=_ceil_amps(participant.min_a),
        high=_floor_amps(cap),
        watts_per_a=participant.phases * participant.voltage_v,
    )


def _fill_class(members: list[_Share], headroom: _Headroom) -> None:
    """Raise a priority class to the highest common level, then hand out the rest."""
    if not members:
        return
    level = _highest_level(members, headroom)
    for share in members:
        extra = _raise_to(share, level)
        headroom.take(extra, extra * share.watts_per_a)
        share.amps += extra
    _hand_out_leftovers(members, headroom)


def _highest_level(members: list[_Share], headroom: _Headroom) -> int:
    """Return the highest whole-ampere level the class can reach together."""
    floor = min(share.amps for share in members)
    ceiling = max(share.high for share in members)
    while floor < ceiling:
        level = (floor + ceiling + 1) // 2
        extra_a = 0
        extra_w = 0.0
        for share in members:
            extra = _raise_to(share, level)
            extra_a += extra
            extra_w += extra * share.watts_per_a
        if headroom.fits(extra_a, extra_w):
            floor = level
        else:
            ceiling = level - 1
    return floor


def _raise_to(share: _Share, level: int) -> int:
    return max(0, min(level, share.high) - share.amps)


def _hand_out_leftovers(members: list[_Share], headroom: _Headroom) -> None:
    # What the common level leaves goes one ampere at a time to the lowest
    # allocation first, earlier sessions first; a single-phase charger may
    # still fit a power remainder that a three-phase charger does not.
    while True:
        candidates = [
            (share.amps, index)
            for index, share in enumerate(members)
            if share.amps < share.high and headroom.fits(1, share.watts_per_a)
        ]
        if not candidates:
            return
        share = members[min(candidates)[1]]
        headroom.take(1, share.watts_per_a)
        share.amps += 1


def _floor_amps(value: float) -> int:
    return math.floor(value + _ROUNDING_SLACK)


def _ceil_amps(value: float) -> int:
    return math.ceil(value - _ROUNDING_SLACK)


def demand_after_reading(
    *, allocated_a: float, measured_a: float, previous: float | None
) -> float | None:
    """Return a session's demand after a current reading (``None``: unknown).

    A car drawing clearly less than its allocation (more than 2 A below) has
    reached its own limit: its demand becomes what it draws plus 2 A, in whole
    amperes and at least the minimum current. A car drawing (nearly) all of its
    allocation (within 1 A) may want more, so its demand is unknown again. In
    between the previous demand stays: the gap between the two thresholds
    keeps a car whose draw wobbles around one of them, or stays where it is,
    from flipping its demand (and every other session's limit) at each reading.
    """
    if measured_a < allocated_a - RECLAIM_BELOW_A:
        return float(max(_ceil_amps(measured_a + RECLAIM_MARGIN_A), _ceil_amps(MIN_CURRENT_A)))
    if measured_a >= allocated_a - RELEASE_WITHIN_A:
        return None
    return previous


def failsafe_limits(slots: Sequence[Slot], limits: SiteLimits) -> dict[ConnectorKey, float]:
    """Return the limits chargers fall back to when the central system is gone.

    These go into each connector's TxDefaultProfile. Without the central system
    nobody watches the sun or the other load, so they protect the fuse with the
    plain site limits even in solar mode, assuming every slot may charge at
    once. Each slot gets an equal share in whole amperes, capped at its maximum;
    when the equal share is below the minimum current, the minimum goes to as
    many slots as fit (by priority, then order) and the others get 0. Without
    any limit each slot keeps its maximum.
    """
    keys = [slot.key for slot in slots]
    if len(set(keys)) != len(keys):
        raise ValueError("slots must have distinct keys")
    ranked = sorted(slots, key=_slot_rank)
    shares = [
        _Share(
            key=slot.key,
            priority=slot.priority,
            low=0,
            high=_floor_amps(slot.max_a),
            watts_per_a=slot.phases * slot.voltage_v,
        )
        for slot in ranked
    ]
    failsafe = dict.fromkeys(keys, 0.0)
    # A slot whose maximum is below the minimum current cannot charge at all.
    usable = [share for share in shares if share.high >= _ceil_amps(MIN_CURRENT_A)]
    if not usable:
        return failsafe
    budget = Budget(current_a=limits.current_a, power_w=limits.power_w)
    level = _highest_level(usable, _Headroom(budget))
    if level >= _ceil_amps(MIN_CURRENT_A):
        failsafe.update({share.key: float(min(level, share.high)) for share in usable})
        return failsafe
    failsafe.update(_minimum_to_first(usable, budget))
    return failsafe


def _slot_rank(slot: Slot) -> tuple[int, float, ConnectorKey]:
    return (-slot.priority, slot.order, slot.key)


def _minimum_to_first(shares: Iterable[_Share], budget: Budget) -> dict[ConnectorKey, float]:
    headroom = _Headroom(budget)
    minimum = _ceil_amps(MIN_CURRENT_A)
    granted: dict[ConnectorKey, float] = {}
    for share in shares:
        if headroom.fits(minimum, minimum * share.watts_per_a):
            headroom.take(minimum, minimum * share.watts_per_a)
            granted[share.key] = float(minimum)
    return granted


def total_current_a(allocations: Mapping[ConnectorKey, float]) -> float:
    """Return the sum of the allocations in A per phase."""
    return sum(allocations.values(), 0.0)


def changes(
    old: Mapping[ConnectorKey, float], new: Mapping[ConnectorKey, float]
) -> tuple[list[ConnectorKey], list[ConnectorKey]]:
    """Return (keys whose limit goes down, keys whose limit goes up or is new).

    The caller sends the decreases first so the sum never exceeds the budget
    while the changes travel. Keys only in ``old`` are left out: those sessions
    ended and draw nothing.
    """
    down = sorted(key for key, amps in new.items() if key in old and amps < old[key])
    up = sorted(key for key, amps in new.items() if key not in old or amps > old[key])
    return down, up
