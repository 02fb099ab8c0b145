"""Services of the OCPP 1.6 security extension: certificates, extended triggers.

Certificates given as PEM text are read before anything is sent: a charger
answers a malformed one with a bare Rejected, which says nothing about why.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
from ocpp.v16.enums import Action, CertificateUse, HashAlgorithm, MessageTrigger
import probatio as vol

from .central.certificate_authority import (
    CertificateAuthorityError,
    CertificateError,
    common_name,
    load_certificates,
)
from .certificates import (
    SIGNER_SERVICE,
    async_local_ca,
    async_max_chain_length,
    async_send_certificate_chain,
)
from .const import DOMAIN
from .requests import async_request
from .service_helpers import (
    ATTR_CONNECTOR_ID,
    CONNECTOR_OR_CHARGE_POINT,
    MAX_CERTIFICATE_LENGTH,
    Operation,
    Target,
    async_register_operations,
    resolve_target,
    service_error,
    service_schema,
)

ATTR_REQUESTED_MESSAGE = "requested_message"
ATTR_CERTIFICATE_TYPE = "certificate_type"
ATTR_CERTIFICATE = "certificate"
ATTR_LOCAL_CA = "local_ca"
ATTR_CERTIFICATE_HASH_DATA = "certificate_hash_data"
ATTR_CERTIFICATE_CHAIN = "certificate_chain"

SERVICE_EXTENDED_TRIGGER_MESSAGE = "extended_trigger_message"
SERVICE_INSTALL_CERTIFICATE = "install_certificate"
SERVICE_DELETE_CERTIFICATE = "delete_certificate"
SERVICE_GET_INSTALLED_CERTIFICATE_IDS = "get_installed_certificate_ids"
SERVICE_CERTIFICATE_SIGNED = "certificate_signed"

# Security Whitepaper edition 2, MessageTriggerEnumType of ExtendedTriggerMessage.
EXTENDED_MESSAGE_TRIGGERS: tuple[str, ...] = (
    MessageTrigger.boot_notification,
    MessageTrigger.log_status_notification,
    MessageTrigger.firmware_status_notification,
    MessageTrigger.heartbeat,
    MessageTrigger.meter_values,
    MessageTrigger.sign_charge_point_certificate,
    MessageTrigger.status_notification,
)
CERTIFICATE_TYPES = [str(use) for use in CertificateUse]
HEX = vol.All(cv.string, vol.Match(r"^[0-9a-fA-F]+$", msg="expected hexadecimal digits"))
CERTIFICATE_HASH_DATA = vol.Schema(
    {
        vol.Required("hash_algorithm"): vol.In([str(algorithm) for algorithm in HashAlgorithm]),
        vol.Required("issuer_name_hash"): vol.All(HEX, vol.Length(max=128)),
        vol.Required("issuer_key_hash"): vol.All(HEX, vol.Length(max=128)),
        vol.Required("serial_number"): vol.All(HEX, vol.Length(max=40)),
    }
)


def _extended_trigger_message(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "requested_message": data[ATTR_REQUESTED_MESSAGE],
        "connector_id": target.connector_id(data),
    }


def _delete_certificate(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    # As given: usually copied from the charger's GetInstalledCertificateIds answer.
    return {"certificate_hash_data": dict(data[ATTR_CERTIFICATE_HASH_DATA])}


def _get_installed_certificate_ids(target: Target, data: dict[str, Any]) -> dict[str, Any]:
    return {"certificate_type": data[ATTR_CERTIFICATE_TYPE]}


OPERATIONS: dict[str, Operation] = {
    # Admins only: SignChargePointCertificate has the charger replace its
    # client certificate, which is what it logs in with (profile 3).
    SERVICE_EXTENDED_TRIGGER_MESSAGE: Operation(
        Action.extended_trigger_message,
        {
            vol.Required(ATTR_REQUESTED_MESSAGE): vol.In(EXTENDED_MESSAGE_TRIGGERS),
            vol.Optional(ATTR_CONNECTOR_ID): CONNECTOR_OR_CHARGE_POINT,
        },
        _extended_trigger_message,
        admin=True,
    ),
    SERVICE_DELETE_CERTIFICATE: Operation(
        Action.delete_certificate,
        {vol.Required(ATTR_CERTIFICATE_HASH_DATA): CERTIFICATE_HASH_DATA},
        _delete_certificate,
        admin=True,
    ),
    # Hashes of public CA certificates: nothing secret, nothing changed.
    SERVICE_GET_INSTALLED_CERTIFICATE_IDS: Operation(
        Action.get_installed_certificate_ids,
        {vol.Required(ATTR_CERTIFICATE_TYPE): vol.In(CERTIFICATE_TYPES)},
        _get_installed_certificate_ids,
        admin=False,
    ),
}


def _check_length(field: str, text: str, maximum: int) -> None:
    if len(text) > maximum:
        raise service_error(
            "certificate_too_long", field=field, length=str(len(text)), maximum=str(maximum)
        )


def _certificates(field: str, text: str) -> list[Any]:
    """The certificates of a PEM field; a translated error when there are none."""
    try:
        return load_certificates(text)
    except CertificateError as err:
        raise service_error("invalid_certificate", field=field) from err


async def _certificate_to_install(hass: HomeAssistant, data: dict[str, Any]) -> str:
    """The PEM to install: the one given, or the local CA's root."""
    given: str | None = data.get(ATTR_CERTIFICATE)
    if data.get(ATTR_LOCAL_CA):
        if given is not None:
            raise service_error("certificate_or_local_ca")
        try:
            return (await async_local_ca(hass)).root_pem
        except CertificateAuthorityError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="local_ca_unavailable",
                translation_placeholders={"error": str(err)},
            ) from err
    if given is None:
        raise service_error("certificate_or_local_ca")
    given = given.strip()
    _check_length(ATTR_CERTIFICATE, given, MAX_CERTIFICATE_LENGTH)
    if len(certificates := _certificates(ATTR_CERTIFICATE, given)) != 1:
        raise service_error(
            "one_certificate_expected", field=ATTR_CERTIFICATE, count=str(len(certificates))
        )
    return given


async def _checked_chain(target: Target, chain: str) -> str:
    """A chain the charger can take: for itself, and no longer than it allows."""
    chain = chain.strip() + "\n"
    leaf = _certificates(ATTR_CERTIFICATE_CHAIN, chain)[0]
    name = common_name(leaf.subject)
    if name != target.charge_point_id:
        # A profile 3 login is admitted as the charger its certificate names.
        raise service_error(
            "certificate_identity_mismatch",
            charge_point_id=target.charge_point_id,
            common_name=str(name),
        )
    _check_length(ATTR_CERTIFICATE_CHAIN, chain, await async_max_chain_length(target.runtime))
    return chain


@callback
def async_setup_certificate_services(hass: HomeAssistant) -> None:
    """Register the services."""
    async_register_operations(hass, OPERATIONS)

    async def install_certificate(call: ServiceCall) -> ServiceResponse:
        target = resolve_target(hass, call.data)
        certificate = await _certificate_to_install(hass, call.data)
        target.require_connected()
        return await async_request(
            target.runtime,
            Action.install_certificate,
            {"certificate_type": call.data[ATTR_CERTIFICATE_TYPE], "certificate": certificate},
            accepted=None,
        )

    async def certificate_signed(call: ServiceCall) -> ServiceResponse:
        target = resolve_target(hass, call.data)
        target.require_connected()
        chain = await _checked_chain(target, call.data[ATTR_CERTIFICATE_CHAIN])
        return await async_send_certificate_chain(
            hass, target.runtime, chain, signer=SIGNER_SERVICE
        )

    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_INSTALL_CERTIFICATE,
        install_certificate,
        schema=service_schema(
            {
                vol.Required(ATTR_CERTIFICATE_TYPE): vol.In(CERTIFICATE_TYPES),
                vol.Optional(ATTR_CERTIFICATE): cv.string,
                vol.Optional(ATTR_LOCAL_CA, default=False): cv.boolean,
            }
        ),
        supports_response=SupportsResponse.OPTIONAL,
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_CERTIFICATE_SIGNED,
        certificate_signed,
        schema=service_schema({vol.Required(ATTR_CERTIFICATE_CHAIN): cv.string}),
        supports_response=SupportsResponse.OPTIONAL,
    )
