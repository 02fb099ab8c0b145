"""The ledger keeper: stops share writes, and nothing pending is lost when a write fails."""

from __future__ import annotations

import asyncio
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


async def test_stops_during_a_write_share_the_next_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = LedgerDatabase(tmp_path / "ledger.db")
    await database.async_open()
    keeper = LedgerKeeper(database)
    real_write = database.async_write
    writes: list[int] = []
    first_write_started = asyncio.Event()
    release_first_write = asyncio.Event()

    async def slow_write(**kwargs: Any) -> None:
        writes.append(len(kwargs["sessions"]))
        if len(writes) == 1:
            first_write_started.set()
            await release_first_write.wait()
        await real_write(**kwargs)

    monkeypatch.setattr(database, "async_write", slow_write)
    first = asyncio.create_task(keeper.async_transaction_stopped("CP0", _stopped(1)))
    await first_write_started.wait()
    # A reconnect storm: many stops queue behind the write in progress.
    others = [
        asyncio.create_task(keeper.async_transaction_stopped(f"CP{n}", _stopped(1)))
        for n in range(1, 21)
    ]
    await asyncio.sleep(0)
    release_first_write.set()
    await asyncio.gather(first, *others)

    assert writes == [1, 20]
    sessions = await database.async_sessions(T0, T0 + timedelta(hours=1))
    assert len(sessions) == 21
    await database.async_close()


async def test_a_stop_whose_shared_write_failed_writes_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = LedgerDatabase(tmp_path / "ledger.db")
    await database.async_open()
    keeper = LedgerKeeper(database)
    real_write = database.async_write
    calls = 0
    write_started = asyncio.Event()
    release = asyncio.Event()

    async def failing_once(**kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise sqlite3.OperationalError("disk I/O error")
        if calls == 1:
            write_started.set()
            await release.wait()
        await real_write(**kwargs)

    monkeypatch.setattr(database, "async_write", failing_once)
    first = asyncio.create_task(keeper.async_transaction_stopped("CP0", _stopped(1)))
    await write_started.wait()
    # Both wait; the write they share fails, so the one that did not write tries again.
    second = asyncio.create_task(keeper.async_transaction_stopped("CP1", _stopped(1)))
    third = asyncio.create_task(keeper.async_transaction_stopped("CP2", _stopped(1)))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, second, third)

    assert calls == 3
    sessions = await database.async_sessions(T0, T0 + timedelta(hours=1))
    assert sorted(session.charge_point_id for session in sessions) == ["CP0", "CP1", "CP2"]
    await database.async_close()


async def test_a_cancelled_stop_leaves_the_shared_write_to_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = LedgerDatabase(tmp_path / "ledger.db")
    await database.async_open()
    keeper = LedgerKeeper(database)
    real_write = database.async_write
    calls = 0
    write_started = asyncio.Event()
    release = asyncio.Event()

    async def fails_after_a_while(**kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            write_started.set()
            await release.wait()
            raise sqlite3.OperationalError("disk I/O error")
        await real_write(**kwargs)

    monkeypatch.setattr(database, "async_write", fails_after_a_while)
    first = asyncio.create_task(keeper.async_transaction_stopped("CP0", _stopped(1)))
    await write_started.wait()
    second = asyncio.create_task(keeper.async_transaction_stopped("CP1", _stopped(1)))
    await asyncio.sleep(0)
    # Home Assistant stopping cancels the first caller in the middle of its write.
    first.cancel()
    release.set()
    await second

    sessions = await database.async_sessions(T0, T0 + timedelta(hours=1))
    assert sorted(session.charge_point_id for session in sessions) == ["CP0", "CP1"]
    assert first.cancelled()
    await database.async_close()
