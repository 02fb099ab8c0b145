"""Charge-point-initiated messages beyond the basic session, and sloppy chargers."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from ocpp.exceptions import InternalError, ProtocolError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.csms.central.central_system import CentralSystem
from custom_components.csms.const import DOMAIN
from custom_components.csms.store import HomeAssistantStateStore

from .conftest import register_id_tags, wait_for

START = {"connectorId": 1, "idTag": "TAG1", "meterStart": 1000}


async def test_data_transfer_answers_unknown_vendor(connect: Any) -> None:
    charge_point = await connect()
    answer = await charge_point.call_raw(
        "DataTransfer", {"vendorId": "com.example", "messageId": "x", "data": "{}"}
    )
    assert answer == {"status": "UnknownVendorId"}


async def test_diagnostics_and_firmware_progress_is_recorded(
    server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point = await connect()
    assert (
        await charge_point.call_raw("DiagnosticsStatusNotification", {"status": "Uploaded"}) == {}
    )
    assert await charge_point.call_raw("FirmwareStatusNotification", {"status": "Installing"}) == {}
    model = server_entry.runtime_data.central.charge_points["CP001"]
    assert model.diagnostics_status == "Uploaded"
    assert model.firmware_status == "Installing"


async def test_a_repeated_start_transaction_gets_the_same_id(
    hass: HomeAssistant, connect: Any
) -> None:
    await register_id_tags(hass, "TAG1")
    charge_point = await connect()
    payload = {**START, "timestamp": "2026-11-21T10:00:00Z"}
    first = await charge_point.call_raw("StartTransaction", payload)
    again = await charge_point.call_raw("StartTransaction", payload)
    assert first == again
    assert first["idTagInfo"] == {"status": "Accepted"}


@pytest.mark.parametrize(
    "timestamp", ["2026-11-21T10:00:00", "2026-11-21T11:00:00+01:00", "not a time"]
)
async def test_sloppy_timestamps_never_lose_a_transaction(
    server_entry: MockConfigEntry, connect: Any, timestamp: str
) -> None:
    charge_point = await connect()
    answer = await charge_point.call_raw("StartTransaction", {**START, "timestamp": timestamp})
    transaction_id = answer["transactionId"]
    transaction = server_entry.runtime_data.central.charge_points["CP001"].transactions[
        transaction_id
    ]
    assert transaction.started_at.utcoffset() is not None
    if timestamp != "not a time":
        assert transaction.started_at.isoformat() == "2026-11-21T10:00:00+00:00"
    stop = await charge_point.call_raw(
        "StopTransaction",
        {"transactionId": transaction_id, "meterStop": 1500, "timestamp": timestamp},
    )
    assert stop == {}
    connector = server_entry.runtime_data.central.charge_points["CP001"].connectors[1]
    assert connector.last_transaction is not None
    assert connector.last_transaction.energy_wh == 500


async def test_late_meter_values_of_an_earlier_transaction(
    server_entry: MockConfigEntry, connect: Any
) -> None:
    """A charger back online delivers queued values after a newer transaction started."""
    charge_point = await connect()
    old = await charge_point.call_raw(
        "StartTransaction", {**START, "timestamp": "2026-11-21T08:00:00Z"}
    )
    new = await charge_point.call_raw(
        "StartTransaction",
        {**START, "meterStart": 9000, "timestamp": "2026-11-21T10:00:00Z"},
    )
    await charge_point.call_raw(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": old["transactionId"],
            "meterValue": [
                {
                    "timestamp": "2026-11-21T09:00:00Z",
                    "sampledValue": [{"value": "4000", "unit": "Wh"}],
                }
            ],
        },
    )
    model = server_entry.runtime_data.central.charge_points["CP001"]
    assert model.transactions[old["transactionId"]].energy_wh == 3000
    # The connector shows the running transaction's meter, not the late one.
    assert model.connectors[1].transaction is model.transactions[new["transactionId"]]
    assert model.connectors[1].energy_register_wh == 9000
    stop = await charge_point.call_raw(
        "StopTransaction",
        {
            "transactionId": old["transactionId"],
            "meterStop": 5000,
            "timestamp": "2026-11-21T09:30:00Z",
        },
    )
    assert stop == {}
    # Stopping the old one leaves the running one, and the register, alone.
    assert model.connectors[1].transaction is model.transactions[new["transactionId"]]
    assert model.connectors[1].energy_register_wh == 9000
    assert model.connectors[1].last_transaction is not None
    assert model.connectors[1].last_transaction.energy_wh == 4000


async def test_handler_failure_is_an_internal_error_and_the_connection_stays(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await register_id_tags(hass, "TAG1")
    charge_point = await connect()

    def broken(*_: Any) -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr(CentralSystem, "authorize", broken)
    with pytest.raises(InternalError):
        await charge_point.call_raw("Authorize", {"idTag": "TAG1"})
    monkeypatch.undo()
    assert await charge_point.call_raw("Authorize", {"idTag": "TAG1"}) == {
        "idTagInfo": {"status": "Accepted"}
    }


async def test_removing_the_entry_forgets_its_state(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any, hass_storage: dict
) -> None:
    await connect()
    await hass.config_entries.async_unload(server_entry.entry_id)
    assert f"{DOMAIN}.{server_entry.entry_id}" in hass_storage
    await hass.config_entries.async_remove(server_entry.entry_id)
    await hass.async_block_till_done()
    assert f"{DOMAIN}.{server_entry.entry_id}" not in hass_storage


async def test_stray_answers_are_dropped(server_entry: MockConfigEntry, connect: Any) -> None:
    charge_point = await connect()
    connection = server_entry.runtime_data.server.connections["CP001"]
    # Let the configuration after boot finish first.
    await wait_for(lambda: not connection._call_lock.locked())
    await charge_point.send_raw('[3,"nobody-asked",{}]')
    await charge_point.send_raw('[4,"nobody-asked","GenericError","",{}]')
    assert await charge_point.call_raw("Heartbeat", {})
    assert connection._response_queue.empty()


async def test_unexpected_failure_outside_a_handler_is_an_internal_error(
    connect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    charge_point = await connect()

    def broken(*_: Any) -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr("custom_components.csms.central.connection.validate_call", broken)
    with pytest.raises(InternalError):
        await charge_point.call_raw("Heartbeat", {})
    monkeypatch.undo()
    assert await charge_point.call_raw("Heartbeat", {})


async def test_a_stop_transaction_with_schema_faults_is_still_taken(
    server_entry: MockConfigEntry, connect: Any
) -> None:
    """StopTransaction is never refused: only its essential fields must be readable."""
    charge_point = await connect()
    started = await charge_point.call_raw(
        "StartTransaction",
        {**START, "idTag": "A-TAG-LONGER-THAN-20-CHARS", "timestamp": "2026-11-21T09:00:00Z"},
    )
    # No such tag can be registered; the transaction is recorded all the same.
    assert started["idTagInfo"] == {"status": "Invalid"}
    answer = await charge_point.call_raw(
        "StopTransaction",
        {
            "transactionId": started["transactionId"],
            "meterStop": 2500,
            "timestamp": "2026-11-21T10:00:00Z",
            "reason": "NotAReason",
            "vendorExtra": True,
            "transactionData": [
                {"sampledValue": [{"value": "1000", "context": "Transaction.Begin"}]},
                {
                    "timestamp": "2026-11-21T10:00:00Z",
                    "sampledValue": [{"value": "2500", "context": "Transaction.End"}],
                },
            ],
        },
    )
    assert answer == {}
    finished = server_entry.runtime_data.central.charge_points["CP001"].connectors[1]
    assert finished.last_transaction is not None
    assert finished.last_transaction.energy_wh == 1500
    assert [s.value for s in finished.last_transaction.transaction_data] == [1000.0, 2500.0]
    # Without its essential fields it is refused like any other message.
    with pytest.raises(ProtocolError):
        await charge_point.call_raw("StopTransaction", {"meterStop": 1, "timestamp": "x"})


async def test_transactions_are_on_disk_before_the_charger_gets_its_id(
    server_entry: MockConfigEntry, connect: Any, hass: HomeAssistant
) -> None:
    """A crash right after the answer loses nothing: no unload, no delayed write."""

    async def after_a_crash() -> CentralSystem:
        central = CentralSystem(HomeAssistantStateStore(hass, server_entry.entry_id))
        await central.async_load()
        return central

    charge_point = await connect()
    started = await charge_point.call_raw(
        "StartTransaction", START | {"timestamp": "2026-11-21T10:00:00Z"}
    )
    restored = await after_a_crash()
    assert restored.as_dict()["last_transaction_id"] == started["transactionId"]
    assert list(restored.charge_points[charge_point.id].transactions) == [started["transactionId"]]
    await charge_point.call_raw(
        "StopTransaction",
        {
            "transactionId": started["transactionId"],
            "meterStop": 1200,
            "timestamp": "2026-11-21T11:00:00Z",
        },
    )
    restored = await after_a_crash()
    assert restored.charge_points[charge_point.id].transactions == {}
