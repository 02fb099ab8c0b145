"""Diagnostics of a server and of a charger that charged, with every secret redacted."""

from __future__ import annotations

from http import HTTPStatus
import json
import re
from typing import Any

from homeassistant.components.diagnostics import REDACTED
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from ocpp.exceptions import OCPPError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.csms.const import DOMAIN
from custom_components.csms.diagnostics import redact
from simulator import SimulatedChargePoint
from simulator.configuration import ConfigurationKey

from .conftest import add_charge_point, register_id_tags, server_url, wait_for

ID_TAG = "ALICE-04A2B3C4"
SERIAL_NUMBER = "SN-8812-3317"
METER_SERIAL_NUMBER = "MTR-55501"
ICCID = "8931440400012345678"
IMSI = "262011234567890"
AUTHORIZATION_KEY = "6f1ed002ab5595859014ebf0951522d9"
NEW_AUTHORIZATION_KEY = "b7c40e5d9a1f2c3e4d5f60718293a4b5"
LONG_ID_TAG = f"{ID_TAG}-0123456789"
SECRETS = (
    ID_TAG,
    LONG_ID_TAG,
    SERIAL_NUMBER,
    METER_SERIAL_NUMBER,
    ICCID,
    IMSI,
    AUTHORIZATION_KEY,
    NEW_AUTHORIZATION_KEY,
)

# Timestamps differ from run to run: their form is checked, then they are
# replaced so that the snapshot holds everything else.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots in tests/snapshots/, written the Home Assistant way."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


def stable(data: Any, unique_ids: dict[str, str] | None = None) -> Any:
    """Diagnostics with timestamps replaced, and message unique ids numbered.

    Numbering keeps visible which answer belongs to which call.
    """
    unique_ids = {} if unique_ids is None else unique_ids
    if isinstance(data, dict):
        result = {key: stable(value, unique_ids) for key, value in data.items()}
        if isinstance(unique_id := data.get("unique_id"), str):
            result["unique_id"] = unique_ids.setdefault(unique_id, f"<id {len(unique_ids) + 1}>")
        return result
    if isinstance(data, list):
        return [stable(item, unique_ids) for item in data]
    if isinstance(data, str) and _TIMESTAMP.match(data):
        return "<timestamp>"
    return data


async def download(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, path: str
) -> tuple[str, dict[str, Any]]:
    """The diagnostics file as the frontend downloads it: its text and its data."""
    assert await async_setup_component(hass, "diagnostics", {})
    client = await hass_client()
    response = await client.get(f"/api/diagnostics/config_entry/{path}")
    assert response.status == HTTPStatus.OK
    text = await response.text()
    return text, json.loads(text)["data"]


async def charged_charger(
    hass: HomeAssistant, server: MockConfigEntry, charge_points: list[SimulatedChargePoint]
) -> SimulatedChargePoint:
    """A charger that booted with its identity, was configured and ran a session."""
    # Registered: the card is in the local list the charger gets too.
    await register_id_tags(hass, ID_TAG)
    await add_charge_point(hass, server, "CP001", title="Carport")
    charger = SimulatedChargePoint("CP001", serial_number=SERIAL_NUMBER)
    # The key is write-only in OCPP 1.6, yet chargers do show it.
    charger.configuration["AuthorizationKey"] = ConfigurationKey(AUTHORIZATION_KEY, False)
    charge_points.append(charger)
    # Booted by hand: one message after the other keeps the message log in order.
    await charger.connect(server_url(server), boot=False, heartbeats=False)
    await charger.call_raw(
        "BootNotification",
        {
            "chargePointVendor": charger.vendor,
            "chargePointModel": charger.model,
            "chargePointSerialNumber": SERIAL_NUMBER,
            "chargeBoxSerialNumber": SERIAL_NUMBER,
            "firmwareVersion": charger.firmware_version,
            "iccid": ICCID,
            "imsi": IMSI,
            "meterType": "Simulated",
            "meterSerialNumber": METER_SERIAL_NUMBER,
        },
    )
    await charger.wait_for_call("GetConfiguration")
    central = server.runtime_data.central
    await wait_for(lambda: central.charge_points["CP001"].local_list.synced_at is not None)

    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "CP001")
    assert entry is not None
    # Reading the key and setting a new one are logged.
    await entry.runtime_data.request("GetConfiguration", {"key": ["AuthorizationKey"]})
    await entry.runtime_data.request(
        "ChangeConfiguration", {"key": "AuthorizationKey", "value": NEW_AUTHORIZATION_KEY}
    )

    for connector_id in (0, 1):
        await charger.status(connector_id, "Available")
    await charger.plug_in(1)
    await charger.authorize(ID_TAG)
    await charger.start_transaction(1, ID_TAG)
    await charger.send_meter_values(1, seconds=600, power_w=11000)
    await charger.stop_transaction(1, reason="EVDisconnected", id_tag=ID_TAG)
    await charger.unplug(1)
    # Another session is running when the diagnostics are taken.
    await charger.plug_in(1)
    await charger.start_transaction(1, ID_TAG)
    # A charger's broken frame is logged as it came.
    await charger.send_raw(f'[2,"broken","Authorize",{{"idTag":"{ID_TAG}"')
    await charger.next_frame()
    # The answer to an invalid one quotes the id tag.
    with pytest.raises(OCPPError, match="too long"):
        await charger.call_raw("Authorize", {"idTag": LONG_ID_TAG})
    await hass.async_block_till_done()
    return charger


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


async def test_charge_point_entry_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
    snapshot: SnapshotAssertion,
) -> None:
    await charged_charger(hass, server_entry, charge_points)
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "CP001")
    assert entry is not None

    text, data = await download(hass, hass_client, entry.entry_id)

    assert_no_secrets(text)
    assert REDACTED in text
    assert data["entry"]["data"].pop("server_entry_id") == server_entry.entry_id
    assert stable(data) == snapshot


async def test_server_entry_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
    snapshot: SnapshotAssertion,
) -> None:
    await charged_charger(hass, server_entry, charge_points)
    # An unknown charger waits to be accepted.
    stranger = SimulatedChargePoint("CP999")
    charge_points.append(stranger)
    await stranger.connect(server_url(server_entry))
    await hass.async_block_till_done()

    text, data = await download(hass, hass_client, server_entry.entry_id)

    assert_no_secrets(text)
    assert data["server"].pop("port") == server_entry.runtime_data.server.port
    assert stable(data) == snapshot


async def test_device_diagnostics_of_charge_point_and_connector(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> None:
    await add_charge_point(hass, server_entry, "CP002", title="Garage")
    charger = SimulatedChargePoint("CP002", connectors=2, serial_number=SERIAL_NUMBER)
    charge_points.append(charger)
    await charger.connect(server_url(server_entry))
    await charger.plug_in(2)
    await charger.start_transaction(2, ID_TAG)
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "CP002")
    assert entry is not None
    charge_point = entry.runtime_data.charge_point
    await wait_for(lambda: charge_point.local_list.synced_at is not None)
    await hass.async_block_till_done()
    device_registry = dr.async_get(hass)
    charge_point_device = device_registry.async_get_device_by_identifier(
        (DOMAIN, "CP002"), entry.entry_id
    )
    connector_device = device_registry.async_get_child_device_by_identifier(
        (DOMAIN, "CP002_connector_2"), entry.entry_id
    )
    assert charge_point_device is not None
    assert connector_device is not None

    _, entry_data = await download(hass, hass_client, entry.entry_id)
    for device in (charge_point_device, connector_device):
        text, data = await download(hass, hass_client, f"{entry.entry_id}/device/{device.id}")
        assert data == entry_data
        assert ID_TAG not in text
        assert SERIAL_NUMBER not in text
    assert data["charge_point"]["open_transactions"][0]["connector_id"] == 2
    assert data["charge_point"]["open_transactions"][0]["id_tag"] == REDACTED


async def test_diagnostics_of_a_charger_not_loaded(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    server_entry: MockConfigEntry,
) -> None:
    entry = await add_charge_point(hass, server_entry, "CP003")
    await hass.config_entries.async_unload(server_entry.entry_id)

    _, server_data = await download(hass, hass_client, server_entry.entry_id)
    _, data = await download(hass, hass_client, entry.entry_id)

    assert server_data["server"] == {"running": False, "host": None, "port": None}
    assert data["charge_point"]["charge_point_id"] == "CP003"
    assert data["charge_point"]["connected"] is False


def test_redaction_catches_every_spelling_at_any_depth() -> None:
    data = {
        "id_tag": "a",
        "nested": [{"idTagInfo": {"parentIdTag": "b", "status": "Accepted"}}],
        "localAuthorizationList": [{"idTag": "c", "idTagInfo": {"parent_id_tag": "d"}}],
        "StopIdTag": "e",
        "remote_start_id_tag": "f",
        "chargeBoxSerialNumber": "g",
        "ICCID": "h",
        "Password": "i",
        "configuration": {"AuthorizationKey": "j", "HeartbeatInterval": "300"},
        "configurationKey": [{"key": "authorizationkey", "readonly": False, "value": "k"}],
        "data": '{"idTag": "l", "kWh": 3}',
        "raw": '[2,"1","ChangeConfiguration",{"key":"AuthorizationKey","value":"m"',
        "empty_id_tag": None,
        "payload": {"idTag": "secret-tag"},
        "description": "Tag secret-tag is blocked",
    }

    redacted = redact(data)

    text = json.dumps(redacted)
    for secret in "abcdefghijklm":
        assert f'"{secret}"' not in text, secret
    assert redacted["nested"][0]["idTagInfo"]["status"] == "Accepted"
    assert redacted["configuration"]["HeartbeatInterval"] == "300"
    assert redacted["configurationKey"][0]["key"] == "authorizationkey"
    assert json.loads(redacted["data"]) == {"idTag": REDACTED, "kWh": 3}
    assert redacted["empty_id_tag"] is None
    assert redacted["description"] == f"Tag {REDACTED} is blocked"
