"""One connected charge point: OCPP 1.6 message handling over its websocket."""

from __future__ import annotations

import asyncio
from datetime import datetime
import logging
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from ocpp.charge_point import camel_to_snake_case, remove_nones, snake_to_camel_case
from ocpp.exceptions import InternalError, OCPPError, SecurityError
from ocpp.messages import Call, CallError, CallResult
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as OcppChargePoint, call_result
from ocpp.v16.enums import (
    Action,
    ChargePointErrorCode,
    DataTransferStatus,
    GenericStatus,
    Reason,
    RegistrationStatus,
)
from websockets.exceptions import ConnectionClosed

from . import metering
from .authorization import Purpose
from .errors import CallErrorResponse, NotConnectedError, RequestTimeoutError
from .events import ChargePointEvent, EventKind
from .firmware import UploadPurpose
from .frames import (
    FrameError,
    as_ocpp16_error,
    parse_frame,
    unknown_action_error,
    validate_call,
)
from .model import ChargePoint
from .rate_limit import CallThrottle
from .redaction import redact_frame, redact_logger
from .security_events import SecurityEvent
from .timestamps import format_timestamp, parse_timestamp, utcnow

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from .central_system import CentralSystem

_LOGGER = logging.getLogger(__name__)
_TRAFFIC_LOGGER = logging.getLogger(f"{__package__}.traffic")
# Every frame passes through that logger: no id tag or secret may reach a handler.
redact_logger(_TRAFFIC_LOGGER)

# BootNotification interval for a charger that is not (yet) accepted: a
# pending one asks again soon, a rejected one stays quiet for a while.
PENDING_BOOT_INTERVAL = 30
REJECTED_BOOT_INTERVAL = 300
# A clock further off than this is worth telling the user about.
CLOCK_SKEW_TOLERANCE_S = 300
# Chargers report their status right after booting: those timestamps show
# their clock, while later ones may have waited in an offline queue.
FRESH_STATUS_WINDOW_S = 120


def handles(action: Action) -> Any:
    """Register a handler; the schema check is ours (see ``validate_call``)."""
    return on(action, skip_schema_validation=True)


class ChargePointConnection(OcppChargePoint):  # type: ignore[misc]
    """Handles the OCPP 1.6 messages of one charge point connection.

    The handlers keep to protocol mechanics; what the central system knows
    and decides lives in :class:`CentralSystem`.
    """

    def __init__(
        self,
        charge_point: ChargePoint,
        websocket: ServerConnection,
        central: CentralSystem,
        *,
        response_timeout: float,
        throttle: CallThrottle | None = None,
    ) -> None:
        """Bind a charge point to its websocket; ``throttle`` paces its calls."""
        super().__init__(
            charge_point.charge_point_id,
            websocket,
            response_timeout=response_timeout,
            # The ocpp package logs every frame at info level: keep that
            # apart so it can be switched on alone.
            logger=_TRAFFIC_LOGGER,
        )
        self.charge_point = charge_point
        self.websocket = websocket
        self._central = central
        # The CSR of a SignCertificate answered Accepted, signed once the answer is out.
        self._accepted_csr: str | None = None
        self._throttle = throttle

    async def route_message(self, raw_msg: str | bytes) -> None:
        """Parse and dispatch one frame, answering faults the OCPP-J 1.6 way.

        Replaces the ``ocpp`` package's routing, which ignores malformed
        frames and uses OCPP 2.0 error names. A fault in one frame never ends
        the connection.
        """
        self.charge_point.last_seen = utcnow()
        self.charge_point.message_log.record("received", raw_msg)
        try:
            message = parse_frame(raw_msg)
        except FrameError as err:
            await self._pace()
            _LOGGER.warning("%s: malformed frame %.200r: %s", self.id, redact_frame(raw_msg), err)
            await self._send(err.call_error().to_json())
            return
        if isinstance(message, CallResult | CallError):
            # Only an answer to a call of ours in flight is kept; stray ones
            # would pile up in the ocpp package's response queue.
            if self._call_lock.locked():
                self._response_queue.put_nowait(message)
            else:
                _LOGGER.debug(
                    "%s: ignoring answer to no pending call: %.200r", self.id, redact_frame(raw_msg)
                )
            return
        await self._pace()
        await self._answer_call(message)

    async def _pace(self) -> None:
        """Hold a call (or a malformed frame) back while the charger sends too fast.

        Answers to our calls never wait. Nothing else is read from this
        socket meanwhile, which slows the charger down; nothing is dropped.
        """
        if self._throttle is not None:
            await self._throttle.wait()

    async def _answer_call(self, message: Call) -> None:
        if message.action not in self.route_map:
            await self._send_error(message, unknown_action_error(message.action))
            return
        if message.action != Action.boot_notification and not self._central.is_admitted(
            self.charge_point
        ):
            # OCPP 1.6 section 4.2: until accepted, a charge point only boots.
            await self._send_error(
                message, SecurityError(description="The charge point is not accepted")
            )
            return
        try:
            validate_call(message)
            await self._handle_call(message)
        except OCPPError as err:
            _LOGGER.warning("%s: rejected %s: %s", self.id, message.action, err)
            await self._send_error(message, as_ocpp16_error(err))
        except ConnectionClosed:
            # Gone before the answer (a shutdown, a lost link): the charger
            # sends the call again on its next connection. No error to send.
            raise
        except Exception:
            # Whatever went wrong, the charger gets an answer and the
            # connection (and every other charger) carries on.
            _LOGGER.exception("%s: error handling %s", self.id, message.action)
            await self._send_error(message, InternalError())

    async def _send_error(self, message: Call, error: OCPPError) -> None:
        await self._send(message.create_call_error(error).to_json())

    async def _send(self, message: str) -> None:
        self.charge_point.message_log.record("sent", message)
        await super()._send(message)

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a CALL and return the charger's answer (snake_case keys).

        ``payload`` has snake_case keys. The ``ocpp`` package's own ``call``
        hides unknown CALLERROR codes behind an exception without the code;
        this keeps the code and description for the user.
        """
        if action == Action.remote_start_transaction:
            self._central.remote_start_requested(self.charge_point, str(payload.get("id_tag")))
        message = Call(
            unique_id=str(uuid4()),
            action=action,
            payload=snake_to_camel_case(remove_nones(payload)),
        )
        async with self._call_lock:
            try:
                await self._send(message.to_json())
            except ConnectionClosed as err:
                raise NotConnectedError(self.id) from err
            response = await self._await_response(action, message.unique_id)
        if isinstance(response, CallError):
            raise CallErrorResponse(
                action, str(response.error_code), str(response.error_description or "")
            )
        answer: dict[str, Any] = camel_to_snake_case(response.payload)
        return answer

    async def _await_response(self, action: str, unique_id: str) -> CallResult | CallError:
        """The answer to our call; gives up when the connection closes or time runs out."""
        closed = asyncio.ensure_future(self.websocket.wait_closed())
        answer: asyncio.Future[CallResult | CallError] | None = None
        try:
            async with asyncio.timeout(self._response_timeout):
                while True:
                    answer = asyncio.ensure_future(self._response_queue.get())
                    await asyncio.wait({answer, closed}, return_when=asyncio.FIRST_COMPLETED)
                    if not answer.done():
                        raise NotConnectedError(self.id)
                    response = answer.result()
                    if response.unique_id == unique_id:
                        return response
        except TimeoutError as err:
            raise RequestTimeoutError(action, self._response_timeout) from err
        finally:
            closed.cancel()
            if answer is not None:
                answer.cancel()

    # Charge-point-initiated messages (OCPP 1.6 section 4).

    @handles(Action.boot_notification)
    async def on_boot_notification(self, **payload: Any) -> call_result.BootNotification:
        """Record the charger's identity and accept it."""
        charge_point = self.charge_point
        charge_point.vendor = payload["charge_point_vendor"]
        charge_point.model = payload["charge_point_model"]
        charge_point.serial_number = payload.get("charge_point_serial_number") or payload.get(
            "charge_box_serial_number"
        )
        self._central.firmware_booted(charge_point, payload.get("firmware_version"))
        charge_point.firmware_version = payload.get("firmware_version")
        charge_point.iccid = payload.get("iccid")
        charge_point.imsi = payload.get("imsi")
        charge_point.meter_type = payload.get("meter_type")
        charge_point.meter_reported(payload.get("meter_serial_number"))
        charge_point.booted_at = utcnow()
        status = self._central.admission(charge_point)
        charge_point.registration_status = status
        self._central.charge_point_updated(charge_point)
        interval = {
            RegistrationStatus.accepted: self._central.heartbeat_interval,
            RegistrationStatus.pending: PENDING_BOOT_INTERVAL,
        }.get(status, REJECTED_BOOT_INTERVAL)
        return call_result.BootNotification(
            current_time=format_timestamp(utcnow()), interval=interval, status=status
        )

    @after(Action.boot_notification)
    def after_boot_notification(self, **_: Any) -> None:
        """Tell listeners once the answer is out: they may now send requests."""
        self._central.fire_event(
            ChargePointEvent(
                EventKind.BOOTED,
                self.id,
                data={"registration_status": self.charge_point.registration_status},
            )
        )

    @handles(Action.heartbeat)
    def on_heartbeat(self) -> call_result.Heartbeat:
        """Tell the charger the time."""
        self.charge_point.last_heartbeat_at = utcnow()
        self._central.charge_point_updated(self.charge_point, persist=False)
        return call_result.Heartbeat(current_time=format_timestamp(utcnow()))

    @handles(Action.status_notification)
    def on_status_notification(
        self, connector_id: int, error_code: str, status: str, **payload: Any
    ) -> call_result.StatusNotification:
        """Record a connector's (or, for connector 0, the charger's) status."""
        connector = self._central.connector(self.charge_point, connector_id)
        connector.status = status
        connector.error_code = error_code
        connector.info = payload.get("info")
        connector.vendor_id = payload.get("vendor_id")
        connector.vendor_error_code = payload.get("vendor_error_code")
        now = utcnow()
        connector.status_at = parse_timestamp(payload.get("timestamp"), fallback=now)
        self._check_clock(connector.status_at, now)
        self._central.connector_updated(self.charge_point, connector_id)
        if error_code != ChargePointErrorCode.no_error:
            self._central.fire_event(
                ChargePointEvent(
                    EventKind.ERROR_REPORTED,
                    self.id,
                    connector_id,
                    {
                        "error_code": error_code,
                        "info": connector.info,
                        "vendor_error_code": connector.vendor_error_code,
                    },
                )
            )
        return call_result.StatusNotification()

    def _check_clock(self, reported: datetime, now: datetime) -> None:
        """Note how far off the charger's clock is, judged by a fresh status.

        A timestamp in the future is always a wrong clock; one in the past
        only counts right after a boot, when nothing comes from a queue. One
        close to our time clears the finding.
        """
        charge_point = self.charge_point
        skew = (reported - now).total_seconds()
        booted_at = charge_point.booted_at
        fresh = booted_at is not None and (now - booted_at).total_seconds() < FRESH_STATUS_WINDOW_S
        in_tolerance = abs(skew) <= CLOCK_SKEW_TOLERANCE_S
        # A timestamp close to ours shows a good clock whenever it comes.
        if not (fresh or in_tolerance or skew > 0):
            return
        new_skew = None if in_tolerance else skew
        if new_skew != charge_point.clock_skew_s:
            charge_point.clock_skew_s = new_skew
            self._central.charge_point_updated(charge_point, persist=False)

    @handles(Action.authorize)
    def on_authorize(self, id_tag: str) -> call_result.Authorize:
        """Answer whether an id tag may charge."""
        self._central.id_tag_presented(self.charge_point, id_tag, Purpose.AUTHORIZE)
        return call_result.Authorize(
            id_tag_info=self._central.authorize(self.charge_point, id_tag, Purpose.AUTHORIZE)
        )

    @handles(Action.start_transaction)
    async def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **payload: Any
    ) -> call_result.StartTransaction:
        """Open a transaction and hand out its id, whatever the tag's standing.

        A charger that started offline has charged already, and one that
        asks may stop at once (StopTransactionOnInvalidId): either way the
        transaction is recorded and billed to its tag.
        """
        self._central.id_tag_presented(
            self.charge_point, id_tag, Purpose.START_TRANSACTION, connector_id
        )
        transaction = await self._central.start_transaction(
            self.charge_point,
            connector_id=connector_id,
            id_tag=id_tag,
            meter_start_wh=meter_start,
            started_at=parse_timestamp(timestamp, fallback=utcnow()),
            reservation_id=payload.get("reservation_id"),
        )
        return call_result.StartTransaction(
            transaction_id=transaction.transaction_id,
            id_tag_info=self._central.authorize(
                self.charge_point,
                id_tag,
                Purpose.START_TRANSACTION,
                transaction_id=transaction.transaction_id,
            ),
        )

    @after(Action.start_transaction)
    def after_start_transaction(self, connector_id: int, **_: Any) -> None:
        """Its profiles may name the transaction now that the charger knows its id."""
        self._central.transaction_answered(self.charge_point, connector_id)

    @handles(Action.stop_transaction)
    async def on_stop_transaction(
        self, transaction_id: int, meter_stop: int, timestamp: str, **payload: Any
    ) -> call_result.StopTransaction:
        """Close a transaction. Never refused (OCPP 1.6 section 4.10)."""
        now = utcnow()
        id_tag = payload.get("id_tag")
        reason = payload.get("reason") or Reason.local
        if id_tag and reason == Reason.local:
            # Other reasons carry the tag of the start at most: no card was shown.
            self._central.id_tag_presented(self.charge_point, id_tag, Purpose.STOP_TRANSACTION)
        await self._central.stop_transaction(
            self.charge_point,
            transaction_id=transaction_id,
            meter_stop_wh=meter_stop,
            stopped_at=parse_timestamp(timestamp, fallback=now),
            reason=reason,
            id_tag=id_tag,
            samples=metering.parse_meter_values(
                payload.get("transaction_data") or [], fallback_time=now
            ),
        )
        info = None
        if id_tag:
            info = self._central.authorize(self.charge_point, id_tag, Purpose.STOP_TRANSACTION)
        return call_result.StopTransaction(id_tag_info=info)

    @handles(Action.meter_values)
    def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **payload: Any
    ) -> call_result.MeterValues:
        """Take in a connector's measurements."""
        samples = metering.parse_meter_values(meter_value, fallback_time=utcnow())
        self._central.meter_values(
            self.charge_point,
            connector_id=connector_id,
            transaction_id=payload.get("transaction_id"),
            samples=samples,
        )
        return call_result.MeterValues()

    @handles(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **payload: Any) -> call_result.DataTransfer:
        """No vendor extensions are known (OCPP 1.6 section 4.3)."""
        # The data is the vendor's own format and may hold a card number.
        _LOGGER.debug(
            "%s: DataTransfer from vendor %s, message %s, %s characters of data",
            self.id,
            vendor_id,
            payload.get("message_id"),
            len(str(payload.get("data") or "")),
        )
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)

    @handles(Action.diagnostics_status_notification)
    def on_diagnostics_status_notification(
        self, status: str
    ) -> call_result.DiagnosticsStatusNotification:
        """Record the progress of a diagnostics upload."""
        self._central.upload_status_reported(self.charge_point, UploadPurpose.DIAGNOSTICS, status)
        return call_result.DiagnosticsStatusNotification()

    @handles(Action.log_status_notification)
    def on_log_status_notification(
        self, status: str, **payload: Any
    ) -> call_result.LogStatusNotification:
        """Record the progress of a log upload (security extension, GetLog)."""
        self._central.upload_status_reported(
            self.charge_point, UploadPurpose.LOG, status, payload.get("request_id")
        )
        return call_result.LogStatusNotification()

    @handles(Action.firmware_status_notification)
    def on_firmware_status_notification(
        self, status: str
    ) -> call_result.FirmwareStatusNotification:
        """Record the progress of a firmware update."""
        self._central.firmware_status_reported(self.charge_point, status)
        return call_result.FirmwareStatusNotification()

    @handles(Action.signed_firmware_status_notification)
    def on_signed_firmware_status_notification(
        self, status: str, **payload: Any
    ) -> call_result.SignedFirmwareStatusNotification:
        """Record the progress of a signed firmware update (security extension)."""
        self._central.firmware_status_reported(
            self.charge_point, status, payload.get("request_id"), signed=True
        )
        return call_result.SignedFirmwareStatusNotification()

    # Security extension (Security Whitepaper edition 2, sections 3 and 4).

    @handles(Action.security_event_notification)
    def on_security_event_notification(
        self, timestamp: str, **payload: Any
    ) -> call_result.SecurityEventNotification:
        """Record a security event; types of the charger's own are taken too."""
        event = SecurityEvent(
            type=payload["type"],
            timestamp=parse_timestamp(timestamp, fallback=utcnow()),
            tech_info=payload.get("tech_info"),
        )
        self._central.security_event(self.charge_point, event)
        return call_result.SecurityEventNotification()

    @handles(Action.sign_certificate)
    def on_sign_certificate(self, csr: str) -> call_result.SignCertificate:
        """Accept a CSR that will be signed; the signing follows the answer."""
        accepted = self._central.accepts_certificate_request(self.charge_point, csr)
        self._accepted_csr = csr if accepted else None
        return call_result.SignCertificate(
            status=GenericStatus.accepted if accepted else GenericStatus.rejected
        )

    @after(Action.sign_certificate)
    def after_sign_certificate(self, **_: Any) -> None:
        """Have the accepted CSR signed: CertificateSigned must come after our answer."""
        csr, self._accepted_csr = self._accepted_csr, None
        if csr is not None:
            self._central.certificate_requested(self.charge_point, csr)
