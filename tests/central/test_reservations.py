"""Reservations in the central system's core: the rules, the ids, the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.csms.central import CentralSystem, ChargePoint
from custom_components.csms.central.events import ChargePointEvent, EventKind
from custom_components.csms.central.reservations import (
    MAX_RESERVATION_ID,
    Reservation,
    ended_by_status,
    expired,
    reservation_at,
    reservation_attributes,
    reserves_charge_point,
    supports_reservations,
    used_by,
)
from custom_components.csms.central.timestamps import utcnow

from .memory_store import MemoryStore

# Far enough ahead that only expire(now) decides.
NOON = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def reservation(
    reservation_id: int = 7,
    connector_id: int = 1,
    id_tag: str = "ALICE",
    *,
    expiry_date: datetime | None = None,
    reported: bool = False,
) -> Reservation:
    return Reservation(
        reservation_id=reservation_id,
        connector_id=connector_id,
        id_tag=id_tag,
        expiry_date=expiry_date or utcnow() + timedelta(hours=1),
        created=utcnow(),
        parent_id_tag="FAMILY",
        reported=reported,
    )


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def central(store: MemoryStore) -> CentralSystem:
    return CentralSystem(store)


@pytest.fixture
def events(central: CentralSystem) -> list[ChargePointEvent]:
    seen: list[ChargePointEvent] = []
    central.subscribe_events(None, seen.append)
    return seen


@pytest.fixture
def charger(central: CentralSystem) -> ChargePoint:
    charge_point = central.charge_point("CP001")
    for connector_id in (1, 2):
        central.connector(charge_point, connector_id).status = "Available"
    return charge_point


def status(
    central: CentralSystem, charge_point: ChargePoint, connector_id: int, value: str
) -> None:
    """What a StatusNotification does to the model."""
    central.connector(charge_point, connector_id).status = value
    central.connector_updated(charge_point, connector_id)


def kinds(events: list[ChargePointEvent]) -> list[EventKind]:
    return [event.kind for event in events]


# The rules


def test_expiry_is_due_at_the_expiry_date() -> None:
    held = reservation(expiry_date=NOON)
    assert not expired(held, NOON - timedelta(microseconds=1))
    assert expired(held, NOON)
    assert expired(held, NOON + timedelta(days=1))


@pytest.mark.parametrize(
    ("reported", "status", "ended"),
    [
        (True, "Available", True),
        (True, "Unavailable", True),
        (True, "Faulted", True),
        (True, "Reserved", False),
        # The reserved tag is at the connector.
        (True, "Preparing", False),
        # Not shown yet: the status may be older than the reservation.
        (False, "Available", False),
        (False, "Faulted", False),
        (True, None, False),
    ],
)
def test_a_status_ends_a_reservation_the_charger_showed(
    reported: bool, status: str | None, ended: bool
) -> None:
    assert ended_by_status(reservation(reported=reported), status) is ended


@pytest.mark.parametrize(
    ("held_on", "connector_id", "id_tag", "reservation_id", "used"),
    [
        (1, 1, "ALICE", 7, True),
        # The id decides, wherever it is used.
        (1, 2, "BOB", 7, True),
        (1, 1, "ALICE", 8, False),
        # A charger that leaves the id out: the reserved tag where it holds.
        (1, 1, "ALICE", None, True),
        (1, 2, "ALICE", None, False),
        (1, 1, "BOB", None, False),
        (0, 2, "ALICE", None, True),
    ],
)
def test_which_transaction_uses_a_reservation(
    held_on: int, connector_id: int, id_tag: str, reservation_id: int | None, used: bool
) -> None:
    held = reservation(connector_id=held_on)
    assert used_by(held, connector_id, id_tag, reservation_id) is used


def test_feature_profile_and_connector_zero_from_the_configuration() -> None:
    assert supports_reservations({}) is None
    assert supports_reservations({"SupportedFeatureProfiles": "Core, Reservation"}) is True
    assert supports_reservations({"SupportedFeatureProfiles": "Core,SmartCharging"}) is False
    assert reserves_charge_point({}) is None
    assert reserves_charge_point({"ReserveConnectorZeroSupported": "TRUE "}) is True
    assert reserves_charge_point({"ReserveConnectorZeroSupported": "false"}) is False


def test_a_reservation_is_stored_with_its_connector() -> None:
    charge_point = ChargePoint("CP001")
    held = reservation(reported=True)
    charge_point.connector(1).reservation = held
    charge_point.connector(2)
    restored = ChargePoint.from_dict(charge_point.to_dict())
    assert restored.connectors[1].reservation == held
    assert restored.connectors[2].reservation is None
    # State written before reservations existed.
    data = charge_point.to_dict()
    for connector in data["connectors"]:
        del connector["reservation"]
    assert ChargePoint.from_dict(data).connectors[1].reservation is None


def test_a_charge_point_wide_reservation_holds_every_connector() -> None:
    charge_point = ChargePoint("CP001")
    for connector_id in (0, 1, 2):
        charge_point.connector(connector_id)
    assert reservation_at(charge_point, 1) is None
    wide = reservation(connector_id=0)
    charge_point.connectors[0].reservation = wide
    assert reservation_at(charge_point, 2) is wide
    own = reservation(8, connector_id=1)
    charge_point.connectors[1].reservation = own
    assert reservation_at(charge_point, 1) is own
    assert reservation_attributes(own) == {
        "reservation_id": 8,
        "connector_id": 1,
        "id_tag": "ALICE",
        "parent_id_tag": "FAMILY",
    }
    assert reservation_attributes(None) is None


# Ids


async def test_reservation_ids_are_unique_and_survive_a_restart(
    central: CentralSystem, store: MemoryStore, charger: ChargePoint
) -> None:
    first = central.reservations.next_id()
    second = central.reservations.next_id()
    assert second == first + 1
    await central.async_save()
    assert store.data is not None
    assert store.data["last_reservation_id"] == second

    restarted = CentralSystem(store)
    await restarted.async_load()
    assert restarted.reservations.next_id() == second + 1


def test_reservation_ids_wrap_within_32_bits(central: CentralSystem) -> None:
    central.reservations.last_id = MAX_RESERVATION_ID - 1
    assert central.reservations.next_id() == MAX_RESERVATION_ID
    assert central.reservations.next_id() == 1


# The life of a reservation


def test_an_accepted_reservation_is_recorded_and_reported(
    central: CentralSystem, charger: ChargePoint, events: list[ChargePointEvent]
) -> None:
    told: list[int] = []
    central.subscribe("CP001", 1, lambda: told.append(1))
    held = reservation()
    central.reservations.accepted(charger, held)

    assert charger.connectors[1].reservation == held
    assert told
    (made,) = events
    assert made == ChargePointEvent(
        EventKind.RESERVATION_MADE,
        "CP001",
        1,
        {
            "reservation_id": 7,
            "id_tag": "ALICE",
            "expiry_date": held.expiry_date.isoformat(),
            "parent_id_tag": "FAMILY",
        },
    )
    assert central.reservations.find(7) == (charger, held)
    assert central.reservations.find(7, "CP002") is None
    assert central.reservations.next_expiry() == held.expiry_date


def test_the_charger_showing_reserved_then_available_ends_it(
    central: CentralSystem, charger: ChargePoint, events: list[ChargePointEvent]
) -> None:
    central.reservations.accepted(charger, reservation())
    # An Available from before the reservation does not end it.
    status(central, charger, 1, "Available")
    assert charger.connectors[1].reservation is not None

    status(central, charger, 1, "Reserved")
    held = charger.connectors[1].reservation
    assert held is not None
    assert held.reported

    # Cancelled at the charger's own display, long before its expiry.
    status(central, charger, 1, "Available")
    assert charger.connectors[1].reservation is None
    assert kinds(events) == [EventKind.RESERVATION_MADE, EventKind.RESERVATION_ENDED]
    assert events[-1].data["reason"] == "ended_at_charger"


def test_a_reserved_status_before_the_answer_counts(
    central: CentralSystem, charger: ChargePoint
) -> None:
    status(central, charger, 1, "Reserved")
    central.reservations.accepted(charger, reservation())
    held = charger.connectors[1].reservation
    assert held is not None
    assert held.reported


def test_a_faulted_connector_ends_its_reservation(
    central: CentralSystem, charger: ChargePoint, events: list[ChargePointEvent]
) -> None:
    central.reservations.accepted(charger, reservation())
    status(central, charger, 1, "Reserved")
    status(central, charger, 1, "Faulted")
    assert charger.connectors[1].reservation is None
    assert events[-1].data["reason"] == "ended_at_charger"


def test_a_charger_ending_it_at_its_expiry_date_expired_it(
    central: CentralSystem, charger: ChargePoint, events: list[ChargePointEvent]
) -> None:
    # The charger's clock runs a few seconds ahead.
    soon = utcnow() + timedelta(seconds=5)
    central.reservations.accepted(charger, reservation(expiry_date=soon))
    status(central, charger, 1, "Reserved")
    status(central, charger, 1, "Available")
    assert events[-1].kind is EventKind.RESERVATION_ENDED
    assert events[-1].data["reason"] == "expired"


def test_any_change_of_the_connector_after_its_expiry_ends_it(
    central: CentralSystem, charger: ChargePoint, events: list[ChargePointEvent]
) -> None:
    # Restored from storage after its expiry date, say.
    charger.connectors[1].reservation = reservation(expiry_date=utcnow() - timedelta(seconds=1))
    # The next change of the connector (a meter value) ends it.
    central.connector_updated(charger, 1)
    assert charger.connectors[1].reservation is None
    assert kinds(events) == [EventKind.RESERVATION_ENDED]
    assert events[-1].data["reason"] == "expired"


def test_expiry_without_a_word_from_the_charger(
    central: CentralSystem, charger: ChargePoint, events: list[ChargePointEvent]
) -> None:
    central.reservations.accepted(charger, reservation(7, 1, expiry_date=NOON))
    central.reservations.accepted(charger, reservation(8, 2, expiry_date=NOON + timedelta(hours=1)))
    told: list[int] = []
    central.subscribe("CP001", 1, lambda: told.append(1))
    assert central.reservations.next_expiry() == NOON

    central.reservations.expire(NOON)
    assert charger.connectors[1].reservation is None
    assert charger.connectors[2].reservation is not None
    assert told
    assert events[-1].kind is EventKind.RESERVATION_ENDED
    assert events[-1].data == {
        "reservation_id": 7,
        "id_tag": "ALICE",
        "expiry_date": NOON.isoformat(),
        "reason": "expired",
    }
    assert central.reservations.next_expiry() == NOON + timedelta(hours=1)


def test_a_new_reservation_replaces_the_one_before(
    central: CentralSystem, charger: ChargePoint, events: list[ChargePointEvent]
) -> None:
    central.reservations.accepted(charger, reservation(7))
    central.reservations.accepted(charger, reservation(8, id_tag="BOB"))
    held = charger.connectors[1].reservation
    assert held is not None
    assert held.reservation_id == 8
    assert kinds(events) == [
        EventKind.RESERVATION_MADE,
        EventKind.RESERVATION_ENDED,
        EventKind.RESERVATION_MADE,
    ]
    assert events[1].data["reason"] == "replaced"


@pytest.mark.parametrize(
    ("answer", "reason"), [("Accepted", "cancelled"), ("Rejected", "unknown_at_charger")]
)
def test_a_cancel_answer_removes_it(
    central: CentralSystem,
    charger: ChargePoint,
    events: list[ChargePointEvent],
    answer: str,
    reason: str,
) -> None:
    central.reservations.accepted(charger, reservation())
    central.reservations.cancel_answered(charger, 7, answer)
    assert charger.connectors[1].reservation is None
    assert events[-1].kind is EventKind.RESERVATION_ENDED
    assert events[-1].data["reason"] == reason


def test_an_unknown_cancel_answer_changes_nothing(
    central: CentralSystem, charger: ChargePoint, events: list[ChargePointEvent]
) -> None:
    central.reservations.accepted(charger, reservation())
    central.reservations.cancel_answered(charger, 7, "Pending")
    central.reservations.cancel_answered(charger, 99, "Accepted")
    assert charger.connectors[1].reservation is not None
    assert kinds(events) == [EventKind.RESERVATION_MADE]


async def test_a_transaction_with_the_reservation_id_uses_it(
    central: CentralSystem, charger: ChargePoint, events: list[ChargePointEvent]
) -> None:
    central.reservations.accepted(charger, reservation())
    status(central, charger, 1, "Reserved")
    transaction = await central.start_transaction(
        charger,
        connector_id=1,
        id_tag="ALICE",
        meter_start_wh=1000,
        started_at=utcnow(),
        reservation_id=7,
    )
    assert charger.connectors[1].reservation is None
    assert transaction.reservation_id == 7
    assert kinds(events)[-2:] == [EventKind.RESERVATION_USED, EventKind.TRANSACTION_STARTED]
    assert events[-2].data["transaction_id"] == transaction.transaction_id
    assert events[-2].data["reservation_id"] == 7
    # Charging now: the connector left Reserved, the reservation ended as used.
    status(central, charger, 1, "Charging")
    assert EventKind.RESERVATION_ENDED not in kinds(events)


async def test_a_charger_that_omits_the_reservation_id(
    central: CentralSystem, charger: ChargePoint, events: list[ChargePointEvent]
) -> None:
    central.reservations.accepted(charger, reservation())
    await central.start_transaction(
        charger,
        connector_id=2,
        id_tag="ALICE",
        meter_start_wh=0,
        started_at=utcnow(),
        reservation_id=None,
    )
    # Another connector: the reservation still holds.
    assert charger.connectors[1].reservation is not None
    await central.start_transaction(
        charger,
        connector_id=1,
        id_tag="ALICE",
        meter_start_wh=0,
        started_at=utcnow(),
        reservation_id=None,
    )
    assert charger.connectors[1].reservation is None
    assert EventKind.RESERVATION_USED in kinds(events)


async def test_a_charge_point_wide_reservation_used_on_a_connector(
    central: CentralSystem, charger: ChargePoint, events: list[ChargePointEvent]
) -> None:
    central.reservations.accepted(charger, reservation(connector_id=0))
    told: list[int] = []
    central.subscribe("CP001", 2, lambda: told.append(2))
    await central.start_transaction(
        charger,
        connector_id=1,
        id_tag="ALICE",
        meter_start_wh=0,
        started_at=utcnow(),
        reservation_id=7,
    )
    assert charger.connectors[0].reservation is None
    # Connector 2 showed the charge point's reservation: it hears it is gone.
    assert told
    used = next(event for event in events if event.kind is EventKind.RESERVATION_USED)
    assert used.connector_id == 1


async def test_reservations_survive_a_restart(
    central: CentralSystem, store: MemoryStore, charger: ChargePoint
) -> None:
    central.reservations.accepted(charger, reservation())
    status(central, charger, 1, "Reserved")
    await central.async_save()

    restarted = CentralSystem(store)
    await restarted.async_load()
    held = restarted.charge_points["CP001"].connectors[1].reservation
    assert held == charger.connectors[1].reservation
    assert held is not None
    assert held.reported


def test_available_while_a_cancel_is_out_means_cancelled(
    central: CentralSystem, charger: ChargePoint, events: list[ChargePointEvent]
) -> None:
    central.reservations.accepted(charger, reservation())
    status(central, charger, 1, "Reserved")
    with central.reservations.cancelling(7):
        # The charger reports the connector free before its answer is read.
        status(central, charger, 1, "Available")
    central.reservations.cancel_answered(charger, 7, "Accepted")
    assert charger.connectors[1].reservation is None
    assert kinds(events) == [EventKind.RESERVATION_MADE, EventKind.RESERVATION_ENDED]
    assert events[-1].data["reason"] == "cancelled"
