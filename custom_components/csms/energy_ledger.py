"""The energy ledger in Home Assistant: one SQLite file for every server.

The file lives in the configuration directory (``csms_ledger.db``), so it is
part of Home Assistant's backups. It is opened when the integration loads,
written off the event loop, flushed when Home Assistant stops and purged of
what is older than the longest retention any server asks for.
"""

from __future__ import annotations

from datetime import datetime

from homeassistant.const import EVENT_HOMEASSISTANT_CLOSE, EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_change
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .central.ledger_db import LedgerDatabase
from .central.ledger_keeper import LedgerKeeper
from .const import (
    CONF_CHARGE_POINT_ID,
    CONF_LEDGER_RETENTION,
    DEFAULT_LEDGER_RETENTION_MONTHS,
    DOMAIN,
)

LEDGER: HassKey[LedgerKeeper] = HassKey(f"{DOMAIN}_ledger")
LEDGER_FILE = "csms_ledger.db"


async def async_setup_ledger(hass: HomeAssistant) -> None:
    """Open the ledger, take back running transactions' readings, purge daily."""
    database = LedgerDatabase(hass.config.path(LEDGER_FILE))
    await database.async_open()
    keeper = LedgerKeeper(database)
    await keeper.async_load()
    hass.data[LEDGER] = keeper

    async def purge(now: datetime) -> None:
        await hass.data[LEDGER].database.async_purge(retention_start(hass, now))

    cancel_purge = async_track_time_change(hass, purge, hour=3, minute=21, second=0)

    async def final_write(_: Event) -> None:
        cancel_purge()
        await hass.data[LEDGER].async_flush()

    async def close(_: Event) -> None:
        await hass.data[LEDGER].database.async_close()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_FINAL_WRITE, final_write)
    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_CLOSE, close)


@callback
def retention_start(hass: HomeAssistant, now: datetime) -> datetime:
    """The oldest moment the ledger keeps: the longest retention of any server, in months."""
    months = max(
        (
            int(entry.options.get(CONF_LEDGER_RETENTION, DEFAULT_LEDGER_RETENTION_MONTHS))
            for entry in hass.config_entries.async_entries(DOMAIN)
            if CONF_CHARGE_POINT_ID not in entry.data
        ),
        default=DEFAULT_LEDGER_RETENTION_MONTHS,
    )
    local = dt_util.as_local(now)
    year, month = divmod(local.year * 12 + local.month - 1 - months, 12)
    # The first of the month, so a month is kept whole.
    start = local.replace(
        year=year, month=month + 1, day=1, hour=0, minute=0, second=0, microsecond=0
    )
    return dt_util.as_utc(start)
