"""Each tenant's charging energy as hourly statistics (``csms:energy_<tenant>``).

The energy dashboard can add them as individual devices, so a building's
dashboard shows who charged how much. Sums are the ledger's quarter hours
added up per hour. The last 48 hours are imported again every hour: a
charger that was offline delivers its quarter hours late, and they still
count in the hour they belong to. What arrives later than that counts in
the oldest hour imported again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import async_add_external_statistics
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, UnitOfEnergy
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers.event import async_track_time_change
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util, slugify
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .energy_ledger import LEDGER

STORAGE_KEY = f"{DOMAIN}.tenant_statistics"
STORAGE_VERSION = 1
TENANT_STATISTICS: HassKey[TenantStatistics] = HassKey(f"{DOMAIN}_tenant_statistics")
REIMPORT_WINDOW = timedelta(hours=48)
HOUR = timedelta(hours=1)
EPOCH = datetime(2000, 1, 1, tzinfo=dt_util.UTC)


def statistic_id(tenant: str) -> str:
    """The external statistic of a tenant."""
    return f"{DOMAIN}:energy_{slugify(tenant)}"


class TenantStatistics:
    """Imports the tenants' hourly energy; remembers each sum where re-imports start."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Use the ledger of ``hass``; call :meth:`async_load` next."""
        self.hass = hass
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, STORAGE_KEY)
        # tenant -> (hour from which the next import starts, the sum before it)
        self._bases: dict[str, tuple[datetime, float]] = {}

    async def async_load(self) -> None:
        """Restore where each tenant's re-import starts."""
        data = await self._store.async_load() or {}
        self._bases = {
            tenant: (datetime.fromisoformat(base["hour"]), float(base["sum"]))
            for tenant, base in data.get("tenants", {}).items()
        }

    async def async_update(self, now: datetime | None = None) -> None:
        """Import every tenant's hours up to the last full one."""
        end = dt_util.utcnow() if now is None else dt_util.as_utc(now)
        end = end.replace(minute=0, second=0, microsecond=0)
        window_start = end - REIMPORT_WINDOW
        database = self.hass.data[LEDGER].database
        # The first import takes the whole history; later ones the hours since.
        first_hour = min((hour for hour, _ in self._bases.values()), default=EPOCH)
        energy = await database.async_tenant_energy_by_hour(first_hour, end)
        for tenant, hours in energy.items():
            base_hour, base_sum = self._bases.get(tenant, (EPOCH, 0.0))
            rows: list[StatisticData] = []
            total = base_sum
            for hour in sorted(h for h in hours if h >= base_hour):
                total += hours[hour] / 1000
                rows.append(StatisticData(start=hour, state=total, sum=total))
                if hour < window_start:
                    base_hour, base_sum = hour + HOUR, total
            if rows:
                async_add_external_statistics(self.hass, _metadata(tenant), rows)
            self._bases[tenant] = (max(base_hour, min(window_start, end)), base_sum)
        await self._store.async_save(
            {
                "tenants": {
                    tenant: {"hour": hour.isoformat(), "sum": total}
                    for tenant, (hour, total) in self._bases.items()
                }
            }
        )


def _metadata(tenant: str) -> StatisticMetaData:
    return StatisticMetaData(
        mean_type=StatisticMeanType.NONE,
        has_sum=True,
        name=f"{tenant} EV charging",
        source=DOMAIN,
        statistic_id=statistic_id(tenant),
        unit_class="energy",
        unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    )


async def async_setup_tenant_statistics(hass: HomeAssistant) -> None:
    """Import hourly, a few minutes past the hour (when the recorder is there)."""
    if "recorder" not in hass.config.components:
        return
    statistics = hass.data[TENANT_STATISTICS] = TenantStatistics(hass)
    await statistics.async_load()
    cancel = async_track_time_change(hass, statistics.async_update, minute=3, second=0)

    def stop(_: Event) -> None:
        cancel()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, stop)
