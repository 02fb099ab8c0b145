"""A server entry's central system, shared with the charge point entries.

One :class:`Hub` per server entry lives as long as that entry exists, across
reloads, so charge point entries never hold on to a stale central system and
set up in any order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import (
    SOURCE_IGNORE,
    SOURCE_INTEGRATION_DISCOVERY,
    ConfigEntry,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import discovery_flow
from homeassistant.util.hass_dict import HassKey
from ocpp.v16.enums import RegistrationStatus

from .central import CentralSystem, ChargePoint, OcppServer
from .central.authorization import ActiveTransaction, TagAuthorizer
from .central.charging_limits import Request
from .central.errors import NotConnectedError
from .central.events import ChargePointEvent, EventKind
from .central.load_manager import ChargerSettings, LoadManager, SiteSettings
from .certificates import CertificateSigning
from .const import (
    CERTIFICATE_SIGNING_LOCAL_CA,
    CONF_CERTIFICATE_SIGNING,
    CONF_CHARGE_POINT_ID,
    CONF_ENERGY_PRICE,
    CONF_ONBOARDING,
    CONF_PRICE_ENTITY,
    CONF_REMOTE_START_ID_TAG,
    CONF_SERVER_ENTRY_ID,
    CONF_UNKNOWN_ID_TAGS,
    DEFAULT_REMOTE_START_ID_TAG,
    DOMAIN,
    ONBOARDING_ACCEPT,
    ONBOARDING_ASK,
    UNKNOWN_ID_TAGS_ACCEPTED,
    UNKNOWN_ID_TAGS_INVALID,
)
from .energy_ledger import LEDGER
from .id_tags import ID_TAGS
from .options import charger_settings, site_settings
from .store import HomeAssistantStateStore


@dataclass(slots=True)
class Hub:
    """The central system of one server entry, and its server while that entry is loaded."""

    hass: HomeAssistant
    server_entry_id: str
    central: CentralSystem = field(init=False)
    load_manager: LoadManager = field(init=False)
    server: OcppServer | None = None

    def __post_init__(self) -> None:
        """Create the central system: admission by the config entries, id tags by the registry."""
        self.central = CentralSystem(
            HomeAssistantStateStore(self.hass, self.server_entry_id),
            admission=self.admission,
            authorizer=TagAuthorizer(
                self.hass.data[ID_TAGS].records,
                accept_unknown=self.accepts_unknown_id_tags,
                remote_start_id_tag=self.remote_start_id_tag,
                active_transactions=self._active_transactions,
            ),
            ledger=self.hass.data[LEDGER],
            tariff=self.price_per_kwh,
            certificate_signer=CertificateSigning(self.hass, self),
        )
        self.load_manager = LoadManager(
            self.central,
            self._requester,
            site_settings=self.site_settings,
            charger_settings=self.charger_settings,
        )

    def _requester(self, charge_point_id: str) -> Request:
        async def request(action: str, payload: dict[str, Any]) -> dict[str, Any]:
            return await self.request(charge_point_id, action, payload)

        return request

    def site_settings(self) -> SiteSettings:
        """The server's load management settings."""
        entry = self.hass.config_entries.async_get_entry(self.server_entry_id)
        return site_settings(entry.options if entry is not None else {})

    def charger_settings(self, charge_point_id: str) -> ChargerSettings | None:
        """How a charger of this server takes part in load management (None: it does not)."""
        entry = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, charge_point_id)
        if entry is None or not self._is_active_entry(entry):
            return None
        return charger_settings(entry.options)

    def _is_active_entry(self, entry: ConfigEntry[Any]) -> bool:
        """A charge point entry of this server, neither ignored nor disabled."""
        return (
            entry.source != SOURCE_IGNORE
            and entry.disabled_by is None
            and entry.data.get(CONF_SERVER_ENTRY_ID) == self.server_entry_id
        )

    def _server_option(self, key: str, default: str) -> str:
        entry = self.hass.config_entries.async_get_entry(self.server_entry_id)
        if entry is None:
            return default
        return str(entry.options.get(key, default))

    @property
    def certificate_signing(self) -> str:
        """Who signs the certificates the server's chargers ask for (local CA or external)."""
        return self._server_option(CONF_CERTIFICATE_SIGNING, CERTIFICATE_SIGNING_LOCAL_CA)

    def price_per_kwh(self, charge_point_id: str) -> float | None:
        """The server's energy price now: its price entity's state, else its fixed price."""
        entry = self.hass.config_entries.async_get_entry(self.server_entry_id)
        if entry is None:
            return None
        if (entity_id := entry.options.get(CONF_PRICE_ENTITY)) and (
            state := self.hass.states.get(entity_id)
        ):
            try:
                return float(state.state)
            except ValueError:
                # Unavailable for a moment: the fixed price, if any, stands in.
                pass
        price = entry.options.get(CONF_ENERGY_PRICE)
        return None if price is None else float(price)

    def accepts_unknown_id_tags(self) -> bool:
        """The server's policy for id tags it does not know."""
        return (
            self._server_option(CONF_UNKNOWN_ID_TAGS, UNKNOWN_ID_TAGS_INVALID)
            == UNKNOWN_ID_TAGS_ACCEPTED
        )

    def remote_start_id_tag(self, charge_point_id: str) -> str | None:
        """The id tag a charge point's remote starts use (it may charge there)."""
        entry = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, charge_point_id)
        if entry is None or entry.data.get(CONF_SERVER_ENTRY_ID) != self.server_entry_id:
            return None
        return str(entry.options.get(CONF_REMOTE_START_ID_TAG, DEFAULT_REMOTE_START_ID_TAG))

    def _active_transactions(self) -> list[ActiveTransaction]:
        """Transactions running at the chargers of every server: a card is one card."""
        return [
            active
            for hub in async_loaded_hubs(self.hass)
            for active in hub.central.active_transactions()
        ]

    @callback
    def admission(self, charge_point: ChargePoint) -> RegistrationStatus:
        """Accepted: it has a charge point entry of this server (or the server accepts all).

        Ignored or disabled entries, and entries of another server, keep it out.
        """
        entry = self.hass.config_entries.async_entry_for_domain_unique_id(
            DOMAIN, charge_point.charge_point_id
        )
        if entry is None:
            return (
                RegistrationStatus.accepted
                if self.onboarding == ONBOARDING_ACCEPT
                else RegistrationStatus.pending
            )
        if not self._is_active_entry(entry):
            return RegistrationStatus.rejected
        return RegistrationStatus.accepted

    @property
    def onboarding(self) -> str:
        """The server's policy for unknown chargers."""
        return self._server_option(CONF_ONBOARDING, ONBOARDING_ASK)

    @callback
    def discover_new_chargers(self, event: ChargePointEvent) -> None:
        """Offer a charger without an entry to the user (or add it, if all are accepted)."""
        if (
            event.kind is not EventKind.BOOTED
            or self.hass.config_entries.async_entry_for_domain_unique_id(
                DOMAIN, event.charge_point_id
            )
        ):
            return
        charge_point = self.central.charge_points.get(event.charge_point_id)
        if charge_point is None:
            return
        discovery_flow.async_create_flow(
            self.hass,
            DOMAIN,
            {"source": SOURCE_INTEGRATION_DISCOVERY},
            {
                CONF_SERVER_ENTRY_ID: self.server_entry_id,
                CONF_CHARGE_POINT_ID: charge_point.charge_point_id,
                "vendor": charge_point.vendor,
                "model": charge_point.model,
                "serial_number": charge_point.serial_number,
                "accept": event.data.get("registration_status") == RegistrationStatus.accepted,
            },
        )

    async def request(
        self, charge_point_id: str, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Send a request to a charge point of this server."""
        if self.server is None:
            raise NotConnectedError(charge_point_id)
        return await self.server.request(charge_point_id, action, payload)


_HUBS: HassKey[dict[str, Hub]] = HassKey(f"{DOMAIN}_hubs")
_HUB_LOCK: HassKey[asyncio.Lock] = HassKey(f"{DOMAIN}_hub_lock")


async def async_get_hub(hass: HomeAssistant, server_entry_id: str) -> Hub:
    """The hub of a server entry, created and loaded from storage on first use."""
    hubs = hass.data.setdefault(_HUBS, {})
    if (hub := hubs.get(server_entry_id)) is not None:
        return hub
    async with hass.data.setdefault(_HUB_LOCK, asyncio.Lock()):
        if (hub := hubs.get(server_entry_id)) is None:
            hub = Hub(hass, server_entry_id)
            await hub.central.async_load()
            hubs[server_entry_id] = hub
    return hub


@callback
def async_loaded_hubs(hass: HomeAssistant) -> list[Hub]:
    """Every hub in memory."""
    return list(hass.data.get(_HUBS, {}).values())


@callback
def async_drop_hub(hass: HomeAssistant, server_entry_id: str) -> None:
    """Forget a server entry's hub (the entry was removed)."""
    hass.data.get(_HUBS, {}).pop(server_entry_id, None)
