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


@dataclass(frozen=True, slots=True)
class ChargePointEvent:
    """One event of a charge point; connector 0 is the charge point as a whole."""

    kind: EventKind
    charge_point_id: str
    connector_id: int = 0
    data: Mapping[str, Any] = field(default_factory=dict)
