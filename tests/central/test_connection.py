"""A charge point connection on its own: what happens when the link goes mid-call."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosedOK
from websockets.frames import Close, CloseCode

from custom_components.csms.central.central_system import CentralSystem
from custom_components.csms.central.connection import ChargePointConnection

from .memory_store import MemoryStore


class ClosedWebsocket:
    """A websocket the central system closed (shutting down) while a call was handled."""

    async def send(self, message: str) -> None:
        going_away = Close(CloseCode.GOING_AWAY, "Central system shutting down")
        raise ConnectionClosedOK(going_away, going_away, rcvd_then_sent=False)


async def test_a_call_answered_after_the_link_closed_is_no_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    central = CentralSystem(MemoryStore())
    charge_point = central.charge_point("CP1")
    connection = ChargePointConnection(
        charge_point,
        ClosedWebsocket(),
        central,
        response_timeout=1,  # type: ignore[arg-type]
    )
    frame: list[Any] = [2, "1", "Heartbeat", {}]

    with caplog.at_level(logging.DEBUG), pytest.raises(ConnectionClosedOK):
        # The connection's reader ends with it, as for any closed link.
        await connection.route_message(json.dumps(frame))

    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
