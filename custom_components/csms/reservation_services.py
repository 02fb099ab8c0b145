"""Services of the Reservation feature profile: reserve a connector, cancel a reservation.

csms hands out the reservation ids; the charger's answer is returned with
the id, whatever its status (Occupied, Faulted, ... are answers, not
errors). Reservations also end at their expiry date when the charger says
nothing: a timer here ends them in the central system.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    HassJob,
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.start import async_at_started
from homeassistant.util import dt as dt_util
from ocpp.v16.enums import Action, ReservationStatus
import probatio as vol

from .central.commissioning import read_facts
from .central.errors import RequestError
from .central.events import EventKind
from .central.reservations import (
    CHARGE_POINT_WIDE,
    MAX_RESERVATION_ID,
    RESERVE_CONNECTOR_ZERO_KEY,
    Reservation,
    reservation_at,
    reserves_charge_point,
    supports_reservations,
)
from .central.timestamps import format_timestamp
from .const import CONF_CHARGE_POINT_ID, DOMAIN
from .hub import async_loaded_hubs
from .requests import async_request
from .service_helpers import (
    ATTR_CONNECTOR_ID,
    CONNECTOR_OR_CHARGE_POINT,
    ID_TAG,
    Operation,
    Target,
    async_register_operations,
    resolve_target,
    service_error,
    service_schema,
    utc_datetime,
)

OPERATIONS: dict[str, Operation] = {}

SERVICE_RESERVE_NOW = "reserve_now"
SERVICE_CANCEL_RESERVATION = "cancel_reservation"
ATTR_EXPIRY_DATE = "expiry_date"
ATTR_ID_TAG = "id_tag"
ATTR_PARENT_ID_TAG = "parent_id_tag"
ATTR_RESERVATION_ID = "reservation_id"

# The expiry timer wakes up at least this often (seconds).
MAX_EXPIRY_TIMER_S = 3600.0

RESERVATION_ID = vol.All(vol.Coerce(int), vol.Range(min=1, max=MAX_RESERVATION_ID))


def _connector_id(target: Target, data: dict[str, Any]) -> int:
    """The connector given (0: the charge point), or that of the device, or the only one."""
    connector_id = target.connector_id(data)
    return connector_id if connector_id is not None else target.single_connector_id(data)


def _check_supported(target: Target) -> None:
    if supports_reservations(target.runtime.charge_point.configuration) is False:
        raise service_error("reservation_not_supported", charge_point_id=target.charge_point_id)


async def _check_charge_point_wide(target: Target) -> None:
    """Refuse connector 0 unless the charger takes reservations of the charge point as a whole.

    The key is asked for when its value is not known yet; a charger that
    does not answer decides itself (it rejects what it does not support).
    """
    supported = reserves_charge_point(target.runtime.charge_point.configuration)
    if supported is None:
        try:
            facts = await read_facts(target.runtime.request, [RESERVE_CONNECTOR_ZERO_KEY])
        except RequestError:
            return
        supported = reserves_charge_point(facts) is True
    if not supported:
        raise service_error(
            "reserve_connector_zero_not_supported", charge_point_id=target.charge_point_id
        )


async def _async_reserve_now(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    target = resolve_target(hass, call.data)
    _check_supported(target)
    connector_id = _connector_id(target, call.data)
    expiry_date: datetime = call.data[ATTR_EXPIRY_DATE]
    if expiry_date <= dt_util.utcnow():
        raise service_error(
            "reservation_expiry_in_past", expiry_date=dt_util.as_local(expiry_date).isoformat()
        )
    target.require_connected()
    if connector_id == CHARGE_POINT_WIDE:
        await _check_charge_point_wide(target)
    central = target.runtime.hub.central
    reservation = Reservation(
        reservation_id=central.reservations.next_id(),
        connector_id=connector_id,
        id_tag=call.data[ATTR_ID_TAG],
        parent_id_tag=call.data.get(ATTR_PARENT_ID_TAG),
        expiry_date=expiry_date,
        created=dt_util.utcnow(),
    )
    # The id is on disk before the charger has it: it is never handed out twice.
    await central.async_save()
    response = await async_request(
        target.runtime,
        Action.reserve_now,
        {
            "connector_id": connector_id,
            "expiry_date": format_timestamp(expiry_date),
            "id_tag": reservation.id_tag,
            "parent_id_tag": reservation.parent_id_tag,
            "reservation_id": reservation.reservation_id,
        },
        accepted=None,
    )
    if response.get("status") == ReservationStatus.accepted:
        central.reservations.accepted(target.runtime.charge_point, reservation)
    return {**response, ATTR_RESERVATION_ID: reservation.reservation_id}


def _target_of_reservation(hass: HomeAssistant, reservation_id: int) -> Target:
    """The charger holding a reservation, when the call names no charger."""
    holders = [
        found[0].charge_point_id
        for hub in async_loaded_hubs(hass)
        if (found := hub.central.reservations.find(reservation_id)) is not None
    ]
    if not holders:
        raise service_error("unknown_reservation", reservation_id=str(reservation_id))
    if len(holders) > 1:
        # Each server counts its own ids.
        raise service_error("charge_point_required")
    return resolve_target(hass, {CONF_CHARGE_POINT_ID: holders[0]})


def _reservation_to_cancel(hass: HomeAssistant, data: dict[str, Any]) -> tuple[Target, int]:
    """The charger and the id of the reservation a cancel call names."""
    reservation_id: int | None = data.get(ATTR_RESERVATION_ID)
    names_charger = ATTR_DEVICE_ID in data or CONF_CHARGE_POINT_ID in data
    if reservation_id is not None and not names_charger:
        return _target_of_reservation(hass, reservation_id), reservation_id
    target = resolve_target(hass, data)
    central = target.runtime.hub.central
    if reservation_id is not None:
        if central.reservations.find(reservation_id, target.charge_point_id) is None:
            raise service_error("unknown_reservation", reservation_id=str(reservation_id))
        return target, reservation_id
    connector_id = _connector_id(target, data)
    reservation = reservation_at(target.runtime.charge_point, connector_id)
    if reservation is None:
        raise service_error(
            "no_reservation",
            charge_point_id=target.charge_point_id,
            connector_id=str(connector_id),
        )
    return target, reservation.reservation_id


async def _async_cancel_reservation(hass: HomeAssistant, call: ServiceCall) -> ServiceResponse:
    target, reservation_id = _reservation_to_cancel(hass, call.data)
    target.require_connected()
    reservations = target.runtime.hub.central.reservations
    with reservations.cancelling(reservation_id):
        response = await async_request(
            target.runtime,
            Action.cancel_reservation,
            {"reservation_id": reservation_id},
            accepted=None,
        )
    reservations.cancel_answered(
        target.runtime.charge_point, reservation_id, str(response.get("status"))
    )
    return response


class _ExpiryTimer:
    """Ends reservations at their expiry date in every central system.

    One timer for the next expiry of all servers, set again whenever a
    reservation is made or ends, and once Home Assistant has started (the
    reservations restored from storage).
    """

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._job = HassJob(self._expire, "csms reservation expiry", cancel_on_shutdown=True)
        self._cancel: CALLBACK_TYPE | None = None

    @callback
    def arm(self, _: Event | HomeAssistant | None = None) -> None:
        if self._cancel is not None:
            self._cancel()
            self._cancel = None
        expiries = [
            expiry
            for hub in async_loaded_hubs(self._hass)
            if (expiry := hub.central.reservations.next_expiry()) is not None
        ]
        if expiries:
            delay = (min(expiries) - dt_util.utcnow()).total_seconds()
            # Looking again now and then follows a wall clock that was set.
            delay = min(max(delay, 0.0), MAX_EXPIRY_TIMER_S)
            self._cancel = async_call_later(self._hass, delay, self._job)

    @callback
    def _expire(self, now: datetime) -> None:
        self._cancel = None
        for hub in async_loaded_hubs(self._hass):
            hub.central.reservations.expire(now)
        self.arm()


@callback
def async_setup_reservation_services(hass: HomeAssistant) -> None:
    """Register the services and end reservations at their expiry date."""
    async_register_operations(hass, OPERATIONS)

    async def reserve_now(call: ServiceCall) -> ServiceResponse:
        return await _async_reserve_now(hass, call)

    async def cancel_reservation(call: ServiceCall) -> ServiceResponse:
        return await _async_cancel_reservation(hass, call)

    # A home owner reserves their own charger: no admin needed.
    hass.services.async_register(
        DOMAIN,
        SERVICE_RESERVE_NOW,
        reserve_now,
        schema=service_schema(
            {
                vol.Optional(ATTR_CONNECTOR_ID): CONNECTOR_OR_CHARGE_POINT,
                vol.Required(ATTR_EXPIRY_DATE): utc_datetime,
                vol.Required(ATTR_ID_TAG): ID_TAG,
                vol.Optional(ATTR_PARENT_ID_TAG): ID_TAG,
            }
        ),
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_CANCEL_RESERVATION,
        cancel_reservation,
        schema=service_schema(
            {
                vol.Exclusive(ATTR_RESERVATION_ID, "reservation"): RESERVATION_ID,
                vol.Exclusive(ATTR_CONNECTOR_ID, "reservation"): CONNECTOR_OR_CHARGE_POINT,
            }
        ),
        supports_response=SupportsResponse.OPTIONAL,
    )

    timer = _ExpiryTimer(hass)
    for kind in (
        EventKind.RESERVATION_MADE,
        EventKind.RESERVATION_USED,
        EventKind.RESERVATION_ENDED,
    ):
        hass.bus.async_listen(f"{DOMAIN}_{kind}", timer.arm)
    async_at_started(hass, timer.arm)
