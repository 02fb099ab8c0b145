"""Server hardening on the wire: frame size, call rate, connection cap, handshake
timeout, a charger replacing its own connection, and logs without id tags."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from websockets.asyncio.client import ClientConnection, connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from custom_components.csms import server_entry as server_entry_module
from custom_components.csms.central import OcppServer
from custom_components.csms.central.errors import NotConnectedError
from custom_components.csms.central.redaction import MASK
from custom_components.csms.central.server_settings import ServerLimits

from .conftest import add_charge_point, register_id_tags, server_config_entry, server_url, wait_for

if TYPE_CHECKING:
    from simulator import SimulatedChargePoint

# Small enough to reach in a test, large enough for everything a charger
# legitimately sends while it boots.
TEST_LIMITS = ServerLimits(
    max_frame_bytes=16 * 1024,
    max_connections=50,
    messages_per_second=100.0,
    message_burst=10,
    handshake_timeout=0.5,
)
TAG = "HARD3N1NGTAG"


@pytest.fixture
def limits() -> ServerLimits:
    """The server's limits; a test parametrizes ``limits`` to change them."""
    return TEST_LIMITS


@pytest.fixture
async def server_entry(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, limits: ServerLimits
) -> MockConfigEntry:
    """A running server with the test's limits (replaces the conftest fixture)."""

    def server_with_limits(*args: Any, **kwargs: Any) -> OcppServer:
        return OcppServer(*args, **{**kwargs, "limits": limits})

    monkeypatch.setattr(server_entry_module, "OcppServer", server_with_limits)
    entry = server_config_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def server_of(entry: MockConfigEntry) -> OcppServer:
    server: OcppServer = entry.runtime_data.server
    return server


@pytest.fixture
async def raw_clients() -> AsyncGenerator[list[ClientConnection]]:
    """Plain websocket clients, closed after the test."""
    clients: list[ClientConnection] = []
    yield clients
    await asyncio.gather(*(client.close() for client in clients))


async def open_raw(
    entry: MockConfigEntry, charge_point_id: str, clients: list[ClientConnection]
) -> ClientConnection:
    client = await ws_connect(
        f"{server_url(entry)}/{charge_point_id}", subprotocols=["ocpp1.6"], proxy=None
    )
    clients.append(client)
    return client


async def answer_to(client: ClientConnection, unique_id: str) -> list[Any]:
    """The answer to one of our frames; the server's own calls are skipped."""
    while True:
        frame = json.loads(await asyncio.wait_for(client.recv(), 5))
        if frame[0] != 2 and frame[1] == unique_id:
            return list(frame)


async def drain(client: ClientConnection) -> None:
    """Read until the connection closes (raises ConnectionClosed)."""
    while True:
        await asyncio.wait_for(client.recv(), 5)


async def test_an_oversized_frame_ends_that_connection_alone(
    server_entry: MockConfigEntry, connect: Any, raw_clients: list[ClientConnection]
) -> None:
    neighbour = await connect("CP001")
    big = await open_raw(server_entry, "BIG", raw_clients)
    await big.send(json.dumps([2, "b1", "DataTransfer", {"vendorId": "x", "data": "x" * 17_000}]))
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(big.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    # Just below the limit is fine, and the neighbour never noticed.
    response = await neighbour.heartbeat()
    assert response.current_time
    assert neighbour.connected


async def test_a_flooding_charger_is_slowed_down_and_loses_nothing(
    server_entry: MockConfigEntry, connect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    flood = await connect("FLOOD")
    quiet = await connect("QUIET")
    count = 300
    started = time.monotonic()
    for number in range(count):
        await flood.send_raw(json.dumps([2, f"h{number}", "Heartbeat", {}]))

    async def answers() -> set[str]:
        answered: set[str] = set()
        while len(answered) < count:
            frame = json.loads(await flood.next_frame(timeout=10))
            if frame[0] == 3:
                answered.add(frame[1])
            else:
                # The server's own calls are answered by the simulator; a
                # CALLERROR would be a dropped heartbeat.
                assert frame[0] == 2, frame
        return answered

    flood_answers = asyncio.create_task(answers())
    # Another charger is served while the flood waits for its tokens.
    response = await asyncio.wait_for(quiet.heartbeat(), 2)
    assert response.current_time
    assert not flood_answers.done()

    answered = await asyncio.wait_for(flood_answers, 30)
    elapsed = time.monotonic() - started
    assert answered == {f"h{number}" for number in range(count)}
    # 10 in a burst, the other 290 at 100 a second: 2.9 s at least.
    assert elapsed >= 0.9 * (count - TEST_LIMITS.message_burst) / TEST_LIMITS.messages_per_second
    throttled = [r for r in caplog.records if "calls a second" in r.getMessage()]
    assert [r.getMessage().split(":")[0] for r in throttled] == ["FLOOD"]
    assert throttled[0].levelno == logging.WARNING


@pytest.mark.parametrize("limits", [ServerLimits(max_connections=3)])
async def test_connections_beyond_the_cap_get_http_503(
    server_entry: MockConfigEntry, raw_clients: list[ClientConnection]
) -> None:
    server = server_of(server_entry)
    first, _, _ = [await open_raw(server_entry, f"CAP{n}", raw_clients) for n in range(3)]
    with pytest.raises(InvalidStatus) as refused:
        await open_raw(server_entry, "CAP3", raw_clients)
    assert refused.value.response.status_code == 503
    assert refused.value.response.headers["Retry-After"]

    await first.close()
    await wait_for(lambda: server.connection_limiter.open == 2)
    await open_raw(server_entry, "CAP3", raw_clients)
    assert server.connection_limiter.open == 3


@pytest.mark.parametrize("limits", [ServerLimits(max_connections=1)])
async def test_a_refused_handshake_gives_its_slot_back(
    server_entry: MockConfigEntry, raw_clients: list[ClientConnection]
) -> None:
    server = server_of(server_entry)
    for _ in range(3):
        with pytest.raises(InvalidStatus) as refused:
            # No charge point id in the URL.
            await ws_connect(server_url(server_entry) + "/", proxy=None)
        assert refused.value.response.status_code == 404
    await wait_for(lambda: server.connection_limiter.open == 0)
    await open_raw(server_entry, "CP001", raw_clients)


@pytest.mark.parametrize("limits", [ServerLimits(handshake_timeout=0.3)])
async def test_a_silent_client_is_cut_off_after_the_handshake_timeout(
    server_entry: MockConfigEntry,
) -> None:
    server = server_of(server_entry)
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        # EOF (or a reset) once the server gives up on the handshake.
        with contextlib.suppress(ConnectionResetError):
            assert await asyncio.wait_for(reader.read(), 5) == b""
        assert 0.2 < time.monotonic() - started < 5
    finally:
        writer.close()
    assert server.connection_limiter.open == 0


async def test_a_new_connection_replaces_the_old_one_cleanly(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    raw_clients: list[ClientConnection],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await add_charge_point(hass, server_entry, "CP001")
    server = server_of(server_entry)
    central = server.central
    states: list[bool] = []
    connection_changed = central.connection_changed

    def record(charge_point: Any) -> None:
        states.append(charge_point.connected)
        connection_changed(charge_point)

    monkeypatch.setattr(central, "connection_changed", record)

    old = await open_raw(server_entry, "CP001", raw_clients)
    boot = {"chargePointVendor": "Old", "chargePointModel": "Socket"}
    await old.send(json.dumps([2, "boot", "BootNotification", boot]))
    assert (await answer_to(old, "boot"))[2]["status"] == "Accepted"
    # A call of ours in flight on the old connection; it never answers that one.
    pending = asyncio.create_task(server.request("CP001", "GetLocalListVersion", {}))
    while (frame := json.loads(await asyncio.wait_for(old.recv(), 5)))[2] != "GetLocalListVersion":
        # What the charger's entry asks after a boot stands in line before it.
        await old.send(json.dumps([4, frame[1], "NotImplemented", "", {}]))

    new: SimulatedChargePoint = await connect("CP001")

    with pytest.raises(ConnectionClosed) as closed:
        await drain(old)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code in (1000, 1001)
    assert closed.value.rcvd.reason
    # The pending call ends with the old connection, not after its timeout.
    with pytest.raises(NotConnectedError):
        await asyncio.wait_for(pending, 5)
    await hass.async_block_till_done()

    assert central.charge_point("CP001").connected
    assert False not in states
    # Our calls now go to the new connection.
    answer = await server.request("CP001", "GetLocalListVersion", {})
    assert answer == {"list_version": new.local_list_version}


async def test_no_id_tag_reaches_any_log(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.csms")
    caplog.set_level(logging.DEBUG, logger="websockets.server")
    await register_id_tags(hass, TAG)
    charger = await connect("CP001", connectors=2)
    server = server_of(server_entry)

    # A whole session.
    await charger.authorize(TAG)
    await charger.plug_in(1)
    await charger.start_transaction(1, TAG)
    await charger.send_meter_values(1, seconds=60)
    await charger.stop_transaction(1, id_tag=TAG)
    # Faults that used to be logged with the frame or the value in them.
    for frame in (
        '[2,"m1","Authorize",{"idTag":"' + TAG,
        '[2,"m2","Authorize",{"idTag":"' + TAG * 2 + '"}]',
        '[3,"m3",{"idTagInfo":{"status":"Accepted","parentIdTag":"' + TAG + '"}}]',
        json.dumps(
            [
                2,
                "m4",
                "StartTransaction",
                {"connectorId": 2, "idTag": TAG * 2, "meterStart": 0, "timestamp": "x"},
            ]
        ),
    ):
        await charger.send_raw(frame)
    await charger.data_transfer("acme", "card", json.dumps({"idTag": TAG}))
    # The secret of security profile 2 goes the other way.
    await server.request(
        "CP001", "ChangeConfiguration", {"key": "AuthorizationKey", "value": TAG + "KEY"}
    )
    await hass.async_block_till_done()

    ours = [
        record
        for record in caplog.records
        # Not the charger's side (simulator, websockets.client), nor Home
        # Assistant's own debug log of the tags it registers.
        if record.name.startswith(("custom_components.csms", "websockets.server"))
    ]
    traffic = [record for record in ours if record.name.endswith(".traffic")]
    assert any(MASK in record.getMessage() for record in traffic)
    leaks = [
        (record.name, record.getMessage()[:300])
        for record in ours
        if TAG in record.getMessage() or TAG in (record.exc_text or "")
    ]
    assert not leaks

    # The admin's message log keeps the tags (billing) but not the key.
    log = json.dumps(server.central.charge_point("CP001").message_log.entries())
    assert TAG in log
    assert TAG + "KEY" not in log
