"""Firmware management: firmware updates, diagnostics and log uploads of a charge point.

OCPP 1.6 section 5.19 (UpdateFirmware, FirmwareStatusNotification) and
section 6.18/6.20 (GetDiagnostics, DiagnosticsStatusNotification), and the
Security Whitepaper edition 2 sections 5 and 6 (SignedUpdateFirmware,
SignedFirmwareStatusNotification, GetLog, LogStatusNotification). The
statuses are plain strings: chargers report them as they are, and an
unknown one is shown rather than refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

# How many uploads of a charger are kept (their files too).
MAX_UPLOADS = 20
# firmwareVersion in a BootNotification is a CiString50Type.
MAX_FIRMWARE_NAME_LENGTH = 50

# The stages of an update that is under way, with how far along it is
# (percent; None: it has not begun yet). Downloaded, SignatureVerified and
# InstallScheduled wait for the next step; InstallRebooting ends with a boot.
_PROGRESS: dict[str, int | None] = {
    "DownloadScheduled": None,
    "Downloading": 25,
    "DownloadPaused": 25,
    "Downloaded": 50,
    "SignatureVerified": 60,
    "InstallScheduled": 60,
    "Installing": 75,
    "InstallRebooting": 90,
}
# The stages during which the charger replaces its firmware: a boot ends them.
_INSTALLING = frozenset({"Installing", "InstallRebooting"})
# Statuses that end an update unsuccessfully. InvalidCertificate and
# RevokedCertificate are answers to SignedUpdateFirmware, recorded like a status.
FAILED_STATUSES = frozenset(
    {
        "DownloadFailed",
        "InstallationFailed",
        "InstallVerificationFailed",
        "InvalidSignature",
        "InvalidCertificate",
        "RevokedCertificate",
    }
)
# Upload statuses (DiagnosticsStatus, UploadLogStatus) that end an upload unsuccessfully.
FAILED_UPLOAD_STATUSES = frozenset(
    {"UploadFailed", "UploadFailure", "BadMessage", "NotSupportedOperation", "PermissionDenied"}
)


class UploadPurpose(StrEnum):
    """What a charger uploads: diagnostics (GetDiagnostics) or a log (GetLog)."""

    DIAGNOSTICS = "diagnostics"
    LOG = "log"


def in_progress(status: str | None) -> bool:
    """Whether a firmware status shows an update under way."""
    return status in _PROGRESS


def progress_percent(status: str | None) -> int | None:
    """How far an update under way is, by its stage (None: unknown or not under way)."""
    return _PROGRESS.get(status) if status is not None else None


def firmware_file_name(location: str) -> str | None:
    """The file name at the end of a firmware location, without query or credentials."""
    name = PurePosixPath(urlsplit(location).path).name
    return name[:255] or None


def firmware_version_of(location: str, default: str) -> str:
    """The version a firmware file is likely to report: its name without the extension."""
    name = firmware_file_name(location)
    stem = PurePosixPath(name).stem if name else ""
    return stem[:MAX_FIRMWARE_NAME_LENGTH] or default


@dataclass(frozen=True, slots=True)
class Upload:
    """A file a charger uploaded to the central system."""

    purpose: UploadPurpose
    # The stored file's name (unique per charger) and the name the charger gave it.
    file_name: str
    original_name: str
    size: int
    received_at: datetime
    # The GetLog request it answers (logs only).
    request_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize for storage."""
        return {
            "purpose": str(self.purpose),
            "file_name": self.file_name,
            "original_name": self.original_name,
            "size": self.size,
            "received_at": self.received_at.isoformat(),
            "request_id": self.request_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Upload:
        """Restore from storage."""
        return cls(
            purpose=UploadPurpose(data["purpose"]),
            file_name=data["file_name"],
            original_name=data.get("original_name") or data["file_name"],
            size=int(data["size"]),
            received_at=datetime.fromisoformat(data["received_at"]),
            request_id=data.get("request_id"),
        )


@dataclass(slots=True)
class FirmwareManagementState:
    """What a charge point's firmware updates and uploads are up to.

    The charge point's ``firmware_status`` and ``diagnostics_status`` hold the
    last FirmwareStatusNotification (or SignedFirmwareStatusNotification) and
    DiagnosticsStatusNotification; this holds the rest. Statuses are not
    persisted: after a restart the charger tells them again (or is idle).
    """

    # The requestId of the SignedUpdateFirmware under way (signed updates only).
    firmware_request_id: int | None = None
    # The file name of the firmware asked for: the location itself may hold
    # credentials (ftp://user:password@...), so it is not kept.
    firmware_file_name: str | None = None
    # The last LogStatusNotification and its requestId.
    log_status: str | None = None
    log_request_id: int | None = None
    # The latest uploads, oldest first.
    uploads: list[Upload] = field(default_factory=list)
    # requestIds of GetLog and SignedUpdateFirmware count up per charger.
    last_request_id: int = 0

    def next_request_id(self) -> int:
        """A requestId this charger has not seen from us (they fit in 31 bits)."""
        self.last_request_id = self.last_request_id % (2**31 - 1) + 1
        return self.last_request_id

    def add_upload(self, upload: Upload) -> list[Upload]:
        """Record an upload; return the ones that no longer fit (their files can go)."""
        self.uploads.append(upload)
        dropped = self.uploads[:-MAX_UPLOADS]
        del self.uploads[:-MAX_UPLOADS]
        return dropped

    def to_dict(self) -> dict[str, Any]:
        """Serialize what must survive a restart."""
        return {
            "uploads": [upload.to_dict() for upload in self.uploads],
            "last_request_id": self.last_request_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FirmwareManagementState:
        """Restore from storage."""
        return cls(
            uploads=[Upload.from_dict(upload) for upload in data.get("uploads") or []],
            last_request_id=int(data.get("last_request_id") or 0),
        )


def installed_by_boot(status: str | None, old_version: str | None, new_version: str | None) -> bool:
    """Whether a boot shows that the installation under way worked.

    Chargers install and reboot; many report Installed after the boot, some
    never do. A boot with another firmware version shows the installation
    worked; one with the same version leaves the outcome to the charger.
    """
    return status in _INSTALLING and bool(new_version) and new_version != old_version
