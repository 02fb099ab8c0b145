"""Persistence of the central system's state in Home Assistant's storage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .central.central_system import STORAGE_VERSION
from .const import DOMAIN

# Meter readings arrive every few seconds per connector: coalesce the writes,
# but write at least this often while changes keep coming.
SAVE_DELAY = 10


class HomeAssistantStateStore:
    """The core's :class:`StateStore` on top of a Home Assistant ``Store``."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """One storage file per server entry."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}", atomic_writes=True
        )
        self._save_pending = False

    async def async_load(self) -> dict[str, Any] | None:
        """Return the saved state."""
        return await self._store.async_load()

    async def async_save(self, data: dict[str, Any]) -> None:
        """Write the state now (this also cancels a pending delayed write)."""
        self._save_pending = False
        await self._store.async_save(data)

    def schedule_save(self, data_fn: Callable[[], dict[str, Any]]) -> None:
        """Write the state within ``SAVE_DELAY`` seconds.

        ``Store.async_delay_save`` postpones its write with every call, so a
        steady stream of meter values would keep the state from ever being
        written; a pending write is therefore left alone. The data is taken
        when the write happens, so it includes every later change.
        """
        if self._save_pending:
            return
        self._save_pending = True

        def data_at_write_time() -> dict[str, Any]:
            self._save_pending = False
            return data_fn()

        self._store.async_delay_save(data_at_write_time, SAVE_DELAY)

    async def async_remove(self) -> None:
        """Delete the storage file (the entry is removed)."""
        await self._store.async_remove()
