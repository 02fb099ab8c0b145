"""OCPP-J 1.6 framing: parsing and the 1.6 error names."""

from __future__ import annotations

import json

from ocpp.exceptions import (
    FormatViolationError,
    NotImplementedError as OcppNotImplementedError,
    NotSupportedError,
    OccurrenceConstraintViolationError,
    ProtocolError,
)
from ocpp.messages import Call, CallError, CallResult
import pytest

from custom_components.csms.central.frames import (
    FrameError,
    as_ocpp16_error,
    parse_frame,
    unknown_action_error,
)


def test_parses_the_three_message_types() -> None:
    call = parse_frame('[2,"a1","Heartbeat",{}]')
    assert isinstance(call, Call)
    assert (call.unique_id, call.action, call.payload) == ("a1", "Heartbeat", {})

    result = parse_frame(b'[3,"a2",{"status":"Accepted"}]')
    assert isinstance(result, CallResult)
    assert result.payload == {"status": "Accepted"}

    error = parse_frame('[4,"a3","GenericError","boom",{}]')
    assert isinstance(error, CallError)
    assert (error.error_code, error.error_description) == ("GenericError", "boom")


@pytest.mark.parametrize(
    ("raw", "unique_id"),
    [
        ("not json", "-1"),
        (b"\xff\xfe", "-1"),
        ('{"a": 1}', "-1"),
        ("[]", "-1"),
        ("[2]", "-1"),
        ('[2, 17, "Heartbeat", {}]', "-1"),
        (json.dumps([2, "x" * 37, "Heartbeat", {}]), "-1"),
        ('[2,"id1","Heartbeat"]', "id1"),
        ('[2,"id2","Heartbeat",[]]', "id2"),
        ('[3,"id3","oops"]', "id3"),
        ('[4,"id4","GenericError"]', "id4"),
        ('[7,"id5","Heartbeat",{}]', "id5"),
        ('["2","id6","Heartbeat",{}]', "id6"),
    ],
)
def test_malformed_frames_are_formation_violations(raw: str | bytes, unique_id: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame(raw)
    call_error = caught.value.call_error()
    assert call_error.unique_id == unique_id
    assert call_error.error_code == "FormationViolation"
    assert call_error.error_description


def test_unknown_and_unsupported_actions_follow_ocpp_j_16() -> None:
    # Not an OCPP 1.6 action at all: NotImplemented.
    assert unknown_action_error("FlyToTheMoon").code == "NotImplemented"
    # An OCPP 1.6 action a central system does not take: NotSupported.
    assert unknown_action_error("RemoteStartTransaction").code == "NotSupported"


def test_ocpp_20_error_names_become_16_names() -> None:
    assert as_ocpp16_error(FormatViolationError()).code == "FormationViolation"
    assert (
        as_ocpp16_error(OccurrenceConstraintViolationError()).code == "OccurenceConstraintViolation"
    )
    protocol_error = ProtocolError()
    assert as_ocpp16_error(protocol_error) is protocol_error
    assert isinstance(as_ocpp16_error(NotSupportedError()), NotSupportedError)
    assert isinstance(as_ocpp16_error(OcppNotImplementedError()), OcppNotImplementedError)
