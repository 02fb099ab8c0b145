"""Persistence of the central system's state in Home Assistant's storage.

The state is one ``Store`` document per server (``.storage/csms.<entry id>``),
written at most every ``SAVE_DELAY`` seconds, and a journal next to it
(``csms.<entry id>.journal``, one JSON record per line) that makes each
transaction's start and stop durable at once. Writing the document costs in
proportion to the number of chargers (megabytes for a thousand); a journal
record is a few hundred bytes, whatever the number of chargers. Records the
document already contains are dropped after each write of the document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
import json
import logging
import os
from pathlib import Path
from typing import Any

from homeassistant.core import CALLBACK_TYPE, CoreState, HassJob, HomeAssistant
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.json import json_bytes
from homeassistant.helpers.storage import STORAGE_DIR, Store

from .central.central_system import STORAGE_VERSION
from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)

# Meter readings arrive every few seconds per connector: coalesce the writes,
# but write at least this often while changes keep coming.
SAVE_DELAY = 10


class _DocumentStore(Store[dict[str, Any]]):
    """A ``Store`` that tells up to which journal record the document on disk holds.

    ``Store`` logs a failed write instead of raising, and reading the file
    back to find out would parse megabytes after every write; so the write
    itself notes what it wrote, once it has.
    """

    saved_journal_seq = 0

    async def _async_write_data(self, data: dict[str, Any]) -> None:
        await super()._async_write_data(data)
        self.saved_journal_seq = (data.get("data") or {}).get("journal_seq", 0)


class HomeAssistantStateStore:
    """The core's :class:`StateStore` on top of a Home Assistant ``Store`` and a journal."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """One storage file and one journal per server entry."""
        self._hass = hass
        self._store = _DocumentStore(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}", atomic_writes=True
        )
        self._journal_path = Path(hass.config.path(STORAGE_DIR, f"{DOMAIN}.{entry_id}.journal"))
        # Serializes appends and compactions of the journal file.
        self._journal_lock = asyncio.Lock()
        # Lines appended but not yet in the file; lines not yet in a saved document.
        self._unwritten: list[bytes] = []
        self._not_saved: list[tuple[int, bytes]] = []
        self._cancel_delayed_save: CALLBACK_TYPE | None = None

    async def async_load(self) -> dict[str, Any] | None:
        """Return the saved state."""
        return await self._store.async_load()

    async def async_load_journal(self) -> list[dict[str, Any]]:
        """Return the journal's records; a line torn by a crash is skipped."""
        lines = await self._hass.async_add_executor_job(_read_lines, self._journal_path)
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                _LOGGER.warning("Skipping an incomplete line of %s", self._journal_path)
                continue
            records.append(record)
            self._not_saved.append((record["seq"], line + b"\n"))
        return records

    async def async_append(self, record: dict[str, Any]) -> None:
        """Append a record and return once it is on disk; raise when it could not be.

        Records appended while a write runs share the next write (one fsync),
        as in a reconnect storm when hundreds of chargers deliver their
        queued transactions at once. The write goes on if the caller is
        cancelled: a half-done write would tear the file.
        """
        line = json_bytes(record) + b"\n"
        self._unwritten.append(line)
        self._not_saved.append((record["seq"], line))
        await asyncio.shield(self._async_write_unwritten())

    async def _async_write_unwritten(self) -> None:
        async with self._journal_lock:
            batch = list(self._unwritten)
            if not batch:
                return  # an earlier write took our line along
            await self._hass.async_add_executor_job(_append, self._journal_path, b"".join(batch))
            # Only now: after a failed write the next caller writes these lines again.
            del self._unwritten[: len(batch)]

    async def async_save(self, data: dict[str, Any]) -> None:
        """Write the state now, then drop the journal records it contains."""
        self._cancel_pending_save()
        await self._store.async_save(data)
        if self._hass.state is not CoreState.running:
            # Stopping: the Store writes only at the final write, after us.
            return
        # After a failed write, only what an earlier document holds.
        saved_seq = min(data.get("journal_seq", 0), self._store.saved_journal_seq)
        await self._async_compact(saved_seq)

    def schedule_save(self, data_fn: Callable[[], dict[str, Any]]) -> None:
        """Write the state within ``SAVE_DELAY`` seconds.

        A pending write is left alone (postponing it with every change would
        keep a steady stream of meter values from ever being written). The
        data is taken when the write happens, so it includes every later
        change. On shutdown the server entry writes the state itself.
        """
        if self._cancel_delayed_save is not None:
            return

        async def write(_: datetime) -> None:
            self._cancel_delayed_save = None
            await self.async_save(data_fn())

        self._cancel_delayed_save = async_call_later(
            self._hass, SAVE_DELAY, HassJob(write, f"{DOMAIN} save", cancel_on_shutdown=True)
        )

    async def async_remove(self) -> None:
        """Delete the storage file and the journal (the entry is removed)."""
        self._cancel_pending_save()
        await self._store.async_remove()
        await self._hass.async_add_executor_job(self._journal_path.unlink, True)

    def _cancel_pending_save(self) -> None:
        if self._cancel_delayed_save is not None:
            self._cancel_delayed_save()
            self._cancel_delayed_save = None

    async def _async_compact(self, saved_seq: int) -> None:
        """Keep only the records the saved document does not contain."""
        async with self._journal_lock:
            self._not_saved = [(seq, line) for seq, line in self._not_saved if seq > saved_seq]
            # Lines still waiting to be appended are appended by their callers.
            waiting = {id(line) for line in self._unwritten}
            kept = b"".join(line for _, line in self._not_saved if id(line) not in waiting)
            await self._hass.async_add_executor_job(_replace, self._journal_path, kept)


def _read_lines(path: Path) -> list[bytes]:
    try:
        return [line for line in path.read_bytes().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def _append(path: Path, data: bytes) -> None:
    """Append and fsync; a line torn by a crash or a failed write is ended first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    with path.open("a+b") as journal:
        if journal.tell() > 0:
            journal.seek(-1, os.SEEK_END)
            if journal.read(1) != b"\n":
                # Else the record would be glued to the torn line and lost with it.
                data = b"\n" + data
        journal.write(data)
        journal.flush()
        os.fsync(journal.fileno())
    if created:
        _fsync_directory(path.parent)


def _replace(path: Path, data: bytes) -> None:
    """Write the journal anew; an empty one is removed."""
    if not data:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as journal:
        journal.write(data)
        journal.flush()
        os.fsync(journal.fileno())
    temporary.replace(path)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a new or renamed file's directory entry durable too."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
