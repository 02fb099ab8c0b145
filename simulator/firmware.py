"""The simulated charger's firmware management: firmware updates, diagnostics and log uploads.

OCPP 1.6 UpdateFirmware and GetDiagnostics, and the Security Whitepaper's
SignedUpdateFirmware and GetLog. Firmware is not really downloaded: the
steps are reported one `action_delay` apart and the charger then reboots
with a firmware version named after the location's file. Diagnostics and
logs are really uploaded when the location is http(s) (PUT with the raw
file, or POST as multipart/form-data with `upload_method = "POST"`); other
locations (ftp://...) are taken as uploaded.
"""

import asyncio
import base64
import binascii
from datetime import UTC, datetime
import functools
import logging
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from cryptography import x509

from . import smart_charging
from ._ocpp import after, call, call_result, enums, on
from .core import ChargePointCore

_LOGGER = logging.getLogger(__name__)

# The version a firmware update installs when its location names no file.
DEFAULT_NEW_FIRMWARE_VERSION = "1.0.1"
# A signature that fails verification (tests send it, or its base64 form).
INVALID_SIGNATURE = b"invalid"
# firmwareVersion in a BootNotification is a CiString50Type.
MAX_FIRMWARE_VERSION_LENGTH = 50
# An upload that takes longer than this fails.
UPLOAD_TIMEOUT = 60.0

FirmwareStatus = enums.FirmwareStatus


def _parse_time(value: object) -> datetime:
    return smart_charging.parse_time(value) or datetime.now(UTC)


def firmware_version_of(location: str) -> str:
    """The version a firmware file installs: the location's file name without its extension."""
    stem = PurePosixPath(PurePosixPath(urlsplit(location).path).name).stem
    return stem[:MAX_FIRMWARE_VERSION_LENGTH] or DEFAULT_NEW_FIRMWARE_VERSION


def _signature_is_valid(signature: str | None) -> bool:
    if not signature or signature.encode() == INVALID_SIGNATURE:
        return False
    try:
        return base64.b64decode(signature, validate=True) != INVALID_SIGNATURE
    except binascii.Error:
        return False


def _certificate_is_valid(pem: str) -> bool:
    """A signing certificate the charger trusts: a certificate valid now."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return False
    now = datetime.now(UTC)
    return certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc


class FirmwareManagement(ChargePointCore):
    """Answers to the central system's firmware, diagnostics and log calls."""

    # How files are uploaded to http(s) locations: "PUT" sends the raw file,
    # "POST" a multipart/form-data form with the file in its "file" field.
    upload_method: str = "PUT"
    # What diagnostics and log uploads contain (None: a short generated text).
    upload_content: bytes | None = None
    # The requestId of the GetLog upload and the SignedUpdateFirmware under way.
    _log_request: int | None = None
    _firmware_request: int | None = None

    # ------------------------------------------------------------------
    # Firmware updates
    # ------------------------------------------------------------------

    @on(enums.Action.update_firmware)
    def _on_update_firmware(
        self, location: str, retrieve_date: str, call_unique_id: str, **_: Any
    ) -> Any:
        self._firmware_request = None
        self._defer(
            call_unique_id,
            "firmware update",
            functools.partial(self._update_firmware, location, _parse_time(retrieve_date)),
        )
        return call_result.UpdateFirmware()

    @after(enums.Action.update_firmware)
    def _after_update_firmware(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    async def _update_firmware(self, location: str, retrieve_at: datetime) -> None:
        await _sleep_until(retrieve_at)
        for status in (
            FirmwareStatus.downloading,
            FirmwareStatus.downloaded,
            FirmwareStatus.installing,
            FirmwareStatus.installed,
        ):
            await self._firmware_status(status)
        await self._reboot_with(firmware_version_of(location))

    @on(enums.Action.signed_update_firmware)
    def _on_signed_update_firmware(
        self, request_id: int, firmware: dict[str, Any], call_unique_id: str, **_: Any
    ) -> Any:
        # Whitepaper section 5: the signing certificate is checked before anything else.
        if not _certificate_is_valid(firmware.get("signing_certificate", "")):
            return call_result.SignedUpdateFirmware(
                status=enums.UpdateFirmwareStatus.invalid_certificate
            )
        # A new request replaces the one under way.
        status = (
            enums.UpdateFirmwareStatus.accepted_canceled
            if self._firmware_request is not None
            else enums.UpdateFirmwareStatus.accepted
        )
        self._firmware_request = request_id
        self._defer(
            call_unique_id,
            "signed firmware update",
            functools.partial(self._signed_update_firmware, request_id, firmware),
        )
        return call_result.SignedUpdateFirmware(status=status)

    @after(enums.Action.signed_update_firmware)
    def _after_signed_update_firmware(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    async def _signed_update_firmware(self, request_id: int, firmware: dict[str, Any]) -> None:
        retrieve_at = _parse_time(firmware.get("retrieve_date_time"))
        if retrieve_at > datetime.now(UTC):
            await self._signed_firmware_status(FirmwareStatus.download_scheduled, request_id)
            await _sleep_until(retrieve_at)
        steps = [FirmwareStatus.downloading, FirmwareStatus.downloaded]
        if not _signature_is_valid(firmware.get("signature")):
            steps.append(FirmwareStatus.invalid_signature)
        for status in steps:
            if not await self._signed_firmware_status(status, request_id):
                return
        if steps[-1] == FirmwareStatus.invalid_signature:
            self._firmware_request = None
            return
        if not await self._signed_firmware_status(FirmwareStatus.signature_verified, request_id):
            return
        install_at = firmware.get("install_date_time")
        if install_at is not None and _parse_time(install_at) > datetime.now(UTC):
            await self._signed_firmware_status(FirmwareStatus.install_scheduled, request_id)
            await _sleep_until(_parse_time(install_at))
        for status in (FirmwareStatus.installing, FirmwareStatus.installed):
            if not await self._signed_firmware_status(status, request_id):
                return
        self._firmware_request = None
        await self._reboot_with(firmware_version_of(str(firmware.get("location", ""))))

    async def _firmware_status(self, status: str) -> None:
        """Report a step of an update, a moment after the one before."""
        await asyncio.sleep(self.action_delay)
        self.firmware_status = str(status)
        await self.call(call.FirmwareStatusNotification(status=status), suppress=False)

    async def _signed_firmware_status(self, status: str, request_id: int) -> bool:
        """Report a step of a signed update; False when a newer request replaced it."""
        await asyncio.sleep(self.action_delay)
        if self._firmware_request != request_id:
            return False
        self.firmware_status = str(status)
        await self.call(
            call.SignedFirmwareStatusNotification(status=status, request_id=request_id),
            suppress=False,
        )
        return True

    async def _reboot_with(self, firmware_version: str) -> None:
        """Restart with the new firmware: transactions end, the boot reports the version."""
        await asyncio.sleep(self.action_delay)
        for connector_id in sorted(self.transactions):
            await self.stop_transaction(connector_id, reason="Reboot")
        _LOGGER.info("%s: rebooting with firmware %s", self.id, firmware_version)
        await self._close_connection()
        self.firmware_version = firmware_version
        self.firmware_status = "Idle"
        for connector_id, state in self.connectors.items():
            state.plugged = False
            state.status = self._idle_status(connector_id)
            state.error_code = "NoError"
        await asyncio.sleep(self.action_delay)
        await self.connect(
            self._url,
            boot=True,
            heartbeats=self._heartbeats,
            reconnect=self._auto_reconnect,
        )

    # ------------------------------------------------------------------
    # Diagnostics and logs
    # ------------------------------------------------------------------

    @on(enums.Action.get_diagnostics)
    def _on_get_diagnostics(
        self,
        location: str,
        call_unique_id: str,
        retries: int | None = None,
        retry_interval: int | None = None,
        **_: Any,
    ) -> Any:
        file_name = f"diagnostics-{self.id}.log"
        self._defer(
            call_unique_id,
            "diagnostics upload",
            functools.partial(
                self._upload_diagnostics, location, file_name, retries, retry_interval
            ),
        )
        return call_result.GetDiagnostics(file_name=file_name)

    @after(enums.Action.get_diagnostics)
    def _after_get_diagnostics(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    async def _upload_diagnostics(
        self, location: str, file_name: str, retries: int | None, retry_interval: int | None
    ) -> None:
        await self._diagnostics_status(enums.DiagnosticsStatus.uploading)
        uploaded = await self._upload(location, file_name, retries, retry_interval)
        await self._diagnostics_status(
            enums.DiagnosticsStatus.uploaded if uploaded else enums.DiagnosticsStatus.upload_failed
        )

    async def _diagnostics_status(self, status: str) -> None:
        self.diagnostics_status = str(status)
        await self.call(call.DiagnosticsStatusNotification(status=status), suppress=False)

    @on(enums.Action.get_log)
    def _on_get_log(
        self,
        *,
        log: dict[str, Any],
        log_type: str,
        request_id: int,
        call_unique_id: str,
        retries: int | None = None,
        retry_interval: int | None = None,
        **_: Any,
    ) -> Any:
        # Whitepaper section 4.2: a new request replaces the upload under way.
        status = (
            enums.LogStatus.accepted_canceled
            if self._log_request is not None
            else enums.LogStatus.accepted
        )
        self._log_request = request_id
        file_name = f"{log_type}-{self.id}.log"
        self._defer(
            call_unique_id,
            "log upload",
            functools.partial(
                self._upload_log,
                log["remote_location"],
                file_name,
                request_id,
                retries,
                retry_interval,
            ),
        )
        return call_result.GetLog(status=status, filename=file_name)

    @after(enums.Action.get_log)
    def _after_get_log(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    async def _upload_log(
        self,
        location: str,
        file_name: str,
        request_id: int,
        retries: int | None,
        retry_interval: int | None,
    ) -> None:
        await self._log_notification(enums.UploadLogStatus.uploading, request_id)
        uploaded = await self._upload(location, file_name, retries, retry_interval)
        if self._log_request != request_id:
            return
        self._log_request = None
        await self._log_notification(
            enums.UploadLogStatus.uploaded if uploaded else enums.UploadLogStatus.upload_failure,
            request_id,
        )

    async def _log_notification(self, status: str, request_id: int) -> None:
        await self.call(
            call.LogStatusNotification(status=status, request_id=request_id), suppress=False
        )

    def _log_status(self) -> tuple[str, int | None]:
        """The log upload's status and requestId; Idle when no upload runs."""
        if self._log_request is None:
            return "Idle", None
        return "Uploading", self._log_request

    def _upload_bytes(self, file_name: str) -> bytes:
        if self.upload_content is not None:
            return self.upload_content
        lines = [
            f"{file_name}: {self.vendor} {self.model} {self.serial_number}",
            f"firmware {self.firmware_version}, written {datetime.now(UTC).isoformat()}",
            *(f"{key}={entry.value}" for key, entry in sorted(self.configuration.items())),
        ]
        return "\n".join(lines).encode() + b"\n"

    async def _upload(
        self, location: str, file_name: str, retries: int | None, retry_interval: int | None
    ) -> bool:
        """Upload a file to the location, trying again `retries` times; True when it worked."""
        if urlsplit(location).scheme.lower() not in ("http", "https"):
            # FTP and the like are not simulated: the upload just takes a moment.
            await asyncio.sleep(self.action_delay)
            return True
        content = self._upload_bytes(file_name)
        for attempt in range(1 + max(retries or 0, 0)):
            if attempt:
                await asyncio.sleep(self.action_delay if retry_interval is None else retry_interval)
            try:
                status = await self._send_file(location, file_name, content)
            except (aiohttp.ClientError, TimeoutError) as err:
                _LOGGER.warning("%s: upload of %s failed: %r", self.id, file_name, err)
                continue
            if 200 <= status < 300:
                _LOGGER.info("%s: uploaded %s (%s bytes)", self.id, file_name, len(content))
                return True
            _LOGGER.warning("%s: upload of %s refused with HTTP %s", self.id, file_name, status)
        return False

    async def _send_file(self, location: str, file_name: str, content: bytes) -> int:
        """Send the file once; return the HTTP status."""
        timeout = aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            if self.upload_method.upper() == "POST":
                form = aiohttp.FormData()
                form.add_field(
                    "file", content, filename=file_name, content_type="application/octet-stream"
                )
                async with session.post(location, data=form) as response:
                    return response.status
            async with session.put(
                location,
                data=content,
                headers={"Content-Type": "application/octet-stream"},
            ) as response:
                return response.status


async def _sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0.0))
