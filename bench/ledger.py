"""Benchmark of the energy ledger: a month of 15-minute intervals for a parking lot.

Writes `connectors` x `days` x 96 intervals into a fresh ledger database, then
times what billing does with them: a month's CSV export, one charger's month
and the tenants' hourly energy.

    python -m bench.ledger [connectors] [days]
"""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
import sys
import tempfile
import time
from zoneinfo import ZoneInfo

from custom_components.csms.central.ledger_db import IntervalRecord, LedgerDatabase

START = datetime(2026, 10, 1, tzinfo=UTC)
QUARTER = timedelta(minutes=15)


@dataclass(frozen=True)
class LedgerFigures:
    """What a month of ledger work costs."""

    intervals: int
    write_s: float
    database_mib: float
    export_s: float
    export_mib: float
    one_charger_s: float
    one_charger_rows: int
    tenants_by_hour_s: float
    tenants: int


def month_of_intervals(connector: int, days: int) -> list[IntervalRecord]:
    """One connector's intervals: eight-hour sessions back to back."""
    tx_started = START
    rows = []
    for index in range(days * 96):
        start = START + index * QUARTER
        if index % 32 == 0:
            tx_started = start
        rows.append(
            IntervalRecord(
                charge_point_id=f"CP{connector:04d}",
                connector_id=1,
                transaction_id=connector * 100_000 + index // 32,
                transaction_started_at=tx_started,
                start=start,
                end=start + QUARTER,
                energy_wh=1000 + index % 1700,
                estimated=index % 7 == 0,
                id_tag=f"TAG{connector:04d}",
                tenant=f"Apartment {connector % 50}",
            )
        )
    return rows


async def measure(connectors: int, days: int) -> LedgerFigures:
    """Fill a ledger in a temporary directory and time its billing queries."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "csms_ledger.db"
        database = LedgerDatabase(path)
        await database.async_open()
        began = time.perf_counter()
        for connector in range(connectors):
            await database.async_write(intervals=month_of_intervals(connector, days))
        write_s = time.perf_counter() - began
        end = START + timedelta(days=days)

        began = time.perf_counter()
        size = 0
        async for text in database.async_export_csv(START, end, tz=ZoneInfo("Europe/Zurich")):
            size += len(text)
        export_s = time.perf_counter() - began

        began = time.perf_counter()
        one = await database.async_intervals(START, end, charge_point_id="CP0007")
        one_s = time.perf_counter() - began

        began = time.perf_counter()
        tenants = await database.async_tenant_energy_by_hour(START, end)
        tenants_s = time.perf_counter() - began
        await database.async_close()
        return LedgerFigures(
            intervals=connectors * days * 96,
            write_s=write_s,
            database_mib=path.stat().st_size / 2**20,
            export_s=export_s,
            export_mib=size / 2**20,
            one_charger_s=one_s,
            one_charger_rows=len(one),
            tenants_by_hour_s=tenants_s,
            tenants=len(tenants),
        )


def report(figures: LedgerFigures, connectors: int, days: int) -> str:
    """The figures as lines of text."""
    rows = figures.intervals
    return "\n".join(
        (
            f"intervals            {rows:>12,}  ({connectors} connectors x {days} days x 96)",
            f"write                {figures.write_s:>12.2f} s  "
            f"({rows / figures.write_s:,.0f} rows/s)",
            f"database size        {figures.database_mib:>12.1f} MiB",
            f"CSV export (month)   {figures.export_s:>12.2f} s  ({figures.export_mib:.1f} MiB)",
            f"one charger (month)  {figures.one_charger_s * 1000:>12.1f} ms "
            f"({figures.one_charger_rows} rows)",
            f"tenants by hour      {figures.tenants_by_hour_s * 1000:>12.1f} ms "
            f"({figures.tenants} tenants)",
        )
    )


def main() -> None:
    """Entry point of `python -m bench.ledger`."""
    connectors = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 31
    print(report(asyncio.run(measure(connectors, days)), connectors, days))


if __name__ == "__main__":
    main()
