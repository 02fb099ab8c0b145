"""Logbook entries for what happens at a charger: sessions, id tags, boots, errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.components.logbook.models import LazyEventPartialState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from .central.events import EventKind
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


_MESSAGES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    f"{DOMAIN}_{EventKind.TRANSACTION_STARTED}": _started,
    f"{DOMAIN}_{EventKind.TRANSACTION_STOPPED}": _stopped,
    f"{DOMAIN}_{EventKind.ID_TAG_PRESENTED}": _id_tag_presented,
    f"{DOMAIN}_{EventKind.BOOTED}": _booted,
    f"{DOMAIN}_{EventKind.ERROR_REPORTED}": _error_reported,
    EVENT_LOAD_MANAGEMENT: _load_management,
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
