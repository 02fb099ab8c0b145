"""Keeping id tags and secrets out of logs.

An id tag is a card number: personal data, and enough to charge on someone
else's account with a cloned card. The ``AuthorizationKey`` (OCPP 1.6
Security Whitepaper, security profile 2) is the password of a charger's
websocket, and a private key must never leave where it was made.
Certificates and CSRs are public and stay readable.

Frames are redacted structurally when they are JSON; anything else (a
malformed frame, a log line with a frame in it, a cut-off frame) is redacted
by pattern, which errs on the side of redacting.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from typing import Any

from websockets.frames import Frame, Opcode

MASK = "<redacted>"

# Key names, compared in lower case without "_": idTag, parentIdTag and
# their snake_case spellings.
_ID_TAG_KEYS = frozenset({"idtag", "parentidtag"})
_AUTHORIZATION_KEY = "authorizationkey"

# Cheap checks that skip the work for the frames that hold nothing to hide.
_ID_TAG_HINT = re.compile(r"id_?tag", re.IGNORECASE)
_SECRET_HINT = re.compile(r"authorization_?key|PRIVATE KEY", re.IGNORECASE)

# A PEM private key, or what is left of one in a cut-off text.
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*\Z)",
    re.DOTALL,
)

# A quoted string: JSON ("..."), Python repr ('...' or "..."), or JSON in a
# JSON string (\"...\"). A string cut off before its closing quote runs to
# the end of the text.
_STRING = "(?:{})".format(
    "|".join(
        (
            r'"(?:[^"\\]|\\.)*(?:"|\Z)',
            r"'(?:[^'\\]|\\.)*(?:'|\Z)",
            r'\\"(?:[^"\\]|\\[^"])*(?:\\"|\Z)',
        )
    )
)
_QUOTE = r"""(?:\\?"|')"""
# The opening quote of the key may have been cut off with the text before it.
_ID_TAG_ITEM = re.compile(
    rf"(?P<key>{_QUOTE}?(?:parent_?)?id_?tag{_QUOTE}\s*:\s*)(?P<value>{_STRING})", re.IGNORECASE
)
# The value of a configuration key named AuthorizationKey, either order of
# "key" and "value" within the same object. The gap between them is bounded
# (a "readonly" flag fits) so that a hostile frame cannot make it quadratic.
_KEY_NAMED = rf"{_QUOTE}key{_QUOTE}\s*:\s*{_QUOTE}authorization_?key{_QUOTE}"
_VALUE = rf"{_QUOTE}value{_QUOTE}\s*:\s*"
_GAP = r"[^{}]{0,64}?"
_AUTHORIZATION_KEY_AFTER = re.compile(
    rf"(?P<key>{_KEY_NAMED}{_GAP}{_VALUE})(?P<value>{_STRING})", re.IGNORECASE
)
_AUTHORIZATION_KEY_BEFORE = re.compile(
    rf"(?P<key>{_VALUE})(?P<value>{_STRING})(?P<rest>{_GAP}{_KEY_NAMED})", re.IGNORECASE
)


def redact_frame(text: str | bytes) -> str:
    """A frame (or any text) without id tags, AuthorizationKey values and private keys."""
    return _redact(_as_text(text), id_tags=True)


def redact_secrets(text: str | bytes) -> str:
    """A frame (or any text) without AuthorizationKey values and private keys; id tags stay.

    For the message log, the admin-only audit trail of billing: it needs the
    id tags, but nobody needs a charger's password.
    """
    return _redact(_as_text(text), id_tags=False)


def is_id_tag_key(name: str) -> bool:
    """Whether a payload field holds an id tag (``idTag``, ``parentIdTag``, snake_case too)."""
    return _normalized(name) in _ID_TAG_KEYS


def redact_configuration_value(key: str, value: Any) -> Any:
    """A configuration key's value fit for a log."""
    return MASK if _normalized(key) == _AUTHORIZATION_KEY else value


class RedactingFilter(logging.Filter):
    """Redacts every record of the logger it is added to, whatever its arguments.

    The message is formatted here and the arguments dropped: an argument may
    be a frame, a parsed message whose ``repr`` holds the payload, or a dict.
    A filter of a logger sees only the records logged on that very logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message when it holds a secret; never drop a record."""
        if isinstance(record.args, tuple) and any(isinstance(a, Frame) for a in record.args):
            # The websockets package logs frames shortened in the middle:
            # redact the whole frame first, or a tag may lose its key.
            record.args = tuple(_redacted_websocket_frame(arg) for arg in record.args)
        message = record.getMessage()
        redacted = redact_frame(message)
        if redacted != message:
            # Arguments stay when there is nothing to hide: other filters
            # may look at them.
            record.msg = redacted
            record.args = None
        return True


REDACTING_FILTER = RedactingFilter()


def redact_logger(logger: logging.Logger) -> None:
    """Redact every record of ``logger`` (its own records, not its children's)."""
    if REDACTING_FILTER not in logger.filters:
        logger.addFilter(REDACTING_FILTER)


def _redacted_websocket_frame(arg: Any) -> Any:
    if not isinstance(arg, Frame) or arg.opcode is not Opcode.TEXT:
        return arg
    text = bytes(arg.data).decode("utf-8", "replace")
    redacted = redact_frame(text)
    if redacted == text:
        return arg
    return dataclasses.replace(arg, data=redacted.encode())


def _as_text(text: str | bytes) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


# Secrets in URLs: the one-time token of an upload location (it lets anyone
# upload once), and the user:password of an ftp:// firmware or log location.
_UPLOAD_TOKEN = re.compile(r"(/api/csms/upload/)[A-Za-z0-9_\-]+")
_URL_USERINFO = re.compile(r"""(\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s"'\\]+@""")


def _redact_urls(text: str) -> str:
    if "://" not in text and "/api/csms/upload/" not in text:
        return text
    text = _UPLOAD_TOKEN.sub(rf"\g<1>{MASK}", text)
    return _URL_USERINFO.sub(rf"\g<1>{MASK}@", text)


def _redact(text: str, *, id_tags: bool) -> str:
    text = _redact_urls(text)
    if not (_SECRET_HINT.search(text) or (id_tags and _ID_TAG_HINT.search(text))):
        return text
    try:
        frame = json.loads(text)
    except ValueError:
        return _redact_pattern(text, id_tags=id_tags)
    redacted = _redact_value(frame, id_tags=id_tags)
    if redacted == frame:
        # Something looked like a secret but was none: keep the text as it came.
        return text
    return json.dumps(redacted, ensure_ascii=False, separators=(",", ":"))


def _redact_value(value: Any, *, id_tags: bool) -> Any:
    if isinstance(value, str):
        # It may hold JSON of its own (DataTransfer data, for one).
        return _redact_pattern(value, id_tags=id_tags)
    if isinstance(value, list):
        return [_redact_value(item, id_tags=id_tags) for item in value]
    if not isinstance(value, dict):
        return value
    redacted = {
        key: MASK
        if id_tags and isinstance(item, str) and _normalized(key) in _ID_TAG_KEYS
        else _redact_value(item, id_tags=id_tags)
        for key, item in value.items()
    }
    if isinstance(value.get("key"), str) and "value" in value:
        redacted["value"] = redact_configuration_value(value["key"], redacted["value"])
    return redacted


def _redact_pattern(text: str, *, id_tags: bool) -> str:
    text = _PRIVATE_KEY.sub(MASK, text)
    text = _AUTHORIZATION_KEY_AFTER.sub(_mask_value, text)
    text = _AUTHORIZATION_KEY_BEFORE.sub(_mask_value, text)
    if id_tags:
        text = _ID_TAG_ITEM.sub(_mask_value, text)
    return text


def _mask_value(match: re.Match[str]) -> str:
    """The match with its ``value`` group masked, quoted as the value was."""
    value = match["value"]
    quote = value[:2] if value.startswith("\\") else value[0]
    rest = match.groupdict().get("rest") or ""
    return f"{match['key']}{quote}{MASK}{quote}{rest}"


def _normalized(key: str) -> str:
    return key.replace("_", "").lower()
