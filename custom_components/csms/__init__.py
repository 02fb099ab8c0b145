"""CSMS: Home Assistant as an OCPP 1.6J central system for EV chargers.

Two kinds of config entries: a server entry per listening port, and a
charge point entry per accepted charger (like one entry per device in
Shelly or ESPHome): each charger gets its own entity budget, can be
disabled, reloaded or removed alone, and adding one never touches the
server or the other chargers.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from . import charge_point_entry, server_entry, services
from .const import CONF_CHARGE_POINT_ID, DOMAIN
from .runtime import CsmsConfigEntry, CsmsRuntimeData, ServerConfigEntry

__all__ = ["CsmsConfigEntry", "CsmsRuntimeData", "ServerConfigEntry"]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services (once, for every entry)."""
    services.async_setup_services(hass)
    return True


def _is_charge_point_entry(entry: ConfigEntry) -> bool:
    return CONF_CHARGE_POINT_ID in entry.data


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Start a server, or add a charge point's devices and entities."""
    if _is_charge_point_entry(entry):
        return await charge_point_entry.async_setup_entry(hass, entry)
    return await server_entry.async_setup_entry(hass, entry)


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Stop a server, or remove a charge point's entities."""
    if _is_charge_point_entry(entry):
        return await charge_point_entry.async_unload_entry(hass, entry)
    return await server_entry.async_unload_entry(hass, entry)


async def async_remove_entry(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Forget a charge point, or a server with its charge points."""
    if _is_charge_point_entry(entry):
        await charge_point_entry.async_remove_entry(hass, entry)
    else:
        await server_entry.async_remove_entry(hass, entry)
