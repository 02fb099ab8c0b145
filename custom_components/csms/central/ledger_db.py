"""The energy ledger in SQLite: completed sessions and the energy of every quarter hour.

Billing data for tenants, kept for years (about 7 million intervals a year for
200 connectors). One worker thread owns the connection and does all the
database work, so the event loop never waits for the SD card. Every write is
one SQLite transaction: after a crash a write is there completely or not at all.

Times are stored as UTC unix seconds: integers for the quarter-hour
boundaries, reals (with the fraction) for transaction and meter times.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime, tzinfo
import functools
from operator import itemgetter
import os
from pathlib import Path
import sqlite3
from typing import Any

from .ledger import MeterPoint
from .ledger_export import csv_header, csv_lines, iso_utc

# Transaction ids repeat over the years (a re-created server starts again at 1),
# so the start time is part of every key.
TransactionKey = tuple[str, int, datetime]

# Entry n upgrades a database from user_version n to n + 1. Append, never edit.
_MIGRATIONS = (
    """
    CREATE TABLE ledger_session (
        charge_point_id TEXT NOT NULL, connector_id INTEGER NOT NULL,
        transaction_id INTEGER NOT NULL, id_tag TEXT NOT NULL, tenant TEXT,
        started_at REAL NOT NULL, stopped_at REAL NOT NULL,
        meter_start_wh INTEGER NOT NULL, meter_stop_wh INTEGER NOT NULL,
        energy_wh INTEGER NOT NULL, stop_reason TEXT, stop_id_tag TEXT,
        offline INTEGER NOT NULL, cost REAL,
        PRIMARY KEY (charge_point_id, transaction_id, started_at)
    ) WITHOUT ROWID;
    CREATE INDEX ledger_session_by_start ON ledger_session (started_at);
    -- Clustered by time: exports, range queries and purges read it in key order.
    -- No index by transaction (a quarter more file): no quarter hour of a
    -- transaction lies before the one it started in, so its intervals are
    -- found by scanning from there.
    CREATE TABLE ledger_interval (
        interval_start INTEGER NOT NULL, charge_point_id TEXT NOT NULL,
        transaction_id INTEGER NOT NULL, transaction_started_at REAL NOT NULL,
        connector_id INTEGER NOT NULL,
        interval_end INTEGER NOT NULL CHECK (interval_end > interval_start),
        energy_wh INTEGER NOT NULL, estimated INTEGER NOT NULL,
        id_tag TEXT NOT NULL, tenant TEXT,
        CHECK (interval_start > transaction_started_at - 900),
        PRIMARY KEY (interval_start, charge_point_id, transaction_id, transaction_started_at)
    ) WITHOUT ROWID;
    CREATE INDEX ledger_interval_by_tenant ON ledger_interval (tenant, interval_start);
    CREATE TABLE ledger_point (
        charge_point_id TEXT NOT NULL, transaction_id INTEGER NOT NULL,
        transaction_started_at REAL NOT NULL, measured_at REAL NOT NULL,
        register_wh REAL NOT NULL, clock_aligned INTEGER NOT NULL,
        PRIMARY KEY (charge_point_id, transaction_id, transaction_started_at, measured_at)
    ) WITHOUT ROWID;
    """,
)
_SESSION_COLUMNS = (
    "charge_point_id, connector_id, transaction_id, id_tag, tenant, started_at, stopped_at,"
    " meter_start_wh, meter_stop_wh, energy_wh, stop_reason, stop_id_tag, offline, cost"
)
_INTERVAL_COLUMNS = (
    "charge_point_id, connector_id, transaction_id, transaction_started_at, interval_start,"
    " interval_end, energy_wh, estimated, id_tag, tenant"
)
# The export order; unique, so the last row's values are the keyset cursor of the next page.
_ORDER = "interval_start, charge_point_id, connector_id, transaction_started_at, transaction_id"
_cursor = itemgetter(4, 0, 1, 3, 2)  # _ORDER's columns in a row of _INTERVAL_COLUMNS
_POINT_COLUMNS = (
    "charge_point_id, transaction_id, transaction_started_at, measured_at, register_wh,"
    " clock_aligned"
)
_OF_TRANSACTION = "charge_point_id = ? AND transaction_id = ? AND transaction_started_at = ?"
# The unary + keeps SQLite from skip-scanning the primary key for the charge
# point (what it picks once ANALYZE statistics exist): the range from the
# transaction's first quarter hour is short, the skip-scan seeks once for every
# quarter hour ever stored.
_INTERVALS_OF_TRANSACTION = (
    "interval_start > ? - 900 AND +charge_point_id = ? AND transaction_id = ?"
    " AND transaction_started_at = ?"
)


class LedgerSchemaError(RuntimeError):
    """The database was written by a newer version of the integration."""


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A completed charging session."""

    charge_point_id: str
    connector_id: int
    transaction_id: int
    id_tag: str
    tenant: str | None
    started_at: datetime
    stopped_at: datetime
    meter_start_wh: int
    meter_stop_wh: int
    energy_wh: int
    stop_reason: str | None
    stop_id_tag: str | None
    offline: bool  # recorded while the charger was offline (delivered late)
    cost: float | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly: times as ISO 8601 UTC strings, the energy in kWh too."""
        data = {field.name: getattr(self, field.name) for field in fields(self)}
        data["started_at"] = iso_utc(self.started_at)
        data["stopped_at"] = iso_utc(self.stopped_at)
        data["energy_kwh"] = self.energy_wh / 1000
        return data


@dataclass(frozen=True, slots=True)
class IntervalRecord:
    """The energy one transaction took in one quarter hour."""

    charge_point_id: str
    connector_id: int
    transaction_id: int
    transaction_started_at: datetime
    start: datetime  # UTC quarter-hour boundary
    end: datetime
    energy_wh: int
    estimated: bool
    id_tag: str
    tenant: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly: times as ISO 8601 UTC strings, the energy in kWh too."""
        data = {field.name: getattr(self, field.name) for field in fields(self)}
        for name in ("transaction_started_at", "start", "end"):
            data[name] = iso_utc(data[name])
        data["energy_kwh"] = self.energy_wh / 1000
        return data


def _stamp(value: datetime) -> float:
    # A naive datetime would silently be taken as the host's local time.
    if value.utcoffset() is None:
        raise ValueError(f"Naive datetime {value!r}: the ledger needs timezone-aware times")
    return value.timestamp()


def _utc(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


# Explicit conversions, not generic field loops: a month of a large building
# is 600k intervals, and the export spends most of its time here.
def _interval_row(item: IntervalRecord) -> tuple[Any, ...]:
    """In _INTERVAL_COLUMNS order. Quarter-hour boundaries are whole seconds: stored as integers."""
    return (
        item.charge_point_id,
        item.connector_id,
        item.transaction_id,
        _stamp(item.transaction_started_at),
        _stamp(item.start),
        _stamp(item.end),
        item.energy_wh,
        item.estimated,
        item.id_tag,
        item.tenant,
    )


def _interval_record(row: Sequence[Any]) -> IntervalRecord:
    charge_point_id, connector_id, transaction_id, started_at, start, end, *rest = row
    energy_wh, estimated, id_tag, tenant = rest
    return IntervalRecord(
        charge_point_id,
        connector_id,
        transaction_id,
        _utc(started_at),
        _utc(start),
        _utc(end),
        energy_wh,
        bool(estimated),
        id_tag,
        tenant,
    )


def _session_row(item: SessionRecord) -> tuple[Any, ...]:
    """In _SESSION_COLUMNS order."""
    return (
        item.charge_point_id,
        item.connector_id,
        item.transaction_id,
        item.id_tag,
        item.tenant,
        _stamp(item.started_at),
        _stamp(item.stopped_at),
        item.meter_start_wh,
        item.meter_stop_wh,
        item.energy_wh,
        item.stop_reason,
        item.stop_id_tag,
        item.offline,
        item.cost,
    )


def _session_record(row: Sequence[Any]) -> SessionRecord:
    charge_point_id, connector_id, transaction_id, id_tag, tenant, started, stopped, *rest = row
    meter_start_wh, meter_stop_wh, energy_wh, stop_reason, stop_id_tag, offline, cost = rest
    return SessionRecord(
        charge_point_id,
        connector_id,
        transaction_id,
        id_tag,
        tenant,
        _utc(started),
        _utc(stopped),
        meter_start_wh,
        meter_stop_wh,
        energy_wh,
        stop_reason,
        stop_id_tag,
        bool(offline),
        cost,
    )


def _key_row(key: TransactionKey) -> tuple[str, int, float]:
    return key[0], key[1], _stamp(key[2])


def _point_row(key: TransactionKey, point: MeterPoint) -> tuple[Any, ...]:
    stamp = _stamp(point.timestamp)
    return (*_key_row(key), stamp, point.register_wh, point.clock_aligned)


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front: no upgrade failure halfway.
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        # SQLite has already rolled back after some errors (a full disk, I/O).
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _migrate(connection: sqlite3.Connection) -> None:
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version > len(_MIGRATIONS):
        raise LedgerSchemaError(f"Ledger schema {version} is newer than {len(_MIGRATIONS)}")
    for number in range(version, len(_MIGRATIONS)):
        with _transaction(connection):
            connection.executescript(_MIGRATIONS[number])
            connection.execute(f"PRAGMA user_version = {number + 1}")


def _where(clauses: list[str], params: list[Any], equal: Mapping[str, str | int | None]) -> str:
    """Add an equality test for every filter given; the WHERE condition."""
    for column, value in equal.items():
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    return " AND ".join(clauses)


def _interval_filter(
    start: datetime, end: datetime, **equal: str | int | None
) -> tuple[str, list[Any]]:
    """The WHERE condition and its parameters; the lower bound of start comes first."""
    params: list[Any] = [_stamp(start), _stamp(end)]
    return _where(["interval_start >= ?", "interval_start < ?"], params, equal), params


class LedgerDatabase:
    """The ledger file; every call is carried out in its own worker thread."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Prepare to use the database at ``path``; nothing happens until opened."""
        self._path = Path(path)
        self._executor: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None  # used in the worker thread only

    async def _run[**P, T](self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._executor is None:
            raise RuntimeError("The ledger database is not open")
        call = functools.partial(func, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("The ledger database is not open")
        return self._connection

    async def async_open(self) -> None:
        """Create or upgrade the database and start its worker thread."""
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csms_ledger")
        try:
            await self._run(self._open)
        except BaseException:
            await self.async_close()
            raise

    def _open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        # Created in the worker thread; sqlite3 then refuses use from any other thread.
        connection = sqlite3.connect(self._path, autocommit=True)
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            # Billing data on SD cards: a commit is on the card before the call returns.
            connection.execute("PRAGMA synchronous = FULL")
            # A large purge grows the WAL; give the space back after the checkpoint.
            connection.execute("PRAGMA journal_size_limit = 16777216")
            _migrate(connection)
        except BaseException:
            connection.close()
            raise
        self._connection = connection

    async def async_close(self) -> None:
        """Finish the pending work, then close the connection and end the thread."""
        executor = self._executor
        if executor is None:
            return
        try:
            await self._run(self._close)
        finally:
            self._executor = None
            # The single worker has just finished its last job: joining it is immediate.
            executor.shutdown(wait=True)

    def _close(self) -> None:
        # No PRAGMA optimize: the few queries here are planned for this schema, and
        # statistics only made SQLite pick worse plans for some of them.
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    async def async_write(
        self,
        *,
        points: Iterable[tuple[TransactionKey, MeterPoint]] = (),
        intervals: Iterable[IntervalRecord] = (),
        sessions: Iterable[SessionRecord] = (),
        forget_points_of: Iterable[TransactionKey] = (),
        replace_intervals_of: Iterable[TransactionKey] = (),
    ) -> None:
        """Store everything in one SQLite transaction: all of it or, on an error, none.

        Intervals and sessions replace stored ones with the same key.
        ``replace_intervals_of`` first deletes every stored interval of those
        transactions (a recomputation that produced fewer intervals), then the
        given intervals are stored. An interval starting before the quarter
        hour its transaction started in is refused (``sqlite3.IntegrityError``).
        ``forget_points_of`` deletes the stored meter points of finished
        transactions, after the given points are stored.
        """
        # Copied here, on the event loop: the caller may change its collections
        # while the worker thread writes.
        await self._run(
            self._write,
            tuple(points),
            tuple(intervals),
            tuple(sessions),
            tuple(forget_points_of),
            tuple(replace_intervals_of),
        )

    def _write(
        self,
        points: tuple[tuple[TransactionKey, MeterPoint], ...],
        intervals: tuple[IntervalRecord, ...],
        sessions: tuple[SessionRecord, ...],
        forget_points_of: tuple[TransactionKey, ...],
        replace_intervals_of: tuple[TransactionKey, ...],
    ) -> None:
        db = self._db()
        with _transaction(db):
            delete_intervals = f"DELETE FROM ledger_interval WHERE {_INTERVALS_OF_TRANSACTION}"
            keys = map(_key_row, replace_intervals_of)
            db.executemany(delete_intervals, ((key[2], *key) for key in keys))
            db.executemany(
                f"INSERT OR REPLACE INTO ledger_interval ({_INTERVAL_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                map(_interval_row, intervals),
            )
            db.executemany(
                f"INSERT OR REPLACE INTO ledger_session ({_SESSION_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                map(_session_row, sessions),
            )
            db.executemany(
                f"INSERT OR REPLACE INTO ledger_point ({_POINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (_point_row(key, point) for key, point in points),
            )
            delete_points = f"DELETE FROM ledger_point WHERE {_OF_TRANSACTION}"
            db.executemany(delete_points, map(_key_row, forget_points_of))

    async def async_points(self) -> dict[TransactionKey, list[MeterPoint]]:
        """The stored meter points of every transaction, in time order."""
        return await self._run(self._points)

    def _points(self) -> dict[TransactionKey, list[MeterPoint]]:
        rows = self._db().execute(
            f"SELECT {_POINT_COLUMNS} FROM ledger_point"
            " ORDER BY charge_point_id, transaction_id, transaction_started_at, measured_at"
        )
        points: dict[TransactionKey, list[MeterPoint]] = {}
        for charge_point_id, transaction_id, started_at, measured_at, register_wh, aligned in rows:
            key = (charge_point_id, transaction_id, _utc(started_at))
            point = MeterPoint(_utc(measured_at), register_wh, bool(aligned))
            points.setdefault(key, []).append(point)
        return points

    async def async_intervals(
        self,
        start: datetime,
        end: datetime,
        *,
        charge_point_id: str | None = None,
        connector_id: int | None = None,
        tenant: str | None = None,
        id_tag: str | None = None,
        limit: int | None = None,
    ) -> list[IntervalRecord]:
        """Intervals starting in [start, end), by start, charge point and connector."""
        where, params = _interval_filter(
            start,
            end,
            charge_point_id=charge_point_id,
            connector_id=connector_id,
            tenant=tenant,
            id_tag=id_tag,
        )
        return await self._run(self._intervals, where, params, limit)

    # Rows become records in the worker too: a month of intervals would
    # otherwise hold up the event loop for a second.
    def _intervals(self, where: str, params: list[Any], limit: int | None) -> list[IntervalRecord]:
        return [_interval_record(row) for row in self._interval_page(where, params, limit, None)]

    def _interval_page(
        self, where: str, params: list[Any], limit: int | None, after: tuple[Any, ...] | None
    ) -> list[tuple[Any, ...]]:
        if after is not None:
            # Keyset pagination. The page's first start replaces the lower bound
            # (it is never lower): given two lower bounds, SQLite seeks by one and
            # filters by the other, rescanning from the export's start every page.
            where += f" AND ({_ORDER}) > (?, ?, ?, ?, ?)"
            params = [after[0], *params[1:], *after]
        sql = f"SELECT {_INTERVAL_COLUMNS} FROM ledger_interval WHERE {where} ORDER BY {_ORDER}"
        rows = self._db().execute(f"{sql} LIMIT ?", (*params, -1 if limit is None else limit))
        return rows.fetchall()

    async def async_export_csv(
        self,
        start: datetime,
        end: datetime,
        *,
        tz: tzinfo,
        charge_point_id: str | None = None,
        connector_id: int | None = None,
        tenant: str | None = None,
        id_tag: str | None = None,
        page_rows: int = 10_000,
    ) -> AsyncIterator[str]:
        """The intervals of ``async_intervals`` as CSV: the header, then pages of rows.

        Each page is read and rendered in the worker thread, so a month of a
        large building streams without being held in memory. Pages are separate
        reads: a row written meanwhile may or may not appear, none twice.
        """
        where, params = _interval_filter(
            start,
            end,
            charge_point_id=charge_point_id,
            connector_id=connector_id,
            tenant=tenant,
            id_tag=id_tag,
        )
        if page_rows < 1:
            raise ValueError(f"page_rows must be at least 1, not {page_rows}")
        yield csv_header()
        after: tuple[Any, ...] | None = None
        while True:
            text, after = await self._run(self._csv_page, where, params, tz, page_rows, after)
            if text:
                yield text
            if after is None:
                return

    def _csv_page(
        self, where: str, params: list[Any], tz: tzinfo, size: int, after: tuple[Any, ...] | None
    ) -> tuple[str, tuple[Any, ...] | None]:
        page = self._interval_page(where, params, size, after)
        cursor = _cursor(page[-1]) if len(page) == size else None
        return csv_lines(map(_interval_record, page), tz), cursor

    async def async_sessions(
        self,
        start: datetime,
        end: datetime,
        *,
        charge_point_id: str | None = None,
        id_tag: str | None = None,
        tenant: str | None = None,
        limit: int | None = None,
    ) -> list[SessionRecord]:
        """Sessions overlapping [start, end), by start time."""
        params: list[Any] = [_stamp(start), _stamp(end)]
        equal = {"charge_point_id": charge_point_id, "id_tag": id_tag, "tenant": tenant}
        where = _where(["stopped_at >= ?", "started_at < ?"], params, equal)
        sql = (
            f"SELECT {_SESSION_COLUMNS} FROM ledger_session WHERE {where}"
            " ORDER BY started_at, charge_point_id, transaction_id LIMIT ?"
        )
        params.append(-1 if limit is None else limit)
        return await self._run(lambda: list(map(_session_record, self._db().execute(sql, params))))

    async def async_tenant_energy_by_hour(
        self, start: datetime, end: datetime
    ) -> dict[str, dict[datetime, int]]:
        """Wh per tenant and UTC hour (its start) of the intervals starting in [start, end)."""
        # Grouped by hour first: SQLite then reads the time range by primary key
        # instead of skip-scanning the tenant index (several times slower).
        sql = (
            "SELECT tenant, interval_start - interval_start % 3600 AS hour, SUM(energy_wh)"
            " FROM ledger_interval WHERE interval_start >= ? AND interval_start < ?"
            " AND tenant IS NOT NULL GROUP BY hour, tenant"
        )
        params = (_stamp(start), _stamp(end))

        def tenant_energy() -> dict[str, dict[datetime, int]]:
            energy: dict[str, dict[datetime, int]] = {}
            for tenant, hour, energy_wh in self._db().execute(sql, params):
                energy.setdefault(tenant, {})[_utc(hour)] = energy_wh
            return energy

        return await self._run(tenant_energy)

    async def async_purge(self, before: datetime) -> int:
        """Delete intervals ended and sessions stopped before ``before``; the rows deleted.

        Meter points stay: they belong to transactions still open. The file
        does not shrink: freed pages are reused by the intervals written next,
        and shrinking (incremental vacuum) would only move pages around on the
        SD card for a file that grows back anyway.
        """
        return await self._run(self._purge, _stamp(before))

    def _purge(self, before: float) -> int:
        db = self._db()
        with _transaction(db):
            # interval_start < ? adds nothing (end > start) but lets the key range do the work.
            intervals = db.execute(
                "DELETE FROM ledger_interval WHERE interval_start < ? AND interval_end <= ?",
                (before, before),
            ).rowcount
            sessions = db.execute("DELETE FROM ledger_session WHERE stopped_at < ?", (before,))
        return intervals + sessions.rowcount
