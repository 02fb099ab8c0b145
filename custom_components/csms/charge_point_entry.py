"""A charge point entry: one accepted charger, its devices, entities and upkeep."""

from __future__ import annotations

import logging

from homeassistant.components.tag import async_scan_tag
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from ocpp.v16.enums import RegistrationStatus

from .central import commissioning
from .central.errors import RequestError
from .central.events import ChargePointEvent, EventKind
from .const import (
    CONF_CHARGE_POINT_ID,
    CONF_MEASURANDS,
    CONF_PUSH_CONFIGURATION,
    CONF_SAMPLE_INTERVAL,
    CONF_SERVER_ENTRY_ID,
    DOMAIN,
)
from .devices import DeviceManager
from .hub import async_get_hub
from .id_tags import ID_TAGS
from .local_lists import LocalListKeeper
from .options import charge_point_options
from .runtime import CsmsConfigEntry, CsmsRuntimeData
from .security_issues import async_delete_security_issues, security_event_listener

_LOGGER = logging.getLogger(__name__)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.UPDATE,
]


def configuration_issue_id(charge_point_id: str) -> str:
    """Repair issue raised when a charger refuses the recommended configuration."""
    return f"configuration_rejected_{charge_point_id}"


def clock_issue_id(charge_point_id: str) -> str:
    """Repair issue raised when a charger's clock is far off."""
    return f"clock_skew_{charge_point_id}"


async def async_setup_entry(hass: HomeAssistant, entry: CsmsConfigEntry) -> bool:
    """Add the charger's devices and entities, and look after it."""
    hub = await async_get_hub(hass, entry.data[CONF_SERVER_ENTRY_ID])
    charge_point_id: str = entry.data[CONF_CHARGE_POINT_ID]
    charge_point = hub.central.charge_point(charge_point_id)
    # Accepted before this entry listened: accepted automatically at its first
    # boot, or booted while Home Assistant was starting. That boot's
    # configuration is done below instead.
    boot_unseen = (
        charge_point.connected and charge_point.registration_status == RegistrationStatus.accepted
    )
    devices = DeviceManager(hass, entry, hub.central, charge_point_id)
    local_list = LocalListKeeper(hass, hub, charge_point)
    runtime = entry.runtime_data = CsmsRuntimeData(hub, charge_point, devices, local_list)
    entry.async_on_unload(devices.start())
    entry.async_on_unload(local_list.shutdown)
    caretaker = _Caretaker(hass, entry, runtime)
    entry.async_on_unload(hub.central.subscribe_events(charge_point_id, caretaker.handle_event))
    entry.async_on_unload(
        hub.central.subscribe_events(
            charge_point_id, security_event_listener(hass, lambda: entry.title)
        )
    )
    entry.async_on_unload(hub.central.subscribe(charge_point_id, None, caretaker.check_clock))
    entry.async_on_unload(hub.central.subscribe(charge_point_id, None, caretaker.check_reconnect))
    entry.async_on_unload(hass.data[ID_TAGS].subscribe(local_list.schedule))
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    if charge_point.connected and charge_point.registration_status != RegistrationStatus.accepted:
        # Just accepted while it waits as Pending: ask it to boot again now
        # rather than at its next retry.
        entry.async_create_background_task(
            hass, caretaker.trigger_boot(), f"{DOMAIN} {charge_point_id} trigger boot"
        )
    elif boot_unseen:
        entry.async_create_background_task(
            hass, caretaker.configure(), f"{DOMAIN} {charge_point_id} configure"
        )
    return True


async def async_unload_entry(hass: HomeAssistant, entry: CsmsConfigEntry) -> bool:
    """Remove the entities; the charger stays connected to its server."""
    if entry.disabled_by is not None:
        # Nothing looks after a disabled charger: its issues would stay for good.
        _delete_issues(hass, entry.data[CONF_CHARGE_POINT_ID])
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: CsmsConfigEntry) -> None:
    """Forget the charger: it is an unknown charger again when it reconnects."""
    charge_point_id: str = entry.data[CONF_CHARGE_POINT_ID]
    _delete_issues(hass, charge_point_id)
    async_delete_security_issues(hass, charge_point_id)
    hub = await async_get_hub(hass, entry.data[CONF_SERVER_ENTRY_ID])
    if hub.server is not None:
        hub.server.disconnect(charge_point_id)
    await hub.central.async_forget(charge_point_id)


def _delete_issues(hass: HomeAssistant, charge_point_id: str) -> None:
    for issue_id in (configuration_issue_id(charge_point_id), clock_issue_id(charge_point_id)):
        ir.async_delete_issue(hass, DOMAIN, issue_id)


async def _async_options_updated(hass: HomeAssistant, entry: CsmsConfigEntry) -> None:
    """Apply new settings without a reload: rename, and configure the charger again."""
    runtime = entry.runtime_data
    runtime.devices.rename()
    # Its phases, maximum or priority may have changed.
    runtime.hub.load_manager.schedule(charge_point_id=runtime.charge_point_id)
    if runtime.charge_point.connected:
        await _Caretaker(hass, entry, runtime).configure()


class _Caretaker:
    """Reacts to a charger's events: HA events, configuration after boot, repairs."""

    def __init__(
        self, hass: HomeAssistant, entry: CsmsConfigEntry, runtime: CsmsRuntimeData
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._runtime = runtime
        self._reported_skew: float | None = None
        self._was_connected = runtime.charge_point.connected

    @callback
    def handle_event(self, event: ChargePointEvent) -> None:
        """Fire the event on Home Assistant's bus; configure a charger that booted."""
        self._hass.bus.async_fire(
            f"{DOMAIN}_{event.kind}",
            {
                "device_id": self._runtime.devices.device_id(event.connector_id),
                "charge_point_id": event.charge_point_id,
                "connector_id": event.connector_id,
                **event.data,
            },
        )
        if event.kind is EventKind.ID_TAG_PRESENTED:
            # Home Assistant's own tag event, with the charger as the reader.
            self._entry.async_create_background_task(
                self._hass,
                async_scan_tag(self._hass, event.data["id_tag"], self._runtime.devices.device_id()),
                f"{DOMAIN} {event.charge_point_id} tag scanned",
            )
        if (
            event.kind is EventKind.BOOTED
            and event.data.get("registration_status") == RegistrationStatus.accepted
        ):
            self._entry.async_create_background_task(
                self._hass, self.configure(), f"{DOMAIN} {event.charge_point_id} configure"
            )

    @callback
    def check_reconnect(self) -> None:
        """A charger back without a boot may have missed changes of its local list."""
        charge_point = self._runtime.charge_point
        reconnected = charge_point.connected and not self._was_connected
        self._was_connected = charge_point.connected
        if reconnected and charge_point.registration_status == RegistrationStatus.accepted:
            self._runtime.local_list.schedule()

    async def trigger_boot(self) -> None:
        """Ask the charger for a BootNotification (it is accepted now)."""
        try:
            await self._runtime.request("TriggerMessage", {"requested_message": "BootNotification"})
        except RequestError as err:
            _LOGGER.info(
                "%s: TriggerMessage failed (%s); it is accepted at its next boot",
                self._runtime.charge_point_id,
                err,
            )

    async def configure(self) -> None:
        """Read the facts, write what differs from the recommended configuration, sync the list.

        The charger's own answer decides what is written, at every boot: a
        charger reset to factory values gets them again, one that kept them
        gets no ChangeConfiguration at all.
        """
        charge_point = self._runtime.charge_point
        options = charge_point_options(self._entry.options)
        request = self._runtime.request
        try:
            facts = await commissioning.read_facts(
                request, dict.fromkeys((*commissioning.FACT_KEYS, *commissioning.CONFIGURED_KEYS))
            )
            if options[CONF_PUSH_CONFIGURATION]:
                changes = commissioning.configuration_changes(
                    commissioning.recommended_configuration(
                        options[CONF_SAMPLE_INTERVAL],
                        options[CONF_MEASURANDS],
                        facts,
                        accept_unknown_id_tags=self._runtime.hub.accepts_unknown_id_tags(),
                    ),
                    facts,
                )
                result = await commissioning.push_configuration(request, changes)
                self._report_rejected(result.rejected)
                facts.update(
                    (key, value)
                    for key, value in changes.items()
                    if result.statuses.get(key) in ("Accepted", "RebootRequired")
                )
            else:
                # Nothing is pushed, so nothing is refused.
                self._report_rejected([])
        except RequestError as err:
            _LOGGER.warning(
                "%s: could not configure the charger: %s", charge_point.charge_point_id, err
            )
            return
        self._runtime.hub.central.configuration_read(charge_point, facts)
        await self._runtime.local_list.async_sync_quietly()

    def _report_rejected(self, rejected: list[str]) -> None:
        issue_id = configuration_issue_id(self._runtime.charge_point_id)
        if not rejected:
            ir.async_delete_issue(self._hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id,
            is_fixable=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key="configuration_rejected",
            translation_placeholders={
                "name": self._entry.title,
                "keys": ", ".join(rejected),
            },
            data={"entry_id": self._entry.entry_id},
        )

    @callback
    def check_clock(self) -> None:
        """Raise or clear the clock repair issue as the charger's clock skew changes."""
        charge_point = self._runtime.charge_point
        # Called on every change of the charge point (each heartbeat): only
        # a new finding touches the issue registry.
        if charge_point.clock_skew_s == self._reported_skew:
            return
        self._reported_skew = charge_point.clock_skew_s
        issue_id = clock_issue_id(charge_point.charge_point_id)
        if charge_point.clock_skew_s is None:
            ir.async_delete_issue(self._hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="clock_skew",
            translation_placeholders={
                "name": self._entry.title,
                "minutes": str(round(charge_point.clock_skew_s / 60)),
            },
        )
