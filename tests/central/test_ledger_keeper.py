"""The ledger keeper: nothing pending is lost when a database write fails."""

from __future__ import annotations

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
