"""Quarter-hour energy intervals of a transaction: exact sums, readings from sloppy chargers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from functools import partial
from itertools import pairwise
import math
import random
from zoneinfo import ZoneInfo

import pytest

from custom_components.csms.central.ledger import (
    QUARTER_HOUR,
    Interval,
    MeterPoint,
    compact,
    quarter_hour_start,
    quarter_hours_of_day,
    transaction_intervals,
)

ZURICH = ZoneInfo("Europe/Zurich")
DAY = datetime(2026, 11, 21, tzinfo=UTC)


def at(hour: int, minute: int, second: float = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute, seconds=second)


def quarter(hour: int, minute: int, energy_wh: int, *, estimated: bool) -> Interval:
    start = at(hour, minute)
    return Interval(start, start + timedelta(minutes=15), energy_wh, estimated)


def test_session_inside_one_quarter_hour() -> None:
    intervals = transaction_intervals(
        started_at=at(10, 2),
        meter_start_wh=1000,
        points=[MeterPoint(at(10, 5), 1200), MeterPoint(at(10, 10), 1400)],
        stopped_at=at(10, 12),
        meter_stop_wh=1500,
    )
    assert intervals == [quarter(10, 0, 500, estimated=False)]


def test_clock_aligned_readings_fix_every_boundary() -> None:
    points = [
        MeterPoint(at(10, 15, 20), 10_800.4, clock_aligned=True),  # stamped late
        MeterPoint(at(10, 22), 11_300),
        MeterPoint(at(10, 29, 45), 11_900.6, clock_aligned=True),  # stamped early
        MeterPoint(at(10, 45), 13_000, clock_aligned=True),
    ]
    intervals = transaction_intervals(
        started_at=at(10, 7),
        meter_start_wh=10_000,
        points=points,
        stopped_at=at(10, 52),
        meter_stop_wh=13_555,
    )
    assert intervals == [
        quarter(10, 0, 800, estimated=False),
        quarter(10, 15, 1101, estimated=False),
        quarter(10, 30, 1099, estimated=False),
        quarter(10, 45, 555, estimated=False),
    ]


@pytest.mark.parametrize(
    ("early", "late", "at_boundary_wh"),
    [(at(10, 14, 10), at(10, 15, 30), 1000), (at(10, 14, 40), at(10, 15, 50), 950)],
)
def test_closest_reading_at_a_boundary_wins(
    early: datetime, late: datetime, at_boundary_wh: int
) -> None:
    points = [
        MeterPoint(early, 950, clock_aligned=True),
        MeterPoint(at(10, 14, 0), 920),  # periodic: too far from the boundary to count
        MeterPoint(late, 1000, clock_aligned=True),
    ]
    intervals = transaction_intervals(
        started_at=at(10, 5),
        meter_start_wh=0,
        points=points,
        stopped_at=at(10, 20),
        meter_stop_wh=1500,
    )
    assert intervals == [
        quarter(10, 0, at_boundary_wh, estimated=False),
        quarter(10, 15, 1500 - at_boundary_wh, estimated=False),
    ]


@pytest.mark.parametrize(
    ("offset", "estimated", "first_wh"), [(0.5, False, 1000), (-0.9, False, 1000), (2.0, True, 997)]
)
def test_a_periodic_reading_counts_within_one_second(
    offset: float, estimated: bool, first_wh: int
) -> None:
    # Two seconds off: 10:15 is interpolated, 1000 Wh * 600 s / 602 s = 996.7 Wh.
    intervals = transaction_intervals(
        started_at=at(10, 5),
        meter_start_wh=0,
        points=[MeterPoint(at(10, 15, offset), 1000)],
        stopped_at=at(10, 25),
        meter_stop_wh=2000,
    )
    assert intervals == [
        quarter(10, 0, first_wh, estimated=estimated),
        quarter(10, 15, 2000 - first_wh, estimated=estimated),
    ]


def test_periodic_readings_are_interpolated_at_boundaries() -> None:
    points = [
        MeterPoint(at(10, 40), 8000),
        MeterPoint(at(10, 10), 6000),
        MeterPoint(at(10, 20), 6600),
    ]
    intervals = transaction_intervals(
        started_at=at(10, 0),
        meter_start_wh=5000,
        points=points,
        stopped_at=at(10, 50),
        meter_stop_wh=8300,
    )
    # 10:15 halfway 6000..6600, 10:30 halfway 6600..8000, 10:45 halfway 8000..8300 (the stop).
    assert intervals == [
        quarter(10, 0, 1300, estimated=True),
        quarter(10, 15, 1000, estimated=True),
        quarter(10, 30, 850, estimated=True),
        quarter(10, 45, 150, estimated=True),
    ]


def test_an_hour_offline_is_spread_evenly() -> None:
    points = [MeterPoint(at(10, 5), 20_200), MeterPoint(at(11, 20), 27_700)]
    intervals = transaction_intervals(
        started_at=at(10, 3),
        meter_start_wh=20_000,
        points=points,
        stopped_at=at(11, 25),
        meter_stop_wh=28_000,
    )
    # 7500 Wh in the 75 offline minutes: 1500 Wh a quarter hour.
    assert intervals == [
        quarter(10, 0, 1200, estimated=True),
        quarter(10, 15, 1500, estimated=True),
        quarter(10, 30, 1500, estimated=True),
        quarter(10, 45, 1500, estimated=True),
        quarter(11, 0, 1500, estimated=True),
        quarter(11, 15, 800, estimated=True),
    ]


def test_glitches_and_readings_outside_the_transaction_are_ignored() -> None:
    points = [
        MeterPoint(at(10, 25), 2500),  # below an earlier reading
        MeterPoint(at(10, 12), 0),  # stray zero
        MeterPoint(at(10, 0), 500),  # before the start
        MeterPoint(at(10, 10), 1800),
        MeterPoint(at(10, 40), 4000),
        MeterPoint(at(10, 24), 900),  # below meter start
        MeterPoint(at(10, 20), 2600),
        MeterPoint(at(10, 44), 9999),  # at the stop
        MeterPoint(at(10, 50), 9999),  # after the stop
        MeterPoint(at(10, 30), math.nan),
    ]
    intervals = transaction_intervals(
        started_at=at(10, 2),
        meter_start_wh=1000,
        points=points,
        stopped_at=at(10, 44),
        meter_stop_wh=4400,
    )
    # 10:15 halfway 1800..2600 = 2200; 10:30 halfway 2600..4000 = 3300.
    assert intervals == [
        quarter(10, 0, 1200, estimated=True),
        quarter(10, 15, 1100, estimated=True),
        quarter(10, 30, 1100, estimated=True),
    ]


def test_readings_outside_the_transaction_never_fix_a_boundary() -> None:
    points = [
        MeterPoint(at(10, 29, 10), 50, clock_aligned=True),  # before the start
        MeterPoint(at(10, 35), 500),
        MeterPoint(at(10, 45, 40), 1000, clock_aligned=True),  # after the stop
    ]
    intervals = transaction_intervals(
        started_at=at(10, 29, 30),
        meter_start_wh=0,
        points=points,
        stopped_at=at(10, 45, 20),
        meter_stop_wh=1000,
    )
    # 10:30: 30 s of 330 s from 0 to 500 = 45.45; 10:45: 600 s of 620 s from 500 to 1000 = 983.87.
    assert intervals == [
        quarter(10, 15, 45, estimated=True),
        quarter(10, 30, 939, estimated=True),
        quarter(10, 45, 16, estimated=True),
    ]


def test_readings_above_the_stop_register_are_clamped() -> None:
    points = [MeterPoint(at(10, 10), 600), MeterPoint(at(10, 20), 1600)]
    intervals = transaction_intervals(
        started_at=at(10, 5),
        meter_start_wh=0,
        points=points,
        stopped_at=at(10, 25),
        meter_stop_wh=1000,
    )
    # 10:15 halfway 600..1000 (1600 clamped to the stop register).
    assert intervals == [quarter(10, 0, 800, estimated=True), quarter(10, 15, 200, estimated=True)]


def test_fractional_readings_round_half_up() -> None:
    points = [
        MeterPoint(at(10, 5), 12_345.6),  # 12.3456 kWh
        MeterPoint(at(10, 15), 12_400.5, clock_aligned=True),
        MeterPoint(at(10, 35), 12_500.25),
        MeterPoint(at(10, 55), 12_501.25),
    ]
    intervals = transaction_intervals(
        started_at=at(10, 1),
        meter_start_wh=12_345,
        points=points,
        stopped_at=at(11, 5),
        meter_stop_wh=12_510,
    )
    # 10:15 read 12400.5 -> 12401; 10:30 at 3/4 of 12400.5..12500.25 = 12475.3125 -> 12475;
    # 10:45 halfway 12500.25..12501.25 = 12500.75 -> 12501;
    # 11:00 halfway 12501.25..12510 = 12505.625 -> 12506.
    assert intervals == [
        quarter(10, 0, 56, estimated=False),
        quarter(10, 15, 74, estimated=True),
        quarter(10, 30, 26, estimated=True),
        quarter(10, 45, 5, estimated=True),
        quarter(11, 0, 4, estimated=True),
    ]


def test_quarter_hours_without_energy_are_left_out() -> None:
    # The car is full at 10:14 and stays plugged in for another hour.
    points = [MeterPoint(at(10, 14), 1000), *(MeterPoint(at(10, m), 1000) for m in (20, 40, 59))]
    intervals = transaction_intervals(
        started_at=at(10, 0),
        meter_start_wh=0,
        points=points,
        stopped_at=at(11, 10),
        meter_stop_wh=1000,
    )
    assert intervals == [quarter(10, 0, 1000, estimated=True)]


def test_broken_stops_give_no_negative_energy() -> None:
    below_start = transaction_intervals(
        started_at=at(10, 0),
        meter_start_wh=5000,
        points=[],
        stopped_at=at(10, 30),
        meter_stop_wh=4000,
    )
    assert below_start == []
    before_start = transaction_intervals(
        started_at=at(10, 20),
        meter_start_wh=100,
        points=[MeterPoint(at(10, 25), 200)],
        stopped_at=at(10, 10),
        meter_stop_wh=300,
    )
    assert before_start == [quarter(10, 15, 200, estimated=False)]


def test_a_stop_needs_time_and_register() -> None:
    with pytest.raises(ValueError, match="stop"):
        transaction_intervals(
            started_at=at(10, 0), meter_start_wh=0, points=[], stopped_at=at(11, 0)
        )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        quarter_hour_start(datetime(2026, 11, 21, 10, 7))
    with pytest.raises(ValueError, match="aware"):
        transaction_intervals(
            started_at=at(10, 0),
            meter_start_wh=0,
            points=[MeterPoint(datetime(2026, 11, 21, 10, 7), 10)],
        )


def test_running_transaction_ends_at_its_last_reading() -> None:
    points = [
        MeterPoint(at(10, 10), 500),
        MeterPoint(at(10, 26), 2100.5),
        MeterPoint(at(10, 20), 1500),
    ]
    intervals = transaction_intervals(started_at=at(10, 5), meter_start_wh=0, points=points)
    # 10:15 halfway 500..1500; the current quarter hour runs to 10:26 (2100.5 -> 2101).
    assert intervals == [
        quarter(10, 0, 1000, estimated=True),
        quarter(10, 15, 1101, estimated=True),
    ]


def test_running_transaction_with_its_last_reading_on_a_boundary() -> None:
    points = [MeterPoint(at(10, 10), 500), MeterPoint(at(10, 15), 1000)]
    intervals = transaction_intervals(started_at=at(10, 5), meter_start_wh=0, points=points)
    assert intervals == [quarter(10, 0, 1000, estimated=False)]


def test_running_transaction_without_readings_has_no_intervals() -> None:
    assert transaction_intervals(started_at=at(10, 5), meter_start_wh=0, points=[]) == []
    early = [MeterPoint(at(10, 0), 300), MeterPoint(at(10, 5), 400)]
    assert transaction_intervals(started_at=at(10, 5), meter_start_wh=0, points=early) == []


def test_readings_in_local_time_are_ordered_by_instant() -> None:
    # 2026-10-25 in Zurich: 02:00-03:00 local happens twice.
    first = datetime(2026, 10, 25, 2, 50, tzinfo=ZURICH)  # 00:50 UTC
    second = datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=ZURICH)  # 01:10 UTC
    utc = datetime(2026, 10, 25, tzinfo=UTC)
    intervals = transaction_intervals(
        started_at=utc + timedelta(minutes=40),
        meter_start_wh=0,
        points=[MeterPoint(second, 3000), MeterPoint(first, 1500)],
        stopped_at=utc + timedelta(minutes=80),
        meter_stop_wh=4000,
    )
    assert [(i.start - utc, i.energy_wh) for i in intervals] == [
        (timedelta(minutes=30), 750),
        (timedelta(minutes=45), 1500),
        (timedelta(minutes=60), 1250),
        (timedelta(minutes=75), 500),
    ]
    assert all(i.start.tzinfo is UTC for i in intervals)


# --- Against an independent piecewise linear reference -------------------------------------------


def _floor_quarter(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute // 15 * 15, second=0, microsecond=0)


def _near_boundary(moment: datetime) -> bool:
    seconds = (moment.minute % 15) * 60 + moment.second
    return seconds <= 60 or seconds >= 14 * 60


def _reference(
    started: datetime,
    meter_start: int,
    readings: list[tuple[datetime, int]],
    stopped: datetime,
    meter_stop: int,
) -> list[Interval]:
    line = [(started, meter_start), *readings, (stopped, meter_stop)]

    def register(moment: datetime) -> Fraction:
        for (t1, v1), (t2, v2) in pairwise(line):
            if t1 <= moment <= t2:
                share = Fraction(
                    (moment - t1) // timedelta(microseconds=1),
                    (t2 - t1) // timedelta(microseconds=1),
                )
                return v1 + (v2 - v1) * share
        raise AssertionError(moment)

    def whole(value: Fraction) -> int:
        return math.floor(value + Fraction(1, 2))

    expected = []
    begin = _floor_quarter(started)
    while begin < stopped:
        end = begin + timedelta(minutes=15)
        energy = whole(register(min(end, stopped))) - whole(register(max(begin, started)))
        if energy:
            expected.append(Interval(begin, end, energy, begin > started or end < stopped))
        begin = end
    return expected


def test_periodic_sessions_match_a_piecewise_linear_register() -> None:
    rng = random.Random(20261121)
    for _ in range(300):
        started = DAY + timedelta(seconds=rng.randrange(86_400))
        stopped = started + timedelta(seconds=rng.randrange(1, 6 * 3600))
        meter_start = rng.randrange(10**7)
        meter_stop = meter_start + rng.randrange(60_000)
        span = int((stopped - started).total_seconds())
        moments = sorted(
            m
            for m in {
                started + timedelta(seconds=s)
                for s in rng.sample(range(1, span + 1), min(span, 30))
            }
            if m < stopped and not _near_boundary(m)
        )
        values = sorted(rng.randint(meter_start, meter_stop) for _ in moments)
        readings = list(zip(moments, values, strict=True))
        points = [MeterPoint(m, v) for m, v in readings]
        rng.shuffle(points)
        intervals = transaction_intervals(
            started_at=started,
            meter_start_wh=meter_start,
            points=points,
            stopped_at=stopped,
            meter_stop_wh=meter_stop,
        )
        assert intervals == _reference(started, meter_start, readings, stopped, meter_stop)


# --- Exact sums over sloppy random sessions ------------------------------------------------------


def _sloppy_reading(
    rng: random.Random, moment: datetime, meter_start: int, meter_stop: int
) -> MeterPoint:
    roll = rng.random()
    if roll < 0.05:
        return MeterPoint(moment, 0)
    if roll < 0.1:
        return MeterPoint(moment, meter_start - rng.uniform(0, 5000))
    if roll < 0.15:
        return MeterPoint(moment, meter_stop + rng.uniform(0, 5000))
    if roll < 0.35:
        boundary = _floor_quarter(moment) + rng.choice([timedelta(0), QUARTER_HOUR])
        aligned = boundary + timedelta(seconds=rng.uniform(-60, 60))
        return MeterPoint(aligned, rng.uniform(meter_start, max(meter_start, meter_stop)), True)
    return MeterPoint(moment, rng.uniform(meter_start, max(meter_start, meter_stop)))


def test_intervals_always_add_up_to_the_metered_energy() -> None:
    rng = random.Random(15)
    year = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(500):
        started = year + timedelta(seconds=rng.uniform(0, 365 * 86_400))
        stopped = started + timedelta(seconds=rng.uniform(-600, 14 * 3600))
        meter_start = rng.randrange(10**8)
        meter_stop = meter_start + rng.randrange(-2000, 100_000)
        window = max(stopped, started) - started
        points = [
            _sloppy_reading(rng, started + window * rng.uniform(-0.1, 1.1), meter_start, meter_stop)
            for _ in range(rng.randrange(80))
        ]
        intervals = transaction_intervals(
            started_at=started,
            meter_start_wh=meter_start,
            points=points,
            stopped_at=stopped,
            meter_stop_wh=meter_stop,
        )
        assert sum(i.energy_wh for i in intervals) == max(meter_stop - meter_start, 0)
        assert all(i.energy_wh > 0 for i in intervals)
        assert all(i.end - i.start == timedelta(minutes=15) for i in intervals)
        assert all(i.start == _floor_quarter(i.start) for i in intervals)
        starts = [i.start for i in intervals]
        assert starts == sorted(set(starts))
        if intervals:
            assert _floor_quarter(started) <= starts[0]
            assert starts[-1] <= max(started, stopped)


# --- compact() -----------------------------------------------------------------------------------


def _running_readings(rng: random.Random, started: datetime, meter_start: int) -> list[MeterPoint]:
    """About one reading a minute, in time order, with gaps, glitches and clock-aligned ones."""
    moment, register, points = started, float(meter_start), []
    for _ in range(rng.randrange(1, 300)):
        moment += timedelta(seconds=0 if rng.random() < 0.05 else rng.uniform(1, 120))
        if rng.random() < 0.02:
            moment += timedelta(minutes=rng.uniform(10, 90))  # offline
        if rng.random() < 0.15:
            boundary = _floor_quarter(moment) + QUARTER_HOUR
            moment = max(moment, boundary + timedelta(seconds=rng.uniform(-70, 70)))
        register += rng.choice([0.0, rng.uniform(0, 250), round(rng.uniform(0, 250))])
        roll = rng.random()
        value = 0.0 if roll < 0.03 else register - rng.uniform(1, 500) if roll < 0.06 else register
        points.append(MeterPoint(moment, value, rng.random() < 0.3))
    return points


def test_compacted_readings_give_the_same_intervals() -> None:
    rng = random.Random(96)
    for _ in range(200):
        started = DAY + timedelta(seconds=rng.uniform(0, 86_400))
        meter_start = rng.randrange(10**6)
        readings = _running_readings(rng, started - timedelta(minutes=2), meter_start)
        split = rng.randrange(len(readings) + 1)
        earlier, later = readings[:split], readings[split:]
        kept = compact(earlier, started_at=started, meter_start_wh=meter_start)
        running = partial(transaction_intervals, started_at=started, meter_start_wh=meter_start)
        for points, compacted in ((earlier, kept), (readings, [*kept, *later])):
            assert running(points=compacted) == running(points=points)
            last = max([started, *(p.timestamp for p in points)])
            stopped = partial(
                running,
                stopped_at=last + timedelta(minutes=rng.uniform(0, 40)),
                meter_stop_wh=meter_start + rng.randrange(200_000),
            )
            assert stopped(points=compacted) == stopped(points=points)


def test_compacting_after_every_reading_keeps_the_intervals() -> None:
    rng = random.Random(4)
    for _ in range(10):
        started = DAY + timedelta(seconds=rng.uniform(0, 86_400))
        readings = _running_readings(rng, started, 5000)
        kept: list[MeterPoint] = []
        for count, reading in enumerate(readings, 1):
            kept = compact([*kept, reading], started_at=started, meter_start_wh=5000)
            assert transaction_intervals(
                started_at=started, meter_start_wh=5000, points=kept
            ) == transaction_intervals(
                started_at=started, meter_start_wh=5000, points=readings[:count]
            )
        span = max(p.timestamp for p in readings) - started
        # At most the two readings around each boundary, and the last one.
        assert len(kept) <= 2 * (span // QUARTER_HOUR + 2) + 1


def test_compact_drops_glitches_for_good() -> None:
    points = [MeterPoint(at(10, 10), 1000), MeterPoint(at(10, 11), 0), MeterPoint(at(10, 12), 1100)]
    kept = compact(points, started_at=at(10, 5), meter_start_wh=500)
    assert [p.register_wh for p in kept] == [1100]
    assert compact([], started_at=at(10, 5), meter_start_wh=500) == []


# --- Quarter hours and days ----------------------------------------------------------------------


def test_quarter_hour_start_of_a_local_time() -> None:
    kathmandu = datetime(2026, 11, 21, 10, 52, 31, 7, tzinfo=ZoneInfo("Asia/Kathmandu"))  # +05:45
    assert quarter_hour_start(kathmandu) == datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
    assert quarter_hour_start(kathmandu).astimezone(kathmandu.tzinfo).minute == 45
    zurich = datetime(2026, 7, 1, 0, 14, 59, 999_999, tzinfo=ZURICH)
    assert quarter_hour_start(zurich) == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    assert quarter_hour_start(zurich).tzinfo is UTC


@pytest.mark.parametrize(
    ("day", "count", "first", "last"),
    [
        (
            date(2026, 3, 29),
            92,
            datetime(2026, 3, 28, 23, tzinfo=UTC),
            datetime(2026, 3, 29, 22, tzinfo=UTC),
        ),
        (
            date(2026, 6, 15),
            96,
            datetime(2026, 6, 14, 22, tzinfo=UTC),
            datetime(2026, 6, 15, 22, tzinfo=UTC),
        ),
        (
            date(2026, 10, 25),
            100,
            datetime(2026, 10, 24, 22, tzinfo=UTC),
            datetime(2026, 10, 25, 23, tzinfo=UTC),
        ),
    ],
)
def test_quarter_hours_of_a_local_day(
    day: date, count: int, first: datetime, last: datetime
) -> None:
    quarters = quarter_hours_of_day(day, ZURICH)
    assert len(quarters) == count
    assert quarters[0][0] == first
    assert quarters[-1][1] == last
    assert all(end - start == timedelta(minutes=15) for start, end in quarters)
    assert all(end == next_start for (_, end), (next_start, _) in pairwise(quarters))
    assert {start.astimezone(ZURICH).minute for start, _ in quarters} == {0, 15, 30, 45}
