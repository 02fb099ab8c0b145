"""What happened at a charge point, for automations and the logbook."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    """The kinds of events the central system reports."""

    BOOTED = "booted"
    ID_TAG_PRESENTED = "id_tag_presented"
    ERROR_REPORTED = "error_reported"
    TRANSACTION_STARTED = "transaction_started"
    TRANSACTION_STOPPED = "transaction_stopped"
    # Reservation profile (data: reservation_id, id_tag, expiry_date; used: the
    # transaction_id; ended: the reason).
    RESERVATION_MADE = "reservation_made"
    RESERVATION_USED = "reservation_used"
    RESERVATION_ENDED = "reservation_ended"
    # Security extension: a SecurityEventNotification (type, timestamp, tech_info).
    SECURITY_EVENT = "security_event"
    # Firmware management: a firmware update's progress (also signed
    # updates), an upload's progress (diagnostics, log) and a file received.
    FIRMWARE_STATUS = "firmware_status"
    UPLOAD_STATUS = "upload_status"
    UPLOAD_RECEIVED = "upload_received"


@dataclass(frozen=True, slots=True)
class ChargePointEvent:
    """One event of a charge point; connector 0 is the charge point as a whole."""

    kind: EventKind
    charge_point_id: str
    connector_id: int = 0
    data: Mapping[str, Any] = field(default_factory=dict)
