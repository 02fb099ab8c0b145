"""CSV rendering of the energy ledger's quarter-hour intervals, for tenant billing.

Pure functions: the database renders each page with them in its own thread.
"""

from __future__ import annotations

from collections.abc import Iterable
import csv
from datetime import UTC, datetime, tzinfo
import functools
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .ledger_db import IntervalRecord

CSV_COLUMNS = (
    "interval_start_utc",
    "interval_end_utc",
    "interval_start_local",
    "interval_end_local",
    "charge_point_id",
    "connector_id",
    "transaction_id",
    "id_tag",
    "tenant",
    "energy_kwh",
    "estimated",
)


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``; fractions of a second only when there are any."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def kwh_text(energy_wh: int) -> str:
    """Integer Wh as kWh with exactly three decimals, without float rounding."""
    sign = "-" if energy_wh < 0 else ""
    kwh, wh = divmod(abs(energy_wh), 1000)
    return f"{sign}{kwh}.{wh:03d}"


def _render(rows: Iterable[Iterable[object]]) -> str:
    # The csv module quotes what needs it: id tags are free text and may hold commas.
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def csv_header() -> str:
    """The header line."""
    return _render([CSV_COLUMNS])


def csv_lines(intervals: Iterable[IntervalRecord], tz: tzinfo) -> str:
    """One CSV line per interval; local times carry their offset.

    On the day clocks go back the local hour repeats; only the offset tells
    02:45+02:00 from 02:45+01:00, so it is always written.
    """

    # All connectors share the same quarter hours: format each boundary once.
    @functools.cache
    def times(moment: datetime) -> tuple[str, str]:
        return iso_utc(moment), moment.astimezone(tz).isoformat()

    def line(interval: IntervalRecord) -> tuple[object, ...]:
        start_utc, start_local = times(interval.start)
        end_utc, end_local = times(interval.end)
        return (
            start_utc,
            end_utc,
            start_local,
            end_local,
            interval.charge_point_id,
            interval.connector_id,
            interval.transaction_id,
            interval.id_tag,
            interval.tenant or "",
            kwh_text(interval.energy_wh),
            "true" if interval.estimated else "false",
        )

    return _render(map(line, intervals))
