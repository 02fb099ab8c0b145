"""Services of firmware management: firmware updates, diagnostics and log uploads.

OCPP 1.6 UpdateFirmware and GetDiagnostics, and the Security Whitepaper's
SignedUpdateFirmware and GetLog. All are for administrators: a firmware
changes how a charger works, diagnostics and logs reveal its settings.
Diagnostics and logs go to a location of the user's own or, by default, to
Home Assistant itself (see :mod:`.uploads`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
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
from ocpp.v16.enums import Action, Log
import probatio as vol

from .central.commissioning import supports_profile
from .central.firmware import UploadPurpose
from .central.timestamps import format_timestamp, utcnow
from .const import DOMAIN
from .requests import async_request
from .service_helpers import (
    MAX_CERTIFICATE_LENGTH,
    NON_NEGATIVE_INT,
    Target,
    resolve_target,
    service_error,
    service_schema,
    utc_datetime,
)
from .uploads import (
    UPLOADS,
    UploadGrant,
    async_setup_uploads,
    download_path,
    upload_base_url,
    upload_location,
)

SERVICE_UPDATE_FIRMWARE = "update_firmware"
SERVICE_SIGNED_UPDATE_FIRMWARE = "signed_update_firmware"
SERVICE_GET_DIAGNOSTICS = "get_diagnostics"
SERVICE_GET_LOG = "get_log"
SERVICE_LIST_UPLOADS = "list_uploads"

ATTR_LOCATION = "location"
ATTR_BASE_URL = "base_url"
ATTR_RETRIES = "retries"
ATTR_RETRY_INTERVAL = "retry_interval"
ATTR_RETRIEVE_DATE = "retrieve_date"
ATTR_INSTALL_DATE = "install_date"
ATTR_SIGNING_CERTIFICATE = "signing_certificate"
ATTR_SIGNATURE = "signature"
ATTR_START_TIME = "start_time"
ATTR_STOP_TIME = "stop_time"
ATTR_LOG_TYPE = "log_type"
ATTR_OLDEST_TIMESTAMP = "oldest_timestamp"
ATTR_LATEST_TIMESTAMP = "latest_timestamp"

# Where chargers fetch firmware and put files (OCPP 1.6 names FTP and HTTP).
LOCATION_SCHEMES = frozenset({"ftp", "ftps", "sftp", "http", "https"})
# The security extension's locations are at most 512 characters long.
MAX_LOCATION_LENGTH = 512
MAX_SIGNATURE_LENGTH = 800
# Answers to GetLog and SignedUpdateFirmware that take the request
# (AcceptedCanceled: an earlier one was dropped for it).
ACCEPTED_STATUSES = frozenset({"Accepted", "AcceptedCanceled"})
# SignedUpdateFirmware answers that refuse the firmware's certificate: a failed update.
CERTIFICATE_REFUSALS = frozenset({"InvalidCertificate", "RevokedCertificate"})


type _Handler = Callable[[HomeAssistant, ServiceCall], Coroutine[Any, Any, ServiceResponse]]
type _ServiceHandler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]


_RETRIES: dict[Any, Any] = {
    vol.Optional(ATTR_RETRIES): NON_NEGATIVE_INT,
    vol.Optional(ATTR_RETRY_INTERVAL): NON_NEGATIVE_INT,
}
# Either a location of the user's own, or Home Assistant's upload endpoint on a given base URL.
_DESTINATION: dict[Any, Any] = {
    vol.Exclusive(ATTR_LOCATION, "destination"): cv.string,
    vol.Exclusive(ATTR_BASE_URL, "destination"): cv.string,
}

UPDATE_FIRMWARE_FIELDS: dict[Any, Any] = {
    vol.Required(ATTR_LOCATION): cv.string,
    vol.Optional(ATTR_RETRIEVE_DATE): utc_datetime,
    **_RETRIES,
}
SIGNED_UPDATE_FIRMWARE_FIELDS: dict[Any, Any] = {
    vol.Required(ATTR_LOCATION): cv.string,
    vol.Optional(ATTR_RETRIEVE_DATE): utc_datetime,
    vol.Optional(ATTR_INSTALL_DATE): utc_datetime,
    vol.Required(ATTR_SIGNING_CERTIFICATE): cv.string,
    vol.Required(ATTR_SIGNATURE): cv.string,
    **_RETRIES,
}
GET_DIAGNOSTICS_FIELDS: dict[Any, Any] = {
    **_DESTINATION,
    vol.Optional(ATTR_START_TIME): utc_datetime,
    vol.Optional(ATTR_STOP_TIME): utc_datetime,
    **_RETRIES,
}
GET_LOG_FIELDS: dict[Any, Any] = {
    vol.Optional(ATTR_LOG_TYPE, default=Log.diagnostics_log.value): vol.In(
        [str(kind) for kind in Log]
    ),
    **_DESTINATION,
    vol.Optional(ATTR_OLDEST_TIMESTAMP): utc_datetime,
    vol.Optional(ATTR_LATEST_TIMESTAMP): utc_datetime,
    **_RETRIES,
}


def checked_location(value: str) -> str:
    """A location a charger can fetch from or upload to; refused with a translated error."""
    try:
        parts = urlsplit(value)
        valid = (
            parts.scheme.lower() in LOCATION_SCHEMES
            and bool(parts.hostname)
            and parts.port != 0
            and len(value) <= MAX_LOCATION_LENGTH
            and not any(character.isspace() for character in value)
        )
    except ValueError:
        valid = False
    if not valid:
        raise service_error("invalid_location", schemes=", ".join(sorted(LOCATION_SCHEMES)))
    return value


def checked_base_url(value: str) -> str:
    """Home Assistant's URL as chargers reach it: http(s), a host, nothing after the path."""
    try:
        parts = urlsplit(value)
        valid = (
            parts.scheme.lower() in ("http", "https")
            and bool(parts.hostname)
            and parts.port != 0
            and not parts.query
            and not parts.fragment
            and not any(character.isspace() for character in value)
        )
    except ValueError:
        valid = False
    if not valid:
        raise service_error("invalid_base_url")
    return value.rstrip("/")


def _check_order(data: dict[str, Any], earlier: str, later: str) -> None:
    """Two times given in the call must come in order."""
    first, second = data.get(earlier), data.get(later)
    if first is not None and second is not None and second <= first:
        raise service_error("times_out_of_order", earlier=earlier, later=later)


def _check_signing_certificate(pem: str) -> None:
    """A PEM certificate (the charger checks it against its manufacturer root)."""
    if len(pem) > MAX_CERTIFICATE_LENGTH or not _is_certificate(pem):
        raise service_error("invalid_signing_certificate", max_length=str(MAX_CERTIFICATE_LENGTH))


def _is_certificate(pem: str) -> bool:
    try:
        x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return False
    return True


def _check_signature(signature: str) -> None:
    """The firmware's signature: base64 (Security Whitepaper FirmwareType)."""
    if len(signature) > MAX_SIGNATURE_LENGTH or not _is_base64(signature):
        raise service_error("invalid_signature", max_length=str(MAX_SIGNATURE_LENGTH))


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except binascii.Error:
        return False
    return True


def _check_firmware_management(target: Target) -> None:
    """Refuse a charger whose SupportedFeatureProfiles (when known) lacks FirmwareManagement."""
    configuration = target.runtime.charge_point.configuration
    if "SupportedFeatureProfiles" in configuration and not supports_profile(
        configuration, "FirmwareManagement"
    ):
        raise service_error(
            "firmware_management_not_supported", charge_point_id=target.charge_point_id
        )


def _timestamp(value: datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None


def _retries(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "retries": data.get(ATTR_RETRIES),
        "retry_interval": data.get(ATTR_RETRY_INTERVAL),
    }


class _Destination:
    """Where a charger uploads: the user's location, or Home Assistant with a fresh grant."""

    def __init__(
        self,
        hass: HomeAssistant,
        target: Target,
        data: dict[str, Any],
        purpose: UploadPurpose,
        request_id: int | None = None,
    ) -> None:
        self._hass = hass
        self.grant: UploadGrant | None = None
        if (location := data.get(ATTR_LOCATION)) is not None:
            self.location = checked_location(location)
            return
        base_url = data.get(ATTR_BASE_URL)
        base_url = upload_base_url(hass, checked_base_url(base_url) if base_url else None)
        self.grant = hass.data[UPLOADS].grant(
            target.runtime.hub.central, target.charge_point_id, purpose, request_id
        )
        self.location = upload_location(base_url, self.grant)

    @contextmanager
    def revoked_on_error(self) -> Iterator[None]:
        """No upload follows a request that failed."""
        try:
            yield
        except HomeAssistantError:
            self.revoke()
            raise

    def expect(self, file_name: str | None) -> None:
        """The charger will upload, under this name if it gave one."""
        if self.grant is not None:
            self.grant.expected_name = file_name

    def revoke(self) -> None:
        """The charger will not upload."""
        if self.grant is not None:
            self._hass.data[UPLOADS].revoke(self.grant)


def _target(hass: HomeAssistant, call: ServiceCall) -> Target:
    """The charger of a call, with its FirmwareManagement support checked."""
    target = resolve_target(hass, call.data)
    _check_firmware_management(target)
    return target


async def _update_firmware(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    data = call.data
    target = _target(hass, call)
    location = checked_location(data[ATTR_LOCATION])
    target.require_connected()
    retrieve_date = data.get(ATTR_RETRIEVE_DATE) or utcnow()
    payload = {"location": location, "retrieve_date": format_timestamp(retrieve_date)}
    # UpdateFirmware.conf has no status: the charger takes the request.
    answer = await async_request(
        target.runtime,
        Action.update_firmware,
        {**payload, **_retries(data)},
        accepted=None,
    )
    charge_point = target.runtime.charge_point
    target.runtime.hub.central.firmware_requested(charge_point, location)
    return {**answer, "retrieve_date": payload["retrieve_date"]}


async def _signed_update_firmware(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    data = call.data
    target = resolve_target(hass, call.data)
    location = checked_location(data[ATTR_LOCATION])
    _check_order(data, ATTR_RETRIEVE_DATE, ATTR_INSTALL_DATE)
    _check_signing_certificate(data[ATTR_SIGNING_CERTIFICATE])
    _check_signature(data[ATTR_SIGNATURE])
    target.require_connected()
    central = target.runtime.hub.central
    charge_point = target.runtime.charge_point
    request_id = central.next_request_id(charge_point)
    firmware = {
        "location": location,
        "retrieve_date_time": format_timestamp(data.get(ATTR_RETRIEVE_DATE) or utcnow()),
        "install_date_time": _timestamp(data.get(ATTR_INSTALL_DATE)),
        "signing_certificate": data[ATTR_SIGNING_CERTIFICATE],
        "signature": data[ATTR_SIGNATURE],
    }
    answer = await async_request(
        target.runtime,
        Action.signed_update_firmware,
        {"request_id": request_id, "firmware": firmware, **_retries(data)},
        accepted=None,
    )
    status = str(answer.get("status"))
    if status in ACCEPTED_STATUSES:
        central.firmware_requested(charge_point, location, request_id)
    elif status in CERTIFICATE_REFUSALS:
        # The update failed before it began: shown like a status the charger reported.
        central.firmware_status_reported(charge_point, status, request_id, signed=True)
    return {**answer, "request_id": request_id}


async def _get_diagnostics(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    data = call.data
    target = _target(hass, call)
    _check_order(data, ATTR_START_TIME, ATTR_STOP_TIME)
    target.require_connected()
    destination = _Destination(hass, target, data, UploadPurpose.DIAGNOSTICS)
    payload = {
        "location": destination.location,
        "start_time": _timestamp(data.get(ATTR_START_TIME)),
        "stop_time": _timestamp(data.get(ATTR_STOP_TIME)),
        **_retries(data),
    }
    with destination.revoked_on_error():
        answer = await async_request(target.runtime, Action.get_diagnostics, payload, accepted=None)
    file_name = answer.get("file_name") or None
    if file_name is None:
        # OCPP 1.6 section 6.17: no file name, no diagnostics to upload.
        destination.revoke()
    else:
        destination.expect(file_name)
    return {"file_name": file_name, "upload_url": destination.location}


async def _get_log(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    data = call.data
    target = resolve_target(hass, call.data)
    _check_order(data, ATTR_OLDEST_TIMESTAMP, ATTR_LATEST_TIMESTAMP)
    target.require_connected()
    central = target.runtime.hub.central
    request_id = central.next_request_id(target.runtime.charge_point)
    destination = _Destination(hass, target, data, UploadPurpose.LOG, request_id)
    payload = {
        "log_type": data[ATTR_LOG_TYPE],
        "request_id": request_id,
        "log": {
            "remote_location": destination.location,
            "oldest_timestamp": _timestamp(data.get(ATTR_OLDEST_TIMESTAMP)),
            "latest_timestamp": _timestamp(data.get(ATTR_LATEST_TIMESTAMP)),
        },
        **_retries(data),
    }
    with destination.revoked_on_error():
        answer = await async_request(target.runtime, Action.get_log, payload, accepted=None)
    if answer.get("status") in ACCEPTED_STATUSES:
        destination.expect(answer.get("filename"))
    else:
        destination.revoke()
    return {
        "status": answer.get("status"),
        "filename": answer.get("filename"),
        "request_id": request_id,
        "upload_url": destination.location,
    }


async def _list_uploads(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    # The files are there whether or not the charger is connected now.
    charge_point = resolve_target(hass, call.data).runtime.charge_point
    uploads = reversed(charge_point.firmware_management.uploads)
    return {
        "uploads": [
            {
                **upload.to_dict(),
                "download_path": download_path(charge_point.charge_point_id, upload.file_name),
            }
            for upload in uploads
        ]
    }


@callback
def async_setup_firmware_services(hass: HomeAssistant) -> None:
    """Serve the upload endpoint and register the services."""
    async_setup_uploads(hass)
    handlers: dict[str, tuple[_Handler, dict[Any, Any]]] = {
        SERVICE_UPDATE_FIRMWARE: (_update_firmware, UPDATE_FIRMWARE_FIELDS),
        SERVICE_SIGNED_UPDATE_FIRMWARE: (_signed_update_firmware, SIGNED_UPDATE_FIRMWARE_FIELDS),
        SERVICE_GET_DIAGNOSTICS: (_get_diagnostics, GET_DIAGNOSTICS_FIELDS),
        SERVICE_GET_LOG: (_get_log, GET_LOG_FIELDS),
    }
    for service, (handler, fields) in handlers.items():
        async_register_admin_service(
            hass,
            DOMAIN,
            service,
            _bound(hass, handler),
            schema=service_schema(fields),
            supports_response=SupportsResponse.OPTIONAL,
        )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_LIST_UPLOADS,
        _bound(hass, _list_uploads),
        schema=service_schema({}),
        supports_response=SupportsResponse.ONLY,
    )


def _bound(hass: HomeAssistant, handler: _Handler) -> _ServiceHandler:
    async def handle(call: ServiceCall) -> ServiceResponse:
        return await handler(hass, call)

    return handle
