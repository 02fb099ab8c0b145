"""The central system's knowledge: charge points, transactions, decisions.

Networking lives in :mod:`.server` and message handling in
:mod:`.connection`; this module owns the model, hands out transaction ids,
persists what must survive a restart and tells observers what changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime
import logging
import time
from typing import Any, Protocol

from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import RegistrationStatus

from . import firmware, metering
from .authorization import AcceptAll, ActiveTransaction, Purpose
from .certificate_authority import CsrError, check_csr
from .events import ChargePointEvent, EventKind
from .ledger import Interval, MeterPoint
from .model import CHARGE_POINT_CONNECTOR_ID, ChargePoint, Connector, Sample, Transaction
from .register import transaction_reading, transaction_stop_reading
from .reservations import ReservationBook, release_used
from .security_events import SecurityEvent
from .timestamps import utcnow

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
JOURNAL_TRANSACTION_STARTED = "transaction_started"
JOURNAL_TRANSACTION_STOPPED = "transaction_stopped"
DEFAULT_HEARTBEAT_INTERVAL = 300
# OCPP 1.6 transactionId is an integer; many chargers keep it in 32 bits.
MAX_TRANSACTION_ID = 2**31 - 1
# One swipe of a card reaches us as Authorize and then StartTransaction (and
# a remote start as RemoteStartTransaction and then StartTransaction): the
# same tag at the same charger within this time is one presentation.
PRESENTATION_WINDOW_S = 60.0
# A transaction message this much older than its arrival was queued by a
# charger that was offline.
OFFLINE_AFTER_S = 300.0

Listener = Callable[[], None]
ConnectorListener = Callable[[ChargePoint, int], None]
EventListener = Callable[[ChargePointEvent], None]
# Decides whether a charge point may use the central system.
Admission = Callable[[ChargePoint], RegistrationStatus]


def accept_all(charge_point: ChargePoint) -> RegistrationStatus:
    """Admission that lets every charge point in."""
    return RegistrationStatus.accepted


class Authorizer(Protocol):
    """Decides which id tags may charge (see :mod:`.authorization`)."""

    def tenant(self, id_tag: str) -> str | None:
        """Who is billed for what a tag charges."""

    def id_tag_info(
        self,
        charge_point_id: str,
        id_tag: str,
        *,
        now: datetime,
        purpose: Purpose,
        transaction_id: int | None = None,
    ) -> IdTagInfo:
        """The idTagInfo for a tag presented at a charge point."""

    def local_list(self, charge_point_id: str, now: datetime) -> dict[str, dict[str, Any]]:
        """The local authorization list a charge point should hold."""


class MeterLedger(Protocol):
    """Keeps the energy of every transaction per quarter hour (see :mod:`.ledger_keeper`)."""

    def add_points(
        self, charge_point_id: str, transaction: Transaction, points: list[MeterPoint]
    ) -> list[Interval]:
        """Take a transaction's register readings; return its quarter hours so far."""

    async def async_transaction_stopped(
        self, charge_point_id: str, transaction: Transaction
    ) -> list[Interval]:
        """Record a finished transaction and its final quarter hours durably."""


# The price of a kWh at a charge point now (None: no price set).
Tariff = Callable[[str], float | None]


class CertificateSigner(Protocol):
    """Has the certificates chargers ask for (SignCertificate) signed and delivered."""

    def certificate_requested(self, charge_point_id: str, csr: str) -> None:
        """A charger was told its CSR is Accepted: sign it and send CertificateSigned."""


class StateStore(Protocol):
    """Durable storage for the central system's state: a JSON document and a journal.

    The document holds every charger, so writing it costs in proportion to
    their number. A transaction's start and stop must be durable before the
    charger gets its answer: they go to the journal, a few hundred bytes
    each, and the document follows within seconds. Each journal record has
    a ``seq``; the document's ``journal_seq`` says up to which record it
    already contains the changes, so the store may drop those records.
    """

    async def async_load(self) -> dict[str, Any] | None:
        """Return the saved state, or None when there is none."""

    async def async_load_journal(self) -> list[dict[str, Any]]:
        """Return the journal's records in the order they were appended."""

    async def async_append(self, record: dict[str, Any]) -> None:
        """Append a record to the journal; return once it is durable."""

    async def async_save(self, data: dict[str, Any]) -> None:
        """Write the state now."""

    def schedule_save(self, data_fn: Callable[[], dict[str, Any]]) -> None:
        """Write the state soon; many calls in a row cause one write."""


class CentralSystem:
    """Charge points, their connectors and transactions, and who is watching."""

    def __init__(
        self,
        store: StateStore,
        *,
        heartbeat_interval: int = DEFAULT_HEARTBEAT_INTERVAL,
        admission: Admission = accept_all,
        authorizer: Authorizer | None = None,
        ledger: MeterLedger | None = None,
        tariff: Tariff | None = None,
        certificate_signer: CertificateSigner | None = None,
    ) -> None:
        """Create an empty central system; call :meth:`async_load` next."""
        self.heartbeat_interval = heartbeat_interval
        self.admission = admission
        self.authorizer: Authorizer = authorizer or AcceptAll()
        self.ledger = ledger
        self.tariff = tariff
        self.certificate_signer = certificate_signer
        self.charge_points: dict[str, ChargePoint] = {}
        self._store = store
        # Group commit (see async_save): saves asked for, and how many a write covered.
        self._save_lock = asyncio.Lock()
        self._saves_requested = 0
        self._saves_written = 0
        # Journal records appended so far (the last one's seq).
        self._journal_seq = 0
        self._last_transaction_id = 0
        # Reservations and their ids (unique over all charge points).
        self.reservations = ReservationBook(self, self._schedule_save)
        self._listeners: dict[tuple[str, int | None], list[Listener]] = {}
        self._connector_listeners: dict[str, list[ConnectorListener]] = {}
        self._change_listeners: list[ConnectorListener] = []
        self._event_listeners: dict[str | None, list[EventListener]] = {}
        # (charge point id, id tag) -> when it was last presented (monotonic).
        self._presented: dict[tuple[str, str], float] = {}

    # Persistence

    async def async_load(self) -> None:
        """Restore charge points and open transactions from storage and its journal."""
        data = await self._store.async_load() or {}
        for charge_point_data in data.get("charge_points", []):
            charge_point = ChargePoint.from_dict(charge_point_data)
            self.charge_points[charge_point.charge_point_id] = charge_point
        self._last_transaction_id = data.get("last_transaction_id", 0)
        self.reservations.last_id = data.get("last_reservation_id", 0)
        self._journal_seq = data.get("journal_seq", 0)
        replayed = False
        for record in await self._store.async_load_journal():
            if record.get("seq", 0) > self._journal_seq:
                self._replay(record)
                self._journal_seq = record["seq"]
                replayed = True
        if replayed:
            self._schedule_save()
        for charge_point in self.charge_points.values():
            # The quarter hours of running transactions, from the ledger's stored readings.
            for transaction in charge_point.transactions.values():
                self._add_points(charge_point, transaction, [])

    def _replay(self, record: dict[str, Any]) -> None:
        """Apply a journal record written after the document was last saved.

        What the answer to the charger depended on comes back: the open
        transaction, the id counter, the used reservation, the register.
        """
        charge_point_id: str = record["charge_point_id"]
        transaction = Transaction.from_dict(record["transaction"])
        charge_point = self.charge_points.get(charge_point_id)
        if record["kind"] == JOURNAL_TRANSACTION_STARTED:
            if charge_point is None:
                charge_point = self.charge_points[charge_point_id] = ChargePoint(charge_point_id)
            charge_point.transactions[transaction.transaction_id] = transaction
            connector = charge_point.connector(transaction.connector_id)
            connector.transaction = transaction
            connector.register.take(float(transaction.meter_start_wh), transaction.started_at)
            release_used(charge_point, transaction)
            self._last_transaction_id = record["last_transaction_id"]
        elif charge_point is not None:
            charge_point.transactions.pop(transaction.transaction_id, None)
            connector = charge_point.connector(transaction.connector_id)
            current = connector.transaction
            if current is not None and current.transaction_id == transaction.transaction_id:
                connector.transaction = None
                connector.power_w = 0.0
                connector.current_a = dict.fromkeys(connector.current_a, 0.0)
            connector.last_transaction = transaction

    async def _journal(
        self, kind: str, charge_point: ChargePoint, transaction: Transaction
    ) -> None:
        """Make a transaction's start or stop durable now; the document follows soon."""
        self._journal_seq += 1
        record = {
            "seq": self._journal_seq,
            "kind": kind,
            "charge_point_id": charge_point.charge_point_id,
            "transaction": transaction.to_dict(),
            "last_transaction_id": self._last_transaction_id,
        }
        self._schedule_save()
        await self._store.async_append(record)

    def as_dict(self) -> dict[str, Any]:
        """The state to persist: that of the admitted charge points, and every one with secrets.

        A disabled charger is not admitted, but its password must survive: it
        would otherwise come back without one (a downgrade to profile 0).

        It runs on the event loop for every charger (the host serializes the
        result there too), so the secrets, a field, are checked before the
        host's admission, a config entry lookup per charger.
        """
        return {
            "version": STORAGE_VERSION,
            "last_transaction_id": self._last_transaction_id,
            "last_reservation_id": self.reservations.last_id,
            "journal_seq": self._journal_seq,
            "charge_points": [
                cp.to_dict()
                for cp in self.charge_points.values()
                if cp.security.has_secrets or self.is_admitted(cp)
            ],
        }

    async def async_save(self) -> None:
        """Write the state now; return once it is durable.

        Saves asked for while a write is running share the next write (group
        commit): the document holds every charger, so at 1000 chargers one
        write costs tens of milliseconds, and a reconnect storm delivers
        hundreds of queued Start/StopTransactions at once. Each caller changed
        the model before asking, so the next write contains its change.
        """
        self._saves_requested += 1
        wanted = self._saves_requested
        async with self._save_lock:
            if self._saves_written >= wanted:
                return  # a write that started after our request covered it
            covered = self._saves_requested
            await self._store.async_save(self.as_dict())
            self._saves_written = covered

    def _schedule_save(self) -> None:
        self._store.schedule_save(self.as_dict)

    # Observers

    def subscribe(
        self, charge_point_id: str, connector_id: int | None, listener: Listener
    ) -> Callable[[], None]:
        """Call ``listener`` when a charge point (connector_id None) or connector changes."""
        key = (charge_point_id, connector_id)
        listeners = self._listeners.setdefault(key, [])
        listeners.append(listener)

        def unsubscribe() -> None:
            listeners.remove(listener)
            if not listeners:
                del self._listeners[key]

        return unsubscribe

    def on_connector_added(
        self, charge_point_id: str, listener: ConnectorListener
    ) -> Callable[[], None]:
        """Call ``listener(charge_point, connector_id)`` for every new connector of a charge point.

        Connector 0 stands for the charge point itself. The listener is first
        told about the connectors already known.
        """
        charge_point = self.charge_point(charge_point_id)
        listeners = self._connector_listeners.setdefault(charge_point_id, [])
        listeners.append(listener)
        for connector_id in sorted(charge_point.connectors):
            listener(charge_point, connector_id)
        return lambda: listeners.remove(listener)

    def subscribe_changes(self, listener: ConnectorListener) -> Callable[[], None]:
        """Call ``listener(charge_point, connector_id)`` whenever any connector changes.

        For the one observer of the whole site (load management); entities
        subscribe to their own charge point or connector instead.
        """
        self._change_listeners.append(listener)
        return lambda: self._change_listeners.remove(listener)

    def subscribe_events(
        self, charge_point_id: str | None, listener: EventListener
    ) -> Callable[[], None]:
        """Call ``listener(event)`` for the events of a charge point (None: of all)."""
        listeners = self._event_listeners.setdefault(charge_point_id, [])
        listeners.append(listener)
        return lambda: listeners.remove(listener)

    def fire_event(self, event: ChargePointEvent) -> None:
        """Tell the event listeners of the charge point and those of all charge points."""
        for key in (event.charge_point_id, None):
            for listener in list(self._event_listeners.get(key, ())):
                listener(event)

    def _notify(self, charge_point_id: str, connector_id: int | None) -> None:
        for listener in list(self._listeners.get((charge_point_id, connector_id), ())):
            listener()

    def _notify_change(self, charge_point: ChargePoint, connector_id: int) -> None:
        for listener in list(self._change_listeners):
            listener(charge_point, connector_id)

    def charge_point_updated(self, charge_point: ChargePoint, *, persist: bool = True) -> None:
        """Tell the charge point's observers, and persist what changed (unless told not to)."""
        self._notify(charge_point.charge_point_id, None)
        if persist:
            self._schedule_save()

    def configuration_read(self, charge_point: ChargePoint, configuration: dict[str, str]) -> None:
        """Keep what a charger's configuration says; its connectors' entities may depend on it."""
        if configuration == charge_point.configuration:
            return
        charge_point.configuration = configuration
        self.connection_changed(charge_point)
        self._schedule_save()

    def connection_changed(self, charge_point: ChargePoint) -> None:
        """Tell every observer of the charge point (availability follows the connection)."""
        self._notify(charge_point.charge_point_id, None)
        for connector_id in list(charge_point.connectors):
            self._notify(charge_point.charge_point_id, connector_id)
        self._notify_change(charge_point, CHARGE_POINT_CONNECTOR_ID)

    def connector_updated(self, charge_point: ChargePoint, connector_id: int) -> None:
        """Tell a connector's observers (connector 0 is the charge point's status)."""
        # A status or the time may have ended its reservation.
        self.reservations.connector_changed(charge_point, connector_id)
        self._notify(charge_point.charge_point_id, connector_id)
        if connector_id == CHARGE_POINT_CONNECTOR_ID:
            self._notify(charge_point.charge_point_id, None)
        self._notify_change(charge_point, connector_id)

    # Model

    def charge_point(self, charge_point_id: str) -> ChargePoint:
        """Return a charge point, creating (and announcing) it on first sight."""
        charge_point = self.charge_points.get(charge_point_id)
        if charge_point is None:
            charge_point = self.charge_points[charge_point_id] = ChargePoint(charge_point_id)
            self.connector(charge_point, CHARGE_POINT_CONNECTOR_ID)
        return charge_point

    def connector(self, charge_point: ChargePoint, connector_id: int) -> Connector:
        """Return a connector, creating (and announcing) it on first sight."""
        connector = charge_point.connectors.get(connector_id)
        if connector is not None:
            return connector
        connector = charge_point.connector(connector_id)
        _LOGGER.debug("%s: new connector %s", charge_point.charge_point_id, connector_id)
        for listener in list(self._connector_listeners.get(charge_point.charge_point_id, ())):
            listener(charge_point, connector_id)
        self._schedule_save()
        return connector

    async def async_forget(self, charge_point_id: str) -> None:
        """Drop a charge point and everything known about it (it was removed)."""
        if self.charge_points.pop(charge_point_id, None) is not None:
            await self.async_save()

    # Decisions

    def is_admitted(self, charge_point: ChargePoint) -> bool:
        """Whether the charge point may use the central system (beyond booting)."""
        return self.admission(charge_point) is RegistrationStatus.accepted

    def authorize(
        self,
        charge_point: ChargePoint,
        id_tag: str,
        purpose: Purpose,
        transaction_id: int | None = None,
    ) -> IdTagInfo:
        """Whether an id tag may charge here (the idTagInfo to answer)."""
        return self.authorizer.id_tag_info(
            charge_point.charge_point_id,
            id_tag,
            now=utcnow(),
            purpose=purpose,
            transaction_id=transaction_id,
        )

    def active_transactions(self) -> Iterator[ActiveTransaction]:
        """The transactions charging now: the current one of each connector.

        Older open transactions of a connector wait for a late
        StopTransaction; they do not keep their tag busy.
        """
        for charge_point in self.charge_points.values():
            for connector in charge_point.connectors.values():
                if (transaction := connector.transaction) is not None:
                    yield ActiveTransaction(
                        charge_point.charge_point_id, transaction.transaction_id, transaction.id_tag
                    )

    def id_tag_presented(
        self,
        charge_point: ChargePoint,
        id_tag: str,
        purpose: Purpose,
        connector_id: int = CHARGE_POINT_CONNECTOR_ID,
    ) -> None:
        """Report a card presented at a charger, once per swipe, with its standing there."""
        if self._seen_recently(charge_point, id_tag):
            return
        info = self.authorize(charge_point, id_tag, purpose)
        self.fire_event(
            ChargePointEvent(
                EventKind.ID_TAG_PRESENTED,
                charge_point.charge_point_id,
                connector_id,
                {"id_tag": id_tag, "status": str(info.status)},
            )
        )

    def security_event(self, charge_point: ChargePoint, event: SecurityEvent) -> None:
        """Report a security event of a charger (SecurityEventNotification)."""
        _LOGGER.log(
            logging.WARNING if event.needs_attention else logging.INFO,
            "%s: security event %s: %s",
            charge_point.charge_point_id,
            event.type,
            event.tech_info or "-",
        )
        self.fire_event(
            ChargePointEvent(
                EventKind.SECURITY_EVENT, charge_point.charge_point_id, data=event.as_event_data()
            )
        )

    def accepts_certificate_request(self, charge_point: ChargePoint, csr: str) -> bool:
        """Whether a charger's CSR will be signed (the SignCertificate answer).

        Only a CSR that can be signed is Accepted: readable, its signature
        verified, naming the charger itself, and someone there to sign it.
        """
        if self.certificate_signer is None:
            _LOGGER.info("%s: no certificate signer for its CSR", charge_point.charge_point_id)
            return False
        try:
            check_csr(csr, charge_point.charge_point_id)
        except CsrError as err:
            _LOGGER.warning("%s: CSR rejected: %s", charge_point.charge_point_id, err)
            return False
        return True

    def certificate_requested(self, charge_point: ChargePoint, csr: str) -> None:
        """The charger knows its CSR was accepted: have it signed."""
        if self.certificate_signer is not None:
            self.certificate_signer.certificate_requested(charge_point.charge_point_id, csr)

    def remote_start_requested(self, charge_point: ChargePoint, id_tag: str) -> None:
        """A remote start names a tag nobody presented: its StartTransaction is no swipe."""
        self._seen_recently(charge_point, id_tag)

    def _seen_recently(self, charge_point: ChargePoint, id_tag: str) -> bool:
        now = time.monotonic()
        if len(self._presented) > 1024:
            self._presented = {
                key: at for key, at in self._presented.items() if now - at < PRESENTATION_WINDOW_S
            }
        key = (charge_point.charge_point_id, id_tag)
        last = self._presented.get(key)
        self._presented[key] = now
        return last is not None and now - last < PRESENTATION_WINDOW_S

    def _next_transaction_id(self) -> int:
        self._last_transaction_id = self._last_transaction_id % MAX_TRANSACTION_ID + 1
        return self._last_transaction_id

    async def start_transaction(
        self,
        charge_point: ChargePoint,
        *,
        connector_id: int,
        id_tag: str,
        meter_start_wh: int,
        started_at: datetime,
        reservation_id: int | None,
    ) -> Transaction:
        """Open a transaction (or return the same one for a repeated request).

        The transaction (and the id counter) is on disk, in the journal,
        before the charger gets its id: after a crash no id repeats and no
        transaction is lost.
        """
        connector = self.connector(charge_point, connector_id)
        for transaction in charge_point.transactions.values():
            # A charger that missed our answer sends the same request again.
            if (
                transaction.connector_id == connector_id
                and transaction.id_tag == id_tag
                and transaction.meter_start_wh == meter_start_wh
                and transaction.started_at == started_at
            ):
                return transaction
        transaction = Transaction(
            transaction_id=self._next_transaction_id(),
            connector_id=connector_id,
            id_tag=id_tag,
            meter_start_wh=meter_start_wh,
            started_at=started_at,
            reservation_id=reservation_id,
            meter_last_wh=float(meter_start_wh),
            tenant=self.authorizer.tenant(id_tag),
            offline=_delivered_late(started_at),
            cost=0.0 if self._price(charge_point) is not None else None,
            answered=False,
        )
        charge_point.transactions[transaction.transaction_id] = transaction
        connector.transaction = transaction
        connector.register.take(float(meter_start_wh), started_at)
        self.reservations.transaction_started(charge_point, transaction)
        _LOGGER.info(
            "%s: transaction %s started on connector %s",
            charge_point.charge_point_id,
            transaction.transaction_id,
            connector_id,
        )
        self.connector_updated(charge_point, connector_id)
        await self._journal(JOURNAL_TRANSACTION_STARTED, charge_point, transaction)
        self.fire_event(
            ChargePointEvent(
                EventKind.TRANSACTION_STARTED,
                charge_point.charge_point_id,
                connector_id,
                {
                    "transaction_id": transaction.transaction_id,
                    "id_tag": id_tag,
                    "tenant": transaction.tenant,
                },
            )
        )
        return transaction

    def transaction_answered(self, charge_point: ChargePoint, connector_id: int) -> None:
        """The charger got its StartTransaction answer (the transaction's id)."""
        connector = charge_point.connectors.get(connector_id)
        if connector is not None and connector.transaction is not None:
            connector.transaction.answered = True
            self.connector_updated(charge_point, connector_id)

    async def stop_transaction(
        self,
        charge_point: ChargePoint,
        *,
        transaction_id: int,
        meter_stop_wh: int,
        stopped_at: datetime,
        reason: str,
        id_tag: str | None,
        samples: list[Sample],
    ) -> Transaction:
        """Close a transaction; an unknown one is recorded from what the charger sent.

        Written to disk before the charger gets its answer: it will not send
        the StopTransaction again.
        """
        transaction = charge_point.transactions.pop(transaction_id, None)
        if transaction is None:
            _LOGGER.warning(
                "%s: StopTransaction for unknown transaction %s",
                charge_point.charge_point_id,
                transaction_id,
            )
            begin = metering.register_in(samples, "Transaction.Begin")
            transaction = Transaction(
                transaction_id=transaction_id,
                connector_id=_sole_outlet(charge_point),
                id_tag=id_tag or "",
                tenant=self.authorizer.tenant(id_tag) if id_tag else None,
                meter_start_wh=int(begin) if begin is not None else meter_stop_wh,
                started_at=min((s.timestamp for s in samples), default=stopped_at),
            )
        current = self.connector(charge_point, transaction.connector_id).transaction is transaction
        # Readings of the transaction data first: they come before the stop.
        self._take_readings(charge_point, transaction, samples, current=current)
        meter_stop_wh = transaction_stop_reading(transaction, meter_stop_wh)
        self._take_readings_at(
            charge_point, transaction, [(stopped_at, float(meter_stop_wh), False)], current=current
        )
        transaction.meter_stop_wh = meter_stop_wh
        transaction.meter_last_wh = float(meter_stop_wh)
        transaction.stopped_at = stopped_at
        transaction.stop_reason = reason
        transaction.stop_id_tag = id_tag
        transaction.transaction_data = samples
        transaction.offline = transaction.offline or _delivered_late(stopped_at)

        connector = self.connector(charge_point, transaction.connector_id)
        if current:
            connector.transaction = None
            connector.power_w = 0.0
            connector.current_a = dict.fromkeys(connector.current_a, 0.0)
        connector.last_transaction = transaction
        if self.ledger is not None:
            intervals = await self.ledger.async_transaction_stopped(
                charge_point.charge_point_id, transaction
            )
            connector.quarter_hours_of(transaction, intervals)
        _LOGGER.info(
            "%s: transaction %s stopped (%s), %.0f Wh",
            charge_point.charge_point_id,
            transaction_id,
            reason,
            transaction.energy_wh,
        )
        self.connector_updated(charge_point, transaction.connector_id)
        await self._journal(JOURNAL_TRANSACTION_STOPPED, charge_point, transaction)
        self.fire_event(
            ChargePointEvent(
                EventKind.TRANSACTION_STOPPED,
                charge_point.charge_point_id,
                transaction.connector_id,
                {
                    "transaction_id": transaction_id,
                    "id_tag": transaction.id_tag,
                    "tenant": transaction.tenant,
                    "energy_kwh": round(transaction.energy_wh / 1000, 3),
                    "reason": reason,
                },
            )
        )
        return transaction

    def meter_values(
        self,
        charge_point: ChargePoint,
        *,
        connector_id: int,
        transaction_id: int | None,
        samples: list[Sample],
    ) -> None:
        """Take in measurements of a connector (connector 0: the main meter)."""
        connector = self.connector(charge_point, connector_id)
        transaction = (
            charge_point.transactions.get(transaction_id) if transaction_id is not None else None
        )
        if transaction is None and connector_id != CHARGE_POINT_CONNECTOR_ID:
            # Many chargers leave the transactionId out of the values they send during it.
            transaction = connector.transaction
        current = transaction is not None and transaction is connector.transaction
        changed = False
        if transaction is not None:
            changed = self._take_readings(charge_point, transaction, samples, current=current)
            self._schedule_save()
        else:
            for at, value, _ in metering.register_readings(samples):
                changed = connector.register.take(value, at) or changed
        if transaction is not None and not current:
            # Late values of an earlier transaction (queued while offline)
            # only move that transaction's own meter.
            return
        if metering.apply_samples(connector, samples) or changed:
            self.connector_updated(charge_point, connector_id)

    def _take_readings(
        self,
        charge_point: ChargePoint,
        transaction: Transaction,
        samples: list[Sample],
        *,
        current: bool,
    ) -> bool:
        """Feed a transaction's register readings to it, its connector and the ledger."""
        readings = []
        for at, value, clock_aligned in metering.register_readings(samples):
            reading = transaction_reading(transaction, value, at)
            if reading is not None:
                readings.append((at, reading, clock_aligned))
        return self._take_readings_at(charge_point, transaction, readings, current=current)

    def _take_readings_at(
        self,
        charge_point: ChargePoint,
        transaction: Transaction,
        readings: list[tuple[datetime, float, bool]],
        *,
        current: bool,
    ) -> bool:
        connector = self.connector(charge_point, transaction.connector_id)
        changed = False
        for at, reading, _ in readings:
            last = transaction.meter_last_wh or float(transaction.meter_start_wh)
            if reading > last:
                self._charge(charge_point, transaction, reading - last)
                transaction.meter_last_wh = reading
                transaction.meter_last_at = at
            if current:
                changed = connector.register.take(reading, at) or changed
        self._add_points(
            charge_point,
            transaction,
            [MeterPoint(at, reading, clock_aligned) for at, reading, clock_aligned in readings],
        )
        return changed

    def _add_points(
        self, charge_point: ChargePoint, transaction: Transaction, points: list[MeterPoint]
    ) -> None:
        if self.ledger is None:
            return
        intervals = self.ledger.add_points(charge_point.charge_point_id, transaction, points)
        self.connector(charge_point, transaction.connector_id).quarter_hours_of(
            transaction, intervals
        )

    def _price(self, charge_point: ChargePoint) -> float | None:
        return None if self.tariff is None else self.tariff(charge_point.charge_point_id)

    def _charge(
        self, charge_point: ChargePoint, transaction: Transaction, energy_wh: float
    ) -> None:
        """Add what more energy costs at today's price (dynamic tariffs change as it flows)."""
        price = self._price(charge_point)
        if price is not None:
            transaction.cost = (transaction.cost or 0.0) + energy_wh / 1000 * price

    # Firmware management (see :mod:`.firmware`)

    def next_request_id(self, charge_point: ChargePoint) -> int:
        """A requestId for a GetLog or SignedUpdateFirmware to this charger."""
        request_id = charge_point.firmware_management.next_request_id()
        self._schedule_save()
        return request_id

    def firmware_requested(
        self, charge_point: ChargePoint, location: str, request_id: int | None = None
    ) -> None:
        """The charger took a firmware update (UpdateFirmware, or SignedUpdateFirmware)."""
        state = charge_point.firmware_management
        state.firmware_file_name = firmware.firmware_file_name(location)
        state.firmware_request_id = request_id

    def firmware_status_reported(
        self,
        charge_point: ChargePoint,
        status: str,
        request_id: int | None = None,
        *,
        signed: bool = False,
    ) -> None:
        """A firmware update's progress, from a (Signed)FirmwareStatusNotification."""
        charge_point.firmware_status = status
        if signed:
            charge_point.firmware_management.firmware_request_id = request_id
        self.fire_event(
            ChargePointEvent(
                EventKind.FIRMWARE_STATUS,
                charge_point.charge_point_id,
                data={
                    "status": status,
                    "request_id": request_id,
                    "signed": signed,
                    "failed": status in firmware.FAILED_STATUSES,
                },
            )
        )

    def firmware_booted(self, charge_point: ChargePoint, firmware_version: str | None) -> None:
        """A boot (before its firmware version is recorded) may end an installation."""
        if firmware.installed_by_boot(
            charge_point.firmware_status, charge_point.firmware_version, firmware_version
        ):
            request_id = charge_point.firmware_management.firmware_request_id
            self.firmware_status_reported(
                charge_point, "Installed", request_id, signed=request_id is not None
            )

    def upload_status_reported(
        self,
        charge_point: ChargePoint,
        purpose: firmware.UploadPurpose,
        status: str,
        request_id: int | None = None,
    ) -> None:
        """An upload's progress, from a DiagnosticsStatusNotification or LogStatusNotification."""
        if purpose is firmware.UploadPurpose.DIAGNOSTICS:
            charge_point.diagnostics_status = status
        else:
            charge_point.firmware_management.log_status = status
            charge_point.firmware_management.log_request_id = request_id
        self.fire_event(
            ChargePointEvent(
                EventKind.UPLOAD_STATUS,
                charge_point.charge_point_id,
                data={
                    "purpose": str(purpose),
                    "status": status,
                    "request_id": request_id,
                    "failed": status in firmware.FAILED_UPLOAD_STATUSES,
                },
            )
        )

    def upload_received(
        self, charge_point: ChargePoint, upload: firmware.Upload
    ) -> list[firmware.Upload]:
        """Record a file the charger uploaded; return older uploads that no longer fit."""
        dropped = charge_point.firmware_management.add_upload(upload)
        self._schedule_save()
        self.fire_event(
            ChargePointEvent(
                EventKind.UPLOAD_RECEIVED,
                charge_point.charge_point_id,
                data={
                    "purpose": str(upload.purpose),
                    "file_name": upload.file_name,
                    "original_name": upload.original_name,
                    "size": upload.size,
                    "request_id": upload.request_id,
                },
            )
        )
        return dropped


def _delivered_late(timestamp: datetime) -> bool:
    return (utcnow() - timestamp).total_seconds() > OFFLINE_AFTER_S


def _sole_outlet(charge_point: ChargePoint) -> int:
    """Best guess of the connector of a transaction we never saw start."""
    outlets = charge_point.outlet_ids
    return outlets[0] if len(outlets) == 1 else CHARGE_POINT_CONNECTOR_ID
