"""Logbook entries for what happens at a charger: sessions, id tags, boots, errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.components.logbook.models import LazyEventPartialState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .central.events import EventKind
from .certificates import EVENT_CERTIFICATE_SIGNED, EVENT_CERTIFICATE_SIGNING_REQUEST
from .const import DOMAIN
from .site import EVENT_LOAD_MANAGEMENT

type DescribeEvent = Callable[[str, str, Callable[[LazyEventPartialState], dict[str, Any]]], None]


def _started(data: Mapping[str, Any]) -> str:
    return f"started charging (tag {data.get('id_tag')})"


def _stopped(data: Mapping[str, Any]) -> str:
    message = f"stopped charging: {float(data.get('energy_kwh') or 0):.1f} kWh"
    if reason := data.get("reason"):
        message += f" ({reason})"
    return message


def _id_tag_presented(data: Mapping[str, Any]) -> str:
    message = f"read tag {data.get('id_tag')}"
    # A refusal is worth seeing; Accepted is what one expects.
    if (status := data.get("status")) and status != "Accepted":
        message += f" ({status})"
    return message


def _booted(data: Mapping[str, Any]) -> str:
    return f"booted ({data.get('registration_status')})"


def _error_reported(data: Mapping[str, Any]) -> str:
    message = f"reported error {data.get('error_code')}"
    if info := data.get("info"):
        message += f": {info}"
    return message


def _load_management(data: Mapping[str, Any]) -> str:
    allocated = float(data.get("allocated_a") or 0)
    message = f"shares {allocated:g} A among {data.get('sessions')} session(s)"
    if (budget := data.get("budget_a")) is not None:
        message += f" (headroom {float(budget):g} A)"
    if paused := data.get("paused"):
        message += f", {paused} paused"
    return message


def _local_time(value: Any) -> str:
    """An ISO 8601 timestamp as Home Assistant's local time, to the minute."""
    parsed = dt_util.parse_datetime(value) if isinstance(value, str) else None
    return str(value) if parsed is None else dt_util.as_local(parsed).strftime("%Y-%m-%d %H:%M")


def _reservation_made(data: Mapping[str, Any]) -> str:
    return (
        f"reserved for tag {data.get('id_tag')} until {_local_time(data.get('expiry_date'))}"
        f" (reservation {data.get('reservation_id')})"
    )


def _reservation_used(data: Mapping[str, Any]) -> str:
    return f"reservation {data.get('reservation_id')} used by tag {data.get('id_tag')}"


_RESERVATION_END_REASONS = {
    "expired": "expired",
    "cancelled": "cancelled",
    "unknown_at_charger": "unknown to the charger",
    "ended_at_charger": "ended at the charger",
    "replaced": "replaced by a new one",
}


def _reservation_ended(data: Mapping[str, Any]) -> str:
    reason = data.get("reason")
    return (
        f"reservation {data.get('reservation_id')} ended"
        f" ({_RESERVATION_END_REASONS.get(str(reason), reason)})"
    )


def _file_size(size: Any) -> str:
    value = float(size or 0)
    for unit in ("bytes", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            break
        value /= 1024
    return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def _firmware_status(data: Mapping[str, Any]) -> str:
    status = data.get("status")
    if data.get("failed"):
        return f"firmware update failed: {status}"
    return f"firmware update: {status}"


def _upload_status(data: Mapping[str, Any]) -> str:
    status = data.get("status")
    if data.get("failed"):
        return f"{data.get('purpose')} upload failed: {status}"
    return f"{data.get('purpose')} upload: {status}"


def _upload_received(data: Mapping[str, Any]) -> str:
    return (
        f"{data.get('purpose')} uploaded ({data.get('original_name')},"
        f" {_file_size(data.get('size'))})"
    )


def _security_event(data: Mapping[str, Any]) -> str:
    message = f"reported security event {data.get('type')}"
    if tech_info := data.get("tech_info"):
        message += f": {tech_info}"
    return message


def _certificate_signing_request(data: Mapping[str, Any]) -> str:
    return "asks for a client certificate (to be signed by the external CA)"


def _certificate_signed(data: Mapping[str, Any]) -> str:
    if (status := data.get("status")) != "Accepted":
        return f"refused its new client certificate ({status})"
    return f"took its new client certificate (valid until {_local_time(data.get('valid_until'))})"


_MESSAGES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    f"{DOMAIN}_{EventKind.RESERVATION_MADE}": _reservation_made,
    f"{DOMAIN}_{EventKind.RESERVATION_USED}": _reservation_used,
    f"{DOMAIN}_{EventKind.RESERVATION_ENDED}": _reservation_ended,
    f"{DOMAIN}_{EventKind.TRANSACTION_STARTED}": _started,
    f"{DOMAIN}_{EventKind.TRANSACTION_STOPPED}": _stopped,
    f"{DOMAIN}_{EventKind.ID_TAG_PRESENTED}": _id_tag_presented,
    f"{DOMAIN}_{EventKind.BOOTED}": _booted,
    f"{DOMAIN}_{EventKind.ERROR_REPORTED}": _error_reported,
    EVENT_LOAD_MANAGEMENT: _load_management,
    f"{DOMAIN}_{EventKind.FIRMWARE_STATUS}": _firmware_status,
    f"{DOMAIN}_{EventKind.UPLOAD_STATUS}": _upload_status,
    f"{DOMAIN}_{EventKind.UPLOAD_RECEIVED}": _upload_received,
    f"{DOMAIN}_{EventKind.SECURITY_EVENT}": _security_event,
    EVENT_CERTIFICATE_SIGNING_REQUEST: _certificate_signing_request,
    EVENT_CERTIFICATE_SIGNED: _certificate_signed,
}


def _device_name(device_registry: dr.DeviceRegistry, data: Mapping[str, Any]) -> str:
    """The connector's device (named after its charger too), else the charge point's."""
    device_id = data.get("device_id")
    device = device_registry.async_get(device_id) if isinstance(device_id, str) else None
    if device is None:
        return str(data.get("charge_point_id") or DOMAIN)
    name = device.name_by_user or device.name or str(data.get("charge_point_id"))
    if isinstance(device, dr.ChildDeviceEntry) and (
        parent := device_registry.async_get(device.parent_device_id)
    ):
        # As Home Assistant names a child device's entities: "Carport Connector 2".
        return f"{parent.name_by_user or parent.name} {name}"
    return name


@callback
def async_describe_events(hass: HomeAssistant, async_describe_event: DescribeEvent) -> None:
    """Describe the events fired for chargers' events."""
    device_registry = dr.async_get(hass)

    @callback
    def describe(event: LazyEventPartialState) -> dict[str, Any]:
        data = event.data
        return {
            LOGBOOK_ENTRY_NAME: _device_name(device_registry, data),
            LOGBOOK_ENTRY_MESSAGE: _MESSAGES[str(event.event_type)](data),
        }

    for event_type in _MESSAGES:
        async_describe_event(DOMAIN, event_type, describe)
