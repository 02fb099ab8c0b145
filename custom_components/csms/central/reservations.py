"""Reservations: OCPP 1.6 Reservation feature profile (sections 5.13 ReserveNow, 5.3 Cancel).

csms hands out the reservation ids (unique over all chargers of a central
system) and knows a reservation once the charger answered ReserveNow with
Accepted. A reservation ends when a transaction uses it, when it is cancelled,
when it expires, or when the charger shows it no longer holds it: a connector
that showed Reserved and becomes Available, Unavailable or Faulted (OCPP 1.6
section 5.13: the charger terminates a reservation at its expiry date and when
the connector becomes Faulted or Unavailable).

Connector 0 holds a reservation of the charge point as a whole (chargers with
ReserveConnectorZeroSupported), which any of its connectors may use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
import logging
from typing import TYPE_CHECKING, Any

from .commissioning import supports_profile
from .events import ChargePointEvent, EventKind
from .timestamps import utcnow

if TYPE_CHECKING:
    from collections.abc import Callable

    from .central_system import CentralSystem
    from .model import ChargePoint, Connector, Transaction

_LOGGER = logging.getLogger(__name__)

# reservationId is an integer; chargers keep it in 32 bits like transaction ids.
MAX_RESERVATION_ID = 2**31 - 1
RESERVED = "Reserved"
# A connector that showed Reserved and reports one of these no longer holds
# its reservation (status transitions E1, E8 and E9 of OCPP 1.6 section 4.9).
ENDING_STATUSES = frozenset({"Available", "Unavailable", "Faulted"})
# A charger whose clock runs a little ahead ends a reservation "early": it
# expired all the same.
CHARGER_CLOCK_TOLERANCE = timedelta(seconds=60)
# The charger-wide reservation lives on connector 0.
CHARGE_POINT_WIDE = 0
RESERVATION_PROFILE = "Reservation"
RESERVE_CONNECTOR_ZERO_KEY = "ReserveConnectorZeroSupported"


class EndReason(StrEnum):
    """Why a reservation ended without being used."""

    EXPIRED = "expired"
    CANCELLED = "cancelled"
    # CancelReservation Rejected: the charger has no such reservation.
    UNKNOWN_AT_CHARGER = "unknown_at_charger"
    # The connector left Reserved before the expiry date (cancelled at the
    # charger, made unavailable, faulted).
    ENDED_AT_CHARGER = "ended_at_charger"
    # The charger accepted another reservation on the same connector.
    REPLACED = "replaced"


@dataclass(frozen=True, slots=True)
class Reservation:
    """A reservation the charger accepted."""

    reservation_id: int
    connector_id: int
    id_tag: str
    expiry_date: datetime
    created: datetime
    parent_id_tag: str | None = None
    # The charger has shown it: the connector reported Reserved.
    reported: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Serialize for storage."""
        return {
            "reservation_id": self.reservation_id,
            "connector_id": self.connector_id,
            "id_tag": self.id_tag,
            "parent_id_tag": self.parent_id_tag,
            "expiry_date": self.expiry_date.isoformat(),
            "created": self.created.isoformat(),
            "reported": self.reported,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reservation:
        """Restore from storage."""
        return cls(
            reservation_id=data["reservation_id"],
            connector_id=data["connector_id"],
            id_tag=data["id_tag"],
            parent_id_tag=data.get("parent_id_tag"),
            expiry_date=datetime.fromisoformat(data["expiry_date"]),
            created=datetime.fromisoformat(data["created"]),
            reported=bool(data.get("reported")),
        )


def supports_reservations(configuration: Mapping[str, str]) -> bool | None:
    """Whether a charger has the Reservation feature profile (None: not known yet)."""
    if "SupportedFeatureProfiles" not in configuration:
        return None
    return supports_profile(configuration, RESERVATION_PROFILE)


def reserves_charge_point(configuration: Mapping[str, str]) -> bool | None:
    """Whether a charger takes reservations of connector 0 (None: not known).

    OCPP 1.6 section 9.4: without ReserveConnectorZeroSupported (or with
    false) the charger rejects them.
    """
    value = configuration.get(RESERVE_CONNECTOR_ZERO_KEY)
    if value is None:
        return None
    return value.strip().lower() == "true"


def expired(reservation: Reservation, now: datetime) -> bool:
    """Whether the reservation's expiry date has come."""
    return now >= reservation.expiry_date


def ended_by_status(reservation: Reservation, status: str | None) -> bool:
    """Whether a connector's status shows that the charger ended its reservation.

    Only after the charger showed the reservation (Reserved): until then the
    connector's status may be older than the reservation.
    """
    return reservation.reported and status in ENDING_STATUSES


def used_by(
    reservation: Reservation, connector_id: int, id_tag: str, reservation_id: int | None
) -> bool:
    """Whether a transaction starting on a connector uses the reservation.

    By its reservationId (section 5.13); a charger that leaves the id out
    uses it when the reserved tag starts where the reservation applies.
    """
    if reservation_id is not None:
        return reservation_id == reservation.reservation_id
    return id_tag == reservation.id_tag and reservation.connector_id in (
        connector_id,
        CHARGE_POINT_WIDE,
    )


def release_used(
    charge_point: ChargePoint, transaction: Transaction
) -> tuple[Connector, Reservation] | None:
    """Clear the reservation a transaction uses; its connector and the reservation."""
    for connector in charge_point.connectors.values():
        reservation = connector.reservation
        if reservation is not None and used_by(
            reservation, transaction.connector_id, transaction.id_tag, transaction.reservation_id
        ):
            connector.reservation = None
            return connector, reservation
    return None


def reservation_at(charge_point: ChargePoint, connector_id: int) -> Reservation | None:
    """The reservation that holds a connector: its own, else the charge point's."""
    for holder in (connector_id, CHARGE_POINT_WIDE):
        connector = charge_point.connectors.get(holder)
        if connector is not None and connector.reservation is not None:
            return connector.reservation
    return None


def reservation_attributes(reservation: Reservation | None) -> dict[str, Any] | None:
    """What an entity shows of a reservation besides its expiry."""
    if reservation is None:
        return None
    return {
        "reservation_id": reservation.reservation_id,
        "connector_id": reservation.connector_id,
        "id_tag": reservation.id_tag,
        "parent_id_tag": reservation.parent_id_tag,
    }


def _event_data(reservation: Reservation, **extra: Any) -> dict[str, Any]:
    return {
        "reservation_id": reservation.reservation_id,
        "id_tag": reservation.id_tag,
        "expiry_date": reservation.expiry_date.isoformat(),
        **extra,
    }


class ReservationBook:
    """The reservations of a central system's charge points, and the ids it hands out.

    Changes are told to the connectors' observers, persisted with the
    central system's state and reported as events.
    """

    def __init__(self, central: CentralSystem, save: Callable[[], None]) -> None:
        """Keep the reservations on the central system's model."""
        self._central = central
        self._save = save
        self.last_id = 0
        # Reservations a CancelReservation is on its way for.
        self._cancelling: set[int] = set()

    def next_id(self) -> int:
        """A reservation id not handed out before (the caller persists the counter)."""
        self.last_id = self.last_id % MAX_RESERVATION_ID + 1
        return self.last_id

    def held(self) -> Iterator[tuple[ChargePoint, Reservation]]:
        """Every reservation, with its charge point."""
        for charge_point in self._central.charge_points.values():
            for connector in charge_point.connectors.values():
                if connector.reservation is not None:
                    yield charge_point, connector.reservation

    def find(
        self, reservation_id: int, charge_point_id: str | None = None
    ) -> tuple[ChargePoint, Reservation] | None:
        """A reservation by id (at one charge point, if given)."""
        return next(
            (
                (charge_point, reservation)
                for charge_point, reservation in self.held()
                if reservation.reservation_id == reservation_id
                and charge_point_id in (None, charge_point.charge_point_id)
            ),
            None,
        )

    def next_expiry(self) -> datetime | None:
        """When the next reservation expires."""
        return min((reservation.expiry_date for _, reservation in self.held()), default=None)

    # What the charger answered

    def accepted(self, charge_point: ChargePoint, reservation: Reservation) -> None:
        """The charger accepted ReserveNow: the connector is reserved."""
        connector = self._central.connector(charge_point, reservation.connector_id)
        if connector.reservation is not None:
            self._end(charge_point, connector, EndReason.REPLACED)
        # Its Reserved status may have come in before the answer was read.
        connector.reservation = replace(reservation, reported=connector.status == RESERVED)
        _LOGGER.info(
            "%s: reservation %s on connector %s until %s",
            charge_point.charge_point_id,
            reservation.reservation_id,
            reservation.connector_id,
            reservation.expiry_date.isoformat(),
        )
        self._central.fire_event(
            ChargePointEvent(
                EventKind.RESERVATION_MADE,
                charge_point.charge_point_id,
                reservation.connector_id,
                _event_data(reservation, parent_id_tag=reservation.parent_id_tag),
            )
        )
        self._changed(charge_point, connector)

    @contextmanager
    def cancelling(self, reservation_id: int) -> Iterator[None]:
        """While a CancelReservation is out: the charger may report Available before its answer."""
        self._cancelling.add(reservation_id)
        try:
            yield
        finally:
            self._cancelling.discard(reservation_id)

    def cancel_answered(self, charge_point: ChargePoint, reservation_id: int, status: str) -> None:
        """CancelReservation answered: Accepted cancelled it, Rejected means it was not there."""
        reason = {
            "Accepted": EndReason.CANCELLED,
            "Rejected": EndReason.UNKNOWN_AT_CHARGER,
        }.get(status)
        found = self.find(reservation_id, charge_point.charge_point_id)
        if reason is None or found is None:
            return
        connector = charge_point.connectors[found[1].connector_id]
        self._end(charge_point, connector, reason)
        self._central.connector_updated(charge_point, connector.connector_id)

    # What the charger reported

    def transaction_started(self, charge_point: ChargePoint, transaction: Transaction) -> None:
        """A StartTransaction completes the reservation it uses.

        The transaction's connector is told by the caller; a charge-point-wide
        reservation's connectors are told here.
        """
        used = release_used(charge_point, transaction)
        if used is None:
            return
        connector, reservation = used
        _LOGGER.info(
            "%s: reservation %s used by transaction %s",
            charge_point.charge_point_id,
            reservation.reservation_id,
            transaction.transaction_id,
        )
        if connector.connector_id != transaction.connector_id:
            self._changed(charge_point, connector)
        self._central.fire_event(
            ChargePointEvent(
                EventKind.RESERVATION_USED,
                charge_point.charge_point_id,
                transaction.connector_id,
                _event_data(reservation, transaction_id=transaction.transaction_id),
            )
        )

    def connector_changed(self, charge_point: ChargePoint, connector_id: int) -> None:
        """Check a connector's reservation against its status and the time.

        Runs on every change of a connector, before its observers hear of it
        (they are told by the caller).
        """
        connector = charge_point.connectors.get(connector_id)
        reservation = connector.reservation if connector is not None else None
        if connector is None or reservation is None:
            return
        now = utcnow()
        if connector.status == RESERVED and not reservation.reported:
            connector.reservation = replace(reservation, reported=True)
            self._save()
        elif ended_by_status(reservation, connector.status):
            if reservation.reservation_id in self._cancelling:
                reason = EndReason.CANCELLED
            elif expired(reservation, now + CHARGER_CLOCK_TOLERANCE):
                reason = EndReason.EXPIRED
            else:
                reason = EndReason.ENDED_AT_CHARGER
            self._end(charge_point, connector, reason)
        elif expired(reservation, now):
            self._end(charge_point, connector, EndReason.EXPIRED)

    def expire(self, now: datetime) -> None:
        """End the reservations whose expiry date has come, whatever the charger says."""
        due = [
            (charge_point, reservation)
            for charge_point, reservation in self.held()
            if expired(reservation, now)
        ]
        for charge_point, reservation in due:
            connector = charge_point.connectors[reservation.connector_id]
            self._end(charge_point, connector, EndReason.EXPIRED)
            self._central.connector_updated(charge_point, connector.connector_id)

    # Helpers

    def _end(self, charge_point: ChargePoint, connector: Connector, reason: EndReason) -> None:
        """Forget a connector's reservation and report why it ended.

        The connector itself is told by the caller; the other connectors of a
        charge-point-wide reservation are told here.
        """
        reservation = connector.reservation
        if reservation is None:
            return
        connector.reservation = None
        _LOGGER.info(
            "%s: reservation %s ended (%s)",
            charge_point.charge_point_id,
            reservation.reservation_id,
            reason,
        )
        self._tell_outlets(charge_point, connector)
        self._save()
        self._central.fire_event(
            ChargePointEvent(
                EventKind.RESERVATION_ENDED,
                charge_point.charge_point_id,
                reservation.connector_id,
                _event_data(reservation, reason=str(reason)),
            )
        )

    def _changed(self, charge_point: ChargePoint, connector: Connector) -> None:
        """Tell a connector's observers (all connectors for connector 0) and persist."""
        self._central.connector_updated(charge_point, connector.connector_id)
        self._tell_outlets(charge_point, connector)
        self._save()

    def _tell_outlets(self, charge_point: ChargePoint, connector: Connector) -> None:
        """A charge-point-wide reservation shows on every connector."""
        if connector.connector_id != CHARGE_POINT_WIDE:
            return
        for outlet in charge_point.outlet_ids:
            self._central.connector_updated(charge_point, outlet)
