"""The OCPP-J websocket server: handshake and connection lifecycle."""

from __future__ import annotations

import asyncio
import http
import logging
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit
import weakref

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .central_system import CentralSystem
from .connection import ChargePointConnection
from .connection_limits import ConnectionLimiter
from .credentials import CredentialStore, SecurityProfile
from .errors import NotConnectedError
from .frames import load_validators
from .gatekeeper import Attempt, Gatekeeper, hide_authorization_headers
from .handshake import Admission
from .rate_limit import CallThrottle
from .redaction import redact_logger
from .server_settings import ServerLimits, TlsListener

_LOGGER = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"
# OCPP 1.6 charge point identity: CiString25Type in BootNotification terms;
# the OCPP-J spec leaves the URL length open, so allow a little more.
MAX_CHARGE_POINT_ID_LENGTH = 48
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

    def __init__(
        self,
        central: CentralSystem,
        *,
        host: str,
        port: int,
        tls: TlsListener | None = None,
        credentials: CredentialStore | None = None,
        limits: ServerLimits = ServerLimits(),  # noqa: B008  (frozen, never mutated)
    ) -> None:
        """Prepare a server; :meth:`start` binds it.

        With ``tls`` it also listens for wss:// on ``tls.port``. With
        ``credentials`` every handshake is checked against the security
        profiles; without, every charge point is admitted at profile 0.
        """
        self.central = central
        self.host = host
        self.requested_port = port
        self.tls = tls
        self.limits = limits
        self.connection_limiter = ConnectionLimiter(limits.max_connections)
        self.gatekeeper = (
            Gatekeeper(
                credentials, failed_logins_before_backoff=limits.failed_logins_before_backoff
            )
            if credentials is not None
            else None
        )
        self.connections: dict[str, ChargePointConnection] = {}
        # The security profile each connected charge point was admitted at.
        self.security_profiles: dict[str, SecurityProfile] = {}
        # Admitted at the handshake, waiting for the websocket handler.
        self._admitted: weakref.WeakKeyDictionary[ServerConnection, SecurityProfile] = (
            weakref.WeakKeyDictionary()
        )
        self._server: Server | None = None
        self._tls_server: Server | None = None
        self._closing: set[asyncio.Task[None]] = set()
        # Closing quietly: the connections' end is nobody's news (see stop).
        self._quiet = False

    @property
    def port(self) -> int:
        """The port the server listens on (the real one when started on port 0)."""
        if self._server is None:
            return self.requested_port
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def tls_port(self) -> int | None:
        """The wss:// port (the real one when started on port 0); None without TLS."""
        if self.tls is None:
            return None
        if self._tls_server is None:
            return self.tls.port
        port: int = self._tls_server.sockets[0].getsockname()[1]
        return port

    def security_profile(self, charge_point_id: str) -> SecurityProfile | None:
        """The security profile a connected charge point was admitted at; None: not connected."""
        return self.security_profiles.get(charge_point_id)

    async def start(self) -> None:
        """Bind and listen. Raises OSError when the address is not available."""
        await asyncio.get_running_loop().run_in_executor(None, load_validators)
        hide_authorization_headers(logging.getLogger("websockets.server"))
        # Its debug log shows the start of every frame.
        redact_logger(logging.getLogger("websockets.server"))
        self._server = await self._listen(self.requested_port, None)
        _LOGGER.info("OCPP server listening on %s:%s", self.host, self.port)
        if self.tls is not None:
            try:
                self._tls_server = await self._listen(self.tls.port, self.tls.ssl_context)
            except BaseException:
                server, self._server = self._server, None
                server.close()
                await server.wait_closed()
                raise
            _LOGGER.info("OCPP server listening for TLS on %s:%s", self.host, self.tls_port)

    async def _listen(self, port: int, ssl_context: ssl.SSLContext | None) -> Server:
        """One listener; the plain and the TLS one share the handlers and connections."""
        return await serve(
            self._handle_connection,
            listen_host(self.host),
            port,
            ssl=ssl_context,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            process_request=self._check_request,
            # A bigger frame ends that connection alone (close code 1009).
            max_size=self.limits.max_frame_bytes,
            open_timeout=self.limits.handshake_timeout,
            close_timeout=CLOSE_TIMEOUT,
        )

    async def stop(self, *, quiet: bool = False) -> None:
        """Stop listening and close every charge point connection.

        ``quiet``: the host is shutting down, so the observers are not told
        of each connection's end. At a thousand chargers that is tens of
        thousands of entity states written (and recorded) as unavailable
        while Home Assistant stops, only to start unavailable anyway.
        """
        if self._server is None:
            return
        self._quiet = quiet
        servers = [self._server, *([self._tls_server] if self._tls_server else [])]
        self._server = self._tls_server = None
        for server in servers:
            server.close(close_connections=False)
        await asyncio.gather(
            *(
                connection.websocket.close(CLOSE_GOING_AWAY, "Central system shutting down")
                for connection in list(self.connections.values())
            ),
            *self._closing,
        )
        for server in servers:
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

    async def _check_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Refuse a handshake whose URL names no charge point or whose login fails."""
        # First, and before anything that waits: the slot is taken at once.
        if (refusal := self.connection_limiter.check(connection)) is not None:
            return refusal
        charge_point_id = charge_point_id_from_path(request.path)
        if charge_point_id is None:
            return Response(
                http.HTTPStatus.NOT_FOUND,
                "Not Found",
                Headers(),
                b"The URL must end with the charge point identity\n",
            )
        if self.gatekeeper is None:
            self._admitted[connection] = SecurityProfile.UNSECURED
            return None
        transport = connection.transport
        admission = await self.gatekeeper.check(
            Attempt(
                charge_point_id,
                _remote_host(connection),
                tuple(request.headers.get_all("Authorization")),
                tls=transport.get_extra_info("ssl_object") is not None,
                peer_certificate=transport.get_extra_info("peercert"),
            )
        )
        if not admission.admitted:
            return _refusal(connection, admission)
        self._admitted[connection] = admission.profile
        return None

    async def _handle_connection(self, websocket: ServerConnection) -> None:
        charge_point_id = charge_point_id_from_path(websocket.request.path)  # type: ignore[union-attr]
        assert charge_point_id is not None  # checked during the handshake
        charge_point = self.central.charge_point(charge_point_id)
        connection = ChargePointConnection(
            charge_point,
            websocket,
            self.central,
            response_timeout=RESPONSE_TIMEOUT,
            throttle=CallThrottle(
                charge_point_id, self.limits.messages_per_second, self.limits.message_burst
            ),
        )
        previous = self.connections.get(charge_point_id)
        self.connections[charge_point_id] = connection
        profile = self._admitted.pop(websocket, SecurityProfile.UNSECURED)
        self.security_profiles[charge_point_id] = profile
        if previous is not None:
            # The charger reconnected before we noticed the old connection
            # die: the new connection wins.
            _LOGGER.info("%s: new connection replaces the previous one", charge_point_id)
            self._close_in_background(previous, "Replaced by a new connection")
        charge_point.connected = True
        _LOGGER.info(
            "%s: connected from %s (security profile %s)",
            charge_point_id,
            websocket.remote_address,
            int(profile),
        )
        self.central.connection_changed(charge_point)
        try:
            await connection.start()
        except ConnectionClosed as err:
            _LOGGER.info("%s: disconnected (%s)", charge_point_id, err)
        finally:
            if self.connections.get(charge_point_id) is connection:
                del self.connections[charge_point_id]
                self.security_profiles.pop(charge_point_id, None)
                charge_point.connected = False
                if not self._quiet:
                    self.central.connection_changed(charge_point)


def _remote_host(connection: ServerConnection) -> str:
    """The client's address without the port (the back-off key)."""
    address = connection.remote_address
    return str(address[0]) if address else ""


def _refusal(connection: ServerConnection, admission: Admission) -> Response:
    """The HTTP answer to a refused handshake."""
    status = admission.refusal or http.HTTPStatus.FORBIDDEN
    response = connection.respond(status, f"{admission.reason}\n")
    if status is http.HTTPStatus.UNAUTHORIZED:
        response.headers["WWW-Authenticate"] = 'Basic realm="OCPP"'
    if admission.retry_after is not None:
        response.headers["Retry-After"] = str(admission.retry_after)
    return response
