"""Files chargers upload to Home Assistant itself: diagnostics and logs.

GetDiagnostics and GetLog name a location the charger uploads a file to.
Without a location of the user's own, csms hands out one of Home
Assistant's: ``<base>/api/csms/upload/<token>``. Chargers cannot log in to
Home Assistant, so the random token is the credential: it is bound to one
charger and one purpose, valid for 24 hours and used up by a successful
upload. A failed upload leaves it valid, since chargers retry at the same
location (the request's ``retries``). Tokens live in memory only: after a
restart of Home Assistant an upload has to be requested again.

Files are streamed to ``<config>/csms/uploads/<charge point>/`` (never held
in memory as a whole) and only administrators can download them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
import hashlib
from http import HTTPStatus
import itertools
import logging
from pathlib import Path
import re
import secrets
from typing import BinaryIO
from urllib.parse import quote

from aiohttp import BodyPartReader, ClientPayloadError, MultipartReader, hdrs, web
from aiohttp.multipart import parse_content_disposition
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util.hass_dict import HassKey

from .central import CentralSystem, ChargePoint
from .central.firmware import Upload, UploadPurpose
from .central.timestamps import utcnow
from .const import DOMAIN
from .service_helpers import service_error

_LOGGER = logging.getLogger(__name__)

UPLOAD_PATH = "/api/csms/upload"
DOWNLOAD_PATH = "/api/csms/uploads"
TOKEN_LIFETIME = timedelta(hours=24)
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# Bytes read from the request and written to disk at a time.
CHUNK_BYTES = 256 * 1024
MAX_FILE_NAME_LENGTH = 120
_UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")

UPLOADS: HassKey[Uploads] = HassKey(f"{DOMAIN}_uploads")


class UploadTooLargeError(Exception):
    """The upload exceeds the size limit."""


class NoFileError(Exception):
    """A multipart upload without a file in it."""


def safe_file_name(name: str, default: str = "upload") -> str:
    """A name that is safe as one file name: no directories, no leading dot, plain characters.

    Applying it twice changes nothing, so stored names pass it unchanged.
    """
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_CHARACTERS.sub("_", name).lstrip(".")
    return name[:MAX_FILE_NAME_LENGTH] or default


def charger_folder(charge_point_id: str) -> str:
    """The folder name of a charger's uploads, distinct for distinct ids.

    Ids that are not plain file names ("CP 1", "CP/1") get a hash of the id
    appended, so two chargers never share a folder.
    """
    safe = safe_file_name(charge_point_id)
    if safe == charge_point_id:
        return safe
    digest = hashlib.sha256(charge_point_id.encode()).hexdigest()[:12]
    return f"{safe[: MAX_FILE_NAME_LENGTH - 13]}-{digest}"


def download_path(charge_point_id: str, file_name: str) -> str:
    """Where an administrator downloads an upload (relative to Home Assistant's URL)."""
    folder = charger_folder(charge_point_id)
    return f"{DOWNLOAD_PATH}/{quote(folder, safe='')}/{quote(file_name, safe='')}"


@dataclass(slots=True)
class UploadGrant:
    """Permission for one charger to upload one file to Home Assistant."""

    token: str
    central: CentralSystem
    charge_point_id: str
    purpose: UploadPurpose
    expires_at: datetime
    # The GetLog request the upload answers (logs only).
    request_id: int | None = None
    # The file name the charger announced in its answer.
    expected_name: str | None = None
    # An upload with this token is being received now.
    in_use: bool = False


class Uploads:
    """The upload grants given out, and where the files go."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Start without grants."""
        self.directory = Path(hass.config.path(DOMAIN, "uploads"))
        self.max_bytes = MAX_UPLOAD_BYTES
        self._grants: dict[str, UploadGrant] = {}

    def grant(
        self,
        central: CentralSystem,
        charge_point_id: str,
        purpose: UploadPurpose,
        request_id: int | None = None,
    ) -> UploadGrant:
        """A new one-time grant."""
        self._forget_expired()
        grant = UploadGrant(
            token=secrets.token_urlsafe(32),
            central=central,
            charge_point_id=charge_point_id,
            purpose=purpose,
            expires_at=utcnow() + TOKEN_LIFETIME,
            request_id=request_id,
        )
        self._grants[grant.token] = grant
        return grant

    def claim(self, token: str) -> UploadGrant | None:
        """The grant of a token for an upload starting now (None: unknown, used or expired)."""
        self._forget_expired()
        grant = self._grants.get(token)
        if grant is None or grant.in_use:
            return None
        grant.in_use = True
        return grant

    def release(self, grant: UploadGrant) -> None:
        """An upload failed: the charger may try again."""
        grant.in_use = False

    def revoke(self, grant: UploadGrant) -> None:
        """The grant is used up, or no upload will come."""
        self._grants.pop(grant.token, None)

    def folder(self, charge_point_id: str) -> Path:
        """The directory of a charger's uploads."""
        return self.directory / charger_folder(charge_point_id)

    def _forget_expired(self) -> None:
        now = utcnow()
        for token in [t for t, grant in self._grants.items() if grant.expires_at <= now]:
            del self._grants[token]


@callback
def async_setup_uploads(hass: HomeAssistant) -> None:
    """Serve the upload and download endpoints."""
    hass.data[UPLOADS] = Uploads(hass)
    hass.http.register_view(UploadView())
    hass.http.register_view(DownloadView())


def upload_base_url(hass: HomeAssistant, base_url: str | None) -> str:
    """Where chargers reach Home Assistant: ``base_url``, else its local URL.

    Chargers sit on the local network: the internal URL is what they reach.
    """
    if base_url is not None:
        return base_url
    try:
        return get_url(hass, allow_external=False, prefer_external=False)
    except NoURLAvailableError as err:
        raise service_error("no_upload_url") from err


def upload_location(base_url: str, grant: UploadGrant) -> str:
    """The URL a charger uploads to with its grant."""
    return f"{base_url.rstrip('/')}{UPLOAD_PATH}/{grant.token}"


def uploaded_file(folder: Path, file_name: str) -> Path | None:
    """A stored upload in a charger's folder; None for anything else (blocking I/O)."""
    if safe_file_name(file_name) != file_name:
        return None
    base = folder.resolve()
    path = (base / file_name).resolve()
    # A symbolic link leads elsewhere: only files right in the folder are served.
    if path.parent != base or not path.is_file():
        return None
    return path


def _open_new_file(folder: Path, name: str) -> tuple[Path, BinaryIO]:
    """Create ``<UTC timestamp>-<name>`` in the folder, numbered when it exists."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    for number in itertools.count(1):
        prefix = stamp if number == 1 else f"{stamp}-{number}"
        path = folder / f"{prefix}-{name}"
        try:
            return path, path.open("xb")
        except FileExistsError:
            continue
    raise AssertionError  # pragma: no cover  (the loop only ends by returning)


def _discard(path: Path, handle: BinaryIO) -> None:
    handle.close()
    path.unlink(missing_ok=True)


def _remove_files(folder: Path, names: list[str]) -> None:
    for name in names:
        (folder / name).unlink(missing_ok=True)


async def _first_file(reader: MultipartReader) -> BodyPartReader:
    """The first file part of a form (a part with a file name, else one called "file")."""
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and (part.filename or part.name == "file"):
            return part
    raise NoFileError


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK_BYTES):
        yield chunk


async def _copy(
    hass: HomeAssistant, chunks: AsyncIterator[bytes], handle: BinaryIO, max_bytes: int
) -> int:
    """Write the chunks to the file in the executor, up to ``max_bytes``; return the size."""
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise UploadTooLargeError
        await hass.async_add_executor_job(handle.write, chunk)
    await hass.async_add_executor_job(handle.close)
    return size


def _header_file_name(request: web.Request) -> str | None:
    """The file name of a raw upload's Content-Disposition header, if any."""
    if (header := request.headers.get(hdrs.CONTENT_DISPOSITION)) is None:
        return None
    _, params = parse_content_disposition(header)
    return params.get("filename")


class UploadView(HomeAssistantView):
    """Receives a charger's upload: PUT or POST, raw or multipart/form-data."""

    url = UPLOAD_PATH + "/{token}"
    name = "api:csms:upload"
    # Chargers cannot log in: the one-time token is the permission.
    requires_auth = False

    def __init__(self) -> None:
        """Also take uploads to the location with a file name appended (some chargers do)."""
        self.extra_urls = [UPLOAD_PATH + "/{token}/{file_name}"]

    async def put(
        self, request: web.Request, token: str, file_name: str | None = None
    ) -> web.Response:
        """Take a raw upload."""
        return await self._receive(request, token, file_name)

    async def post(
        self, request: web.Request, token: str, file_name: str | None = None
    ) -> web.Response:
        """Take a raw or multipart/form-data upload."""
        return await self._receive(request, token, file_name)

    async def _receive(
        self, request: web.Request, token: str, path_name: str | None
    ) -> web.Response:
        hass = request.app[KEY_HASS]
        uploads = hass.data[UPLOADS]
        grant = uploads.claim(token)
        if grant is None:
            # Unknown, used or expired: the same answer, so a token cannot be probed.
            _LOGGER.debug("Upload with an invalid token from %s", request.remote)
            return web.Response(status=HTTPStatus.NOT_FOUND)
        try:
            upload = await self._store(hass, uploads, grant, request, path_name)
        except UploadTooLargeError:
            uploads.release(grant)
            _LOGGER.warning(
                "%s: %s upload larger than %s bytes refused",
                grant.charge_point_id,
                grant.purpose,
                uploads.max_bytes,
            )
            return web.Response(status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        except NoFileError:
            uploads.release(grant)
            return web.Response(status=HTTPStatus.BAD_REQUEST, text="No file in the form")
        except (ClientPayloadError, ConnectionResetError, ValueError) as err:
            # The charger went away mid-upload or sent a malformed form; it may try again.
            uploads.release(grant)
            _LOGGER.warning("%s: %s upload failed: %s", grant.charge_point_id, grant.purpose, err)
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        except BaseException:
            uploads.release(grant)
            raise
        uploads.revoke(grant)
        await self._record(hass, uploads, grant, upload)
        return web.Response(status=HTTPStatus.OK, text="OK")

    async def _store(
        self,
        hass: HomeAssistant,
        uploads: Uploads,
        grant: UploadGrant,
        request: web.Request,
        path_name: str | None,
    ) -> Upload:
        """Stream the body to a new file; nothing of it stays behind when it fails."""
        chunks: AsyncIterator[bytes]
        if request.content_type == "multipart/form-data":
            part = await _first_file(await request.multipart())
            given_name = path_name or part.filename
            chunks = _part_chunks(part)
        else:
            # A raw body announces its size: no need to read what will not fit.
            if (request.content_length or 0) > uploads.max_bytes:
                raise UploadTooLargeError
            given_name = path_name or _header_file_name(request)
            chunks = request.content.iter_chunked(CHUNK_BYTES)
        original_name = given_name or grant.expected_name or f"{grant.purpose}.log"
        path, handle = await hass.async_add_executor_job(
            _open_new_file,
            uploads.folder(grant.charge_point_id),
            safe_file_name(original_name, f"{grant.purpose}.log"),
        )
        try:
            size = await _copy(hass, chunks, handle, uploads.max_bytes)
        except BaseException:
            await hass.async_add_executor_job(_discard, path, handle)
            raise
        return Upload(
            purpose=grant.purpose,
            file_name=path.name,
            original_name=original_name,
            size=size,
            received_at=utcnow(),
            request_id=grant.request_id,
        )

    async def _record(
        self, hass: HomeAssistant, uploads: Uploads, grant: UploadGrant, upload: Upload
    ) -> None:
        """Tell the central system; files of uploads it no longer lists are deleted."""
        _LOGGER.info(
            "%s: received %s upload %s (%s bytes)",
            grant.charge_point_id,
            upload.purpose,
            upload.file_name,
            upload.size,
        )
        charge_point: ChargePoint | None = grant.central.charge_points.get(grant.charge_point_id)
        if charge_point is None:
            # Removed meanwhile: the file stays for the administrator to find.
            return
        dropped = grant.central.upload_received(charge_point, upload)
        if dropped:
            await hass.async_add_executor_job(
                _remove_files,
                uploads.folder(grant.charge_point_id),
                [old.file_name for old in dropped],
            )


class DownloadView(HomeAssistantView):
    """Serves an uploaded file to an administrator."""

    url = DOWNLOAD_PATH + "/{folder}/{file_name}"
    name = "api:csms:uploads"
    requires_auth = True

    async def get(self, request: web.Request, folder: str, file_name: str) -> web.StreamResponse:
        """The file, if it is one of a charger's uploads."""
        if not request["hass_user"].is_admin:
            return web.Response(status=HTTPStatus.FORBIDDEN)
        hass = request.app[KEY_HASS]
        uploads = hass.data[UPLOADS]
        if safe_file_name(folder) != folder:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        path = await hass.async_add_executor_job(
            uploaded_file, uploads.directory / folder, file_name
        )
        if path is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        return web.FileResponse(
            path,
            headers={
                hdrs.CONTENT_DISPOSITION: f'attachment; filename="{path.name}"',
                hdrs.CONTENT_TYPE: "application/octet-stream",
            },
        )
