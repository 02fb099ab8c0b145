"""OCPP-J 1.6 RPC framing (OCPP-J 1.6 section 4).

The ``ocpp`` package drops frames it cannot parse without answering and uses
OCPP 2.0 error names; a 1.6 central system must answer with a CALLERROR that
uses the 1.6 codes. This module parses frames itself and names the faults.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError, best_match
from ocpp.exceptions import (
    FormationViolationError,
    FormatViolationError,
    NotImplementedError as OcppNotImplementedError,
    NotSupportedError,
    OccurenceConstraintViolationError,
    OccurrenceConstraintViolationError,
    OCPPError,
    PropertyConstraintViolationError,
    ProtocolError,
    TypeConstraintViolationError,
)
from ocpp.messages import Call, CallError, CallResult, MessageType, get_validator
from ocpp.v16.enums import Action

from .redaction import is_id_tag_key

_LOGGER = logging.getLogger(__name__)

# OCPP-J 1.6 section 4.1.3: the unique id is a string of at most 36 characters.
MAX_UNIQUE_ID_LENGTH = 36
# Answer frames whose unique id cannot be read with this id, as OCPP 2.0.1
# (section 4.2.3 of part 4) specifies; 1.6 leaves it open.
UNKNOWN_UNIQUE_ID = "-1"

_KNOWN_ACTIONS = frozenset(action.value for action in Action)

# Actions a charge point sends to a central system (OCPP 1.6 section 4).
CHARGE_POINT_ACTIONS = (
    Action.authorize,
    Action.boot_notification,
    Action.data_transfer,
    Action.diagnostics_status_notification,
    Action.firmware_status_notification,
    Action.heartbeat,
    Action.log_status_notification,
    Action.meter_values,
    Action.security_event_notification,
    Action.sign_certificate,
    Action.signed_firmware_status_notification,
    Action.start_transaction,
    Action.status_notification,
    Action.stop_transaction,
)

# Transaction messages are taken as long as what identifies the transaction
# and its meter reading is readable: a refused one is resent until the
# charger gives up, and its energy is lost (OCPP 1.6 section 4.10: a
# StopTransaction must never be refused).
_ESSENTIAL_FIELDS: dict[str, dict[str, type]] = {
    Action.start_transaction: {
        "connectorId": int,
        "idTag": str,
        "meterStart": int,
        "timestamp": str,
    },
    Action.stop_transaction: {"transactionId": int, "meterStop": int, "timestamp": str},
    Action.meter_values: {"connectorId": int, "meterValue": list},
}

# JSON schema keyword that failed -> OCPP-J 1.6 error (section 4.2.3).
_SCHEMA_ERRORS: dict[str, type[OCPPError]] = {
    "required": ProtocolError,
    "type": TypeConstraintViolationError,
    "maxLength": TypeConstraintViolationError,
    "enum": PropertyConstraintViolationError,
    "minimum": PropertyConstraintViolationError,
    "maximum": PropertyConstraintViolationError,
    "pattern": PropertyConstraintViolationError,
    "minItems": OccurenceConstraintViolationError,
    "maxItems": OccurenceConstraintViolationError,
}

type Frame = Call | CallResult | CallError


class FrameError(Exception):
    """A frame that is not valid OCPP-J; answered with a CALLERROR."""

    def __init__(self, unique_id: str, error: OCPPError) -> None:
        """Remember which frame failed and why."""
        super().__init__(error.description)
        self.unique_id = unique_id
        self.error = error

    def call_error(self) -> CallError:
        """The CALLERROR that answers the bad frame."""
        return CallError(
            self.unique_id, self.error.code, str(self.error.details.get("cause", "")), {}
        )


def _violation(cause: str) -> FormationViolationError:
    return FormationViolationError(details={"cause": cause})


def parse_frame(raw: str | bytes) -> Frame:
    """Parse one websocket message into a CALL, CALLRESULT or CALLERROR."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode()
        except UnicodeDecodeError:
            raise FrameError(UNKNOWN_UNIQUE_ID, _violation("Frame is not UTF-8 text")) from None
    try:
        message: Any = json.loads(raw)
    except json.JSONDecodeError as err:
        raise FrameError(UNKNOWN_UNIQUE_ID, _violation(f"Frame is not valid JSON: {err}")) from None
    if not isinstance(message, list) or not message:
        raise FrameError(UNKNOWN_UNIQUE_ID, _violation("Frame is not a JSON array"))

    unique_id = message[1] if len(message) > 1 else None
    if not isinstance(unique_id, str) or not 0 < len(unique_id) <= MAX_UNIQUE_ID_LENGTH:
        raise FrameError(
            UNKNOWN_UNIQUE_ID, _violation("UniqueId must be a string of 1 to 36 characters")
        )

    frame: Frame
    match message:
        case [MessageType.Call, _, str() as action, dict() as payload]:
            frame = Call(unique_id, action, payload)
            return frame
        case [MessageType.CallResult, _, dict() as payload]:
            frame = CallResult(unique_id, payload)
            return frame
        case [MessageType.CallError, _, str() as code, str() as description, dict() as details]:
            frame = CallError(unique_id, code, description, details)
            return frame
        case [MessageType.Call | MessageType.CallResult | MessageType.CallError, *_]:
            raise FrameError(unique_id, _violation("Frame does not match its MessageTypeId"))
    raise FrameError(unique_id, _violation(f"Unknown MessageTypeId {message[0]!r}"))


def unknown_action_error(action: str) -> OCPPError:
    """The error for a CALL the central system has no handler for.

    OCPP-J 1.6 section 4.2.3: NotImplemented when the action is not known,
    NotSupported when it is known but not supported here (for example a
    central-system-to-charger action sent the wrong way round).
    """
    if action in _KNOWN_ACTIONS:
        return NotSupportedError(
            details={"cause": f"{action} is not supported by a central system"}
        )
    return OcppNotImplementedError(details={"cause": f"Unknown action {action}"})


def as_ocpp16_error(error: OCPPError) -> OCPPError:
    """Rename the ``ocpp`` package's OCPP 2.0 error codes to their 1.6 names."""
    if isinstance(error, FormatViolationError):
        return FormationViolationError(description=error.description, details=error.details)
    if isinstance(error, OccurrenceConstraintViolationError):
        return OccurenceConstraintViolationError(
            description=error.description, details=error.details
        )
    return error


def load_validators() -> None:
    """Read the JSON schemas of charge point requests (blocking file I/O)."""
    for action in CHARGE_POINT_ACTIONS:
        _validator(action)


def _validator(action: str) -> Draft4Validator:
    validator: Draft4Validator = get_validator(MessageType.Call, action, "1.6")
    return validator


def validate_call(call: Call) -> None:
    """Check a CALL against its OCPP 1.6 JSON schema, naming faults the 1.6 way.

    Done here rather than by the ``ocpp`` package, which runs every check in
    a thread and names faults with OCPP 2.0 codes. Transaction messages whose
    essential fields are readable are taken despite other faults.
    """
    error = best_match(_validator(call.action).iter_errors(call.payload))
    if error is None:
        return
    essentials = _ESSENTIAL_FIELDS.get(call.action)
    if essentials is not None and all(
        isinstance(call.payload.get(name), kind) for name, kind in essentials.items()
    ):
        _LOGGER.warning("Taking %s despite a schema fault: %s", call.action, _fault(error))
        return
    error_class = _SCHEMA_ERRORS.get(str(error.validator), FormationViolationError)
    raise error_class(details={"cause": _fault(error)})


def _fault(error: ValidationError) -> str:
    """Where and how a payload breaks its schema.

    Never with an id tag's value: it is a card number, and the cause ends
    up in logs and in the CALLERROR.
    """
    location = "/".join(str(part) for part in error.absolute_path) or "payload"
    path = error.absolute_path
    if not path or not is_id_tag_key(str(path[-1])):
        return f"{location}: {error.message}"
    # jsonschema starts most messages with the value: "'04A1...' is too long".
    value = repr(error.instance)
    if error.message.startswith(value):
        return f"{location}: the value{error.message.removeprefix(value)}"
    return f"{location}: fails {error.validator} {error.validator_value!r}"
