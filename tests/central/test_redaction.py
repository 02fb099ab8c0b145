"""No id tag, AuthorizationKey or private key in logs; the audit trail keeps id tags only."""

from __future__ import annotations

import json
import logging
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.messages import Call
import pytest
from websockets.frames import Frame, Opcode

from custom_components.csms.central.audit import MessageLog
from custom_components.csms.central.frames import load_validators, validate_call
from custom_components.csms.central.redaction import (
    MASK,
    RedactingFilter,
    redact_configuration_value,
    redact_frame,
    redact_logger,
    redact_secrets,
)

TAG = "04A1B2C3D4E5F6"
PARENT = "FLEET-PARENT-7"
KEY = "0badc0ffee0badc0ffee0badc0ffee0badc0ffee"
PRIVATE_KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB0secret\n-----END EC PRIVATE KEY-----\n"
CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIBpublic\n-----END CERTIFICATE-----\n"


def frame(*parts: Any) -> str:
    return json.dumps(list(parts), separators=(",", ":"))


ID_TAG_FRAMES = [
    frame(2, "1", "Authorize", {"idTag": TAG}),
    frame(3, "1", {"idTagInfo": {"status": "Accepted", "parentIdTag": PARENT}}),
    frame(2, "2", "StartTransaction", {"connectorId": 1, "idTag": TAG, "meterStart": 0}),
    frame(2, "3", "RemoteStartTransaction", {"idTag": TAG}),
    frame(2, "4", "ReserveNow", {"idTag": TAG, "parentIdTag": PARENT, "reservationId": 1}),
    frame(
        2,
        "5",
        "SendLocalList",
        {
            "listVersion": 3,
            "updateType": "Full",
            "localAuthorizationList": [
                {"idTag": TAG, "idTagInfo": {"status": "Accepted", "parentIdTag": PARENT}}
            ],
        },
    ),
    # A vendor's JSON inside DataTransfer data.
    frame(2, "6", "DataTransfer", {"vendorId": "x", "data": json.dumps({"idTag": TAG})}),
]

SECRET_FRAMES = [
    frame(2, "7", "ChangeConfiguration", {"key": "AuthorizationKey", "value": KEY}),
    frame(2, "8", "ChangeConfiguration", {"value": KEY, "key": "authorizationkey"}),
    # AuthorizationKey is write-only, but some chargers read it out anyway.
    frame(
        3,
        "9",
        {
            "configurationKey": [
                {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                {"key": "AuthorizationKey", "readonly": False, "value": KEY},
            ]
        },
    ),
    frame(2, "10", "DataTransfer", {"vendorId": "x", "data": PRIVATE_KEY}),
]


@pytest.mark.parametrize("text", ID_TAG_FRAMES + SECRET_FRAMES)
def test_frames_lose_id_tags_and_secrets_and_stay_json(text: str) -> None:
    redacted = redact_frame(text)
    for secret in (TAG, PARENT, KEY, "MHcCAQEEIB0secret"):
        assert secret not in redacted
    assert MASK in redacted
    json.loads(redacted)


def test_the_rest_of_a_frame_is_kept() -> None:
    redacted = json.loads(ID_TAG_FRAMES[5])
    redacted[3]["localAuthorizationList"][0]["idTag"] = MASK
    redacted[3]["localAuthorizationList"][0]["idTagInfo"]["parentIdTag"] = MASK
    assert json.loads(redact_frame(ID_TAG_FRAMES[5])) == redacted
    configuration = json.loads(redact_frame(SECRET_FRAMES[2]))[2]["configurationKey"]
    assert configuration[0] == {"key": "HeartbeatInterval", "readonly": False, "value": "300"}
    assert configuration[1]["value"] == MASK


@pytest.mark.parametrize(
    "text",
    [
        frame(2, "1", "Heartbeat", {}),
        frame(3, "1", {"idTagInfo": {"status": "Accepted"}}),
        frame(2, "2", "InstallCertificate", {"certificateType": "X", "certificate": CERTIFICATE}),
        frame(2, "3", "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}),
        "not json at all",
    ],
)
def test_frames_without_secrets_come_back_unchanged(text: str) -> None:
    assert redact_frame(text) == text
    assert redact_secrets(text) == text


def test_bytes_are_read_as_text() -> None:
    assert TAG not in redact_frame(ID_TAG_FRAMES[0].encode())


@pytest.mark.parametrize(
    "text",
    [
        # The ocpp package's own log lines.
        f"CP1: receive message {ID_TAG_FRAMES[0]}",
        f"CP1: send {SECRET_FRAMES[0]}",
        # A frame cut off in a log line, in the middle of the tag.
        f"CP1: malformed frame {ID_TAG_FRAMES[0][:-6]}",
        # A frame that is not valid JSON.
        '[2,"1","Authorize",{"idTag":"' + TAG + '",}',
        # Python reprs, of a parsed message and of a snake_case payload.
        str(Call("1", "Authorize", {"idTag": TAG})),
        repr({"id_tag": TAG, "parent_id_tag": PARENT}),
        repr({"key": "AuthorizationKey", "value": KEY}),
        f"key file: {PRIVATE_KEY[:40]}",
    ],
)
def test_log_lines_lose_id_tags_and_secrets(text: str) -> None:
    redacted = redact_frame(text)
    for secret in (TAG, PARENT, KEY, "MHcCAQEEIB0secret"):
        assert secret not in redacted
    assert MASK in redacted


@pytest.mark.parametrize("text", SECRET_FRAMES)
def test_secrets_are_redacted_for_the_message_log(text: str) -> None:
    redacted = redact_secrets(text)
    assert KEY not in redacted
    assert "MHcCAQEEIB0secret" not in redacted


@pytest.mark.parametrize("text", ID_TAG_FRAMES)
def test_id_tags_stay_for_the_message_log(text: str) -> None:
    assert redact_secrets(text) == text


def test_the_message_log_keeps_id_tags_but_never_the_authorization_key() -> None:
    log = MessageLog()
    log.record("received", ID_TAG_FRAMES[0])
    log.record("sent", SECRET_FRAMES[0].encode())
    entries = log.entries()
    assert entries[0]["payload"] == {"idTag": TAG}
    assert entries[1]["action"] == "ChangeConfiguration"
    assert entries[1]["payload"] == {"key": "AuthorizationKey", "value": MASK}


def test_configuration_values_for_logs() -> None:
    assert redact_configuration_value("AuthorizationKey", KEY) == MASK
    assert redact_configuration_value("authorization_key", KEY) == MASK
    assert redact_configuration_value("HeartbeatInterval", "60") == "60"


def test_a_hostile_frame_is_redacted_in_linear_time() -> None:
    # Many "value"s next to an AuthorizationKey, not JSON: the patterns must
    # not scan the rest of the text from each one.
    text = '{"key":"AuthorizationKey",' + '"value":"x",' * 20_000
    redact_frame(text)
    redact_secrets(text)


def test_the_filter_redacts_whatever_the_arguments_are(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.redaction.filtered")
    redact_logger(logger)
    redact_logger(logger)
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        logger.info("%s: receive message %s", "CP1", ID_TAG_FRAMES[0])
        logger.info("%s: send %s", "CP1", SECRET_FRAMES[0])
        logger.error("Error while handling request '%s'", Call("1", "Authorize", {"idTag": TAG}))
        logger.info("%s: %s", "Authorization", "Basic abc")
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 4
    assert not any(TAG in message or KEY in message for message in messages)
    # Nothing to hide: the arguments stay for other filters to see.
    assert caplog.records[3].args == ("Authorization", "Basic abc")


def test_websocket_frames_are_redacted_before_they_are_shortened(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("tests.redaction.websockets")
    redact_logger(logger)
    long_frame = frame(2, "x" * 36, "StartTransaction", {"connectorId": 1, "idTag": TAG})
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        logger.debug("< %s", Frame(Opcode.TEXT, long_frame.encode()))
        logger.debug("< %s", Frame(Opcode.BINARY, b"\x00\x01"))
    assert TAG not in caplog.records[0].getMessage()
    assert caplog.records[0].getMessage().startswith("< TEXT '[2,")


def test_a_schema_fault_never_names_the_id_tag() -> None:
    load_validators()
    with pytest.raises(OCPPError) as fault:
        validate_call(Call("1", "Authorize", {"idTag": TAG * 2}))
    assert TAG not in str(fault.value)
    assert fault.value.details["cause"] == "idTag: the value is too long"
    with pytest.raises(OCPPError) as fault:
        validate_call(Call("1", "Authorize", {"idTag": {"uid": TAG}}))
    assert TAG not in str(fault.value)
    assert fault.value.details["cause"] == "idTag: the value is not of type 'string'"


@pytest.mark.parametrize("redact", [redact_frame, redact_secrets])
def test_secrets_in_urls_are_redacted(redact: Any) -> None:
    upload = '[2,"1","GetDiagnostics",{"location":"http://10.0.0.2:8123/api/csms/upload/AbC-_12x"}]'
    firmware = '[2,"2","UpdateFirmware",{"location":"ftp://user:pa55@host/fw.bin"}]'
    assert "AbC-_12x" not in redact(upload)
    assert redact(upload).endswith('/api/csms/upload/<redacted>"}]')
    assert "pa55" not in redact(firmware)
    assert "ftp://<redacted>@host/fw.bin" in redact(firmware)
    # A URL without secrets is left as it is.
    plain = '[2,"3","UpdateFirmware",{"location":"https://example.com/fw.bin"}]'
    assert redact(plain) == plain
