"""OCPP-J 1.6 behaviour on the wire: handshake, faults, isolation between chargers."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from custom_components.csms.const import DOMAIN

from .conftest import server_url


async def _answer(charge_point: Any, frame: str) -> list[Any]:
    """The central system's answer to a frame (its own requests are skipped)."""
    await charge_point.send_raw(frame)
    while True:
        answer = json.loads(await charge_point.next_frame(timeout=5))
        if answer[0] != 2:
            return answer


async def test_unknown_action_is_not_implemented(connect: Any) -> None:
    charge_point = await connect()
    answer = await _answer(charge_point, '[2,"u1","FlyToTheMoon",{}]')
    assert answer[:3] == [4, "u1", "NotImplemented"]


async def test_central_system_action_is_not_supported(connect: Any) -> None:
    charge_point = await connect()
    answer = await _answer(charge_point, '[2,"u2","RemoteStartTransaction",{"idTag":"A"}]')
    assert answer[:3] == [4, "u2", "NotSupported"]


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ("this is not json", [4, "-1", "FormationViolation"]),
        ('{"not": "an array"}', [4, "-1", "FormationViolation"]),
        ('[9,"m3","Heartbeat",{}]', [4, "m3", "FormationViolation"]),
        ('[2,"m4","Heartbeat"]', [4, "m4", "FormationViolation"]),
        # Schema faults, named the OCPP-J 1.6 way.
        ('[2,"m5","Authorize",{}]', [4, "m5", "ProtocolError"]),
        ('[2,"m6","Authorize",{"idTag":5}]', [4, "m6", "TypeConstraintViolation"]),
        ('[2,"m7","Heartbeat",{"extra":1}]', [4, "m7", "FormationViolation"]),
        (
            '[2,"m8","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Dancing"}]',
            [4, "m8", "PropertyConstraintViolation"],
        ),
        ('[2,"m9","Authorize",{"idTag":"' + "x" * 21 + '"}]', [4, "m9", "TypeConstraintViolation"]),
    ],
)
async def test_malformed_frames_get_a_call_error_and_the_connection_stays(
    connect: Any, frame: str, expected: list[Any]
) -> None:
    charge_point = await connect()
    answer = await _answer(charge_point, frame)
    assert answer[:3] == expected
    # The same connection keeps working.
    response = await charge_point.heartbeat()
    assert response.current_time


async def test_bad_frame_does_not_disturb_other_chargers(hass: HomeAssistant, connect: Any) -> None:
    noisy = await connect("NOISY")
    quiet = await connect("QUIET")
    await quiet.plug_in(1)
    transaction_id = await quiet.start_transaction(1, "TAG")
    for frame in ("{{{{", "[2,", b"\x00\x01".decode(), '[2,"z","Boom",{}]'):
        await noisy.send_raw(frame)
        await noisy.next_frame(timeout=5)
    await quiet.send_meter_values(1, seconds=60)
    await quiet.stop_transaction(1)
    assert quiet.connected
    assert noisy.connected
    assert transaction_id > 0
    assert hass.states.get("binary_sensor.quiet_connected").state == "on"


async def test_handshake_requires_the_ocpp16_subprotocol(server_entry: MockConfigEntry) -> None:
    url = f"{server_url(server_entry)}/CP001"
    with pytest.raises(InvalidStatus) as caught:
        async with ws_connect(url):
            pass
    assert caught.value.response.status_code == 400
    with pytest.raises(InvalidStatus) as caught:
        async with ws_connect(url, subprotocols=["ocpp2.0.1"]):  # type: ignore[list-item]
            pass
    assert caught.value.response.status_code == 400


async def test_handshake_requires_a_charge_point_id(server_entry: MockConfigEntry) -> None:
    with pytest.raises(InvalidStatus) as caught:
        async with ws_connect(f"{server_url(server_entry)}/", subprotocols=["ocpp1.6"]):  # type: ignore[list-item]
            pass
    assert caught.value.response.status_code == 404


async def test_charge_point_id_is_the_percent_decoded_last_segment(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    url = f"{server_url(server_entry)}/ocpp/site%201/Garage%20CP"
    async with ws_connect(url, subprotocols=["ocpp1.6"]) as websocket:  # type: ignore[list-item]
        assert websocket.subprotocol == "ocpp1.6"
        await websocket.send(
            '[2,"b1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]'
        )
        answer = json.loads(await websocket.recv())
        assert answer[0] == 3
        # Unknown until the user accepts it: asked to boot again soon.
        assert answer[2]["status"] == "Pending"
        assert answer[2]["interval"] == 30
        assert answer[2]["currentTime"].endswith("Z")
    await hass.async_block_till_done()
    assert "Garage CP" in server_entry.runtime_data.central.charge_points
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["unique_id"] == "Garage CP"


async def test_a_reconnecting_charger_replaces_its_old_connection(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    first = await connect("CP001")
    second = await connect("CP001")
    await first.wait_closed()
    assert second.connected
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.cp001_connected").state == "on"
    connection = server_entry.runtime_data.server.connections["CP001"]
    # The server keeps the second connection: its peer is the second client.
    assert connection.websocket.remote_address == second._connection.local_address
