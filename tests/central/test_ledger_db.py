"""The SQLite energy ledger: round trips, upserts, filters, atomicity, purge and CSV export."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import csv
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
import io
import json
from pathlib import Path
import sqlite3
import sys
import threading
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.csms.central import ledger_db
from custom_components.csms.central.ledger import MeterPoint
from custom_components.csms.central.ledger_db import (
    IntervalRecord,
    LedgerDatabase,
    LedgerSchemaError,
    SessionRecord,
    TransactionKey,
)
from custom_components.csms.central.ledger_export import CSV_COLUMNS, csv_header, csv_lines

QUARTER = timedelta(minutes=15)
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
STARTED = datetime(2026, 11, 2, 7, 58, 12, 345678, tzinfo=UTC)
KEY: TransactionKey = ("CP-1", 17, STARTED)
ZURICH = ZoneInfo("Europe/Zurich")


def interval(
    start: datetime = T0,
    *,
    charge_point_id: str = "CP-1",
    connector_id: int = 1,
    transaction_id: int = 17,
    started_at: datetime = STARTED,
    energy_wh: int = 1234,
    estimated: bool = False,
    id_tag: str = "TAG-A",
    tenant: str | None = "Flat 1",
) -> IntervalRecord:
    return IntervalRecord(
        charge_point_id=charge_point_id,
        connector_id=connector_id,
        transaction_id=transaction_id,
        transaction_started_at=started_at,
        start=start,
        end=start + QUARTER,
        energy_wh=energy_wh,
        estimated=estimated,
        id_tag=id_tag,
        tenant=tenant,
    )


def session(**changes: Any) -> SessionRecord:
    record = SessionRecord(
        charge_point_id="CP-1",
        connector_id=1,
        transaction_id=17,
        id_tag="TAG-A",
        tenant="Flat 1",
        started_at=STARTED,
        stopped_at=STARTED + timedelta(hours=2, microseconds=250_000),
        meter_start_wh=100_000,
        meter_stop_wh=107_500,
        energy_wh=7_500,
        stop_reason="EVDisconnected",
        stop_id_tag=None,
        offline=True,
        cost=2.6125,
    )
    return replace(record, **changes)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[LedgerDatabase]:
    database = LedgerDatabase(tmp_path / "ledger" / "energy.db")
    await database.async_open()
    yield database
    await database.async_close()


async def export(database: LedgerDatabase, **kwargs: Any) -> list[str]:
    return [chunk async for chunk in database.async_export_csv(**kwargs)]


def csv_rows(chunks: list[str]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(chunks))))


async def test_sessions_intervals_and_points_round_trip(db: LedgerDatabase) -> None:
    # Given in another zone; read back as the same instants in UTC.
    cet = timezone(timedelta(hours=1))
    points = [
        (KEY, MeterPoint(datetime(2026, 11, 2, 9, 0, 0, 1, tzinfo=cet), 100_000.5, True)),
        (KEY, MeterPoint(datetime(2026, 11, 2, 9, 7, 30, 123456, tzinfo=cet), 100_600.25)),
    ]
    intervals = [interval(T0, estimated=True, tenant=None), interval(T0 + QUARTER)]
    await db.async_write(points=reversed(points), intervals=intervals, sessions=[session()])

    stored_points = await db.async_points()
    assert stored_points == {KEY: [point for _, point in points]}
    assert all(p.timestamp.tzinfo is UTC for p in stored_points[KEY])
    assert await db.async_intervals(T0, T0 + timedelta(days=1)) == intervals
    assert await db.async_sessions(T0, T0 + timedelta(days=1)) == [session()]
    (stored,) = await db.async_sessions(T0, T0 + timedelta(days=1))
    assert stored.started_at == STARTED
    assert stored.started_at.tzinfo is UTC
    assert stored.offline is True


async def test_upserts_replace_by_key(db: LedgerDatabase) -> None:
    await db.async_write(intervals=[interval(energy_wh=100)], sessions=[session(energy_wh=1)])
    await db.async_write(
        intervals=[interval(energy_wh=250, estimated=True)], sessions=[session(energy_wh=2)]
    )
    day = (T0, T0 + timedelta(days=1))
    assert [(i.energy_wh, i.estimated) for i in await db.async_intervals(*day)] == [(250, True)]
    assert [s.energy_wh for s in await db.async_sessions(*day)] == [2]


async def test_same_transaction_id_at_another_start_is_another_transaction(
    db: LedgerDatabase,
) -> None:
    earlier = STARTED - timedelta(days=400)
    old = interval(T0 - timedelta(days=400), started_at=earlier, energy_wh=9)
    await db.async_write(
        intervals=[interval(T0), old],
        sessions=[session(), session(started_at=earlier, stopped_at=earlier + timedelta(hours=1))],
    )
    await db.async_write(intervals=[interval(T0, energy_wh=5)], replace_intervals_of=[KEY])
    stored = await db.async_intervals(earlier, T0 + QUARTER)
    found = [(i.transaction_started_at, i.energy_wh) for i in stored]
    assert found == [(earlier, 9), (STARTED, 5)]
    assert len(await db.async_sessions(earlier, T0 + QUARTER)) == 2


async def test_replace_intervals_of_drops_the_ones_not_written_again(db: LedgerDatabase) -> None:
    # The transaction started at 07:58:12: its first quarter hour is 07:45.
    first = T0 - QUARTER
    other = interval(first, charge_point_id="CP-2")
    await db.async_write(intervals=[interval(first + QUARTER * n) for n in range(4)] + [other])
    await db.async_write(
        intervals=[interval(T0, energy_wh=5), interval(T0 + QUARTER, energy_wh=6)],
        replace_intervals_of=[KEY],
    )
    stored = await db.async_intervals(first, T0 + timedelta(days=1))
    assert [(i.charge_point_id, i.start, i.energy_wh) for i in stored] == [
        ("CP-2", first, 1234),
        ("CP-1", T0, 5),
        ("CP-1", T0 + QUARTER, 6),
    ]


async def test_interval_filters_and_half_open_range(db: LedgerDatabase) -> None:
    rows = [
        interval(T0 - QUARTER),
        interval(T0),
        interval(T0, connector_id=2, transaction_id=18, id_tag="TAG-B", tenant="Flat 2"),
        interval(T0, charge_point_id="CP-0", transaction_id=3, tenant=None),
        interval(T0 + QUARTER),
        interval(T0 + 2 * QUARTER),
    ]
    await db.async_write(intervals=rows)
    window = (T0, T0 + 2 * QUARTER)

    def keys(records: list[IntervalRecord]) -> list[tuple[str, int, datetime]]:
        return [(r.charge_point_id, r.connector_id, r.start) for r in records]

    assert keys(await db.async_intervals(*window)) == [
        ("CP-0", 1, T0),
        ("CP-1", 1, T0),
        ("CP-1", 2, T0),
        ("CP-1", 1, T0 + QUARTER),
    ]
    assert keys(await db.async_intervals(*window, charge_point_id="CP-0")) == [("CP-0", 1, T0)]
    assert keys(await db.async_intervals(*window, connector_id=2)) == [("CP-1", 2, T0)]
    assert keys(await db.async_intervals(*window, tenant="Flat 2")) == [("CP-1", 2, T0)]
    assert keys(await db.async_intervals(*window, id_tag="TAG-B")) == [("CP-1", 2, T0)]
    assert len(await db.async_intervals(*window, tenant="Flat 1", limit=1)) == 1
    assert await db.async_intervals(*window, tenant="nobody") == []


async def test_sessions_overlapping_the_range(db: LedgerDatabase) -> None:
    def run(start_hour: int, stop_hour: int, number: int, **changes: Any) -> SessionRecord:
        return session(
            transaction_id=number,
            started_at=T0 + timedelta(hours=start_hour),
            stopped_at=T0 + timedelta(hours=stop_hour),
            **changes,
        )

    before, touching, inside, across, after = (
        run(-3, -2, 1),
        run(-2, 0, 2),
        run(1, 2, 3, id_tag="TAG-B", tenant=None),
        run(2, 9, 4, charge_point_id="CP-2"),
        run(4, 5, 5),
    )
    await db.async_write(sessions=[after, across, inside, touching, before])
    found = await db.async_sessions(T0, T0 + timedelta(hours=4))
    assert [s.transaction_id for s in found] == [2, 3, 4]
    assert found[1] == inside
    assert await db.async_sessions(T0, T0 + timedelta(hours=4), charge_point_id="CP-2") == [across]
    assert await db.async_sessions(T0, T0 + timedelta(hours=4), id_tag="TAG-B") == [inside]
    found = await db.async_sessions(T0, T0 + timedelta(hours=4), tenant="Flat 1", limit=1)
    assert found == [touching]


@pytest.mark.parametrize(
    "bad",
    [
        # The schema refuses an interval that ends before it starts.
        replace(interval(T0 + QUARTER), end=T0),
        # Nothing of a transaction lies before the quarter hour it started in.
        interval(T0 - 2 * QUARTER),
        # sqlite3 cannot bind an integer beyond 64 bits.
        interval(T0 + QUARTER, energy_wh=2**70),
        # A naive time would be read as the host's local time.
        replace(interval(T0 + QUARTER), start=datetime(2026, 11, 2, 8, 15)),
    ],
)
async def test_a_write_failing_midway_leaves_nothing(
    db: LedgerDatabase, bad: IntervalRecord
) -> None:
    await db.async_write(intervals=[interval(T0 - QUARTER)])
    with pytest.raises((sqlite3.Error, OverflowError, ValueError)):
        await db.async_write(
            points=[(KEY, MeterPoint(T0, 1.0))],
            intervals=[interval(T0), bad],
            sessions=[session()],
            replace_intervals_of=[KEY],
        )
    day = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert [i.start for i in await db.async_intervals(*day)] == [T0 - QUARTER]
    assert await db.async_sessions(*day) == []
    assert await db.async_points() == {}
    # The connection is usable again: the transaction was rolled back, not left open.
    await db.async_write(intervals=[interval(T0)])
    assert len(await db.async_intervals(*day)) == 2


async def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "ledger.db"
    first = LedgerDatabase(path)
    await first.async_open()
    await first.async_write(
        points=[(KEY, MeterPoint(T0, 5.0))], intervals=[interval()], sessions=[session()]
    )
    await first.async_close()
    await first.async_close()  # closing twice is harmless

    again = LedgerDatabase(str(path))
    await again.async_open()
    try:
        day = (T0, T0 + timedelta(days=1))
        assert await again.async_intervals(*day) == [interval()]
        assert await again.async_sessions(*day) == [session()]
        assert await again.async_points() == {KEY: [MeterPoint(T0, 5.0)]}
    finally:
        await again.async_close()

    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert raw.execute("PRAGMA user_version").fetchone() == (1,)
    raw.close()


async def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    database = LedgerDatabase(path)
    with pytest.raises(LedgerSchemaError):
        await database.async_open()
    with pytest.raises(RuntimeError, match="not open"):
        await database.async_points()


async def test_points_of_finished_transactions_are_forgotten(db: LedgerDatabase) -> None:
    other: TransactionKey = ("CP-2", 17, STARTED)
    await db.async_write(
        points=[(KEY, MeterPoint(T0, 1.0)), (other, MeterPoint(T0, 2.0))],
    )
    await db.async_write(
        points=[(KEY, MeterPoint(T0 + QUARTER, 3.0))],
        sessions=[session()],
        forget_points_of=[KEY],
    )
    assert await db.async_points() == {other: [MeterPoint(T0, 2.0)]}


async def test_purge_deletes_what_ended_before_and_keeps_points(db: LedgerDatabase) -> None:
    cut = T0 + QUARTER
    await db.async_write(
        points=[(KEY, MeterPoint(T0 - timedelta(days=30), 1.0))],
        intervals=[interval(T0 - QUARTER), interval(T0), interval(cut)],
        sessions=[
            session(transaction_id=1, stopped_at=cut - timedelta(seconds=1)),
            session(transaction_id=2, stopped_at=cut),
        ],
    )
    assert await db.async_purge(cut) == 3
    assert [i.start for i in await db.async_intervals(T0 - QUARTER, cut + QUARTER)] == [cut]
    assert [s.transaction_id for s in await db.async_sessions(T0 - QUARTER, cut)] == [2]
    assert len((await db.async_points())[KEY]) == 1
    assert await db.async_purge(cut) == 0


async def test_tenant_energy_by_hour(db: LedgerDatabase) -> None:
    hour = T0
    await db.async_write(
        intervals=[
            interval(hour - QUARTER, energy_wh=999),
            interval(hour, energy_wh=100),
            interval(hour + 3 * QUARTER, energy_wh=50),
            interval(hour, charge_point_id="CP-2", energy_wh=7),
            interval(hour + 4 * QUARTER, energy_wh=10),
            interval(hour, connector_id=2, transaction_id=18, tenant="Flat 2", energy_wh=40),
            interval(hour, connector_id=3, transaction_id=19, tenant=None, energy_wh=500),
            interval(hour + 8 * QUARTER, energy_wh=999),
        ]
    )
    assert await db.async_tenant_energy_by_hour(hour, hour + 2 * timedelta(hours=1)) == {
        "Flat 1": {hour: 157, hour + timedelta(hours=1): 10},
        "Flat 2": {hour: 40},
    }


async def test_naive_datetimes_are_refused(db: LedgerDatabase) -> None:
    with pytest.raises(ValueError, match="aware"):
        await db.async_intervals(datetime(2026, 11, 2), T0)


async def test_as_dict_is_json_friendly() -> None:
    data = json.loads(json.dumps(interval(estimated=True).as_dict()))
    assert data["start"] == "2026-11-02T08:00:00Z"
    assert data["end"] == "2026-11-02T08:15:00Z"
    assert data["transaction_started_at"] == "2026-11-02T07:58:12.345678Z"
    assert data["energy_kwh"] == 1.234
    assert data["estimated"] is True
    data = json.loads(json.dumps(session().as_dict()))
    assert data["stopped_at"] == "2026-11-02T09:58:12.595678Z"
    assert (data["energy_wh"], data["energy_kwh"], data["cost"]) == (7500, 7.5, 2.6125)
    assert data["stop_id_tag"] is None


def test_csv_header_and_quoting() -> None:
    assert next(csv.reader(io.StringIO(csv_header()))) == list(CSV_COLUMNS)
    text = csv_lines(
        [
            interval(id_tag='A,"B"', energy_wh=5, estimated=True),
            interval(T0 + QUARTER, energy_wh=12_345, tenant=None),
        ],
        UTC,
    )
    first, second = csv.DictReader(io.StringIO(csv_header() + text))
    assert first["id_tag"] == 'A,"B"'
    assert '"A,""B"""' in text
    assert (first["energy_kwh"], first["estimated"], first["tenant"]) == ("0.005", "true", "Flat 1")
    assert (second["energy_kwh"], second["estimated"], second["tenant"]) == ("12.345", "false", "")
    assert first["interval_start_utc"] == "2026-11-02T08:00:00Z"
    assert first["interval_start_local"] == "2026-11-02T08:00:00+00:00"


async def test_csv_export_of_the_day_clocks_go_back(db: LedgerDatabase) -> None:
    # 2026-10-25 in Zurich runs from 22:00 UTC the day before to 23:00 UTC: 25 hours.
    midnight = datetime(2026, 10, 24, 22, tzinfo=UTC)
    started = midnight - timedelta(minutes=3)
    day = [interval(midnight + n * QUARTER, started_at=started, energy_wh=n) for n in range(100)]
    await db.async_write(intervals=[interval(midnight - QUARTER, started_at=started), *day])

    rows = csv_rows(await export(db, start=midnight, end=midnight + 100 * QUARTER, tz=ZURICH))
    assert len(rows) == 100
    local = [row["interval_start_local"] for row in rows]
    assert local[0] == "2026-10-25T00:00:00+02:00"
    assert rows[-1]["interval_end_local"] == "2026-10-26T00:00:00+01:00"
    repeated = local.index("2026-10-25T02:45:00+02:00")
    assert local[repeated + 1] == "2026-10-25T02:00:00+01:00"
    assert rows[repeated + 1]["interval_start_utc"] == "2026-10-25T01:00:00Z"
    assert len(set(local)) == 100
    assert [row["energy_kwh"] for row in rows[:2]] == ["0.000", "0.001"]


async def test_csv_pages_yield_every_row_exactly_once(db: LedgerDatabase) -> None:
    intervals = [
        interval(
            T0 + n * QUARTER,
            charge_point_id=f"CP-{charger}",
            connector_id=connector,
            transaction_id=charger * 10 + connector,
            id_tag=f"TAG,{charger}",
            tenant=f"Flat {connector}",
            energy_wh=n,
        )
        for n in range(5)
        for charger in range(3)
        for connector in (2, 1)
    ]
    await db.async_write(intervals=intervals)
    window = {"start": T0, "end": T0 + 5 * QUARTER, "tz": ZURICH}

    for total, filters in ((30, {}), (15, {"tenant": "Flat 2"}), (10, {"charge_point_id": "CP-1"})):
        chunks = await export(db, **window, **filters, page_rows=7)
        assert chunks[0] == csv_header()
        pages = [list(csv.reader(io.StringIO(chunk))) for chunk in chunks[1:]]
        assert all(1 <= len(page) <= 7 for page in pages)
        assert len(pages) == -(-total // 7)
        rows = csv_rows(chunks)
        seen = [(r["interval_start_utc"], r["charge_point_id"], r["connector_id"]) for r in rows]
        assert len(seen) == total
        assert seen == sorted(set(seen))

    # A page boundary right at the end: no empty chunk, nothing lost.
    chunks = await export(db, **window, connector_id=1, page_rows=5)
    assert [len(list(csv.reader(io.StringIO(chunk)))) for chunk in chunks[1:]] == [5, 5, 5]
    with pytest.raises(ValueError, match="page_rows"):
        await export(db, **window, page_rows=0)


async def test_all_database_work_runs_in_the_ledger_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: set[str] = set()
    connect = sqlite3.connect

    def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection: sqlite3.Connection = connect(*args, **kwargs)
        connection.set_trace_callback(lambda _: threads.add(threading.current_thread().name))
        return connection

    # Turning rows into records (every stored time passes _utc) is work too.
    to_utc = ledger_db._utc
    converting: set[str] = set()

    def traced_utc(stamp: float) -> datetime:
        converting.add(threading.current_thread().name)
        return to_utc(stamp)

    monkeypatch.setattr(sqlite3, "connect", traced_connect)
    monkeypatch.setattr(ledger_db, "_utc", traced_utc)
    database = LedgerDatabase(tmp_path / "ledger.db")
    await database.async_open()
    await database.async_write(
        points=[(KEY, MeterPoint(T0, 1.0))], intervals=[interval()], sessions=[session()]
    )
    await database.async_points()
    await database.async_intervals(T0, T0 + QUARTER)
    await database.async_sessions(T0, T0 + QUARTER)
    await database.async_tenant_energy_by_hour(T0, T0 + QUARTER)
    await export(database, start=T0, end=T0 + QUARTER, tz=ZURICH)
    await database.async_purge(T0)
    await database.async_close()

    assert threads
    assert converting
    assert all(name.startswith("csms_ledger") for name in threads | converting)
    assert threading.current_thread().name not in threads | converting
    assert not any(t.name.startswith("csms_ledger") for t in threading.enumerate())


CRASHING_WRITER = """
import asyncio, os, sys
from datetime import timedelta
from custom_components.csms.central.ledger_db import LedgerDatabase
from tests.central.test_ledger_db import T0, QUARTER, interval

class PowerCut:
    # Looks like an IntervalRecord; the process dies while the worker stores it.
    def __getattr__(self, name):
        os._exit(3)

async def main():
    database = LedgerDatabase(sys.argv[1])
    await database.async_open()
    await database.async_write(intervals=[interval(T0 - QUARTER)])
    # Enough rows that SQLite spills uncommitted pages into the WAL file.
    rows = [interval(T0 + n * QUARTER, transaction_id=n) for n in range(60_000)]
    await database.async_write(intervals=[*rows, PowerCut()])

asyncio.run(main())
"""


async def test_a_crash_during_a_write_leaves_nothing_of_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_WRITER, str(path), cwd=Path(__file__).parents[2]
    )
    assert await process.wait() == 3
    assert (tmp_path / "ledger.db-wal").stat().st_size > 1_000_000

    database = LedgerDatabase(path)
    await database.async_open()
    try:
        stored = await database.async_intervals(T0 - QUARTER, T0 + timedelta(days=1000))
    finally:
        await database.async_close()
    assert [i.start for i in stored] == [T0 - QUARTER]
