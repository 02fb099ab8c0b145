"""The OCPP-J websocket server: handshake and connection lifecycle."""

from __future__ import annotations

import asyncio
import http
import logging
from typing import Any
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .central_system import CentralSystem
from .connection import ChargePointConnection
from .errors import NotConnectedError
from .frames import load_validators

_LOGGER = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"
# OCPP 1.6 charge point identity: CiString25Type in BootNotification terms;
# the OCPP-J spec leaves the URL length open, so allow a little more.
MAX_CHARGE_POINT_ID_LENGTH = 48
# Frames above this size end the connection (close code 1009). The largest
# legitimate 1.6 frame is a StopTransaction with the transactionData of a
# long session (10 hours sampled every minute: well under 1 MiB).
MAX_FRAME_BYTES = 4 * 1024 * 1024
# A dead connection must not hold up a shutdown for long.
CLOSE_TIMEOUT = 3.0
RESPONSE_TIMEOUT = 30.0
# Close code 1001 ("going away") tells chargers to reconnect soon.
CLOSE_GOING_AWAY = 1001


def charge_point_id_from_path(path: str) -> str | None:
    """The charge point id: the last segment of the URL path, percent-decoded."""
    segment = urlsplit(path).path.rstrip("/").rsplit("/", 1)[-1]
    charge_point_id = unquote(segment)
    if not charge_point_id or len(charge_point_id) > MAX_CHARGE_POINT_ID_LENGTH:
        return None
    return charge_point_id


def listen_host(host: str) -> str | None:
    """What to bind: ``::`` means every interface, IPv4 included.

    asyncio binds IPv6 sockets IPv6-only, so ``::`` is passed as None, which
    binds one socket per address family.
    """
    return None if host in ("", "::") else host


class OcppServer:
    """Accepts charge point connections for one central system on one port."""

    def __init__(self, central: CentralSystem, *, host: str, port: int) -> None:
        """Prepare a server; :meth:`start` binds it."""
        self.central = central
        self.host = host
        self.requested_port = port
        self.connections: dict[str, ChargePointConnection] = {}
        self._server: Server | None = None
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port the server listens on (the real one when started on port 0)."""
        if self._server is None:
            return self.requested_port
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Bind and listen. Raises OSError when the address is not available."""
        await asyncio.get_running_loop().run_in_executor(None, load_validators)
        self._server = await serve(
            self._handle_connection,
            listen_host(self.host),
            self.requested_port,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            process_request=self._check_request,
            max_size=MAX_FRAME_BYTES,
            close_timeout=CLOSE_TIMEOUT,
        )
        _LOGGER.info("OCPP server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and close every charge point connection."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close(close_connections=False)
        await asyncio.gather(
            *(
                connection.websocket.close(CLOSE_GOING_AWAY, "Central system shutting down")
                for connection in list(self.connections.values())
            ),
            *self._closing,
        )
        await server.wait_closed()

    async def request(
        self, charge_point_id: str, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Send a request to a connected charge point and return its answer.

        Raises a :class:`RequestError` when it is not connected, does not
        answer in time, or answers with a CALLERROR.
        """
        connection = self.connections.get(charge_point_id)
        if connection is None:
            raise NotConnectedError(charge_point_id)
        return await connection.request(action, payload)

    def disconnect(self, charge_point_id: str) -> None:
        """Close a charge point's connection (it was removed)."""
        connection = self.connections.get(charge_point_id)
        if connection is not None:
            self._close_in_background(connection, "Charge point removed")

    def _close_in_background(self, connection: ChargePointConnection, reason: str) -> None:
        # Closing a dead connection can take the whole close timeout: nobody
        # should wait for it.
        task = asyncio.create_task(connection.websocket.close(CLOSE_GOING_AWAY, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse a handshake whose URL names no charge point."""
        if charge_point_id_from_path(request.path) is None:
            return Response(
                http.HTTPStatus.NOT_FOUND,
                "Not Found",
                Headers(),
                b"The URL must end with the charge point identity\n",
            )
        return None

    async def _handle_connection(self, websocket: ServerConnection) -> None:
        charge_point_id = charge_point_id_from_path(websocket.request.path)  # type: ignore[union-attr]
        assert charge_point_id is not None  # checked during the handshake
        charge_point = self.central.charge_point(charge_point_id)
        connection = ChargePointConnection(
            charge_point, websocket, self.central, response_timeout=RESPONSE_TIMEOUT
        )
        previous = self.connections.get(charge_point_id)
        self.connections[charge_point_id] = connection
        if previous is not None:
            # The charger reconnected before we noticed the old connection
            # die: the new connection wins.
            _LOGGER.info("%s: new connection replaces the previous one", charge_point_id)
            self._close_in_background(previous, "Replaced by a new connection")
        charge_point.connected = True
        _LOGGER.info("%s: connected from %s", charge_point_id, websocket.remote_address)
        self.central.connection_changed(charge_point)
        try:
            await connection.start()
        except ConnectionClosed as err:
            _LOGGER.info("%s: disconnected (%s)", charge_point_id, err)
        finally:
            if self.connections.get(charge_point_id) is connection:
                del self.connections[charge_point_id]
                charge_point.connected = False
                self.central.connection_changed(charge_point)
