"""Persistence of the central system's state in Home Assistant's storage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .central.central_system import STORAGE_VERSION
from .const import DOMAIN

# Meter readings arrive every few seconds per connector: coalesce the writes.
SAVE_DELAY = 10


class HomeAssistantStateStore:
    """The core's :class:`StateStore` on top of a Home Assistant ``Store``."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """One storage file per server entry."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}", atomic_writes=True
        )

    async def async_load(self) -> dict[str, Any] | None:
        """Return the saved state."""
        return await self._store.async_load()

    async def async_save(self, data: dict[str, Any]) -> None:
        """Write the state now."""
        await self._store.async_save(data)

    def schedule_save(self, data_fn: Callable[[], dict[str, Any]]) -> None:
        """Write the state after a short delay."""
        self._store.async_delay_save(data_fn, SAVE_DELAY)

    async def async_remove(self) -> None:
        """Delete the storage file (the entry is removed)."""
        await self._store.async_remove()
