"""Services: every CSMS-initiated OCPP 1.6 operation, end to end with simulated chargers."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant, ServiceResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.csms.const import DOMAIN
from custom_components.csms.runtime import CsmsRuntimeData
from simulator import SimulatedChargePoint

from .conftest import add_charge_point, entry_id_of, server_url, wait_for

SERVICES = (
    "remote_start_transaction",
    "remote_stop_transaction",
    "reset",
    "unlock_connector",
    "change_availability",
    "change_configuration",
    "get_configuration",
    "clear_cache",
    "data_transfer",
    "trigger_message",
    "get_message_log",
    "get_local_list_version",
    "send_local_list",
    "set_charging_profile",
    "clear_charging_profile",
    "get_composite_schedule",
    "reserve_now",
    "cancel_reservation",
    "update_firmware",
    "signed_update_firmware",
    "get_diagnostics",
    "get_log",
    "list_uploads",
    "extended_trigger_message",
    "install_certificate",
    "delete_certificate",
    "get_installed_certificate_ids",
    "certificate_signed",
    "set_charger_password",
)
# Services about id tags, not about one charger.
ID_TAG_SERVICES = ("add_tag", "update_tag", "remove_tag", "list_tags")
LEDGER_SERVICES = ("get_sessions", "export_energy_intervals")


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], context: Context | None = None
) -> ServiceResponse:
    """Call a csms service and return its response data."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True, context=context
    )


def runtime(hass: HomeAssistant, charge_point_id: str) -> CsmsRuntimeData:
    """The runtime data of a charger's entry."""
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, charge_point_id)
    assert entry is not None
    data: CsmsRuntimeData = entry.runtime_data
    return data


async def settled(hass: HomeAssistant, charge_point_id: str) -> None:
    """Wait until the charger is configured after boot, its local list included."""
    charge_point = runtime(hass, charge_point_id).charge_point
    await wait_for(lambda: charge_point.local_list.synced_at is not None)
    await hass.async_block_till_done()


async def received(charge_point: SimulatedChargePoint, action: str, payload: Any) -> None:
    """Wait until the charger received ``action`` with exactly this (camelCase) payload."""
    await wait_for(lambda: (action, payload) in charge_point.calls_received)


def device_id(hass: HomeAssistant, charge_point_id: str, connector_id: int | None = None) -> str:
    """The registry id of a charger's device, or of one of its connector devices."""
    registry = dr.async_get(hass)
    entry_id = entry_id_of(hass, charge_point_id)
    device = (
        registry.async_get_device_by_identifier((DOMAIN, charge_point_id), entry_id)
        if connector_id is None
        else registry.async_get_child_device_by_identifier(
            (DOMAIN, f"{charge_point_id}_connector_{connector_id}"), entry_id
        )
    )
    assert device is not None
    return device.id


@pytest.fixture
async def charger(hass: HomeAssistant, connect: Any) -> SimulatedChargePoint:
    """A connected one-connector charger, configured after its boot."""
    charge_point: SimulatedChargePoint = await connect("CP001")
    await settled(hass, "CP001")
    await charge_point.wait_for_call("GetConfiguration")
    return charge_point


@pytest.fixture
async def twin(hass: HomeAssistant, connect: Any) -> SimulatedChargePoint:
    """A connected two-connector charger (its connectors have devices of their own)."""
    charge_point: SimulatedChargePoint = await connect("CP002", connectors=2)
    await settled(hass, "CP002")
    await charge_point.wait_for_call("GetConfiguration")
    return charge_point


async def test_services_exist_before_any_entry(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    for service in SERVICES:
        assert hass.services.has_service(DOMAIN, service), service

    for service in ID_TAG_SERVICES:
        assert hass.services.has_service(DOMAIN, service), service
    descriptions = (await async_get_all_descriptions(hass))[DOMAIN]
    for service in LEDGER_SERVICES:
        assert hass.services.has_service(DOMAIN, service), service
    assert set(descriptions) == {*SERVICES, *ID_TAG_SERVICES, *LEDGER_SERVICES}
    for service in SERVICES:
        description = descriptions[service]
        device_field = description["fields"]["device_id"]
        assert device_field["selector"]["device"]["integration"] == DOMAIN, service


@pytest.mark.parametrize(
    ("service", "data", "action", "payload", "response"),
    [
        (
            "reset",
            {"type": "Soft"},
            "Reset",
            {"type": "Soft"},
            {"status": "Accepted"},
        ),
        (
            "unlock_connector",
            {"connector_id": 1},
            "UnlockConnector",
            {"connectorId": 1},
            {"status": "Unlocked"},
        ),
        (
            "unlock_connector",
            # The charger's only connector is meant.
            {},
            "UnlockConnector",
            {"connectorId": 1},
            {"status": "Unlocked"},
        ),
        (
            "change_availability",
            {"type": "Inoperative"},
            "ChangeAvailability",
            {"connectorId": 0, "type": "Inoperative"},
            {"status": "Accepted"},
        ),
        (
            "change_availability",
            {"connector_id": 1, "type": "Operative"},
            "ChangeAvailability",
            {"connectorId": 1, "type": "Operative"},
            {"status": "Accepted"},
        ),
        (
            "change_configuration",
            {"key": "HeartbeatInterval", "value": 120},
            "ChangeConfiguration",
            {"key": "HeartbeatInterval", "value": "120"},
            {"status": "Accepted"},
        ),
        (
            "change_configuration",
            {"key": "AuthorizeRemoteTxRequests", "value": True},
            "ChangeConfiguration",
            {"key": "AuthorizeRemoteTxRequests", "value": "true"},
            {"status": "Accepted"},
        ),
        (
            # Refusals are answers, returned like any other.
            "change_configuration",
            {"key": "NumberOfConnectors", "value": "3"},
            "ChangeConfiguration",
            {"key": "NumberOfConnectors", "value": "3"},
            {"status": "Rejected"},
        ),
        (
            "change_configuration",
            {"key": "NoSuchKey", "value": ""},
            "ChangeConfiguration",
            {"key": "NoSuchKey", "value": ""},
            {"status": "NotSupported"},
        ),
        (
            "get_configuration",
            {"key": ["HeartbeatInterval", "NoSuchKey"]},
            "GetConfiguration",
            {"key": ["HeartbeatInterval", "NoSuchKey"]},
            {
                "configuration_key": [
                    {"key": "HeartbeatInterval", "readonly": False, "value": "300"}
                ],
                "unknown_key": ["NoSuchKey"],
            },
        ),
        (
            "get_configuration",
            {"key": "NumberOfConnectors"},
            "GetConfiguration",
            {"key": ["NumberOfConnectors"]},
            {"configuration_key": [{"key": "NumberOfConnectors", "readonly": True, "value": "1"}]},
        ),
        (
            "clear_cache",
            {},
            "ClearCache",
            {},
            {"status": "Accepted"},
        ),
        (
            "data_transfer",
            {"vendor_id": "Csms Simulator", "message_id": "echo", "data": {"limit": 16}},
            "DataTransfer",
            {"vendorId": "Csms Simulator", "messageId": "echo", "data": '{"limit":16}'},
            {"status": "Accepted", "data": '{"limit":16}'},
        ),
        (
            "data_transfer",
            {"vendor_id": "com.example", "data": "hello"},
            "DataTransfer",
            {"vendorId": "com.example", "data": "hello"},
            {"status": "UnknownVendorId"},
        ),
        (
            "trigger_message",
            {"requested_message": "StatusNotification", "connector_id": 1},
            "TriggerMessage",
            {"requestedMessage": "StatusNotification", "connectorId": 1},
            {"status": "Accepted"},
        ),
        (
            "trigger_message",
            {"requested_message": "Heartbeat"},
            "TriggerMessage",
            {"requestedMessage": "Heartbeat"},
            {"status": "Accepted"},
        ),
        (
            "remote_start_transaction",
            {"id_tag": "TAG1", "connector_id": 1},
            "RemoteStartTransaction",
            {"idTag": "TAG1", "connectorId": 1},
            {"status": "Accepted"},
        ),
        (
            "remote_stop_transaction",
            {"transaction_id": 4711},
            "RemoteStopTransaction",
            {"transactionId": 4711},
            {"status": "Rejected"},
        ),
    ],
)
async def test_operation_round_trip(
    hass: HomeAssistant,
    charger: SimulatedChargePoint,
    *,
    service: str,
    data: dict[str, Any],
    action: str,
    payload: dict[str, Any],
    response: dict[str, Any],
) -> None:
    result = await call(hass, service, {"charge_point_id": "CP001", **data})

    assert result == response
    await received(charger, action, payload)


async def test_configuration_change_reaches_the_charger(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    await call(
        hass,
        "change_configuration",
        {"charge_point_id": "CP001", "key": "ConnectionTimeOut", "value": "90"},
    )
    assert charger.configuration["ConnectionTimeOut"].value == "90"


async def test_start_and_stop_a_transaction(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    profile = {
        "charging_profile_id": 1,
        "stack_level": 0,
        "charging_profile_purpose": "TxProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": {
            "charging_rate_unit": "A",
            "charging_schedule_period": [{"start_period": 0, "limit": 10.0}],
        },
    }
    assert await call(
        hass,
        "remote_start_transaction",
        {"charge_point_id": "CP001", "id_tag": "TAG1", "charging_profile": profile},
    ) == {"status": "Accepted"}
    await received(
        charger,
        "RemoteStartTransaction",
        {
            "idTag": "TAG1",
            "chargingProfile": {
                "chargingProfileId": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}],
                },
            },
        },
    )
    # The charger starts the transaction once it has answered.
    await charger.wait_background()
    connector = runtime(hass, "CP001").charge_point.connectors[1]
    assert connector.transaction is not None
    transaction_id = connector.transaction.transaction_id
    assert charger.transactions == {1: transaction_id}

    # By device: the charger's only connector, and the transaction running on it.
    assert await call(hass, "remote_stop_transaction", {"device_id": device_id(hass, "CP001")}) == {
        "status": "Accepted"
    }
    await received(charger, "RemoteStopTransaction", {"transactionId": transaction_id})
    await wait_for(lambda: connector.transaction is None)
    assert charger.transactions == {}

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "remote_stop_transaction", {"charge_point_id": "CP001"})
    assert err.value.translation_key == "no_transaction"


async def test_devices_of_a_two_connector_charger(
    hass: HomeAssistant, twin: SimulatedChargePoint
) -> None:
    charge_point_device = device_id(hass, "CP002")
    second = device_id(hass, "CP002", 2)

    assert await call(hass, "unlock_connector", {"device_id": second}) == {"status": "Unlocked"}
    await received(twin, "UnlockConnector", {"connectorId": 2})

    assert await call(
        hass, "remote_start_transaction", {"device_id": second, "id_tag": "TAG2"}
    ) == {"status": "Accepted"}
    await received(twin, "RemoteStartTransaction", {"idTag": "TAG2", "connectorId": 2})
    await twin.wait_background()
    connector = runtime(hass, "CP002").charge_point.connectors[2]
    assert connector.transaction is not None
    transaction_id = connector.transaction.transaction_id
    assert await call(hass, "remote_stop_transaction", {"device_id": second}) == {
        "status": "Accepted"
    }
    await received(twin, "RemoteStopTransaction", {"transactionId": transaction_id})
    await wait_for(lambda: connector.transaction is None)

    # The charge point's device is the charge point as a whole: connector 0.
    assert await call(
        hass, "change_availability", {"device_id": charge_point_device, "type": "Inoperative"}
    ) == {"status": "Accepted"}
    await received(twin, "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})
    assert await call(
        hass, "change_availability", {"device_id": second, "type": "Inoperative"}
    ) == {"status": "Accepted"}
    await received(twin, "ChangeAvailability", {"connectorId": 2, "type": "Inoperative"})

    assert await call(
        hass,
        "trigger_message",
        {"device_id": second, "requested_message": "MeterValues", "connector_id": 2},
    ) == {"status": "Accepted"}
    await received(twin, "TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 2})
    assert await call(
        hass, "get_configuration", {"device_id": charge_point_device, "key": ["NumberOfConnectors"]}
    ) == {"configuration_key": [{"key": "NumberOfConnectors", "readonly": True, "value": "2"}]}

    # Several connectors: which one must be said.
    for service in ("unlock_connector", "remote_stop_transaction"):
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, service, {"device_id": charge_point_device})
        assert err.value.translation_key == "connector_required"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "unlock_connector", {"device_id": second, "connector_id": 1})
    assert err.value.translation_key == "connector_mismatch"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "unlock_connector", {"charge_point_id": "CP002", "connector_id": 3})
    assert err.value.translation_key == "unknown_connector"
    assert err.value.translation_placeholders == {"charge_point_id": "CP002", "connector_id": "3"}


async def test_connectors_not_yet_reported_are_not_refused(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charge_point: SimulatedChargePoint = await connect("CP009", connectors=2, boot=False)
    await wait_for(lambda: runtime(hass, "CP009").charge_point.connected)

    assert await call(
        hass, "unlock_connector", {"charge_point_id": "CP009", "connector_id": 2}
    ) == {"status": "Unlocked"}
    await received(charge_point, "UnlockConnector", {"connectorId": 2})
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "unlock_connector", {"charge_point_id": "CP009"})
    assert err.value.translation_key == "connector_required"


INVALID = "invalid_service_data"


@pytest.mark.parametrize(
    ("service", "data", "translation_key"),
    [
        ("remote_start_transaction", {"id_tag": "T" * 21}, INVALID),
        ("remote_start_transaction", {"id_tag": ""}, INVALID),
        ("remote_start_transaction", {"id_tag": "TAG1", "connector_id": 0}, INVALID),
        ("remote_start_transaction", {"id_tag": "TAG1", "connector_id": 2}, "unknown_connector"),
        ("remote_start_transaction", {"id_tag": "TAG1", "charging_profile": "x"}, INVALID),
        ("remote_stop_transaction", {"transaction_id": 1, "connector_id": 1}, INVALID),
        ("reset", {"type": "Medium"}, INVALID),
        ("reset", {}, INVALID),
        ("unlock_connector", {"connector_id": 0}, INVALID),
        ("change_availability", {"type": "Operative", "connector_id": -1}, INVALID),
        ("change_configuration", {"key": "K" * 51, "value": "1"}, INVALID),
        ("change_configuration", {"key": "HeartbeatInterval", "value": "1" * 501}, INVALID),
        ("get_configuration", {"key": ["K" * 51]}, INVALID),
        ("data_transfer", {"vendor_id": "V" * 256}, INVALID),
        ("data_transfer", {"vendor_id": "V", "message_id": "M" * 51}, INVALID),
        ("trigger_message", {"requested_message": "LogStatusNotification"}, INVALID),
        (
            "trigger_message",
            {"requested_message": "Heartbeat", "connector_id": 5},
            "unknown_connector",
        ),
        ("clear_cache", {"unexpected": 1}, INVALID),
        ("get_message_log", {"limit": 0}, INVALID),
    ],
)
async def test_bad_input(
    hass: HomeAssistant,
    charger: SimulatedChargePoint,
    service: str,
    data: dict[str, Any],
    translation_key: str,
) -> None:
    sent = len(charger.calls_received)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, {"charge_point_id": "CP001", **data})
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == translation_key
    assert len(charger.calls_received) == sent


# What each service needs besides the charger.
REQUIRED_FIELDS: dict[str, dict[str, Any]] = {
    "remote_start_transaction": {"id_tag": "TAG1"},
    "reset": {"type": "Soft"},
    "change_availability": {"type": "Operative"},
    "change_configuration": {"key": "HeartbeatInterval", "value": "60"},
    "data_transfer": {"vendor_id": "com.example"},
    "trigger_message": {"requested_message": "Heartbeat"},
    "get_composite_schedule": {"duration": 3600},
    "reserve_now": {"expiry_date": "2099-01-01T00:00:00+00:00", "id_tag": "TAG1"},
    "update_firmware": {"location": "https://example.com/firmware.bin"},
    "signed_update_firmware": {
        "location": "https://example.com/firmware.bin",
        "signing_certificate": "-----BEGIN CERTIFICATE-----",
        "signature": "c2lnbmF0dXJl",
    },
    "extended_trigger_message": {"requested_message": "Heartbeat"},
    "install_certificate": {"certificate_type": "CentralSystemRootCertificate", "local_ca": True},
    "delete_certificate": {
        "certificate_hash_data": {
            "hash_algorithm": "SHA256",
            "issuer_name_hash": "ab",
            "issuer_key_hash": "cd",
            "serial_number": "01",
        }
    },
    "get_installed_certificate_ids": {"certificate_type": "CentralSystemRootCertificate"},
    "certificate_signed": {"certificate_chain": "-----BEGIN CERTIFICATE-----"},
    "set_charging_profile": {
        "cs_charging_profiles": {
            "charging_profile_id": 1,
            "stack_level": 1,
            "charging_profile_purpose": "TxDefaultProfile",
            "charging_profile_kind": "Relative",
            "charging_schedule": {
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": 10}],
            },
        }
    },
}


@pytest.mark.parametrize("service", SERVICES)
async def test_the_charger_must_be_named_once(
    hass: HomeAssistant, charger: SimulatedChargePoint, service: str
) -> None:
    fields = REQUIRED_FIELDS.get(service, {})
    sent = len(charger.calls_received)
    for data in ({}, {"charge_point_id": "CP001", "device_id": device_id(hass, "CP001")}):
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, service, {**fields, **data})
        assert err.value.translation_key == "charge_point_required"
    assert len(charger.calls_received) == sent


async def test_unknown_chargers_and_devices(
    hass: HomeAssistant, server_entry: MockConfigEntry, charger: SimulatedChargePoint
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "clear_cache", {"charge_point_id": "CP404"})
    assert err.value.translation_key == "unknown_charge_point"
    assert err.value.translation_placeholders == {"charge_point_id": "CP404"}
    assert str(err.value).startswith("No charger with charge point id CP404 has been added")
    # A server entry's unique id is not a charge point id.
    assert server_entry.unique_id is not None
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "clear_cache", {"charge_point_id": server_entry.unique_id})
    assert err.value.translation_key == "unknown_charge_point"

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "clear_cache", {"device_id": "no-such-device"})
    assert err.value.translation_key == "unknown_device"
    other = MockConfigEntry(domain="demo")
    other.add_to_hass(hass)
    foreign = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("demo", "CP001")}
    )
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "clear_cache", {"device_id": foreign.id})
    assert err.value.translation_key == "unknown_device"


async def test_a_charger_that_is_not_loaded(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    entry_id = entry_id_of(hass, "CP001")
    charge_point_device = device_id(hass, "CP001")
    assert await hass.config_entries.async_unload(entry_id)
    assert hass.config_entries.async_get_entry(entry_id).state is ConfigEntryState.NOT_LOADED  # type: ignore[union-attr]

    for data in ({"charge_point_id": "CP001"}, {"device_id": charge_point_device}):
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, "clear_cache", data)
        assert err.value.translation_key == "charge_point_not_loaded"
        assert err.value.translation_placeholders == {"charge_point_id": "CP001"}


async def test_a_disconnected_charger(hass: HomeAssistant, charger: SimulatedChargePoint) -> None:
    await charger.disconnect()
    await wait_for(lambda: not runtime(hass, "CP001").charge_point.connected)

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "reset", {"charge_point_id": "CP001", "type": "Hard"})
    assert err.value.translation_key == "charge_point_not_connected"
    assert err.value.translation_placeholders == {"charge_point_id": "CP001"}

    # Its message log is still there, up to the last frame.
    log = await call(hass, "get_message_log", {"charge_point_id": "CP001"})
    assert log is not None
    assert log["entries"]


async def test_a_call_error_names_its_code(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    # A charging profile without its schedule breaks the 1.6 schema: the
    # charger answers with a CALLERROR instead of a status.
    with pytest.raises(HomeAssistantError) as err:
        await call(
            hass,
            "remote_start_transaction",
            {
                "charge_point_id": "CP001",
                "id_tag": "TAG1",
                "charging_profile": {"charging_profile_purpose": "TxProfile"},
            },
        )
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_key == "charge_point_call_error"
    placeholders = err.value.translation_placeholders or {}
    assert placeholders["action"] == "RemoteStartTransaction"
    # The ocpp package the simulator is built on names a missing property so.
    assert placeholders["code"] == "ProtocolError"
    assert "ProtocolError" in str(err.value)
    assert charger.transactions == {}


async def test_message_log(hass: HomeAssistant, charger: SimulatedChargePoint) -> None:
    await call(hass, "clear_cache", {"charge_point_id": "CP001"})

    log = await call(hass, "get_message_log", {"device_id": device_id(hass, "CP001")})
    assert log is not None
    entries: list[dict[str, Any]] = log["entries"]  # type: ignore[assignment]
    assert entries[0]["direction"] == "received"
    assert entries[0]["action"] == "BootNotification"
    assert entries[0]["payload"]["chargePointModel"] == charger.model
    assert entries[-2:] == [
        {
            "time": entries[-2]["time"],
            "direction": "sent",
            "message_type": "CALL",
            "unique_id": entries[-2]["unique_id"],
            "action": "ClearCache",
            "payload": {},
        },
        {
            "time": entries[-1]["time"],
            "direction": "received",
            "message_type": "CALLRESULT",
            "unique_id": entries[-2]["unique_id"],
            "action": "ClearCache",
            "payload": {"status": "Accepted"},
        },
    ]

    newest = await call(hass, "get_message_log", {"charge_point_id": "CP001", "limit": 2})
    assert newest == {"entries": entries[-2:]}


async def test_two_servers_each_reach_their_own_charger(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    charge_points: list[SimulatedChargePoint],
) -> None:
    first: SimulatedChargePoint = await connect("CP-A")
    other_server = MockConfigEntry(
        domain=DOMAIN,
        title="Second OCPP server",
        unique_id="second",
        data={"host": "127.0.0.1", "port": 0},
    )
    other_server.add_to_hass(hass)
    assert await hass.config_entries.async_setup(other_server.entry_id)
    await add_charge_point(hass, other_server, "CP-B")
    # Both the same kind of charger.
    second = SimulatedChargePoint("CP-B")
    charge_points.append(second)
    await second.connect(server_url(other_server))
    await settled(hass, "CP-A")
    await settled(hass, "CP-B")
    assert runtime(hass, "CP-A").hub is not runtime(hass, "CP-B").hub

    await call(
        hass,
        "change_configuration",
        {"charge_point_id": "CP-B", "key": "HeartbeatInterval", "value": "100"},
    )
    await call(
        hass,
        "change_configuration",
        {"device_id": device_id(hass, "CP-A"), "key": "HeartbeatInterval", "value": "200"},
    )

    assert first.configuration["HeartbeatInterval"].value == "200"
    assert second.configuration["HeartbeatInterval"].value == "100"
    assert ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "100"}) not in (
        first.calls_received
    )
    assert ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "200"}) not in (
        second.calls_received
    )


async def test_admin_services_need_an_admin(
    hass: HomeAssistant, charger: SimulatedChargePoint, hass_read_only_user: MockUser
) -> None:
    context = Context(user_id=hass_read_only_user.id)
    with pytest.raises(Unauthorized):
        await call(hass, "reset", {"charge_point_id": "CP001", "type": "Soft"}, context)
    # Operations that only ask the charger for something are for every user.
    assert await call(
        hass,
        "trigger_message",
        {"charge_point_id": "CP001", "requested_message": "Heartbeat"},
        context,
    ) == {"status": "Accepted"}
