"""Firmware updates (plain and signed) through the services and the firmware update entity."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from homeassistant.core import Context, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)

from custom_components.csms.const import DOMAIN

from .conftest import server_url, wait_for

LOCATION = "https://firmware.example.com/releases/sim-2.0.0.bin?token=abc"
GOOD_SIGNATURE = base64.b64encode(b"a good signature").decode()
BAD_SIGNATURE = base64.b64encode(b"invalid").decode()


def signing_certificate(*, expired: bool = False) -> str:
    """A self-signed firmware signing certificate, valid now unless expired."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Firmware signing")])
    now = datetime.now(UTC)
    start = now - timedelta(days=400 if expired else 1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.PEM).decode()


def firmware_entity_id(hass: HomeAssistant) -> str:
    entity_id = er.async_get(hass).async_get_entity_id("update", DOMAIN, "CP001_firmware")
    assert entity_id is not None
    return entity_id


async def call(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, service, {"charge_point_id": "CP001", **data}, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


def record_states(hass: HomeAssistant, entity_id: str) -> list[dict[str, Any]]:
    """Every state the entity takes from now on (while available)."""
    seen: list[dict[str, Any]] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is not None and new.state != "unavailable":
            seen.append({"state": new.state, **new.attributes})

    async_track_state_change_event(hass, [entity_id], record)
    return seen


async def test_firmware_update_shows_progress_and_then_the_new_version(
    hass: HomeAssistant, connect: Any
) -> None:
    charger = await connect()
    entity_id = firmware_entity_id(hass)
    before = hass.states.get(entity_id)
    assert before is not None
    assert before.state == "off"
    assert before.attributes["installed_version"] == "1.0.0"
    assert before.attributes["latest_version"] == "1.0.0"
    assert before.attributes["in_progress"] is False
    states = record_states(hass, entity_id)
    statuses = async_capture_events(hass, f"{DOMAIN}_firmware_status")

    response = await call(hass, "update_firmware", location=LOCATION, retries=3)
    sent = await charger.wait_for_call("UpdateFirmware")
    await charger.wait_background(timeout=20)
    await hass.async_block_till_done()
    await wait_for(lambda: hass.states.get(entity_id).attributes["installed_version"] != "1.0.0")

    assert sent["location"] == LOCATION
    assert sent["retries"] == 3
    assert response["retrieve_date"] == sent["retrieveDate"]
    assert [event.data["status"] for event in statuses] == [
        "Downloading",
        "Downloaded",
        "Installing",
        "Installed",
    ]
    progress = [
        (state["latest_version"], state["update_percentage"])
        for state in states
        if state["in_progress"]
    ]
    assert progress == [("sim-2.0.0.bin", 25), ("sim-2.0.0.bin", 50), ("sim-2.0.0.bin", 75)]
    # The charger rebooted with the new firmware: nothing left to install.
    after = hass.states.get(entity_id)
    assert after is not None
    assert after.state == "off"
    assert after.attributes["installed_version"] == "sim-2.0.0"
    assert after.attributes["latest_version"] == "sim-2.0.0"
    assert after.attributes["in_progress"] is False
    assert after.attributes["update_percentage"] is None
    assert after.attributes["firmware_status"] == "Installed"
    assert after.attributes["failed"] is False


async def test_signed_firmware_update(hass: HomeAssistant, connect: Any) -> None:
    charger = await connect()
    statuses = async_capture_events(hass, f"{DOMAIN}_firmware_status")
    certificate = signing_certificate()
    # Far enough ahead to be after the download and the check, even on a busy machine.
    install_at = datetime.now(UTC) + timedelta(seconds=2)

    response = await call(
        hass,
        "signed_update_firmware",
        location="https://firmware.example.com/sim-3.1.bin",
        install_date=install_at.isoformat(),
        signing_certificate=certificate,
        signature=GOOD_SIGNATURE,
    )
    sent = await charger.wait_for_call("SignedUpdateFirmware")
    await charger.wait_background(timeout=20)
    await hass.async_block_till_done()
    await wait_for(lambda: charger.online)
    await hass.async_block_till_done()

    assert response == {"status": "Accepted", "request_id": 1}
    assert sent["requestId"] == 1
    assert sent["firmware"]["signingCertificate"] == certificate
    assert sent["firmware"]["signature"] == GOOD_SIGNATURE
    assert sent["firmware"]["installDateTime"].endswith("Z")
    assert [(event.data["status"], event.data["request_id"]) for event in statuses] == [
        ("Downloading", 1),
        ("Downloaded", 1),
        ("SignatureVerified", 1),
        ("InstallScheduled", 1),
        ("Installing", 1),
        ("Installed", 1),
    ]
    assert all(event.data["signed"] for event in statuses)
    state = hass.states.get(firmware_entity_id(hass))
    assert state is not None
    assert state.attributes["installed_version"] == "sim-3.1"
    assert state.attributes["request_id"] == 1


async def test_signed_firmware_with_an_invalid_signature_fails(
    hass: HomeAssistant, connect: Any
) -> None:
    charger = await connect()
    entity_id = firmware_entity_id(hass)
    statuses = async_capture_events(hass, f"{DOMAIN}_firmware_status")

    response = await call(
        hass,
        "signed_update_firmware",
        location="ftp://user:secret@firmware.example.com/sim-3.1.bin",
        signing_certificate=signing_certificate(),
        signature=BAD_SIGNATURE,
    )
    await charger.wait_background()
    await hass.async_block_till_done()

    assert response["status"] == "Accepted"
    assert [event.data["status"] for event in statuses] == [
        "Downloading",
        "Downloaded",
        "InvalidSignature",
    ]
    assert statuses[-1].data["failed"] is True
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["firmware_status"] == "InvalidSignature"
    assert state.attributes["failed"] is True
    assert state.attributes["in_progress"] is False
    assert state.attributes["installed_version"] == "1.0.0"
    assert state.attributes["latest_version"] == "1.0.0"
    # The location's credentials are not kept.
    model = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.central
    assert model.charge_points["CP001"].firmware_management.firmware_file_name == "sim-3.1.bin"


async def test_signed_firmware_with_an_untrusted_certificate_fails(
    hass: HomeAssistant, connect: Any
) -> None:
    await connect()
    statuses = async_capture_events(hass, f"{DOMAIN}_firmware_status")

    first = await call(
        hass,
        "signed_update_firmware",
        location="https://firmware.example.com/sim-3.1.bin",
        signing_certificate=signing_certificate(expired=True),
        signature=GOOD_SIGNATURE,
    )
    await hass.async_block_till_done()

    assert first == {"status": "InvalidCertificate", "request_id": 1}
    assert [(e.data["status"], e.data["failed"]) for e in statuses] == [
        ("InvalidCertificate", True)
    ]
    state = hass.states.get(firmware_entity_id(hass))
    assert state is not None
    assert state.attributes["firmware_status"] == "InvalidCertificate"
    assert state.attributes["failed"] is True
    second = await call(
        hass,
        "signed_update_firmware",
        location="https://firmware.example.com/sim-3.1.bin",
        signing_certificate=signing_certificate(expired=True),
        signature=GOOD_SIGNATURE,
    )
    assert second["request_id"] == 2


async def test_a_boot_with_new_firmware_ends_the_installation(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    charger = await connect()
    entity_id = firmware_entity_id(hass)
    # A charger that reports Installing, reboots and never says Installed.
    await charger.call_raw("FirmwareStatusNotification", {"status": "Installing"})
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["in_progress"] is True
    assert state.attributes["update_percentage"] == 75
    assert state.attributes["latest_version"] == "requested"

    await charger.disconnect()
    charger.firmware_version = "1.2.0"
    await charger.connect(server_url(server_entry))
    await hass.async_block_till_done()

    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["in_progress"] is False
    assert state.attributes["firmware_status"] == "Installed"
    assert state.attributes["installed_version"] == "1.2.0"


async def test_diagnostics_to_a_location_of_the_users_own(
    hass: HomeAssistant, connect: Any
) -> None:
    charger = await connect()
    statuses = async_capture_events(hass, f"{DOMAIN}_upload_status")
    location = "ftp://user:secret@192.168.1.20/diagnostics/"

    response = await call(
        hass,
        "get_diagnostics",
        location=location,
        start_time="2026-11-20T08:00:00+00:00",
        stop_time="2026-11-21T08:00:00+00:00",
    )
    sent = await charger.wait_for_call("GetDiagnostics")
    await charger.wait_background()
    await hass.async_block_till_done()

    assert response == {"file_name": "diagnostics-CP001.log", "upload_url": location}
    assert sent == {
        "location": location,
        "startTime": "2026-11-20T08:00:00.000Z",
        "stopTime": "2026-11-21T08:00:00.000Z",
    }
    assert [event.data["status"] for event in statuses] == ["Uploading", "Uploaded"]


START = "2026-11-21T10:00:00+00:00"
EARLIER = "2026-11-20T10:00:00+00:00"


@pytest.mark.parametrize(
    ("service", "data", "translation_key"),
    [
        ("update_firmware", {"location": "not a url"}, "invalid_location"),
        ("update_firmware", {"location": "mailto:me@example.com"}, "invalid_location"),
        ("update_firmware", {"location": "https:///no-host.bin"}, "invalid_location"),
        ("update_firmware", {"location": "https://x/" + "a" * 600}, "invalid_location"),
        ("update_firmware", {"location": "https://x/a.bin", "retries": -1}, "invalid_service_data"),
        ("get_diagnostics", {"start_time": START, "stop_time": EARLIER}, "times_out_of_order"),
        ("get_diagnostics", {"location": "ftp://host dir/"}, "invalid_location"),
        ("get_diagnostics", {"base_url": "ftp://192.168.1.10"}, "invalid_base_url"),
        ("get_diagnostics", {"base_url": "http://ha.local:8123/?x=1"}, "invalid_base_url"),
        (
            "get_diagnostics",
            {"base_url": "http://ha.local:8123", "location": "ftp://h/d/"},
            "invalid_service_data",
        ),
        (
            "get_log",
            {"oldest_timestamp": START, "latest_timestamp": EARLIER, "base_url": "http://h"},
            "times_out_of_order",
        ),
        ("get_log", {"log_type": "EverythingLog", "base_url": "http://h"}, "invalid_service_data"),
        (
            "signed_update_firmware",
            {"location": "https://x/a.bin", "signing_certificate": "nope", "signature": "AAAA"},
            "invalid_signing_certificate",
        ),
        (
            "signed_update_firmware",
            {
                "location": "https://x/a.bin",
                "signing_certificate": "@certificate",
                "signature": "not base64!",
            },
            "invalid_signature",
        ),
        (
            "signed_update_firmware",
            {
                "location": "https://x/a.bin",
                "signing_certificate": "@certificate",
                "signature": "AAAA",
                "retrieve_date": START,
                "install_date": EARLIER,
            },
            "times_out_of_order",
        ),
    ],
)
async def test_bad_input_is_refused_with_a_translated_error(
    hass: HomeAssistant,
    connect: Any,
    service: str,
    data: dict[str, Any],
    translation_key: str,
) -> None:
    charger = await connect()
    if data.get("signing_certificate") == "@certificate":
        data = {**data, "signing_certificate": signing_certificate()}

    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, service, **data)

    assert raised.value.translation_key == translation_key
    assert raised.value.translation_domain == DOMAIN
    # Nothing reached the charger.
    assert not {name for name, _ in charger.calls_received} & {
        "UpdateFirmware",
        "SignedUpdateFirmware",
        "GetDiagnostics",
        "GetLog",
    }


async def test_a_charger_without_firmware_management_is_refused(
    hass: HomeAssistant, connect: Any
) -> None:
    await connect(configuration={"SupportedFeatureProfiles": "Core,RemoteTrigger"})
    await hass.async_block_till_done(wait_background_tasks=True)

    for service, data in (
        ("update_firmware", {"location": "https://x/a.bin"}),
        ("get_diagnostics", {"location": "ftp://x/d/"}),
    ):
        with pytest.raises(ServiceValidationError) as raised:
            await call(hass, service, **data)
        assert raised.value.translation_key == "firmware_management_not_supported"


async def test_a_disconnected_charger_is_refused(hass: HomeAssistant, connect: Any) -> None:
    charger = await connect()
    await charger.disconnect()
    await hass.async_block_till_done()

    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "update_firmware", location="https://x/a.bin")

    assert raised.value.translation_key == "charge_point_not_connected"


async def test_firmware_services_are_for_administrators(
    hass: HomeAssistant, connect: Any, hass_read_only_user: MockUser
) -> None:
    await connect()
    context = Context(user_id=hass_read_only_user.id)

    for service, data in (
        ("update_firmware", {"location": "https://x/a.bin"}),
        ("get_diagnostics", {"location": "ftp://x/d/"}),
        ("list_uploads", {}),
    ):
        with pytest.raises(Unauthorized):
            await hass.services.async_call(
                DOMAIN,
                service,
                {"charge_point_id": "CP001", **data},
                blocking=True,
                context=context,
                return_response=service == "list_uploads",
            )
