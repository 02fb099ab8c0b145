"""Services and the CSV download of the energy ledger: sessions and quarter hours.

Both name id tags and tenants (personal data), so both are for admins only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

from aiohttp import web
from homeassistant.components.http.auth import SIGN_QUERY_PARAM, async_sign_path
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util import dt as dt_util
import probatio as vol
from yarl import URL

from .const import CONF_CHARGE_POINT_ID, DOMAIN
from .energy_ledger import LEDGER
from .service_helpers import ServiceSchema

SERVICE_GET_SESSIONS = "get_sessions"
SERVICE_EXPORT_ENERGY_INTERVALS = "export_energy_intervals"
ATTR_START = "start"
ATTR_END = "end"
ATTR_CONNECTOR_ID = "connector_id"
ATTR_ID_TAG = "id_tag"
ATTR_TENANT = "tenant"
ATTR_LIMIT = "limit"

CSV_PATH = "/api/csms/energy_intervals.csv"
# Response data travels over the websocket as one message: larger exports
# are for the CSV download.
MAX_RESPONSE_INTERVALS = 10_000
MAX_SESSIONS = 10_000
# How long a returned download link works.
CSV_LINK_VALIDITY = timedelta(hours=1)

_FILTERS: dict[Any, Any] = {
    vol.Optional(CONF_CHARGE_POINT_ID): cv.string,
    vol.Optional(ATTR_ID_TAG): cv.string,
    vol.Optional(ATTR_TENANT): cv.string,
}


def _time_range(data: dict[str, Any]) -> dict[str, Any]:
    if data[ATTR_END] <= data[ATTR_START]:
        raise vol.Invalid("end must be after start")
    return data


_SESSIONS_SCHEMA = ServiceSchema(
    vol.All(
        {
            vol.Required(ATTR_START): cv.datetime,
            vol.Required(ATTR_END): cv.datetime,
            **_FILTERS,
            vol.Optional(ATTR_LIMIT, default=1000): vol.All(
                vol.Coerce(int), vol.Range(min=1, max=MAX_SESSIONS)
            ),
        },
        _time_range,
    )
)
_INTERVALS_SCHEMA = ServiceSchema(
    vol.All(
        {
            vol.Required(ATTR_START): cv.datetime,
            vol.Required(ATTR_END): cv.datetime,
            **_FILTERS,
            vol.Optional(ATTR_CONNECTOR_ID): vol.All(vol.Coerce(int), vol.Range(min=0)),
        },
        _time_range,
    )
)


def _aware(value: datetime) -> datetime:
    """A time without zone is local time, as everywhere in Home Assistant."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(value)


def _interval_filters(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "charge_point_id": data.get(CONF_CHARGE_POINT_ID),
        "connector_id": data.get(ATTR_CONNECTOR_ID),
        "tenant": data.get(ATTR_TENANT),
        "id_tag": data.get(ATTR_ID_TAG),
    }


def async_setup_energy_services(hass: HomeAssistant) -> None:
    """Register the ledger's services and its CSV download."""
    hass.http.register_view(EnergyIntervalsCsvView())

    async def get_sessions(call: ServiceCall) -> ServiceResponse:
        data = call.data
        sessions = await hass.data[LEDGER].database.async_sessions(
            _aware(data[ATTR_START]),
            _aware(data[ATTR_END]),
            charge_point_id=data.get(CONF_CHARGE_POINT_ID),
            id_tag=data.get(ATTR_ID_TAG),
            tenant=data.get(ATTR_TENANT),
            limit=data[ATTR_LIMIT],
        )
        return {"sessions": [session.as_dict() for session in sessions]}

    async def export_energy_intervals(call: ServiceCall) -> ServiceResponse:
        data = call.data
        start, end = _aware(data[ATTR_START]), _aware(data[ATTR_END])
        filters = _interval_filters(data)
        intervals = await hass.data[LEDGER].database.async_intervals(
            start, end, **filters, limit=MAX_RESPONSE_INTERVALS + 1
        )
        response: dict[str, Any] = {
            "intervals": [interval.as_dict() for interval in intervals[:MAX_RESPONSE_INTERVALS]],
            "truncated": len(intervals) > MAX_RESPONSE_INTERVALS,
            "total_kwh": round(sum(i.energy_wh for i in intervals) / 1000, 3)
            if len(intervals) <= MAX_RESPONSE_INTERVALS
            else None,
        }
        if (link := await _async_csv_link(hass, call, start, end, filters)) is not None:
            response["csv_path"] = link
        return response

    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_GET_SESSIONS,
        get_sessions,
        schema=_SESSIONS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_EXPORT_ENERGY_INTERVALS,
        export_energy_intervals,
        schema=_INTERVALS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )


async def _async_csv_link(
    hass: HomeAssistant,
    call: ServiceCall,
    start: datetime,
    end: datetime,
    filters: dict[str, Any],
) -> str | None:
    """A download link signed for the caller (an admin), valid for an hour.

    An automation has no user whose access the link could carry: none then.
    """
    if call.context.user_id is None:
        return None
    user = await hass.auth.async_get_user(call.context.user_id)
    if user is None or not user.refresh_tokens:
        return None
    refresh_token = max(user.refresh_tokens.values(), key=lambda token: token.created_at)
    query = {"start": start.isoformat(), "end": end.isoformat()}
    query |= {key: str(value) for key, value in filters.items() if value is not None}
    return async_sign_path(
        hass,
        str(URL(CSV_PATH).with_query(query)),
        CSV_LINK_VALIDITY,
        refresh_token_id=refresh_token.id,
    )


class EnergyIntervalsCsvView(HomeAssistantView):
    """The 15-minute ledger as CSV, for billing software (admins only)."""

    url = CSV_PATH
    name = "api:csms:energy_intervals"
    requires_auth = True

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Stream the quarter hours of a time range (start, end; filters as the service)."""
        if not request[KEY_HASS_USER].is_admin:
            return self.json_message("Admin access required", HTTPStatus.FORBIDDEN)
        hass: HomeAssistant = request.app[KEY_HASS]
        try:
            # A signed link carries its signature in the query too.
            data = _INTERVALS_SCHEMA(
                {key: value for key, value in request.query.items() if key != SIGN_QUERY_PARAM}
            )
        except ServiceValidationError as err:
            error = (err.translation_placeholders or {}).get("error", "invalid query")
            return self.json_message(error, HTTPStatus.BAD_REQUEST)
        start, end = _aware(data[ATTR_START]), _aware(data[ATTR_END])
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": (
                    "attachment; filename="
                    f'"energy_{dt_util.as_local(start):%Y%m%d}_{dt_util.as_local(end):%Y%m%d}.csv"'
                ),
            }
        )
        await response.prepare(request)
        async for text in hass.data[LEDGER].database.async_export_csv(
            start, end, tz=dt_util.get_default_time_zone(), **_interval_filters(data)
        ):
            await response.write(text.encode())
        await response.write_eof()
        return response
