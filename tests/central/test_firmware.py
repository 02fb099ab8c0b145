"""Firmware management rules: update stages, file names, boots, the upload record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.csms.central.central_system import CentralSystem
from custom_components.csms.central.events import ChargePointEvent, EventKind
from custom_components.csms.central.firmware import (
    MAX_UPLOADS,
    FirmwareManagementState,
    Upload,
    UploadPurpose,
    firmware_file_name,
    firmware_version_of,
    in_progress,
    installed_by_boot,
    progress_percent,
)
from custom_components.csms.central.model import ChargePoint

from .memory_store import MemoryStore

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def upload(number: int) -> Upload:
    return Upload(
        purpose=UploadPurpose.DIAGNOSTICS,
        file_name=f"20261121T100000Z-{number}.log",
        original_name=f"{number}.log",
        size=number,
        received_at=NOW + timedelta(minutes=number),
    )


@pytest.mark.parametrize(
    ("status", "under_way", "percent"),
    [
        ("DownloadScheduled", True, None),
        ("Downloading", True, 25),
        ("Downloaded", True, 50),
        ("SignatureVerified", True, 60),
        ("Installing", True, 75),
        ("InstallRebooting", True, 90),
        ("Installed", False, None),
        ("InvalidSignature", False, None),
        ("Idle", False, None),
        (None, False, None),
    ],
)
def test_update_stages(status: str | None, under_way: bool, percent: int | None) -> None:
    assert in_progress(status) is under_way
    assert progress_percent(status) == percent


def test_file_names_of_firmware_locations() -> None:
    assert firmware_file_name("https://host/fw/sim-2.0.0.bin?token=x#y") == "sim-2.0.0.bin"
    assert firmware_file_name("ftp://user:secret@host/fw/v3.tar.gz") == "v3.tar.gz"
    assert firmware_file_name("https://host/") is None
    assert firmware_version_of("https://host/fw/sim-2.0.0.bin", "1.0.1") == "sim-2.0.0"
    assert firmware_version_of("https://host", "1.0.1") == "1.0.1"
    assert len(firmware_version_of(f"https://host/{'v' * 80}.bin", "1.0.1")) == 50


def test_a_boot_ends_an_installation_only_with_new_firmware() -> None:
    assert installed_by_boot("Installing", "1.0", "1.1")
    assert installed_by_boot("InstallRebooting", "1.0", "1.1")
    assert not installed_by_boot("Installing", "1.0", "1.0")
    assert not installed_by_boot("Installing", "1.0", None)
    assert not installed_by_boot("Downloading", "1.0", "1.1")


def test_the_latest_uploads_are_kept_and_stored() -> None:
    state = FirmwareManagementState()
    dropped = [old for number in range(MAX_UPLOADS + 2) for old in state.add_upload(upload(number))]

    assert [old.size for old in dropped] == [0, 1]
    assert [kept.size for kept in state.uploads] == list(range(2, MAX_UPLOADS + 2))
    restored = FirmwareManagementState.from_dict(state.to_dict())
    assert restored.uploads == state.uploads


def test_request_ids_count_up_and_wrap() -> None:
    state = FirmwareManagementState(last_request_id=2**31 - 2)

    assert [state.next_request_id() for _ in range(3)] == [2**31 - 1, 1, 2]
    assert FirmwareManagementState.from_dict(state.to_dict()).last_request_id == 2


async def test_the_central_system_records_and_reports() -> None:
    store = MemoryStore()
    central = CentralSystem(store)
    charge_point = central.charge_point("CP001")
    events: list[ChargePointEvent] = []
    central.subscribe_events("CP001", events.append)

    central.firmware_requested(charge_point, "https://h/fw/new.bin", request_id=7)
    central.firmware_status_reported(charge_point, "Installing", 7, signed=True)
    central.firmware_booted(charge_point, "2.0")
    central.upload_status_reported(charge_point, UploadPurpose.LOG, "Uploaded", 8)
    dropped = central.upload_received(charge_point, upload(1))

    assert charge_point.firmware_status == "Installed"
    assert charge_point.firmware_management.firmware_file_name == "new.bin"
    assert [(event.kind, event.data.get("status")) for event in events] == [
        (EventKind.FIRMWARE_STATUS, "Installing"),
        (EventKind.FIRMWARE_STATUS, "Installed"),
        (EventKind.UPLOAD_STATUS, "Uploaded"),
        (EventKind.UPLOAD_RECEIVED, None),
    ]
    assert events[1].data["request_id"] == 7
    assert events[1].data["signed"] is True
    assert dropped == []
    management = charge_point.firmware_management
    assert (management.log_status, management.log_request_id) == ("Uploaded", 8)
    # Uploads survive a restart; statuses do not (the charger tells them again).
    restored = ChargePoint.from_dict(charge_point.to_dict())
    assert restored.firmware_management.uploads == [upload(1)]
    assert restored.firmware_status is None
