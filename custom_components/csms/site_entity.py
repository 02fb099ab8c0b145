"""The site's entities: a server's load management, on a device of its own."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorStateClass,
)
from homeassistant.components.switch import SwitchEntity
from homeassistant.const import UnitOfElectricCurrent
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from .const import CONF_LOAD_MANAGEMENT, DOMAIN
from .runtime import ServerConfigEntry


class SiteEntity(Entity):
    """An entity of a server's site (its chargers' shared connection)."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: ServerConfigEntry, key: str) -> None:
        """Belong to the server's site device."""
        self._entry = entry
        self._manager = entry.runtime_data.load_manager
        self._attr_translation_key = key
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Write state after every run of load management."""
        await super().async_added_to_hass()
        self.async_on_remove(self._manager.subscribe(self.async_write_ha_state))


class SiteHeadroomSensor(SiteEntity, SensorEntity):
    """The current the chargers may draw in total now (A per phase)."""

    _attr_device_class = SensorDeviceClass.CURRENT
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = UnitOfElectricCurrent.AMPERE
    _attr_suggested_display_precision = 1

    def __init__(self, entry: ServerConfigEntry) -> None:
        """The site's headroom."""
        super().__init__(entry, "site_headroom")

    @property
    def native_value(self) -> float | None:
        """Unknown while load management is off or has no current limit to go by."""
        decision = self._manager.decision
        return None if decision is None else decision.budget.current_a

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """What the sessions got, and the power budget."""
        decision = self._manager.decision
        if decision is None:
            return None
        return {
            "allocated_current": round(decision.allocated_a, 1),
            "sessions": len(decision.shares),
            "paused_sessions": len(decision.paused),
            "power_budget": decision.budget.power_w,
        }


class LoadManagementSwitch(SiteEntity, SwitchEntity):
    """Whether the site's headroom is shared among the sessions."""

    def __init__(self, entry: ServerConfigEntry) -> None:
        """The site's load management switch."""
        super().__init__(entry, CONF_LOAD_MANAGEMENT)

    @property
    def is_on(self) -> bool:
        """From the server's settings."""
        return self._manager.enabled

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Share the headroom (the settings' update listener starts a run)."""
        self._set(enabled=True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop sharing: the chargers get their own limits back."""
        self._set(enabled=False)

    def _set(self, *, enabled: bool) -> None:
        self.hass.config_entries.async_update_entry(
            self._entry, options={**self._entry.options, CONF_LOAD_MANAGEMENT: enabled}
        )
        self.async_write_ha_state()
