"""The OCPP 1.6 security extension end to end: security events, certificates, triggers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import stat
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from homeassistant.components.recorder import Recorder
from homeassistant.core import Context, HomeAssistant, ServiceResponse
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    RecorderInstanceContextManager,
    WebSocketGenerator,
)

from custom_components.csms.central.certificate_authority import (
    LocalCertificateAuthority,
    certificate_hash_data,
    load_certificates,
)
from custom_components.csms.certificates import (
    EVENT_CERTIFICATE_SIGNED,
    EVENT_CERTIFICATE_SIGNING_REQUEST,
    async_local_ca,
)
from custom_components.csms.const import (
    CERTIFICATE_SIGNING_EXTERNAL,
    CONF_CERTIFICATE_SIGNING,
    DOMAIN,
)
from custom_components.csms.runtime import CsmsRuntimeData
from simulator import SimulatedChargePoint
from simulator.configuration import ConfigurationKey

from .conftest import add_charge_point, server_config_entry, server_url, wait_for

TAMPER_TIME = "2026-11-21T09:30:00.000Z"


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """Prepare the recorder's database before Home Assistant starts (the logbook test needs it)."""


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], context: Context | None = None
) -> ServiceResponse:
    """Call a csms service for CP001 and return its response data."""
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"charge_point_id": "CP001", **data},
        blocking=True,
        return_response=True,
        context=context,
    )


def runtime(hass: HomeAssistant, charge_point_id: str = "CP001") -> CsmsRuntimeData:
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, charge_point_id)
    assert entry is not None
    data: CsmsRuntimeData = entry.runtime_data
    return data


def received_actions(hass: HomeAssistant, charge_point_id: str = "CP001") -> list[str]:
    """The calls the central system received from a charger, in order."""
    return [
        entry["action"]
        for entry in runtime(hass, charge_point_id).charge_point.message_log.entries()
        if entry["direction"] == "received" and entry["message_type"] == "CALL"
    ]


def event_state(hass: HomeAssistant) -> Any:
    entity_id = er.async_get(hass).async_get_entity_id("event", DOMAIN, "CP001_charge_point_event")
    assert entity_id is not None
    return hass.states.get(entity_id)


def issue(hass: HomeAssistant, event_type: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"security_event_CP001_{event_type}")


@pytest.fixture
async def charger(hass: HomeAssistant, connect: Any) -> SimulatedChargePoint:
    """A connected charger, configured after its boot."""
    charge_point: SimulatedChargePoint = await connect("CP001")
    await charge_point.wait_for_call("GetConfiguration")
    await hass.async_block_till_done()
    return charge_point


async def local_root(hass: HomeAssistant) -> x509.Certificate:
    return (await async_local_ca(hass)).certificate


# Security events


async def test_security_events_reach_the_event_entity_and_the_repairs(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    await charger.security_event("StartupOfTheDevice")
    await hass.async_block_till_done()
    assert event_state(hass).attributes["event_type"] == "security_event"
    assert event_state(hass).attributes["type"] == "StartupOfTheDevice"
    assert event_state(hass).attributes["critical"] is True
    # Critical, but every boot reports it: no repair.
    assert issue(hass, "StartupOfTheDevice") is None

    await charger.security_event("TamperDetectionActivated", "lid opened", TAMPER_TIME)
    await hass.async_block_till_done()

    attributes = event_state(hass).attributes
    assert attributes["type"] == "TamperDetectionActivated"
    assert attributes["tech_info"] == "lid opened"
    assert attributes["timestamp"] == TAMPER_TIME
    assert attributes["connector_id"] == 0
    found = issue(hass, "TamperDetectionActivated")
    assert found is not None
    assert not found.is_fixable
    assert found.is_persistent
    assert found.severity is ir.IssueSeverity.ERROR
    assert found.translation_key == "security_event"
    local = dt_util.as_local(dt_util.parse_datetime(TAMPER_TIME))  # type: ignore[arg-type]
    assert found.translation_placeholders == {
        "charger": "CP001",
        "type": "TamperDetectionActivated",
        "time": local.strftime("%Y-%m-%d %H:%M:%S"),
        "tech_info": "lid opened",
    }


async def test_custom_event_types_are_taken(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    events = async_capture_events(hass, f"{DOMAIN}_security_event")
    await charger.security_event("AcmeCableCut")
    await hass.async_block_till_done()

    assert event_state(hass).attributes["type"] == "AcmeCableCut"
    assert event_state(hass).attributes["critical"] is False
    assert [event.data["type"] for event in events] == ["AcmeCableCut"]
    assert events[0].data["charge_point_id"] == "CP001"
    assert not [i for (domain, _), i in ir.async_get(hass).issues.items() if domain == DOMAIN]


async def test_an_ignored_issue_comes_back_with_the_next_event(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    await charger.security_event("SecurityLogWasCleared")
    ir.async_ignore_issue(hass, DOMAIN, "security_event_CP001_SecurityLogWasCleared", True)
    found = issue(hass, "SecurityLogWasCleared")
    assert found is not None
    assert found.dismissed_version is not None

    await charger.security_event("SecurityLogWasCleared", "again")

    found = issue(hass, "SecurityLogWasCleared")
    assert found is not None
    assert found.dismissed_version is None
    assert found.translation_placeholders is not None
    assert found.translation_placeholders["tech_info"] == "again"


async def test_the_issues_go_with_the_charger(
    hass: HomeAssistant, charger: SimulatedChargePoint, connect: Any
) -> None:
    neighbour = await connect("CP001_B")
    await charger.security_event("MemoryExhaustion")
    await neighbour.security_event("MemoryExhaustion")
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "CP001")
    assert entry is not None

    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    assert issue(hass, "MemoryExhaustion") is None
    # Not another charger's, though its id starts the same.
    registry = ir.async_get(hass)
    assert registry.async_get_issue(DOMAIN, "security_event_CP001_B_MemoryExhaustion")


async def logbook_entries(hass: HomeAssistant, hass_ws_client: WebSocketGenerator) -> list[str]:
    """The csms entries of the last hour's logbook, as "name message"."""
    await async_wait_recording_done(hass)
    client = await hass_ws_client()
    await client.send_json_auto_id(
        {
            "type": "logbook/get_events",
            "start_time": (dt_util.utcnow() - timedelta(hours=1)).isoformat(),
        }
    )
    response = await client.receive_json()
    return [
        f"{entry['name']} {entry['message']}"
        for entry in response["result"]
        if entry.get("domain") == DOMAIN
    ]


async def _setup_logbook(hass: HomeAssistant) -> None:
    # The logbook's websocket API works without the frontend it depends on.
    hass.config.components.add("frontend")
    assert await async_setup_component(hass, "logbook", {})


async def test_security_events_and_certificates_in_the_logbook(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> None:
    await _setup_logbook(hass)
    await add_charge_point(hass, server_entry, "CP001", title="Carport")
    charger = SimulatedChargePoint("CP001")
    charge_points.append(charger)
    await charger.connect(server_url(server_entry))
    await charger.security_event("TamperDetectionActivated", "lid opened")
    await charger.sign_certificate()
    await charger.wait_for_call("CertificateSigned")
    await hass.async_block_till_done()
    valid_until = dt_util.as_local(charger.client_certificate_chain[0].not_valid_after_utc)

    assert (await logbook_entries(hass, hass_ws_client))[-2:] == [
        "Carport reported security event TamperDetectionActivated: lid opened",
        "Carport took its new client certificate"
        f" (valid until {valid_until.strftime('%Y-%m-%d %H:%M')})",
    ]


# SignCertificate and CertificateSigned


async def test_the_local_ca_signs_what_the_charger_asks_for(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    signed = async_capture_events(hass, EVENT_CERTIFICATE_SIGNED)
    requests = async_capture_events(hass, EVENT_CERTIFICATE_SIGNING_REQUEST)

    response = await charger.sign_certificate()

    assert response.status == "Accepted"
    payload = await charger.wait_for_call("CertificateSigned")
    leaf, issuer = load_certificates(payload["certificateChain"])
    root = await local_root(hass)
    assert issuer == root
    leaf.verify_directly_issued_by(root)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CP001"
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Csms Simulator CPO"
    )
    assert (
        ExtendedKeyUsageOID.CLIENT_AUTH
        in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )
    assert charger.client_certificate_chain == [leaf, root]
    await wait_for(lambda: len(signed) == 1)
    assert signed[0].data["status"] == "Accepted"
    assert signed[0].data["signer"] == "local_ca"
    assert signed[0].data["serial_number"] == format(leaf.serial_number, "x")
    assert signed[0].data["charge_point_id"] == "CP001"
    assert not requests
    # The CA is Home Assistant's own, its key readable by Home Assistant alone.
    key_file = Path(hass.config.path(".storage", "csms_ca", "ca.key"))
    mode = (await hass.async_add_executor_job(key_file.stat)).st_mode
    assert stat.S_IMODE(mode) == 0o600


async def test_a_charger_taking_short_chains_gets_the_certificate_alone(
    hass: HomeAssistant, connect: Any
) -> None:
    charger: SimulatedChargePoint = await connect(
        "CP001", configuration={"CertificateSignedMaxChainSize": "1000"}
    )
    assert (await charger.sign_certificate()).status == "Accepted"
    payload = await charger.wait_for_call("CertificateSigned")

    assert len(payload["certificateChain"]) <= 1000
    assert len(load_certificates(payload["certificateChain"])) == 1
    assert len(charger.client_certificate_chain) == 1


@pytest.mark.parametrize("bad", ["malformed", "another_chargers_identity"])
async def test_bad_requests_are_rejected(
    hass: HomeAssistant, charger: SimulatedChargePoint, bad: str
) -> None:
    signed = async_capture_events(hass, EVENT_CERTIFICATE_SIGNED)
    csr = (
        "-----BEGIN CERTIFICATE REQUEST-----\nbm9pc2U=\n-----END CERTIFICATE REQUEST-----\n"
        if bad == "malformed"
        else charger.make_csr(common_name="CP002")
    )

    response = await charger.sign_certificate(csr)
    await hass.async_block_till_done()

    assert response.status == "Rejected"
    assert "CertificateSigned" not in [action for action, _ in charger.calls_received]
    assert not signed
    assert not charger.client_certificate_chain


@pytest.fixture
async def external_server(hass: HomeAssistant) -> MockConfigEntry:
    """A server whose chargers' certificates an outside CA signs."""
    entry = server_config_entry(options={CONF_CERTIFICATE_SIGNING: CERTIFICATE_SIGNING_EXTERNAL})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_an_external_ca_signs_by_event_and_service(
    hass: HomeAssistant,
    external_server: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> None:
    await add_charge_point(hass, external_server, "CP001")
    charger = SimulatedChargePoint("CP001")
    charge_points.append(charger)
    await charger.connect(server_url(external_server))
    requests = async_capture_events(hass, EVENT_CERTIFICATE_SIGNING_REQUEST)
    signed = async_capture_events(hass, EVENT_CERTIFICATE_SIGNED)

    assert (await charger.sign_certificate()).status == "Accepted"
    await hass.async_block_till_done()

    assert len(requests) == 1
    assert requests[0].data["charge_point_id"] == "CP001"
    assert requests[0].data["device_id"] == runtime(hass).devices.device_id()
    assert "CertificateSigned" not in [action for action, _ in charger.calls_received]

    # The outside CA signs; an admin (or an automation) delivers the chain.
    outside = LocalCertificateAuthority.create()
    chain = outside.sign(requests[0].data["csr"], "CP001")
    response = await call(hass, "certificate_signed", {"certificate_chain": chain})

    assert response == {"status": "Accepted"}
    assert charger.client_certificate_chain == load_certificates(chain)
    assert [event.data["signer"] for event in signed] == ["service"]
    # The local CA was never needed.
    ca_directory = Path(hass.config.path(".storage", "csms_ca"))
    assert not await hass.async_add_executor_job(ca_directory.exists)


async def test_the_charger_refuses_a_chain_for_another_key(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    signed = async_capture_events(hass, EVENT_CERTIFICATE_SIGNED)
    other = SimulatedChargePoint("CP001")
    chain = LocalCertificateAuthority.create().sign(other.make_csr(), "CP001")

    response = await call(hass, "certificate_signed", {"certificate_chain": chain})

    assert response == {"status": "Rejected"}
    assert [event.data["status"] for event in signed] == ["Rejected"]
    # Whitepaper: the charger reports the certificate it refused.
    await wait_for(lambda: received_actions(hass)[-1:] == ["SecurityEventNotification"])
    assert event_state(hass).attributes["type"] == "InvalidChargePointCertificate"


async def test_a_signing_request_for_the_external_ca_in_the_logbook(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    external_server: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> None:
    await _setup_logbook(hass)
    await add_charge_point(hass, external_server, "CP001", title="Garage")
    charger = SimulatedChargePoint("CP001")
    charge_points.append(charger)
    await charger.connect(server_url(external_server))
    await charger.sign_certificate()
    await hass.async_block_till_done()
    # A chain for another key: the charger refuses it, and says so.
    stranger = SimulatedChargePoint("CP001")
    chain = LocalCertificateAuthority.create().sign(stranger.make_csr(), "CP001")
    await call(hass, "certificate_signed", {"certificate_chain": chain})
    await wait_for(lambda: received_actions(hass)[-1:] == ["SecurityEventNotification"])

    entries = await logbook_entries(hass, hass_ws_client)
    assert entries[-3] == "Garage asks for a client certificate (to be signed by the external CA)"
    # The charger's report may overtake its answer.
    assert set(entries[-2:]) == {
        "Garage refused its new client certificate (Rejected)",
        "Garage reported security event InvalidChargePointCertificate:"
        " not the key of the last certificate signing request",
    }


# Root certificates


async def test_root_certificates_round_trip(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    root_type = {"certificate_type": "CentralSystemRootCertificate"}
    other = LocalCertificateAuthority.create()

    assert await call(hass, "install_certificate", {**root_type, "local_ca": True}) == {
        "status": "Accepted"
    }
    assert await call(
        hass, "install_certificate", {**root_type, "certificate": other.root_pem}
    ) == {"status": "Accepted"}
    local = await local_root(hass)
    assert charger.installed_certificates["CentralSystemRootCertificate"] == [
        local,
        other.certificate,
    ]

    listed = await call(hass, "get_installed_certificate_ids", root_type)
    assert listed == {
        "status": "Accepted",
        "certificate_hash_data": [
            certificate_hash_data(local),
            certificate_hash_data(other.certificate),
        ],
    }

    deleted = await call(
        hass, "delete_certificate", {"certificate_hash_data": certificate_hash_data(local)}
    )
    assert deleted == {"status": "Accepted"}
    assert charger.installed_certificates["CentralSystemRootCertificate"] == [other.certificate]
    again = await call(
        hass, "delete_certificate", {"certificate_hash_data": certificate_hash_data(local)}
    )
    assert again == {"status": "NotFound"}
    # By another hash algorithm, too.
    by_sha384 = certificate_hash_data(other.certificate, hash_algorithm="SHA384")
    assert await call(hass, "delete_certificate", {"certificate_hash_data": by_sha384}) == {
        "status": "Accepted"
    }
    assert await call(hass, "get_installed_certificate_ids", root_type) == {"status": "NotFound"}
    assert await call(
        hass, "get_installed_certificate_ids", {"certificate_type": "ManufacturerRootCertificate"}
    ) == {"status": "NotFound"}


async def test_a_full_certificate_store_rejects_more(hass: HomeAssistant, connect: Any) -> None:
    await connect("CP001", configuration={"CertificateStoreMaxLength": "1"})
    root_type = {"certificate_type": "ManufacturerRootCertificate"}
    first, second = LocalCertificateAuthority.create(), LocalCertificateAuthority.create()

    assert await call(hass, "install_certificate", {**root_type, "certificate": first.root_pem})
    assert await call(
        hass, "install_certificate", {**root_type, "certificate": second.root_pem}
    ) == {"status": "Rejected"}


# Bad input never reaches the charger.

PEM_NOISE = "-----BEGIN CERTIFICATE-----\nbm9pc2U=\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    ("service", "data", "translation_key"),
    [
        (
            "install_certificate",
            {"certificate_type": "CentralSystemRootCertificate", "certificate": "hello"},
            "invalid_certificate",
        ),
        (
            "install_certificate",
            {"certificate_type": "CentralSystemRootCertificate", "certificate": PEM_NOISE},
            "invalid_certificate",
        ),
        (
            "install_certificate",
            {"certificate_type": "CentralSystemRootCertificate", "certificate": "x" * 5501},
            "certificate_too_long",
        ),
        (
            "install_certificate",
            {"certificate_type": "CentralSystemRootCertificate"},
            "certificate_or_local_ca",
        ),
        (
            "install_certificate",
            {"certificate_type": "Other", "local_ca": True},
            "invalid_service_data",
        ),
        ("certificate_signed", {"certificate_chain": "hello"}, "invalid_certificate"),
        (
            "delete_certificate",
            {
                "certificate_hash_data": {
                    "hash_algorithm": "MD5",
                    "issuer_name_hash": "00",
                    "issuer_key_hash": "00",
                    "serial_number": "1",
                }
            },
            "invalid_service_data",
        ),
        (
            "delete_certificate",
            {
                "certificate_hash_data": {
                    "hash_algorithm": "SHA256",
                    "issuer_name_hash": "not hex",
                    "issuer_key_hash": "00",
                    "serial_number": "1",
                }
            },
            "invalid_service_data",
        ),
        (
            "get_installed_certificate_ids",
            {"certificate_type": "V2GRootCertificate"},
            "invalid_service_data",
        ),
        (
            "extended_trigger_message",
            {"requested_message": "DiagnosticsStatusNotification"},
            "invalid_service_data",
        ),
        (
            "extended_trigger_message",
            {"requested_message": "Heartbeat", "connector_id": 5},
            "unknown_connector",
        ),
    ],
)
async def test_bad_input(
    hass: HomeAssistant,
    charger: SimulatedChargePoint,
    service: str,
    data: dict[str, Any],
    translation_key: str,
) -> None:
    sent = len(charger.calls_received)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, data)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == translation_key
    assert len(charger.calls_received) == sent


async def test_certificates_are_checked_before_they_are_sent(
    hass: HomeAssistant, connect: Any
) -> None:
    charger: SimulatedChargePoint = await connect(
        "CP001", configuration={"CertificateSignedMaxChainSize": "800"}
    )
    authority = LocalCertificateAuthority.create()
    sent = len(charger.calls_received)

    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "install_certificate",
            {
                "certificate_type": "CentralSystemRootCertificate",
                "certificate": authority.root_pem * 2,
            },
        )
    assert err.value.translation_key == "one_certificate_expected"
    assert err.value.translation_placeholders == {"field": "certificate", "count": "2"}

    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "install_certificate",
            {
                "certificate_type": "CentralSystemRootCertificate",
                "certificate": authority.root_pem,
                "local_ca": True,
            },
        )
    assert err.value.translation_key == "certificate_or_local_ca"

    other = authority.sign(SimulatedChargePoint("CP002").make_csr(), "CP002")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "certificate_signed", {"certificate_chain": other})
    assert err.value.translation_key == "certificate_identity_mismatch"
    assert err.value.translation_placeholders == {
        "charge_point_id": "CP001",
        "common_name": "CP002",
    }
    assert {action for action, _ in charger.calls_received[sent:]} <= {"GetConfiguration"}

    # The charger takes chains of at most 800 characters (CertificateSignedMaxChainSize).
    chain = authority.sign(charger.make_csr(), "CP001")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "certificate_signed", {"certificate_chain": chain})
    assert err.value.translation_key == "certificate_too_long"
    assert err.value.translation_placeholders == {
        "field": "certificate_chain",
        "length": str(len(chain)),
        "maximum": "800",
    }
    assert "CertificateSigned" not in [action for action, _ in charger.calls_received]


async def test_certificate_services_need_an_admin(
    hass: HomeAssistant, charger: SimulatedChargePoint, hass_read_only_user: MockUser
) -> None:
    context = Context(user_id=hass_read_only_user.id)
    authority = LocalCertificateAuthority.create()
    for service, data in (
        (
            "install_certificate",
            {"certificate_type": "CentralSystemRootCertificate", "local_ca": True},
        ),
        ("certificate_signed", {"certificate_chain": authority.root_pem}),
        ("extended_trigger_message", {"requested_message": "Heartbeat"}),
        (
            "delete_certificate",
            {"certificate_hash_data": certificate_hash_data(authority.certificate)},
        ),
    ):
        with pytest.raises(Unauthorized):
            await call(hass, service, data, context)
    # Listing public certificates' hashes is for everyone.
    assert await call(
        hass,
        "get_installed_certificate_ids",
        {"certificate_type": "CentralSystemRootCertificate"},
        context,
    ) == {"status": "NotFound"}


# Triggers


@pytest.mark.parametrize(
    ("requested_message", "sent"),
    [
        ("BootNotification", "BootNotification"),
        ("LogStatusNotification", "LogStatusNotification"),
        ("FirmwareStatusNotification", "FirmwareStatusNotification"),
        ("Heartbeat", "Heartbeat"),
        ("MeterValues", "MeterValues"),
        ("SignChargePointCertificate", "SignCertificate"),
        ("StatusNotification", "StatusNotification"),
    ],
)
async def test_extended_trigger_of_each_message(
    hass: HomeAssistant, charger: SimulatedChargePoint, requested_message: str, sent: str
) -> None:
    before = len(received_actions(hass))

    response = await call(
        hass,
        "extended_trigger_message",
        {"requested_message": requested_message, "connector_id": 1},
    )

    assert response == {"status": "Accepted"}
    await wait_for(lambda: sent in received_actions(hass)[before:])
    if requested_message == "SignChargePointCertificate":
        await charger.wait_for_call("CertificateSigned")
        await wait_for(lambda: bool(charger.client_certificate_chain))


async def test_extended_trigger_of_a_connector_it_lacks(hass: HomeAssistant, connect: Any) -> None:
    charger: SimulatedChargePoint = await connect("CP001", connectors=2)
    # The charger knows better than csms which connectors it has.
    charger.connector_count = 1
    assert await call(
        hass, "extended_trigger_message", {"requested_message": "Heartbeat", "connector_id": 2}
    ) == {"status": "Rejected"}


@pytest.mark.parametrize(
    "requested_message",
    [
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StatusNotification",
    ],
)
async def test_trigger_message_of_each_message(
    hass: HomeAssistant, charger: SimulatedChargePoint, requested_message: str
) -> None:
    before = len(received_actions(hass))

    response = await call(hass, "trigger_message", {"requested_message": requested_message})

    assert response == {"status": "Accepted"}
    await wait_for(lambda: requested_message in received_actions(hass)[before:])


async def test_the_charger_keeps_its_cpo_name(hass: HomeAssistant, connect: Any) -> None:
    charger: SimulatedChargePoint = await connect("CP001")
    charger.configuration["CpoName"] = ConfigurationKey("Stadtwerke", False)
    await charger.sign_certificate()
    await charger.wait_for_call("CertificateSigned")
    leaf = charger.client_certificate_chain[0]
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == ("Stadtwerke")
