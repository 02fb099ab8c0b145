"""Keeps the 15-minute ledger and the session records of every transaction.

Readings of running transactions are stored as they come (compacted to
what the quarter hours need, see :func:`.ledger.compact`), so a restart of
the host or a reconnect of the charger loses nothing; every change of a
transaction's quarter hours is written soon, in one database transaction
with the readings it came from; a finished transaction's session record and
final quarter hours are written before the charger gets its answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable
from datetime import datetime
import logging
import sqlite3

from .ledger import Interval, MeterPoint, compact, transaction_intervals
from .ledger_db import IntervalRecord, LedgerDatabase, SessionRecord, TransactionKey
from .model import Transaction

_LOGGER = logging.getLogger(__name__)

# Readings come in bursts (every charger at the quarter hour): one write for each burst.
FLUSH_DELAY_S = 1.0


def transaction_key(charge_point_id: str, transaction: Transaction) -> TransactionKey:
    """Transaction ids repeat over the years; with the start time they do not."""
    return (charge_point_id, transaction.transaction_id, transaction.started_at)


class LedgerKeeper:
    """The running transactions' readings, and what has to be written."""

    def __init__(self, database: LedgerDatabase) -> None:
        """Keep the ledger in ``database`` (opened); call :meth:`async_load` next."""
        self.database = database
        self._points: dict[TransactionKey, list[MeterPoint]] = {}
        # What the database holds of each running transaction's quarter hours.
        self._written: dict[TransactionKey, dict[datetime, Interval]] = {}
        self._pending_points: list[tuple[TransactionKey, MeterPoint]] = []
        self._pending_intervals: dict[tuple[TransactionKey, datetime], IntervalRecord] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._pending_sessions: list[SessionRecord] = []
        self._pending_finished: list[TransactionKey] = []
        self._write_lock = asyncio.Lock()
        # Group commit (see async_flush): flushes asked for, and how many a write covered.
        self._flushes_requested = 0
        self._flushes_written = 0

    async def async_load(self) -> None:
        """Take back the readings of the transactions that were running."""
        self._points = await self.database.async_points()

    def add_points(
        self, charge_point_id: str, transaction: Transaction, points: list[MeterPoint]
    ) -> list[Interval]:
        """Take a running transaction's readings; return its quarter hours so far."""
        key = transaction_key(charge_point_id, transaction)
        known = self._points.get(key, [])
        if points:
            self._pending_points.extend((key, point) for point in points)
            self._schedule_flush()
        kept = self._points[key] = compact(
            [*known, *points],
            started_at=transaction.started_at,
            meter_start_wh=transaction.meter_start_wh,
        )
        intervals = transaction_intervals(
            started_at=transaction.started_at,
            meter_start_wh=transaction.meter_start_wh,
            points=kept,
        )
        written = self._written.setdefault(key, {})
        changed = [interval for interval in intervals if written.get(interval.start) != interval]
        if changed:
            for interval in changed:
                written[interval.start] = interval
                self._pending_intervals[key, interval.start] = _record(
                    charge_point_id, transaction, interval
                )
            self._schedule_flush()
        return intervals

    async def async_transaction_stopped(
        self, charge_point_id: str, transaction: Transaction
    ) -> list[Interval]:
        """Write the session and its final quarter hours (with what else is pending)."""
        key = transaction_key(charge_point_id, transaction)
        intervals = transaction_intervals(
            started_at=transaction.started_at,
            meter_start_wh=transaction.meter_start_wh,
            points=self._points.pop(key, []),
            stopped_at=transaction.stopped_at,
            meter_stop_wh=transaction.meter_stop_wh,
        )
        self._written.pop(key, None)
        # The final quarter hours replace whatever the readings suggested.
        for pending in [pending for pending in self._pending_intervals if pending[0] == key]:
            del self._pending_intervals[pending]
        for interval in intervals:
            self._pending_intervals[key, interval.start] = _record(
                charge_point_id, transaction, interval
            )
        try:
            await self.async_flush(
                sessions=[_session(charge_point_id, transaction)], finished=[key]
            )
        except sqlite3.Error:
            # The stop is in the central system's storage already; the ledger
            # catches up with the next write that succeeds.
            _LOGGER.exception("Writing the session of transaction %s failed", key[1])
        return intervals

    def _schedule_flush(self) -> None:
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(
                FLUSH_DELAY_S, self._start_timed_flush
            )

    def _start_timed_flush(self) -> None:
        self._flush_handle = None
        # Kept, so the task is not collected halfway through its write.
        self._flush_task = asyncio.get_running_loop().create_task(self._timed_flush())

    async def _timed_flush(self) -> None:
        try:
            await self.async_flush()
        except sqlite3.Error:
            # Kept pending (see async_flush) and tried again.
            _LOGGER.exception("Writing the energy ledger failed; retrying")

    async def async_flush(
        self,
        *,
        sessions: Iterable[SessionRecord] = (),
        finished: Collection[TransactionKey] = (),
    ) -> None:
        """Write what is pending, in one database transaction; return once it is written.

        Flushes asked for while a write runs share the next one (group
        commit): in a reconnect storm hundreds of queued StopTransactions
        arrive at once, and each waits for its session to be written.
        On a database error nothing of it was written: it stays pending for
        the next try (newer intervals of a quarter hour winning) and the
        error is raised.
        """
        self._pending_sessions.extend(sessions)
        self._pending_finished.extend(finished)
        self._flushes_requested += 1
        # The write goes on if the caller is cancelled: its batch holds the
        # sessions of the callers waiting for it, put back if it fails (and
        # then retried by the timed flush, which logs: no caller is left to).
        flush = asyncio.ensure_future(self._async_flush_up_to(self._flushes_requested))
        flush.add_done_callback(lambda done: done.cancelled() or done.exception())
        await asyncio.shield(flush)

    async def _async_flush_up_to(self, wanted: int) -> None:
        async with self._write_lock:
            if self._flushes_written >= wanted:
                return  # a write that started after our request covered it
            covered = self._flushes_requested
            await self._async_write_pending()
            self._flushes_written = covered

    async def _async_write_pending(self) -> None:
        # This write takes everything pending: a timed flush has nothing left to do.
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        points, self._pending_points = self._pending_points, []
        intervals, self._pending_intervals = self._pending_intervals, {}
        done_sessions, self._pending_sessions = self._pending_sessions, []
        done, self._pending_finished = self._pending_finished, []
        try:
            await self.database.async_write(
                points=points,
                intervals=intervals.values(),
                sessions=done_sessions,
                forget_points_of=done,
                replace_intervals_of=done,
            )
        except sqlite3.Error:
            self._pending_points[:0] = points
            self._pending_intervals = intervals | self._pending_intervals
            self._pending_sessions[:0] = done_sessions
            self._pending_finished[:0] = done
            self._schedule_flush()
            raise


def _record(charge_point_id: str, transaction: Transaction, interval: Interval) -> IntervalRecord:
    return IntervalRecord(
        charge_point_id=charge_point_id,
        connector_id=transaction.connector_id,
        transaction_id=transaction.transaction_id,
        transaction_started_at=transaction.started_at,
        start=interval.start,
        end=interval.end,
        energy_wh=interval.energy_wh,
        estimated=interval.estimated,
        id_tag=transaction.id_tag,
        tenant=transaction.tenant,
    )


def _session(charge_point_id: str, transaction: Transaction) -> SessionRecord:
    stopped_at = transaction.stopped_at or transaction.started_at
    meter_stop_wh = (
        transaction.meter_stop_wh
        if transaction.meter_stop_wh is not None
        else transaction.meter_start_wh
    )
    return SessionRecord(
        charge_point_id=charge_point_id,
        connector_id=transaction.connector_id,
        transaction_id=transaction.transaction_id,
        id_tag=transaction.id_tag,
        tenant=transaction.tenant,
        started_at=transaction.started_at,
        stopped_at=stopped_at,
        meter_start_wh=transaction.meter_start_wh,
        meter_stop_wh=meter_stop_wh,
        energy_wh=round(transaction.energy_wh),
        stop_reason=transaction.stop_reason,
        stop_id_tag=transaction.stop_id_tag,
        offline=transaction.offline,
        cost=None if transaction.cost is None else round(transaction.cost, 4),
    )
