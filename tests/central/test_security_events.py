"""Security events and certificate requests in the central system's core."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import pytest

from custom_components.csms.central import CentralSystem
from custom_components.csms.central.events import ChargePointEvent, EventKind
from custom_components.csms.central.security_events import (
    SECURITY_EVENT_TYPES,
    SecurityEvent,
    is_critical,
    needs_attention,
)

from .memory_store import MemoryStore


class RecordingSigner:
    """Notes the CSRs it is asked to sign."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    def certificate_requested(self, charge_point_id: str, csr: str) -> None:
        self.requests.append((charge_point_id, csr))


def csr_for(common_name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


# Whitepaper edition 2, appendix 1: the events marked critical.
WHITEPAPER_CRITICAL = {
    "FirmwareUpdated",
    "SettingSystemTime",
    "StartupOfTheDevice",
    "ResetOrReboot",
    "SecurityLogWasCleared",
    "MemoryExhaustion",
    "TamperDetectionActivated",
}


def test_the_whitepaper_table() -> None:
    assert len(SECURITY_EVENT_TYPES) == 18
    assert {name for name in SECURITY_EVENT_TYPES if is_critical(name)} == WHITEPAPER_CRITICAL


@pytest.mark.parametrize(
    "name", ["TamperDetectionActivated", "SecurityLogWasCleared", "MemoryExhaustion"]
)
def test_threats_need_attention(name: str) -> None:
    assert needs_attention(name)


@pytest.mark.parametrize(
    "name",
    [
        # Critical, but reported at every boot, clock sync or update.
        "StartupOfTheDevice",
        "ResetOrReboot",
        "FirmwareUpdated",
        "SettingSystemTime",
        # Not critical.
        "FailedToAuthenticateAtCentralSystem",
        "InvalidFirmwareSignature",
        "InvalidTLSVersion",
    ],
)
def test_routine_events_do_not(name: str) -> None:
    assert not needs_attention(name)


def test_custom_event_types_are_taken_and_not_critical() -> None:
    event = SecurityEvent("AcmeDoorOpened", datetime(2026, 11, 21, 12, 0, tzinfo=UTC), "door 2")
    assert not event.critical
    assert not event.needs_attention
    assert event.as_event_data() == {
        "type": "AcmeDoorOpened",
        "timestamp": "2026-11-21T12:00:00.000Z",
        "tech_info": "door 2",
        "critical": False,
    }


def test_a_security_event_is_fired_for_its_charger() -> None:
    central = CentralSystem(MemoryStore())
    charge_point = central.charge_point("CP001")
    events: list[ChargePointEvent] = []
    central.subscribe_events("CP001", events.append)

    central.security_event(
        charge_point,
        SecurityEvent("TamperDetectionActivated", datetime(2026, 11, 21, 12, 0, tzinfo=UTC)),
    )

    assert events == [
        ChargePointEvent(
            EventKind.SECURITY_EVENT,
            "CP001",
            data={
                "type": "TamperDetectionActivated",
                "timestamp": "2026-11-21T12:00:00.000Z",
                "tech_info": None,
                "critical": True,
            },
        )
    ]


def test_certificate_requests_go_to_the_signer() -> None:
    signer = RecordingSigner()
    central = CentralSystem(MemoryStore(), certificate_signer=signer)
    charge_point = central.charge_point("CP001")
    csr = csr_for("CP001")

    assert central.accepts_certificate_request(charge_point, csr)
    assert not central.accepts_certificate_request(charge_point, csr_for("CP002"))
    assert not central.accepts_certificate_request(charge_point, "garbage")
    assert signer.requests == []
    central.certificate_requested(charge_point, csr)
    assert signer.requests == [("CP001", csr)]


def test_without_a_signer_nothing_is_accepted() -> None:
    central = CentralSystem(MemoryStore())
    charge_point = central.charge_point("CP001")
    assert not central.accepts_certificate_request(charge_point, csr_for("CP001"))
    central.certificate_requested(charge_point, csr_for("CP001"))
