"""Diagnostics and log uploads received by Home Assistant's own HTTP server.

The simulated charger uploads with a real HTTP client to Home Assistant's
HTTP app, served on a real 127.0.0.1 port by the ``hass_client`` fixtures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    RecorderInstanceContextManager,
    WebSocketGenerator,
)

from custom_components.csms.central.firmware import UploadPurpose
from custom_components.csms.const import DOMAIN
from custom_components.csms.uploads import UPLOADS, charger_folder, safe_file_name, uploaded_file
from simulator import SimulatedChargePoint

from .conftest import add_charge_point, server_url

CONTENT = b"diagnostics of a simulated charger\n" * 40


def base_url(client: TestClient[Any, Any]) -> str:
    """Home Assistant's URL as the charger reaches it (the test server's port)."""
    return str(client.make_url("/"))


async def call(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, service, {"charge_point_id": "CP001", **data}, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


def uploads_folder(hass: HomeAssistant, charge_point_id: str = "CP001") -> Path:
    return Path(hass.config.path("csms", "uploads", charge_point_id))


def stored_files(hass: HomeAssistant) -> list[str]:
    folder = uploads_folder(hass)
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def upload_path(hass: HomeAssistant, server_entry: MockConfigEntry) -> str:
    """A fresh upload location's path, as if given to the charger (which does not use it)."""
    grant = hass.data[UPLOADS].grant(
        server_entry.runtime_data.central, "CP001", UploadPurpose.DIAGNOSTICS
    )
    return f"/api/csms/upload/{grant.token}"


async def test_diagnostics_upload_is_received_listed_and_downloaded_by_admins_only(
    hass: HomeAssistant,
    connect: Any,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    hass_read_only_access_token: str,
) -> None:
    admin = await hass_client()
    charger = await connect()
    charger.upload_content = CONTENT
    received = async_capture_events(hass, f"{DOMAIN}_upload_received")
    statuses = async_capture_events(hass, f"{DOMAIN}_upload_status")

    response = await call(hass, "get_diagnostics", base_url=base_url(admin))
    await charger.wait_background()
    await hass.async_block_till_done()

    assert response["file_name"] == "diagnostics-CP001.log"
    assert response["upload_url"].startswith(f"{base_url(admin)}api/csms/upload/")
    assert [event.data["status"] for event in statuses] == ["Uploading", "Uploaded"]
    model = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.central.charge_points
    assert model["CP001"].diagnostics_status == "Uploaded"
    assert len(received) == 1
    assert received[0].data["original_name"] == "diagnostics-CP001.log"
    assert received[0].data["size"] == len(CONTENT)

    (upload,) = (await call(hass, "list_uploads"))["uploads"]
    assert upload["purpose"] == "diagnostics"
    assert upload["size"] == len(CONTENT)
    assert upload["file_name"].endswith("-diagnostics-CP001.log")
    assert upload["download_path"] == f"/api/csms/uploads/CP001/{upload['file_name']}"
    assert stored_files(hass) == [upload["file_name"]]

    download = await admin.get(upload["download_path"])
    assert download.status == 200
    assert await download.read() == CONTENT
    reader = await hass_client(hass_read_only_access_token)
    assert (await reader.get(upload["download_path"])).status == 403
    anonymous = await hass_client_no_auth()
    assert (await anonymous.get(upload["download_path"])).status == 401


async def test_multipart_post_upload(
    hass: HomeAssistant, connect: Any, hass_client: ClientSessionGenerator
) -> None:
    client = await hass_client()
    charger = await connect()
    charger.upload_method = "POST"
    charger.upload_content = CONTENT

    await call(hass, "get_diagnostics", base_url=base_url(client))
    await charger.wait_background()

    (upload,) = (await call(hass, "list_uploads"))["uploads"]
    assert upload["original_name"] == "diagnostics-CP001.log"
    download = await client.get(upload["download_path"])
    assert await download.read() == CONTENT


async def test_file_name_appended_to_the_location_and_form_fields(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    hass_client: ClientSessionGenerator,
) -> None:
    client = await hass_client()
    await connect()

    # Some chargers add the file name to the location they were given.
    path = upload_path(hass, server_entry)
    assert (await client.put(f"{path}/..report 1.tar.gz", data=b"one")).status == 200
    # A form may carry other fields before the file.
    form = FormData(quote_fields=False)
    form.add_field("comment", "nightly")
    form.add_field("upload", b"two", filename="../../etc/passwd")
    assert (await client.post(upload_path(hass, server_entry), data=form)).status == 200

    # A form without a file is refused; the token stays for another try.
    empty = FormData(default_to_multipart=True)
    empty.add_field("comment", "no file")
    path = upload_path(hass, server_entry)
    assert (await client.post(path, data=empty)).status == 400
    assert (await client.put(path, data=b"three")).status == 200

    uploads = (await call(hass, "list_uploads"))["uploads"][1:]
    assert [upload["original_name"] for upload in uploads] == [
        "../../etc/passwd",
        "..report 1.tar.gz",
    ]
    names = stored_files(hass)
    assert len(names) == 3
    assert any(name.endswith("-passwd") for name in names)
    assert any(name.endswith("-report_1.tar.gz") for name in names)
    for upload, content in zip(uploads, (b"two", b"one"), strict=True):
        assert await (await client.get(upload["download_path"])).read() == content


async def test_a_token_is_used_once(
    hass: HomeAssistant, connect: Any, hass_client: ClientSessionGenerator
) -> None:
    client = await hass_client()
    charger = await connect()
    response = await call(hass, "get_diagnostics", base_url=base_url(client))
    await charger.wait_background()
    path = response["upload_url"].removeprefix(base_url(client).rstrip("/"))

    again = await client.put(path, data=b"again")
    unknown = await client.put("/api/csms/upload/not-a-token", data=b"guess")

    assert again.status == 404
    assert unknown.status == 404
    assert len((await call(hass, "list_uploads"))["uploads"]) == 1


async def test_an_oversized_upload_is_refused_and_leaves_nothing(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    hass_client: ClientSessionGenerator,
) -> None:
    client = await hass_client()
    hass.data[UPLOADS].max_bytes = 1000
    charger = await connect()
    charger.upload_content = b"x" * 5000
    statuses = async_capture_events(hass, f"{DOMAIN}_upload_status")

    await call(hass, "get_diagnostics", base_url=base_url(client))
    await charger.wait_background()
    await hass.async_block_till_done()

    assert [event.data["status"] for event in statuses] == ["Uploading", "UploadFailed"]
    assert statuses[-1].data["failed"] is True
    assert stored_files(hass) == []

    # Without a length announced, the limit is found while streaming.
    async def body() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"y" * 400

    path = upload_path(hass, server_entry)
    assert (await client.put(path, data=body())).status == 413
    assert stored_files(hass) == []
    # A refused upload leaves the token for the charger's next attempt.
    assert (await client.put(path, data=b"small")).status == 200
    assert len(stored_files(hass)) == 1


async def test_only_files_in_a_chargers_folder_are_served(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    hass_client: ClientSessionGenerator,
) -> None:
    client = await hass_client()
    await connect()
    path = upload_path(hass, server_entry)
    assert (await client.put(path, data=b"report")).status == 200
    secret = Path(hass.config.path("secret.txt"))
    await hass.async_add_executor_job(secret.write_text, "secret")
    (upload,) = (await call(hass, "list_uploads"))["uploads"]

    for attempt in (
        "/api/csms/uploads/CP001/..%2F..%2F..%2Fsecret.txt",
        "/api/csms/uploads/..%2F..%2F/secret.txt",
        "/api/csms/uploads/CP001/%2E%2E",
        "/api/csms/uploads/CP001/.hidden",
        "/api/csms/uploads/CP002/" + upload["file_name"],
    ):
        response = await client.get(attempt)
        assert response.status in (400, 404), attempt
        assert await response.read() != b"secret"

    folder = uploads_folder(hass)
    assert uploaded_file(folder, "../../../secret.txt") is None
    assert uploaded_file(folder, "..") is None
    assert uploaded_file(folder, upload["file_name"]) == (folder / upload["file_name"]).resolve()
    # A link in the folder leads elsewhere: not served.
    link = folder / "link.txt"
    await hass.async_add_executor_job(link.symlink_to, secret)
    assert uploaded_file(folder, "link.txt") is None


def test_file_names_are_made_safe() -> None:
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("C:\\logs\\diag.zip") == "diag.zip"
    assert safe_file_name("..hidden") == "hidden"
    assert safe_file_name("a b:c.log") == "a_b_c.log"
    assert safe_file_name("...") == "upload"
    assert safe_file_name("x" * 500) == "x" * 120
    for name in ("../a b", "ÄÖÜ.txt", ".x.y", "CP/001"):
        assert safe_file_name(safe_file_name(name)) == safe_file_name(name)


async def test_get_log_round_trip(
    hass: HomeAssistant, connect: Any, hass_client: ClientSessionGenerator
) -> None:
    client = await hass_client()
    charger = await connect()
    statuses = async_capture_events(hass, f"{DOMAIN}_upload_status")

    response = await call(
        hass,
        "get_log",
        log_type="SecurityLog",
        base_url=base_url(client),
        oldest_timestamp="2026-11-01T00:00:00+00:00",
        retries=2,
    )
    await charger.wait_background()
    await hass.async_block_till_done()

    assert response["status"] == "Accepted"
    assert response["filename"] == "SecurityLog-CP001.log"
    request_id = response["request_id"]
    sent = await charger.wait_for_call("GetLog")
    assert sent["requestId"] == request_id
    assert sent["logType"] == "SecurityLog"
    assert sent["retries"] == 2
    assert sent["log"]["remoteLocation"] == response["upload_url"]
    assert sent["log"]["oldestTimestamp"] == "2026-11-01T00:00:00.000Z"
    assert [(e.data["purpose"], e.data["status"], e.data["request_id"]) for e in statuses] == [
        ("log", "Uploading", request_id),
        ("log", "Uploaded", request_id),
    ]
    state = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.central.charge_points
    management = state["CP001"].firmware_management
    assert (management.log_status, management.log_request_id) == ("Uploaded", request_id)
    (upload,) = (await call(hass, "list_uploads"))["uploads"]
    assert (upload["purpose"], upload["request_id"]) == ("log", request_id)
    assert upload["original_name"] == "SecurityLog-CP001.log"

    # Request ids are never repeated for a charger.
    second = await call(hass, "get_log", base_url=base_url(client))
    assert second["request_id"] == request_id + 1


async def test_upload_location_from_home_assistants_network_url(
    hass: HomeAssistant,
    connect: Any,
    hass_client: ClientSessionGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = await hass_client()
    charger = await connect()
    monkeypatch.setattr(hass.config, "internal_url", base_url(client).rstrip("/"))

    response = await call(hass, "get_diagnostics")
    await charger.wait_background()

    assert response["upload_url"].startswith(f"{base_url(client)}api/csms/upload/")
    assert len((await call(hass, "list_uploads"))["uploads"]) == 1

    # Without any URL of Home Assistant the user is told to give one.
    monkeypatch.setattr(hass.config, "internal_url", None)
    monkeypatch.setattr(hass.config, "api", None)
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, "get_diagnostics")
    assert raised.value.translation_key == "no_upload_url"


async def test_old_uploads_make_room(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    hass_client: ClientSessionGenerator,
) -> None:
    client = await hass_client()
    await connect()
    for number in range(22):
        path = upload_path(hass, server_entry)
        assert (await client.put(f"{path}/file{number}.log", data=b"x")).status == 200

    uploads = (await call(hass, "list_uploads"))["uploads"]
    assert len(uploads) == 20
    assert uploads[0]["original_name"] == "file21.log"
    assert uploads[-1]["original_name"] == "file2.log"
    # Their files went with them.
    assert sorted(stored_files(hass)) == sorted(upload["file_name"] for upload in uploads)


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """Prepare the recorder's database before Home Assistant starts (as the logbook needs)."""


async def test_uploads_in_the_logbook(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    *,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> None:
    # The logbook without the web frontend it depends on (see test_logbook.py).
    hass.config.components.add("frontend")
    assert await async_setup_component(hass, "logbook", {})
    # The websocket API registers its view before the HTTP test server freezes the routes.
    ws = await hass_ws_client()
    client = await hass_client()
    await add_charge_point(hass, server_entry, "CP001", title="Carport")
    charger = SimulatedChargePoint("CP001")
    charge_points.append(charger)
    await charger.connect(server_url(server_entry))
    charger.upload_content = b"x" * 3000

    await call(hass, "get_diagnostics", base_url=base_url(client))
    await charger.wait_background()
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)

    start = dt_util.utcnow() - timedelta(hours=1)
    await ws.send_json_auto_id({"type": "logbook/get_events", "start_time": start.isoformat()})
    result = await ws.receive_json()
    entries = [f"{e['name']} {e['message']}" for e in result["result"] if e.get("domain") == DOMAIN]
    assert entries[-3:] == [
        "Carport diagnostics upload: Uploading",
        "Carport diagnostics uploaded (diagnostics-CP001.log, 2.9 KiB)",
        "Carport diagnostics upload: Uploaded",
    ]


def test_chargers_whose_ids_are_no_file_names_get_folders_of_their_own() -> None:
    folders = {charger_folder(charge_point_id) for charge_point_id in ("CP_1", "CP 1", "CP/1")}
    assert len(folders) == 3
    assert "CP_1" in folders
    assert all(safe_file_name(folder) == folder for folder in folders)
