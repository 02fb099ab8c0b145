"""A server entry: the OCPP websocket server on one port."""

from __future__ import annotations

import contextlib
from typing import NoReturn

from homeassistant.const import CONF_HOST, CONF_PORT, EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir

from .central import OcppServer
from .central.certificate_authority import CertificateAuthorityError
from .central.server_settings import TlsListener
from .certificates import async_local_ca
from .charger_security import ServerCredentials
from .const import (
    CERTIFICATE_SIGNING_LOCAL_CA,
    CONF_CERTIFICATE_SIGNING,
    CONF_SERVER_ENTRY_ID,
    CONF_TLS_PORT,
    DOMAIN,
)
from .hub import async_drop_hub, async_get_hub
from .runtime import ServerConfigEntry
from .server_security import TlsSetupError, async_tls_listener, server_limits
from .site import async_start_load_management
from .store import HomeAssistantStateStore

# The site device: load management's switch and sensors.
PLATFORMS: list[Platform] = [Platform.SENSOR, Platform.SWITCH]


def port_issue_id(entry_id: str) -> str:
    """Repair issue raised while a server cannot listen."""
    return f"port_unavailable_{entry_id}"


def tls_issue_id(entry_id: str) -> str:
    """Repair issue raised while a server's TLS port has no usable certificate."""
    return f"tls_unavailable_{entry_id}"


def _raise_not_ready(
    hass: HomeAssistant, entry: ServerConfigEntry, key: str, placeholders: dict[str, str]
) -> NoReturn:
    """Tell the user in a repair issue, and let Home Assistant retry the setup."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"{key}_{entry.entry_id}",
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=key,
        translation_placeholders=placeholders,
    )
    raise ConfigEntryNotReady(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


async def _async_tls_or_issue(hass: HomeAssistant, entry: ServerConfigEntry) -> TlsListener | None:
    """The TLS port; without a usable certificate a repair issue, and the plain port alone.

    A vanished certificate must not keep the chargers on the plain port out.
    """
    if entry.options.get(CONF_TLS_PORT) and (
        entry.options.get(CONF_CERTIFICATE_SIGNING, CERTIFICATE_SIGNING_LOCAL_CA)
        == CERTIFICATE_SIGNING_LOCAL_CA
    ):
        # Trusted for client certificates (profile 3) from the start, not only
        # once the first charger asked for a certificate.
        with contextlib.suppress(CertificateAuthorityError):
            await async_local_ca(hass)
    try:
        tls = await async_tls_listener(hass, entry.options)
    except TlsSetupError as err:
        ir.async_create_issue(
            hass,
            DOMAIN,
            tls_issue_id(entry.entry_id),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="tls_unavailable",
            translation_placeholders={"error": err.reason},
        )
        return None
    ir.async_delete_issue(hass, DOMAIN, tls_issue_id(entry.entry_id))
    return tls


async def async_setup_entry(hass: HomeAssistant, entry: ServerConfigEntry) -> bool:
    """Start listening for chargers."""
    hub = await async_get_hub(hass, entry.entry_id)
    tls = await _async_tls_or_issue(hass, entry)
    server = OcppServer(
        hub.central,
        host=entry.data[CONF_HOST],
        port=entry.data[CONF_PORT],
        tls=tls,
        credentials=ServerCredentials(hass, hub),
        limits=server_limits(entry.options),
    )
    try:
        await server.start()
    except OSError as err:
        port = f"{entry.data[CONF_PORT]}" + (f", {tls.port}" if tls is not None else "")
        placeholders = {
            "host": entry.data[CONF_HOST],
            "port": port,
            "error": err.strerror or str(err),
        }
        _raise_not_ready(hass, entry, "port_unavailable", placeholders)
    ir.async_delete_issue(hass, DOMAIN, port_issue_id(entry.entry_id))
    hub.server = server
    entry.runtime_data = hub

    async def stop(event: Event | None = None) -> None:
        if hub.server is server:
            hub.server = None
        # Home Assistant stopping (an event) is quiet; an unload (a reload,
        # the entry disabled) leaves the chargers' entities unavailable.
        await server.stop(quiet=event is not None)
        await hub.central.async_save()

    entry.async_on_unload(stop)
    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, stop))
    entry.async_on_unload(hub.central.subscribe_events(None, hub.discover_new_chargers))
    async_start_load_management(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ServerConfigEntry) -> bool:
    """Stop listening; chargers reconnect once the server is back."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: ServerConfigEntry) -> None:
    """Forget the server's state and its charge points."""
    async_drop_hub(hass, entry.entry_id)
    ir.async_delete_issue(hass, DOMAIN, port_issue_id(entry.entry_id))
    ir.async_delete_issue(hass, DOMAIN, tls_issue_id(entry.entry_id))
    await HomeAssistantStateStore(hass, entry.entry_id).async_remove()
    for charge_point_entry in hass.config_entries.async_entries(DOMAIN):
        if charge_point_entry.data.get(CONF_SERVER_ENTRY_ID) == entry.entry_id:
            await hass.config_entries.async_remove(charge_point_entry.entry_id)
