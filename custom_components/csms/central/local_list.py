"""Keeping a charger's local authorization list in step (OCPP 1.6 sections 3.5 and 5.15).

The central system remembers which list version a charger holds and what is
in it, so a change of tags becomes a small differential update. Whenever
that memory may be wrong (the charger reports another version, an update
failed or was refused) the next update is a full one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
import logging
from typing import Any

from ocpp.v16.enums import AuthorizationStatus, UpdateStatus, UpdateType

from .errors import CallErrorResponse, RequestError

_LOGGER = logging.getLogger(__name__)

Request = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]

# GetLocalListVersion: 0 is an empty list, -1 a charger without local lists
# (OCPP 1.6 section 5.9); the versions we send are therefore 1 and up.
EMPTY_LIST_VERSION = 0
NO_LOCAL_LIST_VERSION = -1
_UNSUPPORTED_CODES = frozenset({"NotImplemented", "NotSupported"})


class SyncResult(StrEnum):
    """How the last attempt to update a charger's list ended."""

    ACCEPTED = "accepted"
    FAILED = "failed"
    VERSION_MISMATCH = "version_mismatch"
    NOT_SUPPORTED = "not_supported"
    ERROR = "error"


_RESULTS: dict[str, SyncResult] = {
    UpdateStatus.accepted: SyncResult.ACCEPTED,
    UpdateStatus.failed: SyncResult.FAILED,
    UpdateStatus.version_mismatch: SyncResult.VERSION_MISMATCH,
    UpdateStatus.not_supported: SyncResult.NOT_SUPPORTED,
}


@dataclass(slots=True)
class LocalListState:
    """What the central system knows of a charger's local list."""

    # The latest version the charger accepted from us (0: none yet).
    version: int = EMPTY_LIST_VERSION
    # id tag -> idTagInfo the charger holds; None when unknown.
    entries: dict[str, dict[str, Any]] | None = None
    result: SyncResult | None = None
    synced_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize for storage."""
        return {
            "version": self.version,
            "entries": self.entries,
            "result": self.result,
            "synced_at": self.synced_at.isoformat() if self.synced_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LocalListState:
        """Restore from storage."""
        synced_at = data.get("synced_at")
        result = data.get("result")
        return cls(
            version=int(data.get("version", EMPTY_LIST_VERSION)),
            entries=data.get("entries"),
            result=SyncResult(result) if result else None,
            synced_at=datetime.fromisoformat(synced_at) if synced_at else None,
        )


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What one synchronization did."""

    result: SyncResult
    list_version: int
    # "Full", "Differential", or None when the charger was already in step.
    update_type: str | None
    entries: int


def limit_entries(
    wanted: Mapping[str, dict[str, Any]], max_length: int | None
) -> dict[str, dict[str, Any]]:
    """At most ``max_length`` entries (LocalAuthListMaxLength), accepted tags first."""
    if max_length is None or len(wanted) <= max_length:
        return dict(wanted)
    ordered = sorted(
        wanted.items(), key=lambda item: item[1].get("status") != AuthorizationStatus.accepted
    )
    _LOGGER.warning(
        "The local list has %s entries, the charger holds %s: sending the first ones",
        len(wanted),
        max_length,
    )
    return dict(ordered[:max_length])


def differences(
    held: Mapping[str, dict[str, Any]], wanted: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Differential update entries: changed or new tags, and removed ones (no idTagInfo)."""
    changes: list[dict[str, Any]] = [
        {"id_tag": id_tag, "id_tag_info": info}
        for id_tag, info in wanted.items()
        if held.get(id_tag) != info
    ]
    changes.extend({"id_tag": id_tag} for id_tag in held if id_tag not in wanted)
    return changes


class LocalListSync:
    """One synchronization of a charger's list with the wanted entries."""

    def __init__(
        self,
        request: Request,
        state: LocalListState,
        *,
        now: datetime,
        max_per_message: int | None = None,
    ) -> None:
        """``max_per_message`` is the charger's SendLocalListMaxLength."""
        self._request = request
        self._state = state
        self._now = now
        self._chunk = max(1, max_per_message) if max_per_message else None

    async def run(
        self,
        wanted: Mapping[str, dict[str, Any]],
        *,
        update_type: str | None = None,
        list_version: int | None = None,
    ) -> SyncOutcome:
        """Bring the charger's list to ``wanted``.

        ``update_type`` asks for a full or differential update (default: a
        differential one when the charger's list is known, else a full one);
        a differential update of a list we do not know is sent as a full one.
        ``list_version`` is the version to send (default: the next one).
        A failed exchange leaves the list unknown and raises.
        """
        state = self._state
        try:
            return await self._run(dict(wanted), update_type, list_version)
        except RequestError:
            state.entries = None
            state.result = SyncResult.ERROR
            state.synced_at = self._now
            raise

    async def _run(
        self,
        wanted: dict[str, dict[str, Any]],
        update_type: str | None,
        list_version: int | None,
    ) -> SyncOutcome:
        state = self._state
        held_version = await self._charger_version()
        if held_version == NO_LOCAL_LIST_VERSION:
            return self._finish(SyncResult.NOT_SUPPORTED, None, wanted)
        if not self._charger_holds_ours(held_version):
            # Reset, replaced, or written by someone else: start over.
            state.entries = None
        next_version = list_version or max(state.version, held_version) + 1
        if update_type != UpdateType.full and state.entries is not None:
            changes = differences(state.entries, wanted)
            if not changes and update_type is None:
                return self._finish(SyncResult.ACCEPTED, None, wanted)
            status = await self._send(UpdateType.differential, next_version, changes)
            if status in (UpdateStatus.accepted, UpdateStatus.not_supported):
                return self._finish(_RESULTS[status], UpdateType.differential, wanted)
            _LOGGER.info("Differential local list update: %s; sending the full list", status)
            # Any version above the refused one will do.
            next_version = max(next_version, state.version) + 1
        status = await self._send(UpdateType.full, next_version, _entries(wanted))
        return self._finish(_RESULTS.get(status, SyncResult.FAILED), UpdateType.full, wanted)

    async def _charger_version(self) -> int:
        try:
            answer = await self._request("GetLocalListVersion", {})
        except CallErrorResponse as err:
            if err.code in _UNSUPPORTED_CODES:
                return NO_LOCAL_LIST_VERSION
            raise
        return int(answer.get("list_version", EMPTY_LIST_VERSION))

    def _charger_holds_ours(self, held_version: int) -> bool:
        state = self._state
        if held_version == state.version:
            return True
        # A charger reports 0 for an empty list whatever its version.
        return held_version == EMPTY_LIST_VERSION and state.entries == {}

    async def _send(self, update_type: str, version: int, entries: list[dict[str, Any]]) -> str:
        """Send the entries, in several messages when the charger takes fewer at once.

        A full update sends its first part as Full and the rest as
        Differential updates, each with the next version.
        """
        chunk = self._chunk or max(1, len(entries))
        parts = [entries[i : i + chunk] for i in range(0, len(entries), chunk)] or [[]]
        status: str = UpdateStatus.accepted
        for index, part in enumerate(parts):
            answer = await self._request(
                "SendLocalList",
                {
                    "list_version": version,
                    "update_type": update_type if index == 0 else UpdateType.differential,
                    "local_authorization_list": part,
                },
            )
            status = str(answer.get("status"))
            if status != UpdateStatus.accepted:
                return status
            self._state.version = version
            version += 1
        return status

    def _finish(
        self, result: SyncResult, update_type: str | None, wanted: dict[str, dict[str, Any]]
    ) -> SyncOutcome:
        state = self._state
        state.entries = wanted if result is SyncResult.ACCEPTED else None
        state.result = result
        state.synced_at = self._now
        return SyncOutcome(
            result=result,
            list_version=state.version,
            update_type=str(update_type) if update_type else None,
            entries=len(wanted),
        )


def _entries(wanted: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id_tag": id_tag, "id_tag_info": info} for id_tag, info in wanted.items()]
