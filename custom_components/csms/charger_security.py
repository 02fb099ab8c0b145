"""Charger passwords and security profiles: what the server checks, and how passwords change.

The credentials live on the charge point model (salted hashes only) and so
persist with the server's state; a charge point entry makes an id known. A
charger with a password must always log in with one.
A new password reaches a connected charger as ChangeConfiguration
AuthorizationKey (OCPP 1.6 Security Whitepaper edition 2, section 2.3): the
old one stays valid until the charger has logged in with the new one, so a
charger that accepts the key but reconnects late is never locked out.
"""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from ocpp.v16.enums import Action

from .central.credentials import Credentials, CredentialStore, SecurityProfile
from .central.errors import RequestError
from .central.passwords import MAX_AUTHORIZATION_KEY_BYTES, authorization_key, hash_password
from .const import CONF_SERVER_ENTRY_ID, DOMAIN, ONBOARDING_REFUSE
from .hub import Hub
from .requests import request_errors

_LOGGER = logging.getLogger(__name__)


class ServerCredentials(CredentialStore):
    """The credential store of one server: its hub's chargers and onboarding policy."""

    def __init__(self, hass: HomeAssistant, hub: Hub) -> None:
        """Answer for the chargers of ``hub``."""
        self._hass = hass
        self._hub = hub

    def credentials(self, charge_point_id: str) -> Credentials | None:
        """Known: it has a charge point entry of this server (a disabled one too).

        An ignored charger, or one of another server, is unknown here: a server
        that takes only added chargers answers it 404, others let it boot, to
        be rejected.
        """
        entry = self._hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, charge_point_id)
        if entry is None or entry.data.get(CONF_SERVER_ENTRY_ID) != self._hub.server_entry_id:
            return None
        charge_point = self._hub.central.charge_points.get(charge_point_id)
        return charge_point.security.credentials if charge_point is not None else Credentials()

    def admits_unknown(self) -> bool:
        """Unknown chargers may connect unless the server only takes added ones."""
        return self._hub.onboarding != ONBOARDING_REFUSE

    @callback
    def logged_in(
        self, charge_point_id: str, profile: SecurityProfile, password_index: int
    ) -> None:
        """Raise the recorded profile and end a rotation; persist only on a change."""
        charge_point = self._hub.central.charge_point(charge_point_id)
        if charge_point.security.logged_in(profile, password_index):
            _LOGGER.info(
                "%s: security profile %d, rotation done: %s",
                charge_point_id,
                charge_point.security.profile,
                len(charge_point.security.password_hashes) < 2,
            )
            self._hub.central.charge_point_updated(charge_point)


async def async_set_password(
    hass: HomeAssistant, hub: Hub, charge_point_id: str, password: str, *, send: bool = True
) -> bool:
    """Make ``password`` the charger's password; True when the charger took it over OCPP.

    From then on the charger must log in with a password (a set password
    means security profile 1 at least). A connected charger gets it as
    AuthorizationKey, and SecurityProfile 1 so that a charger at profile 0
    starts using it; until it logs in with the new password the old one is
    accepted too. Otherwise (or without ``send``) the new password replaces
    the old one at once: the installer enters it at the charger.

    Raises:
        HomeAssistantError: the charger refused the key or the exchange failed;
            the old password stays in force.
    """
    charge_point = hub.central.charge_point(charge_point_id)
    security = charge_point.security
    new_hash = await hass.async_add_executor_job(hash_password, password)
    if not send or not charge_point.connected or len(password) > MAX_AUTHORIZATION_KEY_BYTES:
        security.password_hashes = [new_hash]
        hub.central.charge_point_updated(charge_point)
        return False

    previous = list(security.password_hashes)
    security.password_hashes = [new_hash, *previous[:1]]
    status: str | None = None
    try:
        with request_errors(charge_point_id):
            answer = await hub.request(
                charge_point_id,
                Action.change_configuration,
                {"key": "AuthorizationKey", "value": authorization_key(password)},
            )
        status = answer.get("status")
    finally:
        # Refused or failed: the old password stays the only one.
        if status not in _TAKEN:
            security.password_hashes = previous
        hub.central.charge_point_updated(charge_point)
    if status not in _TAKEN:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="authorization_key_refused",
            translation_placeholders={"charge_point_id": charge_point_id, "status": str(status)},
        )
    if not previous:
        await _async_use_basic_auth(hub, charge_point_id)
    return True


# ChangeConfiguration answers that mean the charger has the new value.
_TAKEN = ("Accepted", "RebootRequired")


async def _async_use_basic_auth(hub: Hub, charge_point_id: str) -> None:
    """Ask a charger that had no password to log in with one (SecurityProfile 1)."""
    try:
        answer = await hub.request(
            charge_point_id,
            Action.change_configuration,
            {"key": "SecurityProfile", "value": str(int(SecurityProfile.BASIC_AUTH))},
        )
    except RequestError as err:
        answer = {"status": str(err)}
    if answer.get("status") not in _TAKEN:
        # OCPP-J 1.6 chargers without the security extension use Basic auth
        # as soon as they have an AuthorizationKey; others need it entered.
        _LOGGER.info("%s: SecurityProfile 1 not taken (%s)", charge_point_id, answer.get("status"))
