"""A bounded in-memory log of every OCPP frame a charge point exchanged.

Frames are stored as received or sent (text) and decoded only when the log
is read: recording must cost next to nothing on the hot path.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
import json
from typing import Any, Literal

from .redaction import redact_secrets
from .timestamps import format_timestamp, utcnow

# Per charge point. MeterValues frames are about 1-2 KiB: 64 KiB keeps the
# last few dozen messages, and 200 chargers stay within ~13 MiB.
MAX_LOG_BYTES = 64 * 1024

Direction = Literal["received", "sent"]
_MESSAGE_TYPES = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR"}


@dataclass(frozen=True, slots=True)
class _Entry:
    time: datetime
    direction: Direction
    text: str


class MessageLog:
    """The newest frames of one charge point, oldest dropped first."""

    def __init__(self, max_bytes: int = MAX_LOG_BYTES) -> None:
        """Create an empty log keeping at most about ``max_bytes`` of frames."""
        self._entries: deque[_Entry] = deque()
        self._bytes = 0
        self._max_bytes = max_bytes

    def record(self, direction: Direction, text: str | bytes) -> None:
        """Keep one frame, without AuthorizationKey values or private keys (id tags stay)."""
        text = redact_secrets(text)
        self._entries.append(_Entry(utcnow(), direction, text))
        self._bytes += len(text)
        while self._bytes > self._max_bytes and len(self._entries) > 1:
            self._bytes -= len(self._entries.popleft().text)

    def __len__(self) -> int:
        """The number of frames kept."""
        return len(self._entries)

    def entries(self) -> list[dict[str, Any]]:
        """The frames, oldest first, decoded: time, direction, type, id, action, payload.

        Answers carry the action of the call they answer when that call is
        still in the log.
        """
        actions: dict[tuple[Direction, str], str] = {}
        result: list[dict[str, Any]] = []
        for entry in self._entries:
            decoded = _decode(entry.text)
            message_type, unique_id, action, payload = decoded
            if message_type == "CALL" and unique_id is not None and action is not None:
                actions[(entry.direction, unique_id)] = action
            elif unique_id is not None:
                asker: Direction = "sent" if entry.direction == "received" else "received"
                action = actions.pop((asker, unique_id), None)
            result.append(
                {
                    "time": format_timestamp(entry.time),
                    "direction": entry.direction,
                    "message_type": message_type,
                    "unique_id": unique_id,
                    "action": action,
                    "payload": payload,
                }
            )
        return result


def _decode(text: str) -> tuple[str, str | None, str | None, Any]:
    """Message type, unique id, action and payload of a frame; malformed ones raw."""
    try:
        frame = json.loads(text)
    except ValueError:
        return "MALFORMED", None, None, text
    if not isinstance(frame, list) or len(frame) < 3 or frame[0] not in _MESSAGE_TYPES:
        return "MALFORMED", None, None, frame
    message_type = _MESSAGE_TYPES[frame[0]]
    unique_id = str(frame[1])
    if message_type == "CALL":
        return message_type, unique_id, str(frame[2]), frame[3] if len(frame) > 3 else None
    if message_type == "CALLRESULT":
        return message_type, unique_id, None, frame[2]
    return message_type, unique_id, None, frame[2:]
