"""Quarter-hour energy intervals of a charging transaction, for tenant billing.

Pure functions: the start and stop of one transaction and the energy register
readings taken during it go in; the energy of every quarter hour comes out.
The intervals of a transaction add up exactly to the energy it metered.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
import math
from operator import attrgetter

QUARTER_HOUR = timedelta(minutes=15)
_TIME = attrgetter("timestamp")
# Timestamps carry sub-second jitter; a clock-aligned reading
# (ClockAlignedDataInterval) is taken at the boundary but stamped when the
# meter answered, which some chargers do tens of seconds late.
_AT_BOUNDARY = timedelta(seconds=1)
_ALIGNED_AT_BOUNDARY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class MeterPoint:
    """One energy register reading of a transaction, in Wh (already normalised by the caller)."""

    timestamp: datetime
    register_wh: float
    clock_aligned: bool = False


@dataclass(frozen=True, slots=True)
class Interval:
    """The energy of one transaction in one quarter hour."""

    start: datetime
    end: datetime
    energy_wh: int
    estimated: bool


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is refused rather than read as local time."""
    if moment.utcoffset() is None:
        raise ValueError(f"Timezone-aware datetime required, got {moment!r}")
    return moment.astimezone(UTC)


def quarter_hour_start(moment: datetime) -> datetime:
    """The start of the quarter hour containing ``moment``, in UTC."""
    # Every UTC offset in use today is a multiple of 15 minutes (+05:45 Nepal,
    # +08:45 Eucla, +12:45 Chatham), so UTC quarter hours are also the local
    # quarter hours :00/:15/:30/:45 in every time zone.
    utc = _utc(moment)
    return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)


def quarter_hours_of_day(day: date, tz: tzinfo) -> list[tuple[datetime, datetime]]:
    """The quarter hours (UTC start, UTC end) of local ``day`` in ``tz``: 92, 96 or 100."""
    start = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    return [
        (start + index * QUARTER_HOUR, start + (index + 1) * QUARTER_HOUR)
        for index in range((end - start) // QUARTER_HOUR)
    ]


def _clean(
    points: Sequence[MeterPoint], start: MeterPoint, stop: MeterPoint | None
) -> list[MeterPoint]:
    """The usable readings: UTC, in time order, inside the transaction, never running backwards."""
    end = datetime.max.replace(tzinfo=UTC) if stop is None else stop.timestamp
    ceiling = math.inf if stop is None else stop.register_wh
    highest = float(start.register_wh)
    cleaned: list[MeterPoint] = []
    # UTC first: aware datetimes sharing a zoneinfo compare by wall clock,
    # which is wrong across a DST change.
    for point in sorted(points, key=lambda reading: _utc(reading.timestamp)):
        moment, value = _utc(point.timestamp), point.register_wh
        # The register never runs backwards within a transaction: a lower
        # value is a glitch (a stray 0, a misread register).
        if not start.timestamp < moment < end or value < highest or not math.isfinite(value):
            continue
        highest = value
        cleaned.append(MeterPoint(moment, min(value, ceiling), point.clock_aligned))
    return cleaned


def _boundaries(begin: datetime, end: datetime) -> Iterator[datetime]:
    """The quarter-hour boundaries strictly between ``begin`` and ``end``."""
    boundary = quarter_hour_start(begin) + QUARTER_HOUR
    while boundary < end:
        yield boundary
        boundary += QUARTER_HOUR


def _support(line: Sequence[MeterPoint], readings: range, boundary: datetime) -> tuple[int, ...]:
    """Indices into ``line`` of what fixes the register at ``boundary``.

    One index when a reading was taken at the boundary, else the last point
    before and the first point after it (``len(line)`` when there is none yet).
    """

    def distance(index: int) -> timedelta:
        return abs(line[index].timestamp - boundary)

    window = _ALIGNED_AT_BOUNDARY
    low = bisect_left(line, boundary - window, readings.start, readings.stop, key=_TIME)
    high = bisect_right(line, boundary + window, low, readings.stop, key=_TIME)
    at_boundary = [
        index
        for index in range(low, high)
        if distance(index) <= (window if line[index].clock_aligned else _AT_BOUNDARY)
    ]
    if at_boundary:
        return (min(at_boundary, key=distance),)
    after = bisect_right(line, boundary, key=_TIME)
    return (after - 1, after)


def _register_at(line: Sequence[MeterPoint], support: tuple[int, ...], boundary: datetime) -> float:
    """The register at ``boundary``: read, or linearly interpolated."""
    if len(support) == 1:
        return line[support[0]].register_wh
    before, after = line[support[0]], line[support[1]]
    share = (boundary - before.timestamp) / (after.timestamp - before.timestamp)
    value = before.register_wh + (after.register_wh - before.register_wh) * share
    # Float rounding must not step outside the neighbours: the boundary values
    # have to stay non-decreasing for the intervals to be non-negative.
    return min(max(value, before.register_wh), after.register_wh)


def _whole_wh(value: float) -> int:
    """Round half up to a whole Wh."""
    return math.floor(value + 0.5)


def transaction_intervals(
    *,
    started_at: datetime,
    meter_start_wh: int,
    points: Sequence[MeterPoint],
    stopped_at: datetime | None = None,
    meter_stop_wh: int | None = None,
) -> list[Interval]:
    """The energy of a transaction per quarter hour, omitting quarter hours without energy.

    Without a stop the transaction runs up to its last reading. The energies
    are differences of whole-Wh register values at the boundaries, so they add
    up exactly to the metered energy.
    """
    if (stopped_at is None) != (meter_stop_wh is None):
        raise ValueError("A stop needs both stopped_at and meter_stop_wh")
    start = MeterPoint(_utc(started_at), meter_start_wh)
    stop = None
    if stopped_at is not None and meter_stop_wh is not None:
        # A broken charger may stop before it started or below its start register.
        ended = max(_utc(stopped_at), start.timestamp)
        stop = MeterPoint(ended, max(meter_stop_wh, meter_start_wh))
    readings = _clean(points, start, stop)
    if stop is None and not readings:
        return []
    line = [start, *readings] if stop is None else [start, *readings, stop]
    inside = range(1, len(readings) + 1)
    marks = [(start.timestamp, meter_start_wh, False)]
    for boundary in _boundaries(start.timestamp, line[-1].timestamp):
        support = _support(line, inside, boundary)
        marks.append((boundary, _whole_wh(_register_at(line, support, boundary)), len(support) > 1))
    marks.append((line[-1].timestamp, _whole_wh(line[-1].register_wh), False))
    intervals = []
    for (begin, low, low_estimated), (_, high, high_estimated) in pairwise(marks):
        if high > low:
            quarter = quarter_hour_start(begin)
            estimated = low_estimated or high_estimated
            intervals.append(Interval(quarter, quarter + QUARTER_HOUR, high - low, estimated))
    return intervals


def compact(
    points: Sequence[MeterPoint], *, started_at: datetime, meter_start_wh: int
) -> list[MeterPoint]:
    """The readings of a running transaction its intervals depend on.

    ``transaction_intervals`` gives the same result for these as for all of
    ``points``, also once later readings (and a later stop) are added to both.
    """
    start = MeterPoint(_utc(started_at), meter_start_wh)
    readings = _clean(points, start, None)
    if not readings:
        return []
    line = [start, *readings]
    inside = range(1, len(line))
    keep = {len(readings)}
    # Up to the boundary after the last reading: a later reading may make it
    # interpolated between the last reading and itself, and a clock-aligned
    # reading up to a minute before it may be its exact value.
    for boundary in _boundaries(start.timestamp, readings[-1].timestamp + QUARTER_HOUR):
        keep.update(index for index in _support(line, inside, boundary) if index in inside)
    return [line[index] for index in sorted(keep)]
