"""Energy at real chargers: quirky registers, sessions and the 15-minute ledger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from unittest.mock import patch

from homeassistant.components.sensor import DATA_COMPONENT as SENSORS
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.csms.central.ledger import QUARTER_HOUR, quarter_hour_start
from custom_components.csms.central.ledger_db import LedgerDatabase
from custom_components.csms.central.ledger_keeper import LedgerKeeper
from custom_components.csms.const import DOMAIN
from custom_components.csms.energy_ledger import LEDGER, LEDGER_FILE
from custom_components.csms.hub import async_drop_hub
from simulator import SimulatedChargePoint
from simulator.meter import Meter

from .conftest import server_url
from .test_entities import entity_id, get, state

REGISTER = "Energy.Active.Import.Register"


def iso(moment: datetime) -> str:
    """OCPP timestamp."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def energy_kwh(hass: HomeAssistant, unique_id: str = "CP001_1_energy") -> float:
    """The energy sensor's state."""
    return float(state(hass, "sensor", unique_id))


async def meter_values(
    charge_point: SimulatedChargePoint,
    readings: list[tuple[datetime, float, str]],
    *,
    transaction_id: int | None = None,
    unit: str = "Wh",
    extra: list[dict[str, str]] | None = None,
) -> None:
    """Send energy register readings (time, value, context) as one MeterValues."""
    payload: dict[str, Any] = {
        "connectorId": 1,
        "meterValue": [
            {
                "timestamp": iso(at),
                "sampledValue": [
                    {
                        "value": str(value),
                        "context": context,
                        "measurand": REGISTER,
                        "unit": unit,
                    },
                    *(extra or []),
                ],
            }
            for at, value, context in readings
        ],
    }
    if transaction_id is not None:
        payload["transactionId"] = transaction_id
    await charge_point.call_raw("MeterValues", payload)


async def start(
    charge_point: SimulatedChargePoint, meter_start: int, at: datetime, id_tag: str = "TAG1"
) -> int:
    """A raw StartTransaction on connector 1; return the transaction id."""
    response = await charge_point.call_raw(
        "StartTransaction",
        {"connectorId": 1, "idTag": id_tag, "meterStart": meter_start, "timestamp": iso(at)},
    )
    return int(response["transactionId"])


async def stop(
    charge_point: SimulatedChargePoint,
    transaction_id: int,
    meter_stop: int,
    at: datetime,
    transaction_data: list[dict[str, Any]] | None = None,
) -> None:
    """A raw StopTransaction."""
    payload: dict[str, Any] = {
        "transactionId": transaction_id,
        "meterStop": meter_stop,
        "timestamp": iso(at),
        "reason": "EVDisconnected",
    }
    if transaction_data is not None:
        payload["transactionData"] = transaction_data
    await charge_point.call_raw("StopTransaction", payload)


async def sessions(hass: HomeAssistant, **filters: Any) -> list[dict[str, Any]]:
    """csms.get_sessions over the last 30 days."""
    now = dt_util.utcnow()
    response = await hass.services.async_call(
        DOMAIN,
        "get_sessions",
        {"start": now - timedelta(days=30), "end": now + timedelta(days=1), **filters},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return list(response["sessions"])


async def intervals(hass: HomeAssistant, begin: datetime, end: datetime) -> list[dict[str, Any]]:
    """csms.export_energy_intervals."""
    response = await hass.services.async_call(
        DOMAIN,
        "export_energy_intervals",
        {"start": begin, "end": end},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    assert response["truncated"] is False
    return list(response["intervals"])


# Recorded quirky sequences: what the charger sends, and what the energy
# sensor must show after each message (kWh).


async def test_stray_zero_and_low_readings_are_ignored(hass: HomeAssistant, connect: Any) -> None:
    charge_point = await connect("CP001")
    t0 = dt_util.utcnow() - timedelta(minutes=10)
    transaction_id = await start(charge_point, 1_000_000, t0)
    shown = []
    for minute, value in enumerate((1_000_500, 0, 1_001_000, 12, 1_001_500, 1_000_000, 1_002_000)):
        at = t0 + timedelta(minutes=minute + 1)
        await meter_values(
            charge_point, [(at, value, "Sample.Periodic")], transaction_id=transaction_id
        )
        shown.append(energy_kwh(hass))
    assert shown == [1000.5, 1000.5, 1001.0, 1001.0, 1001.5, 1001.5, 1002.0]
    await stop(charge_point, transaction_id, 1_002_100, t0 + timedelta(minutes=9))
    await hass.async_block_till_done()
    assert energy_kwh(hass) == 1002.1
    (session,) = await sessions(hass)
    assert session["energy_wh"] == 2100


async def test_session_relative_meter_values_with_lifetime_start_and_stop(
    hass: HomeAssistant, connect: Any
) -> None:
    """A charger whose MeterValues count from the session start."""
    charge_point = await connect("CP001")
    t0 = dt_util.utcnow() - timedelta(minutes=10)
    transaction_id = await start(charge_point, 5_000_000, t0)
    shown = []
    for minute, value in enumerate((0, 150, 300, 450)):
        at = t0 + timedelta(minutes=minute + 1)
        await meter_values(
            charge_point, [(at, value, "Sample.Periodic")], transaction_id=transaction_id
        )
        shown.append(energy_kwh(hass))
    assert shown == [5000.0, 5000.15, 5000.3, 5000.45]
    assert state(hass, "sensor", "CP001_1_session_energy") == "0.45"
    await stop(charge_point, transaction_id, 5_000_600, t0 + timedelta(minutes=6))
    await hass.async_block_till_done()
    assert energy_kwh(hass) == 5000.6
    (session,) = await sessions(hass)
    assert session["energy_wh"] == 600


async def test_kwh_values_labelled_wh_and_kwh_units(hass: HomeAssistant, connect: Any) -> None:
    charge_point = await connect("CP001")
    t0 = dt_util.utcnow() - timedelta(minutes=10)
    transaction_id = await start(charge_point, 12_345, t0)
    await meter_values(
        charge_point, [(t0 + timedelta(minutes=1), 12.5, "Sample.Periodic")], unit="kWh"
    )
    assert energy_kwh(hass) == 12.5
    # The same charger after a firmware update: kWh figures, still labelled Wh.
    await meter_values(charge_point, [(t0 + timedelta(minutes=2), 12.75, "Sample.Periodic")])
    assert energy_kwh(hass) == 12.75
    await stop(charge_point, transaction_id, 13_000, t0 + timedelta(minutes=3))
    await hass.async_block_till_done()
    assert energy_kwh(hass) == 13.0
    (session,) = await sessions(hass)
    assert session["energy_wh"] == 655


async def test_values_only_in_stop_transaction_with_begin_and_end(
    hass: HomeAssistant, connect: Any
) -> None:
    charge_point = await connect("CP001")
    t0 = quarter_hour_start(dt_util.utcnow()) - timedelta(hours=2)
    transaction_id = await start(charge_point, 20_000, t0 + timedelta(minutes=5))
    data = [
        {
            "timestamp": iso(t0 + timedelta(minutes=5)),
            "sampledValue": [{"value": "20000", "context": "Transaction.Begin"}],
        },
        {
            "timestamp": iso(t0 + timedelta(minutes=15)),
            "sampledValue": [{"value": "21000", "context": "Sample.Clock"}],
        },
        {
            "timestamp": iso(t0 + timedelta(minutes=25)),
            "sampledValue": [{"value": "22500", "context": "Transaction.End"}],
        },
    ]
    await stop(charge_point, transaction_id, 22_500, t0 + timedelta(minutes=25), data)
    await hass.async_block_till_done()
    assert energy_kwh(hass) == 22.5
    ledger = await intervals(hass, t0, t0 + timedelta(hours=1))
    assert [(item["start"], item["energy_wh"], item["estimated"]) for item in ledger] == [
        (iso(t0), 1000, False),
        (iso(t0 + QUARTER_HOUR), 1500, False),
    ]


async def test_genuine_meter_reset_continues_the_total(hass: HomeAssistant, connect: Any) -> None:
    """The meter starts over at 0 and counts again: the sensor carries on."""
    charge_point = await connect("CP001")
    t0 = dt_util.utcnow() - timedelta(minutes=30)
    await meter_values(charge_point, [(t0, 80_000, "Sample.Clock")])
    assert energy_kwh(hass) == 80.0
    shown = []
    for minute, value in enumerate((0, 0, 100, 400, 900)):
        at = t0 + timedelta(minutes=minute + 1)
        await meter_values(charge_point, [(at, value, "Sample.Clock")])
        shown.append(energy_kwh(hass))
    # Two zeros prove nothing; rising readings below the old register do.
    assert shown == [80.0, 80.0, 80.1, 80.4, 80.9]


async def test_replaced_meter_counts_on_from_the_old_total(
    hass: HomeAssistant, connect: Any
) -> None:
    charge_point = await connect("CP001")
    t0 = dt_util.utcnow() - timedelta(minutes=30)
    await meter_values(charge_point, [(t0, 900_000, "Sample.Clock")])
    await charge_point.call_raw(
        "BootNotification",
        {
            "chargePointVendor": "Sim",
            "chargePointModel": "One",
            "meterSerialNumber": "NEW-METER",
        },
    )
    # The first boot named no meter: a serial number now is no replacement yet.
    await meter_values(charge_point, [(t0 + timedelta(minutes=1), 500_000, "Sample.Clock")])
    assert energy_kwh(hass) == 900.0
    await charge_point.call_raw(
        "BootNotification",
        {
            "chargePointVendor": "Sim",
            "chargePointModel": "One",
            "meterSerialNumber": "NEWER-METER",
        },
    )
    await meter_values(charge_point, [(t0 + timedelta(minutes=2), 500_000, "Sample.Clock")])
    await meter_values(charge_point, [(t0 + timedelta(minutes=3), 500_250, "Sample.Clock")])
    assert energy_kwh(hass) == 900.25


# The 15-minute ledger against the charger's own meter log.


@dataclass
class MeterLog:
    """A charging session as the charger's meter saw it, minute by minute."""

    started_at: datetime
    readings: list[tuple[datetime, int, str]] = field(default_factory=list)

    @classmethod
    def charge(cls, started_at: datetime, minutes: int, meter: Meter) -> MeterLog:
        """Charge with a power that changes every few minutes; clock readings at quarter hours."""
        log = cls(started_at)
        log.readings.append((started_at, meter.register_wh, "Transaction.Begin"))
        for minute in range(1, minutes + 1):
            meter.advance(60, power_w=(3000, 7400, 11000, 0, 4600)[minute // 7 % 5])
            at = started_at + timedelta(minutes=minute)
            context = "Sample.Clock" if at == quarter_hour_start(at) else "Sample.Periodic"
            log.readings.append((at, meter.register_wh, context))
        return log

    @property
    def meter_start(self) -> int:
        """The register at the start."""
        return self.readings[0][1]

    @property
    def meter_stop(self) -> int:
        """The register at the end."""
        return self.readings[-1][1]

    @property
    def stopped_at(self) -> datetime:
        """The end."""
        return self.readings[-1][0]

    def during(self) -> Iterator[tuple[datetime, int, str]]:
        """The readings sent as MeterValues (not the begin and the end)."""
        return iter(self.readings[1:-1])

    def expected_intervals(self) -> dict[datetime, int]:
        """Energy per quarter hour: register differences at the clock-aligned readings."""
        marks = [(self.started_at, self.meter_start)]
        marks += [(at, wh) for at, wh, context in self.readings if context == "Sample.Clock"]
        marks.append((self.stopped_at, self.meter_stop))
        expected: dict[datetime, int] = {}
        for (at, wh), (_, next_wh) in pairwise(marks):
            if next_wh > wh:
                expected[quarter_hour_start(at)] = next_wh - wh
        return expected


async def send_session(
    charge_point: SimulatedChargePoint, log: MeterLog, readings: list[tuple[datetime, int, str]]
) -> int:
    """Start, send some readings, return the transaction id."""
    transaction_id = await start(charge_point, log.meter_start, log.started_at)
    for at, value, context in readings:
        await meter_values(charge_point, [(at, value, context)], transaction_id=transaction_id)
    return transaction_id


def ledger_of(items: list[dict[str, Any]], transaction_id: int) -> dict[datetime, int]:
    """A transaction's quarter hours from the export."""
    return {
        datetime.fromisoformat(item["start"]): item["energy_wh"]
        for item in items
        if item["transaction_id"] == transaction_id
    }


async def test_ledger_matches_the_meter_log_to_the_wh(hass: HomeAssistant, connect: Any) -> None:
    charge_point = await connect("CP001")
    started_at = quarter_hour_start(dt_util.utcnow()) - timedelta(hours=3) + timedelta(minutes=7)
    log = MeterLog.charge(started_at, 140, Meter(energy_wh=3_456_789))
    transaction_id = await send_session(charge_point, log, list(log.during()))
    await stop(charge_point, transaction_id, log.meter_stop, log.stopped_at)
    await hass.async_block_till_done()

    items = await intervals(hass, started_at - timedelta(hours=1), dt_util.utcnow())
    assert ledger_of(items, transaction_id) == log.expected_intervals()
    assert sum(ledger_of(items, transaction_id).values()) == log.meter_stop - log.meter_start
    assert not any(item["estimated"] for item in items)
    assert {item["id_tag"] for item in items} == {"TAG1"}
    (session,) = await sessions(hass)
    assert session["energy_wh"] == log.meter_stop - log.meter_start
    assert session["offline"] is True  # sent hours after it happened


async def restart_integration(hass: HomeAssistant, server_entry: MockConfigEntry) -> None:
    """What a Home Assistant restart leaves: the files, and nothing in memory."""
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.entry_id != server_entry.entry_id:
            assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_unload(server_entry.entry_id)
    keeper = hass.data[LEDGER]
    await keeper.async_flush()
    await keeper.database.async_close()
    async_drop_hub(hass, server_entry.entry_id)

    database = LedgerDatabase(hass.config.path(LEDGER_FILE))
    await database.async_open()
    hass.data[LEDGER] = LedgerKeeper(database)
    await hass.data[LEDGER].async_load()
    assert await hass.config_entries.async_setup(server_entry.entry_id)
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.entry_id != server_entry.entry_id:
            assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_ledger_of_a_session_spanning_a_restart(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point = await connect("CP001")
    started_at = quarter_hour_start(dt_util.utcnow()) - timedelta(hours=3) + timedelta(minutes=3)
    log = MeterLog.charge(started_at, 100, Meter(energy_wh=1_000))
    readings = list(log.during())
    transaction_id = await send_session(charge_point, log, readings[:40])
    await hass.async_block_till_done()

    await restart_integration(hass, server_entry)
    await charge_point.wait_closed()
    await charge_point.connect(server_url(server_entry))
    # What the charger queued while Home Assistant was down.
    for at, value, context in readings[40:]:
        await meter_values(charge_point, [(at, value, context)], transaction_id=transaction_id)
    await stop(charge_point, transaction_id, log.meter_stop, log.stopped_at)
    await hass.async_block_till_done()

    items = await intervals(hass, started_at - QUARTER_HOUR, dt_util.utcnow())
    assert ledger_of(items, transaction_id) == log.expected_intervals()
    assert energy_kwh(hass) == log.meter_stop / 1000


async def test_ledger_of_a_session_recorded_offline(hass: HomeAssistant, connect: Any) -> None:
    """Everything arrives at once, a day late; periodic readings only (interpolated)."""
    charge_point = await connect("CP001")
    started_at = quarter_hour_start(dt_util.utcnow()) - timedelta(days=1, minutes=-4)
    log = MeterLog.charge(started_at, 50, Meter(energy_wh=7_777))
    periodic = [reading for reading in log.during() if reading[2] == "Sample.Periodic"]
    transaction_id = await send_session(charge_point, log, periodic[::5])
    await stop(charge_point, transaction_id, log.meter_stop, log.stopped_at)
    await hass.async_block_till_done()

    items = await intervals(hass, started_at - QUARTER_HOUR, dt_util.utcnow())
    ledger = ledger_of(items, transaction_id)
    assert sum(ledger.values()) == log.meter_stop - log.meter_start
    assert set(ledger) <= set(log.expected_intervals())
    # Every quarter-hour boundary was interpolated between readings.
    assert all(item["estimated"] for item in items)
    (session,) = await sessions(hass)
    assert session["offline"] is True


async def test_live_session_sensors_and_last_quarter_hour(
    hass: HomeAssistant, connect: Any, enable_all: None
) -> None:
    charge_point = await connect("CP001")
    now = dt_util.utcnow()
    previous_quarter = quarter_hour_start(now) - QUARTER_HOUR
    transaction_id = await start(charge_point, 100_000, previous_quarter - timedelta(minutes=1))
    await meter_values(
        charge_point,
        [
            (previous_quarter, 100_200, "Sample.Clock"),
            (previous_quarter + QUARTER_HOUR, 101_700, "Sample.Clock"),
        ],
        transaction_id=transaction_id,
    )
    await hass.async_block_till_done()
    assert state(hass, "sensor", "CP001_1_last_quarter_hour_energy") == "1.5"
    session_energy = get(hass, "sensor", "CP001_1_session_energy")
    assert session_energy.state == "1.7"
    assert session_energy.attributes["state_class"] == "total"
    # Running sessions are no session records yet.
    assert (await sessions(hass)) == []


async def test_the_quarter_hour_turning_is_not_taken_for_the_value_before(
    hass: HomeAssistant, connect: Any, enable_all: None
) -> None:
    # Steady charging: two quarter hours with the same energy. The timer
    # writes the new quarter's partial value first; the clock-aligned reading
    # that completes it must still be written, though it equals the value
    # shown before the timer.
    charge_point = await connect("CP001")
    base = quarter_hour_start(dt_util.utcnow()) - 2 * QUARTER_HOUR
    sensor_id = entity_id(hass, "sensor", "CP001_1_last_quarter_hour_energy")
    sensor = hass.data[SENSORS].get_entity(sensor_id)
    assert sensor is not None
    with patch(
        "homeassistant.util.dt.utcnow", return_value=base + QUARTER_HOUR + timedelta(minutes=1)
    ):
        transaction_id = await start(charge_point, 100_000, base - timedelta(minutes=1))
        await meter_values(
            charge_point,
            [(base, 100_200, "Sample.Clock"), (base + QUARTER_HOUR, 101_700, "Sample.Clock")],
            transaction_id=transaction_id,
        )
        await hass.async_block_till_done()
        assert state(hass, "sensor", "CP001_1_last_quarter_hour_energy") == "1.5"

    turned = base + 2 * QUARTER_HOUR
    with patch("homeassistant.util.dt.utcnow", return_value=turned):
        sensor._quarter_hour_passed(turned)
        assert state(hass, "sensor", "CP001_1_last_quarter_hour_energy") == "0.0"
        await meter_values(
            charge_point, [(turned, 103_200, "Sample.Clock")], transaction_id=transaction_id
        )
        await hass.async_block_till_done()
        assert state(hass, "sensor", "CP001_1_last_quarter_hour_energy") == "1.5"
