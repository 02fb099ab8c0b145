"""Connection, state and outgoing messages of a simulated OCPP 1.6J charge point.

`ChargePointCore` connects to a central system over a websocket and sends
the messages a real charger sends (boot, status, transactions, meter values).
One task receives frames; whatever a received call sets in motion runs in
short-lived background tasks, so the answer always goes out first and
nothing blocks the receiver. The answers themselves are in charge_point.py.

Transaction messages (MeterValues, StopTransaction) that cannot be delivered
because the connection is down are queued and sent after the next accepted
BootNotification, as OCPP 1.6 asks of real chargers.
"""

import asyncio
import base64
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
import functools
import itertools
import json
import logging
import random
import ssl
from typing import Any
from urllib.parse import quote
import zlib

from websockets.asyncio.client import ClientConnection, connect as websocket_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.protocol import State
from websockets.typing import Subprotocol

from . import configuration as config, smart_charging
from ._ocpp import (
    CallError,
    ChargePoint,
    OCPPError,
    call,
    datatypes,
    enums,
)
from .configuration import ConfigurationKey
from .meter import Meter, MeterSample

_LOGGER = logging.getLogger(__name__)
# The ocpp package logs every frame at INFO; give it its own logger name so
# the simulator's wire traffic can be silenced or told apart from a server's.
WIRE_LOGGER = logging.getLogger("simulator.ocpp")

SUBPROTOCOL = Subprotocol("ocpp1.6")
MAX_RECONNECT_DELAY = 30.0
# HTTP refusals that trying again with the same credentials cannot change.
REFUSALS = frozenset({401, 403, 404})
DEFAULT_BOOT_RETRY = 10.0

# The charging limit timer wakes up a little after a change is due, and at
# least once an hour.
LIMIT_TIMER_SLACK = 0.01
MAX_LIMIT_TIMER_DELAY = 3600.0

# Frames of a CALL, CALLRESULT and CALLERROR start with these type ids.
_CALL, _CALL_RESULT, _CALL_ERROR = 2, 3, 4

AVAILABLE = "Available"
PREPARING = "Preparing"
CHARGING = "Charging"
SUSPENDED_EV = "SuspendedEV"
SUSPENDED_EVSE = "SuspendedEVSE"
FINISHING = "Finishing"
RESERVED = "Reserved"
UNAVAILABLE = "Unavailable"
ACCEPTED = "Accepted"


class NotConnectedError(ConnectionError):
    """The charge point has no connection to deliver a message on."""


class AuthorizationRejectedError(Exception):
    """The central system did not accept an id tag."""

    def __init__(self, id_tag: str, status: str) -> None:
        """Remember the id tag and the status the central system gave."""
        super().__init__(f"id tag {id_tag!r} not accepted: {status}")
        self.id_tag = id_tag
        self.status = status


@dataclass(slots=True)
class Reservation:
    """A reservation made with ReserveNow."""

    reservation_id: int
    id_tag: str
    expiry: datetime
    parent_id_tag: str | None = None
    expiry_task: asyncio.Task[None] | None = None


@dataclass(slots=True)
class Connector:
    """State of one connector; connector 0 stands for the charge point itself."""

    status: str = AVAILABLE
    error_code: str = "NoError"
    operative: bool = True
    # Availability change waiting for the running transaction to end.
    scheduled_operative: bool | None = None
    plugged: bool = False
    starting: bool = False
    reservation: Reservation | None = None
    id_tag: str | None = None
    transaction_start_wh: int = 0
    transaction_start_time: str = ""


def utc_now() -> str:
    """Current time as OCPP wants it: ISO 8601 in UTC with a 'Z'."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _status_of(response: Any) -> str:
    return str(response.status) if response is not None else ""


class ChargePointCore(ChargePoint):  # type: ignore[misc]
    """Everything of a simulated charge point but its answers to the central system."""

    def __init__(  # noqa: PLR0915  (the one place that lists all state)
        self,
        charge_point_id: str,
        *,
        connectors: int = 1,
        vendor: str = "Csms Simulator",
        model: str = "SIM-22",
        serial_number: str | None = None,
        firmware_version: str = "1.0.0",
        response_timeout: float = 10.0,
        power_w: float | None = None,
        seed: int | None = None,
        auto_meter_values: bool = False,
        record_frames: bool = True,
        action_delay: float = 0.1,
        max_reconnect_delay: float = MAX_RECONNECT_DELAY,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """Create a disconnected charge point.

        `power_w` is what the simulated vehicles draw (None: the full 16 A on
        three phases). `seed` adds reproducible noise to meter readings.
        With `auto_meter_values` every transaction sends MeterValues every
        MeterValueSampleInterval seconds on its own, like a real charger.
        `record_frames=False` keeps no history of received frames (for runs
        with many chargers). `action_delay` is the pause between the steps
        of firmware updates, diagnostics uploads and resets.
        Reconnect attempts back off exponentially up to `max_reconnect_delay`.
        With a `password` it logs in with HTTP Basic authentication (security
        profiles 1 and 2); `ssl_context` is used for wss:// URLs (profiles 2
        and 3: load a client certificate into it for profile 3).
        """
        if connectors < 1:
            msg = f"connectors must be at least 1, got {connectors}"
            raise ValueError(msg)
        super().__init__(
            charge_point_id, None, response_timeout=response_timeout, logger=WIRE_LOGGER
        )
        self.vendor = vendor
        self.model = model
        # chargePointSerialNumber is at most 25 characters long.
        self.serial_number = serial_number or f"SIM-{charge_point_id}"[:25]
        self.firmware_version = firmware_version
        self.response_timeout = response_timeout
        self.connector_count = connectors
        self.auto_meter_values = auto_meter_values
        self.record_frames = record_frames
        self.action_delay = action_delay
        self.max_reconnect_delay = max_reconnect_delay

        self.meters: dict[int, Meter] = {
            connector_id: Meter(
                charging_power_w=power_w,
                seed=None if seed is None else seed * 1000 + connector_id,
            )
            for connector_id in range(1, connectors + 1)
        }
        self.connectors: dict[int, Connector] = {
            connector_id: Connector() for connector_id in range(connectors + 1)
        }
        self.transactions: dict[int, int] = {}
        self.configuration: dict[str, ConfigurationKey] = config.default_configuration(connectors)
        # The password of Basic authentication; AuthorizationKey replaces it.
        self.password = password
        self.ssl_context = ssl_context
        if password is not None:
            self.configuration["SecurityProfile"] = ConfigurationKey("1", False)
        self.charging_profiles: smart_charging.ProfileStore = {}
        self.local_list: dict[str, dict[str, Any]] = {}
        self.local_list_version = 0
        self.auth_cache: dict[str, dict[str, Any]] = {}
        self.firmware_status = "Idle"
        self.diagnostics_status = "Idle"
        self.boot_response: Any = None

        self.frames_received: list[str] = []
        self.calls_received: list[tuple[str, dict[str, Any]]] = []
        self.offline_queue: deque[Any] = deque()
        # One delivery of the queue at a time: a boot the central system
        # triggers may overlap the charger's own, and each would send the
        # queue's head and then drop a message the other had not sent.
        self._flush_lock = asyncio.Lock()

        self._ws: ClientConnection | None = None
        self._url = ""
        self._boot_on_reconnect = True
        self._heartbeats = True
        self._auto_reconnect = False
        # _closing: the current connection is being closed on purpose;
        # _stopped: disconnect() was called; _reconnecting: a connect loop runs.
        self._closing = False
        self._stopped = False
        self._reconnecting = False
        self._registered = False
        self._online = asyncio.Event()
        self._lost: asyncio.Future[None] | None = None
        self._receive_task: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._boot_retry_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.Task[None]] = set()
        self._samplers: dict[int, asyncio.Task[None]] = {}
        # Re-applies the charging limits when the profiles say they change.
        self._limit_timer: asyncio.Task[None] | None = None
        # With automatic meter values the meters follow the clock: loop time
        # up to which each charging connector's meter has been advanced.
        self._metered_at: dict[int, float] = {}
        self._deferred: dict[str, Callable[[], None]] = {}
        self._pending_ids: set[str] = set()
        self._raw_calls: dict[str, asyncio.Future[Any]] = {}
        self._frames: asyncio.Queue[str] = asyncio.Queue()
        self._call_signal = asyncio.Event()
        self._call_cursor: dict[str, int] = {}
        # Reconnect jitter differs per charger so a fleet does not reconnect
        # in lockstep after the central system restarts.
        self._rng = random.Random(zlib.crc32(charge_point_id.encode()) ^ (seed or 0))

    # ------------------------------------------------------------------
    # Connection
    # ------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the websocket is open."""
        return self._ws is not None and self._ws.state is State.OPEN

    @property
    def online(self) -> bool:
        """Whether the websocket is open and the central system accepted the boot."""
        return self.connected and self._registered

    @property
    def url(self) -> str:
        """Websocket URL of this charge point (base URL plus its id)."""
        return self._url.rstrip("/") + "/" + quote(self.id, safe="")

    async def connect(
        self,
        url: str,
        *,
        boot: bool = True,
        heartbeats: bool = True,
        reconnect: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> Any:
        """Connect to the central system at `url` and return the boot response.

        With `boot` the charge point sends BootNotification; once accepted it
        sends the queued transaction messages, a StatusNotification for every
        connector and starts heartbeats (unless `heartbeats` is false). A
        Pending or Rejected boot is retried after the interval given.
        With `reconnect` it keeps trying with back-off until connected and
        reconnects whenever the connection drops, until disconnect().
        `ssl_context` replaces the one given to the constructor (wss:// URLs).
        A refused handshake raises websockets' InvalidStatus (its
        `response.status_code` is the HTTP status); with `reconnect`, only a
        401, 403 or 404 of the first attempt does.
        """
        if self.connected:
            msg = f"{self.id} is already connected"
            raise RuntimeError(msg)
        if ssl_context is not None:
            self.ssl_context = ssl_context
        self._url = url
        self._boot_on_reconnect = boot
        self._heartbeats = heartbeats
        self._auto_reconnect = reconnect
        self._stopped = False
        if reconnect:
            return await self._connect_with_backoff(first_attempt=0)
        await self._open()
        return await self._boot_sequence() if boot else None

    async def disconnect(self) -> None:
        """Close the connection (code 1000) and stop everything in progress."""
        self._stopped = True
        current = asyncio.current_task()
        tasks = [
            task
            for task in (
                self._reconnect_task,
                self._heartbeat_task,
                self._boot_retry_task,
                *self._tasks,
                *self._timers,
                *self._samplers.values(),
            )
            if task is not None and task is not current and not task.done()
        ]
        for task in tasks:
            task.cancel()
        await self._close_connection()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._samplers.clear()

    async def wait_closed(self) -> None:
        """Return once the current connection has closed (e.g. by the server)."""
        task = self._receive_task
        if task is not None:
            # wait() neither raises the task's outcome nor cancels it.
            await asyncio.wait((task,))

    async def wait_online(self) -> None:
        """Return once connected and the central system accepted the boot."""
        await self._online.wait()

    async def send_raw(self, text: str) -> None:
        """Send `text` as a websocket text frame, as it is."""
        ws = self._require_connection()
        try:
            await ws.send(text)
        except ConnectionClosed as err:
            raise NotConnectedError(str(err)) from err

    async def call_raw(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a call with a camelCase payload as it is; return the answer's payload.

        Nothing is validated, so malformed requests can be tried. A CALLERROR
        raises the matching OCPPError; no answer within the response timeout
        raises TimeoutError.
        """
        ws = self._require_connection()
        lost = self._lost
        if lost is None:  # pragma: no cover  (set whenever a connection opens)
            raise NotConnectedError(self.id)
        unique_id = str(self._unique_id_generator())
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._raw_calls[unique_id] = answer
        try:
            await ws.send(json.dumps([_CALL, unique_id, action, payload], separators=(",", ":")))
            async with asyncio.timeout(self.response_timeout):
                await asyncio.wait((answer, lost), return_when=asyncio.FIRST_COMPLETED)
        except ConnectionClosed as err:
            raise NotConnectedError(str(err)) from err
        finally:
            self._raw_calls.pop(unique_id, None)
        if not answer.done():
            msg = f"{self.id}: connection lost while waiting for {action}"
            raise NotConnectedError(msg)
        message: list[Any] = answer.result()
        if message[0] == _CALL_ERROR:
            raise CallError(*message[1:5]).to_exception()
        result = message[2] if len(message) > 2 else {}
        return result if isinstance(result, dict) else {}

    async def next_frame(self, timeout: float | None = 5.0) -> str:  # noqa: ASYNC109
        """Return the oldest received frame that was not the answer to one of our calls.

        That is every call from the central system and every answer to a
        frame sent with send_raw(), in order of arrival.
        """
        async with asyncio.timeout(timeout):
            return await self._frames.get()

    async def wait_for_call(
        self,
        action: str,
        timeout: float | None = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Payload of the oldest `action` call not yet returned, waiting for one.

        Calls are recorded after they have been answered and any follow-up
        action (e.g. starting a remote transaction) has been set in motion.
        """
        async with asyncio.timeout(timeout):
            while True:
                signal = self._call_signal
                start = self._call_cursor.get(action, 0)
                for index in range(start, len(self.calls_received)):
                    name, payload = self.calls_received[index]
                    if name == action:
                        self._call_cursor[action] = index + 1
                        return payload
                self._call_cursor[action] = len(self.calls_received)
                await signal.wait()

    async def wait_background(self, timeout: float | None = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the actions started by received calls have finished."""
        async with asyncio.timeout(timeout):
            while pending := [task for task in self._tasks if not task.done()]:
                await asyncio.wait(pending)

    def _authorization_headers(self) -> dict[str, str]:
        """HTTP Basic authentication: the charge point id and the password."""
        if self.password is None:
            return {}
        credentials = f"{self.id}:{self.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(credentials).decode("ascii")}

    async def _open(self) -> None:
        ping = config.as_int(self.configuration, "WebSocketPingInterval") or None
        secure = self.url.startswith("wss://")
        ws = await websocket_connect(
            self.url,
            additional_headers=self._authorization_headers(),
            # websockets refuses an SSL context for ws:// URLs.
            ssl=self.ssl_context if secure else None,
            subprotocols=[SUBPROTOCOL],
            # Chargers do not compress, and a deflate context per connection
            # costs memory when simulating a large fleet.
            compression=None,
            proxy=None,
            open_timeout=self.response_timeout,
            ping_interval=ping,
        )
        if ws.subprotocol != SUBPROTOCOL:
            _LOGGER.warning("%s: server did not select subprotocol ocpp1.6", self.id)
        self._ws = ws
        self._connection = ws
        self._closing = False
        # Without a boot the caller decides what to send, offline queue or not.
        self._registered = not self._boot_on_reconnect
        if self._registered:
            self._online.set()
        self._lost = asyncio.get_running_loop().create_future()
        self._receive_task = asyncio.create_task(self._receive_loop(ws), name=f"{self.id} receive")
        _LOGGER.info("%s: connected to %s", self.id, self.url)

    async def _close_connection(self) -> None:
        self._closing = True
        ws = self._ws
        if ws is not None:
            await ws.close()
        task = self._receive_task
        if task is not None and task is not asyncio.current_task():
            await asyncio.gather(task, return_exceptions=True)

    async def _receive_loop(self, ws: ClientConnection) -> None:
        cancelled = False
        try:
            async for frame in ws:
                text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
                WIRE_LOGGER.info("%s: receive message %s", self.id, text)
                if self.record_frames:
                    self.frames_received.append(text)
                try:
                    await self.route_message(text)
                except ConnectionClosed:
                    break
                except Exception:
                    _LOGGER.exception("%s: failed to handle %s", self.id, text)
        except ConnectionClosed:
            pass
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            # A cancelled receiver means the event loop is being torn down.
            self._connection_closed(ws, may_reconnect=not cancelled)

    def _connection_closed(self, ws: ClientConnection, *, may_reconnect: bool) -> None:
        if ws is not self._ws:
            return
        self._registered = False
        self._online.clear()
        self._deferred.clear()
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        for task in (self._heartbeat_task, self._boot_retry_task):
            if task is not None:
                task.cancel()
        for connector_id, state in self.connectors.items():
            # Remote starts accepted but never begun must not block the connector.
            if connector_id not in self.transactions:
                state.starting = False
        _LOGGER.info("%s: disconnected (code %s)", self.id, ws.close_code or "-")
        if (
            may_reconnect
            and self._auto_reconnect
            and not self._closing
            and not self._stopped
            and not self._reconnecting
        ):
            self._reconnect_task = asyncio.create_task(
                self._connect_with_backoff(first_attempt=1), name=f"{self.id} reconnect"
            )

    async def _connect_with_backoff(self, first_attempt: int) -> Any:
        self._reconnecting = True
        try:
            for attempt in itertools.count(first_attempt):
                if attempt:
                    delay = min(self.max_reconnect_delay, 2.0 ** (attempt - 1))
                    delay *= self._rng.uniform(0.5, 1.0)
                    _LOGGER.info("%s: reconnecting in %.1f s", self.id, delay)
                    await asyncio.sleep(delay)
                if self._stopped:
                    return None
                try:
                    await self._open()
                    if not self._boot_on_reconnect:
                        return None
                    return await self._boot_sequence()
                except (OSError, InvalidHandshake, TimeoutError, OCPPError) as err:
                    _LOGGER.warning("%s: connection attempt failed: %s", self.id, err)
                    await self._close_connection()
                    if (
                        attempt == 0
                        and isinstance(err, InvalidStatus)
                        and err.response.status_code in REFUSALS
                    ):
                        # The caller's own attempt: wrong credentials or an
                        # unknown id are for the caller to see.
                        raise
        finally:
            self._reconnecting = False
        return None  # the loop above only ends by returning

    def _require_connection(self) -> ClientConnection:
        if self._ws is None or not self.connected:
            msg = f"{self.id} is not connected"
            raise NotConnectedError(msg)
        return self._ws

    # ------------------------------------------------------------------
    # Message plumbing (overrides of the ocpp base class)
    # ------------------------------------------------------------------

    async def route_message(self, raw_msg: str) -> None:
        """Route a received frame.

        Answers to our own calls go to the waiting call; every other frame is
        offered to next_frame(). Answers to calls we are not waiting for stop
        there: the base class would take them for the answer to the next call.
        """
        try:
            message = json.loads(raw_msg)
        except ValueError:
            message = None
        if not isinstance(message, list):
            # Not OCPP-J at all: a charger can only ignore it.
            _LOGGER.warning(
                "%s: ignoring frame that is not an OCPP-J message: %.200s", self.id, raw_msg
            )
            self._offer_frame(raw_msg)
            return
        if len(message) > 1 and message[0] in (_CALL_RESULT, _CALL_ERROR):
            unique_id = str(message[1])
            raw_answer = self._raw_calls.get(unique_id)
            if raw_answer is not None and not raw_answer.done():
                raw_answer.set_result(message)
                return
            if unique_id not in self._pending_ids:
                _LOGGER.debug("%s: answer to no pending call: %s", self.id, raw_msg)
                self._offer_frame(raw_msg)
                return
        else:
            self._offer_frame(raw_msg)
        action: str | None = None
        payload: dict[str, Any] = {}
        if len(message) > 2 and message[0] == _CALL:
            action = str(message[2])
            if len(message) > 3 and isinstance(message[3], dict):
                payload = message[3]
        try:
            await super().route_message(raw_msg)
        finally:
            if action is not None:
                self._record_call(action, payload)

    def _offer_frame(self, text: str) -> None:
        if self.record_frames:
            self._frames.put_nowait(text)

    def _record_call(self, action: str, payload: dict[str, Any]) -> None:
        _LOGGER.info("%s: central system sent %s", self.id, action)
        self.calls_received.append((action, payload))
        self._call_signal.set()
        self._call_signal = asyncio.Event()

    async def call(
        self,
        payload: Any,
        suppress: bool = True,
        unique_id: str | None = None,
        skip_schema_validation: bool = False,
    ) -> Any:
        """Send a call and return its result, like the base class.

        Raises NotConnectedError when there is no connection or it drops
        before the answer arrives, instead of waiting for the timeout.
        """
        self._require_connection()
        lost = self._lost
        if lost is None:  # pragma: no cover  (set whenever a connection opens)
            raise NotConnectedError(self.id)
        unique_id = unique_id or str(self._unique_id_generator())
        self._pending_ids.add(unique_id)
        request = asyncio.ensure_future(
            super().call(payload, suppress, unique_id, skip_schema_validation)
        )
        try:
            await asyncio.wait((request, lost), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            request.cancel()
            self._pending_ids.discard(unique_id)
            self._drop_stale_answers()
            raise
        finally:
            self._pending_ids.discard(unique_id)
        if not request.done():
            request.cancel()
            self._drop_stale_answers()
            msg = f"{self.id}: connection lost while waiting for {type(payload).__name__}"
            raise NotConnectedError(msg)
        try:
            return request.result()
        except ConnectionClosed as err:
            raise NotConnectedError(str(err)) from err

    def _drop_stale_answers(self) -> None:
        """Forget queued answers to calls given up on.

        The base class hands answers to the waiting call through a queue; an
        answer left there by an abandoned call would be read by the next one.
        """
        queue = self._response_queue
        for _ in range(queue.qsize()):
            answer = queue.get_nowait()
            if answer.unique_id in self._pending_ids:
                queue.put_nowait(answer)

    def _spawn(self, name: str, action: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `action` in a task that disconnect() cancels and that logs failures."""
        task = asyncio.create_task(self._guarded(name, action), name=f"{self.id} {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, name: str, action: Callable[[], Coroutine[Any, Any, None]]) -> None:
        try:
            await action()
        except NotConnectedError as err:
            _LOGGER.info("%s: %s interrupted: %s", self.id, name, err)
        except (TimeoutError, OCPPError) as err:
            _LOGGER.warning("%s: %s failed: %r", self.id, name, err)
        except Exception:
            _LOGGER.exception("%s: %s failed", self.id, name)

    def _defer(
        self,
        call_unique_id: str,
        name: str,
        action: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        """Run `action` once the answer to call `call_unique_id` has been sent."""
        self._deferred[call_unique_id] = functools.partial(self._spawn, name, action)

    def _run_deferred(self, call_unique_id: str) -> None:
        start = self._deferred.pop(call_unique_id, None)
        if start is not None:
            start()

    # ------------------------------------------------------------------
    # Messages initiated by the charge point
    # ------------------------------------------------------------------

    async def boot(self) -> Any:
        """Send BootNotification and return the call result."""
        response = await self.call(
            call.BootNotification(
                charge_point_model=self.model,
                charge_point_vendor=self.vendor,
                charge_point_serial_number=self.serial_number,
                firmware_version=self.firmware_version,
                meter_type="Simulated",
            ),
            suppress=False,
        )
        self.boot_response = response
        _LOGGER.info("%s: boot %s (interval %s s)", self.id, response.status, response.interval)
        return response

    async def heartbeat(self) -> Any:
        """Send Heartbeat and return the call result."""
        return await self.call(call.Heartbeat(), suppress=False)

    async def status(
        self,
        connector_id: int,
        status: str,
        error_code: str = "NoError",
        info: str | None = None,
        vendor_error_code: str | None = None,
    ) -> Any:
        """Set a connector status and report it with StatusNotification.

        Offline the status is only stored; it is reported after the next boot.
        Any connector id can be reported, also one the charge point does not
        have (a charger may reveal connectors late); only known ones are stored.
        """
        state = self.connectors.get(connector_id)
        if state is not None:
            state.status = status
            state.error_code = error_code
        if not self.connected:
            return None
        try:
            return await self.call(
                call.StatusNotification(
                    connector_id=connector_id,
                    error_code=error_code,
                    status=status,
                    timestamp=utc_now(),
                    info=info,
                    vendor_error_code=vendor_error_code,
                ),
                suppress=False,
            )
        except NotConnectedError:
            return None

    async def plug_in(self, connector_id: int) -> Any:
        """Plug a vehicle in: StatusNotification Preparing."""
        self._check_connector(connector_id)
        self.connectors[connector_id].plugged = True
        return await self.status(connector_id, PREPARING)

    async def unplug(self, connector_id: int) -> Any:
        """Unplug the vehicle (ending a running transaction): usually Available."""
        self._check_connector(connector_id)
        if connector_id in self.transactions:
            await self.stop_transaction(connector_id, reason="EVDisconnected")
        self.connectors[connector_id].plugged = False
        return await self.status(connector_id, self._idle_status(connector_id))

    async def authorize(self, id_tag: str) -> dict[str, Any]:
        """Send Authorize and return idTagInfo (snake_case keys)."""
        response = await self.call(call.Authorize(id_tag=id_tag), suppress=False)
        info = dict(response.id_tag_info)
        if info.get("status") == ACCEPTED and config.as_bool(
            self.configuration, "AuthorizationCacheEnabled"
        ):
            self.auth_cache[id_tag] = info
        return info

    async def start_transaction(
        self,
        connector_id: int,
        id_tag: str,
        meter_start: int | None = None,
        timestamp: str | None = None,
    ) -> int:
        """Start a transaction; return the transaction id from the central system.

        meterStart is the meter register unless `meter_start` is given, which
        then becomes the register. Reports Charging afterwards.
        """
        self._check_connector(connector_id)
        if connector_id in self.transactions:
            msg = (
                f"connector {connector_id} already runs transaction "
                f"{self.transactions[connector_id]}"
            )
            raise ValueError(msg)
        meter = self.meters[connector_id]
        state = self.connectors[connector_id]
        if meter_start is None:
            meter_start = meter.register_wh
        else:
            meter.energy_wh = float(meter_start)
        timestamp = timestamp or utc_now()
        reservation = state.reservation
        reservation_id = None
        if reservation is not None and reservation.id_tag == id_tag:
            reservation_id = reservation.reservation_id
        state.starting = True
        try:
            response = await self.call(
                call.StartTransaction(
                    connector_id=connector_id,
                    id_tag=id_tag,
                    meter_start=meter_start,
                    timestamp=timestamp,
                    reservation_id=reservation_id,
                ),
                suppress=False,
            )
        finally:
            state.starting = False
        transaction_id = int(response.transaction_id)
        if reservation_id is not None:
            self._drop_reservation(connector_id)
        self.transactions[connector_id] = transaction_id
        state.id_tag = id_tag
        state.plugged = True
        state.transaction_start_wh = meter_start
        state.transaction_start_time = timestamp
        meter.charging = True
        self._apply_charging_limits()
        tag_status = dict(response.id_tag_info).get("status")
        _LOGGER.info(
            "%s: transaction %s started on connector %s for %s (meter %s Wh, %s)",
            self.id,
            transaction_id,
            connector_id,
            id_tag,
            meter_start,
            tag_status,
        )
        if self.auto_meter_values:
            self._metered_at[connector_id] = asyncio.get_running_loop().time()
        # A charging profile may allow no current yet: then the EVSE holds back.
        await self.status(connector_id, self._charging_status(connector_id))
        self._start_sampler(connector_id)
        return transaction_id

    async def send_meter_values(
        self,
        connector_id: int,
        seconds: float = 60.0,
        power_w: float | None = None,
        context: str = "Sample.Periodic",
    ) -> MeterSample:
        """Advance the connector's meter by `seconds` and send MeterValues.

        `power_w` replaces the modelled power for this interval. Offline the
        message is queued. Returns the sample that was reported.
        """
        self._check_connector(connector_id)
        meter = self.meters[connector_id]
        meter.advance(seconds, power_w)
        sample = meter.sample(power_w)
        measurands = config.as_set(self.configuration, "MeterValuesSampledData")
        await self._send_transaction_message(
            call.MeterValues(
                connector_id=connector_id,
                meter_value=[
                    datatypes.MeterValue(
                        timestamp=utc_now(),
                        sampled_value=self._sampled_values(meter, sample, context, measurands),
                    )
                ],
                transaction_id=self.transactions.get(connector_id),
            )
        )
        state = self.connectors[connector_id]
        if connector_id in self.transactions and meter.full and state.status == CHARGING:
            # A full battery stops drawing current while the session goes on.
            await self.status(connector_id, SUSPENDED_EV)
        return sample

    async def stop_transaction(
        self, connector_id: int, reason: str = "Local", id_tag: str | None = None
    ) -> Any:
        """Stop the transaction on a connector and report Finishing.

        Returns the call result, or None when the message was queued offline.
        """
        self._check_connector(connector_id)
        if connector_id not in self.transactions:
            msg = f"no transaction on connector {connector_id}"
            raise ValueError(msg)
        transaction_id = self.transactions.pop(connector_id)
        self._stop_sampler(connector_id)
        state = self.connectors[connector_id]
        meter = self.meters[connector_id]
        if connector_id in self._metered_at:
            meter.advance(self._elapsed(connector_id))
            del self._metered_at[connector_id]
        meter.charging = False
        meter_stop = meter.register_wh
        now = utc_now()
        transaction_data = [
            datatypes.MeterValue(
                timestamp=state.transaction_start_time,
                sampled_value=[self._energy_value(state.transaction_start_wh, "Transaction.Begin")],
            ),
            datatypes.MeterValue(
                timestamp=now,
                sampled_value=[self._energy_value(meter_stop, "Transaction.End")],
            ),
        ]
        _LOGGER.info(
            "%s: transaction %s stopped on connector %s (%s), %s Wh charged",
            self.id,
            transaction_id,
            connector_id,
            reason,
            meter_stop - state.transaction_start_wh,
        )
        state.id_tag = None
        smart_charging.clear(
            self.charging_profiles,
            connector_id=connector_id,
            purpose=smart_charging.TX_PROFILE,
        )
        self._apply_charging_limits()
        try:
            return await self._send_transaction_message(
                call.StopTransaction(
                    meter_stop=meter_stop,
                    timestamp=now,
                    transaction_id=transaction_id,
                    reason=reason,
                    id_tag=id_tag,
                    transaction_data=transaction_data,
                )
            )
        finally:
            # The transaction is over even if the central system refused the message.
            await self.status(connector_id, FINISHING)
            await self._apply_scheduled_availability(connector_id)

    async def run_session(
        self,
        connector_id: int,
        id_tag: str,
        samples: int = 3,
        seconds_per_sample: float = 60.0,
    ) -> int:
        """Plug in, authorize, charge for `samples` meter values, stop, unplug.

        Raises AuthorizationRejectedError (after unplugging) when the id tag
        is not accepted. Returns the transaction id.
        """
        await self.plug_in(connector_id)
        info = await self.authorize(id_tag)
        if info.get("status") != ACCEPTED:
            await self.unplug(connector_id)
            raise AuthorizationRejectedError(id_tag, str(info.get("status")))
        transaction_id = await self.start_transaction(connector_id, id_tag)
        for _ in range(samples):
            await self.send_meter_values(connector_id, seconds=seconds_per_sample)
        await self.stop_transaction(connector_id, reason="Local", id_tag=id_tag)
        await self.unplug(connector_id)
        return transaction_id

    async def data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None
    ) -> Any:
        """Send DataTransfer and return the call result."""
        return await self.call(
            call.DataTransfer(vendor_id=vendor_id, message_id=message_id, data=data),
            suppress=False,
        )

    async def flush_offline_queue(self) -> int:
        """Send the transaction messages queued while offline; return how many.

        Stops at the first delivery failure caused by the connection; a
        message the central system answers with an error is dropped.
        """
        sent = 0
        async with self._flush_lock:
            while self.offline_queue:
                payload = self.offline_queue[0]
                try:
                    await self.call(payload, suppress=False)
                except NotConnectedError:
                    break
                except (TimeoutError, OCPPError) as err:
                    _LOGGER.warning(
                        "%s: dropping queued %s: %r", self.id, type(payload).__name__, err
                    )
                else:
                    sent += 1
                self.offline_queue.popleft()
        if sent:
            _LOGGER.info("%s: sent %s queued transaction messages", self.id, sent)
        return sent

    async def _send_transaction_message(self, payload: Any) -> Any:
        if not self.online:
            self.offline_queue.append(payload)
            return None
        try:
            return await self.call(payload, suppress=False)
        except NotConnectedError:
            self.offline_queue.append(payload)
            return None

    async def _notify_status(self, connector_id: int) -> None:
        state = self.connectors[connector_id]
        await self.status(connector_id, state.status, state.error_code)

    # ------------------------------------------------------------------
    # Boot and heartbeats
    # ------------------------------------------------------------------

    async def _boot_sequence(self) -> Any:
        response = await self.boot()
        if _status_of(response) == ACCEPTED:
            await self._boot_accepted(response)
        else:
            self._schedule_boot_retry(response)
        return response

    async def _boot_accepted(self, response: Any) -> None:
        if self._boot_retry_task is not None and (
            self._boot_retry_task is not asyncio.current_task()
        ):
            self._boot_retry_task.cancel()
        if int(response.interval) > 0:
            self.configuration["HeartbeatInterval"] = ConfigurationKey(
                str(response.interval), False
            )
        if not self._registered:
            await self.flush_offline_queue()
            # The connection may have dropped while flushing.
            self._require_connection()
            self._registered = True
            for connector_id in self.connectors:
                await self._notify_status(connector_id)
        self._start_heartbeats()
        if self.connected:
            self._online.set()

    def _schedule_boot_retry(self, response: Any) -> None:
        if self._boot_retry_task is not None:
            self._boot_retry_task.cancel()
        delay = float(response.interval) if int(response.interval) > 0 else DEFAULT_BOOT_RETRY
        self._boot_retry_task = asyncio.create_task(
            self._retry_boot(delay), name=f"{self.id} boot retry"
        )

    async def _retry_boot(self, delay: float) -> None:
        while True:
            await asyncio.sleep(delay)
            try:
                response = await self.boot()
                if _status_of(response) == ACCEPTED:
                    await self._boot_accepted(response)
                    return
            except NotConnectedError:
                return
            except (TimeoutError, OCPPError) as err:
                _LOGGER.warning("%s: boot failed: %r", self.id, err)
                continue
            if int(response.interval) > 0:
                delay = float(response.interval)

    def _start_heartbeats(self) -> None:
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            self._heartbeat_task = None
        interval = config.as_int(self.configuration, "HeartbeatInterval")
        if self._heartbeats and interval > 0 and self.connected:
            self._heartbeat_task = asyncio.create_task(
                self._heartbeat_loop(interval), name=f"{self.id} heartbeat"
            )

    async def _heartbeat_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.heartbeat()
            except NotConnectedError:
                return
            except (TimeoutError, OCPPError) as err:
                _LOGGER.warning("%s: heartbeat failed: %r", self.id, err)

    # ------------------------------------------------------------------
    # Meter values
    # ------------------------------------------------------------------

    def _start_sampler(self, connector_id: int) -> None:
        self._stop_sampler(connector_id)
        interval = config.as_int(self.configuration, "MeterValueSampleInterval")
        if self.auto_meter_values and interval > 0 and connector_id in self.transactions:
            self._samplers[connector_id] = asyncio.create_task(
                self._sample_loop(connector_id, interval),
                name=f"{self.id} meter values {connector_id}",
            )

    def _stop_sampler(self, connector_id: int) -> None:
        task = self._samplers.pop(connector_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _sample_loop(self, connector_id: int, interval: float) -> None:
        while connector_id in self.transactions:
            await asyncio.sleep(interval)
            try:
                await self.send_meter_values(connector_id, seconds=self._elapsed(connector_id))
            except (TimeoutError, OCPPError) as err:
                _LOGGER.warning("%s: meter values failed: %r", self.id, err)

    def _elapsed(self, connector_id: int) -> float:
        """Seconds since the meter last caught up with the clock (automatic mode)."""
        now = asyncio.get_running_loop().time()
        elapsed = now - self._metered_at.get(connector_id, now)
        self._metered_at[connector_id] = now
        return elapsed

    @staticmethod
    def _energy_value(register_wh: int, context: str) -> Any:
        return datatypes.SampledValue(
            value=str(register_wh),
            context=context,
            measurand=enums.Measurand.energy_active_import_register,
            location=enums.Location.outlet,
            unit=enums.UnitOfMeasure.wh,
        )

    @staticmethod
    def _sampled_values(
        meter: Meter, sample: MeterSample, context: str, measurands: frozenset[str]
    ) -> list[Any]:
        measurand = enums.Measurand
        unit = enums.UnitOfMeasure
        values: list[Any] = []

        def add(
            kind: Any,
            value: str,
            unit_of_measure: Any,
            *,
            phase: str | None = None,
            location: Any = enums.Location.outlet,
        ) -> None:
            if str(kind) in measurands:
                values.append(
                    datatypes.SampledValue(
                        value=value,
                        context=context,
                        measurand=kind,
                        phase=phase,
                        location=location,
                        unit=unit_of_measure,
                    )
                )

        add(measurand.energy_active_import_register, str(sample.register_wh), unit.wh)
        add(measurand.power_active_import, f"{sample.power_w:.1f}", unit.w)
        for phase, current in zip(("L1", "L2", "L3"), sample.currents_a, strict=True):
            add(measurand.current_import, f"{current:.2f}", unit.a, phase=phase)
        for phase, voltage in zip(("L1-N", "L2-N", "L3-N"), sample.voltages_v, strict=True):
            add(measurand.voltage, f"{voltage:.1f}", unit.v, phase=phase)
        offered_a = min(meter.max_current_a, meter.current_limit_a)
        add(measurand.current_offered, f"{offered_a:.1f}", unit.a)
        add(
            measurand.power_offered,
            f"{offered_a * meter.phases * meter.voltage_v:.1f}",
            unit.w,
        )
        add(
            measurand.soc,
            f"{sample.soc_percent:.0f}",
            unit.percent,
            location=enums.Location.ev,
        )
        add(
            measurand.temperature,
            f"{sample.temperature_c:.1f}",
            unit.celsius,
            location=enums.Location.body,
        )
        if not values:
            # MeterValues needs at least one value; the register always exists.
            values.append(ChargePointCore._energy_value(sample.register_wh, context))
        return values

    # ------------------------------------------------------------------
    # State helpers
    # ------------------------------------------------------------------

    def _check_connector(self, connector_id: int, *, allow_zero: bool = False) -> None:
        lowest = 0 if allow_zero else 1
        if not lowest <= connector_id <= self.connector_count:
            msg = f"{self.id} has no connector {connector_id}"
            raise ValueError(msg)

    def _exists(self, connector_id: int | None, *, allow_zero: bool = False) -> bool:
        lowest = 0 if allow_zero else 1
        return connector_id is not None and lowest <= connector_id <= self.connector_count

    def _idle_status(self, connector_id: int) -> str:
        state = self.connectors[connector_id]
        if not state.operative:
            return UNAVAILABLE
        if connector_id == 0:
            return AVAILABLE
        if state.reservation is not None:
            return RESERVED
        return PREPARING if state.plugged else AVAILABLE

    def _drop_reservation(self, connector_id: int) -> None:
        state = self.connectors[connector_id]
        reservation = state.reservation
        state.reservation = None
        timer = reservation.expiry_task if reservation is not None else None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def _apply_scheduled_availability(self, connector_id: int) -> None:
        targets = [connector_id]
        if not self.transactions:
            targets.insert(0, 0)
        for target in targets:
            state = self.connectors[target]
            if state.scheduled_operative is None:
                continue
            state.operative = state.scheduled_operative
            state.scheduled_operative = None
            await self.status(target, self._idle_status(target))

    def _charging_contexts(self) -> dict[int, smart_charging.ConnectorContext]:
        """What each connector's limit depends on besides the charging profiles."""
        contexts = {}
        for connector_id, meter in self.meters.items():
            transaction_id = self.transactions.get(connector_id)
            start = None
            if transaction_id is not None:
                start = smart_charging.parse_time(
                    self.connectors[connector_id].transaction_start_time
                ) or datetime.now(UTC)
            contexts[connector_id] = smart_charging.ConnectorContext(
                max_current_a=meter.max_current_a,
                phases=meter.phases,
                voltage_v=meter.voltage_v,
                charging=meter.charging,
                transaction_id=transaction_id,
                transaction_start=start,
            )
        return contexts

    def _apply_charging_limits(self, *, report: bool = True) -> None:
        """Set each meter's limit from the charging profiles in effect now.

        Arms a timer for the next moment a limit may change (a period
        starts, a profile's validity or duration ends). With `report`, a
        charging connector whose limit dropped to 0 or came back reports
        SuspendedEVSE or Charging in the background.
        """
        now = datetime.now(UTC)
        contexts = self._charging_contexts()
        limits = smart_charging.applied_limits(self.charging_profiles, contexts, now)
        for connector_id, limit in limits.items():
            meter = self.meters[connector_id]
            if (meter.current_limit_a, meter.phase_limit) == (limit.current_a, limit.phases):
                continue
            if connector_id in self._metered_at:
                # The energy up to now was drawn at the old limit.
                meter.advance(self._elapsed(connector_id))
            meter.current_limit_a = limit.current_a
            meter.phase_limit = limit.phases
        self._arm_limit_timer(
            smart_charging.next_limit_change(self.charging_profiles, contexts, now)
        )
        if report and self._charging_states_to_report():
            self._spawn("charging state", self._report_charging_states)

    def _arm_limit_timer(self, moment: datetime | None) -> None:
        timer = self._limit_timer
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        self._limit_timer = None
        if moment is None or self._stopped:
            return
        delay = max((moment - datetime.now(UTC)).total_seconds(), 0.0) + LIMIT_TIMER_SLACK
        # Waking up now and then catches up with a wall clock that jumped.
        delay = min(delay, MAX_LIMIT_TIMER_DELAY)
        timer = asyncio.create_task(
            self._guarded("charging limits", functools.partial(self._limit_timer_fired, delay)),
            name=f"{self.id} charging limits",
        )
        self._limit_timer = timer
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)

    async def _limit_timer_fired(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._limit_timer = None
        self._apply_charging_limits()

    def _charging_status(self, connector_id: int) -> str:
        """Charging, or SuspendedEVSE while the charger may offer no current."""
        return SUSPENDED_EVSE if self.meters[connector_id].current_limit_a <= 0 else CHARGING

    def _charging_states_to_report(self) -> list[int]:
        return [
            connector_id
            for connector_id in sorted(self.transactions)
            if self.connectors[connector_id].status in (CHARGING, SUSPENDED_EVSE)
            and self.connectors[connector_id].status != self._charging_status(connector_id)
        ]

    async def _report_charging_states(self) -> None:
        """Report Charging/SuspendedEVSE where the limit changed that (nothing else)."""
        while pending := self._charging_states_to_report():
            connector_id = pending[0]
            await self.status(connector_id, self._charging_status(connector_id))
