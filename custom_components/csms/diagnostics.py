"""Diagnostics: what the central system knows of a server or a charger, without secrets.

Id tags name people, serial numbers, ICCID and IMSI name devices, and an
``AuthorizationKey`` unlocks a charger's websocket: they are redacted in any
spelling (the model's snake_case, OCPP's camelCase), at any depth, also in
the raw and nested JSON text a charger may send.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import fields
from datetime import datetime
import re
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import AnyDeviceEntry

from .central import ChargePoint, Connector, Transaction
from .central.firmware import FirmwareManagementState
from .central.local_list import LocalListState
from .const import CONF_CHARGE_POINT_ID, CONF_SERVER_ENTRY_ID
from .hub import Hub, async_loaded_hubs
from .id_tags import ID_TAGS

# Key names (lower case, without separators) whose values are redacted.
_SECRET_KEYS = frozenset(
    {"iccid", "imsi", "password", "passwordhashes", "authorizationkey", "privatekey", "token"}
)
_IDENTIFYING_KEY_ENDINGS = ("idtag", "serialnumber")
# Configuration keys (OCPP 1.6 section 9) whose value is a secret.
_SECRET_CONFIGURATION_KEYS = frozenset({"authorizationkey"})
# A name: value pair in text: a malformed frame, JSON in a DataTransfer's
# data, a schema error ("idTag: 'X' is too long").
_PAIR = re.compile(
    r"""["']?(?P<key>[A-Za-z_]+)["']?\s*:\s*"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^,}\]\s]+)"""
)
# Shorter secrets are not searched for in text: they would mangle numbers
# and timestamps.
_MIN_ECHOED_LENGTH = 4


def _plain_name(key: object) -> str:
    return str(key).replace("_", "").replace("-", "").casefold()


class _SensitiveKeys(frozenset[str]):
    """The keys to redact, matched in any spelling: ``id_tag``, ``idTag``, ``parentIdTag``."""

    def __contains__(self, key: object) -> bool:
        name = _plain_name(key)
        return name in _SECRET_KEYS or name.endswith(_IDENTIFYING_KEY_ENDINGS)


SENSITIVE_KEYS = _SensitiveKeys(_SECRET_KEYS)


def redact(data: Any) -> Any:
    """Redact every sensitive value in diagnostics data.

    Values are found by their key; wherever text repeats one of them (an
    error description quoting a payload) it is removed too.
    """
    secrets = sorted(set(_secret_values(data)), key=len, reverse=True)
    return async_redact_data(_redact_values(data, secrets), SENSITIVE_KEYS)


def _is_secret_configuration(data: Mapping[Any, Any]) -> bool:
    """ChangeConfiguration and GetConfiguration carry {"key": "AuthorizationKey", "value": ...}."""
    return _plain_name(data.get("key")) in _SECRET_CONFIGURATION_KEYS and "value" in data


def _secret_values(data: Any) -> Iterator[str]:
    if isinstance(data, list):
        for item in data:
            yield from _secret_values(item)
    elif isinstance(data, Mapping):
        for key, value in data.items():
            if key in SENSITIVE_KEYS or (key == "value" and _is_secret_configuration(data)):
                if isinstance(value, str) and len(value) >= _MIN_ECHOED_LENGTH:
                    yield value
            else:
                yield from _secret_values(value)


def _redact_values(data: Any, secrets: list[str]) -> Any:
    """Redact what key names alone do not show: secret configuration values, text."""
    if isinstance(data, str):
        return _redact_text(data, secrets)
    if isinstance(data, list):
        return [_redact_values(item, secrets) for item in data]
    if not isinstance(data, Mapping):
        return data
    redacted = {key: _redact_values(value, secrets) for key, value in data.items()}
    if _is_secret_configuration(data):
        redacted["value"] = REDACTED
    return redacted


def _redact_text(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    if _PAIR.search(text) is None:
        return text
    # Text naming the key may hold its value in any shape.
    if any(key in _plain_name(text) for key in _SECRET_CONFIGURATION_KEYS):
        return REDACTED

    def pair(match: re.Match[str]) -> str:
        if match["key"] not in SENSITIVE_KEYS or match["value"].strip("\"'") == REDACTED:
            return match[0]
        quote = match["value"][0] if match["value"][0] in "\"'" else ""
        start = match.start("value") - match.start()
        return f"{match[0][:start]}{quote}{REDACTED}{quote}"

    return _PAIR.sub(pair, text)


def _find_hub(hass: HomeAssistant, server_entry_id: str) -> Hub | None:
    return next(
        (hub for hub in async_loaded_hubs(hass) if hub.server_entry_id == server_entry_id), None
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _fields(obj: Any, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """A model object's fields: new fields show up here without being listed."""
    skipped = set(skip)
    return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj) if f.name not in skipped}


def _transaction(transaction: Transaction | None) -> dict[str, Any] | None:
    if transaction is None:
        return None
    # A long session's transactionData runs into megabytes: counted, not copied.
    return {
        **_fields(transaction, skip={"transaction_data"}),
        "energy_wh": transaction.energy_wh,
        "transaction_data_samples": len(transaction.transaction_data),
    }


def _connector(connector: Connector) -> dict[str, Any]:
    running = connector.transaction
    return {
        **_fields(
            connector,
            skip={"transaction", "last_transaction", "register", "quarter_hours", "reservation"},
        ),
        "energy_register_wh": connector.energy_register_wh,
        # How the charger's own register maps to the total (resets, spikes).
        "register": connector.register.to_dict(),
        "transaction_id": running.transaction_id if running else None,
        "last_transaction": _transaction(connector.last_transaction),
        # Its id tags are redacted like every other (their keys end in id_tag).
        "reservation": _fields(connector.reservation) if connector.reservation else None,
    }


def _local_list(state: LocalListState) -> dict[str, Any]:
    # The entries are id tags: counted, not shown.
    return {
        **_fields(state, skip={"entries"}),
        "entries": len(state.entries) if state.entries is not None else None,
    }


def _firmware_management(state: FirmwareManagementState) -> dict[str, Any]:
    # The uploads a charger made; upload tokens are in memory only, never here.
    return {
        **_fields(state, skip={"uploads"}),
        "uploads": [upload.to_dict() for upload in state.uploads],
    }


def _charge_point(charge_point: ChargePoint) -> dict[str, Any]:
    return {
        **_fields(
            charge_point,
            skip={
                "connectors",
                "transactions",
                "message_log",
                "local_list",
                "security",
                "firmware_management",
            },
        ),
        "local_list": _local_list(charge_point.local_list),
        "firmware_management": _firmware_management(charge_point.firmware_management),
        # Whether it has a password, not its hash.
        "security": {
            "profile": int(charge_point.security.profile),
            "passwords": len(charge_point.security.password_hashes),
        },
        "connectors": [
            _connector(charge_point.connectors[connector_id])
            for connector_id in sorted(charge_point.connectors)
        ],
        "open_transactions": [
            _transaction(charge_point.transactions[transaction_id])
            for transaction_id in sorted(charge_point.transactions)
        ],
    }


def _entry(entry: ConfigEntry) -> dict[str, Any]:
    return {"title": entry.title, "data": dict(entry.data), "options": dict(entry.options)}


def _server_diagnostics(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    hub = _find_hub(hass, entry.entry_id)
    server = hub.server if hub else None
    charge_points = list(hub.central.charge_points.values()) if hub else []
    return {
        "entry": _entry(entry),
        "server": {
            "running": server is not None,
            "host": server.host if server else None,
            "port": server.port if server else None,
        },
        "charge_points": {
            "count": len(charge_points),
            "connected": sum(cp.connected for cp in charge_points),
            "charge_points": [
                {
                    "charge_point_id": cp.charge_point_id,
                    "connected": cp.connected,
                    "registration_status": cp.registration_status,
                }
                for cp in sorted(charge_points, key=lambda cp: cp.charge_point_id)
            ],
        },
        "id_tags": _id_tags(hass),
    }


def _id_tags(hass: HomeAssistant) -> dict[str, Any]:
    """How many id tags there are, by status (they are shared by all servers)."""
    records = hass.data[ID_TAGS].records.values()
    return {
        "count": len(records),
        "by_status": dict(Counter(str(record.status) for record in records)),
        "restricted_to_charge_points": sum(r.charge_points is not None for r in records),
    }


def _charge_point_diagnostics(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    hub = _find_hub(hass, entry.data[CONF_SERVER_ENTRY_ID])
    charge_point = hub.central.charge_points.get(entry.data[CONF_CHARGE_POINT_ID]) if hub else None
    return {
        "entry": _entry(entry),
        "charge_point": _charge_point(charge_point) if charge_point else None,
        "message_log": charge_point.message_log.entries() if charge_point else [],
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ConfigEntry
) -> dict[str, Any]:
    """A server: where it listens and its chargers; a charger: its model and message log."""
    if CONF_CHARGE_POINT_ID in entry.data:
        data = _charge_point_diagnostics(hass, entry)
    else:
        data = _server_diagnostics(hass, entry)
    result: dict[str, Any] = redact(data)
    return result


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: ConfigEntry, device: AnyDeviceEntry
) -> dict[str, Any]:
    """A charge point's or connector's device: its charger, as for the entry."""
    return await async_get_config_entry_diagnostics(hass, entry)
