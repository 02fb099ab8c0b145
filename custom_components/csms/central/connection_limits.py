"""A cap on the connections one server holds open or opening at a time.

A connection counts from its handshake check until its TCP connection ends,
whatever happens in between: refused by a later check, timed out, upgraded
and closed later. One over the cap is refused with HTTP 503 before the
upgrade, so a flood of connections cannot exhaust memory or file handles.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import http
import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Response

_LOGGER = logging.getLogger(__name__)

# Refusals are reported at most this often: a flood would fill the log.
REPORT_INTERVAL_S = 60.0
# Chargers mostly ignore it, but it is the polite way to ask for patience.
RETRY_AFTER_S = 30


class ConnectionLimiter:
    """Counts open and opening connections against ``max_connections``."""

    def __init__(
        self, max_connections: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Nothing open yet."""
        self.max_connections = max_connections
        self.open = 0
        self.refused = 0
        self._clock = clock
        self._reported_at: float | None = None

    def check(self, connection: ServerConnection) -> Response | None:
        """The handshake check: None to go on, HTTP 503 when every slot is taken."""
        if self.admit(connection.connection_lost_waiter):
            return None
        return service_unavailable(connection)

    def admit(self, ended: asyncio.Future[None]) -> bool:
        """Take a slot until ``ended`` is done; False when every slot is taken."""
        if self.open >= self.max_connections:
            self.refused += 1
            self._report()
            return False
        self.open += 1
        ended.add_done_callback(self._release)
        return True

    def _release(self, _: asyncio.Future[None]) -> None:
        self.open -= 1

    def _report(self) -> None:
        now = self._clock()
        if self._reported_at is not None and now - self._reported_at < REPORT_INTERVAL_S:
            return
        self._reported_at = now
        _LOGGER.warning(
            "%s connections are open, the most allowed: refusing new ones (%s so far)",
            self.open,
            self.refused,
        )


def service_unavailable(connection: ServerConnection) -> Response:
    """The answer to a handshake over the cap (HTTP 503, before the upgrade)."""
    response = connection.respond(
        http.HTTPStatus.SERVICE_UNAVAILABLE, "Too many connections, try again later\n"
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response
