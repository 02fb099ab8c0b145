"""The ledger keeper: stops share writes, and nothing pending is lost when a write fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from pathlib import Path
import sqlite3
from typing import Any

import pytest

from custom_components.csms.central.ledger import MeterPoint
from custom_components.csms.central.ledger_db import LedgerDatabase
from custom_components.csms.central.ledger_keeper import LedgerKeeper
from custom_components.csms.central.model import Transaction

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


async def test_a_failed_write_is_written_with_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = LedgerDatabase(tmp_path / "ledger.db")
    await database.async_open()
    keeper = LedgerKeeper(database)
    transaction = Transaction(
        transaction_id=1, connector_id=1, id_tag="T", meter_start_wh=1000, started_at=T0
    )
    keeper.add_points("CP1", transaction, [MeterPoint(T0 + timedelta(minutes=20), 2000, True)])

    real_write = database.async_write

    async def full_disk(**_: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(database, "async_write", full_disk)
    transaction.stopped_at, transaction.meter_stop_wh = T0 + timedelta(minutes=40), 3000
    # The stop is answered anyway; the session waits for the next write.
    await keeper.async_transaction_stopped("CP1", transaction)
    assert await database.async_sessions(T0, T0 + timedelta(hours=1)) == []

    monkeypatch.setattr(database, "async_write", real_write)
    await keeper.async_flush()
    (session,) = await database.async_sessions(T0, T0 + timedelta(hours=1))
    assert session.energy_wh == 2000
    intervals = await database.async_intervals(T0, T0 + timedelta(hours=1))
    assert sum(interval.energy_wh for interval in intervals) == 2000
    assert await database.async_points() == {}
    await database.async_close()


@pytest.fixture
async def database(tmp_path: Path) -> AsyncGenerator[LedgerDatabase]:
    """An open ledger database, closed after the test."""
    database = LedgerDatabase(tmp_path / "ledger.db")
    await database.async_open()
    yield database
    await database.async_close()


def _stopped(transaction_id: int) -> Transaction:
    transaction = Transaction(
        transaction_id=transaction_id,
        connector_id=1,
        id_tag="T",
        meter_start_wh=1000,
        started_at=T0,
    )
    transaction.stopped_at, transaction.meter_stop_wh = T0 + timedelta(minutes=40), 1500
    return transaction


class HeldWrites:
    """The database's writes: the first held until released, the ones in ``failing`` fail."""

    def __init__(self, database: LedgerDatabase, failing: frozenset[int] = frozenset()) -> None:
        self._write = database.async_write
        self._failing = failing
        self.sessions: list[int] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, **kwargs: Any) -> None:
        self.sessions.append(len(kwargs["sessions"]))
        number = len(self.sessions)
        if number == 1:
            self.started.set()
            await self.release.wait()
        if number in self._failing:
            raise sqlite3.OperationalError("disk I/O error")
        await self._write(**kwargs)


def _stop(keeper: LedgerKeeper, charge_point_id: str) -> asyncio.Task[Any]:
    return asyncio.create_task(keeper.async_transaction_stopped(charge_point_id, _stopped(1)))


async def _charge_points_with_sessions(database: LedgerDatabase) -> list[str]:
    sessions = await database.async_sessions(T0, T0 + timedelta(hours=1))
    return sorted(session.charge_point_id for session in sessions)


async def test_stops_during_a_write_share_the_next_write(
    database: LedgerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    keeper = LedgerKeeper(database)
    writes = HeldWrites(database)
    monkeypatch.setattr(database, "async_write", writes)
    first = _stop(keeper, "CP00")
    await writes.started.wait()
    # A reconnect storm: many stops queue behind the write in progress.
    others = [_stop(keeper, f"CP{n:02}") for n in range(1, 21)]
    await asyncio.sleep(0)
    writes.release.set()
    await asyncio.gather(first, *others)

    assert writes.sessions == [1, 20]
    assert len(await _charge_points_with_sessions(database)) == 21


async def test_a_stop_whose_shared_write_failed_writes_again(
    database: LedgerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    keeper = LedgerKeeper(database)
    writes = HeldWrites(database, failing=frozenset({2}))
    monkeypatch.setattr(database, "async_write", writes)
    first = _stop(keeper, "CP0")
    await writes.started.wait()
    # Both wait; the write they share fails, so the one that did not write tries again.
    second, third = _stop(keeper, "CP1"), _stop(keeper, "CP2")
    await asyncio.sleep(0)
    writes.release.set()
    await asyncio.gather(first, second, third)

    assert len(writes.sessions) == 3
    assert await _charge_points_with_sessions(database) == ["CP0", "CP1", "CP2"]


async def test_a_cancelled_stop_leaves_the_shared_write_to_finish(
    database: LedgerDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    keeper = LedgerKeeper(database)
    writes = HeldWrites(database, failing=frozenset({1}))
    monkeypatch.setattr(database, "async_write", writes)
    first = _stop(keeper, "CP0")
    await writes.started.wait()
    second = _stop(keeper, "CP1")
    await asyncio.sleep(0)
    # Home Assistant stopping cancels the first caller in the middle of its write.
    first.cancel()
    writes.release.set()
    await second

    assert await _charge_points_with_sessions(database) == ["CP0", "CP1"]
    assert first.cancelled()
