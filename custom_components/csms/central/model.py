"""Plain data model of charge points, connectors and transactions.

The protocol layer mutates these objects; the host (Home Assistant) only reads
them. Everything that must survive a restart has a ``to_dict``/``from_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .audit import MessageLog
from .commissioning import supports_profile
from .credentials import ChargePointSecurity
from .firmware import FirmwareManagementState
from .ledger import Interval
from .local_list import LocalListState
from .register import EnergyRegister
from .reservations import Reservation
from .smart_charging import ChargingCapabilities

# OCPP uses connector 0 for the charge point as a whole.
CHARGE_POINT_CONNECTOR_ID = 0
# How many quarter hours of energy a connector keeps at hand.
RECENT_QUARTER_HOURS = 4


@dataclass(frozen=True, slots=True)
class Sample:
    """One sampled value, converted to its base unit (Wh, W, A, V, %, degC)."""

    timestamp: datetime
    measurand: str
    value: float
    unit: str
    context: str
    phase: str | None
    location: str | None


@dataclass(slots=True)
class Transaction:
    """A charging transaction, open or finished."""

    transaction_id: int
    connector_id: int
    id_tag: str
    meter_start_wh: int
    started_at: datetime
    reservation_id: int | None = None
    # Latest energy register (Wh) seen during the transaction, and when.
    meter_last_wh: float | None = None
    meter_last_at: datetime | None = None
    meter_stop_wh: int | None = None
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    stop_id_tag: str | None = None
    # Who is billed: the tenant of the id tag when the transaction started.
    tenant: str | None = None
    # The charger's meter values count from the session start (its
    # StartTransaction and StopTransaction carry the lifetime register).
    relative: bool = False
    relative_hint_wh: float | None = None
    # Started or stopped while the charger was offline (delivered late).
    offline: bool = False
    # What the energy cost, when a price is set.
    cost: float | None = None
    # The charger has its transaction id: only then may a TxProfile name it.
    answered: bool = True
    # The meter values the charger sent with its StopTransaction.
    transaction_data: list[Sample] = field(default_factory=list)

    @property
    def energy_wh(self) -> float:
        """Energy delivered so far (or in total once stopped)."""
        end = self.meter_stop_wh if self.meter_stop_wh is not None else self.meter_last_wh
        if end is None:
            return 0.0
        return max(0.0, end - self.meter_start_wh)

    def to_dict(self) -> dict[str, Any]:
        """Serialize for storage."""
        return {
            "transaction_id": self.transaction_id,
            "connector_id": self.connector_id,
            "id_tag": self.id_tag,
            "meter_start_wh": self.meter_start_wh,
            "started_at": self.started_at.isoformat(),
            "reservation_id": self.reservation_id,
            "meter_last_wh": self.meter_last_wh,
            "meter_stop_wh": self.meter_stop_wh,
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "stop_reason": self.stop_reason,
            "stop_id_tag": self.stop_id_tag,
            "tenant": self.tenant,
            "relative": self.relative,
            "offline": self.offline,
            "cost": self.cost,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transaction:
        """Restore from storage."""
        stopped_at = data.get("stopped_at")
        return cls(
            transaction_id=data["transaction_id"],
            connector_id=data["connector_id"],
            id_tag=data["id_tag"],
            meter_start_wh=data["meter_start_wh"],
            started_at=datetime.fromisoformat(data["started_at"]),
            reservation_id=data.get("reservation_id"),
            meter_last_wh=data.get("meter_last_wh"),
            meter_stop_wh=data.get("meter_stop_wh"),
            stopped_at=datetime.fromisoformat(stopped_at) if stopped_at else None,
            stop_reason=data.get("stop_reason"),
            stop_id_tag=data.get("stop_id_tag"),
            tenant=data.get("tenant"),
            relative=bool(data.get("relative")),
            offline=bool(data.get("offline")),
            cost=data.get("cost"),
        )


@dataclass(slots=True)
class Connector:
    """A connector, or (id 0) the charge point as a whole."""

    connector_id: int
    status: str | None = None
    error_code: str | None = None
    info: str | None = None
    vendor_id: str | None = None
    vendor_error_code: str | None = None
    status_at: datetime | None = None
    # Latest measurements, in base units (Wh, W, A, V, %, degrees Celsius).
    register: EnergyRegister = field(default_factory=EnergyRegister)
    power_w: float | None = None
    current_a: dict[str, float] = field(default_factory=dict)
    voltage_v: dict[str, float] = field(default_factory=dict)
    soc_percent: float | None = None
    temperature_c: float | None = None
    measured_at: datetime | None = None
    # The transaction running now, and the one that ran before it.
    transaction: Transaction | None = None
    last_transaction: Transaction | None = None
    # Energy (Wh) per recent quarter hour (UTC start) and transaction id.
    quarter_hours: dict[datetime, dict[int, int]] = field(default_factory=dict)
    # Charging limits (A per phase) the charger accepted: the user's own
    # (connector 0: the charge point's), and load management's share of the
    # site for the running transaction and its fallback for any session.
    limit_a: float | None = None
    allocated_a: float | None = None
    failsafe_a: float | None = None
    # The share before the last change, and when it changed.
    allocated_before_a: float | None = None
    allocated_at: datetime | None = None
    # The charging profiles csms manages here, as the charger accepted them,
    # by purpose: an identical profile is never sent twice.
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The reservation the charger accepted for it (connector 0: for the
    # charge point as a whole).
    reservation: Reservation | None = None

    def quarter_hours_of(self, transaction: Transaction, intervals: list[Interval]) -> None:
        """Remember a transaction's energy in the latest quarter hours."""
        for interval in intervals[-RECENT_QUARTER_HOURS:]:
            self.quarter_hours.setdefault(interval.start, {})[transaction.transaction_id] = (
                interval.energy_wh
            )
        for start in sorted(self.quarter_hours)[:-RECENT_QUARTER_HOURS]:
            del self.quarter_hours[start]

    def quarter_hour_energy_wh(self, start: datetime) -> int:
        """The energy delivered in a quarter hour (0 when nothing is known)."""
        return sum(self.quarter_hours.get(start, {}).values())

    @property
    def energy_register_wh(self) -> float | None:
        """The continued energy register (never backwards, carried over meter resets)."""
        return self.register.total_wh

    @property
    def session(self) -> Transaction | None:
        """The running transaction, else the one that ran last."""
        return self.transaction or self.last_transaction

    def to_dict(self) -> dict[str, Any]:
        """Serialize what must survive a restart.

        The latest measurements are kept too: which ones a charger reports
        decides which entities it has. The document may wait for the write
        of an earlier one while the model goes on changing: dicts that are
        only ever replaced (``current_a``, ``voltage_v``, a charge point's
        configuration) are shared, ``profiles``, changed in place, is copied.
        """
        last = self.last_transaction
        return {
            "connector_id": self.connector_id,
            "status": self.status,
            "error_code": self.error_code,
            "register": self.register.to_dict(),
            "current_a": self.current_a,
            "voltage_v": self.voltage_v,
            "soc_percent": self.soc_percent,
            "temperature_c": self.temperature_c,
            "last_transaction": last.to_dict() if last else None,
            "limit_a": self.limit_a,
            "failsafe_a": self.failsafe_a,
            "profiles": dict(self.profiles),
            "reservation": self.reservation.to_dict() if self.reservation else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Connector:
        """Restore from storage."""
        last = data.get("last_transaction")
        reservation = data.get("reservation")
        register = data.get("register")
        if register is None:
            # Stored by 0.2 and earlier: the plain register.
            register = {"reading_wh": data.get("energy_register_wh")}
        return cls(
            connector_id=data["connector_id"],
            status=data.get("status"),
            error_code=data.get("error_code"),
            register=EnergyRegister.from_dict(register),
            current_a=data.get("current_a") or {},
            voltage_v=data.get("voltage_v") or {},
            soc_percent=data.get("soc_percent"),
            temperature_c=data.get("temperature_c"),
            last_transaction=Transaction.from_dict(last) if last else None,
            limit_a=data.get("limit_a"),
            failsafe_a=data.get("failsafe_a"),
            profiles=data.get("profiles") or {},
            reservation=Reservation.from_dict(reservation) if reservation else None,
        )


@dataclass(slots=True)
class ChargePoint:
    """A charge point as known to the central system."""

    charge_point_id: str
    vendor: str | None = None
    model: str | None = None
    serial_number: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial_number: str | None = None
    connected: bool = False
    # The answer to its last BootNotification (Accepted, Pending, Rejected).
    registration_status: str | None = None
    booted_at: datetime | None = None
    last_seen: datetime | None = None
    last_heartbeat_at: datetime | None = None
    # How far the charger's clock is off (seconds), when it is noticeably off.
    clock_skew_s: float | None = None
    # Configuration keys read from the charger (GetConfiguration).
    configuration: dict[str, str] = field(default_factory=dict)
    local_list: LocalListState = field(default_factory=LocalListState)
    diagnostics_status: str | None = None
    firmware_status: str | None = None
    # Firmware requests, log status and uploads (see .firmware).
    firmware_management: FirmwareManagementState = field(default_factory=FirmwareManagementState)
    # Its passwords (salted hashes) and the lowest security profile it may use.
    security: ChargePointSecurity = field(default_factory=ChargePointSecurity)
    connectors: dict[int, Connector] = field(default_factory=dict)
    # Open transactions by id. A charger that was offline may deliver a
    # transaction's StopTransaction after a newer one has started on the same
    # connector, so open transactions are not kept per connector alone.
    transactions: dict[int, Transaction] = field(default_factory=dict)
    message_log: MessageLog = field(default_factory=MessageLog, repr=False, compare=False)

    @property
    def supports_local_list(self) -> bool:
        """Whether the charger reported the LocalAuthListManagement feature profile."""
        return supports_profile(self.configuration, "LocalAuthListManagement")

    @property
    def charging_capabilities(self) -> ChargingCapabilities:
        """What charging profiles the charger takes, from its configuration."""
        return ChargingCapabilities.from_configuration(self.configuration)

    @property
    def outlet_ids(self) -> list[int]:
        """The ids of the real connectors (without connector 0), sorted."""
        return sorted(cid for cid in self.connectors if cid != CHARGE_POINT_CONNECTOR_ID)

    @property
    def announced_outlet_ids(self) -> list[int]:
        """The connectors it reported, and those NumberOfConnectors announces (at most 99)."""
        outlets = set(self.outlet_ids)
        count = self.configuration.get("NumberOfConnectors", "")
        if count.isdecimal():
            outlets.update(range(1, min(int(count), 99) + 1))
        return sorted(outlets)

    def meter_reported(self, serial_number: str | None) -> None:
        """Note the meter a BootNotification names; another one counts anew."""
        if serial_number and self.meter_serial_number and serial_number != self.meter_serial_number:
            for connector in self.connectors.values():
                connector.register.replaced = True
        self.meter_serial_number = serial_number or self.meter_serial_number

    def connector(self, connector_id: int) -> Connector:
        """Return a connector, creating it on first sight."""
        connector = self.connectors.get(connector_id)
        if connector is None:
            connector = self.connectors[connector_id] = Connector(connector_id)
        return connector

    def to_dict(self) -> dict[str, Any]:
        """Serialize what must survive a restart."""
        return {
            "charge_point_id": self.charge_point_id,
            "vendor": self.vendor,
            "model": self.model,
            "serial_number": self.serial_number,
            "firmware_version": self.firmware_version,
            "meter_serial_number": self.meter_serial_number,
            "configuration": self.configuration,
            "local_list": self.local_list.to_dict(),
            "security": self.security.to_dict(),
            "firmware_management": self.firmware_management.to_dict(),
            "connectors": [c.to_dict() for c in self.connectors.values()],
            "transactions": [t.to_dict() for t in self.transactions.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChargePoint:
        """Restore from storage."""
        charge_point = cls(
            charge_point_id=data["charge_point_id"],
            vendor=data.get("vendor"),
            model=data.get("model"),
            serial_number=data.get("serial_number"),
            firmware_version=data.get("firmware_version"),
            meter_serial_number=data.get("meter_serial_number"),
            configuration=data.get("configuration") or {},
            local_list=LocalListState.from_dict(data.get("local_list") or {}),
            security=ChargePointSecurity.from_dict(data.get("security") or {}),
            firmware_management=FirmwareManagementState.from_dict(
                data.get("firmware_management") or {}
            ),
        )
        for connector_data in data.get("connectors", []):
            connector = Connector.from_dict(connector_data)
            charge_point.connectors[connector.connector_id] = connector
        for transaction_data in data.get("transactions", []):
            transaction = Transaction.from_dict(transaction_data)
            charge_point.transactions[transaction.transaction_id] = transaction
            connector = charge_point.connector(transaction.connector_id)
            current = connector.transaction
            if current is None or current.started_at <= transaction.started_at:
                connector.transaction = transaction
        return charge_point
