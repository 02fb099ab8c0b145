"""CSMS: Home Assistant as an OCPP 1.6J central system for EV chargers.

Two kinds of config entries: a server entry per listening port, and a
charge point entry per accepted charger (like one entry per device in
Shelly or ESPHome): each charger gets its own entity budget, can be
disabled, reloaded or removed alone, and adding one never touches the
server or the other chargers.
"""

from __future__ import annotations

import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from . import (
    certificate_services,
    charge_point_entry,
    energy_services,
    firmware_services,
    id_tag_services,
    reservation_services,
    security_services,
    server_entry,
    services,
)
from .const import (
    CONF_CHARGE_POINT_ID,
    CONF_UNKNOWN_ID_TAGS,
    DOMAIN,
    UNKNOWN_ID_TAGS_ACCEPTED,
)
from .energy_ledger import async_setup_ledger
from .id_tags import async_setup_id_tags
from .runtime import CsmsConfigEntry, CsmsRuntimeData, ServerConfigEntry
from .tenant_statistics import async_setup_tenant_statistics

__all__ = ["CsmsConfigEntry", "CsmsRuntimeData", "ServerConfigEntry"]

_LOGGER = logging.getLogger(__name__)

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Load the id tags and the energy ledger, register the services (once, for every entry)."""
    await async_setup_id_tags(hass)
    await async_setup_ledger(hass)
    await async_setup_tenant_statistics(hass)
    services.async_setup_services(hass)
    id_tag_services.async_setup_id_tag_services(hass)
    energy_services.async_setup_energy_services(hass)
    firmware_services.async_setup_firmware_services(hass)
    reservation_services.async_setup_reservation_services(hass)
    certificate_services.async_setup_certificate_services(hass)
    security_services.async_setup_security_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Bring an entry of an older version up to date.

    1.2: id tags are checked. Servers set up before accepted every tag;
    they keep doing so until the user chooses otherwise.
    """
    if entry.version > 1:
        return False
    if entry.minor_version < 2:
        options = dict(entry.options)
        if not _is_charge_point_entry(entry):
            options.setdefault(CONF_UNKNOWN_ID_TAGS, UNKNOWN_ID_TAGS_ACCEPTED)
        hass.config_entries.async_update_entry(entry, options=options, minor_version=2)
        _LOGGER.debug("Migrated %s to version 1.2", entry.title)
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
