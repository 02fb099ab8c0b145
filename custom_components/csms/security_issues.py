"""Repair issues for the security events a person should look into.

Which events those are is the core's call (:mod:`.central.security_events`).
One issue per charger and event type, raised again by each new occurrence
(even after the user ignored the last one), kept across restarts, and
removed with the charger.
"""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .central.events import ChargePointEvent, EventKind
from .central.security_events import needs_attention
from .const import DOMAIN


def security_issue_id(charge_point_id: str, event_type: str) -> str:
    """The repair issue of a charger's security events of one type."""
    return f"security_event_{charge_point_id}_{event_type}"


def _local_time(timestamp: object) -> str:
    parsed = dt_util.parse_datetime(timestamp) if isinstance(timestamp, str) else None
    if parsed is None:
        return str(timestamp)
    return dt_util.as_local(parsed).strftime("%Y-%m-%d %H:%M:%S")


@callback
def security_event_listener(
    hass: HomeAssistant, charger_name: Callable[[], str]
) -> Callable[[ChargePointEvent], None]:
    """A charger's event listener raising the issues of its security events."""

    @callback
    def report(event: ChargePointEvent) -> None:
        event_type = str(event.data.get("type"))
        if event.kind is not EventKind.SECURITY_EVENT or not needs_attention(event_type):
            return
        issue_id = security_issue_id(event.charge_point_id, event_type)
        existing = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
        if existing is not None and existing.dismissed_version is not None:
            # Ignored after the last occurrence: this one is news again.
            ir.async_delete_issue(hass, DOMAIN, issue_id)
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            # A tamper alarm must not vanish with a restart.
            is_persistent=True,
            severity=ir.IssueSeverity.ERROR,
            translation_key="security_event",
            translation_placeholders={
                "charger": charger_name(),
                "type": event_type,
                "time": _local_time(event.data.get("timestamp")),
                "tech_info": str(event.data.get("tech_info") or "-"),
            },
            data={"charge_point_id": event.charge_point_id},
        )

    return report


@callback
def async_delete_security_issues(hass: HomeAssistant, charge_point_id: str) -> None:
    """Remove a charger's security event issues (it was removed)."""
    registry = ir.async_get(hass)
    for (domain, issue_id), issue in list(registry.issues.items()):
        if domain == DOMAIN and (issue.data or {}).get("charge_point_id") == charge_point_id:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
