"""Keeps a charger's local authorization list in step with the id tags.

The list lets known cards charge while the charger cannot reach Home
Assistant. It is brought up to date after every accepted boot, when the
charger reconnects, and shortly after the id tags change (a burst of
changes makes one update).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer

from .central import ChargePoint
from .central.errors import RequestError
from .central.local_list import LocalListSync, SyncOutcome, limit_entries
from .central.timestamps import utcnow
from .hub import Hub

_LOGGER = logging.getLogger(__name__)

# Wait this long after a change before updating chargers: many tags added
# in a row go out as one update.
SYNC_DELAY_S = 2.0


def _int_fact(charge_point: ChargePoint, key: str) -> int | None:
    value = charge_point.configuration.get(key, "")
    return int(value) if value.isdecimal() and int(value) > 0 else None


class LocalListKeeper:
    """Updates one charger's local list, one update at a time."""

    def __init__(self, hass: HomeAssistant, hub: Hub, charge_point: ChargePoint) -> None:
        """Nothing is sent until asked."""
        self._hub = hub
        self._charge_point = charge_point
        self._lock = asyncio.Lock()
        self._debouncer = Debouncer(
            hass,
            _LOGGER,
            cooldown=SYNC_DELAY_S,
            immediate=False,
            function=self.async_sync_quietly,
            background=True,
        )

    @property
    def wanted(self) -> bool:
        """Whether the charger keeps a list for us and can be reached."""
        charge_point = self._charge_point
        return charge_point.connected and charge_point.supports_local_list

    @callback
    def schedule(self) -> None:
        """Update the list soon (after the id tags changed or the charger reconnected)."""
        if self.wanted:
            self._debouncer.async_schedule_call()

    @callback
    def shutdown(self) -> None:
        """Send nothing more (the entry unloads)."""
        self._debouncer.async_cancel()

    async def async_sync_quietly(self) -> None:
        """Update the list if the charger has one; a failure is logged, and retried later."""
        if not self.wanted:
            return
        try:
            await self.async_sync()
        except RequestError as err:
            _LOGGER.warning(
                "%s: could not update the local authorization list: %s",
                self._charge_point.charge_point_id,
                err,
            )

    async def async_sync(
        self, *, update_type: str | None = None, list_version: int | None = None
    ) -> SyncOutcome:
        """Send what the charger's list lacks (see :class:`LocalListSync`)."""
        charge_point = self._charge_point
        central = self._hub.central
        async with self._lock:
            now = utcnow()
            wanted = limit_entries(
                central.authorizer.local_list(charge_point.charge_point_id, now),
                _int_fact(charge_point, "LocalAuthListMaxLength"),
            )
            sync = LocalListSync(
                self._request,
                charge_point.local_list,
                now=now,
                max_per_message=_int_fact(charge_point, "SendLocalListMaxLength"),
            )
            try:
                return await sync.run(wanted, update_type=update_type, list_version=list_version)
            finally:
                # Sensors show the outcome; the version must survive a restart.
                central.charge_point_updated(charge_point)

    async def _request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self._hub.request(self._charge_point.charge_point_id, action, payload)
