"""CSMS: Home Assistant as an OCPP 1.6J central system for EV chargers."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT, EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady

from .central import CentralSystem, OcppServer
from .const import DOMAIN
from .devices import DeviceManager
from .store import HomeAssistantStateStore

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.SENSOR]


@dataclass(slots=True)
class CsmsRuntimeData:
    """What a running server entry holds."""

    central: CentralSystem
    server: OcppServer
    devices: DeviceManager

    async def stop(self, _: Event | None = None) -> None:
        """Close every charger connection and write the state."""
        await self.server.stop()
        await self.central.async_save()


type CsmsConfigEntry = ConfigEntry[CsmsRuntimeData]


async def async_setup_entry(hass: HomeAssistant, entry: CsmsConfigEntry) -> bool:
    """Start the OCPP server of this entry."""
    central = CentralSystem(HomeAssistantStateStore(hass, entry.entry_id))
    await central.async_load()
    devices = DeviceManager(hass, entry, central)
    server = OcppServer(central, host=entry.data[CONF_HOST], port=entry.data[CONF_PORT])
    entry.runtime_data = CsmsRuntimeData(central=central, server=server, devices=devices)
    entry.async_on_unload(devices.start())
    try:
        await server.start()
    except OSError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="port_unavailable",
            translation_placeholders={
                "host": entry.data[CONF_HOST],
                "port": str(entry.data[CONF_PORT]),
                "error": err.strerror or str(err),
            },
        ) from err

    # Stops the server should the rest of the setup fail.
    entry.async_on_unload(entry.runtime_data.stop)
    entry.async_on_unload(
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, entry.runtime_data.stop)
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: CsmsConfigEntry) -> bool:
    """Stop the server first, so nothing reaches the platforms while they unload.

    Chargers reconnect once the server is back.
    """
    await entry.runtime_data.stop()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: CsmsConfigEntry) -> None:
    """Forget the server's stored state."""
    await HomeAssistantStateStore(hass, entry.entry_id).async_remove()
