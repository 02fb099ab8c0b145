"""Client certificates for chargers: the local CA, signing their CSRs, CertificateSigned.

The core answers a charger's SignCertificate and hands an accepted CSR to
:class:`CertificateSigning`. The server option ``certificate_signing`` says
who signs: the integration's local CA at once, or an outside CA: then the
CSR goes out as the event ``csms_certificate_signing_request`` and an admin
answers with the service ``csms.certificate_signed``. Either way the charger's
answer to CertificateSigned is fired as ``csms_certificate_signed``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.hass_dict import HassKey
from ocpp.v16.enums import Action

from .central.certificate_authority import (
    CsrError,
    LocalCertificateAuthority,
    load_certificates,
)
from .central.errors import RequestError
from .const import CERTIFICATE_SIGNING_EXTERNAL, CONF_CHARGE_POINT_ID, DOMAIN
from .requests import request_errors

if TYPE_CHECKING:
    from .hub import Hub
    from .runtime import CsmsRuntimeData

_LOGGER = logging.getLogger(__name__)

EVENT_CERTIFICATE_SIGNING_REQUEST = f"{DOMAIN}_certificate_signing_request"
EVENT_CERTIFICATE_SIGNED = f"{DOMAIN}_certificate_signed"
SIGNER_LOCAL_CA = "local_ca"
SIGNER_SERVICE = "service"

# The CA's key is a secret like the auth tokens Home Assistant keeps in
# .storage: that directory is private to Home Assistant (nobody edits it by
# hand, integrations keep their state there), and backups include it, so
# the CA (and the trust chargers place in it) survives a restore. Files a
# user is meant to see (uploads) live elsewhere.
CA_DIRECTORY = (".storage", "csms_ca")
# OCPP 1.6 security extension, CertificateSigned.req: certificateChain maxLength.
MAX_CHAIN_LENGTH = 10000
MAX_CHAIN_SIZE_KEY = "CertificateSignedMaxChainSize"

_LOCAL_CA: HassKey[LocalCertificateAuthority] = HassKey(f"{DOMAIN}_local_ca")
_LOCAL_CA_LOCK: HassKey[asyncio.Lock] = HassKey(f"{DOMAIN}_local_ca_lock")


async def async_local_ca(hass: HomeAssistant) -> LocalCertificateAuthority:
    """The installation's local CA, created on first use.

    Raises CertificateAuthorityError when its files are damaged.
    """
    if (authority := hass.data.get(_LOCAL_CA)) is not None:
        return authority
    async with hass.data.setdefault(_LOCAL_CA_LOCK, asyncio.Lock()):
        if (authority := hass.data.get(_LOCAL_CA)) is None:
            authority = await hass.async_add_executor_job(
                LocalCertificateAuthority.load_or_create, Path(hass.config.path(*CA_DIRECTORY))
            )
            hass.data[_LOCAL_CA] = authority
    return authority


async def async_max_chain_length(runtime: CsmsRuntimeData) -> int:
    """The longest certificateChain the charger takes (CertificateSignedMaxChainSize).

    Read from the charger when its configuration does not tell: signing is
    rare, and a chain it cannot take would only come back Rejected.
    """
    known = runtime.charge_point.configuration.get(MAX_CHAIN_SIZE_KEY)
    if known is None:
        try:
            answer = await runtime.request("GetConfiguration", {"key": [MAX_CHAIN_SIZE_KEY]})
        except RequestError:
            return MAX_CHAIN_LENGTH
        known = next(
            (
                str(item.get("value"))
                for item in answer.get("configuration_key") or []
                if isinstance(item, dict) and item.get("key") == MAX_CHAIN_SIZE_KEY
            ),
            None,
        )
    if known is not None and known.strip().isdigit() and int(known) > 0:
        return min(int(known), MAX_CHAIN_LENGTH)
    return MAX_CHAIN_LENGTH


async def async_send_certificate_chain(
    hass: HomeAssistant, runtime: CsmsRuntimeData, chain_pem: str, *, signer: str
) -> dict[str, Any]:
    """Send CertificateSigned and tell Home Assistant what the charger answered.

    Raises HomeAssistantError when the exchange fails.
    """
    with request_errors(runtime.charge_point_id):
        response = await runtime.request(
            Action.certificate_signed, {"certificate_chain": chain_pem}
        )
    leaf = load_certificates(chain_pem)[0]
    status = str(response.get("status"))
    _LOGGER.info("%s: CertificateSigned %s", runtime.charge_point_id, status)
    hass.bus.async_fire(
        EVENT_CERTIFICATE_SIGNED,
        {
            "device_id": runtime.devices.device_id(),
            "charge_point_id": runtime.charge_point_id,
            "status": status,
            "signer": signer,
            "serial_number": format(leaf.serial_number, "x"),
            "valid_until": leaf.not_valid_after_utc.isoformat(),
        },
    )
    return response


def _fit_chain(chain_pem: str, max_length: int) -> str:
    """The local CA's chain, or its certificate alone when the charger takes no more.

    The CA certificate only helps a charger that lacks the root; one with a
    small limit gets the root with InstallCertificate instead.
    """
    if len(chain_pem) <= max_length:
        return chain_pem
    end = "-----END CERTIFICATE-----"
    return chain_pem[: chain_pem.index(end) + len(end)] + "\n"


@dataclass(slots=True)
class CertificateSigning:
    """Has the CSRs a server's chargers send signed (the core's CertificateSigner)."""

    hass: HomeAssistant
    hub: Hub

    @callback
    def certificate_requested(self, charge_point_id: str, csr: str) -> None:
        """Sign with the local CA in the background, or ask the outside CA by an event."""
        runtime = self._runtime(charge_point_id)
        if runtime is None:
            # Accepted by an "accept all" server before its entry exists.
            _LOGGER.warning("%s: CSR left unsigned: the charger has no entry yet", charge_point_id)
            return
        if self.hub.certificate_signing == CERTIFICATE_SIGNING_EXTERNAL:
            self.hass.bus.async_fire(
                EVENT_CERTIFICATE_SIGNING_REQUEST,
                {
                    "device_id": runtime.devices.device_id(),
                    "charge_point_id": charge_point_id,
                    "csr": csr,
                },
            )
            return
        self.hass.async_create_background_task(
            self._async_sign(runtime, csr), f"{DOMAIN} {charge_point_id} sign certificate"
        )

    def _runtime(self, charge_point_id: str) -> CsmsRuntimeData | None:
        entry = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, charge_point_id)
        if (
            entry is None
            or CONF_CHARGE_POINT_ID not in entry.data
            or entry.state is not ConfigEntryState.LOADED
        ):
            return None
        runtime: CsmsRuntimeData = entry.runtime_data
        return runtime

    async def _async_sign(self, runtime: CsmsRuntimeData, csr: str) -> None:
        """Sign a CSR with the local CA and deliver the chain; failures are logged."""
        charge_point_id = runtime.charge_point_id
        try:
            authority = await async_local_ca(self.hass)
            chain = authority.sign(csr, charge_point_id)
            chain = _fit_chain(chain, await async_max_chain_length(runtime))
            await async_send_certificate_chain(self.hass, runtime, chain, signer=SIGNER_LOCAL_CA)
        except CsrError as err:
            # Checked before it was Accepted; only a change of the rules gets here.
            _LOGGER.warning("%s: CSR not signed: %s", charge_point_id, err)
        except OSError:
            _LOGGER.exception("%s: the local CA cannot sign", charge_point_id)
        except HomeAssistantError as err:
            _LOGGER.warning("%s: CertificateSigned failed: %s", charge_point_id, err)
